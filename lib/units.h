/* SPDX-License-Identifier: Apache-2.0 */
/* units.h -- the unit of every numeric field of the built-in reporters'
 * data, as docs/schema/message.schema.json annotates it ("unit"), and
 * whether the field is deprecated. The table (lib/units_table.c) is
 * generated from the schema by tools/gen_units.py; a test fails when it is
 * stale. The CSV sink puts the units in its headers and writes no column
 * for a deprecated field. */
#ifndef HP_UNITS_H
#define HP_UNITS_H

#include <stdbool.h>
#include <stddef.h>

struct hp_unit {
    const char *reporter; /* a built-in reporter's wire name */
    const char *path;     /* within data: "devices.*.busy_time_ms", "tcp.*_per_sec" */
    const char *unit;     /* "B", "ms", "%", ...; "1": a count, no unit */
    bool deprecated;      /* published, but read another name (message-format.md) */
};

extern const struct hp_unit hp_units[];
extern const size_t hp_units_count;

/* The row of reporter's field at path (segments separated by dots), or
 * NULL when the schema has none. A row's segment is a glob (fnmatch):
 * "*" matches any one segment, also a literal "*" standing for "any
 * device". Rows are tried in table order, named members before patterns,
 * so the first match is the most specific one. */
const struct hp_unit *hp_unit_find(const char *reporter, const char *path);

#endif
