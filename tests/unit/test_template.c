/* SPDX-License-Identifier: Apache-2.0 */
/* test_template.c -- lib/template: the one expander of routing keys,
 * topics, index names and file paths. Every placeholder expands from the
 * message's identity; an unknown or disallowed placeholder is refused at
 * compile time with a reason naming it; time conversions apply only where
 * the owner allows them; a result that does not fit is an error. Also
 * hp_msg's identity (host, session) from hp_msg_parse and hp_msg_from_json,
 * which the expander is fed with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/msg.h"
#include "lib/opts.h"
#include "lib/template.h"

#define ALL (HP_TMPL_HOST | HP_TMPL_REPORTER | HP_TMPL_SESSION)
#define DAY 1763769599900LL /* 2025-11-21T23:59:59.900Z */

static const struct hp_tmpl_vars vars = {
    .host = "web01", .reporter = "cpu", .session = "5f0c", .ts_ms = DAY, .sink = "mq"};

static const char *expand(const char *text, unsigned allowed, char *buf, size_t len)
{
    struct hp_tmpl t;
    char why[200];
    assert_int_equal(hp_tmpl_compile(&t, text, allowed, why, sizeof(why)), 0);
    assert_true(hp_tmpl_expand(&t, &vars, buf, len) >= 0);
    return buf;
}

static void placeholders(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(expand("hp.{host}.{reporter}.{session}", ALL, buf, sizeof(buf)),
                        "hp.web01.cpu.5f0c");
    assert_string_equal(expand("plain", ALL, buf, sizeof(buf)), "plain");
    assert_string_equal(expand("", ALL, buf, sizeof(buf)), "");
    /* Without HP_TMPL_TIME a % is an ordinary character. */
    assert_string_equal(expand("{host}%Y", ALL, buf, sizeof(buf)), "web01%Y");
}

static void time_conversions(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(expand("hp-{reporter}-%Y.%m.%d", ALL | HP_TMPL_TIME, buf, sizeof(buf)),
                        "hp-cpu-2025.11.21");
    assert_string_equal(expand("/var/x/%H%M%S-100%%", HP_TMPL_TIME, buf, sizeof(buf)),
                        "/var/x/235959-100%");
    struct hp_tmpl t;
    char why[200];
    assert_int_equal(hp_tmpl_compile(&t, "hp-%B", HP_TMPL_TIME, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "strftime conversions"));
    assert_int_equal(hp_tmpl_compile(&t, "hp-%", HP_TMPL_TIME, why, sizeof(why)), -1);
    assert_int_equal(hp_tmpl_compile(&t, "%Y{host}", ALL | HP_TMPL_TIME, why, sizeof(why)), 0);
    assert_true(t.uses & HP_TMPL_TIME && t.uses & HP_TMPL_HOST && !(t.uses & HP_TMPL_REPORTER));
}

static void unknown_and_disallowed_are_errors(void **state)
{
    (void)state;
    struct hp_tmpl t;
    char why[200];
    assert_int_equal(hp_tmpl_compile(&t, "x.{hots}", ALL, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "unknown placeholder {hots}"));
    assert_non_null(strstr(why, "{host}, {reporter}, {session}"));
    assert_int_equal(hp_tmpl_compile(&t, "x.{host", ALL, why, sizeof(why)), -1);
    /* A binding key has no reporter: {reporter} is refused, not left literal. */
    assert_int_equal(
        hp_tmpl_compile(&t, "{host}.{reporter}", HP_TMPL_HOST | HP_TMPL_SESSION, why, sizeof(why)),
        -1);
    assert_non_null(strstr(why, "disallowed placeholder {reporter}"));
    assert_int_equal(hp_tmpl_compile(&t, "{}", ALL, why, sizeof(why)), -1);
}

/* {sink} (an MQTT client id) is a placeholder only where its owner allows it. */
static void sink_placeholder(void **state)
{
    (void)state;
    char buf[128], why[200];
    assert_string_equal(
        expand("hostpulse-{host}-{sink}", HP_TMPL_HOST | HP_TMPL_SINK, buf, sizeof(buf)),
        "hostpulse-web01-mq");
    struct hp_tmpl t;
    assert_int_equal(hp_tmpl_compile(&t, "{host}/{sink}", ALL, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "disallowed placeholder {sink}"));
    assert_int_equal(
        hp_tmpl_compile(&t, "{reporter}", HP_TMPL_HOST | HP_TMPL_SINK, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "use {host}, {sink}"));
}

