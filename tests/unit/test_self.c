/* SPDX-License-Identifier: Apache-2.0 */
/* test_self.c -- the self-report (reporters/self.c, "agent") on a hand-made
 * view: its members in their order (CSV columns follow it), what is left
 * out before a previous sample exists, a sink without a spool left out of
 * "spool", a reporter without samples without "cpu_us_avg", no message
 * while no view is bound, and "wakeups" following threads that start and
 * end between samples, a thread named after its first sample listed under
 * its name from the next, a thread that ended and another that started
 * between two samples, and names past the limit summed. The integration
 * tests read its values through a running agent, where spools are all on
 * or all off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/buf.h"
#include "lib/ring.h"
#include "lib/sink_stats.h"
#include "reporters/reporter.h"
#include "reporters/self.h"

struct fixture {
    struct hp_reporter r;
    struct hp_self_view view;
    struct hp_self_sink sinks[2];
    struct hp_sink_stats stats[2];
    struct hp_self_reporter reps[2];
    struct hp_reporter_stats rstats[2];
    _Atomic uint64_t produced, dropped;
    struct hp_buf text;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->r.ops = &hp_reporter_self;
    f->r.interval = 1.0;
    assert_int_equal(f->r.ops->init(&f->r, NULL, NULL), 0);
    f->view = (struct hp_self_view){.version = "9.9",
                                    .produced = &f->produced,
                                    .dropped = &f->dropped,
                                    .ring = hp_ring_new(16),
                                    .sinks = f->sinks,
                                    .n_sinks = 2,
                                    .reporters = f->reps,
                                    .n_reporters = 2};
    f->sinks[0] = (struct hp_self_sink){.name = "out", .type = "stdout", .stats = &f->stats[0]};
    f->sinks[1] = (struct hp_self_sink){.name = "disk", .type = "csv", .stats = &f->stats[1]};
    atomic_store(&f->stats[0].up, 1);
    atomic_store(&f->stats[0].sent, 5);
    atomic_store(&f->stats[1].spool.enabled, 1); /* only the second has a spool */
    atomic_store(&f->stats[1].spool.spilling, 1);
    atomic_store(&f->stats[1].spool.bytes, 4096);
    f->reps[0] = (struct hp_self_reporter){.name = "cpu", .stats = &f->rstats[0]};
    f->reps[1] = (struct hp_self_reporter){.name = "agent", .stats = &f->rstats[1]};
    atomic_store(&f->rstats[1].samples, 4);
    atomic_store(&f->rstats[1].cpu_ns_total, 10000);
    atomic_store(&f->rstats[1].cpu_ns_last, 3000);
    atomic_store(&f->produced, 7);
    atomic_store(&f->dropped, 2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    f->r.ops->fini(&f->r);
    hp_ring_free(f->view.ring);
    hp_buf_free(&f->text);
    free(f);
    return 0;
}

/* The keys of o, in order, joined by ','. */
static const char *keys(json_object *o)
{
    static char out[512];
    out[0] = '\0';
    json_object_object_foreach(o, k, v)
    {
        (void)v;
        if (out[0])
            strcat(out, ",");
        strcat(out, k);
    }
    return out;
}

static json_object *write_parsed(struct fixture *f)
{
    assert_int_equal(hp_reporter_write(&f->r, &f->text), 0);
    json_object *d = json_tokener_parse(f->text.p);
    assert_non_null(d);
    return d;
}

static void unbound_sends_nothing(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(hp_reporter_write(&f->r, &f->text), -1);
}

static void members_in_order(void **state)
{
    struct fixture *f = *state;
    hp_self_bind(&f->r, &f->view);
    json_object *d = write_parsed(f); /* no previous sample: no rates */
    assert_string_equal(keys(d), "version,uptime,produced,dropped,ring,cpu_user,cpu_system,"
                                 "threads,rss,vms,wakeups,sinks,spool,reporters");
    json_object_put(d);
    d = write_parsed(f);
    assert_string_equal(keys(d), "version,uptime,produced,dropped,ring,cpu_user,cpu_system,"
                                 "cpu_percent,threads,rss,vms,wakeups_per_second,wakeups,sinks,"
                                 "spool,reporters");
    double total = json_object_get_double(json_object_object_get(d, "wakeups_per_second"));
    json_object_object_foreach(json_object_object_get(d, "wakeups"), name, t)
    {
        (void)name;
        assert_string_equal(keys(t), "switches,per_second");
        total -= json_object_get_double(json_object_object_get(t, "per_second"));
    }
    assert_true(total > -0.1 && total < 0.1); /* the sum of the threads' rates */
    json_object_put(d);
}

