/* SPDX-License-Identifier: Apache-2.0 */
/* process.h -- the process reporter's entry point for tests: one sample
 * taken at a given monotonic time, so rates can be checked exactly. */
#ifndef HP_PROCESS_H
#define HP_PROCESS_H

#include <stdint.h>

#include "lib/jw.h"
#include "reporters/reporter.h"

extern const struct hp_reporter_ops hp_reporter_process;

/* What write() does, with now_ns in place of the monotonic clock: the
 * data's members into w (its outer object open). */
int hp_process_write_at(struct hp_reporter *r, struct hp_jw *w, int64_t now_ns);

#endif
