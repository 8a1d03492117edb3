/* SPDX-License-Identifier: Apache-2.0 */
/* test_core.c -- unit tests of the small core pieces: option-table
 * validation (every error class with its line), loading bound fields and defaults,
 * envelope and number formatting, message parsing, URL redaction. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/msg.h"
#include "lib/opts.h"

static const char *const colours[] = {"red", "green", NULL};
static const struct hp_opt inner[] = {
    {.name = "depth", .type = HP_OPT_INT, .def = "3", .min = 1, .max = 10},
    {0},
};
static const struct hp_opt table[] = {
    {.name = "name", .type = HP_OPT_STRING, .flags = HP_OPT_REQUIRED},
    {.name = "ratio", .type = HP_OPT_FLOAT, .def = "0.5", .min = 0, .max = 1},
    {.name = "count", .type = HP_OPT_INT, .def = "7"},
    {.name = "on", .type = HP_OPT_BOOL, .def = "true"},
    {.name = "colour", .type = HP_OPT_STRING, .def = "red", .choices = colours},
    {.name = "tags", .type = HP_OPT_STRINGS},
    {.name = "nested", .type = HP_OPT_GROUP, .sub = inner},
    {0},
};

struct collected {
    char lines[8][256];
    int n;
};

static void collect(void *ud, const char *line)
{
    struct collected *c = ud;
    if (c->n < 8)
        snprintf(c->lines[c->n++], sizeof(c->lines[0]), "%s", line);
}

/* Validate text's root group; returns the collected error lines. */
static struct collected check(const char *text)
{
    static struct collected c;
    memset(&c, 0, sizeof(c));
    config_t cfg;
    config_init(&cfg);
    assert_int_equal(config_read_string(&cfg, text), CONFIG_TRUE);
    struct hp_errs e = {.fallback_file = "t.conf", .emit = collect, .ud = &c};
    hp_opts_check(config_root_setting(&cfg), table, NULL, &e);
    assert_int_equal((int)e.count, c.n);
    config_destroy(&cfg);
    return c;
}

static void valid_group_has_no_errors(void **state)
{
    (void)state;
    struct collected c = check("name = \"x\";\nratio = 1;\ntags = [\"a\", \"b\"];\n"
                               "nested = { depth = 4; };\n");
    assert_int_equal(c.n, 0);
}

static void each_error_class_names_its_line(void **state)
{
    (void)state;
    struct collected c = check("name = \"x\";\nbogus = 1;\nratio = 2.0;\ncount = \"7\";\n"
                               "colour = \"blue\";\nnested = { depth = 0; };\n");
    assert_int_equal(c.n, 5);
    assert_string_equal(c.lines[0], "t.conf:2: bogus: unknown option");
    assert_string_equal(c.lines[1], "t.conf:3: ratio: 2 is out of range (0 to 1)");
    assert_string_equal(c.lines[2], "t.conf:4: count: must be an integer");
    assert_non_null(strstr(c.lines[3], "t.conf:5: colour: unknown value \"blue\""));
    assert_string_equal(c.lines[4], "t.conf:6: nested.depth: 0 is out of range (1 to 10)");
}

static void missing_required(void **state)
{
    (void)state;
    struct collected c = check("count = 1;\n");
    assert_int_equal(c.n, 1);
    assert_non_null(strstr(c.lines[0], "name: required option is missing"));
}

static void numbers_are_short_and_finite(void **state)
{
    (void)state;
    json_object *o = json_object_new_object();
    hp_json_add_double(o, "a", 12.5000001, 2);
    hp_json_add_double(o, "b", 0.1 + 0.2, 3);
    hp_json_add_double(o, "c", -0.0001, 2);
    hp_json_add_double(o, "nan", 0.0 / 0.0, 2); /* left out: JSON has no NaN */
    hp_json_add_double(o, "whole", 3.0, 2);
    hp_json_add_double(o, "big", 1e15 + 0.25, 1); /* past the fast path: printf */
    hp_json_add_double(o, "huge", 1e300, 2);      /* too long for a field: left out */
    hp_json_add_double(o, "ninth", 0.123456789, 9);
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                        "{\"a\":12.5,\"b\":0.3,\"c\":0,\"whole\":3,\"big\":1000000000000000.2,"
                        "\"ninth\":0.123456789}");
    assert_true(json_object_get_double(json_object_object_get(o, "a")) == 12.5000001);
    json_object_put(o);
}

