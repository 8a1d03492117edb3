/* SPDX-License-Identifier: Apache-2.0 */
/* test_process.c -- the process reporter against the fixture tree
 * tests/fixtures/process (a hand-extended capture of /proc): exact values
 * computed by hand from the fixture files, two-sample rates with given
 * times, counter resets, vanished processes and missing files, watch group
 * selectors and their configuration errors, and the parsers and pid table
 * underneath. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/config.h"
#include "lib/buf.h"
#include "lib/jw.h"
#include "reporters/pidtab.h"
#include "reporters/proc_pid.h"
#include "reporters/process.h"
#include "tests/unit/testutil.h"

#define FIXTURE "tests/fixtures/process"
#define SEC     1000000000LL

struct fx {
    config_t cfg;
    bool configured; /* cfg is read: release() destroys it */
    struct hp_reporter r;
    bool running;      /* r's init succeeded: release() calls fini */
    char tmp[64];      /* a writable copy of the fixture, when made */
    char errors[4096]; /* init's messages, one per line */
};

static void collect(void *ud, const char *line)
{
    struct fx *f = ud;
    size_t l = strlen(f->errors);
    snprintf(f->errors + l, sizeof(f->errors) - l, "%s\n", line);
}

/* Parse conf (a libconfig text with a `process` group) and init the
 * reporter on root. Returns init's result. */
static int start(struct fx *f, const char *root, const char *conf)
{
    memset(f->errors, 0, sizeof(f->errors));
    config_init(&f->cfg);
    f->configured = true;
    assert_int_equal(config_read_string(&f->cfg, conf), CONFIG_TRUE);
    const config_setting_t *g = config_lookup(&f->cfg, "process");
    struct hp_errs e = {.fallback_file = "test.conf", .emit = collect, .ud = f};
    assert_int_equal(hp_opts_check(g, hp_reporter_process.opts, hp_reporter_common_opts, &e), 0);
    memset(&f->r, 0, sizeof(f->r));
    f->r.ops = &hp_reporter_process;
    f->r.proc_root = root;
    f->r.sys_root = "/sys";
    f->r.interval = 1.0;
    int rc = hp_reporter_process.init(&f->r, g, &e);
    f->running = rc == 0;
    return rc;
}

/* Undo what start() and copy_fixture() did, whichever ran (twice is
 * harmless). 0, or -1 if the copy could not be removed. */
static int release(struct fx *f)
{
    if (f->running)
        hp_reporter_process.fini(&f->r);
    if (f->configured)
        config_destroy(&f->cfg);
    f->running = f->configured = false;
    int rc = f->tmp[0] ? hp_test_rmtree(f->tmp) : 0;
    f->tmp[0] = '\0';
    return rc;
}

static void stop(struct fx *f)
{
    assert_int_equal(release(f), 0);
}

/* A writable copy of the fixture tree in f->tmp. */
static const char *copy_fixture(struct fx *f)
{
    assert_non_null(hp_test_copytree(f->tmp, sizeof(f->tmp), "process", FIXTURE));
    return f->tmp;
}

static void put_file(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void add_dir(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void remove_path(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_int_equal(hp_test_rmtree(path), 0);
}

/* cmocka fixtures: a zeroed struct fx in *state; with_copy also gives it
 * a writable copy of the fixture tree (f->tmp). The teardown stops what
 * the test left running and removes the copy, also after a failure. */
static int fresh(void **state)
{
    *state = calloc(1, sizeof(struct fx));
    return *state ? 0 : -1;
}

static int with_copy(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    *state = f;
    return f && hp_test_copytree(f->tmp, sizeof(f->tmp), "process", FIXTURE) ? 0 : -1;
}

static int cleanup(void **state)
{
    struct fx *f = *state;
    int rc = f ? release(f) : 0;
    free(f);
    return rc;
}

/* Make root/self point at our own pid: root is then the agent's own pid
 * namespace, where the reporter may trust loadavg's last pid. */
static void self_is_us(const char *root)
{
    char self[32], link[512];
    snprintf(self, sizeof(self), "%d", (int)getpid());
    snprintf(link, sizeof(link), "%s/self", root);
    remove_path(root, "self");
    assert_int_equal(symlink(self, link), 0);
}

/* One sample at now_ns, written as the scheduler writes it and parsed
 * into a tree, or NULL when it gave none. */
static json_object *sample(struct fx *f, int64_t now_ns)
{
    struct hp_buf text = {0};
    struct hp_jw w;
    hp_jw_start(&w, &text);
    int rc = hp_process_write_at(&f->r, &w, now_ns);
    if (hp_jw_finish(&w) != 0)
        rc = -1;
    json_object *data = rc == 0 ? json_tokener_parse(text.p) : NULL;
    if (rc == 0 && !data)
        fail_msg("not JSON: %s", text.p);
    hp_buf_free(&text);
    return data;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int64_t num(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!v)
        fail_msg("missing %s in %s", key, json_object_to_json_string(o));
    return json_object_get_int64(v);
}

static double dbl(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!v)
        fail_msg("missing %s in %s", key, json_object_to_json_string(o));
    return json_object_get_double(v);
}

static const char *str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    if (!v)
        fail_msg("missing %s in %s", key, json_object_to_json_string(o));
    return json_object_get_string(v);
}

