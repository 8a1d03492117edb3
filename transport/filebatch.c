/* SPDX-License-Identifier: Apache-2.0 */
/* filebatch.c -- one write, fsync, ack-or-cut-back for the file sinks (see
 * filebatch.h), so csv.c and es_file.c share the one place where a batch
 * becomes durable. */
#include "transport/filebatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hp_file_batch_note(struct hp_file_batch *b, uint64_t pos)
{
    if (hp_grow(&b->pos, &b->cap, b->n + 1, sizeof(*b->pos)) != 0)
        return -1;
    b->pos[b->n++] = pos;
    return 0;
}

int hp_file_batch_write(struct hp_file_batch *b, struct hp_sink *s, int fd, struct hp_buf *data,
                        off_t *size, bool fsync_it, const char *path)
{
    if (data->len == 0) {
        b->n = 0;
        return 0;
    }
    ssize_t w = write(fd, data->p, data->len);
    int err = errno;
    if (w != (ssize_t)data->len || (fsync_it && fsync(fd) != 0)) {
        if (w >= 0 && w != (ssize_t)data->len)
            err = ENOSPC; /* a short write to a regular file: the disk is full */
        if (ftruncate(fd, *size) != 0)
            hp_warn("sink %s: cannot cut %s back after a failed write", s->name, path);
        hp_file_batch_drop(b, data);
        return hp_sink_fail(s, "write %s: %s", path, strerror(err));
    }
    *size += (off_t)data->len;
    for (size_t i = 0; i < b->n; i++)
        hp_sink_ack(s, b->pos[i], HP_ACK_OK);
    hp_file_batch_drop(b, data);
    return 0;
}

void hp_file_batch_free(struct hp_file_batch *b)
{
    free(b->pos);
    memset(b, 0, sizeof(*b));
}
