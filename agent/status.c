/* SPDX-License-Identifier: Apache-2.0 */
/* status.c -- `hostpulse --status`: read the health JSON from the running
 * agent's unix socket and print it for a person, as a table, exiting like
 * a Nagios check (0 ok, 1 warning, 2 critical or no answer). */
#include "agent/health.h"
#include "lib/buf.h"
#include "lib/clock.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

/* The whole answer at path into b. 0, or -1 with errno. */
static int fetch(const char *path, struct hp_buf *b)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
        return -1;
    }
    int64_t deadline = hp_mono_ms() + 5000;
    char chunk[4096];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - hp_mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (hp_buf_put(b, chunk, (size_t)n) != 0 || b->len > (4u << 20))
            break;
    }
    close(fd);
    return 0;
}

static const char *str(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : "-";
}

static int64_t num(json_object *o, const char *k)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_int64(v) : 0;
}

/* "12 s ago", "never" */
static const char *ago(int64_t then, int64_t now, char *buf, size_t len)
{
    if (!then)
        return "never";
    double s = (double)(now - then) / 1000.0;
    if (s < 120)
        snprintf(buf, len, "%.0f s ago", s);
    else if (s < 7200)
        snprintf(buf, len, "%.0f min ago", s / 60);
    else
        snprintf(buf, len, "%.1f h ago", s / 3600);
    return buf;
}

static void print_list(FILE *out, json_object *o, const char *key, const char *mark)
{
    json_object *l = NULL;
    json_object_object_get_ex(o, key, &l);
    for (size_t i = 0; l && i < json_object_array_length(l); i++)
        fprintf(out, "  %s %s\n", mark, json_object_get_string(json_object_array_get_idx(l, i)));
}

static void print_tables(FILE *out, json_object *o, int64_t now)
{
    char t1[32], t2[32];
    json_object *sinks = NULL, *reps = NULL, *ring = NULL;
    if (json_object_object_get_ex(o, "sinks", &sinks) && sinks) {
        fprintf(out, "\n%-16s %-13s %-5s %9s %12s %-12s %s\n", "SINK", "TYPE", "STATE", "BACKLOG",
                "SPOOL BYTES", "LAST OK", "LAST ERROR");
        json_object_object_foreach(sinks, name, s)
        {
            json_object *up = NULL;
            json_object_object_get_ex(s, "up", &up);
            fprintf(out, "%-16s %-13s %-5s %9lld %12lld %-12s %s\n", name, str(s, "type"),
                    json_object_get_boolean(up) ? "up" : "down", (long long)num(s, "backlog"),
                    (long long)num(s, "spool_bytes"), ago(num(s, "last_ok"), now, t1, sizeof(t1)),
                    num(s, "last_error_at") ? str(s, "last_error") : "-");
        }
    }
    if (json_object_object_get_ex(o, "reporters", &reps) && reps) {
        fprintf(out, "\n%-16s %9s %-12s %9s %8s %s\n", "REPORTER", "INTERVAL", "LAST SAMPLE",
                "SAMPLES", "ERRORS", "LAST ERROR");
        json_object_object_foreach(reps, name, r)
        {
            json_object *iv = NULL;
            json_object_object_get_ex(r, "interval", &iv);
            fprintf(out, "%-16s %8gs %-12s %9lld %8lld %s\n", name, json_object_get_double(iv),
                    ago(num(r, "last_sample"), now, t1, sizeof(t1)), (long long)num(r, "samples"),
                    (long long)num(r, "errors"), ago(num(r, "last_error_at"), now, t2, sizeof(t2)));
        }
    }
    if (json_object_object_get_ex(o, "ring", &ring) && ring)
        fprintf(out, "\nring: %lld of %lld used, %lld messages dropped in all\n",
                (long long)num(ring, "used"), (long long)num(ring, "capacity"),
                (long long)num(ring, "dropped"));
}

int hp_health_status(const char *path, FILE *out)
{
    struct hp_buf b = {0};
    if (fetch(path, &b) != 0) {
        fprintf(out, "HOSTPULSE CRITICAL: no answer from %s: %s (is the agent running?)\n", path,
                strerror(errno));
        hp_buf_free(&b);
        return 2;
    }
    json_object *o = b.p ? json_tokener_parse(b.p) : NULL;
    hp_buf_free(&b);
    if (!o || !json_object_is_type(o, json_type_object)) {
        fprintf(out, "HOSTPULSE CRITICAL: %s did not answer with JSON\n", path);
        json_object_put(o);
        return 2;
    }
    const char *st = str(o, "status");
    int rc = strcmp(st, "ok") == 0 ? 0 : strcmp(st, "warning") == 0 ? 1 : 2;
    char upper[16];
    size_t i = 0;
    for (; st[i] && i + 1 < sizeof(upper); i++)
        upper[i] = (char)(st[i] >= 'a' && st[i] <= 'z' ? st[i] - 32 : st[i]);
    upper[i] = '\0';
    fprintf(out, "HOSTPULSE %s: host %s, version %s (%lld)\n", upper, str(o, "host"),
            str(o, "version"), (long long)num(o, "code"));
    print_list(out, o, "reasons", "CRITICAL:");
    print_list(out, o, "warnings", "WARNING:");
    print_tables(out, o, num(o, "time"));
    json_object_put(o);
    return rc;
}