/* Integers print as json-c would print them, without printf: both ends of
 * int64 and uint64, zero and negatives. */
static void integers_print_every_digit(void **state)
{
    (void)state;
    json_object *o = json_object_new_object();
    hp_json_add_int(o, "min", INT64_MIN);
    hp_json_add_int(o, "neg", -42);
    hp_json_add_int(o, "zero", 0);
    hp_json_add_int(o, "max", INT64_MAX);
    hp_json_add_uint(o, "umax", UINT64_MAX);
    hp_json_add_uint(o, "u", 1000);
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                        "{\"min\":-9223372036854775808,\"neg\":-42,\"zero\":0,"
                        "\"max\":9223372036854775807,\"umax\":18446744073709551615,\"u\":1000}");
    assert_int_equal(json_object_get_int64(json_object_object_get(o, "neg")), -42);
    json_object_put(o);
}

/* printf's "%.*f", trimmed: what hp_fmt_fixed must print for every value. */
static void fixed_by_printf(char *buf, size_t cap, double v, int d)
{
    int n = snprintf(buf, cap, "%.*f", d, v);
    if (d > 0) {
        while (n > 1 && buf[n - 1] == '0')
            buf[--n] = '\0';
        if (buf[n - 1] == '.')
            buf[--n] = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
}

/* hp_fmt_fixed skips printf where the rounding is unambiguous: the same
 * text as printf for exact ties (0.125, 2.5), values a hair off a tie
 * (1.005, 2.675), negatives, whole numbers, large values and a spread of
 * pseudo-random ones at every magnitude, for 0 to 6 decimals. */
static void fixed_matches_printf(void **state)
{
    (void)state;
    static const double fixed[] = {0,     -0.0,     0.125, 2.5,     -2.5,   0.5,        1.005,
                                   2.675, -1.005,   1e-9,  -1e-9,   3.0,    12.5000001, 99.995,
                                   1e11,  123456.5, 1e15,  -4.5e13, 0.0625, 1234.5678,  7e-5};
    char got[48], want[64];
    for (int d = 0; d <= 6; d++) {
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
            assert_true(hp_fmt_fixed(got, sizeof(got), fixed[i], d) > 0);
            fixed_by_printf(want, sizeof(want), fixed[i], d);
            assert_string_equal(got, want);
        }
        uint64_t x = 88172645463325252ull; /* xorshift64: the same values every run */
        for (int i = 0; i < 200000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            double mant = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
            double v = mant * pow(10.0, (double)(int)(x % 17) - 6) * (x & 1 ? -1 : 1);
            if (i % 4 == 0) /* near ties on purpose: k + 0.5 at the last place */
                v = (floor(v * pow(10, d)) + 0.5) / pow(10, d);
            assert_true(hp_fmt_fixed(got, sizeof(got), v, d) > 0);
            fixed_by_printf(want, sizeof(want), v, d);
            if (strcmp(got, want) != 0)
                fail_msg("%.17g with %d decimals: %s, printf %s", v, d, got, want);
        }
    }
}

static void envelope_round_trip(void **state)
{
    (void)state;
    struct hp_envelope env = {.host = "h1", .session = "s1"};
    json_object *data = json_object_new_object();
    hp_json_add_int(data, "x", 1);
    json_object *e = hp_envelope_new(&env, "cpu", 1700000000123, 42, 1.5, data);
    struct hp_msg *m = hp_msg_from_json(e, "cpu", 42, 1700000000123);
    json_object_put(e);
    assert_string_equal(m->json, "{\"v\":1,\"host\":\"h1\",\"reporter\":\"cpu\",\"ts\":"
                                 "1700000000123,\"session\":\"s1\",\"seq\":42,"
                                 "\"interval\":1.5,\"data\":{\"x\":1}}");
    struct hp_msg *p = hp_msg_parse(m->json, m->len);
    assert_non_null(p);
    assert_string_equal(p->reporter, "cpu");
    assert_int_equal(p->seq, 42);
    assert_int_equal(p->ts_ms, 1700000000123);
    assert_null(hp_msg_parse("{\"v\":1}", 7));
    assert_null(hp_msg_parse("not json", 8));
    hp_msg_unref(p);
    hp_msg_unref(m);
}

