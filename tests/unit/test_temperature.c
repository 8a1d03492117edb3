/* SPDX-License-Identifier: Apache-2.0 */
/* test_temperature.c -- the temperature reporter: which input stands for
 * the cpu, the option check, and the reporter's ops against a fake hwmon
 * tree (a tmpfs over /sys/class in a private mount namespace of a child
 * process; skipped where that cannot be set up). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/config.h"
#include "reporters/reporter.h"
#include "reporters/temperature.h"

extern const struct hp_reporter_ops hp_reporter_temperature;

#define R(p, l, v)                                                                                 \
    {                                                                                              \
        .prefix = p, .label = l, .value = v, .ok = 1                                               \
    }

static void cpu_summary(void **state)
{
    (void)state;
    struct hp_temp_reading intel[] = {R("acpitz", "temp1", 90), R("coretemp", "Core 0", 70),
                                      R("coretemp", "Package id 0", 50),
                                      R("coretemp", "Package id 1", 55)};
    assert_int_equal(hp_temp_cpu_index(intel, 4), 3);
    struct hp_temp_reading amd[] = {R("k10temp", "Tctl", 60), R("k10temp", "Tdie", 50),
                                    R("nvme", "Composite", 40)};
    assert_int_equal(hp_temp_cpu_index(amd, 3), 1);
    assert_int_equal(hp_temp_cpu_index(amd, 1), 0); /* Tctl alone */
    struct hp_temp_reading cores[] = {R("coretemp", "Core 0", 41), R("coretemp", "Core 1", 45),
                                      R("coretemp", "Core 2", 43)};
    assert_int_equal(hp_temp_cpu_index(cores, 3), 1);
    struct hp_temp_reading arm[] = {R("nvme", "Composite", 40), R("cpu_thermal", "temp1", 48)};
    assert_int_equal(hp_temp_cpu_index(arm, 2), 1);
    struct hp_temp_reading none[] = {R("acpitz", "temp1", 27), R("nvme", "Composite", 40)};
    assert_int_equal(hp_temp_cpu_index(none, 2), -1);
    struct hp_temp_reading unread[] = {R("coretemp", "Package id 0", 0),
                                       R("coretemp", "Core 0", 44)};
    unread[0].ok = 0;
    assert_int_equal(hp_temp_cpu_index(unread, 2), 1);
}

static void collect(void *ud, const char *line)
{
    snprintf(ud, 512, "%s", line);
}

static void bad_config_file(void **state)
{
    (void)state;
    config_t cfg;
    config_init(&cfg);
    assert_int_equal(
        config_read_string(&cfg, "temperature: {\n config = \"/nonexistent/s.conf\"; };"),
        CONFIG_TRUE);
    char msg[512] = "";
    struct hp_errs e = {.fallback_file = "test.conf", .emit = collect, .ud = msg};
    struct hp_reporter r = {
        .ops = &hp_reporter_temperature, .proc_root = "/proc", .sys_root = "/sys"};
    assert_int_equal(hp_reporter_temperature.init(&r, config_lookup(&cfg, "temperature"), &e), -1);
    assert_non_null(strstr(msg, "test.conf:2: reporters.temperature.config: cannot open"));
    hp_reporter_temperature.fini(&r);
    config_destroy(&cfg);
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        _exit(3);
}

/* In the child: a fake /sys/class/hwmon with a coretemp and an acpitz chip,
 * then one sample written to fd out. Exit 2: namespace not available. */
static void child(int out)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("hp-hwmon", "/sys/class", "tmpfs", 0, NULL) != 0)
        _exit(2);
    if (mkdir("/sys/class/hwmon", 0755) || mkdir("/sys/class/hwmon/hwmon0", 0755) ||
        mkdir("/sys/class/hwmon/hwmon1", 0755))
        _exit(3);
    const char *c = "/sys/class/hwmon/hwmon0";
    put(c, "name", "coretemp\n");
    put(c, "temp1_input", "52000\n");
    put(c, "temp1_label", "Package id 0\n");
    put(c, "temp1_max", "84000\n");
    put(c, "temp1_crit", "100000\n");
    put(c, "temp2_input", "49500\n");
    put(c, "temp2_label", "Core 0\n");
    put("/sys/class/hwmon/hwmon1", "name", "acpitz\n");
    put("/sys/class/hwmon/hwmon1", "temp1_input", "27800\n");
    struct hp_errs e = {0};
    struct hp_reporter r = {
        .ops = &hp_reporter_temperature, .proc_root = "/proc", .sys_root = "/sys"};
    struct hp_buf text = {0};
    if (hp_reporter_temperature.init(&r, NULL, &e) != 0 || hp_reporter_write(&r, &text) != 0)
        _exit(4);
    if (write(out, text.p, text.len) < 0 || write(out, "\n", 1) < 0)
        _exit(5);
    /* the package input disappears (driver unloaded): its value goes */
    if (unlink("/sys/class/hwmon/hwmon0/temp1_input") != 0)
        _exit(3);
    if (hp_reporter_write(&r, &text) != 0)
        _exit(4);
    if (write(out, text.p, text.len) < 0)
        _exit(5);
    hp_buf_free(&text);
    hp_reporter_temperature.fini(&r);
    _exit(0);
}

static void fake_hwmon(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        printf("# skip: needs root for a private mount namespace\n");
        fflush(stdout);
        skip();
    }
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child(fds[1]);
    }
    close(fds[1]);
    char buf[4096] = "";
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
        printf("# skip: no private mount namespace on this machine\n");
        fflush(stdout);
        skip();
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *second = strchr(buf, '\n');
    assert_non_null(second);
    *second++ = '\0';
    /* the writer's own bytes: what json-c would print for the same tree */
    assert_string_equal(
        buf,
        "{\"sensors\":["
        "{\"chip\":\"coretemp-virtual-0\",\"adapter\":\"Virtual device\",\"label\":\"Package id "
        "0\","
        "\"value\":52,\"high\":84,\"crit\":100},"
        "{\"chip\":\"coretemp-virtual-0\",\"adapter\":\"Virtual device\",\"label\":\"Core 0\","
        "\"value\":49.5},"
        "{\"chip\":\"acpitz-virtual-0\",\"adapter\":\"Virtual device\",\"label\":\"temp1\","
        "\"value\":27.8}],"
        "\"cpu\":52,\"cpu_sensor\":\"coretemp-virtual-0/Package id 0\"}");
    assert_string_equal(
        second,
        "{\"sensors\":["
        "{\"chip\":\"coretemp-virtual-0\",\"adapter\":\"Virtual device\",\"label\":\"Package id "
        "0\",\"high\":84,\"crit\":100},"
        "{\"chip\":\"coretemp-virtual-0\",\"adapter\":\"Virtual device\",\"label\":\"Core 0\","
        "\"value\":49.5},"
        "{\"chip\":\"acpitz-virtual-0\",\"adapter\":\"Virtual device\",\"label\":\"temp1\","
        "\"value\":27.8}],"
        "\"cpu\":49.5,\"cpu_sensor\":\"coretemp-virtual-0/Core 0\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_summary),
        cmocka_unit_test(bad_config_file),
        cmocka_unit_test(fake_hwmon),
    };
    return cmocka_run_group_tests_name("temperature", tests, NULL, NULL);
}