/* The watched entry of pid, or NULL. */
static json_object *proc_of(json_object *data, int pid)
{
    json_object *list = get(data, "watched");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        if (num(e, "pid") == pid)
            return e;
    }
    return NULL;
}

/* The watched pids, "100,101" */
static const char *pids(json_object *data, char *buf, size_t len)
{
    json_object *list = get(data, "watched");
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%lld", i ? "," : "",
                 (long long)num(json_object_array_get_idx(list, i), "pid"));
    }
    return buf;
}

static const char *labels(json_object *e, char *buf, size_t len)
{
    json_object *list = get(e, "watch");
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", i ? "," : "",
                 json_object_get_string(json_object_array_get_idx(list, i)));
    }
    return buf;
}

/* Counts, and every field of nginx master (pid 100) from its files:
 * stat utime 1000 stime 500 ticks (100 Hz), rss 2000 pages, vsize 60000000,
 * starttime 200000 ticks after btime 1700000000; MemTotal 1000000 kB. */
static void fixture_values(void **state)
{
    struct fx *f = *state;
    assert_int_equal(start(f, FIXTURE,
                           "process: { cmdline = true; watch = ( { name = \"nginx\"; "
                           "aggregate = true; }, { self = true; } ); };"),
                     0);
    json_object *d = sample(f, 10 * SEC);
    assert_non_null(d);
    assert_int_equal(num(d, "processes"), 8);
    assert_int_equal(num(d, "threads"), 14); /* 1+1+1+2+3+1+1+4 */
    json_object *st = get(d, "states");
    assert_int_equal(num(st, "running"), 1);
    assert_int_equal(num(st, "sleeping"), 4);
    assert_int_equal(num(st, "disk_sleep"), 1);
    assert_int_equal(num(st, "zombie"), 1);
    assert_int_equal(num(st, "idle"), 1);
    assert_int_equal(num(st, "stopped"), 0);
    assert_int_equal(num(st, "other"), 0);
    char buf[256];
    assert_string_equal(pids(d, buf, sizeof(buf)), "100,101,102,300");

    json_object *m = proc_of(d, 100);
    assert_int_equal(num(m, "ppid"), 1);
    assert_string_equal(str(m, "name"), "nginx");
    assert_string_equal(str(m, "state"), "sleeping");
    assert_true(dbl(m, "utime") == 10.0);
    assert_true(dbl(m, "stime") == 5.0);
    assert_null(get(m, "cpu_percent")); /* first sample */
    assert_int_equal(num(m, "rss"), 2000 * sysconf(_SC_PAGESIZE));
    assert_int_equal(num(m, "vms"), 60000000);
    assert_true(dbl(m, "memory_percent") == 0.8); /* 8192000 / 1024000000 */
    assert_int_equal(num(m, "threads"), 1);
    assert_int_equal(num(m, "nice"), 0);
    assert_int_equal(num(m, "priority"), 20);
    assert_int_equal(num(m, "start_time"), 1700000000000LL + 200000 * 10);
    assert_int_equal(num(m, "uid"), 0);
    assert_string_equal(str(m, "user"), "root");
    assert_int_equal(num(m, "ctx_voluntary"), 100);
    assert_int_equal(num(m, "ctx_involuntary"), 5);
    assert_int_equal(num(m, "read_bytes"), 4096);
    assert_int_equal(num(m, "write_bytes"), 8192);
    assert_null(get(m, "read_bytes_rate"));
    assert_int_equal(num(m, "fds"), 6);
    assert_string_equal(str(m, "cmdline"), "nginx: master process /usr/sbin/nginx -g daemon on;");
    assert_string_equal(str(m, "cgroup"), "/system.slice/nginx.service");
    assert_string_equal(str(m, "unit"), "nginx.service");
    assert_string_equal(labels(m, buf, sizeof(buf)), "nginx");

    json_object *w = proc_of(d, 101);
    assert_int_equal(num(w, "uid"), 33);
    assert_int_equal(num(w, "start_time"), 1700000000000LL + 200010 * 10);
    json_object *w2 = proc_of(d, 102); /* no io file in the fixture */
    assert_null(get(w2, "read_bytes"));
    assert_int_equal(num(w2, "nice"), 5);
    assert_int_equal(num(w2, "threads"), 2);
    json_object *self = proc_of(d, 300);
    assert_string_equal(str(self, "name"), "hostpulse");
    assert_string_equal(str(self, "state"), "running");
    assert_string_equal(str(self, "unit"), "hostpulse.service");
    assert_string_equal(labels(self, buf, sizeof(buf)), "self");

    json_object *aggs = get(d, "aggregates");
    assert_int_equal(json_object_array_length(aggs), 1);
    json_object *a = json_object_array_get_idx(aggs, 0);
    assert_string_equal(str(a, "watch"), "nginx");
    assert_int_equal(num(a, "count"), 3);
    assert_int_equal(num(a, "rss"), 5000 * sysconf(_SC_PAGESIZE));
    assert_int_equal(num(a, "vms"), 183000000);
    assert_int_equal(num(a, "threads"), 4);
    assert_int_equal(num(a, "fds"), 14);
    assert_true(dbl(a, "utime") == 15.0); /* (1000 + 300 + 200) / 100 */
    assert_null(get(a, "read_bytes"));    /* 102's io is missing */
    json_object_put(d);
}

