/* SPDX-License-Identifier: Apache-2.0 */
/* store.c -- SKELETON: the interface of web/store.h with no storage yet, so
 * that the HTTP side can build against it. The SQLite store replaces it. */
#include "web/store.h"

#include <stdio.h>
#include <stdlib.h>

struct hp_store {
    int unused;
};
struct hp_store_reader {
    int unused;
};

#define NOT_YET(ret)                                                                               \
    do {                                                                                           \
        snprintf(err, len, "store: not implemented yet");                                          \
        return ret;                                                                                \
    } while (0)

struct hp_store *hp_store_open(const char *path, const struct hp_store_opts *o, char *err,
                               size_t len)
{
    (void)path, (void)o;
    NOT_YET(NULL);
}
void hp_store_close(struct hp_store *s)
{
    free(s);
}
enum hp_store_put hp_store_put(struct hp_store *s, const struct hp_store_msg *m, char *err,
                               size_t len)
{
    (void)s, (void)m;
    NOT_YET(HP_STORE_ERR);
}
int hp_store_reject(struct hp_store *s, const char *reason, const char *host, char *err, size_t len)
{
    (void)s, (void)reason, (void)host;
    NOT_YET(-1);
}
int hp_store_commit(struct hp_store *s, char *err, size_t len)
{
    (void)s;
    NOT_YET(-1);
}
size_t hp_store_pending(const struct hp_store *s)
{
    (void)s;
    return 0;
}
int hp_store_maintain(struct hp_store *s, int64_t now_ms, char *err, size_t len)
{
    (void)s, (void)now_ms;
    NOT_YET(-1);
}
struct hp_store_reader *hp_store_reader_open(const char *path, char *err, size_t len)
{
    (void)path;
    NOT_YET(NULL);
}
void hp_store_reader_close(struct hp_store_reader *r)
{
    free(r);
}
json_object *hp_store_fleet(struct hp_store_reader *r, int64_t now_ms, char *err, size_t len)
{
    (void)r, (void)now_ms;
    NOT_YET(NULL);
}
json_object *hp_store_host(struct hp_store_reader *r, const char *host, char *err, size_t len)
{
    (void)r, (void)host;
    NOT_YET(NULL);
}
json_object *hp_store_host_series(struct hp_store_reader *r, const char *host, char *err,
                                  size_t len)
{
    (void)r, (void)host;
    NOT_YET(NULL);
}
json_object *hp_store_series(struct hp_store_reader *r, const char *host, const char *reporter,
                             const char *path, int64_t from_ms, int64_t to_ms, int max_points,
                             char *err, size_t len)
{
    (void)r, (void)host, (void)reporter, (void)path, (void)from_ms, (void)to_ms, (void)max_points;
    NOT_YET(NULL);
}
json_object *hp_store_latest(struct hp_store_reader *r, const char *host, const char *reporter,
                             char *err, size_t len)
{
    (void)r, (void)host, (void)reporter;
    NOT_YET(NULL);
}
json_object *hp_store_host_loss(struct hp_store_reader *r, const char *host, char *err, size_t len)
{
    (void)r, (void)host;
    NOT_YET(NULL);
}
json_object *hp_store_stats(struct hp_store_reader *r, char *err, size_t len)
{
    (void)r;
    NOT_YET(NULL);
}
