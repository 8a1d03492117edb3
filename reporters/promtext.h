/* SPDX-License-Identifier: Apache-2.0 */
/* promtext.h -- Prometheus text exposition (what node_exporter's textfile
 * collector and many scripts print) parsed into a hostpulse `data` object,
 * for the exec reporter's format = "prometheus".
 *
 *   fan_rpm 1200                      ->  "fan_rpm": 1200
 *   temp{sensor="a"} 41.5             ->  "temp": [{"labels": {"sensor": "a"}, "value": 41.5}]
 *
 * Comments (# HELP, # TYPE) are skipped, a trailing timestamp is dropped,
 * NaN and infinities become null (JSON has no such numbers). */
#ifndef HP_PROMTEXT_H
#define HP_PROMTEXT_H

#include <stddef.h>

#include <json-c/json.h>

/* Add every sample of text[0..len) to data. 0, or -1 with the first bad
 * line's number and what is wrong in why. */
int hp_promtext_parse(const char *text, size_t len, json_object *data, char *why, size_t whylen);

#endif