/* The keys of object o in their order, "a,b,c"; of an array, its
 * elements' text. */
static const char *keys(json_object *o, char *buf, size_t len)
{
    buf[0] = '\0';
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            size_t l = strlen(buf);
            snprintf(buf + l, len - l, "%s%s", i ? "," : "",
                     json_object_get_string(json_object_array_get_idx(o, i)));
        }
        return buf;
    }
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", l ? "," : "", key);
    }
    return buf;
}

/* Members in the order downstream columns follow, every optional one
 * present (a second sample has the rates); each aggregate lists the pids
 * of its group as `watched` does, and one that selects nothing has its
 * label, count and pids only. */
static void member_order(void **state)
{
    struct fx *f = *state;
    assert_int_equal(
        start(f, FIXTURE,
              "process: { cmdline = true; watch = ( { name = \"nginx\"; "
              "aggregate = true; }, { pid = 100; label = \"master\"; aggregate = "
              "true; }, { name = \"none\"; aggregate = true; }, { self = true; } ); };"),
        0);
    json_object_put(sample(f, 10 * SEC));
    json_object *d = sample(f, 12 * SEC);
    assert_non_null(d);
    char buf[1024];
    assert_string_equal(keys(d, buf, sizeof(buf)), "processes,threads,states,watched,aggregates");
    assert_string_equal(keys(get(d, "states"), buf, sizeof(buf)),
                        "running,sleeping,disk_sleep,stopped,tracing_stop,zombie,dead,idle,"
                        "parked,other");
    assert_string_equal(keys(proc_of(d, 100), buf, sizeof(buf)),
                        "pid,ppid,name,state,utime,stime,cpu_percent,rss,vms,memory_percent,"
                        "threads,nice,priority,start_time,uid,user,ctx_voluntary,ctx_involuntary,"
                        "read_bytes,write_bytes,read_bytes_rate,write_bytes_rate,fds,cmdline,"
                        "cgroup,unit,watch");
    assert_string_equal(keys(get(proc_of(d, 100), "watch"), buf, sizeof(buf)), "nginx,master");
    json_object *aggs = get(d, "aggregates");
    assert_int_equal(json_object_array_length(aggs), 3);
    json_object *nginx = json_object_array_get_idx(aggs, 0);
    assert_string_equal(keys(nginx, buf, sizeof(buf)),
                        "watch,count,pids,utime,stime,cpu_percent,rss,vms,memory_percent,"
                        "threads,fds");
    assert_string_equal(keys(get(nginx, "pids"), buf, sizeof(buf)), "100,101,102");
    json_object *master = json_object_array_get_idx(aggs, 1);
    assert_string_equal(keys(master, buf, sizeof(buf)),
                        "watch,count,pids,utime,stime,cpu_percent,rss,vms,memory_percent,"
                        "threads,read_bytes,write_bytes,read_bytes_rate,write_bytes_rate,fds");
    assert_string_equal(keys(get(master, "pids"), buf, sizeof(buf)), "100");
    json_object *none = json_object_array_get_idx(aggs, 2);
    assert_string_equal(keys(none, buf, sizeof(buf)), "watch,count,pids");
    assert_string_equal(str(none, "watch"), "none");
    assert_int_equal(num(none, "count"), 0);
    assert_int_equal(json_object_array_length(get(none, "pids")), 0);
    json_object_put(d);
}

/* The same scan with the odd ones: comm with spaces and parentheses, a
 * zombie with an empty command line, a kernel thread; labels from every
 * selector; one process selected by several groups is listed once. */
static void selectors(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    char conf[1024];
    put_file(root, "nginx.pid", "101\n");
    snprintf(conf, sizeof(conf),
             "process: { cmdline = true; watch = ("
             " { pidfile = \"%s/nginx.pid\"; },"
             " { cmdline = \"master process\"; label = \"master\"; },"
             " { user = \"www-data\"; },"
             " { pid = 200; },"
             " { top = 2; by = \"memory\"; },"
             " { name = \"kworker\"; }"
             " ); };",
             root);
    assert_int_equal(start(f, root, conf), 0);
    json_object *d = sample(f, SEC);
    char buf[256], lb[256];
    /* www-data (uid 33): 101, 102, 201; top memory: 300 (5000 pages), 1 (3000) */
    assert_string_equal(pids(d, buf, sizeof(buf)), "1,100,101,102,200,201,300");
    char want101[600];
    snprintf(want101, sizeof(want101), "%s/nginx.pid,user:www-data", root);
    assert_string_equal(labels(proc_of(d, 101), lb, sizeof(lb)), want101);
    assert_string_equal(labels(proc_of(d, 100), lb, sizeof(lb)), "master");
    assert_string_equal(labels(proc_of(d, 1), lb, sizeof(lb)), "top:memory");
    json_object *odd = proc_of(d, 200);
    assert_string_equal(str(odd, "name"), "my (weird) prog");
    assert_string_equal(str(odd, "state"), "disk_sleep");
    assert_string_equal(str(odd, "cmdline"), "./my (weird) prog --flag");
    assert_string_equal(str(odd, "unit"), "session-3.scope");
    assert_string_equal(str(proc_of(d, 201), "cmdline"), "");
    assert_string_equal(str(proc_of(d, 201), "state"), "zombie");
    assert_null(get(d, "aggregates"));
    json_object_put(d);

    /* the pid file now names another process: re-read each sample */
    put_file(root, "nginx.pid", "100\n");
    d = sample(f, 2 * SEC);
    snprintf(want101, sizeof(want101), "%s/nginx.pid,master", root);
    assert_string_equal(labels(proc_of(d, 100), lb, sizeof(lb)), want101);
    json_object_put(d);
}

