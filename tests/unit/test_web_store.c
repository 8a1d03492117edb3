/* SPDX-License-Identifier: Apache-2.0 */
/* test_web_store.c -- hostpulse-web's SQLite store: dedup, loss counting,
 * series names, raw and rolled-up queries, retention and the fleet view,
 * on a real database file in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/clock.h"
#include "tests/unit/testutil.h"
#include "web/store.h"

struct fx {
    char dir[128];
    char db[192];
    struct hp_store *w;
    struct hp_store_reader *r;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(hp_test_mkdtemp(f->dir, sizeof(f->dir), "webstore"));
    snprintf(f->db, sizeof(f->db), "%s/web.db", f->dir);
    struct hp_store_opts o = {.retention_hours = 48, .rollup_days = 30};
    f->w = hp_store_open(f->db, &o, err, sizeof(err));
    assert_non_null(f->w);
    f->r = hp_store_reader_open(f->db, err, sizeof(err));
    assert_non_null(f->r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hp_store_reader_close(f->r);
    hp_store_close(f->w);
    hp_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* Store one message whose data is the JSON text data; returns the put result. */
static enum hp_store_put put(struct fx *f, const char *host, const char *reporter, uint64_t seq,
                             int64_t ts, const char *data)
{
    char err[256];
    json_object *d = json_tokener_parse(data);
    assert_non_null(d);
    struct hp_store_msg m = {.host = host,
                             .session = "s1",
                             .reporter = reporter,
                             .seq = seq,
                             .ts_ms = ts,
                             .interval = 1.0,
                             .data = d};
    enum hp_store_put rc = hp_store_put(f->w, &m, err, sizeof(err));
    json_object_put(d);
    if (rc == HP_STORE_ERR)
        fail_msg("put: %s", err);
    return rc;
}

static void commit(struct fx *f)
{
    char err[256];
    if (hp_store_commit(f->w, err, sizeof(err)) != 0)
        fail_msg("commit: %s", err);
}

static json_object *series(struct fx *f, const char *host, const char *reporter, const char *path,
                           int64_t from, int64_t to, int max)
{
    char err[256];
    json_object *s = hp_store_series(f->r, host, reporter, path, from, to, max, err, sizeof(err));
    if (!s)
        fail_msg("series %s %s: %s", reporter, path, err);
    return json_object_object_get(s, "points") ? s : NULL;
}

static json_object *point(json_object *s, size_t i)
{
    return json_object_array_get_idx(json_object_object_get(s, "points"), i);
}

static double value(json_object *s, size_t i, size_t col)
{
    json_object *v = json_object_array_get_idx(point(s, i), col);
    return v ? json_object_get_double(v) : NAN;
}

