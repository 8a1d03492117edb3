/* SPDX-License-Identifier: Apache-2.0 */
/* test_reporters_new.c -- the pressure, netstat and cgroup reporters called
 * directly through their ops with proc_root/sys_root pointed at the fixture
 * trees tests/fixtures/{netpsi,cgroup}-* (hand-computed values in
 * tests/fixtures/README.md), and their parsers on malformed input. Two-sample
 * tests write the -b tree over a copy of the -a tree and check each rate
 * against the bracket of the measured elapsed time; they also cover
 * counters that reset, groups that vanish, appear or are re-created, and
 * malformed lines. Runs from the repository root (tests/run does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/opts.h"
#include "reporters/cgroup.h"
#include "reporters/cgroup_select.h"
#include "reporters/netstat.h"
#include "reporters/psi.h"
#include "reporters/reporter.h"
#include "tests/unit/testutil.h"

#define NETPSI_A "tests/fixtures/netpsi-a"
#define NETPSI_B "tests/fixtures/netpsi-b"
#define CG_A     "tests/fixtures/cgroup-a"
#define CG_B     "tests/fixtures/cgroup-b"
#define NGINX    "/system.slice/nginx.service"

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

static struct inst *inst_copy(const char *name, const char *src, const char *opts)
{
    char tmp[64];
    assert_non_null(hp_test_copytree(tmp, sizeof(tmp), "fixture", src));
    struct inst *in = inst_new(name, tmp, opts);
    snprintf(in->tmp, sizeof(in->tmp), "%s", tmp);
    return in;
}

static void shell(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), fmt, a, b);
    assert_int_equal(system(cmd), 0);
}

/* Write tree src over the copy, in place. */
static void overlay(struct inst *in, const char *src)
{
    shell("cp -r %s/. %s/", src, in->tmp);
}

static void inst_free(struct inst *in)
{
    in->r.ops->fini(&in->r);
    config_destroy(&in->cfg);
    if (in->tmp[0])
        assert_int_equal(hp_test_rmtree(in->tmp), 0);
    free(in);
}

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