static void set_stat(const char *root, int pid, const char *text)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "%d/stat", pid);
    put_file(root, rel, text);
}

static void set_schedstat(const char *root, int pid, const char *text)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "%d/schedstat", pid);
    put_file(root, rel, text);
}

#define TAIL " 18446744073709551615 1 1 0 0 0 0 0 4096 1260 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
#define TAIL_THREAD                                                                                \
    " 18446744073709551615 1 1 0 0 0 0 0 4096 1260 0 0 0 -1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

/* Two samples 2 s apart: nginx master used 100 more ticks (1 s of cpu:
 * 50 %) and read 2000 more bytes (1000 B/s). */
static void two_sample_rates(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    assert_int_equal(
        start(f, root, "process: { watch = ( { name = \"nginx\"; aggregate = true; } ); };"), 0);
    json_object_put(sample(f, 10 * SEC));
    set_stat(root, 100,
             "100 (nginx) S 1 100 100 0 -1 4194624 500 0 0 0 1050 550 0 0 20 0 1 0 "
             "200000 60000000 2000" TAIL);
    put_file(root, "100/io", "read_bytes: 6096\nwrite_bytes: 8192\n");
    json_object *d = sample(f, 12 * SEC);
    json_object *m = proc_of(d, 100);
    assert_true(dbl(m, "cpu_percent") == 50.0);
    assert_true(dbl(m, "read_bytes_rate") == 1000.0);
    assert_true(dbl(m, "write_bytes_rate") == 0.0);
    assert_true(dbl(proc_of(d, 101), "cpu_percent") == 0.0);
    json_object *a = json_object_array_get_idx(get(d, "aggregates"), 0);
    assert_true(dbl(a, "cpu_percent") == 50.0);
    json_object_put(d);
}

/* 101 and 102 after 10 and 50 more ticks of user time than the fixture
 * gives them (utime 300 -> 310, 200 -> 250) */
#define BUSY_101                                                                                   \
    "101 (nginx) S 100 100 100 0 -1 4194624 300 0 0 0 310 100 0 0 20 0 1 0 200010 61000000 "       \
    "1500" TAIL
#define BUSY_102                                                                                   \
    "102 (nginx) S 100 100 100 0 -1 4194624 300 0 0 0 250 100 0 0 25 5 2 0 200020 62000000 "       \
    "1500" TAIL

/* top by cpu ranks by ticks used in the interval, not since start: 1 and
 * 100 have more in total, but 102 and 101 were the busy ones. */
static void top_by_cpu(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    assert_int_equal(start(f, root, "process: { watch = ( { top = 2; } ); };"), 0);
    json_object_put(sample(f, 10 * SEC));
    set_stat(root, 101, BUSY_101);
    set_stat(root, 102, BUSY_102);
    json_object *d = sample(f, 11 * SEC);
    char buf[64];
    assert_string_equal(pids(d, buf, sizeof(buf)), "101,102");
    assert_true(dbl(proc_of(d, 102), "cpu_percent") == 50.0);
    assert_true(dbl(proc_of(d, 101), "cpu_percent") == 10.0);
    assert_string_equal(labels(proc_of(d, 102), buf, sizeof(buf)), "top:cpu");
    json_object_put(d);
}

/* The same ranking when schedstat says who ran: 101 and 102 ran (102
 * has two threads and is read anyway) and rank first; 1 did not run, so
 * its record is kept and it used 0 ticks, even though (impossibly) its
 * stat file shows more: proof that its stat was not read. */
