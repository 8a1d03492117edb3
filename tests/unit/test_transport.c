/* SPDX-License-Identifier: Apache-2.0 */
/* test_transport.c -- the transport thread end to end, with real threads:
 * producers push into the ring, the engine drains it into a test sink's
 * backlog and delivers; a handoff (reload) stops the thread with messages
 * still queued, a new sink takes the old one's backlog, a new thread
 * starts, and a shutdown delivers the rest. Every message arrives exactly
 * once and in each producer's order; the sink's first open fails, so the
 * retry path runs too. A second test holds one sink's write() on purpose
 * and checks that another sink keeps receiving meanwhile (each sink has its
 * own delivery thread). Built for ThreadSanitizer as well (tests/check runs
 * the unit tests under TSan): the handoffs between main, the transport
 * thread and the sink threads are pthread_create/pthread_join, the ring,
 * the backlog lock and the sink thread's stop flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

#include "transport/transport.h"
#include "tests/unit/testutil.h"

#include <sys/syscall.h>

#define PRODUCERS 2

/* The test sink's state: touched by the transport thread while it runs,
 * by main only between stop and start (ordered by pthread_join/create). */
struct probe {
    uint64_t next[PRODUCERS]; /* next seq expected from each producer */
    uint64_t got, opens, bad_order;
    pthread_t thread; /* the thread that opened the sink */
    bool wrong_thread;
};

static int probe_open(struct hp_sink *s)
{
    struct probe *p = s->priv;
    p->thread = pthread_self();
    if (p->opens++ == 0)
        return hp_sink_fail(s, "first open fails on purpose");
    return 0;
}

static int probe_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct probe *p = s->priv;
    if (!pthread_equal(p->thread, pthread_self()))
        p->wrong_thread = true;
    for (size_t i = 0; i < n; i++) {
        const struct hp_msg *m = out[i].msg;
        unsigned who = (unsigned)(m->reporter[1] - '0');
        if (who >= PRODUCERS || m->seq != p->next[who])
            p->bad_order++;
        else
            p->next[who]++;
        p->got++;
        hp_sink_ack(s, out[i].pos, HP_ACK_OK);
    }
    return (int)n;
}

static const struct hp_sink_ops probe_ops = {
    .type = "probe",
    .priv_size = sizeof(struct probe),
    .open = probe_open,
    .write = probe_write,
};

