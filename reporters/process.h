/* SPDX-License-Identifier: Apache-2.0 */
/* process.h -- the process reporter's entry point for tests: one sample
 * taken at a given monotonic time, so rates can be checked exactly. */
#ifndef HP_PROCESS_H
#define HP_PROCESS_H

#include <stdint.h>

#include <json-c/json.h>

#include "reporters/reporter.h"

extern const struct hp_reporter_ops hp_reporter_process;

/* What sample() does, with now_ns in place of the monotonic clock. */
int hp_process_sample_at(struct hp_reporter *r, json_object *data, int64_t now_ns);

#endif
