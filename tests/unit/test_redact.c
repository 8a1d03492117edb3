/* SPDX-License-Identifier: Apache-2.0 */
/* test_redact.c -- secrets in command lines: the default expressions hide
 * the values of password=, token=, --password X, JSON and base64 blobs and
 * keep the rest; a configured list replaces them; a bad expression is a
 * FILE:LINE error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reporters/redact.h"

static void expect(const struct hp_redact *r, const char *in, const char *want)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", in);
    hp_redact_apply(r, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("redacting\n  %s\ngave\n  %s\nnot\n  %s", in, buf, want);
}

static void defaults(void **state)
{
    (void)state;
    struct hp_errs e = {0};
    struct hp_redact r;
    assert_int_equal(hp_redact_init(&r, NULL, "reporters.process.cmdline_redact", &e), 0);
    expect(&r, "mysqld --user=mysql --port=3306", "mysqld --user=mysql --port=3306");
    expect(&r, "app --db-password=hunter2 -v", "app --db-password=*** -v");
    expect(&r, "curl -H token:abc123 http://x", "curl -H token:*** http://x");
    expect(&r, "app PASSWORD=s3cret", "app PASSWORD=***");
    expect(&r, "app --password hunter2 --verbose", "app --password *** --verbose");
    expect(&r, "app -token abc --x", "app -token *** --x");
    expect(&r, "runner {\"AWS_KEY\": \"x\", \"DB\": \"y\"} --go", "runner *** --go");
    expect(&r, "agent --key dGhpcyBpcyBhIHNlY3JldCBrZXkgb2YgNDAgYnl0ZXM=", "agent --key ***");
    expect(&r, "/usr/lib/jvm/java-17-openjdk-amd64/bin/java -jar /opt/a/b.jar",
           "/usr/lib/jvm/java-17-openjdk-amd64/bin/java -jar /opt/a/b.jar");
    expect(&r, "", "");
    hp_redact_fini(&r);
    assert_int_equal(e.count, 0);
}

static void configured_list_and_errors(void **state)
{
    (void)state;
    config_t lc;
    config_init(&lc);
    assert_true(config_read_string(&lc, "a = [ \"pin ([0-9]+)\", \"secret\" ];\n"
                                        "b = [ \"(unclosed\" ];\n"));
    struct hp_errs e = {.fallback_file = "t.conf"};
    struct hp_redact r;
    assert_int_equal(hp_redact_init(&r, config_lookup(&lc, "a"), "x.cmdline_redact", &e), 0);
    expect(&r, "lock pin 1234 secret password=x", "lock pin *** *** password=x");
    hp_redact_fini(&r);
    assert_int_equal(hp_redact_init(&r, config_lookup(&lc, "b"), "x.cmdline_redact", &e), -1);
    assert_int_equal(e.count, 1);
    config_destroy(&lc);
}

static void long_result_is_cut(void **state)
{
    (void)state;
    config_t lc;
    config_init(&lc);
    assert_true(config_read_string(&lc, "a = [ \"x\" ];\n"));
    struct hp_errs e = {0};
    struct hp_redact r;
    assert_int_equal(hp_redact_init(&r, config_lookup(&lc, "a"), "a", &e), 0);
    char buf[8] = "xxxxxxx";
    assert_int_equal(hp_redact_apply(&r, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "*******");
    hp_redact_fini(&r);
    config_destroy(&lc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(configured_list_and_errors),
        cmocka_unit_test(long_result_is_cut),
    };
    return cmocka_run_group_tests_name("redact", tests, NULL, NULL);
}
