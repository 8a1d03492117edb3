/* SPDX-License-Identifier: Apache-2.0 */
/* reporter.h -- the reporter interface.
 *
 * A reporter samples one part of the host into its message's data: it
 * writes the members in order with a JSON writer (write, lib/jw.h), or
 * builds them as a json-c object (sample) when the order it finds them in
 * is not the order they are written in. It sees
 * only struct hp_reporter: where procfs and sysfs are, its interval and
 * its own private state. The thread, the timer, the envelope, the sequence
 * number, the ring push and the statistics belong to the scheduler
 * (agent/scheduler.c). Adding a reporter is one new file in reporters/
 * plus one line in reporters/registry.c.
 *
 * Contract (who calls what, when):
 *  - init(r, cfg, errs): main thread, while none of this reporter's
 *    samples run (at start, or on a reload while the old reporters still
 *    run). cfg has passed hp_opts_check against ops->opts. Load the options
 *    with hp_opts_load into priv; report semantic problems to errs.
 *  - write(r, w) or sample(r, data): the reporter's own thread only, one call at a time
 *    (or the main thread for --once, with no thread running), so priv needs
 *    no locks. A needs_prime reporter gets one unpublished sample first.
 *  - fini(r): main thread, after the reporter's thread was joined (or when
 *    it never started, or init failed half-way: priv may be partial or NULL).
 * The config (and every string borrowed from it) lives from init to fini. */
#ifndef HP_REPORTER_H
#define HP_REPORTER_H

#include <libconfig.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "lib/jw.h"
#include "lib/opts.h"

struct hp_reporter;

struct hp_reporter_ops {
    const char *name;        /* "cpu": config key, envelope "reporter", thread hp-cpu */
    double default_interval; /* seconds */
    bool default_enabled;
    /* Enabled unless the configuration says: on only where init finds
     * something to sample (init returns 1 otherwise); --help-config says
     * `enabled = auto`. */
    bool default_auto;
    /* Rates and percentages need a previous sample: the scheduler takes one
     * unpublished priming sample when the reporter starts (and, for --once,
     * a short fixed window before the published one). */
    bool needs_prime;
    const struct hp_opt *opts; /* reporter-specific options, NULL-terminated; may be NULL */
    /* Load options (already type-checked against opts) and allocate priv.
     * Semantic problems go to errs as FILE:LINE: messages; return -1.
     * Return 1 (after logging why, at info) when the reporter runs by
     * default but finds nothing to sample on this host: the agent leaves
     * it out (fini is called) and it is no error. */
    int (*init)(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs);
    /* Fill data: write its members into w (the data object is open), or
     * add them to data; a reporter has one of the two. Missing sources
     * leave fields out (warn once); return -1 only when nothing useful
     * could be sampled (no message is sent). */
    int (*write)(struct hp_reporter *r, struct hp_jw *w);
    int (*sample)(struct hp_reporter *r, json_object *data);
    void (*fini)(struct hp_reporter *r);
};

/* Per-reporter statistics, written by the scheduler on the reporter's
 * thread and read by the self-report: relaxed atomics, each value stands
 * alone. */
struct hp_reporter_stats {
    _Atomic uint64_t samples;
    _Atomic uint64_t errors;     /* sample() returned -1 */
    _Atomic uint64_t skipped;    /* ticks missed after a stall */
    _Atomic uint64_t dropped;    /* ring full */
    _Atomic int64_t cpu_ns_last; /* thread CPU time of the last sample */
    _Atomic int64_t cpu_ns_total;
    _Atomic int64_t last_ok_ms;    /* epoch ms of the last sample published, 0: none */
    _Atomic int64_t last_error_ms; /* epoch ms of the last failed sample, 0: none */
    /* Heartbeat: CLOCK_MONOTONIC ns when the sample in progress began, 0
     * while the thread sleeps. The watchdog withholds its keep-alive when
     * a sample runs far too long (a read that never returns). */
    _Atomic int64_t busy_since_ns;
};

/* What a reporter sees of itself. */
struct hp_reporter {
    const struct hp_reporter_ops *ops;
    const char *proc_root; /* "/proc" unless redirected (tests, containers) */
    const char *sys_root;  /* "/sys" unless redirected */
    double interval;       /* seconds */
    void *priv;            /* the reporter's own state */
};

/* The registry: every reporter type, in configuration order. */
extern const struct hp_reporter_ops *const hp_reporter_types[];
const struct hp_reporter_ops *hp_reporter_find(const char *name);

/* Sample r once as its data's JSON text, into text (emptied first),
 * whichever of write and sample it has. 0, or -1 when the reporter found
 * nothing or the text could not be made (out of memory). */
int hp_reporter_write(struct hp_reporter *r, struct hp_buf *text);
/* Sample r once into the object data, whichever it has: a writer's text is
 * parsed (tests, fuzzers, benchmarks). The reporter's return value, or -1
 * when the text cannot be made or parsed, or has a key twice in one object
 * (a bug that parsing would hide: logged). */
int hp_reporter_sample(struct hp_reporter *r, json_object *data);

/* Join proc_root/sys_root with a relative path into buf; returns buf. */
const char *hp_proc_path(const struct hp_reporter *r, char *buf, size_t len, const char *rel);
const char *hp_sys_path(const struct hp_reporter *r, char *buf, size_t len, const char *rel);

#endif
