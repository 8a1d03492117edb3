/* SPDX-License-Identifier: Apache-2.0 */
/* filebatch.h -- the batched, all-or-nothing append shared by the file
 * sinks (csv, es-file): a batch's bytes go to the file in one write(),
 * fsync'd if asked, and only then is each of its messages acked; on any
 * error the file is cut back to its size before the batch, so a retry never
 * leaves a torn or duplicated record. Transport thread only. */
#ifndef HP_FILEBATCH_H
#define HP_FILEBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "transport/sink.h"

struct hp_file_batch {
    uint64_t *pos; /* backlog positions of the messages in the batch */
    size_t n, cap;
};

/* Remember that the batch holds message pos. 0, or -1 on ENOMEM. */
int hp_file_batch_note(struct hp_file_batch *b, uint64_t pos);

/* Append data to fd, a file of *size bytes named path (for messages), in
 * one write; fsync it if asked; ack every noted message OK and grow *size.
 * On error the file is cut back to *size, nothing is acked, and -1 is
 * returned with the reason in s->error. Either way data and the batch are
 * empty afterwards. */
int hp_file_batch_write(struct hp_file_batch *b, struct hp_sink *s, int fd, struct hp_buf *data,
                        off_t *size, bool fsync, const char *path);

/* Forget the batch (a failed write() of the sink: nothing is acked). */
static inline void hp_file_batch_drop(struct hp_file_batch *b, struct hp_buf *data)
{
    b->n = 0;
    data->len = 0;
}

void hp_file_batch_free(struct hp_file_batch *b);

#endif