static void top_by_cpu_after_schedstat(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    set_schedstat(root, 1, "7000000 0 9\n");
    set_schedstat(root, 101, "8000000 0 9\n");
    set_schedstat(root, 102, "9000000 0 9\n");
    assert_int_equal(start(f, root, "process: { watch = ( { top = 2; } ); };"), 0);
    json_object_put(sample(f, 10 * SEC));
    set_schedstat(root, 101, "8100000 0 10\n");
    set_stat(root, 101, BUSY_101);
    set_stat(root, 102, BUSY_102);
    set_stat(root, 1,
             "1 (systemd) S 0 1 1 0 -1 4194560 1000 2000 10 20 250 250 30 40 20 0 1 0 5 "
             "170000000 3000" TAIL);
    json_object *d = sample(f, 11 * SEC);
    char buf[64];
    assert_string_equal(pids(d, buf, sizeof(buf)), "101,102");
    assert_true(dbl(proc_of(d, 102), "cpu_percent") == 50.0);
    assert_true(dbl(proc_of(d, 101), "cpu_percent") == 10.0);
    json_object_put(d);
}

/* pid 101 is replaced by a new process (same pid, later start time) and
 * 102 exits: the new 101's cpu covers only its own life (40 ticks over 2 s
 * = 20 %), never a negative or huge value; 102 is gone from the list. A
 * restart whose start time is before the last sample (cannot be timed)
 * gets no cpu_percent at all. */
static void counter_reset_and_exit(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    assert_int_equal(start(f, root, "process: { watch = ( { name = \"nginx\"; } ); };"), 0);
    json_object_put(sample(f, 10 * SEC));
    put_file(root, "uptime", "5002.00 9000.00\n");
    set_stat(root, 101,
             "101 (nginx) S 100 100 100 0 -1 4194624 300 0 0 0 30 10 0 0 20 0 1 0 "
             "500100 61000000 1500" TAIL);
    set_stat(root, 100,
             "100 (nginx) S 1 100 100 0 -1 4194624 500 0 0 0 5 5 0 0 20 0 1 0 "
             "199000 60000000 2000" TAIL);
    remove_path(root, "102");
    json_object *d = sample(f, 12 * SEC);
    char buf[64];
    assert_string_equal(pids(d, buf, sizeof(buf)), "100,101");
    assert_true(dbl(proc_of(d, 101), "cpu_percent") == 20.0);
    assert_null(get(proc_of(d, 100), "cpu_percent"));
    json_object_put(d);
    /* 101 stays the same process: a normal delta again */
    set_stat(root, 101,
             "101 (nginx) S 100 100 100 0 -1 4194624 300 0 0 0 50 10 0 0 20 0 1 0 "
             "500100 61000000 1500" TAIL);
    d = sample(f, 14 * SEC);
    assert_true(dbl(proc_of(d, 101), "cpu_percent") == 10.0);
    json_object_put(d);
}

/* In the agent's own pid namespace (self -> our pid) the pass skips
 * listing /proc while loadavg's last pid stays put: no pid was handed out,
 * so no process can be new. A directory appearing without a new last pid
 * (which the kernel never does) shows that the listing was skipped. When
 * the last pid moved up a little, the pass tries only the pids handed out
 * since (a thread's id among them is left out: exit_signal -1); a larger
 * jump brings the listing back. */
static void relists_only_after_a_new_pid(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    self_is_us(root);
    put_file(root, "loadavg", "0.00 0.00 0.00 1/120 102\n");
    assert_int_equal(start(f, root, "process: { watch = ( { name = \"nginx\"; } ); };"), 0);
    json_object_put(sample(f, 10 * SEC));
    const char *nginx = "(nginx) S 100 100 100 0 -1 4194624 300 0 0 0 200 100 0 0 25 5 2 0 "
                        "200030 62000000 1500";
    char text[512];
    for (int pid = 103; pid <= 104; pid++) {
        add_dir(root, pid == 103 ? "103" : "104");
        /* 104 is a thread of 100: its exit_signal (field 38) is -1 */
        snprintf(text, sizeof(text), "%d %s%s", pid, nginx, pid == 103 ? TAIL : TAIL_THREAD);
        set_stat(root, pid, text);
    }
    char buf[64];
    json_object *d = sample(f, 11 * SEC);
    assert_string_equal(pids(d, buf, sizeof(buf)), "100,101,102");
    json_object_put(d);
    put_file(root, "loadavg", "0.00 0.00 0.00 1/121 104\n");
    d = sample(f, 12 * SEC);
    assert_string_equal(pids(d, buf, sizeof(buf)), "100,101,102,103");
    json_object_put(d);
    remove_path(root, "104");
    add_dir(root, "99");
    snprintf(text, sizeof(text), "99 %s%s", nginx, TAIL);
    set_stat(root, 99, text); /* only a listing finds it */
    put_file(root, "loadavg", "0.00 0.00 0.00 1/122 400\n");
    d = sample(f, 13 * SEC);
    assert_string_equal(pids(d, buf, sizeof(buf)), "99,100,101,102,103");
    json_object_put(d);
}

/* The count of processes in state (a name of hp_pid_state_names) of a
 * sample, which is then released. */
static int64_t state_count(json_object *d, const char *state)
{
    assert_non_null(d);
    int64_t n = num(get(d, "states"), state);
    json_object_put(d);
    return n;
}

#define STOPPED_100                                                                                \
    "100 (nginx) T 1 100 100 0 -1 4194624 500 0 0 0 1000 500 0 0 20 0 1 0 200000 60000000 "        \
    "2000" TAIL
