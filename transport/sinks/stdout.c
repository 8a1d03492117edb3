/* SPDX-License-Identifier: Apache-2.0 */
/* stdout.c -- the stdout sink: one JSON message per line. A flushed write
 * is the confirmation; a closed pipe is a failure like any other. */
#include "transport/sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int stdout_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fwrite(out[i].msg->json, 1, out[i].msg->len, stdout);
        fputc('\n', stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        clearerr(stdout);
        return hp_sink_fail(s, "write to stdout: %s", strerror(errno));
    }
    for (size_t i = 0; i < n; i++)
        hp_sink_ack(s, out[i].pos, HP_ACK_OK);
    return (int)n;
}

static const struct hp_opt stdout_opts[] = {{0}};

const struct hp_sink_ops hp_sink_stdout = {
    .type = "stdout",
    .opts = stdout_opts,
    .write = stdout_write,
};
