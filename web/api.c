/* SPDX-License-Identifier: Apache-2.0 */
/* api.c -- the JSON API under /api/, over the store's reader API.
 *
 *   GET /api/fleet                      {"now_ms", "hosts": [...], "stats": {...}}
 *   GET /api/host?host=H                {"now_ms", "host", "fleet", "info", "series",
 *                                        "loss", "latest": {"process", "ipaddr"}}
 *   GET /api/series?host=H&reporter=R&path=P[&range=1h|6h|24h|48h|7d|30d]
 *                  [&from=MS&to=MS][&points=N]
 *   GET /api/latest?host=H&reporter=R   the reporter's latest message
 *   GET /api/stats                      ingest counters
 *
 * docs/web.md documents each answer. Everything is built with json-c, so
 * strings from messages are JSON-escaped by the library; errors are
 * {"error": "..."} with a 4xx/5xx status. */
#include "web/api.h"
#include "lib/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POINTS_DEFAULT 600
#define POINTS_MAX     5000
#define HOUR_MS        3600000LL

struct range_name {
    const char *name;
    int64_t ms;
};

static const struct range_name ranges[] = {
    {"1h", HOUR_MS},       {"6h", 6 * HOUR_MS},      {"24h", 24 * HOUR_MS},
    {"48h", 48 * HOUR_MS}, {"7d", 7 * 24 * HOUR_MS}, {"30d", 30 * 24 * HOUR_MS},
};

/* Serialise o (taken) into body; returns status. */
static unsigned answer(struct hp_buf *body, unsigned status, json_object *o)
{
    if (!o)
        return 500;
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s || hp_buf_put(body, s, n) < 0 || hp_buf_str(body, "\n") < 0)
        status = 500;
    json_object_put(o);
    return status;
}

static unsigned fail(struct hp_buf *body, unsigned status, const char *fmt, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, what);
    json_object *o = json_object_new_object();
    if (o)
        json_object_object_add(o, "error", json_object_new_string(msg));
    return answer(body, status, o);
}

static const char *arg(const struct hp_api_req *req, const char *key)
{
    const char *v = req->arg(req->arg_ctx, key);
    return v && *v ? v : NULL;
}

/* A whole decimal integer argument in [min, max]; *out untouched and -1
 * when it is not one. */
static int int_arg(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static unsigned api_fleet(struct hp_store_reader *r, const struct hp_api_req *req,
                          struct hp_buf *body)
{
    char err[256] = "";
    json_object *hosts = hp_store_fleet(r, req->now_ms, err, sizeof err);
    if (!hosts)
        return fail(body, 500, "fleet: %s", err);
    json_object *stats = hp_store_stats(r, err, sizeof err);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "now_ms", json_object_new_int64(req->now_ms));
    json_object_object_add(o, "hosts", hosts);
    json_object_object_add(o, "stats", stats); /* NULL (json null) when it failed */
    return answer(body, 200, o);
}

static unsigned api_host(struct hp_store_reader *r, const struct hp_api_req *req,
                         struct hp_buf *body)
{
    const char *host = arg(req, "host");
    if (!host)
        return fail(body, 400, "%s", "host: missing argument host=NAME");
    char err[256] = "";
    json_object *series = hp_store_host_series(r, host, err, sizeof err);
    if (!series)
        return fail(body, 500, "series list: %s", err);
    json_object *info = hp_store_host(r, host, err, sizeof err);
    json_object *fleet = hp_store_fleet_host(r, host, req->now_ms, err, sizeof err);
    if (!info && !fleet && json_object_array_length(series) == 0) {
        json_object_put(series);
        return fail(body, 404, "unknown host \"%s\"", host);
    }
    json_object *latest = json_object_new_object();
    static const char *const lists[] = {"process", "ipaddr"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        json_object_object_add(latest, lists[i],
                               hp_store_latest(r, host, lists[i], err, sizeof err));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "now_ms", json_object_new_int64(req->now_ms));
    json_object_object_add(o, "host", json_object_new_string(host));
    json_object_object_add(o, "fleet", fleet);
    json_object_object_add(o, "info", info);
    json_object_object_add(o, "series", series);
    json_object_object_add(o, "loss", hp_store_host_loss(r, host, err, sizeof err));
    json_object_object_add(o, "latest", latest);
    return answer(body, 200, o);
}

