/* SPDX-License-Identifier: Apache-2.0 */
/* test_mysql.c -- the MySQL sink without a server: identifier checks, the
 * generated SQL text, and option validation in init() (no I/O). The sink
 * against a real MariaDB is tested by tests/integration/test_mysql.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transport/sinks/mysql/mysql_schema.h"
#include "transport/sinks/mysql/mysql_tls.h"
#include "transport/sink.h"

static void identifiers(void **state)
{
    (void)state;
    assert_true(hp_mysql_ident_ok("hp_", 24, true));
    assert_true(hp_mysql_ident_ok("", 24, true));
    assert_false(hp_mysql_ident_ok("", 24, false));
    assert_true(hp_mysql_ident_ok("Cpu_2", 24, false));
    assert_false(hp_mysql_ident_ok("a`b", 24, false));
    assert_false(hp_mysql_ident_ok("a-b", 24, false));
    assert_false(hp_mysql_ident_ok("a b", 24, false));
    assert_false(hp_mysql_ident_ok("abcdef", 5, false));
}

/* TLS by default to anything not on this host, decided on the resolved
 * address; plaintext there only when asked for. */
static void tls_decision(void **state)
{
    (void)state;
    assert_true(hp_mysql_is_local("localhost", ""));
    assert_true(hp_mysql_is_local("db.example", "/run/mysqld/mysqld.sock"));
    assert_true(hp_mysql_is_local("127.0.0.1", ""));
    assert_true(hp_mysql_is_local("127.0.0.2", ""));
    assert_true(hp_mysql_is_local("::1", ""));
    assert_true(hp_mysql_is_local("::ffff:127.0.0.1", ""));
    assert_false(hp_mysql_is_local("10.1.2.3", ""));
    assert_false(hp_mysql_is_local("192.0.2.1", ""));
    assert_false(hp_mysql_is_local("2001:db8::1", ""));
    assert_false(hp_mysql_is_local("128.0.0.1", ""));
    assert_false(hp_mysql_is_local("no-such-host.invalid", "")); /* unknown: remote */
    assert_true(hp_mysql_tls_required(false, false, false));     /* the default, remote */
    assert_false(hp_mysql_tls_required(false, false, true));     /* explicit plaintext */
    assert_false(hp_mysql_tls_required(false, true, false));     /* loopback */
    assert_true(hp_mysql_tls_required(true, true, false));       /* asked for */
    assert_true(hp_mysql_tls_required(true, false, true));
}

static void insert_text(void **state)
{
    (void)state;
    char buf[512];
    size_t n = hp_mysql_reporter_insert(buf, sizeof(buf), "hp_", "cpu", 2);
    const char *want = "INSERT INTO `hp_cpu` (`host`, `session`, `seq`, `ts_ms`, `ts_dt`, `data`) "
                       "VALUES (?,?,?,?,?,?),(?,?,?,?,?,?) ON DUPLICATE KEY UPDATE `id` = `id`";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(hp_mysql_reporter_insert(buf, 100, "hp_", "cpu", 2), 0);
    assert_int_equal(hp_mysql_reporter_insert(buf, sizeof(buf), "hp_", "cpu", 0), 0);
    /* 64 rows (the largest statement the sink prepares) fit its buffer. */
    char big[2048];
    assert_true(hp_mysql_reporter_insert(big, sizeof(big), "abcdefghijklmnopqrstuvwx",
                                         "abcdefghijklmnopqrstuvwxyz01234", 64) > 0);
    n = hp_mysql_sessions_insert(buf, sizeof(buf), "x_");
    assert_true(n > 0 && strstr(buf, "INSERT INTO `x_sessions`"));
    size_t qmarks = 0;
    for (const char *p = buf; *p; p++)
        qmarks += *p == '?';
    assert_int_equal(qmarks, HP_MYSQL_SESSION_COLS);
}

