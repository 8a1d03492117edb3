/* notify.c -- sd_notify readiness, status and watchdog keep-alive.
 *
 * The watchdog proves that the main thread still answers: it pings from
 * the loop that waits for signals, so a main thread stuck in a reload or a
 * shutdown stops the pings and systemd restarts the agent. */
#include "agent/notify.h"
#include "agent/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

void hp_notify_init(struct hp_notify *n)
{
    uint64_t usec = 0;
    n->watchdog_ms = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        n->watchdog_ms = (int64_t)(usec / 2000); /* half the interval, in ms */
        if (n->watchdog_ms < 1)
            n->watchdog_ms = 1;
    }
    n->next_ms = hp_mono_ms();
}

static void notify_status(const char *head, const char *fmt, va_list ap)
{
    char status[256];
    vsnprintf(status, sizeof(status), fmt, ap);
    sd_notifyf(0, "%sSTATUS=%s", head, status);
}

void hp_notify_ready(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    notify_status("READY=1\n", fmt, ap);
    va_end(ap);
}

void hp_notify_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    notify_status("", fmt, ap);
    va_end(ap);
}

void hp_notify_reloading(void)
{
    /* MONOTONIC_USEC lets systemd >= 253 match this reload to its request. */
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading",
               (long long)(hp_mono_ns() / 1000));
}

void hp_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

int hp_notify_sigwait(struct hp_notify *n, const sigset_t *set)
{
    int sig;
    if (n->watchdog_ms <= 0) {
        while (sigwait(set, &sig) != 0)
            ;
        return sig;
    }
    for (;;) {
        int64_t now = hp_mono_ms();
        if (now >= n->next_ms) {
            sd_notify(0, "WATCHDOG=1");
            n->next_ms = now + n->watchdog_ms;
        }
        struct timespec wait = hp_ns_ts((n->next_ms - now) * 1000000);
        sig = sigtimedwait(set, NULL, &wait);
        if (sig > 0)
            return sig;
        /* EAGAIN: time for the next ping; EINTR: wait again. */
    }
}
