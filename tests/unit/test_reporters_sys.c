/* SPDX-License-Identifier: Apache-2.0 */
/* test_reporters_sys.c -- the system reporters (cpu, mem, net, uptime,
 * ipaddr, disk) called directly through their ops with proc_root/sys_root
 * pointed at the fixture trees of tests/fixtures (see its README for the
 * hand-computed values asserted here). Each reporter gets an exact-value
 * fixture test, a two-sample rate test (big-a, then big-b written over a
 * copy in place so the kept-open descriptors see it) and a missing-source
 * test. Rates are checked against bounds from the measured elapsed time.
 * Runs from the repository root (tests/run does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/msg.h"
#include "lib/opts.h"
#include "reporters/ipaddr.h"
#include "reporters/reporter.h"
#include "tests/unit/testutil.h"

#define BIG_A   "tests/fixtures/big-a"
#define BIG_B   "tests/fixtures/big-b"
#define CAPTURE "tests/fixtures/capture"

/* A reporter instance with its own parsed options. */
struct inst {
    struct hp_reporter r;
    config_t cfg;
    char proc[600], sys[600];
    char tmp[64]; /* copy of a fixture tree, removed at the end; "" when none */
};

static struct inst *inst_new(const char *name, const char *root, const char *opts)
{
    struct inst *in = calloc(1, sizeof(*in));
    assert_non_null(in);
    in->r.ops = hp_reporter_find(name);
    assert_non_null(in->r.ops);
    snprintf(in->proc, sizeof(in->proc), "%s/proc", root);
    snprintf(in->sys, sizeof(in->sys), "%s/sys", root);
    in->r.proc_root = in->proc;
    in->r.sys_root = in->sys;
    in->r.interval = 1.0;
    config_init(&in->cfg);
    char text[1024];
    snprintf(text, sizeof(text), "r: { %s };", opts ? opts : "");
    assert_int_equal(config_read_string(&in->cfg, text), CONFIG_TRUE);
    const config_setting_t *g = config_lookup(&in->cfg, "r");
    struct hp_errs errs = {.fallback_file = "test"};
    if (in->r.ops->opts)
        assert_int_equal(hp_opts_check(g, in->r.ops->opts, NULL, &errs), 0);
    assert_int_equal(in->r.ops->init(&in->r, g, &errs), 0);
    return in;
}

/* The same on a private copy of fixture tree src (for rewriting files). */
static struct inst *inst_copy(const char *name, const char *src, const char *opts)
{
    char tmp[64];
    assert_non_null(hp_test_copytree(tmp, sizeof(tmp), "fixture", src));
    struct inst *in = inst_new(name, tmp, opts);
    snprintf(in->tmp, sizeof(in->tmp), "%s", tmp);
    return in;
}

/* Write tree src over the copy, in place (cp truncates existing files, so
 * descriptors the reporter keeps open see the new content). */
static void overlay(struct inst *in, const char *src)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "cp -r %s/. %s/", src, in->tmp);
    assert_int_equal(system(cmd), 0);
}

static void remove_file(struct inst *in, const char *rel)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", in->tmp, rel);
    assert_int_equal(unlink(path), 0);
}

static void inst_free(struct inst *in)
{
    in->r.ops->fini(&in->r);
    config_destroy(&in->cfg);
    if (in->tmp[0])
        assert_int_equal(hp_test_rmtree(in->tmp), 0);
    free(in);
}

/* Sample into a new object; rc receives the return value. */
static json_object *sample_rc(struct inst *in, int *rc)
{
    json_object *d = json_object_new_object();
    *rc = hp_reporter_sample(&in->r, d);
    return d;
}

static json_object *sample(struct inst *in)
{
    int rc;
    json_object *d = sample_rc(in, &rc);
    assert_int_equal(rc, 0);
    return d;
}

/* Member at a '/'-separated path, NULL when absent. */
static json_object *at(json_object *o, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, "/", &save); k && o; k = strtok_r(NULL, "/", &save))
        if (!json_object_object_get_ex(o, k, &o))
            o = NULL;
    return o;
}

static double num(json_object *o, const char *path)
{
    json_object *v = at(o, path);
    if (!v)
        fail_msg("missing %s", path);
    return json_object_get_double(v);
}

static int64_t integer(json_object *o, const char *path)
{
    json_object *v = at(o, path);
    if (!v)
        fail_msg("missing %s", path);
    return json_object_get_int64(v);
}

#define assert_num(o, path, want) assert_float_equal(num(o, path), want, 1e-9)
#define assert_absent(o, path)    assert_null(at(o, path))
/* A value published rounded to 2 decimals (the json double keeps more). */
#define assert_pct(o, path, want) assert_float_equal(num(o, path), want, 0.005 + 1e-9)

/* Time bracket of a two-sample test: t[0] before sample 1, t[1] after it,
 * t[2] before sample 2, t[3] after it. The elapsed time the reporter used
 * lies in [t[2]-t[1], t[3]-t[0]]. */