static void ddl_text(void **state)
{
    (void)state;
    char buf[2048];
    assert_true(hp_mysql_reporter_ddl(buf, sizeof(buf), "p_", "uptime") > 0);
    assert_non_null(strstr(buf, "CREATE TABLE IF NOT EXISTS `p_uptime`"));
    assert_non_null(strstr(buf, "UNIQUE KEY `message` (`host`, `session`, `seq`)"));
    assert_non_null(strstr(buf, "`ts_ms` BIGINT NOT NULL"));
    assert_non_null(strstr(buf, "KEY `time` (`ts_dt`)"));
    assert_non_null(strstr(buf, "`uptime` DOUBLE AS (JSON_VALUE(`data`, '$.uptime')) VIRTUAL"));
    assert_non_null(strstr(buf, "KEY `uptime` (`uptime`)"));
    /* every generated column of the largest table, and a reporter without any */
    assert_true(hp_mysql_reporter_ddl(buf, sizeof(buf), "p_", "cpu") > 0);
    assert_non_null(strstr(buf, "`load1` DOUBLE AS (JSON_VALUE(`data`, '$.load1')) VIRTUAL"));
    assert_non_null(strstr(buf, "KEY `percent` (`percent`)"));
    assert_null(strstr(buf, "KEY `load1`"));
    assert_true(hp_mysql_reporter_ddl(buf, sizeof(buf), "p_", "ipaddr") > 0);
    assert_null(strstr(buf, "VIRTUAL"));
    assert_int_equal(hp_mysql_reporter_ddl(buf, 300, "p_", "cpu"), 0);
    assert_true(hp_mysql_sessions_ddl(buf, sizeof(buf), "p_") > 0);
    assert_non_null(strstr(buf, "CREATE TABLE IF NOT EXISTS `p_sessions`"));
    assert_int_equal(hp_mysql_sessions_ddl(buf, 10, "p_"), 0);
}

struct captured {
    char text[1024];
};

static void capture(void *ud, const char *line)
{
    struct captured *c = ud;
    strncat(c->text, line, sizeof(c->text) - strlen(c->text) - 2);
    strcat(c->text, "\n");
}

/* init() of a sink configured by text; returns its result, errors in c. */
static int init_with(const char *text, struct captured *c, struct hp_sink *s, config_t *cfg)
{
    memset(s, 0, sizeof(*s));
    memset(c, 0, sizeof(*c));
    snprintf(s->name, sizeof(s->name), "db");
    s->ops = hp_sink_find("mysql");
    assert_non_null(s->ops);
    config_init(cfg);
    assert_int_equal(config_read_string(cfg, text), CONFIG_TRUE);
    const config_setting_t *g = config_lookup(cfg, "sink");
    struct hp_errs errs = {.fallback_file = "test.conf", .emit = capture, .ud = c};
    assert_int_equal(hp_opts_check(g, s->ops->opts, NULL, &errs) == 0, 1);
    return hp_sink_setup(s, s->ops, g, NULL, &errs);
}

static void options(void **state)
{
    (void)state;
    struct captured c;
    struct hp_sink s;
    config_t cfg;
    assert_int_equal(init_with("sink: { password = \"pw\"; };", &c, &s, &cfg), 0);
    assert_string_equal(c.text, "");
    hp_sink_teardown(&s);
    config_destroy(&cfg);

    assert_int_equal(init_with("sink: { table_prefix = \"a-b\"; };", &c, &s, &cfg), -1);
    assert_non_null(strstr(c.text, "test.conf:1: sink db: table_prefix must be"));
    hp_sink_teardown(&s);
    config_destroy(&cfg);

    assert_int_equal(init_with("sink: { host = \"h\";\n socket = \"/s\"; };", &c, &s, &cfg), -1);
    assert_non_null(strstr(c.text, "test.conf:2: sink db: set either host (TCP) or socket"));
    hp_sink_teardown(&s);
    config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identifiers), cmocka_unit_test(tls_decision),
        cmocka_unit_test(insert_text), cmocka_unit_test(ddl_text),
        cmocka_unit_test(options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