static void sinks_spool_and_reporters(void **state)
{
    struct fixture *f = *state;
    hp_self_bind(&f->r, &f->view);
    assert_int_equal(hp_reporter_write(&f->r, &f->text), 0);
    const char *t = f->text.p;
    assert_non_null(strstr(t, "\"version\":\"9.9\","));
    assert_non_null(strstr(t, ",\"produced\":7,\"dropped\":2,\"ring\":{\"capacity\":16,\"used\":0,"
                              "\"high_water\":0},\"cpu_user\":"));
    assert_non_null(strstr(t, ",\"sinks\":{\"out\":{\"type\":\"stdout\",\"up\":true,\"sent\":5,"
                              "\"failed\":0,\"retried\":0,\"rejected\":0,\"dead_lettered\":0,"
                              "\"dropped\":0,\"returned\":0,\"backlog\":0},\"disk\":{\"type\":"
                              "\"csv\",\"up\":false,"));
    assert_non_null(strstr(t, ",\"spool\":{\"disk\":{\"spilling\":true,\"bytes\":4096,"
                              "\"segments\":0,\"queued\":0,\"dropped\":0,\"corrupt\":0,"
                              "\"failed\":0}},\"reporters\":{\"cpu\":{\"samples\":0,\"errors\":0,"
                              "\"skipped\":0,\"dropped\":0,\"cpu_us_last\":0},\"agent\":{"
                              "\"samples\":4,\"errors\":0,\"skipped\":0,\"dropped\":0,"
                              "\"cpu_us_last\":3,\"cpu_us_avg\":2.5}}}"));
    atomic_store(&f->stats[1].spool.enabled, 0); /* no spool at all: an empty object */
    assert_int_equal(hp_reporter_write(&f->r, &f->text), 0);
    assert_non_null(strstr(f->text.p, ",\"spool\":{},\"reporters\":{"));
}

/* A thread named "hp-probe" (or `name`): it notes its id, says so on
 * ready[1], then waits until done[1] is closed. */
struct probe {
    int ready[2], done[2];
    const char *name;
    pid_t tid;
};

static void *probe(void *arg)
{
    struct probe *p = arg;
    char c = 0;
    pthread_setname_np(pthread_self(), p->name ? p->name : "hp-probe");
    p->tid = gettid();
    if (write(p->ready[1], &c, 1) != 1 || read(p->done[0], &c, 1) < 0)
        return arg;
    return NULL;
}

/* Whether the next sample lists the probe; every sample lists this thread. */
static bool has_probe(struct fixture *f)
{
    char me[64] = "\"", comm[16] = "";
    FILE *fp = fopen("/proc/thread-self/comm", "r");
    assert_non_null(fp);
    assert_non_null(fgets(comm, sizeof(comm), fp));
    fclose(fp);
    comm[strcspn(comm, "\n")] = '\0';
    strcat(strcat(me, comm), "\":{\"switches\":");
    assert_int_equal(hp_reporter_write(&f->r, &f->text), 0);
    assert_non_null(strstr(f->text.p, me));
    return strstr(f->text.p, "\"hp-probe\":{\"switches\":") != NULL;
}

/* Start a probe thread named name and wait until it has named itself. */
static pthread_t start_probe(struct probe *p, const char *name)
{
    pthread_t t;
    char c;
    p->name = name;
    assert_int_equal(pipe(p->ready), 0);
    assert_int_equal(pipe(p->done), 0);
    assert_int_equal(pthread_create(&t, NULL, probe, p), 0);
    assert_int_equal(read(p->ready[0], &c, 1), 1);
    return t;
}

/* End the probe and wait until its task is gone from /proc. */
static void end_probe(struct probe *p, pthread_t t)
{
    char path[64];
    close(p->done[1]);
    assert_int_equal(pthread_join(t, NULL), 0);
    snprintf(path, sizeof(path), "/proc/self/task/%d", (int)p->tid);
    for (int i = 0; i < 1000 && access(path, F_OK) == 0; i++) /* it may linger a moment */
        usleep(1000);
    assert_int_not_equal(access(path, F_OK), 0);
    close(p->done[0]);
    close(p->ready[0]);
    close(p->ready[1]);
}

static void wakeups_follow_threads(void **state)
{
    struct fixture *f = *state;
    hp_self_bind(&f->r, &f->view);
    assert_false(has_probe(f));
    struct probe p = {0};
    pthread_t t = start_probe(&p, "hp-probe"); /* named: seen under its name */
    assert_true(has_probe(f));
    end_probe(&p, t);
    for (int i = 0; i < 1000 && has_probe(f); i++) /* its task may linger a moment */
        usleep(1000);
    assert_false(has_probe(f)); /* ended: gone */
}

