/* SPDX-License-Identifier: Apache-2.0 */
/* deadletter.c -- the bounded per-sink file of poison messages (format and
 * contract in deadletter.h). Dead letters are rare, so each one opens,
 * appends and closes the file: no descriptor to keep across reloads, and
 * no state outside the sink's own stats. */
#include "transport/deadletter.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "transport/sink.h"
#include "transport/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void hp_dead_letter_path(const char *dir, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.dead-letters.jsonl", dir, name);
}

/* The line for m, NUL-terminated, owned by the returned object. */
static json_object *line_of(const char *sink, const struct hp_msg *m, const char *reason)
{
    int64_t now = hp_real_ms();
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    char when[40], stamp[32];
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when, sizeof(when), "%s.%03dZ", stamp, (int)(now % 1000));
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "time", json_object_new_string(when));
    json_object_object_add(o, "sink", json_object_new_string(sink));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "message", json_object_new_string_len(m->json, (int)m->len));
    return o;
}

/* Rotate path to path.1 when adding n bytes would pass the bound. */
static void rotate(const char *path, size_t n, size_t max)
{
    struct stat st;
    if (lstat(path, &st) != 0 || (uint64_t)st.st_size + n <= max)
        return;
    char old[1200];
    snprintf(old, sizeof(old), "%s.1", path);
    if (rename(path, old) != 0)
        hp_warn("dead letters: cannot rotate %s: %s", path, strerror(errno));
}

static int append_line(const char *path, const char *text, size_t n, size_t max)
{
    rotate(path, n + 1, max);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, text, n);
    bool ok = w == (ssize_t)n && write(fd, "\n", 1) == 1;
    int e = errno;
    if (!ok && w > 0 && ftruncate(fd, lseek(fd, 0, SEEK_END) - w) != 0)
        hp_debug("dead letters: cannot cut a short line in %s", path);
    close(fd);
    errno = ok ? 0 : (e ? e : ENOSPC);
    return ok ? 0 : -1;
}

int hp_dead_letter_write(const char *dir, const char *sink, size_t max, const struct hp_msg *m,
                         const char *reason)
{
    char path[1100];
    hp_dead_letter_path(dir, sink, path, sizeof(path));
    json_object *o = line_of(sink, m, reason);
    size_t n = 0;
    const char *text = o ? json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n) : NULL;
    int rc = -1;
    errno = ENOMEM;
    if (text) {
        rc = append_line(path, text, n, max);
        if (rc != 0 && errno == ENOENT && mkdir(dir, 0750) == 0)
            rc = append_line(path, text, n, max);
    }
    int e = errno;
    json_object_put(o);
    errno = e;
    return rc;
}