/* The object of one cgroup (its key holds '/'). */
static json_object *grp(json_object *d, const char *path)
{
    json_object *g = at(d, "groups"), *o = NULL;
    if (!g || !json_object_object_get_ex(g, path, &o))
        return NULL;
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
#define assert_null_value(o, path)                                                                 \
    do {                                                                                           \
        json_object *v_;                                                                           \
        assert_true(json_object_object_get_ex(o, path, &v_));                                      \
        assert_null(v_);                                                                           \
    } while (0)

/* t[0] before sample 1, t[1] after it, t[2] before sample 2, t[3] after. */
struct bracket {
    int64_t t[4];
};

/* rate (rounded to 1 or 2 decimals) must be delta / elapsed for some
 * elapsed in the bracket. */
static void assert_rate(json_object *o, const char *path, double delta, const struct bracket *b)
{
    double rate = num(o, path);
    double lo = delta / ((double)(b->t[3] - b->t[0]) / 1e9) - 0.06;
    double hi = delta / ((double)(b->t[2] - b->t[1]) / 1e9) + 0.06;
    if (rate < lo || rate > hi)
        fail_msg("%s = %f, want within [%f, %f]", path, rate, lo, hi);
}

/* Sample the copy, then src_b written over it (and `between` run) 100 ms
 * later; returns the second sample. */
static json_object *two_samples(struct inst *in, const char *src_b, const char *between,
                                struct bracket *b)
{
    b->t[0] = hp_mono_ns();
    json_object_put(sample(in));
    b->t[1] = hp_mono_ns();
    usleep(100000);
    overlay(in, src_b);
    if (between)
        shell(between, in->tmp, in->tmp);
    b->t[2] = hp_mono_ns();
    json_object *d = sample(in);
    b->t[3] = hp_mono_ns();
    return d;
}

/* ---- psi parser ---- */

static void psi_parses_and_rejects(void **state)
{
    (void)state;
    struct hp_psi p;
    assert_int_equal(hp_psi_parse("some avg10=1.50 avg60=0.75 avg300=0.25 total=300000\n"
                                  "full avg10=0.50 avg60=0.20 avg300=0.10 total=100000\n",
                                  &p),
                     2);
    assert_true(p.some.ok && p.full.ok);
    assert_float_equal(p.some.avg60, 0.75, 1e-9);
    assert_int_equal(p.full.total, 100000);
    /* bad number, out of range, missing total, trailing junk, unknown kind */
    assert_int_equal(hp_psi_parse("some avg10=abc avg60=0 avg300=0 total=1\n", &p), 0);
    assert_int_equal(hp_psi_parse("some avg10=101 avg60=0 avg300=0 total=1\n", &p), 0);
    assert_int_equal(hp_psi_parse("some avg10=1 avg60=0 avg300=0\n", &p), 0);
    assert_int_equal(hp_psi_parse("some avg10=1 avg60=0 avg300=0 total=1 x\n", &p), 0);
    assert_int_equal(hp_psi_parse("half avg10=1 avg60=0 avg300=0 total=1\n", &p), 0);
    assert_int_equal(hp_psi_parse("some avg10=nan avg60=0 avg300=0 total=1\n", &p), 0);
    assert_int_equal(hp_psi_parse("", &p), 0);
    assert_int_equal(hp_psi_parse(NULL, &p), 0);
    /* one good half of two */
    assert_int_equal(hp_psi_parse("some avg10=x\nfull avg10=0 avg60=0 avg300=0 total=7", &p), 1);
    assert_false(p.some.ok);
    assert_int_equal(p.full.total, 7);
}

/* ---- pressure ---- */

static void pressure_fixture(void **state)
{
    (void)state;
    struct inst *in = inst_new("pressure", NETPSI_A, NULL);
    json_object *d = sample(in);
    assert_num(d, "cpu/some/avg10", 13.27);
    assert_num(d, "cpu/some/avg60", 29.70);
    assert_num(d, "cpu/some/avg300", 22.54);
    assert_int_equal(integer(d, "cpu/some/total"), 111368162);
    assert_int_equal(integer(d, "cpu/full/total"), 0);
    assert_int_equal(integer(d, "memory/full/total"), 0);
    assert_int_equal(integer(d, "io/some/total"), 6516566);
    assert_int_equal(integer(d, "io/full/total"), 4340196);
    assert_num(d, "io/full/avg300", 0.26);
    assert_absent(d, "cpu/some/total_per_sec"); /* no previous sample */
    assert_absent(d, "irq");                    /* this host's kernel has none */
    assert_int_equal(json_object_object_length(d), 3);
    json_object_put(d);
    inst_free(in);
}

static void pressure_rates_resets_and_bad_lines(void **state)
{
    (void)state;
    struct inst *in = inst_copy("pressure", NETPSI_A, NULL);
    struct bracket b;
    json_object *d = two_samples(in, NETPSI_B, NULL, &b);
    assert_rate(d, "cpu/some/total_per_sec", 500000, &b);
    assert_rate(d, "cpu/full/total_per_sec", 0, &b);
    assert_num(d, "cpu/some/avg10", 20.0);
    assert_rate(d, "memory/some/total_per_sec", 100, &b);
    assert_rate(d, "memory/full/total_per_sec", 50, &b);
    assert_int_equal(integer(d, "io/some/total"), 2000);
    assert_absent(d, "io/some/total_per_sec"); /* went back: no rate */
    assert_absent(d, "io/full");               /* malformed line left out */
    json_object_put(d);
    inst_free(in);
}

static void pressure_absent(void **state)
{
    (void)state;
    struct inst *in = inst_new("pressure", "tests/fixtures/no-such-tree", NULL);
    int rc;
    json_object *d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    assert_int_equal(json_object_object_length(d), 0);
    json_object_put(d);
    inst_free(in);
}

/* ---- netstat ---- */

static void snake_case_names(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"ActiveOpens", "active_opens"},
        {"RetransSegs", "retrans_segs"},
        {"ListenOverflows", "listen_overflows"},
        {"TCPSynRetrans", "tcp_syn_retrans"},
        {"TcpExt", "tcp_ext"},
        {"InCsumErrors", "in_csum_errors"},
        {"RcvbufErrors", "rcvbuf_errors"},
        {"TW", "tw"},
        {"TWRecycled", "tw_recycled"},
        {"InType3", "in_type3"},
        {"UDPLITE", "udplite"},
        {"Ip", "ip"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hp_snake_case(cases[i][0], strlen(cases[i][0]), out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    hp_snake_case("ListenOverflows", 15, out, 5); /* truncates, stays terminated */
    assert_string_equal(out, "list");
}

static void netstat_default_set(void **state)
{
    (void)state;
    struct inst *in = inst_new("netstat", NETPSI_A, NULL);
    json_object *d = sample(in);
    assert_int_equal(integer(d, "tcp/active_opens"), 132);
    assert_int_equal(integer(d, "tcp/passive_opens"), 62);
    assert_int_equal(integer(d, "tcp/curr_estab"), 18);
    assert_int_equal(integer(d, "tcp/in_segs"), 42152);
    assert_int_equal(integer(d, "tcp/retrans_segs"), 12);
    assert_int_equal(integer(d, "tcp/out_rsts"), 79);
    assert_int_equal(integer(d, "udp/in_datagrams"), 80);
    assert_int_equal(integer(d, "udp/out_datagrams"), 81);
    assert_int_equal(integer(d, "udp6/in_datagrams"), 0);
    assert_int_equal(integer(d, "udp6/rcvbuf_errors"), 0);
    assert_absent(d, "udp6/ignored_multi"); /* not in the default set */
    assert_absent(d, "ip6");
    assert_int_equal(integer(d, "tcp_ext/listen_overflows"), 0);
    assert_int_equal(integer(d, "tcp_ext/tcp_timeouts"), 2);
    assert_int_equal(integer(d, "sockets/sockets_used"), 112);
    assert_int_equal(integer(d, "sockets/tcp_inuse"), 15);
    assert_int_equal(integer(d, "sockets/tcp_tw"), 26);
    assert_int_equal(integer(d, "sockets/frag_memory"), 0);
    assert_absent(d, "tcp/max_conn"); /* not in the default set */
    assert_absent(d, "ip");
    assert_absent(d, "tcp/active_opens_per_sec");
    json_object_put(d);
    inst_free(in);
}

static void netstat_rates_gauges_resets(void **state)
{
    (void)state;
    struct inst *in = inst_copy("netstat", NETPSI_A, NULL);
    struct bracket b;
    json_object *d = two_samples(in, NETPSI_B, NULL, &b);
    assert_int_equal(integer(d, "tcp/active_opens"), 142);
    assert_rate(d, "tcp/active_opens_per_sec", 10, &b);
    assert_rate(d, "tcp/passive_opens_per_sec", 4, &b);
    assert_rate(d, "tcp/retrans_segs_per_sec", 5, &b);
    assert_rate(d, "tcp/out_rsts_per_sec", 7, &b);
    assert_rate(d, "tcp/attempt_fails_per_sec", 0, &b);
    assert_int_equal(integer(d, "tcp/in_segs"), 100);
    assert_absent(d, "tcp/in_segs_per_sec"); /* went back */
    assert_int_equal(integer(d, "tcp/curr_estab"), 20);
    assert_absent(d, "tcp/curr_estab_per_sec"); /* a gauge */
    assert_rate(d, "udp/in_datagrams_per_sec", 30, &b);
    assert_rate(d, "udp/rcvbuf_errors_per_sec", 2, &b);
    assert_rate(d, "tcp_ext/listen_overflows_per_sec", 3, &b);
    assert_rate(d, "tcp_ext/listen_drops_per_sec", 3, &b);
    assert_rate(d, "tcp_ext/syncookies_sent_per_sec", 2, &b);
    assert_rate(d, "tcp_ext/tcp_syn_retrans_per_sec", 6, &b);
    assert_int_equal(integer(d, "sockets/tcp_inuse"), 42);
    assert_rate(d, "udp6/in_datagrams_per_sec", 7, &b);
    assert_rate(d, "udp6/rcvbuf_errors_per_sec", 1, &b);
    assert_rate(d, "udp6/no_ports_per_sec", 0, &b); /* the malformed line before it skipped */
    json_object_put(d);
    inst_free(in);
}

/* The columns of a header line are worked out once and kept while the line
 * stays the same: a line that changes between samples (here Tcp's
 * ActiveOpens and PassiveOpens swapped, with their values) is read anew,
 * and each counter keeps its own previous value for its rate. The edit is
 * written into the same file (cat >), as the kernel's files stay the same:
 * the reporter keeps them open, so a file renamed over it (sed -i) would
 * never be read. */
static void netstat_header_change(void **state)
{
    (void)state;
    struct inst *in = inst_copy("netstat", NETPSI_A, NULL);
    struct bracket b;
    static const char swap[] =
        "f=%s/proc/net/snmp; sed 's/ActiveOpens PassiveOpens/PassiveOpens ActiveOpens/;"
        " s/^Tcp: 1 200 120000 -1 142 66 /Tcp: 1 200 120000 -1 66 142 /' $f >$f.new"
        " && cat $f.new >$f && grep -q '^Tcp: 1 200 120000 -1 66 142 ' %s/proc/net/snmp";
    json_object *d = two_samples(in, NETPSI_B, swap, &b);
    assert_int_equal(integer(d, "tcp/active_opens"), 142);
    assert_int_equal(integer(d, "tcp/passive_opens"), 66);
    assert_rate(d, "tcp/active_opens_per_sec", 10, &b);
    assert_rate(d, "tcp/passive_opens_per_sec", 4, &b);
    assert_int_equal(integer(d, "tcp/curr_estab"), 20);
    assert_absent(d, "tcp/curr_estab_per_sec"); /* still a gauge */
    json_object_put(d);
    inst_free(in);
}

/* snmp6's lines are worked out once each and kept by line number while
 * the line's name stays the same: two lines whose names swap between
 * samples are read anew, each value under its own name. */
static void netstat_snmp6_line_change(void **state)
{
    (void)state;
    struct inst *in = inst_copy("netstat", NETPSI_A, NULL);
    struct bracket b;
    static const char swap[] =
        "f=%s/proc/net/snmp6; sed 's/^Udp6InErrors[ \\t].*/Udp6OutDatagrams 4/; t;"
        " s/^Udp6OutDatagrams[ \\t].*/Udp6InErrors 3/' $f >$f.new"
        " && cat $f.new >$f && grep -q '^Udp6InErrors 3' %s/proc/net/snmp6";
    json_object *d = two_samples(in, NETPSI_B, swap, &b);
    assert_int_equal(integer(d, "udp6/out_datagrams"), 4);
    assert_int_equal(integer(d, "udp6/in_errors"), 3);
    assert_rate(d, "udp6/out_datagrams_per_sec", 4, &b);
    assert_rate(d, "udp6/in_errors_per_sec", 3, &b);
    assert_int_equal(integer(d, "udp6/in_datagrams"), 7);
    json_object_put(d);
    inst_free(in);
}

static void netstat_full_and_malformed(void **state)
{
    (void)state;
    struct inst *in = inst_copy("netstat", NETPSI_A, "full = true;");
    struct bracket b;
    json_object *d = two_samples(in, NETPSI_B, NULL, &b);
    assert_int_equal(integer(d, "tcp/max_conn"), -1);
    assert_int_equal(integer(d, "ip/forwarding"), 2);
    assert_absent(d, "ip/forwarding_per_sec"); /* a gauge */
    assert_absent(d, "tcp/rto_min_per_sec");
    assert_non_null(at(d, "ip_ext/in_octets_per_sec"));
    assert_non_null(at(d, "icmp_msg"));
    assert_non_null(at(d, "mp_tcp_ext"));
    assert_absent(d, "bogus"); /* the malformed pair */
    assert_int_equal(integer(d, "ip6/in_receives"), 311);
    assert_non_null(at(d, "icmp6/in_msgs"));
    assert_non_null(at(d, "udp_lite6/in_datagrams"));
    assert_rate(d, "udp/in_datagrams_per_sec", 30, &b); /* the pair after it still read */
    json_object_put(d);
    inst_free(in);
}

static void put_file(const char *root, const char *rel, const char *text)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/proc/net", root);
    assert_int_equal(hp_test_put_file(dir, rel, text, "w"), 0);
}

/* One sample of in with snmp and sockstat as given: its data's text. */
static void text_is(struct inst *in, const char *snmp, const char *sockstat, const char *want)
{
    put_file(in->tmp, "snmp", snmp);
    put_file(in->tmp, "sockstat", sockstat);
    struct hp_buf text = {0};
    assert_int_equal(hp_reporter_write(&in->r, &text), 0);
    assert_string_equal(text.p, want);
    hp_buf_free(&text);
}

/* Text no kernel writes: a section named again after another, a name twice
 * in a section, a name twice in sockstat. The message's text is the one
 * json-c made of it: each key once, in its first place, with its last
 * value. Each sample has one of the three (and no rates). */
static void netstat_repeated_keys(void **state)
{
    (void)state;
    struct inst *in = inst_copy("netstat", NETPSI_A, NULL);
    put_file(in->tmp, "netstat", "");
    put_file(in->tmp, "snmp6", "");
    text_is(in, "Tcp: ActiveOpens\nTcp: 1\nUdp: InDatagrams\nUdp: 2\nTcp: CurrEstab\nTcp: 3\n",
            "TCP: inuse 4\n",
            "{\"tcp\":{\"active_opens\":1,\"curr_estab\":3},\"udp\":{\"in_datagrams\":2},"
            "\"sockets\":{\"tcp_inuse\":4}}");
    text_is(in, "Tcp: OutRsts OutRsts\nTcp: 5 6\n", "TCP: inuse 4\n",
            "{\"tcp\":{\"out_rsts\":6},\"sockets\":{\"tcp_inuse\":4}}");
    text_is(in, "Ip: Forwarding\nIp: 1\n", "TCP: inuse 6 tw 7 inuse 8\n",
            "{\"sockets\":{\"tcp_inuse\":8,\"tcp_tw\":7}}");
    inst_free(in);
}

static void netstat_absent(void **state)
{
    (void)state;
    struct inst *in = inst_new("netstat", "tests/fixtures/no-such-tree", NULL);
    int rc;
    json_object *d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    json_object_put(d);
    inst_free(in);
}

/* ---- cgroup parsers ---- */

static void cgroup_parsers(void **state)
{
    (void)state;
    static const char *const keys[] = {"anon", "kernel", "sock"};
    uint64_t v[3] = {0};
    unsigned f = hp_cg_keyed("anon 5\nkernel_stack 9\nkernel 7\nsock x\n", keys, 3, v);
    assert_int_equal(f, 3u); /* sock malformed; kernel_stack is not kernel */
    assert_int_equal(v[0], 5);
    assert_int_equal(v[1], 7);
    assert_int_equal(hp_cg_keyed(NULL, keys, 3, v), 0);
    bool unl;
    uint64_t x;
    assert_true(hp_cg_value("max\n", &x, &unl) && unl);
    assert_true(hp_cg_value("4915\n", &x, &unl) && !unl && x == 4915);
    assert_false(hp_cg_value("-5\n", &x, &unl));
    assert_false(hp_cg_value("7 8\n", &x, &unl));
    assert_false(hp_cg_value("maximum\n", &x, &unl));
    assert_false(hp_cg_value(NULL, &x, &unl));
    unsigned maj, min;
    uint64_t io[6] = {0};
    assert_true(hp_cg_io_line("8:16 rbytes=10 wbytes=20 rios=1 wios=2\n", &maj, &min, io));
    assert_int_equal(maj, 8);
    assert_int_equal(min, 16);
    assert_int_equal(io[1], 20);
    assert_int_equal(io[4], 0);
    assert_false(hp_cg_io_line("8:0 rbytes=x\n", &maj, &min, io));
    assert_false(hp_cg_io_line("8:0\n", &maj, &min, io));
    assert_false(hp_cg_io_line("zz\n", &maj, &min, io));
    assert_false(hp_cg_io_line("8 rbytes=1 wbytes=1 rios=1 wios=1\n", &maj, &min, io));
}

/* ---- cgroup reporter ---- */

static void cgroup_default_selection(void **state)
{
    (void)state;
    struct inst *in = inst_new("cgroup", CG_A, NULL);
    json_object *d = sample(in);
    assert_string_equal(json_object_get_string(at(d, "hierarchy")), "unified");
    /* every .service under system.slice, user.slice and machine.slice;
     * not the scope, the nested getty service or init.scope */
    static const char *const want[] = {NGINX,
                                       "/system.slice/sshd.service",
                                       "/system.slice/gone.service",
                                       "/system.slice/broken.service",
                                       "/user.slice",
                                       "/machine.slice"};
    assert_int_equal(json_object_object_length(at(d, "groups")), 6);
    assert_int_equal(integer(d, "matched"), 6);
    for (size_t i = 0; i < 6; i++)
        if (!grp(d, want[i]))
            fail_msg("group %s missing", want[i]);
    json_object *g = grp(d, NGINX);
    assert_int_equal(integer(g, "cpu/usage_usec"), 5000000);
    assert_int_equal(integer(g, "cpu/user_usec"), 3000000);
    assert_int_equal(integer(g, "cpu/system_usec"), 2000000);
    assert_int_equal(integer(g, "cpu/nr_periods"), 100);
    assert_int_equal(integer(g, "cpu/nr_throttled"), 10);
    assert_int_equal(integer(g, "cpu/throttled_usec"), 50000);
    assert_absent(g, "cpu/percent"); /* no previous sample */
    assert_int_equal(integer(g, "memory/current"), 104857600);
    assert_int_equal(integer(g, "memory/peak"), 209715200);
    assert_int_equal(integer(g, "memory/max"), 536870912);
    assert_null_value(at(g, "memory"), "high"); /* "max": no limit */
    assert_int_equal(integer(g, "memory/anon"), 52428800);
    assert_int_equal(integer(g, "memory/file"), 41943040);
    assert_int_equal(integer(g, "memory/kernel"), 8388608);
    assert_int_equal(integer(g, "memory/sock"), 4096);
    assert_int_equal(integer(g, "memory/shmem"), 1048576);
    assert_int_equal(integer(g, "memory/events/high"), 5);
    assert_int_equal(integer(g, "memory/events/max"), 2);
    assert_int_equal(integer(g, "memory/events/oom"), 1);
    assert_int_equal(integer(g, "memory/events/oom_kill"), 1);
    assert_int_equal(integer(g, "io/sda/rbytes"), 1048576);
    assert_int_equal(integer(g, "io/sda/wios"), 200);
    assert_int_equal(integer(g, "io/dm-0/rios"), 1);
    assert_int_equal(integer(g, "pids/current"), 12);
    assert_int_equal(integer(g, "pids/max"), 4915);
    assert_num(g, "pressure/cpu/some/avg10", 1.5);
    assert_int_equal(integer(g, "pressure/cpu/full/total"), 100000);
    assert_int_equal(integer(g, "pressure/io/some/total"), 40000);
    g = grp(d, "/system.slice/sshd.service");
    assert_null_value(at(g, "memory"), "max");
    assert_null_value(at(g, "pids"), "max");
    assert_absent(g, "io"); /* no io.stat: controller not enabled */
    json_object_put(d);
    inst_free(in);
}

static void cgroup_malformed_files(void **state)
{
    (void)state;
    struct inst *in = inst_new("cgroup", CG_A, "paths = \"/system.slice/broken.service\";");
    json_object *d = sample(in);
    json_object *g = grp(d, "/system.slice/broken.service");
    assert_non_null(g);
    assert_int_equal(integer(g, "cpu/system_usec"), 20);
    assert_absent(g, "cpu/usage_usec");
    assert_absent(g, "cpu/user_usec");
    assert_absent(g, "cpu/throttled_usec");
    assert_absent(g, "memory/current");
    assert_absent(g, "memory/max");
    assert_absent(g, "pids");
    assert_int_equal(integer(g, "memory/events/high"), 3);
    assert_absent(g, "memory/events/oom");
    assert_int_equal(json_object_object_length(at(g, "io")), 1);
    assert_int_equal(integer(g, "io/8:16/wbytes"), 20); /* no sysfs link: MAJ:MIN */
    assert_int_equal(integer(g, "io/8:16/dios"), 0);
    assert_absent(g, "pressure/cpu/some");
    assert_int_equal(integer(g, "pressure/cpu/full/total"), 7);
    assert_absent(g, "pressure/memory");
    assert_absent(g, "pressure/io");
    json_object_put(d);
    inst_free(in);
}

static void cgroup_two_samples(void **state)
{
    (void)state;
    struct inst *in = inst_copy("cgroup", CG_A, NULL);
    struct bracket b;
    json_object *d =
        two_samples(in, CG_B, "rm -r %s/sys/fs/cgroup/system.slice/gone.service #%s", &b);
    json_object *g = grp(d, NGINX);
    assert_rate(g, "cpu/usage_usec_per_sec", 2000000, &b);
    assert_rate(g, "cpu/user_usec_per_sec", 1200000, &b);
    assert_rate(g, "cpu/nr_throttled_per_sec", 5, &b);
    assert_rate(g, "cpu/throttled_usec_per_sec", 30000, &b);
    double pct = num(g, "cpu/percent"), rate = num(g, "cpu/usage_usec_per_sec");
    assert_float_equal(pct, rate / 1e4, 0.006);
    assert_int_equal(integer(g, "memory/current"), 125829120);
    assert_rate(g, "memory/events/high_per_sec", 2, &b);
    assert_rate(g, "memory/events/oom_kill_per_sec", 0, &b);
    assert_rate(g, "io/sda/rbytes_per_sec", 2097152, &b);
    assert_rate(g, "io/sda/rios_per_sec", 50, &b);
    assert_rate(g, "io/dm-0/rbytes_per_sec", 0, &b);
    assert_rate(g, "pressure/cpu/some/total_per_sec", 200000, &b);
    assert_int_equal(integer(g, "pids/current"), 14);
    g = grp(d, "/system.slice/sshd.service");
    assert_int_equal(integer(g, "cpu/usage_usec"), 100);
    assert_absent(g, "cpu/usage_usec_per_sec"); /* reset */
    assert_absent(g, "cpu/percent");
    assert_null(grp(d, "/system.slice/gone.service"));
    g = grp(d, "/system.slice/new.service");
    assert_int_equal(integer(g, "cpu/usage_usec"), 2000);
    assert_absent(g, "cpu/usage_usec_per_sec");
    assert_rate(grp(d, "/user.slice"), "cpu/usage_usec_per_sec", 1000000, &b);
    json_object_put(d);
    inst_free(in);
}

/* A group removed and created again under the same name between two
 * samples (a restarted unit) has new counters: no rate spans both. */
static void cgroup_recreated_group_has_no_rates(void **state)
{
    (void)state;
    struct inst *in = inst_copy("cgroup", CG_A, "paths = \"/system.slice/nginx.service\";");
    struct bracket b;
    json_object *d = two_samples(in, CG_B,
                                 "cd %s/sys/fs/cgroup/system.slice && cp -a nginx.service n2 && "
                                 "rm -r nginx.service && mv n2 nginx.service # %s",
                                 &b);
    json_object *g = grp(d, NGINX);
    assert_int_equal(integer(g, "cpu/usage_usec"), 7000000);
    assert_absent(g, "cpu/usage_usec_per_sec");
    assert_absent(g, "memory/events/high_per_sec");
    assert_absent(g, "io/sda/rbytes_per_sec");
    json_object_put(d);
    inst_free(in);
}

/* Two io.stat lines naming one device are one member, at the first line's
 * place with the last line's counters (json-c's object_add replaced the
 * value in place). Checked on the text: parsing it back would hide a key
 * written twice. */
static void cgroup_device_named_twice(void **state)
{
    (void)state;
    struct inst *in = inst_copy("cgroup", CG_A, "paths = \"" NGINX "\";");
    shell("printf '8:0 rbytes=1 wbytes=2 rios=3 wios=4\\n253:0 rbytes=5 wbytes=0 rios=1 wios=0\\n"
          "8:0 rbytes=7 wbytes=8 rios=9 wios=10\\n' >%s/sys/fs/cgroup%s/io.stat",
          in->tmp, NGINX);
    struct hp_buf text = {0};
    assert_int_equal(hp_reporter_write(&in->r, &text), 0);
    assert_non_null(strstr(text.p, "\"io\":{\"sda\":{\"rbytes\":7,\"wbytes\":8,\"rios\":9,"
                                   "\"wios\":10,\"dbytes\":0,\"dios\":0},\"dm-0\":{\"rbytes\":5,"));
    assert_null(strstr(strstr(text.p, "\"sda\"") + 1, "\"sda\""));
    hp_buf_free(&text);
    inst_free(in);
}

static void cgroup_selection_options(void **state)
{
    (void)state;
    struct inst *in = inst_new("cgroup", CG_A,
                               "units = [\"getty@*.service\"]; slices = \"user-1000.slice\";"
                               "paths = [\"/system.slice/docker-*.scope\", \"/\"];");
    json_object *d = sample(in);
    assert_int_equal(json_object_object_length(at(d, "groups")), 4);
    assert_non_null(grp(d, "/system.slice/system-getty.slice/getty@tty1.service"));
    assert_non_null(grp(d, "/user.slice/user-1000.slice/session-1.scope"));
    assert_int_equal(integer(grp(d, "/system.slice/docker-abc123.scope"), "cpu/usage_usec"),
                     300000);
    assert_int_equal(integer(grp(d, "/"), "cpu/usage_usec"), 454657962); /* this host's root */
    json_object_put(d);
    inst_free(in);

    in = inst_new("cgroup", CG_A, "units = \"*\"; depth = 1;");
    d = sample(in); /* only the first level: 2 slices, 2 scopes... no deeper */
    assert_int_equal(json_object_object_length(at(d, "groups")), 4);
    assert_non_null(grp(d, "/init.scope"));
    json_object_put(d);
    inst_free(in);

    in = inst_new("cgroup", CG_A, "units = \"*\"; max_groups = 2;");
    d = sample(in);
    assert_int_equal(json_object_object_length(at(d, "groups")), 2);
    json_object_put(d);
    inst_free(in);
}

static void cgroup_top_n(void **state)
{
    (void)state;
    struct inst *in = inst_new("cgroup", CG_A, "top = 2; top_by = \"memory\";");
    json_object *d = sample(in);
    assert_int_equal(json_object_object_length(at(d, "groups")), 2);
    assert_non_null(grp(d, "/user.slice")); /* 1 GiB */
    assert_non_null(grp(d, NGINX));         /* 100 MiB */
    assert_int_equal(integer(d, "matched"), 6);
    json_object_put(d);
    inst_free(in);

    in = inst_copy("cgroup", CG_A, "top = 1;");
    struct bracket b;
    d = two_samples(in, CG_B, NULL, &b); /* nginx +2 s of cpu, user.slice +1 s */
    assert_int_equal(json_object_object_length(at(d, "groups")), 1);
    assert_non_null(grp(d, NGINX));
    assert_rate(grp(d, NGINX), "cpu/usage_usec_per_sec", 2000000, &b);
    json_object_put(d);
    inst_free(in);
}

static void cgroup_v1_and_hybrid(void **state)
{
    (void)state;
    struct inst *in = inst_new("cgroup", "tests/fixtures/cgroup-v1", NULL);
    int rc;
    json_object *d = sample_rc(in, &rc);
    assert_int_equal(rc, -1);
    json_object_put(d);
    inst_free(in);

    in = inst_new("cgroup", "tests/fixtures/cgroup-hybrid", "paths = \"/hp-*\";");
    d = sample(in);
    assert_string_equal(json_object_get_string(at(d, "hierarchy")), "hybrid");
    assert_int_equal(integer(grp(d, "/hp-live"), "cpu/usage_usec"), 500);
    assert_absent(grp(d, "/hp-live"), "memory");
    json_object_put(d);
    inst_free(in);
}

/* ---- option errors ---- */

static void keep_line(void *ud, const char *line)
{
    snprintf(ud, 512, "%s", line);
}

/* A bad option of a new reporter is a FILE:LINE error naming the field. */
static void bad_options_name_their_line(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"cgroup", "a = 1;\nr: {\n top_by = \"disk\"; };", "top_by"},
        {"cgroup", "r: { top = -1; };", "top"},
        {"cgroup", "r: { paths = 5; };", "paths"},
        {"cgroup", "r: { max_group = 5; };", "max_group"},
        {"netstat", "r: { full = \"yes\"; };", "full"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_t cfg;
        config_init(&cfg);
        assert_int_equal(config_read_string(&cfg, cases[i][1]), CONFIG_TRUE);
        char line[512] = "";
        struct hp_errs errs = {.fallback_file = "x.conf", .emit = keep_line, .ud = line};
        assert_int_equal(hp_opts_check(config_lookup(&cfg, "r"),
                                       hp_reporter_find(cases[i][0])->opts, NULL, &errs),
                         1);
        if (!strstr(line, "x.conf:") || !strstr(line, cases[i][2]))
            fail_msg("case %zu: %s", i, line);
        if (i == 0 && !strstr(line, "x.conf:3:")) /* the line of top_by */
            fail_msg("case 0: %s", line);
        config_destroy(&cfg);
    }
}