/* As many threads as at the last sample, but one ended and another
 * started in between: the new one is listed (the kept descriptor of the
 * one that ended no longer reads, so the threads are listed again). */
static void a_thread_replaced_by_another(void **state)
{
    struct fixture *f = *state;
    hp_self_bind(&f->r, &f->view);
    struct probe a = {0}, b = {0};
    pthread_t ta = start_probe(&a, "hp-probe");
    assert_true(has_probe(f));
    assert_true(has_probe(f)); /* the same threads: kept, not listed */
    end_probe(&a, ta);
    pthread_t tb = start_probe(&b, "hp-probe-b");
    assert_false(has_probe(f));
    assert_non_null(strstr(f->text.p, "\"hp-probe-b\":{\"switches\":"));
    end_probe(&b, tb);
}

/* A thread that says so on ready[1] before it has a name, waits for a
 * byte on go[0], names itself "hp-late", says so again, and waits until
 * go[1] is closed. */
struct late {
    int ready[2], go[2];
};

static void *late_thread(void *arg)
{
    struct late *l = arg;
    char c = 0;
    if (write(l->ready[1], &c, 1) != 1 || read(l->go[0], &c, 1) != 1)
        return arg;
    pthread_setname_np(pthread_self(), "hp-late");
    if (write(l->ready[1], &c, 1) != 1 || read(l->go[0], &c, 1) < 0)
        return arg;
    return NULL;
}

/* A thread seen before it names itself is listed under its new name from
 * its second sample on. */
static void name_read_again_at_second_sample(void **state)
{
    struct fixture *f = *state;
    hp_self_bind(&f->r, &f->view);
    struct late l;
    pthread_t t;
    char c = 0;
    assert_int_equal(pipe(l.ready), 0);
    assert_int_equal(pipe(l.go), 0);
    assert_int_equal(pthread_create(&t, NULL, late_thread, &l), 0);
    assert_int_equal(read(l.ready[0], &c, 1), 1);
    assert_int_equal(hp_reporter_write(&f->r, &f->text), 0); /* seen: no name of its own */
    assert_null(strstr(f->text.p, "\"hp-late\""));
    assert_int_equal(write(l.go[1], &c, 1), 1);
    assert_int_equal(read(l.ready[0], &c, 1), 1); /* named now */
    assert_int_equal(hp_reporter_write(&f->r, &f->text), 0);
    assert_non_null(strstr(f->text.p, "\"hp-late\":{\"switches\":"));
    close(l.go[1]);
    assert_int_equal(pthread_join(t, NULL), 0);
    close(l.go[0]);
    close(l.ready[0]);
    close(l.ready[1]);
}

/* A thread named "hp-nI": it says so on `ready`, then waits until the
 * write end of `go` is closed. */
struct numbered {
    int i, go, ready;
};

static void *idle_named(void *arg)
{
    const struct numbered *n = arg;
    char name[16], c = 0;
    snprintf(name, sizeof(name), "hp-n%d", n->i);
    pthread_setname_np(pthread_self(), name);
    if (write(n->ready, &c, 1) != 1 || read(n->go, &c, 1) < 0)
        return arg;
    return NULL;
}

/* More thread names than the message lists: the last entry, "(other)",
 * sums the switches of the threads past the first 63 names. */
static void names_past_the_limit_summed(void **state)
{
    struct fixture *f = *state;
    enum { N = 80 };
    pthread_t t[N];
    struct numbered n[N];
    int go[2], ready[2];
    char c;
    hp_self_bind(&f->r, &f->view);
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    for (int i = 0; i < N; i++) {
        n[i] = (struct numbered){.i = i, .go = go[0], .ready = ready[1]};
        assert_int_equal(pthread_create(&t[i], NULL, idle_named, &n[i]), 0);
        assert_int_equal(read(ready[0], &c, 1), 1);
    }
    json_object *d = write_parsed(f), *other;
    json_object *w = json_object_object_get(d, "wakeups");
    assert_int_equal(json_object_object_length(w), 64);
    assert_true(json_object_object_get_ex(w, "(other)", &other));
    /* every thread switched in at least once: 81 and more threads, 63 names */
    assert_true(json_object_get_int64(json_object_object_get(other, "switches")) >= N + 1 - 63);
    json_object_put(d);
    close(go[1]);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    close(go[0]);
    close(ready[0]);
    close(ready[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unbound_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(members_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(sinks_spool_and_reporters, setup, teardown),
        cmocka_unit_test_setup_teardown(wakeups_follow_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(name_read_again_at_second_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(a_thread_replaced_by_another, setup, teardown),
        cmocka_unit_test_setup_teardown(names_past_the_limit_summed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