static int64_t loss_field(struct fx *f, const char *host, const char *field)
{
    char err[256];
    json_object *l = hp_store_host_loss(f->r, host, err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(json_object_array_length(l), 1);
    int64_t v =
        json_object_get_int64(json_object_object_get(json_object_array_get_idx(l, 0), field));
    json_object_put(l);
    return v;
}

static void duplicates_are_stored_once(void **state)
{
    struct fx *f = *state;
    int64_t t = hp_real_ms();
    assert_int_equal(put(f, "web01", "mem", 1, t, "{\"percent\":12.5}"), HP_STORE_NEW);
    commit(f);
    assert_int_equal(put(f, "web01", "mem", 1, t, "{\"percent\":12.5}"), HP_STORE_DUP);
    assert_int_equal(put(f, "web01", "mem", 2, t + 1000, "{\"percent\":13}"), HP_STORE_NEW);
    assert_int_equal(put(f, "web01", "mem", 2, t + 1000, "{\"percent\":13}"), HP_STORE_DUP);
    commit(f);
    assert_int_equal(loss_field(f, "web01", "received"), 2);
    assert_int_equal(loss_field(f, "web01", "duplicates"), 2);
    json_object *s = series(f, "web01", "mem", "percent", t - 1000, t + 2000, 100);
    assert_int_equal(json_object_array_length(json_object_object_get(s, "points")), 2);
    assert_true(value(s, 0, 1) == 12.5);
    assert_true(value(s, 1, 1) == 13);
    json_object_put(s);
}

static void gaps_in_seq_are_counted_and_filled(void **state)
{
    struct fx *f = *state;
    int64_t t = hp_real_ms();
    put(f, "db1", "cpu", 10, t, "{\"percent\":1}");
    put(f, "db1", "cpu", 11, t + 1000, "{\"percent\":1}");
    put(f, "db1", "cpu", 15, t + 5000, "{\"percent\":1}");
    commit(f);
    assert_int_equal(loss_field(f, "db1", "lost"), 3);     /* 12, 13, 14 */
    put(f, "db1", "cpu", 13, t + 3000, "{\"percent\":1}"); /* late, not a duplicate */
    commit(f);
    assert_int_equal(loss_field(f, "db1", "lost"), 2);
}

static void series_are_named_by_element_not_position(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t t = hp_real_ms();
    put(f, "h", "temperature", 1, t,
        "{\"sensors\":[{\"chip\":\"coretemp-isa-0000\",\"label\":\"Core 0\",\"value\":41.5}]}");
    put(f, "h", "process", 1, t,
        "{\"watched\":[{\"pid\":7,\"name\":\"nginx\",\"rss\":100,\"start_time\":5}]}");
    put(f, "h", "net", 1, t,
        "{\"interfaces\":{\"eth0\":{\"bytes_recv\":10,\"bytes_recv_per_sec\":2.5}}}");
    commit(f);
    json_object *l = hp_store_host_series(f->r, "h", err, sizeof(err));
    assert_non_null(l);
    const char *got = json_object_to_json_string_ext(l, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(got, "\"sensors.coretemp-isa-0000\\/Core 0.value\""));
    assert_non_null(strstr(got, "\"watched.nginx:7.rss\""));
    assert_non_null(strstr(got, "\"interfaces.eth0.bytes_recv_per_sec\""));
    assert_null(strstr(got, "\"interfaces.eth0.bytes_recv\"")); /* counter with a rate */
    assert_null(strstr(got, "start_time"));
    json_object *first = json_object_array_get_idx(l, 0);
    assert_int_equal(json_object_get_int64(json_object_object_get(first, "first_ms")), t);
    assert_int_equal(json_object_get_int64(json_object_object_get(first, "last_ms")), t);
    json_object_put(l);
}

static void a_silence_is_a_null_point(void **state)
{
    struct fx *f = *state;
    int64_t t0 = hp_real_ms() - 100000;
    uint64_t seq = 1;
    for (int i = 0; i < 10; i++, seq++)
        put(f, "g", "cpu", seq, t0 + i * 1000, "{\"percent\":50}");
    for (int i = 40; i < 45; i++, seq++) /* 30 s of nothing, then 5 more */
        put(f, "g", "cpu", seq, t0 + i * 1000, "{\"percent\":60}");
    commit(f);
    json_object *s = series(f, "g", "cpu", "percent", t0, t0 + 60000, 1000);
    json_object *pts = json_object_object_get(s, "points");
    assert_int_equal(json_object_array_length(pts), 16); /* 15 points and one null */
    assert_true(isnan(value(s, 10, 1)));
    assert_true(value(s, 11, 1) == 60);
    json_object_put(s);
    /* Bucketed: 45 s into at most 5 points of 9 s, averages. */
    s = series(f, "g", "cpu", "percent", t0, t0 + 45000, 5);
    assert_true(json_object_get_int64(json_object_object_get(s, "step_ms")) == 9000);
    assert_true(json_object_array_length(json_object_object_get(s, "points")) <= 7);
    json_object_put(s);
}

static void long_ranges_read_minute_rollups(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t now = hp_real_ms();
    int64_t m0 = (now - 10 * 60000) / 60000 * 60000; /* a minute ten minutes ago */
    uint64_t seq = 1;
    for (int i = 0; i < 6; i++, seq++) /* 10, 20, ... 60 within one minute */
        put(f, "r", "mem", seq, m0 + i * 10000, i % 2 ? "{\"percent\":20}" : "{\"percent\":10}");
    put(f, "r", "mem", seq, m0 + 60000, "{\"percent\":90}");
    commit(f);
    assert_int_equal(hp_store_maintain(f->w, now, err, sizeof(err)), 0);
    /* 3 days at one point per minute: 4320 points at most */
    json_object *s = series(f, "r", "mem", "percent", now - 3 * 86400000LL, now, 5000);
    assert_string_equal(json_object_get_string(json_object_object_get(s, "source")), "minute");
    size_t n = json_object_array_length(json_object_object_get(s, "points"));
    assert_true(n >= 1);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (value(s, i, 2) == 10 && value(s, i, 3) == 20) {
            assert_true(value(s, i, 1) == 15); /* avg of 10,20,10,20,10,20 */
            found++;
        }
    assert_int_equal(found, 1);
    json_object_put(s);
}

static void long_ranges_read_raw_rows_not_rolled_up_yet(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t now = hp_real_ms();
    int64_t old = now - 3600000; /* rolled up below */
    put(f, "t", "cpu", 1, old, "{\"percent\":7}");
    commit(f);
    assert_int_equal(hp_store_maintain(f->w, now, err, sizeof(err)), 0);
    int64_t b = now - now % 180000;               /* a bucket of the 48 h / 1,000 points chart */
    put(f, "t", "cpu", 2, b, "{\"percent\":40}"); /* not rolled up yet */
    put(f, "t", "cpu", 3, b + 1, "{\"percent\":60}");
    commit(f);
    json_object *s = series(f, "t", "cpu", "percent", now - 48 * 3600000LL, now + 1000, 1000);
    assert_int_equal(json_object_get_int64(json_object_object_get(s, "step_ms")), 180000);
    assert_string_equal(json_object_get_string(json_object_object_get(s, "source")), "minute");
    size_t n = json_object_array_length(json_object_object_get(s, "points"));
    assert_true(n >= 3); /* the rollup, a gap, the raw tail */
    assert_true(value(s, 0, 1) == 7);
    assert_true(isnan(value(s, 1, 1)));
    assert_true(value(s, n - 1, 1) == 50); /* 40 and 60 in one bucket */
    assert_true(value(s, n - 1, 2) == 40 && value(s, n - 1, 3) == 60);
    json_object_put(s);
}

static void retention_drops_old_raw_rows_keeps_rollups(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t now = hp_real_ms();
    int64_t old = now - 50 * 3600000LL; /* beyond 48 h */
    put(f, "o", "mem", 1, old, "{\"percent\":33}");
    put(f, "o", "mem", 2, now - 1000, "{\"percent\":44}");
    commit(f);
    assert_int_equal(hp_store_maintain(f->w, now, err, sizeof(err)), 0);
    json_object *s = series(f, "o", "mem", "percent", old - 1000, old + 1000, 100);
    assert_string_equal(json_object_get_string(json_object_object_get(s, "source")), "minute");
    assert_true(value(s, 0, 1) == 33); /* only its rollup is left */
    json_object_put(s);
    s = series(f, "o", "mem", "percent", now - 5000, now, 100);
    assert_string_equal(json_object_get_string(json_object_object_get(s, "source")), "raw");
    assert_true(value(s, 0, 1) == 44);
    json_object_put(s);
}

/* A series' first_ms is its first sample, not the start of that sample's
 * minute once the minute is rolled up (the host page starts a new host's
 * charts there); once the raw rows are gone, it is the rollup's minute. */
static void first_ms_is_the_first_sample_after_rollup(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t now = hp_real_ms();
    int64_t m0 = (now - 10 * 60000) / 60000 * 60000;
    int64_t old = (now - 50 * 3600000LL) / 60000 * 60000; /* beyond 48 h */
    put(f, "n", "cpu", 1, m0 + 25000, "{\"percent\":1}");
    put(f, "n", "cpu", 2, m0 + 35000, "{\"percent\":2}");
    put(f, "o", "cpu", 1, old + 25000, "{\"percent\":3}");
    put(f, "o", "cpu", 2, now - 1000, "{\"percent\":4}");
    commit(f);
    assert_int_equal(hp_store_maintain(f->w, now, err, sizeof(err)), 0);
    json_object *s = series(f, "n", "cpu", "percent", now - 3 * 86400000LL, now, 5000);
    assert_string_equal(json_object_get_string(json_object_object_get(s, "source")), "minute");
    assert_true(value(s, 0, 1) == 1.5); /* minute m0's rollup */
    json_object_put(s);
    const char *host[] = {"n", "o"};
    int64_t want[] = {m0 + 25000, old};
    for (int i = 0; i < 2; i++) {
        json_object *l = hp_store_host_series(f->r, host[i], err, sizeof(err));
        assert_non_null(l);
        assert_int_equal(json_object_array_length(l), 1);
        json_object *first = json_object_object_get(json_object_array_get_idx(l, 0), "first_ms");
        assert_int_equal(json_object_get_int64(first), want[i]);
        json_object_put(l);
    }
}

/* A series that retention dropped is made anew when its numbers return:
 * no cache may keep answering the old id. */
static void a_series_retention_dropped_comes_back(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t now = hp_real_ms(), old = now - 31 * 86400000LL; /* beyond the rollups too */
    put(f, "r", "cpu", 1, old, "{\"percent\":11,\"user\":1}");
    put(f, "r", "cpu", 2, old + 1000, "{\"percent\":22,\"user\":2}");
    commit(f);
    for (int i = 0; i < 3; i++) /* rollups of the dirty minutes, then retention */
        assert_int_equal(hp_store_maintain(f->w, now, err, sizeof(err)), 0);
    json_object *l = hp_store_host_series(f->r, "r", err, sizeof(err));
    assert_int_equal(json_object_array_length(l), 0); /* its series are gone */
    json_object_put(l);
    put(f, "r", "cpu", 3, now - 1000, "{\"percent\":55,\"user\":5}");
    commit(f);
    json_object *s = series(f, "r", "cpu", "percent", now - 5000, now, 100);
    assert_true(value(s, 0, 1) == 55);
    json_object_put(s);
}

/* Fields that change order, come and go between messages keep their
 * series (each number is stored under its own path). */
static void fields_that_move_keep_their_series(void **state)
{
    struct fx *f = *state;
    int64_t t = hp_real_ms() - 10000;
    put(f, "m", "net", 1, t, "{\"a\":1,\"b\":2}");
    put(f, "m", "net", 2, t + 1000, "{\"b\":3,\"a\":4}");
    put(f, "m", "net", 3, t + 2000, "{\"a\":5,\"c\":6,\"b\":7}");
    put(f, "m", "net", 4, t + 3000, "{\"c\":8}");
    put(f, "m", "net", 5, t + 4000, "{\"a\":9,\"c\":10,\"b\":11}");
    commit(f);
    static const struct {
        const char *path;
        double want[5]; /* per message; -1: none */
    } exp[] = {{"a", {1, 4, 5, -1, 9}}, {"b", {2, 3, 7, -1, 11}}, {"c", {-1, -1, 6, 8, 10}}};
    for (size_t i = 0; i < 3; i++) {
        json_object *s = series(f, "m", "net", exp[i].path, t - 1000, t + 5000, 1000);
        json_object *pts = json_object_object_get(s, "points");
        size_t k = 0;
        for (size_t p = 0; p < json_object_array_length(pts); p++) {
            if (isnan(value(s, p, 1)))
                continue; /* a gap */
            while (k < 5 && exp[i].want[k] < 0)
                k++;
            assert_true(k < 5);
            if (value(s, p, 1) != exp[i].want[k])
                fail_msg("%s point %zu: %g, want %g", exp[i].path, p, value(s, p, 1),
                         exp[i].want[k]);
            k++;
        }
        while (k < 5 && exp[i].want[k] < 0)
            k++;
        assert_int_equal(k, 5);
        json_object_put(s);
    }
}

static json_object *fleet_host(json_object *fleet, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(fleet); i++) {
        json_object *h = json_object_array_get_idx(fleet, i);
        if (strcmp(json_object_get_string(json_object_object_get(h, "host")), name) == 0)
            return h;
    }
    return NULL;
}