/* hp_msg_wrap writes, byte for byte, what the envelope tree serializes:
 * hostile host names, sessions and labels (escaped once, by json-c), no
 * labels, an empty label list, odd intervals, extreme ts and seq. */
static void wrapped_envelope_is_the_trees(void **state)
{
    (void)state;
    static const char *const no_labels[] = {NULL};
    static const char *const one_name[] = {"dc", NULL}; /* a name without a value */
    static const char *const labels[] = {"dc", "fra\"1\\", "role", "db/\u00e9\x01\n", NULL};
    static const struct hp_envelope ids[] = {
        {.host = "h1", .session = "s1"},
        {.host = "a\"b\\c/d\te\x7f\xc3\xa9", .session = "", .labels = labels},
        {.host = "", .session = "5f0c2a9e-6d2b-4a47-9c1e-0b8f1d2e3a4b", .labels = no_labels},
        {.host = "h", .session = "s", .labels = one_name},
    };
    static const double intervals[] = {1.5, 0, 0.1, 1.2345, 60, 1e13, -2.5, NAN, INFINITY};
    static const int64_t ts[] = {1700000000123, 0, -1, INT64_MAX, INT64_MIN};
    static const uint64_t seqs[] = {1, 0, 42, UINT64_MAX};
    static const char *const reporters[] = {"cpu", "exec.my-check_1", "bad\"name"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct hp_envelope_text t;
        hp_envelope_text_init(&t, &ids[i]);
        assert_non_null(t.host);
        for (size_t k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++) {
            size_t j = k % 5, q = k % 4, r = k % 3;
            json_object *data = json_object_new_object();
            hp_json_add_int(data, "x", (int64_t)k);
            hp_json_add_string(data, "s", "/\"\u00e9");
            size_t dl = 0;
            const char *d = json_object_to_json_string_length(
                data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &dl);
            struct hp_msg *got = hp_msg_wrap(&t, reporters[r], seqs[q], ts[j], intervals[k], d, dl);
            json_object *e = hp_envelope_new(&ids[i], reporters[r], ts[j], seqs[q], intervals[k],
                                             json_object_get(data));
            struct hp_msg *want = hp_msg_from_json(e, reporters[r], seqs[q], ts[j]);
            json_object_put(e);
            json_object_put(data);
            assert_non_null(got);
            assert_non_null(want);
            assert_string_equal(got->json, want->json);
            assert_int_equal(got->len, want->len);
            assert_string_equal(got->host, want->host);
            assert_string_equal(got->session, want->session);
            assert_string_equal(got->reporter, want->reporter);
            assert_int_equal(got->seq, want->seq);
            assert_int_equal(got->ts_ms, want->ts_ms);
            hp_msg_unref(got);
            hp_msg_unref(want);
            n++;
        }
        hp_envelope_text_fini(&t);
    }
    assert_int_equal(n, 36);
}