struct bracket {
    int64_t t[4];
};

/* rate (rounded to 1 decimal) must equal delta / elapsed for some elapsed
 * in the bracket. */
static void assert_rate(json_object *o, const char *path, double delta, const struct bracket *b)
{
    double rate = num(o, path);
    double lo = delta / ((double)(b->t[3] - b->t[0]) / 1e9) - 0.06;
    double hi = delta / ((double)(b->t[2] - b->t[1]) / 1e9) + 0.06;
    if (rate < lo || rate > hi)
        fail_msg("%s = %f, want within [%f, %f]", path, rate, lo, hi);
}

/* Sample a copy of big-a, then big-b 100 ms later; returns the second. */
static json_object *two_samples(struct inst *in, struct bracket *b)
{
    b->t[0] = hp_mono_ns();
    json_object_put(sample(in));
    b->t[1] = hp_mono_ns();
    usleep(100000);
    overlay(in, BIG_B);
    b->t[2] = hp_mono_ns();
    json_object *d = sample(in);
    b->t[3] = hp_mono_ns();
    return d;
}

/* ---- cpu ---- */

static void cpu_fixture(void **state)
{
    (void)state;
    struct inst *in = inst_new("cpu", BIG_A, NULL);
    json_object *d = sample(in);
    double hz = (double)sysconf(_SC_CLK_TCK);
    assert_int_equal(integer(d, "count"), 64);
    assert_num(d, "times/user", 66016 / hz); /* 64 x 1000 + (0 + ... + 63) */
    assert_num(d, "times/nice", 640 / hz);
    assert_num(d, "times/system", 32000 / hz);
    assert_num(d, "times/idle", 512000 / hz);
    assert_num(d, "times/iowait", 6400 / hz);
    assert_num(d, "times/softirq", 1280 / hz);
    assert_int_equal(integer(d, "ctx_switches"), 5000000);
    assert_int_equal(integer(d, "interrupts"), 1000000);
    assert_num(d, "load1", 1.5);
    assert_num(d, "load5", 0.75);
    assert_num(d, "load15", 0.25);
    assert_absent(d, "percent"); /* no previous sample */
    assert_absent(d, "ctx_switches_per_sec");
    json_object *cpus = at(d, "cpus");
    assert_int_equal(json_object_array_length(cpus), 64);
    assert_int_equal(integer(json_object_array_get_idx(cpus, 63), "cpu"), 63);
    assert_absent(json_object_array_get_idx(cpus, 0), "percent");
    json_object_put(d);
    inst_free(in);
}

static void cpu_rates(void **state)
{
    (void)state;
    struct inst *in = inst_copy("cpu", BIG_A, NULL);
    struct bracket b;
    json_object *d = two_samples(in, &b);
    /* 63 cpus: +60 user +20 system +100 idle +10 iowait +10 softirq; cpu1:
     * +200 idle. Total 12800 ticks, busy 12800 - 6500 - 630 = 5670. */
    assert_pct(d, "percent", 44.3);
    assert_pct(d, "user", 29.53);
    assert_pct(d, "system", 9.84);
    assert_pct(d, "idle", 50.78);
    assert_pct(d, "iowait", 4.92);
    assert_pct(d, "softirq", 4.92);
    assert_pct(d, "nice", 0);
    assert_pct(d, "steal", 0);
    json_object *cpus = at(d, "cpus");
    json_object *c0 = json_object_array_get_idx(cpus, 0), *c1 = json_object_array_get_idx(cpus, 1);
    assert_pct(c0, "percent", 45);
    assert_pct(c0, "user", 30);
    assert_pct(c0, "system", 10);
    assert_pct(c0, "idle", 50);
    assert_pct(c1, "percent", 0);
    assert_pct(c1, "idle", 100);
    assert_rate(d, "ctx_switches_per_sec", 120000, &b);
    assert_rate(d, "interrupts_per_sec", 60000, &b);
    json_object_put(d);
    /* Counters going backwards (big-a again): no percentages, no rates. */
    overlay(in, BIG_A);
    d = sample(in);
    assert_absent(d, "percent");
    assert_absent(d, "ctx_switches_per_sec");
    assert_absent(json_object_array_get_idx(at(d, "cpus"), 0), "percent");
    assert_int_equal(integer(d, "ctx_switches"), 5000000);
    json_object_put(d);
    inst_free(in);
}

static void cpu_missing(void **state)
{
    (void)state;
    struct inst *in = inst_new("cpu", "/nonexistent/hp", NULL);
    int rc;
    json_object *d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(json_object_object_length(d), 0);
    json_object_put(d);
    inst_free(in);
    in = inst_copy("cpu", BIG_A, "percpu = false;");
    remove_file(in, "proc/loadavg");
    d = sample(in);
    assert_int_equal(integer(d, "count"), 64);
    assert_absent(d, "load1");
    assert_absent(d, "cpus");
    json_object_put(d);
    inst_free(in);
}