static char err_line[256];
static void keep(void *ud, const char *line)
{
    (void)ud;
    snprintf(err_line, sizeof(err_line), "%s", line);
}

/* A template option that does not compile is a FILE:LINE error at its own
 * setting (a nested one by its path), naming the sink, key and reason. */
static void option_errors_name_their_line(void **state)
{
    (void)state;
    config_t cfg;
    config_init(&cfg);
    assert_int_equal(config_read_string(&cfg, "a = 1;\ntopic = \"x/{hots}\";\n"
                                              "queue = {\n  binding = \"{reporter}\";\n};\n"),
                     CONFIG_TRUE);
    const config_setting_t *g = config_root_setting(&cfg);
    struct hp_errs e = {.fallback_file = "t.conf", .emit = keep};
    struct hp_tmpl t;
    assert_int_equal(hp_tmpl_compile_opt(&t, "x/{host}", ALL, g, "topic", "mq", &e), 0);
    assert_int_equal(e.count, 0);
    assert_int_equal(hp_tmpl_compile_opt(&t, "x/{hots}", ALL, g, "topic", "mq", &e), -1);
    assert_string_equal(err_line, "t.conf:2: sink mq: topic \"x/{hots}\": unknown placeholder "
                                  "{hots}; use {host}, {reporter}, {session}");
    assert_int_equal(
        hp_tmpl_compile_opt(&t, "{reporter}", HP_TMPL_HOST, g, "queue.binding", "q", &e), -1);
    assert_non_null(strstr(err_line, "t.conf:4: sink q: queue.binding \"{reporter}\""));
    assert_int_equal(e.count, 2);
    config_destroy(&cfg);
}

static void too_long_is_an_error(void **state)
{
    (void)state;
    struct hp_tmpl t;
    char why[200], buf[8];
    assert_int_equal(hp_tmpl_compile(&t, "{host}{host}", ALL, why, sizeof(why)), 0);
    assert_int_equal(hp_tmpl_expand(&t, &vars, buf, sizeof(buf)), -1);
    assert_int_equal(hp_tmpl_compile(&t, "{host}", ALL, why, sizeof(why)), 0);
    assert_int_equal(hp_tmpl_expand(&t, &vars, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "web01");
    struct hp_tmpl_vars none = {0};
    assert_int_equal(hp_tmpl_expand(&t, &none, buf, sizeof(buf)), 0); /* NULL reads as "" */
}

static void messages_carry_their_identity(void **state)
{
    (void)state;
    const char *json = "{\"v\":1,\"host\":\"h\\\"1\",\"reporter\":\"cpu\",\"ts\":5,"
                       "\"session\":\"s-1\",\"seq\":7,\"interval\":1,\"data\":{}}";
    struct hp_msg *m = hp_msg_parse(json, strlen(json));
    assert_non_null(m);
    assert_string_equal(m->host, "h\"1");
    assert_string_equal(m->session, "s-1");
    assert_string_equal(m->reporter, "cpu");
    assert_int_equal(m->seq, 7);
    assert_string_equal(m->json, json);
    hp_msg_unref(m);

    struct hp_envelope env = {.host = "web01", .session = "5f0c"};
    json_object *o = hp_envelope_new(&env, "mem", 9, 3, 1.0, json_object_new_object());
    m = hp_msg_from_json(o, "mem", 3, 9);
    json_object_put(o);
    assert_non_null(m);
    assert_string_equal(m->host, "web01");
    assert_string_equal(m->session, "5f0c");
    hp_msg_unref(m);

    m = hp_msg_new("t", 1, 0, "{}", 2); /* no identity: empty strings */
    assert_string_equal(m->host, "");
    assert_string_equal(m->session, "");
    hp_msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(placeholders),
        cmocka_unit_test(time_conversions),
        cmocka_unit_test(unknown_and_disallowed_are_errors),
        cmocka_unit_test(sink_placeholder),
        cmocka_unit_test(option_errors_name_their_line),
        cmocka_unit_test(too_long_is_an_error),
        cmocka_unit_test(messages_carry_their_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
