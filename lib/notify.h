/* SPDX-License-Identifier: Apache-2.0 */
/* notify.h -- readiness, status and watchdog keep-alive for the service
 * manager (the sd_notify protocol).
 *
 * systemd (Type=notify, WatchdogSec=) and start-stop-daemon --notify-await
 * both listen on $NOTIFY_SOCKET. Without that variable every call here is a
 * no-op, so the agent behaves the same under any supervisor or none.
 * Failures to notify are ignored: nothing the agent could do about them.
 * Main thread only. */
#ifndef HP_NOTIFY_H
#define HP_NOTIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct hp_notify {
    int64_t watchdog_ms; /* keep-alive period (half of WatchdogSec); 0: no watchdog */
    int64_t next_ms;     /* monotonic ms of the next keep-alive */
    /* Asked before each keep-alive (NULL: always healthy). False withholds
     * it, so the service manager restarts a process whose threads are
     * stuck even though the main thread still answers. */
    bool (*healthy)(void *ud);
    void *ud;
};

/* Read the watchdog settings ($WATCHDOG_USEC for this pid); no health
 * check until the caller sets one. Can't fail. */
void hp_notify_init(struct hp_notify *n);

/* READY=1 with a STATUS= line: start-up (or a reload) is complete. */
void hp_notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* RELOADING=1: a SIGHUP reload begins; hp_notify_ready() ends it. */
void hp_notify_reloading(void);
/* STOPPING=1: shutdown begins. */
void hp_notify_stopping(void);

/* Wait for one of the signals in set (blocked in every thread) like
 * sigwait, sending WATCHDOG=1 every n->watchdog_ms meanwhile while
 * n->healthy says so. Returns the signal number. */
int hp_notify_sigwait(struct hp_notify *n, const sigset_t *set);

#endif