/* ---- mem ---- */

static void mem_fixture(void **state)
{
    (void)state;
    struct inst *in = inst_new("mem", BIG_A, NULL);
    json_object *d = sample(in);
    int64_t page = sysconf(_SC_PAGESIZE);
    assert_int_equal(integer(d, "total"), 16384000LL * 1024);
    assert_int_equal(integer(d, "available"), 8192000LL * 1024);
    assert_int_equal(integer(d, "free"), 2048000LL * 1024);
    assert_int_equal(integer(d, "buffers"), 512000LL * 1024);
    assert_int_equal(integer(d, "cached"), (4096000LL + 1024000) * 1024); /* + SReclaimable */
    assert_int_equal(integer(d, "shared"), 256000LL * 1024);
    /* used = total - free - buffers - cached = 16384000 - 2048000 - 512000 - 5120000 kB */
    assert_int_equal(integer(d, "used"), 8704000LL * 1024);
    assert_num(d, "percent", 50); /* (16384000 - 8192000) / 16384000 */
    assert_int_equal(integer(d, "swap/total"), 4194304LL * 1024);
    assert_int_equal(integer(d, "swap/free"), 3145728LL * 1024);
    assert_int_equal(integer(d, "swap/used"), 1048576LL * 1024);
    assert_num(d, "swap/percent", 25);
    assert_int_equal(integer(d, "swap/sin"), 1000 * page);
    assert_int_equal(integer(d, "swap/sout"), 2000 * page);
    assert_absent(d, "swap/sin_per_sec");
    json_object_put(d);
    inst_free(in);
}

static void mem_rates(void **state)
{
    (void)state;
    struct inst *in = inst_copy("mem", BIG_A, NULL);
    struct bracket b;
    json_object *d = two_samples(in, &b);
    double page = (double)sysconf(_SC_PAGESIZE);
    assert_rate(d, "swap/sin_per_sec", 100 * page, &b);
    assert_rate(d, "swap/sout_per_sec", 500 * page, &b);
    assert_int_equal(integer(d, "swap/free"), 3000000LL * 1024);
    json_object_put(d);
    overlay(in, BIG_A); /* pswpin/pswpout went backwards: no rate */
    d = sample(in);
    assert_absent(d, "swap/sin_per_sec");
    assert_non_null(at(d, "swap/sin"));
    json_object_put(d);
    inst_free(in);
}

static void mem_noswap_and_missing(void **state)
{
    (void)state;
    /* The captured machine has no swap: zeros, not missing fields. */
    struct inst *in = inst_copy("mem", CAPTURE, NULL);
    json_object *d = sample(in);
    assert_int_equal(integer(d, "swap/total"), 0);
    assert_int_equal(integer(d, "swap/used"), 0);
    assert_num(d, "swap/percent", 0);
    assert_true(integer(d, "total") > 0);
    json_object_put(d);
    inst_free(in);
    in = inst_copy("mem", CAPTURE, NULL); /* before the first read opens it */
    remove_file(in, "proc/vmstat");
    d = sample(in);
    assert_non_null(at(d, "swap/total"));
    assert_absent(d, "swap/sin");
    json_object_put(d);
    inst_free(in);
    in = inst_new("mem", "/nonexistent/hp", NULL);
    int rc;
    d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    json_object_put(d);
    inst_free(in);
}

/* ---- net ---- */

static void net_fixture(void **state)
{
    (void)state;
    struct inst *in = inst_new("net", BIG_A, NULL);
    json_object *d = sample(in);
    json_object *ifs = at(d, "interfaces");
    assert_int_equal(json_object_object_length(ifs), 10); /* 11 minus lo */
    assert_absent(ifs, "lo");
    assert_int_equal(integer(ifs, "eth0/bytes_recv"), 1000000);
    assert_int_equal(integer(ifs, "eth0/packets_recv"), 1000);
    assert_int_equal(integer(ifs, "eth0/errin"), 1);
    assert_int_equal(integer(ifs, "eth0/dropin"), 2);
    assert_int_equal(integer(ifs, "eth0/bytes_sent"), 500000);
    assert_int_equal(integer(ifs, "eth0/packets_sent"), 800);
    assert_int_equal(integer(ifs, "eth0/errout"), 3);
    assert_int_equal(integer(ifs, "eth0/dropout"), 4);
    assert_int_equal(integer(ifs, "eth0.100/bytes_sent"), 20000);
    assert_int_equal(integer(d, "total/bytes_recv"), 6479000);
    assert_int_equal(integer(d, "total/packets_recv"), 6479);
    assert_int_equal(integer(d, "total/errin"), 2);
    assert_int_equal(integer(d, "total/dropin"), 9);
    assert_int_equal(integer(d, "total/bytes_sent"), 1439000);
    assert_int_equal(integer(d, "total/packets_sent"), 2239);
    assert_int_equal(integer(d, "total/errout"), 6);
    assert_int_equal(integer(d, "total/dropout"), 8);
    assert_absent(d, "total/bytes_recv_per_sec");
    assert_absent(ifs, "eth0/bytes_recv_per_sec");
    json_object_put(d);
    inst_free(in);
}