#define STOPPED_101                                                                                \
    "101 (nginx) T 100 100 100 0 -1 4194624 300 0 0 0 300 100 0 0 20 0 1 0 200010 61000000 "       \
    "1500" TAIL
#define STOPPED_102                                                                                \
    "102 (nginx) T 100 100 100 0 -1 4194624 300 0 0 0 200 100 0 0 25 5 2 0 200020 62000000 "       \
    "1500" TAIL

/* A single-threaded process whose schedstat run time did not move has not
 * run: its stat is not read again and the last record stands, although
 * the file changed (101 "stopped" on disk, still counted sleeping). Once
 * its run time moves, stat is read. A process with two threads (102) has
 * its stat read whatever its schedstat says (its other thread's run time
 * is not in it), and so has one without a schedstat file (100). */
static void stat_skipped_while_not_run(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    set_schedstat(root, 101, "123456789 1000 7\n");
    set_schedstat(root, 102, "5550000 10 3\n");
    assert_int_equal(start(f, root, "process: { };"), 0);
    assert_int_equal(state_count(sample(f, 10 * SEC), "stopped"), 0);
    set_stat(root, 100, STOPPED_100);
    set_stat(root, 101, STOPPED_101);
    set_stat(root, 102, STOPPED_102);
    json_object *d = sample(f, 11 * SEC);
    assert_int_equal(num(get(d, "states"), "sleeping"), 2); /* 1 and 101 */
    assert_int_equal(state_count(d, "stopped"), 2);         /* 100 and 102, not 101 */
    assert_int_equal(state_count(sample(f, 12 * SEC), "stopped"), 2);
    set_schedstat(root, 101, "123456790 1000 8\n");
    assert_int_equal(state_count(sample(f, 13 * SEC), "stopped"), 3);
}

/* A run time of 0 after some timeslices (a rescuer kworker that has
 * barely run) is compared like any other: while neither moves, stat is not
 * read again; a new timeslice reads it. All zeros (a kernel without
 * sched_info) compares nothing: stat is read every sample. */
static void zero_run_time_compared_by_timeslices(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    set_schedstat(root, 101, "0 0 2\n");
    set_schedstat(root, 100, "0 0 0\n");
    assert_int_equal(start(f, root, "process: { };"), 0);
    assert_int_equal(state_count(sample(f, 10 * SEC), "stopped"), 0);
    set_stat(root, 100, STOPPED_100);
    set_stat(root, 101, STOPPED_101);
    assert_int_equal(state_count(sample(f, 11 * SEC), "stopped"), 1); /* 100, not 101 */
    set_schedstat(root, 101, "0 0 3\n");
    assert_int_equal(state_count(sample(f, 12 * SEC), "stopped"), 2);
}

/* Even a process that has not run has its stat read every stat_every
 * samples (100: 100 % 4 == 0, so its first re-read is a full period
 * after the first read); stat_every = 1 reads it every sample. */
static void stat_reread_every_n_samples(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    set_schedstat(root, 100, "42000 0 1\n");
    assert_int_equal(start(f, root, "process: { stat_every = 4; };"), 0);
    int64_t t = 10;
    assert_int_equal(state_count(sample(f, t++ * SEC), "stopped"), 0); /* read */
    set_stat(root, 100, STOPPED_100);
    for (int i = 0; i < 3; i++) /* skipped 3 times */
        assert_int_equal(state_count(sample(f, t++ * SEC), "stopped"), 0);
    assert_int_equal(state_count(sample(f, t++ * SEC), "stopped"), 1); /* read */
    set_stat(root, 100,
             "100 (nginx) S 1 100 100 0 -1 4194624 500 0 0 0 1000 500 0 0 20 0 1 0 200000 "
             "60000000 2000" TAIL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(state_count(sample(f, t++ * SEC), "stopped"), 1);
    assert_int_equal(state_count(sample(f, t++ * SEC), "stopped"), 0);
    stop(f);

    root = copy_fixture(f);
    set_schedstat(root, 100, "42000 0 1\n");
    assert_int_equal(start(f, root, "process: { stat_every = 1; };"), 0);
    assert_int_equal(state_count(sample(f, SEC), "stopped"), 0);
    set_stat(root, 100, STOPPED_100);
    assert_int_equal(state_count(sample(f, 2 * SEC), "stopped"), 1);
}

/* A selected process that has not run has its stat read anyway, so what
 * is published of it (state, rss) is this sample's; the counts follow. */
static void selected_process_always_fresh(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    set_schedstat(root, 101, "123456789 1000 7\n");
    set_schedstat(root, 1, "99999 0 2\n");
    assert_int_equal(start(f, root, "process: { watch = ( { pid = 101; } ); };"), 0);
    json_object_put(sample(f, 10 * SEC));
    set_stat(root, 101,
             "101 (nginx) T 100 100 100 0 -1 4194624 300 0 0 0 300 100 0 0 20 0 1 0 200010 "
             "61000000 1000" TAIL);
    set_stat(root, 1,
             "1 (systemd) T 0 1 1 0 -1 4194560 1000 2000 10 20 150 250 30 40 20 0 1 0 5 "
             "170000000 3000" TAIL);
    json_object *d = sample(f, 11 * SEC);
    json_object *w = proc_of(d, 101);
    assert_string_equal(str(w, "state"), "stopped");
    assert_int_equal(num(w, "rss"), 1000 * sysconf(_SC_PAGESIZE));
    assert_true(dbl(w, "cpu_percent") == 0.0);
    assert_int_equal(state_count(d, "stopped"), 1); /* 101; 1 was not read */
}

/* How many of our descriptors are open on root/PID/file (any pid). */
static int open_on(const char *root, const char *file)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], target[512];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t l = readlink(path, target, sizeof(target) - 1);
        if (l <= 0)
            continue;
        target[l] = '\0';
        const char *slash = strrchr(target, '/');
        n += strncmp(target, root, strlen(root)) == 0 && slash && strcmp(slash + 1, file) == 0;
    }
    closedir(d);
    return n;
}