struct producer {
    struct hp_ring *ring;
    unsigned id;
    uint64_t first, count;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    char reporter[8], json[64];
    snprintf(reporter, sizeof(reporter), "p%u", p->id);
    for (uint64_t seq = p->first; seq < p->first + p->count; seq++) {
        int n = snprintf(json, sizeof(json), "{\"seq\":%llu}", (unsigned long long)seq);
        struct hp_msg *m = hp_msg_new(reporter, seq, 0, json, (size_t)n);
        while (!hp_ring_push(p->ring, m)) { /* full: the test wants every message */
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* Push count messages from each producer, starting at seq first. */
static void burst(struct hp_ring *ring, uint64_t first, uint64_t count)
{
    pthread_t th[PRODUCERS];
    struct producer p[PRODUCERS];
    for (unsigned i = 0; i < PRODUCERS; i++) {
        p[i] = (struct producer){ring, i, first, count};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    for (unsigned i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
}

/* A sink of type ops, its options from g (NULL: none). */
static void setup_sink(struct hp_sink *s, const struct hp_sink_ops *ops, const config_setting_t *g)
{
    memset(s, 0, sizeof(*s));
    struct hp_errs errs = {0};
    assert_int_equal(hp_sink_setup(s, ops, g, NULL, &errs), 0);
}

static void stop_handoff_restart_shutdown(void **state)
{
    (void)state;
    config_t cf;
    config_init(&cf);
    assert_int_equal(config_read_string(&cf, "s: { retry_initial = 0.01; retry_max = 0.02; };"),
                     CONFIG_TRUE);
    const config_setting_t *g = config_lookup(&cf, "s");
    struct hp_ring *ring = hp_ring_new(256);
    struct hp_sink old, new;
    setup_sink(&old, &probe_ops, g);
    struct hp_transport_cfg tc = {.ring = ring,
                                  .sinks = &old,
                                  .n_sinks = 1,
                                  .batch_size = 64,
                                  .tick = 0.005,
                                  .linger = 0,
                                  .shutdown_timeout = 10};
    struct hp_transport *t = hp_transport_start(&tc);
    assert_non_null(t);
    burst(ring, 0, 3000);
    /* Reload: the thread stops with whatever it has not delivered yet. */
    size_t left = hp_transport_stop(t, HP_STOP_HANDOFF);
    const struct probe *po = old.priv;
    assert_int_equal(po->got + left, 2 * 3000);
    assert_int_equal(hp_sink_stats_of(&old)->sent, po->got);

    setup_sink(&new, &probe_ops, g);
    memcpy(new.priv, old.priv, sizeof(struct probe)); /* the order check carries on */
    ((struct probe *)new.priv)->opens = 1;            /* no deliberate failure this time */
    hp_sink_take_backlog(&new, &old);
    hp_sink_teardown(&old);
    assert_int_equal(hp_sinks_backlog(&new, 1), left);
    tc.sinks = &new;
    t = hp_transport_start(&tc);
    assert_non_null(t);
    burst(ring, 3000, 2000);
    assert_int_equal(hp_transport_stop(t, HP_STOP_SHUTDOWN), 0);

    const struct probe *p = new.priv;
    assert_int_equal(p->got, 2 * 5000);
    assert_int_equal(p->bad_order, 0);
    assert_false(p->wrong_thread);
    for (unsigned i = 0; i < PRODUCERS; i++)
        assert_int_equal(p->next[i], 5000);
    assert_int_equal(hp_sink_stats_of(&new)->backlog, 0);
    hp_sink_teardown(&new);
    hp_ring_free(ring);
    config_destroy(&cf);
}

/* A sink whose write() blocks until the test opens the gate, as an HTTP
 * server that accepts and never answers. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open, entered;
    uint64_t got;
};

static struct gate the_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false,
                               0};

static int stuck_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    pthread_mutex_lock(&the_gate.mu);
    the_gate.entered = true;
    while (!the_gate.open)
        pthread_cond_wait(&the_gate.cv, &the_gate.mu);
    the_gate.got += n;
    pthread_mutex_unlock(&the_gate.mu);
    for (size_t i = 0; i < n; i++)
        hp_sink_ack(s, out[i].pos, HP_ACK_OK);
    return (int)n;
}

static const struct hp_sink_ops stuck_ops = {.type = "stuck", .write = stuck_write};

/* Set up sinks[0] of type first and sinks[1] a probe that opens at once. */
static void setup_beside_probe(struct hp_sink sinks[2], const struct hp_sink_ops *first)
{
    setup_sink(&sinks[0], first, NULL);
    setup_sink(&sinks[1], &probe_ops, NULL);
    ((struct probe *)sinks[1].priv)->opens = 1; /* no deliberate failure */
}

/* Wait (up to 10 s) for *flag, guarded by mu, to become true; its value. */
static bool wait_flag(pthread_mutex_t *mu, const bool *flag)
{
    bool set = false;
    for (int i = 0; i < 10000 && !set; i++) {
        pthread_mutex_lock(mu);
        set = *flag;
        pthread_mutex_unlock(mu);
        struct timespec ts = {0, 1000000};
        if (!set)
            nanosleep(&ts, NULL);
    }
    return set;
}

/* Wait (up to 5 s) until the sink of st has sent n messages; how many it has. */
static uint64_t wait_sent(const struct hp_sink_stats *st, uint64_t n)
{
    for (int i = 0; i < 5000 && atomic_load(&st->sent) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&st->sent);
}

static void a_stuck_sink_delays_no_other(void **state)
{
    (void)state;
    struct hp_ring *ring = hp_ring_new(256);
    struct hp_sink sinks[2];
    setup_beside_probe(sinks, &stuck_ops);
    struct hp_transport_cfg tc = {.ring = ring,
                                  .sinks = sinks,
                                  .n_sinks = 2,
                                  .batch_size = 64,
                                  .tick = 0.005,
                                  .shutdown_timeout = 10};
    struct hp_transport *t = hp_transport_start(&tc);
    assert_non_null(t);
    burst(ring, 0, 1000);
    /* The stuck sink takes its first batch and stays in write() (its
     * thread may start after the probe's on a loaded machine: wait). */
    assert_true(wait_flag(&the_gate.mu, &the_gate.entered));
    /* The probe gets everything while the stuck sink sits in write(). */
    const struct hp_sink_stats *st = hp_sink_stats_of(&sinks[1]);
    assert_int_equal(wait_sent(st, 2 * 1000), 2 * 1000);
    pthread_mutex_lock(&the_gate.mu);
    assert_true(the_gate.entered);
    assert_int_equal(the_gate.got, 0);
    the_gate.open = true;
    pthread_cond_broadcast(&the_gate.cv);
    pthread_mutex_unlock(&the_gate.mu);
    assert_int_equal(hp_transport_stop(t, HP_STOP_SHUTDOWN), 0);
    assert_int_equal(the_gate.got, 2 * 1000);
    assert_int_equal(((struct probe *)sinks[1].priv)->bad_order, 0);
    hp_sink_teardown(&sinks[0]);
    hp_sink_teardown(&sinks[1]);
    hp_ring_free(ring);
}

/* A disk that flushes only when the test says so: while armed, fdatasync
 * and fsync (the spool's: these definitions are the ones the linked
 * transport/spool.o calls) wait at the gate, as a disk that takes seconds
 * to flush. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool armed, entered;
} slow_disk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};

static void slow_disk_wait(void)
{
    pthread_mutex_lock(&slow_disk.mu);
    if (slow_disk.armed)
        slow_disk.entered = true;
    while (slow_disk.armed)
        pthread_cond_wait(&slow_disk.cv, &slow_disk.mu);
    pthread_mutex_unlock(&slow_disk.mu);
}

int fdatasync(int fd)
{
    slow_disk_wait();
    return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
    slow_disk_wait();
    return (int)syscall(SYS_fsync, fd);
}

static int down_open(struct hp_sink *s)
{
    return hp_sink_fail(s, "down on purpose");
}

static const struct hp_sink_ops down_ops = {
    .type = "down", .open = down_open, .write = stuck_write};

/* A sink that is down spools what it is offered, and its spool's fsyncs
 * (the open segment's, a filled segment's, the directory's for a new
 * segment file) run without the lock the transport thread takes to push
 * into that sink's backlog: while the disk is stuck, every other sink
 * keeps getting new messages. */
static void a_slow_disk_delays_no_other(void **state)
{
    (void)state;
    char dir[64];
    assert_non_null(hp_test_mkdtemp(dir, sizeof(dir), "transport"));
    struct hp_spool_cfg sc;
    hp_spool_cfg_read(&sc, NULL);
    sc.directory = dir;
    sc.fsync = HP_FSYNC_INTERVAL;
    sc.fsync_interval = 0.001;
    sc.segment_bytes = 4096; /* the second burst fills a segment: a new one is made */
    struct hp_ring *ring = hp_ring_new(256);
    struct hp_sink sinks[2];
    setup_beside_probe(sinks, &down_ops);
    struct hp_transport_cfg tc = {.ring = ring,
                                  .sinks = sinks,
                                  .n_sinks = 2,
                                  .batch_size = 64,
                                  .tick = 0.005,
                                  .shutdown_timeout = 0.2,
                                  .spool = &sc};
    pthread_mutex_lock(&slow_disk.mu);
    slow_disk.armed = true;
    pthread_mutex_unlock(&slow_disk.mu);
    struct hp_transport *t = hp_transport_start(&tc);
    assert_non_null(t);
    /* fewer than the ring holds: a stuck drain fails the test, never hangs it */
    burst(ring, 0, 100);
    /* The down sink spools and its fsync sticks. */
    assert_true(wait_flag(&slow_disk.mu, &slow_disk.entered));
    /* New messages reach the probe while the disk is stuck. */
    burst(ring, 100, 120);
    const struct hp_sink_stats *st = hp_sink_stats_of(&sinks[1]);
    assert_int_equal(wait_sent(st, 2 * 220), 2 * 220);
    pthread_mutex_lock(&slow_disk.mu);
    slow_disk.armed = false;
    pthread_cond_broadcast(&slow_disk.cv);
    pthread_mutex_unlock(&slow_disk.mu);
    /* Nothing lost: the down sink keeps every message (on disk). */
    assert_int_equal(hp_transport_stop(t, HP_STOP_SHUTDOWN), 2 * 220);
    assert_int_equal(hp_sink_stats_of(&sinks[0])->dropped, 0);
    assert_int_equal(((struct probe *)sinks[1].priv)->bad_order, 0);
    hp_sink_teardown(&sinks[0]);
    hp_sink_teardown(&sinks[1]);
    hp_ring_free(ring);
    assert_int_equal(hp_test_rmtree(dir), 0);
}

/* A broker that acknowledges one message at a time: write() keeps the
 * messages in flight, the test writes a byte per acknowledgement into a
 * pipe (the sink's socket), and poll() acks one message per byte it finds.
 * Its thread's own state, read by main after the transport has stopped. */
struct acker {
    int fds[2];
    atomic_int written; /* messages taken by write(): main waits for them */
    size_t pos[64], n, acked;
    unsigned reads; /* poll() calls that found acknowledgements */
};

static int acker_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct acker *a = s->priv;
    for (size_t i = 0; i < n && a->n < 64; i++)
        a->pos[a->n++] = out[i].pos;
    atomic_fetch_add(&a->written, (int)n);
    return (int)n;
}

static int acker_poll(struct hp_sink *s)
{
    struct acker *a = s->priv;
    char buf[64];
    ssize_t got = read(a->fds[0], buf, sizeof(buf));
    if (got > 0)
        a->reads++;
    for (ssize_t i = 0; i < got && a->acked < a->n; i++)
        hp_sink_ack(s, a->pos[a->acked++], HP_ACK_OK);
    return 0;
}

static int acker_pollfd(struct hp_sink *s)
{
    return ((struct acker *)s->priv)->fds[0];
}

static const struct hp_sink_ops acker_ops = {.type = "acker",
                                             .priv_size = sizeof(struct acker),
                                             .write = acker_write,
                                             .poll = acker_poll,
                                             .pollfd = acker_pollfd};

/* Ten messages to an acker sink with the given window, with linger 0.5 s;
 * their acknowledgements arrive one by one, 2 ms apart, once all ten are
 * in flight. Every message is acknowledged; returns how many poll() calls
 * found acknowledgements. */
static unsigned acker_round(size_t window)
{
    struct hp_ring *ring = hp_ring_new(256);
    struct hp_sink s;
    setup_sink(&s, &acker_ops, NULL);
    s.window = window;
    struct acker *a = s.priv;
    assert_int_equal(pipe2(a->fds, O_NONBLOCK | O_CLOEXEC), 0);
    struct hp_transport_cfg tc = {.ring = ring,
                                  .sinks = &s,
                                  .n_sinks = 1,
                                  .batch_size = 64,
                                  .tick = 0.1,
                                  .linger = 0.5,
                                  .shutdown_timeout = 10};
    struct hp_transport *t = hp_transport_start(&tc);
    assert_non_null(t);
    for (uint64_t seq = 0; seq < 10; seq++)
        assert_true(hp_ring_push(ring, hp_msg_new("r", seq, 0, "{}", 2)));
    for (int i = 0; i < 5000 && atomic_load(&a->written) < 10; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(atomic_load(&a->written), 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(write(a->fds[1], "a", 1), 1);
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    assert_int_equal(wait_sent(hp_sink_stats_of(&s), 10), 10);
    assert_int_equal(hp_transport_stop(t, HP_STOP_SHUTDOWN), 0);
    assert_int_equal(a->acked, 10);
    unsigned reads = a->reads;
    close(a->fds[0]);
    close(a->fds[1]);
    hp_sink_teardown(&s);
    hp_ring_free(ring);
    return reads;
}

/* A round's acknowledgements, arriving one by one over 20 ms, are read
 * together after the linger: the sink's thread does not wake for each
 * (one read, two if the machine held the acks past the tick). With the
 * window full it reads each as it comes, as each frees room (the test
 * machine would have to stall the thread for most of the 20 ms to merge
 * them into two reads). */
static void acks_are_read_together_after_the_linger(void **state)
{
    (void)state;
    assert_in_range(acker_round(1024), 1, 2);
    assert_in_range(acker_round(10), 3, 10);
}

/* A failure reason longer than the sink's buffer is cut, and says so. */
static void a_long_failure_reason_says_it_was_cut(void **state)
{
    (void)state;
    struct hp_sink s;
    memset(&s, 0, sizeof(s));
    char reason[1024];
    memset(reason, 'x', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(hp_sink_fail(&s, "broker says: %s", reason), -1);
    assert_int_equal(strlen(s.error), sizeof(s.error) - 1);
    assert_string_equal(s.error + sizeof(s.error) - 4, "...");
    hp_sink_fail(&s, "short %d", 1);
    assert_string_equal(s.error, "short 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_long_failure_reason_says_it_was_cut),
        cmocka_unit_test(stop_handoff_restart_shutdown),
        cmocka_unit_test(a_stuck_sink_delays_no_other),
        cmocka_unit_test(a_slow_disk_delays_no_other),
        cmocka_unit_test(acks_are_read_together_after_the_linger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