static void net_options(void **state)
{
    (void)state;
    struct inst *in = inst_new("net", BIG_A, "include = [\"eth*\", \"lo\"]; loopback = true;");
    json_object *d = sample(in);
    json_object *ifs = at(d, "interfaces");
    assert_int_equal(json_object_object_length(ifs), 4);
    assert_non_null(at(ifs, "lo"));
    assert_non_null(at(ifs, "eth0.100"));
    assert_int_equal(integer(d, "total/bytes_recv"), 1000000 + 2000000 + 10000 + 5000);
    json_object_put(d);
    inst_free(in);
    in = inst_new("net", BIG_A, "exclude = [\"veth*\", \"br-*\", \"docker0\"];");
    d = sample(in);
    assert_int_equal(json_object_object_length(at(d, "interfaces")), 7);
    assert_absent(d, "interfaces/veth0a1b2c");
    json_object_put(d);
    inst_free(in);
}

static void net_rates(void **state)
{
    (void)state;
    struct inst *in = inst_copy("net", BIG_A, NULL);
    struct bracket b;
    json_object *d = two_samples(in, &b);
    json_object *ifs = at(d, "interfaces");
    assert_rate(ifs, "eth0/bytes_recv_per_sec", 1000000, &b);
    assert_rate(ifs, "eth0/bytes_sent_per_sec", 250000, &b);
    assert_rate(ifs, "eth0/packets_sent_per_sec", 500, &b);
    assert_num(ifs, "eth0/errin_per_sec", 0);
    assert_num(ifs, "eth1/bytes_recv_per_sec", 0);
    /* veth0a1b2c was re-created (counters fell): raw values, no rates. */
    assert_int_equal(integer(ifs, "veth0a1b2c/bytes_recv"), 100);
    assert_absent(ifs, "veth0a1b2c/bytes_recv_per_sec");
    assert_absent(ifs, "ppp0/bytes_recv_per_sec"); /* new */
    assert_int_equal(integer(ifs, "ppp0/bytes_recv"), 500);
    assert_absent(ifs, "tun0"); /* gone */
    /* The total's rates sum the interfaces that have one: only eth0 moved. */
    assert_num(d, "total/bytes_recv_per_sec", num(ifs, "eth0/bytes_recv_per_sec"));
    assert_num(d, "total/bytes_sent_per_sec", num(ifs, "eth0/bytes_sent_per_sec"));
    json_object_put(d);
    inst_free(in);
}

/* An interface listed twice (a rename while the kernel lists them) is one
 * member, in its first place, with the last line's counters and no rates:
 * what the json-c object whose key was replaced held. The total counts it
 * once, with those counters: the fixture's 6,479,000 bytes received, eth0
 * 500 more. Checked on the text, which hp_reporter_sample would parse with
 * the duplicate key replaced. */
static void net_listed_twice(void **state)
{
    (void)state;
    struct inst *in = inst_copy("net", BIG_A, NULL);
    char path[700];
    snprintf(path, sizeof(path), "%s/proc/net/dev", in->tmp);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("  eth0: 1000500 1005 1 2 0 0 0 0 500500 805 3 4 0 0 0 0\n"
          "   wg0: 40000 40 0 0 0 0 0 0 40000 40 0 0 0 0 0 0\n",
          f);
    assert_int_equal(fclose(f), 0);
    json_object_put(sample(in)); /* the previous counters: wg0's first line gets rates */
    usleep(2000);
    struct hp_buf text = {0};
    assert_int_equal(hp_reporter_write(&in->r, &text), 0);
    const char *eth0 = "\"interfaces\":{\"eth0\":{\"bytes_recv\":1000500,\"packets_recv\":1005,"
                       "\"errin\":1,\"dropin\":2,\"bytes_sent\":500500,\"packets_sent\":805,"
                       "\"errout\":3,\"dropout\":4},\"eth1\":{";
    const char *wg0 = "\"wg0\":{\"bytes_recv\":40000,\"packets_recv\":40,\"errin\":0,\"dropin\":0,"
                      "\"bytes_sent\":40000,\"packets_sent\":40,\"errout\":0,\"dropout\":0}},"
                      "\"total\":{\"bytes_recv\":6479500,";
    if (!strstr(text.p, eth0) || !strstr(text.p, wg0))
        fail_msg("unexpected text: %s", text.p);
    assert_null(strstr(strstr(text.p, "\"eth0\":") + 1, "\"eth0\":"));
    assert_null(strstr(strstr(text.p, "\"wg0\":") + 1, "\"wg0\":"));
    assert_non_null(strstr(text.p, "\"bytes_recv_per_sec\":")); /* eth1's, and the total's */
    hp_buf_free(&text);
    inst_free(in);
}