static double num(json_object *o, const char *k)
{
    json_object *v = json_object_object_get(o, k);
    return v ? json_object_get_double(v) : NAN;
}

static void fleet_summarises_each_host(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t t = hp_real_ms();
    const char *evil = "<script>alert(1)</script>";
    put(f, evil, "cpu", 1, t, "{\"percent\":12.5,\"load1\":0.7}");
    put(f, evil, "mem", 1, t, "{\"percent\":40}");
    put(f, evil, "disk", 1, t,
        "{\"filesystems\":{\"/\":{\"percent\":81.5},\"/home\":{\"percent\":20}}}");
    put(f, evil, "temperature", 1, t,
        "{\"sensors\":[{\"chip\":\"a\",\"label\":\"x\",\"value\":55},"
        "{\"chip\":\"a\",\"label\":\"y\",\"value\":61.5}]}");
    put(f, evil, "uptime", 1, t, "{\"uptime\":3600}");
    put(f, evil, "session", 1, t, "{\"version\":\"9.9\",\"kernel\":\"6.1\"}");
    put(f, "old", "cpu", 1, t - 3600000, "{\"percent\":1}");
    commit(f);
    json_object *fleet = hp_store_fleet(f->r, t + 1000, err, sizeof(err));
    assert_non_null(fleet);
    json_object *h = fleet_host(fleet, evil);
    assert_non_null(h);
    assert_true(num(h, "cpu_pct") == 12.5);
    assert_true(num(h, "load1") == 0.7);
    assert_true(num(h, "mem_pct") == 40);
    assert_true(num(h, "fs_max_pct") == 81.5);
    assert_true(num(h, "temp_max_c") == 61.5);
    assert_true(num(h, "uptime_s") == 3600);
    assert_string_equal(json_object_get_string(json_object_object_get(h, "version")), "9.9");
    assert_false(json_object_get_boolean(json_object_object_get(h, "stale")));
    assert_true(json_object_get_boolean(json_object_object_get(fleet_host(fleet, "old"), "stale")));
    json_object_put(fleet);
    json_object *facts = hp_store_host(f->r, evil, err, sizeof(err));
    assert_non_null(facts);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_object_get(facts, "facts"), "kernel")),
                        "6.1");
    json_object_put(facts);
    assert_null(hp_store_host(f->r, "nobody", err, sizeof(err)));
    assert_string_equal(err, "unknown host");
}

