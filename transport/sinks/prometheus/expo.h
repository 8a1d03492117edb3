/* SPDX-License-Identifier: Apache-2.0 */
/* expo.h -- hostpulse messages rendered as Prometheus exposition text.
 *
 * Pure functions of the messages: no I/O, no locks, so the rendering is
 * unit-tested on its own and runs on the HTTP thread, never on the
 * sink's delivery thread. Host metrics use node_exporter's names, labels and
 * units (node_cpu_seconds_total{cpu,mode}, node_memory_MemAvailable_bytes,
 * ...), so dashboards built for node_exporter work unchanged; everything
 * else is under hostpulse_. */
#ifndef HP_PROM_EXPO_H
#define HP_PROM_EXPO_H

#include <stdbool.h>

#include <json-c/json.h>

#include "lib/buf.h"

struct hp_expo {
    struct hp_buf out; /* the response body; owned, hp_buf_free it */
    bool openmetrics;  /* OpenMetrics 1.0 instead of the 0.0.4 text format */
    int err;           /* set when an allocation failed: out is incomplete */
};

/* Append the metrics of one message (the whole envelope, parsed). A
 * reporter without a mapping is flattened under hostpulse_REPORTER_. */
void hp_expo_message(struct hp_expo *x, json_object *envelope);
/* Close the body: OpenMetrics ends with "# EOF". */
void hp_expo_finish(struct hp_expo *x);

#endif
