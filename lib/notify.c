/* SPDX-License-Identifier: Apache-2.0 */
/* notify.c -- sd_notify readiness, status and watchdog keep-alive.
 *
 * The protocol is one datagram of KEY=VALUE lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace),
 * and $WATCHDOG_USEC/$WATCHDOG_PID for the watchdog. systemd documents it
 * as a stable interface meant to be spoken without libsystemd (sd_notify(3),
 * NOTES); speaking it here keeps libsystemd and the compression and crypto
 * libraries it maps out of every agent's memory. vsock addresses (VMs
 * supervised from their host) are not supported.
 *
 * The watchdog proves that the main thread still answers: it pings from
 * the loop that waits for signals, so a main thread stuck in a reload or a
 * shutdown stops the pings and systemd restarts the agent. The owner's
 * health check (struct hp_notify.healthy) extends that to the other
 * threads: no ping while one of them is stuck. */
#include "lib/notify.h"
#include "lib/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Send one notification; nothing without $NOTIFY_SOCKET. */
static void notify_send(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = path ? strlen(path) : 0;
    if (len < 2 || len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
        return;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: the address length ends the name */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    close(fd);
}

static void notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notifyf(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    notify_send(msg);
}

/* $WATCHDOG_USEC, if it is meant for this process ($WATCHDOG_PID unset or
 * ours); 0 otherwise. */
static long long watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!usec || !*usec || (pid && atoll(pid) != (long long)getpid()))
        return 0;
    char *end;
    long long v = strtoll(usec, &end, 10);
    return *end == '\0' && v > 0 ? v : 0;
}

void hp_notify_init(struct hp_notify *n)
{
    long long usec = watchdog_usec();
    n->watchdog_ms = 0;
    if (usec > 0) {
        n->watchdog_ms = (int64_t)(usec / 2000); /* half the interval, in ms */
        if (n->watchdog_ms < 1)
            n->watchdog_ms = 1;
    }
    n->next_ms = hp_mono_ms();
    n->healthy = NULL;
    n->ud = NULL;
}

static void notify_status(const char *head, const char *fmt, va_list ap)
{
    char status[256];
    vsnprintf(status, sizeof(status), fmt, ap);
    notifyf("%sSTATUS=%s", head, status);
}

void hp_notify_ready(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    notify_status("READY=1\n", fmt, ap);
    va_end(ap);
}

void hp_notify_reloading(void)
{
    /* MONOTONIC_USEC lets systemd >= 253 match this reload to its request. */
    notifyf("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading", (long long)(hp_mono_ns() / 1000));
}

void hp_notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=stopping");
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
            if (!n->healthy || n->healthy(n->ud))
                notify_send("WATCHDOG=1");
            n->next_ms = now + n->watchdog_ms;
        }
        struct timespec wait = hp_ns_ts((n->next_ms - now) * 1000000);
        sig = sigtimedwait(set, NULL, &wait);
        if (sig > 0)
            return sig;
        /* EAGAIN: time for the next ping; EINTR: wait again. */
    }
}