/* One host's fleet row read alone is its element of the whole fleet. */
static void fleet_host_is_its_fleet_row(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t t = hp_real_ms();
    for (int h = 0; h < 5; h++) {
        char name[16], data[64];
        snprintf(name, sizeof(name), "h%d", h);
        snprintf(data, sizeof(data), "{\"percent\":%d,\"load1\":0.%d}", 10 * h, h);
        for (uint64_t seq = 1; seq <= 3; seq += h % 2 ? 2 : 1) /* odd hosts lose one */
            put(f, name, "cpu", seq, t - 60000 * h + (int64_t)seq * 1000, data);
        put(f, name, "uptime", 1, t - 60000 * h, "{\"uptime\":60}");
    }
    commit(f);
    json_object *fleet = hp_store_fleet(f->r, t + 1000, err, sizeof(err));
    assert_int_equal(json_object_array_length(fleet), 5);
    for (size_t i = 0; i < 5; i++) {
        json_object *row = json_object_array_get_idx(fleet, i);
        const char *name = json_object_get_string(json_object_object_get(row, "host"));
        json_object *one = hp_store_fleet_host(f->r, name, t + 1000, err, sizeof(err));
        assert_non_null(one);
        assert_string_equal(json_object_to_json_string(one), json_object_to_json_string(row));
        json_object_put(one);
    }
    json_object_put(fleet);
    assert_null(hp_store_fleet_host(f->r, "nobody", t, err, sizeof(err)));
    assert_string_equal(err, "unknown host");
}