static void net_missing(void **state)
{
    (void)state;
    struct inst *in = inst_new("net", "/nonexistent/hp", NULL);
    int rc;
    json_object *d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    json_object_put(d);
    inst_free(in);
}

/* ---- uptime ---- */

static void uptime_fixture(void **state)
{
    (void)state;
    struct inst *in = inst_copy("uptime", BIG_A, NULL);
    json_object *d = sample(in);
    assert_num(d, "uptime", 12345.67);
    assert_num(d, "idle", 700000);
    assert_int_equal(integer(d, "boot_time"), 1763700000000LL);
    json_object_put(d);
    overlay(in, BIG_B); /* a second sample reads the rewritten file */
    remove_file(in, "proc/stat");
    d = sample(in);
    assert_num(d, "uptime", 12346.67);
    assert_int_equal(integer(d, "boot_time"), 1763700000000LL); /* read once */
    json_object_put(d);
    inst_free(in);
}

static void uptime_missing(void **state)
{
    (void)state;
    struct inst *in = inst_copy("uptime", BIG_A, NULL);
    remove_file(in, "proc/stat");
    json_object *d = sample(in);
    assert_num(d, "uptime", 12345.67);
    assert_absent(d, "boot_time");
    json_object_put(d);
    inst_free(in);
    in = inst_new("uptime", "/nonexistent/hp", NULL);
    int rc;
    d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    json_object_put(d);
    inst_free(in);
}

/* ---- ipaddr ---- */

/* Storage for one constructed ifaddrs entry. */
struct fake_if {
    struct ifaddrs ifa;
    struct sockaddr_storage addr, mask;
};

static void fake4(struct fake_if *f, const char *name, unsigned flags, const char *addr, int plen)
{
    memset(f, 0, sizeof(*f));
    struct sockaddr_in *a = (struct sockaddr_in *)&f->addr, *m = (struct sockaddr_in *)&f->mask;
    a->sin_family = m->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
    m->sin_addr.s_addr = htonl(plen ? 0xffffffffu << (32 - plen) : 0);
    f->ifa.ifa_name = (char *)name;
    f->ifa.ifa_flags = flags;
    f->ifa.ifa_addr = (struct sockaddr *)a;
    f->ifa.ifa_netmask = (struct sockaddr *)m;
}

static void fake6(struct fake_if *f, const char *name, unsigned flags, const char *addr, int plen)
{
    memset(f, 0, sizeof(*f));
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&f->addr;
    struct sockaddr_in6 *m = (struct sockaddr_in6 *)&f->mask;
    a->sin6_family = m->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
    for (int i = 0; i < plen; i++)
        m->sin6_addr.s6_addr[i / 8] |= (unsigned char)(0x80 >> (i % 8));
    f->ifa.ifa_name = (char *)name;
    f->ifa.ifa_flags = flags;
    f->ifa.ifa_addr = (struct sockaddr *)a;
    f->ifa.ifa_netmask = (struct sockaddr *)m;
}

static void assert_addr(json_object *ifs, const char *name, size_t i, const char *family,
                        const char *addr, int plen)
{
    json_object *arr = at(ifs, name);
    assert_non_null(arr);
    json_object *o = json_object_array_get_idx(arr, i);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(at(o, "family")), family);
    assert_string_equal(json_object_get_string(at(o, "address")), addr);
    assert_int_equal(integer(o, "prefixlen"), plen);
}

static void ipaddr_list(void **state)
{
    (void)state;
    struct fake_if f[9];
    fake4(&f[0], "lo", IFF_UP | IFF_LOOPBACK, "127.0.0.1", 8);
    fake6(&f[1], "lo", IFF_UP | IFF_LOOPBACK, "::1", 128);
    fake4(&f[2], "eth0", IFF_UP, "192.0.2.10", 24);
    fake6(&f[3], "eth0", IFF_UP, "fe80::1", 64);
    fake6(&f[4], "eth0", IFF_UP, "2001:db8::5", 64);
    fake4(&f[5], "eth0", IFF_UP, "10.1.2.3", 0);
    fake4(&f[6], "wlan0", IFF_UP, "169.254.3.4", 16);
    fake4(&f[7], "tun0", IFF_UP, "0.0.0.0", 0);
    f[7].ifa.ifa_addr = NULL; /* an interface without address */
    fake4(&f[8], "eth1", IFF_UP, "198.51.100.7", 32);
    ((struct sockaddr *)&f[8].addr)->sa_family = AF_PACKET; /* link-layer entry */
    for (int i = 0; i < 8; i++)
        f[i].ifa.ifa_next = &f[i + 1].ifa;

    json_object *d = json_object_new_object();
    struct hp_ipaddr_filter def = {0};
    assert_int_equal(hp_ipaddr_to_json(&f[0].ifa, &def, d), 3);
    json_object *ifs = at(d, "interfaces");
    assert_int_equal(json_object_object_length(ifs), 1);
    assert_int_equal(json_object_array_length(at(ifs, "eth0")), 3);
    assert_addr(ifs, "eth0", 0, "inet", "192.0.2.10", 24);
    assert_addr(ifs, "eth0", 1, "inet6", "2001:db8::5", 64);
    assert_addr(ifs, "eth0", 2, "inet", "10.1.2.3", 0);
    json_object_put(d);

    d = json_object_new_object();
    struct hp_ipaddr_filter all = {.loopback = true, .link_local = true};
    assert_int_equal(hp_ipaddr_to_json(&f[0].ifa, &all, d), 7);
    ifs = at(d, "interfaces");
    assert_int_equal(json_object_object_length(ifs), 3);
    assert_addr(ifs, "lo", 0, "inet", "127.0.0.1", 8);
    assert_addr(ifs, "lo", 1, "inet6", "::1", 128);
    assert_addr(ifs, "eth0", 1, "inet6", "fe80::1", 64);
    assert_addr(ifs, "wlan0", 0, "inet", "169.254.3.4", 16);
    json_object_put(d);

    d = json_object_new_object(); /* nothing at all: an empty object */
    assert_int_equal(hp_ipaddr_to_json(NULL, &def, d), 0);
    assert_int_equal(json_object_object_length(at(d, "interfaces")), 0);
    json_object_put(d);
}

