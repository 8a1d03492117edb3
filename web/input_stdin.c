/* SPDX-License-Identifier: Apache-2.0 */
/* input_stdin.c -- JSON lines from standard input or a file.
 *
 * `hostpulse --stdout | hostpulse-web --stdin` is the one-host setup: no
 * broker, one message per line. A line longer than store.max_message is
 * skipped up to its newline without being buffered, and counted as
 * oversize. The ingest keeps each open batch's lines until they are
 * committed (a pipe cannot be read twice). */
#include "lib/buf.h"
#include "lib/log.h"
#include "web/ingest.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct line_reader {
    char *buf;
    size_t len, cap;
    size_t skipping; /* > 0: inside an oversize line, bytes seen so far */
};

static void deliver(struct hp_ingest *ing, const char *line, size_t n)
{
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    if (n)
        hp_ingest_add(ing, line, n);
}

/* An oversize line is reported once, by its size, without its bytes. */
static void oversize(struct hp_ingest *ing, size_t n)
{
    hp_ingest_oversize(ing, n);
}

/* Split what is buffered into lines and deliver them. */
static void split(struct hp_ingest *ing, struct line_reader *r, size_t max)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(r->buf + start, '\n', r->len - start);
        if (!nl)
            break;
        size_t n = (size_t)(nl - (r->buf + start));
        if (r->skipping) {
            oversize(ing, r->skipping + n);
            r->skipping = 0;
        } else {
            deliver(ing, r->buf + start, n);
        }
        start += n + 1;
    }
    memmove(r->buf, r->buf + start, r->len - start);
    r->len -= start;
    if (r->len > max) { /* no newline within the limit: skip the rest of it */
        r->skipping += r->len;
        r->len = 0;
    }
}

static int fill(struct line_reader *r, int fd)
{
    if (hp_grow(&r->buf, &r->cap, r->len + 65536, 1) != 0) /* at least 64 KiB free */
        return -1;
    ssize_t n = read(fd, r->buf + r->len, r->cap - r->len);
    if (n > 0)
        r->len += (size_t)n;
    return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : (int)(n > 0);
}

int hp_input_stdin_run(struct hp_ingest *ing, int fd, const char *name)
{
    struct line_reader r = {0};
    size_t max = (size_t)hp_ingest_conf(ing)->max_message;
    int rc = 0;
    while (!hp_ingest_stopping(ing)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, hp_ingest_wait_ms(ing));
        if (ready > 0) {
            int got = fill(&r, fd);
            if (got < 0) {
                hp_err("%s: out of memory", name);
                rc = -1;
                break;
            }
            if (got == 0) /* end of input */
                break;
            split(ing, &r, max);
        }
        if (hp_ingest_due(ing))
            hp_ingest_commit(ing);
    }
    if (r.len && !r.skipping) /* a last line without its newline */
        deliver(ing, r.buf, r.len);
    hp_ingest_commit(ing);
    free(r.buf);
    hp_info("%s: end of input", name);
    return rc;
}