/* A lookup of an unknown host says so and leaves its statement reset: the
 * next lookup, of the same or another host, reads that host's row. */
static void a_miss_leaves_host_lookups_ready(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t t = hp_real_ms();
    put(f, "a", "cpu", 1, t, "{\"percent\":1}");
    put(f, "b", "cpu", 1, t + 1, "{\"percent\":2}");
    commit(f);
    const char *order[] = {"nobody", "a", "nobody", "nobody", "b", "a", "ghost", "b"};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        bool known = strcmp(order[i], "a") == 0 || strcmp(order[i], "b") == 0;
        err[0] = '\0';
        json_object *row = hp_store_fleet_host(f->r, order[i], t, err, sizeof(err));
        assert_string_equal(err, known ? "" : "unknown host");
        json_object *info = hp_store_host(f->r, order[i], err, sizeof(err));
        assert_string_equal(err, known ? "" : "unknown host");
        if (!known) {
            assert_null(row);
            assert_null(info);
            continue;
        }
        assert_non_null(row);
        assert_non_null(info);
        assert_string_equal(json_object_get_string(json_object_object_get(row, "host")), order[i]);
        assert_string_equal(json_object_get_string(json_object_object_get(info, "host")), order[i]);
        assert_int_equal(json_object_get_int64(json_object_object_get(info, "first_seen_ms")),
                         t + (order[i][0] == 'b'));
        json_object_put(row);
        json_object_put(info);
    }
}