/* ---- process selection by unit and cgroup ---- */

static void cgroup_selects_units_and_paths(void **state)
{
    (void)state;
    const char *nginx = "/system.slice/nginx.service";
    assert_true(hp_cgroup_selects(nginx, "nginx.service", NULL));
    assert_true(hp_cgroup_selects(nginx, "*.service", NULL));
    assert_false(hp_cgroup_selects(nginx, "sshd.service", NULL));
    assert_false(hp_cgroup_selects(nginx, "nginx", NULL)); /* a whole component */
    /* a unit's sub-groups (delegation) and a slice's members */
    assert_true(hp_cgroup_selects("/system.slice/nginx.service/workers", "nginx.service", NULL));
    assert_true(hp_cgroup_selects(nginx, "system.slice", NULL));
    assert_true(hp_cgroup_selects(nginx, NULL, "/system.slice/nginx.service"));
    assert_true(hp_cgroup_selects(nginx, NULL, "/system.slice"));
    assert_true(hp_cgroup_selects(nginx, NULL, "/"));
    assert_false(hp_cgroup_selects(nginx, NULL, "/system"));    /* not a prefix of a name */
    assert_false(hp_cgroup_selects(nginx, NULL, "/*.service")); /* globs stay in a component */
    const char *docker = "/system.slice/docker-0123abcd.scope";
    assert_true(hp_cgroup_selects(docker, NULL, "/system.slice/docker-*.scope"));
    assert_true(hp_cgroup_selects(docker, "docker-*.scope", "/system.slice"));
    assert_false(hp_cgroup_selects(docker, "docker-*.scope", "/user.slice"));
    assert_true(hp_cgroup_selects("/", NULL, "/"));
    assert_false(hp_cgroup_selects(NULL, NULL, NULL));
}