static void ipaddr_live(void **state)
{
    (void)state;
    struct inst *in = inst_new("ipaddr", "/nonexistent/hp", "loopback = true;");
    json_object *d = sample(in);
    assert_non_null(at(d, "interfaces/lo")); /* every Linux netns has lo */
    json_object_put(d);
    inst_free(in);
}

/* ---- disk ---- */

static void disk_fixture(void **state)
{
    (void)state;
    struct inst *in = inst_new("disk", BIG_A, NULL);
    json_object *d = sample(in);
    /* Real filesystems of the fixture mounts: / (ext4) and /tmp (ext4);
     * not proc/sysfs/tmpfs/cgroup2/overlay, not the bind mount of the same
     * device (/etc/hosts), not the mount points that do not exist. */
    json_object *fss = at(d, "filesystems");
    assert_int_equal(json_object_object_length(fss), 2);
    json_object *root = json_object_object_get(fss, "/");
    assert_non_null(root);
    assert_non_null(json_object_object_get(fss, "/tmp"));
    assert_string_equal(json_object_get_string(at(root, "device")), "/dev/vda");
    assert_string_equal(json_object_get_string(at(root, "fstype")), "ext4");
    struct statvfs st;
    assert_int_equal(statvfs("/", &st), 0);
    assert_int_equal(integer(root, "total"), (int64_t)(st.f_blocks * st.f_frsize));
    assert_int_equal(integer(root, "inodes_total"), (int64_t)st.f_files);
    assert_int_equal(integer(root, "used") + integer(root, "free") <= integer(root, "total"), 1);
    /* Block devices, loop* excluded by default. */
    json_object *devs = at(d, "devices");
    assert_int_equal(json_object_object_length(devs), 4);
    assert_absent(devs, "loop0");
    assert_int_equal(integer(devs, "sda/read_count"), 1000);
    assert_int_equal(integer(devs, "sda/write_count"), 2000);
    assert_int_equal(integer(devs, "sda/read_bytes"), 80000LL * 512);
    assert_int_equal(integer(devs, "sda/write_bytes"), 160000LL * 512);
    assert_int_equal(integer(devs, "sda/read_time_ms"), 5000);
    assert_int_equal(integer(devs, "sda/write_time_ms"), 6000);
    assert_int_equal(integer(devs, "sda/busy_time_ms"), 9000);
    /* the deprecated names (envelope version 1) carry the same values */
    assert_int_equal(integer(devs, "sda/read_time"), 5000);
    assert_int_equal(integer(devs, "sda/write_time"), 6000);
    assert_int_equal(integer(devs, "sda/busy_time"), 9000);
    assert_int_equal(integer(devs, "sda/read_merged_count"), 100);
    assert_int_equal(integer(devs, "nvme0n1/in_progress"), 1);
    assert_absent(devs, "sda/read_bytes_per_sec");
    assert_absent(d, "directories");
    json_object_put(d);
    inst_free(in);
}

static void disk_options(void **state)
{
    (void)state;
    struct inst *in =
        inst_new("disk", BIG_A, "mounts = [\"/\", \"/nonexistent/hp\"]; devices = [\"sd*\"];");
    json_object *d = sample(in);
    assert_int_equal(json_object_object_length(at(d, "filesystems")), 1);
    json_object *root = json_object_object_get(at(d, "filesystems"), "/");
    assert_non_null(root);
    assert_string_equal(json_object_get_string(at(root, "device")), "/dev/vda");
    json_object *devs = at(d, "devices");
    assert_int_equal(json_object_object_length(devs), 2);
    assert_non_null(at(devs, "sda"));
    assert_non_null(at(devs, "sda1"));
    json_object_put(d);
    inst_free(in);
}