/* Kept descriptors: schedstat for every process that has one, stat only
 * for those whose stat is read every sample (102 and 300: several threads;
 * 200: no schedstat file); the others' stat is opened for its re-reads. */
static void descriptors_kept(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    const int idle[] = {1, 100, 101, 102, 201, 202, 300};
    for (size_t i = 0; i < sizeof(idle) / sizeof(*idle); i++)
        set_schedstat(root, idle[i], "1000 0 1\n");
    assert_int_equal(start(f, root, "process: { };"), 0);
    for (int i = 1; i <= 3; i++)
        json_object_put(sample(f, i * SEC));
    assert_int_equal(open_on(root, "schedstat"), 7);
    assert_int_equal(open_on(root, "stat"), 3);
}

/* With no descriptor kept (keep_open = 0) schedstat is opened by path,
 * and a process that has not run keeps its record only when its pid is
 * surely the same process: in our own pid namespace, a pass that re-reads
 * the last one's pids and no pid at or below it was handed out since
 * (loadavg's last pid). When 101 may have been handed out again, or when
 * the pass lists /proc, stat is read. */
static void stat_skipped_without_descriptors(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    self_is_us(root);
    put_file(root, "loadavg", "0.00 0.00 0.00 1/120 100\n");
    set_schedstat(root, 101, "123456789 1000 7\n");
    assert_int_equal(start(f, root, "process: { keep_open = 0; };"), 0);
    assert_int_equal(state_count(sample(f, 10 * SEC), "stopped"), 0); /* a listing */
    assert_int_equal(state_count(sample(f, 11 * SEC), "stopped"), 0); /* pids re-read */
    set_stat(root, 101, STOPPED_101);
    assert_int_equal(state_count(sample(f, 12 * SEC), "stopped"), 0); /* kept record */
    put_file(root, "loadavg", "0.00 0.00 0.00 1/120 101\n");          /* 101 handed out */
    assert_int_equal(state_count(sample(f, 13 * SEC), "stopped"), 1);
}

/* Missing sources leave their fields out; the scan goes on. */
static void missing_sources(void **state)
{
    struct fx *f = *state;
    const char *root = f->tmp;
    remove_path(root, "meminfo");
    remove_path(root, "stat");
    remove_path(root, "100/io");
    remove_path(root, "100/fd");
    remove_path(root, "100/status");
    remove_path(root, "100/cgroup");
    remove_path(root, "100/cmdline");
    assert_int_equal(start(f, root, "process: { cmdline = true; watch = ( { pid = 100; } ); };"),
                     0);
    json_object *d = sample(f, SEC);
    assert_non_null(d);
    json_object *m = proc_of(d, 100);
    assert_int_equal(num(m, "rss"), 2000 * sysconf(_SC_PAGESIZE));
    const char *absent[] = {"memory_percent", "start_time", "read_bytes", "fds",    "uid",
                            "ctx_voluntary",  "cgroup",     "unit",       "cmdline"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(*absent); i++)
        if (get(m, absent[i]))
            fail_msg("%s should be absent", absent[i]);
    json_object_put(d);
    /* the process exits between samples */
    remove_path(root, "100");
    d = sample(f, 2 * SEC);
    assert_int_equal(json_object_array_length(get(d, "watched")), 0);
    assert_int_equal(num(d, "processes"), 7);
    json_object_put(d);
    stop(f);

    /* no /proc at all: no message, no crash */
    assert_int_equal(start(f, "/nonexistent/proc", "process: { };"), 0);
    assert_null(sample(f, SEC));
}

static void assert_init_error(const char *conf, const char *fragment)
{
    struct fx f = {0};
    assert_int_equal(start(&f, FIXTURE, conf), -1);
    if (!strstr(f.errors, fragment) || strncmp(f.errors, "test.conf:", 10) != 0)
        fail_msg("expected \"%s\" in: %s", fragment, f.errors);
    stop(&f);
}