int main(void)
{
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(psi_parses_and_rejects),
        cmocka_unit_test(pressure_fixture),
        cmocka_unit_test(pressure_rates_resets_and_bad_lines),
        cmocka_unit_test(pressure_absent),
        cmocka_unit_test(snake_case_names),
        cmocka_unit_test(netstat_default_set),
        cmocka_unit_test(netstat_rates_gauges_resets),
        cmocka_unit_test(netstat_header_change),
        cmocka_unit_test(netstat_snmp6_line_change),
        cmocka_unit_test(netstat_full_and_malformed),
        cmocka_unit_test(netstat_repeated_keys),
        cmocka_unit_test(netstat_absent),
        cmocka_unit_test(cgroup_parsers),
        cmocka_unit_test(cgroup_default_selection),
        cmocka_unit_test(cgroup_malformed_files),
        cmocka_unit_test(cgroup_two_samples),
        cmocka_unit_test(cgroup_recreated_group_has_no_rates),
        cmocka_unit_test(cgroup_device_named_twice),
        cmocka_unit_test(cgroup_selection_options),
        cmocka_unit_test(cgroup_top_n),
        cmocka_unit_test(cgroup_v1_and_hybrid),
        cmocka_unit_test(cgroup_selects_units_and_paths),
        cmocka_unit_test(bad_options_name_their_line),
    };
    return cmocka_run_group_tests_name("reporters_new", tests, NULL, NULL);
}