static void urls_are_redacted(void **state)
{
    (void)state;
    char out[128];
    hp_redact_url("amqp://user:s3cret@host:5672/vh", out, sizeof(out));
    assert_string_equal(out, "amqp://user:***@host:5672/vh");
    hp_redact_url("amqp://host:5672/", out, sizeof(out));
    assert_string_equal(out, "amqp://host:5672/");
    hp_redact_url("amqps://user@host/", out, sizeof(out));
    assert_string_equal(out, "amqps://user@host/");
    /* Every form that once leaked: no '@', '@' or '/' in the password,
     * percent-encoding, lists, query-string secrets. */
    static const char *const cases[][2] = {
        {"amqp://user:s3cret", "amqp://user:***"},
        {"amqp://guest:5672/vh", "amqp://guest:5672/vh"},
        {"amqp://user:p@ss@host/vh", "amqp://user:***@host/vh"},
        {"http://user:pa/ss@host:9200", "http://user:***@host:9200"},
        {"http://user:p%40ss%3A@host/", "http://user:***@host/"},
        {"amqp://a:s3cret@h1,amqp://b:s3cret@h2", "amqp://a:***@h1,amqp://b:***@h2"},
        {"amqp://a:s3,cret@h1 amqps://b:s3cret@h2", "amqp://a:***@h1 amqps://b:***@h2"},
        {"http://h/?user=x&password=s3cret&a=1", "http://h/?user=x&password=***&a=1"},
        {"http://h/?api_key=s3cret", "http://h/?api_key=***"},
        {"https://u:s3cret@h/x?token=s3cret#f", "https://u:***@h/x?token=***#f"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hp_redact_url(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
        assert_null(strstr(out, "s3"));
    }
    hp_redact_url("amqp://user:s3cret@host", out, 12); /* truncated, still terminated */
    assert_string_equal(out, "amqp://user");
}

/* The struct a bound table fills: every storage type once. */
struct bound {
    bool on;
    int64_t count;
    double ratio;
    const char *name;
    int colour;
    const config_setting_t *tags, *nested;
};
static const struct hp_opt bound_table[] = {
    {.name = "on", .type = HP_OPT_BOOL, .def = "true", HP_AT_BOOL(struct bound, on)},
    {.name = "count", .type = HP_OPT_INT, .def = "7", HP_AT_INT(struct bound, count)},
    {.name = "ratio", .type = HP_OPT_FLOAT, .def = "0.5", HP_AT_FLOAT(struct bound, ratio)},
    {.name = "name", .type = HP_OPT_STRING, .def = "anon", HP_AT_STR(struct bound, name)},
    {.name = "colour",
     .type = HP_OPT_ENUM,
     .def = "red",
     .choices = colours,
     HP_AT_ENUM(struct bound, colour)},
    {.name = "tags", .type = HP_OPT_STRINGS, HP_AT_SET(struct bound, tags)},
    {.name = "nested", .type = HP_OPT_GROUP, .sub = inner, HP_AT_SET(struct bound, nested)},
    {0},
};

/* hp_opts_load is the only reader: values as given (an int where a float
 * goes, a single string as a one-element list), defaults where absent. */
static void load_reads_values_and_defaults(void **state)
{
    (void)state;
    config_t cfg;
    config_init(&cfg);
    assert_int_equal(config_read_string(&cfg, "count = 9;\nratio = 1;\ntags = \"solo\";\n"),
                     CONFIG_TRUE);
    struct bound b;
    memset(&b, 0, sizeof(b));
    hp_opts_load(config_root_setting(&cfg), bound_table, &b);
    assert_int_equal(b.count, 9);
    assert_true(b.ratio == 1.0); /* an int where a float goes */
    assert_true(b.on);           /* default */
    assert_int_equal(b.colour, 0);
    assert_string_equal(colours[b.colour], "red");
    assert_int_equal(hp_strs_count(b.tags), 1);
    assert_string_equal(hp_strs_at(b.tags, 0), "solo");
    assert_null(hp_strs_at(b.tags, 1));
    hp_opts_load(NULL, bound_table, &b); /* no group: defaults */
    assert_int_equal(b.count, 7);
    assert_true(b.ratio == 0.5);
    config_destroy(&cfg);
}

/* Where a message about an option points: its own line, a nested one by
 * its path, else the group (a default has no line of its own). */
static void setting_at_points_to_the_line(void **state)
{
    (void)state;
    config_t cfg;
    config_init(&cfg);
    assert_int_equal(config_read_string(&cfg, "count = 9;\nnested = {\n  depth = 4;\n};\n"),
                     CONFIG_TRUE);
    const config_setting_t *g = config_root_setting(&cfg);
    assert_int_equal(config_setting_source_line(hp_setting_at(g, "count")), 1);
    assert_int_equal(config_setting_source_line(hp_setting_at(g, "nested.depth")), 3);
    assert_ptr_equal(hp_setting_at(g, "ratio"), g);
    assert_null(hp_setting_at(NULL, "count"));
    config_destroy(&cfg);
}

static void load_fills_bound_fields(void **state)
{
    (void)state;
    config_t cfg;
    config_init(&cfg);
    assert_int_equal(config_read_string(&cfg, "count = 9;\nratio = 1;\ncolour = \"green\";\n"
                                              "tags = [\"a\", \"b\"];\n"),
                     CONFIG_TRUE);
    struct bound b;
    memset(&b, 0xff, sizeof(b));
    hp_opts_load(config_root_setting(&cfg), bound_table, &b);
    assert_true(b.on);
    assert_int_equal(b.count, 9);
    assert_true(b.ratio == 1.0);
    assert_string_equal(b.name, "anon");
    assert_int_equal(b.colour, 1);
    assert_int_equal(hp_strs_count(b.tags), 2);
    assert_string_equal(hp_strs_at(b.tags, 1), "b");
    assert_null(b.nested);
    hp_opts_load(NULL, bound_table, &b); /* no group: every default */
    assert_int_equal(b.count, 7);
    assert_int_equal(b.colour, 0);
    assert_null(b.tags);
    config_destroy(&cfg);
}

/* A scalar row without a default keeps the owner's preset when absent. */
struct preset {
    bool on;
    double every;
    int pick;
};
static const char *const picks[] = {"a", "b", NULL};
static const struct hp_opt preset_table[] = {
    {.name = "on", .type = HP_OPT_BOOL, HP_AT_BOOL(struct preset, on)},
    {.name = "every", .type = HP_OPT_FLOAT, HP_AT_FLOAT(struct preset, every)},
    {.name = "pick", .type = HP_OPT_ENUM, .choices = picks, HP_AT_ENUM(struct preset, pick)},
    {0},
};

static void load_keeps_presets_without_default(void **state)
{
    (void)state;
    config_t cfg;
    config_init(&cfg);
    assert_int_equal(config_read_string(&cfg, "every = 2.5;\n"), CONFIG_TRUE);
    struct preset p = {.on = true, .every = 9.0, .pick = -1};
    hp_opts_load(config_root_setting(&cfg), preset_table, &p);
    assert_true(p.on);            /* absent: preset kept */
    assert_true(p.every == 2.5);  /* given */
    assert_int_equal(p.pick, -1); /* absent: preset kept */
    assert_int_equal(config_read_string(&cfg, "on = false;\npick = \"b\";\n"), CONFIG_TRUE);
    hp_opts_load(config_root_setting(&cfg), preset_table, &p);
    assert_false(p.on);
    assert_int_equal(p.pick, 1);
    config_destroy(&cfg);
}

static void identifiers(void **state)
{
    (void)state;
    assert_true(hp_is_identifier("amqp-1.main_x", 32));
    assert_true(hp_is_identifier("a", 2));
    assert_false(hp_is_identifier("ab", 2)); /* max counts the NUL */
    assert_false(hp_is_identifier("", 32));
    assert_false(hp_is_identifier(NULL, 32));
    assert_false(hp_is_identifier("..", 32));
    assert_false(hp_is_identifier("a..b", 32));
    assert_false(hp_is_identifier("a/b", 32));
    assert_false(hp_is_identifier("a b", 32));
    assert_false(hp_is_identifier("caf\xc3\xa9", 32));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_matches_printf),
        cmocka_unit_test(wrapped_envelope_is_the_trees),
        cmocka_unit_test(valid_group_has_no_errors),
        cmocka_unit_test(each_error_class_names_its_line),
        cmocka_unit_test(missing_required),
        cmocka_unit_test(load_reads_values_and_defaults),
        cmocka_unit_test(setting_at_points_to_the_line),
        cmocka_unit_test(load_fills_bound_fields),
        cmocka_unit_test(load_keeps_presets_without_default),
        cmocka_unit_test(identifiers),
        cmocka_unit_test(numbers_are_short_and_finite),
        cmocka_unit_test(integers_print_every_digit),
        cmocka_unit_test(envelope_round_trip),
        cmocka_unit_test(urls_are_redacted),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