static void rejects_are_counted_by_reason(void **state)
{
    struct fx *f = *state;
    char err[256];
    assert_int_equal(hp_store_reject(f->w, "json", NULL, 1, err, sizeof(err)), 0);
    assert_int_equal(hp_store_reject(f->w, "json", NULL, 2, err, sizeof(err)), 0);
    assert_int_equal(hp_store_reject(f->w, "oversize", "h", 3, err, sizeof(err)), 0);
    commit(f);
    json_object *st = hp_store_stats(f->r, err, sizeof(err));
    assert_non_null(st);
    json_object *rej = json_object_object_get(st, "rejected");
    assert_int_equal(json_object_get_int64(json_object_object_get(rej, "json")), 2);
    assert_int_equal(json_object_get_int64(json_object_object_get(rej, "oversize")), 1);
    json_object_put(st);
}

static void uncommitted_is_invisible_and_survives_reopen(void **state)
{
    struct fx *f = *state;
    char err[256];
    int64_t t = hp_real_ms();
    put(f, "u", "mem", 1, t, "{\"percent\":5}");
    assert_null(hp_store_host(f->r, "u", err, sizeof(err))); /* not committed yet */
    commit(f);
    hp_store_close(f->w);
    struct hp_store_opts o = {.retention_hours = 48, .rollup_days = 30};
    f->w = hp_store_open(f->db, &o, err, sizeof(err));
    assert_non_null(f->w);
    assert_int_equal(put(f, "u", "mem", 1, t, "{\"percent\":5}"), HP_STORE_DUP);
    commit(f);
    json_object *h = hp_store_host(f->r, "u", err, sizeof(err));
    assert_non_null(h);
    json_object_put(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(duplicates_are_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(gaps_in_seq_are_counted_and_filled, setup, teardown),
        cmocka_unit_test_setup_teardown(series_are_named_by_element_not_position, setup, teardown),
        cmocka_unit_test_setup_teardown(a_silence_is_a_null_point, setup, teardown),
        cmocka_unit_test_setup_teardown(long_ranges_read_minute_rollups, setup, teardown),
        cmocka_unit_test_setup_teardown(long_ranges_read_raw_rows_not_rolled_up_yet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(retention_drops_old_raw_rows_keeps_rollups, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(first_ms_is_the_first_sample_after_rollup, setup, teardown),
        cmocka_unit_test_setup_teardown(a_series_retention_dropped_comes_back, setup, teardown),
        cmocka_unit_test_setup_teardown(fields_that_move_keep_their_series, setup, teardown),
        cmocka_unit_test_setup_teardown(fleet_summarises_each_host, setup, teardown),
        cmocka_unit_test_setup_teardown(fleet_host_is_its_fleet_row, setup, teardown),
        cmocka_unit_test_setup_teardown(a_miss_leaves_host_lookups_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_are_counted_by_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(uncommitted_is_invisible_and_survives_reopen, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("web_store", tests, NULL, NULL);
}
