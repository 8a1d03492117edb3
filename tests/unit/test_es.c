/* SPDX-License-Identifier: Apache-2.0 */
/* test_es.c -- the Elasticsearch bulk builder and the es-file sink, driven
 * through the sink ops with crafted messages: index names and _ids, daily
 * files chosen by each message's UTC day (the rotation), a torn tail cut on
 * reopen, and a clear error when the file cannot be created. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "transport/backlog.h"
#include "transport/sinks/es_bulk.h"
#include "transport/transport.h"

#define SESSION "5f0c1c2e-0000-4000-8000-000000000001"
#define DAY1    1763769599900LL /* 2025-11-21T23:59:59.900Z */
#define DAY2    1763769600100LL /* 2025-11-22T00:00:00.100Z */

struct fx {
    config_t cfg;
    struct hp_sink s;
    char dir[64];
};

static struct hp_msg *mk(const char *rep, uint64_t seq, int64_t ts)
{
    char json[512];
    int n = snprintf(json, sizeof(json),
                     "{\"v\":1,\"host\":\"h1\",\"reporter\":\"%s\",\"ts\":%lld,\"session\":\"%s\","
                     "\"seq\":%llu,\"interval\":1.5,\"data\":{\"n\":%llu}}",
                     rep, (long long)ts, SESSION, (unsigned long long)seq, (unsigned long long)seq);
    return hp_msg_new(rep, seq, ts, json, (size_t)n);
}

static void make_sink(struct fx *f, const char *type, const char *opts)
{
    char text[1024];
    snprintf(text, sizeof(text), "s = { %s };", opts);
    config_init(&f->cfg);
    assert_int_equal(config_read_string(&f->cfg, text), CONFIG_TRUE);
    memset(&f->s, 0, sizeof(f->s));
    f->s.ops = hp_sink_find(type);
    assert_non_null(f->s.ops);
    snprintf(f->s.name, sizeof(f->s.name), "%s", type);
    f->s.cfg = config_lookup(&f->cfg, "s");
    struct hp_errs errs = {0};
    assert_int_equal(hp_sink_setup(&f->s, f->s.ops, f->s.cfg, NULL, &errs), 0);
    if (f->s.ops->open) /* es-file has none: its files open per message day */
        assert_int_equal(f->s.ops->open(&f->s), 0);
}

static void free_sink(struct fx *f)
{
    f->s.ops->close(&f->s);
    hp_sink_teardown(&f->s);
    config_destroy(&f->cfg);
}

/* Offer msgs (consumed) in one write; returns write's result. */
static int offer(struct hp_sink *s, struct hp_msg **msgs, size_t n)
{
    struct hp_out out[64];
    for (size_t i = 0; i < n; i++) {
        hp_backlog_push(hp_sink_backlog(s), msgs[i]);
        hp_msg_unref(msgs[i]);
    }
    size_t got = hp_backlog_take(hp_sink_backlog(s), out, 64);
    assert_int_equal(got, n);
    return s->ops->write(s, out, got);
}

static void tmpdir(struct fx *f)
{
    assert_non_null(hp_test_mkdtemp(f->dir, sizeof(f->dir), "es"));
}

static void rmtree(const char *dir)
{
    assert_int_equal(hp_test_rmtree(dir), 0);
}

static void index_names_and_ids(void **state)
{
    (void)state;
    struct hp_msg *m = mk("cpu", 42, DAY1);
    char name[HP_ES_INDEX_MAX];
    struct hp_tmpl daily, monthly;
    char why[200];
    assert_int_equal(hp_es_index_compile(&daily, "hostpulse-%Y.%m.%d", why, sizeof(why)), 0);
    assert_int_equal(hp_es_index_compile(&monthly, "hp-{reporter}-%Y.%m", why, sizeof(why)), 0);
    assert_int_equal(hp_es_index_name(&daily, m, name, sizeof(name)), 0);
    assert_string_equal(name, "hostpulse-2025.11.21");
    assert_int_equal(hp_es_index_name(&monthly, m, name, sizeof(name)), 0);
    assert_string_equal(name, "hp-cpu-2025.11");
    assert_null(hp_es_index_check("hostpulse-{reporter}-%Y.%m.%d"));
    assert_non_null(hp_es_index_check("HostPulse"));
    assert_non_null(hp_es_index_check("a b"));
    assert_non_null(hp_es_index_check("hp-%B")); /* "November": not lowercase */
    assert_non_null(hp_es_index_check("hp-%e")); /* space padded */
    assert_non_null(hp_es_index_check("hp-%"));
    assert_null(hp_es_index_check("hp-%G.%V-100%%"));
    assert_non_null(hp_es_index_check(""));

    struct hp_es_bulk b;
    assert_int_equal(hp_es_bulk_init(&b), 0);
    assert_int_equal(hp_es_bulk_add(&b, &daily, m), 0);
    const char *want_action =
        "{\"index\":{\"_index\":\"hostpulse-2025.11.21\",\"_id\":\"h1:" SESSION ":cpu:42\"}}\n";
    assert_memory_equal(b.body.p, want_action, strlen(want_action));
    const char *doc = b.body.p + strlen(want_action);
    assert_non_null(strstr(doc, "\"@timestamp\":1763769599900}\n"));
    assert_non_null(strstr(doc, "\"interval\":1.5"));
    assert_int_equal(count_lines(b.body.p), 2);
    struct hp_msg *bad = hp_msg_new("cpu", 1, DAY1, "[1,2]", 5);
    assert_int_equal(hp_es_bulk_add(&b, &daily, bad), 1);
    assert_int_equal(b.ndocs, 1);
    hp_msg_unref(bad);
    hp_es_bulk_free(&b);
    hp_msg_unref(m);
}