static void config_errors(void **state)
{
    (void)state;
    assert_init_error("process: { watch = (\n { cmdline = \"(\"; } ); };",
                      "test.conf:2: process.watch[0].cmdline: invalid regular expression");
    assert_init_error("process: { watch = ( { aggregate = true; } ); };", "needs a selector");
    assert_init_error("process: { watch = ( { name = \"x\"; by = \"memory\"; } ); };",
                      "only goes with top");
    assert_init_error("process: { watch = ( { user = \"no-such-user-hp\"; } ); };",
                      "unknown user \"no-such-user-hp\"");
}

static void parsers(void **state)
{
    (void)state;
    struct hp_pidstat s;
    assert_true(hp_pidstat_parse("7 (a) b) c) T 1 7 7 0 -1 0 0 0 0 0 11 22 0 0 20 -5 2 0 99 "
                                 "4096 3 0",
                                 &s));
    assert_string_equal(s.comm, "a) b) c");
    assert_int_equal(s.state, 'T');
    assert_int_equal(s.utime, 11);
    assert_int_equal(s.nice, -5);
    assert_int_equal(s.starttime, 99);
    assert_int_equal(s.rss_pages, 3);
    assert_false(hp_pidstat_parse("7 (trunc) S 1 2", &s));
    assert_false(hp_pidstat_parse("", &s));
    char out[64];
    assert_true(hp_cgroup_unit("/system.slice/docker-1.scope/init", out, sizeof(out)));
    assert_string_equal(out, "docker-1.scope");
    assert_false(hp_cgroup_unit("/user.slice/user-0.slice", out, sizeof(out)));
    assert_false(hp_cgroup_unit("/", out, sizeof(out)));
    assert_false(hp_cgroup_v2("1:cpu:/x\n", out, sizeof(out)));
    assert_true(hp_cgroup_v2("1:cpu:/x\n0::/a.service\n", out, sizeof(out)));
    assert_string_equal(out, "/a.service");
    char cmd[] = "a\0b c\0\0";
    assert_int_equal(hp_cmdline_fix(cmd, sizeof(cmd) - 1), 5);
    assert_string_equal(cmd, "a b c");
    char bytes[] = "ok \xc3\xa9 \xff\xfe \xe2\x82 \xed\xa0\x80 \xf0\x9f\x98\x80 \xc0\xaf";
    hp_utf8_sanitize(bytes);
    assert_string_equal(bytes, "ok \xc3\xa9 ?? ?? ??? \xf0\x9f\x98\x80 ??");
    assert_int_equal(hp_pid_state_index('x'), hp_pid_state_index('X'));
    assert_int_equal(hp_pid_state_index('?'), HP_PID_STATE_OTHER);
}

/* Grow past the initial size, and drop what the next sample did not see. */
static void pid_table(void **state)
{
    (void)state;
    struct hp_pidtab t = {0};
    hp_pidtab_begin(&t);
    for (int32_t pid = 1; pid <= 5000; pid++)
        hp_pidtab_put(&t, pid)->ticks = (uint64_t)pid * 3;
    hp_pidtab_commit(&t);
    hp_pidtab_begin(&t);
    for (int32_t pid = 1; pid <= 5000; pid++) {
        const struct hp_pident *e = hp_pidtab_prev(&t, pid);
        assert_non_null(e);
        assert_int_equal(e->ticks, (uint64_t)pid * 3);
        if (pid % 2)
            *hp_pidtab_put(&t, pid) = *e;
    }
    assert_null(hp_pidtab_prev(&t, 5001));
    hp_pidtab_commit(&t);
    assert_int_equal(t.cur.n, 2500);
    assert_null(hp_pidtab_prev(&t, 2));
    assert_non_null(hp_pidtab_prev(&t, 4999));
    /* The table being refilled held all 5000: a pid it had comes back new. */
    hp_pidtab_begin(&t);
    struct hp_pident *e = hp_pidtab_put(&t, 2);
    assert_int_equal(e->ticks, 0);
    assert_int_equal(e->fd, -1);
    hp_pidtab_commit(&t);
    assert_int_equal(t.cur.n, 1);
    assert_null(hp_pidtab_prev(&t, 4999));
    assert_non_null(hp_pidtab_prev(&t, 2));
    hp_pidtab_free(&t);
}

/* A test on its own writable copy of the fixture tree. */
#define ON_COPY(test) cmocka_unit_test_setup_teardown(test, with_copy, cleanup)

int main(void)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fixture_values, fresh, cleanup),
        cmocka_unit_test_setup_teardown(member_order, fresh, cleanup),
        ON_COPY(selectors),
        ON_COPY(two_sample_rates),
        ON_COPY(top_by_cpu),
        ON_COPY(top_by_cpu_after_schedstat),
        ON_COPY(counter_reset_and_exit),
        ON_COPY(relists_only_after_a_new_pid),
        ON_COPY(stat_skipped_while_not_run),
        ON_COPY(zero_run_time_compared_by_timeslices),
        ON_COPY(stat_reread_every_n_samples),
        ON_COPY(selected_process_always_fresh),
        ON_COPY(descriptors_kept),
        ON_COPY(stat_skipped_without_descriptors),
        ON_COPY(missing_sources),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(parsers),
        cmocka_unit_test(pid_table),
    };
    // clang-format on
    return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