/* A configured mount point's device and type follow the mount table: the
 * lookup is kept between samples only while the table is unchanged. */
static void disk_configured_follows_mount_table(void **state)
{
    (void)state;
    struct inst *in = inst_copy("disk", BIG_A, "mounts = [\"/\", \"/tmp\"];");
    for (int i = 0; i < 2; i++) { /* the second sample: the same table, kept */
        json_object *d = sample(in);
        json_object *root = json_object_object_get(at(d, "filesystems"), "/");
        assert_string_equal(json_object_get_string(at(root, "device")), "/dev/vda");
        json_object_put(d);
    }
    assert_int_equal(hp_test_put_file(in->tmp, "proc/self/mounts",
                                      "/dev/vdb / xfs rw 0 0\n/dev/sdc1 /tmp ext4 rw 0 0\n", "w"),
                     0);
    json_object *d = sample(in);
    json_object *root = json_object_object_get(at(d, "filesystems"), "/");
    assert_string_equal(json_object_get_string(at(root, "device")), "/dev/vdb");
    assert_string_equal(json_object_get_string(at(root, "fstype")), "xfs");
    json_object_put(d);
    assert_int_equal(
        hp_test_put_file(in->tmp, "proc/self/mounts", "/dev/sdc1 /tmp ext4 rw 0 0\n", "w"), 0);
    d = sample(in); /* / no longer listed: statvfs only */
    root = json_object_object_get(at(d, "filesystems"), "/");
    assert_non_null(root);
    assert_absent(root, "device");
    json_object *tmp = json_object_object_get(at(d, "filesystems"), "/tmp");
    assert_string_equal(json_object_get_string(at(tmp, "device")), "/dev/sdc1");
    json_object_put(d);
    inst_free(in);
}

static void disk_rates(void **state)
{
    (void)state;
    struct inst *in = inst_copy("disk", BIG_A, NULL);
    struct bracket b;
    json_object *d = two_samples(in, &b);
    json_object *devs = at(d, "devices");
    assert_rate(devs, "sda/read_bytes_per_sec", 2048.0 * 512, &b);
    assert_rate(devs, "sda/write_bytes_per_sec", 4096.0 * 512, &b);
    assert_rate(devs, "sda/read_count_per_sec", 100, &b);
    assert_rate(devs, "sda/write_count_per_sec", 50, &b);
    /* 500 ms busy in a ~100 ms interval: capped at 100 percent. */
    assert_num(devs, "sda/busy_percent", 100);
    assert_num(devs, "sda1/busy_percent", 0);
    assert_num(devs, "nvme0n1/read_bytes_per_sec", 0);
    json_object_put(d);
    overlay(in, BIG_A); /* counters fell: no rates */
    d = sample(in);
    assert_absent(d, "devices/sda/read_bytes_per_sec");
    assert_non_null(at(d, "devices/sda/read_bytes"));
    json_object_put(d);
    inst_free(in);
}

static void write_file(const char *dir, const char *name, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc('x', f);
    fclose(f);
}

static void disk_directories(void **state)
{
    (void)state;
    char dir[64], sub[96], opts[256];
    assert_non_null(hp_test_mkdtemp(dir, sizeof(dir), "walk"));
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(dir, "a", 10);
    write_file(dir, "b", 20);
    write_file(dir, "c", 30);
    write_file(sub, "d", 40);
    snprintf(opts, sizeof(opts),
             "directories = [\"%s\", \"/nonexistent/hp\"]; directory_interval = 300;", dir);
    struct inst *in = inst_new("disk", "/nonexistent/hp", opts);
    json_object *d = sample(in); /* no mounts or diskstats: directories only */
    json_object *w = at(d, "directories");
    assert_int_equal(json_object_object_length(w), 1);
    w = json_object_object_get(w, dir);
    assert_non_null(w);
    assert_int_equal(integer(w, "size"), 100);
    assert_int_equal(integer(w, "files"), 4);
    assert_int_equal(integer(w, "dirs"), 2);
    assert_int_equal(integer(w, "errors"), 0);
    int64_t walked = integer(w, "walked");
    json_object_put(d);
    write_file(dir, "e", 1000); /* not seen until directory_interval passes */
    d = sample(in);
    w = json_object_object_get(at(d, "directories"), dir);
    assert_int_equal(integer(w, "size"), 100);
    assert_int_equal(integer(w, "walked"), walked);
    json_object_put(d);
    inst_free(in);
    assert_int_equal(hp_test_rmtree(dir), 0);
}

static void disk_missing(void **state)
{
    (void)state;
    struct inst *in = inst_new("disk", "/nonexistent/hp", NULL);
    int rc;
    json_object *d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(json_object_object_length(d), 0);
    json_object_put(d);
    inst_free(in);
}

/* A disk sample's text (the unit under test writes it; sample() would
 * parse it back, and parsing hides a key written twice). */
static json_object *disk_text(struct inst *in, struct hp_buf *text)
{
    assert_int_equal(hp_reporter_write(&in->r, text), 0);
    json_object *d = json_tokener_parse(text->p);
    assert_non_null(d);
    return d;
}