static void es_file_daily_files(void **state)
{
    (void)state;
    struct fx f;
    tmpdir(&f);
    char opts[256];
    snprintf(opts, sizeof(opts), "path = \"%s/sub/hp-%%Y-%%m-%%d.ndjson\";", f.dir);
    make_sink(&f, "es-file", opts);
    struct hp_msg *msgs[] = {mk("cpu", 1, DAY1), mk("cpu", 2, DAY1 + 50), mk("cpu", 3, DAY2),
                             mk("mem", 7, DAY1 + 60)}; /* late: back to its day */
    assert_int_equal(offer(&f.s, msgs, 4), 4);
    assert_int_equal(hp_backlog_count(hp_sink_backlog(&f.s)), 0); /* all confirmed */
    char path[128];
    snprintf(path, sizeof(path), "%s/sub/hp-2025-11-21.ndjson", f.dir);
    char *d1 = slurp(path);
    snprintf(path, sizeof(path), "%s/sub/hp-2025-11-22.ndjson", f.dir);
    char *d2 = slurp(path);
    assert_non_null(d1);
    assert_non_null(d2);
    assert_int_equal(count_lines(d1), 6);
    assert_int_equal(count_lines(d2), 2);
    /* the default index: one per reporter and day */
    assert_non_null(strstr(d1, "\"_index\":\"hostpulse-cpu-2025.11.21\""));
    assert_non_null(strstr(d1, "\"_index\":\"hostpulse-mem-2025.11.21\""));
    assert_non_null(strstr(d2, "\"_index\":\"hostpulse-cpu-2025.11.22\""));
    assert_non_null(strstr(d1, ":mem:7\""));
    free(d1);
    free(d2);
    free_sink(&f);
    rmtree(f.dir);
}

static void es_file_cuts_torn_tail(void **state)
{
    (void)state;
    struct fx f;
    tmpdir(&f);
    char opts[256], path[128];
    snprintf(path, sizeof(path), "%s/bulk.ndjson", f.dir);
    snprintf(opts, sizeof(opts), "path = \"%s\"; fsync = true;", path);
    make_sink(&f, "es-file", opts);
    struct hp_msg *one[] = {mk("cpu", 1, DAY1)};
    assert_int_equal(offer(&f.s, one, 1), 1);
    f.s.ops->close(&f.s);
    /* A crash mid-write: an action line and half a document. */
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    const char torn[] = "{\"index\":{\"_index\":\"x\",\"_id\":\"y\"}}\n{\"v\":1,\"ho";
    assert_int_equal(write(fd, torn, sizeof(torn) - 1), (ssize_t)sizeof(torn) - 1);
    close(fd);
    struct hp_msg *two[] = {mk("cpu", 2, DAY1)};
    assert_int_equal(offer(&f.s, two, 1), 1);
    char *text = slurp(path);
    assert_int_equal(count_lines(text), 4);
    assert_null(strstr(text, "\"_id\":\"y\""));
    assert_non_null(strstr(text, ":cpu:1\""));
    assert_non_null(strstr(text, ":cpu:2\""));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    free_sink(&f);
    rmtree(f.dir);
}

static void es_file_unwritable_is_an_error(void **state)
{
    (void)state;
    struct fx f;
    tmpdir(&f);
    char opts[256], file[128];
    snprintf(file, sizeof(file), "%s/plain", f.dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    /* The parent "directory" is a regular file: root cannot write there either. */
    snprintf(opts, sizeof(opts), "path = \"%s/plain/bulk.ndjson\";", f.dir);
    make_sink(&f, "es-file", opts);
    struct hp_msg *one[] = {mk("cpu", 1, DAY1)};
    assert_int_equal(offer(&f.s, one, 1), -1);
    assert_non_null(strstr(f.s.error, "Not a directory"));
    assert_int_equal(hp_backlog_count(hp_sink_backlog(&f.s)), 1); /* kept for the retry */
    free_sink(&f);
    rmtree(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(index_names_and_ids),
        cmocka_unit_test(es_file_daily_files),
        cmocka_unit_test(es_file_cuts_torn_tail),
        cmocka_unit_test(es_file_unwritable_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