/* from/to from range=NAME (ending now) or from=MS&to=MS. */
static const char *series_window(const struct hp_api_req *req, int64_t *from, int64_t *to)
{
    const char *name = arg(req, "range"), *f = arg(req, "from"), *t = arg(req, "to");
    long long v;
    *to = req->now_ms;
    *from = req->now_ms - HOUR_MS;
    if (name) {
        size_t i = 0;
        while (i < sizeof ranges / sizeof ranges[0] && strcmp(ranges[i].name, name) != 0)
            i++;
        if (i == sizeof ranges / sizeof ranges[0])
            return "range: expected 1h, 6h, 24h, 48h, 7d or 30d";
        *from = req->now_ms - ranges[i].ms;
    }
    if (t) {
        if (int_arg(t, 0, INT64_MAX / 2, &v) != 0)
            return "to: expected epoch milliseconds";
        *to = v;
    }
    if (f) {
        if (int_arg(f, 0, INT64_MAX / 2, &v) != 0)
            return "from: expected epoch milliseconds";
        *from = v;
    }
    if (*from >= *to)
        return "from must be before to";
    return NULL;
}

static unsigned api_series(struct hp_store_reader *r, const struct hp_api_req *req,
                           struct hp_buf *body)
{
    const char *host = arg(req, "host"), *rep = arg(req, "reporter"), *path = arg(req, "path");
    if (!host || !rep || !path)
        return fail(body, 400, "%s", "series: host=, reporter= and path= are required");
    int64_t from, to;
    const char *bad = series_window(req, &from, &to);
    if (bad)
        return fail(body, 400, "%s", bad);
    long long points = POINTS_DEFAULT;
    const char *p = arg(req, "points");
    if (p && int_arg(p, 2, POINTS_MAX, &points) != 0)
        return fail(body, 400, "%s", "points: expected an integer from 2 to 5000");
    char err[256] = "";
    json_object *o = hp_store_series(r, host, rep, path, from, to, (int)points, err, sizeof err);
    return o ? answer(body, 200, o) : fail(body, 404, "series: %s", err);
}

static unsigned api_latest(struct hp_store_reader *r, const struct hp_api_req *req,
                           struct hp_buf *body)
{
    const char *host = arg(req, "host"), *rep = arg(req, "reporter");
    if (!host || !rep)
        return fail(body, 400, "%s", "latest: host= and reporter= are required");
    char err[256] = "";
    json_object *o = hp_store_latest(r, host, rep, err, sizeof err);
    return o ? answer(body, 200, o) : fail(body, 404, "latest: %s", err);
}

static unsigned api_stats(struct hp_store_reader *r, const struct hp_api_req *req,
                          struct hp_buf *body)
{
    (void)req;
    char err[256] = "";
    json_object *o = hp_store_stats(r, err, sizeof err);
    return o ? answer(body, 200, o) : fail(body, 500, "stats: %s", err);
}

unsigned hp_api_answer(struct hp_store_reader *r, const struct hp_api_req *req, struct hp_buf *body)
{
    static const struct {
        const char *path;
        unsigned (*fn)(struct hp_store_reader *, const struct hp_api_req *, struct hp_buf *);
    } routes[] = {
        {"fleet", api_fleet},   {"host", api_host},   {"series", api_series},
        {"latest", api_latest}, {"stats", api_stats},
    };
    struct hp_api_req q = *req;
    if (!q.now_ms)
        q.now_ms = hp_real_ms();
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(req->path, routes[i].path) == 0)
            return routes[i].fn(r, &q, body);
    return fail(body, 404, "no API /api/%s (fleet, host, series, latest, stats)", req->path);
}