static int occurrences(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static const char *first_key(json_object *o)
{
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        return key;
    }
    return NULL;
}

static void append_to(struct inst *in, const char *rel, const char *line)
{
    assert_int_equal(hp_test_put_file(in->tmp, rel, line, "a"), 0);
}

/* A device named twice in diskstats and a mount point mounted twice (over
 * by another device) are written once, in the first place. The device
 * has the last line's value, which has no rates (the first line's counters
 * are no previous sample); the mount point keeps its first device. */
static void disk_keys_twice_in_proc(void **state)
{
    (void)state;
    struct inst *in = inst_copy("disk", BIG_A, NULL);
    append_to(in, "proc/diskstats",
              "   8       0 sda 1200 100 80000 5000 2000 200 160000 6000 0 9000 11000 0 0\n");
    append_to(in, "proc/self/mounts", "/dev/sdz / ext4 rw 0 0\n");
    struct hp_buf text = {0};
    json_object_put(disk_text(in, &text)); /* the previous sample for rates */
    json_object *d = disk_text(in, &text);
    assert_int_equal(occurrences(text.p, "\"sda\":"), 1);
    assert_int_equal(occurrences(text.p, "\"/\":"), 1);
    assert_string_equal(first_key(at(d, "devices")), "sda");
    assert_int_equal(integer(d, "devices/sda/read_count"), 1200);
    assert_absent(d, "devices/sda/read_count_per_sec");
    assert_non_null(at(d, "devices/sda1/read_count_per_sec"));
    assert_string_equal(first_key(at(d, "filesystems")), "/");
    json_object *root = json_object_object_get(at(d, "filesystems"), "/");
    assert_string_equal(json_object_get_string(at(root, "device")), "/dev/vda");
    json_object_put(d);
    hp_buf_free(&text);
    inst_free(in);
}

/* A mount point and a directory configured twice are written once, in
 * the first place. */
static void disk_keys_twice_in_config(void **state)
{
    (void)state;
    char dir[64], opts[512], key[80];
    assert_non_null(hp_test_mkdtemp(dir, sizeof(dir), "walk"));
    snprintf(
        opts, sizeof(opts),
        "mounts = [\"/tmp\", \"/\", \"/tmp\"]; directories = [\"%s\", \"/nonexistent/hp\", \"%s\"];"
        " directory_interval = 300;",
        dir, dir);
    struct inst *in = inst_new("disk", BIG_A, opts);
    struct hp_buf text = {0};
    json_object *d = disk_text(in, &text);
    assert_int_equal(occurrences(text.p, "\"/tmp\":"), 1);
    assert_string_equal(first_key(at(d, "filesystems")), "/tmp");
    assert_int_equal(json_object_object_length(at(d, "filesystems")), 2);
    snprintf(key, sizeof(key), "\"%s\":", dir);
    assert_int_equal(occurrences(text.p, key), 1);
    assert_string_equal(first_key(at(d, "directories")), dir);
    json_object_put(d);
    hp_buf_free(&text);
    inst_free(in);
    assert_int_equal(hp_test_rmtree(dir), 0);
}

/* Reporter names become config keys, the envelope's "reporter" (at most
 * HP_NAME_MAX - 1 bytes), thread names and file names in sinks. */
static void registry_names_are_identifiers(void **state)
{
    (void)state;
    size_t n = 0;
    for (const struct hp_reporter_ops *const *t = hp_reporter_types; *t; t++, n++) {
        if (!hp_is_identifier((*t)->name, HP_NAME_MAX))
            fail_msg("reporter name \"%s\" is not an identifier", (*t)->name);
        assert_ptr_equal(hp_reporter_find((*t)->name), *t);
    }
    assert_true(n >= 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_names_are_identifiers),
        cmocka_unit_test(cpu_fixture),
        cmocka_unit_test(cpu_rates),
        cmocka_unit_test(cpu_missing),
        cmocka_unit_test(mem_fixture),
        cmocka_unit_test(mem_rates),
        cmocka_unit_test(mem_noswap_and_missing),
        cmocka_unit_test(net_fixture),
        cmocka_unit_test(net_options),
        cmocka_unit_test(net_rates),
        cmocka_unit_test(net_listed_twice),
        cmocka_unit_test(net_missing),
        cmocka_unit_test(uptime_fixture),
        cmocka_unit_test(uptime_missing),
        cmocka_unit_test(ipaddr_list),
        cmocka_unit_test(ipaddr_live),
        cmocka_unit_test(disk_fixture),
        cmocka_unit_test(disk_options),
        cmocka_unit_test(disk_configured_follows_mount_table),
        cmocka_unit_test(disk_rates),
        cmocka_unit_test(disk_directories),
        cmocka_unit_test(disk_missing),
        cmocka_unit_test(disk_keys_twice_in_proc),
        cmocka_unit_test(disk_keys_twice_in_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
