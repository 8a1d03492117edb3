/* SPDX-License-Identifier: Apache-2.0 */
/* test_exec.c -- the exec reporter's parts: running a command with a
 * deadline and an output cap (real child processes), and the Prometheus
 * text parser, on good and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "reporters/exec_run.h"
#include "reporters/promtext.h"

static void runs_and_captures_stdout(void **state)
{
    (void)state;
    struct hp_exec_result r = {0};
    char *argv[] = {"/bin/sh", "-c", "echo '{\"a\":1}'; echo oops >&2", NULL};
    assert_int_equal(hp_exec_run(argv, 5, 4096, &r), HP_EXEC_OK);
    assert_string_equal(r.out.p, "{\"a\":1}\n");
    assert_string_equal(r.err_line, "oops");
    hp_buf_free(&r.out);
}

static void non_zero_exit_and_missing_program(void **state)
{
    (void)state;
    struct hp_exec_result r = {0};
    char *fail[] = {"/bin/sh", "-c", "exit 3", NULL};
    assert_int_equal(hp_exec_run(fail, 5, 4096, &r), HP_EXEC_FAILED);
    assert_int_equal(r.code, 3);
    char *missing[] = {"/nonexistent/prog", NULL};
    assert_int_equal(hp_exec_run(missing, 5, 4096, &r), HP_EXEC_NOTSTARTED);
    hp_buf_free(&r.out);
}

static void timeout_kills_the_whole_group(void **state)
{
    (void)state;
    struct hp_exec_result r = {0};
    /* The child's own child would keep the pipe open: both must die. */
    char *argv[] = {"/bin/sh", "-c", "sleep 30 & sleep 30", NULL};
    int64_t t0 = hp_mono_ns();
    assert_int_equal(hp_exec_run(argv, 0.3, 4096, &r), HP_EXEC_TIMEOUT);
    assert_true(hp_mono_ns() - t0 < 10 * 1000000000LL);
    hp_buf_free(&r.out);
}

static void flood_is_cut_at_the_cap(void **state)
{
    (void)state;
    struct hp_exec_result r = {0};
    char *argv[] = {"/bin/sh", "-c", "yes xxxxxxxx", NULL};
    assert_int_equal(hp_exec_run(argv, 10, 65536, &r), HP_EXEC_TOOBIG);
    assert_true(r.out.len <= 65536);
    hp_buf_free(&r.out);
}

static json_object *parse(const char *text, int want_rc, char *why)
{
    json_object *d = json_object_new_object();
    assert_int_equal(hp_promtext_parse(text, strlen(text), d, why, 200), want_rc);
    return d;
}

static void prometheus_text_samples(void **state)
{
    (void)state;
    char why[200] = "";
    json_object *d = parse("# HELP fan_rpm Fan speed.\n# TYPE fan_rpm gauge\nfan_rpm 1200\n"
                           "temp{sensor=\"a\",note=\"q\\\"x\\\\y\\nz\"} 41.5 1700000000000\n"
                           "temp{sensor=\"b\"} -2e1\nbad_value NaN\r\n\n",
                           0, why);
    assert_string_equal(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
                        "{\"fan_rpm\":1200.0,\"temp\":[{\"labels\":{\"sensor\":\"a\",\"note\":"
                        "\"q\\\"x\\\\y\\nz\"},\"value\":41.5},{\"labels\":{\"sensor\":\"b\"},"
                        "\"value\":-20.0}],\"bad_value\":null}");
    json_object_put(d);
}

static void prometheus_text_errors_name_the_line(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "ok 1\nnot a sample at all\n",
        "ok 1\nx{a=\"1\" 2\n",
        "ok 1\nx{a=1} 2\n",
        "ok 1\nx 1 2 3\n",
        "ok 1\n9lives 1\n",
        "ok 1\nx{a=\"\\q\"} 1\n",
        "ok 1\nx\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[200] = "";
        json_object_put(parse(bad[i], -1, why));
        assert_non_null(strstr(why, "line 2:"));
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_and_captures_stdout),
        cmocka_unit_test(non_zero_exit_and_missing_program),
        cmocka_unit_test(timeout_kills_the_whole_group),
        cmocka_unit_test(flood_is_cut_at_the_cap),
        cmocka_unit_test(prometheus_text_samples),
        cmocka_unit_test(prometheus_text_errors_name_the_line),
    };
    return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
