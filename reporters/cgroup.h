/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup.h -- the cgroup v2 file parsers of the cgroup reporter, shared
 * with the unit tests and the fuzz target. None allocates. */
#ifndef HP_CGROUP_H
#define HP_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

/* "key value" lines (cpu.stat, memory.stat, memory.events): the values of
 * keys[0..n) into v (n <= 32). Returns a bitmask of the keys found with a
 * well-formed value; text may be NULL (nothing found). */
unsigned hp_cg_keyed(const char *text, const char *const *keys, int n, uint64_t *v);

/* A single-value file (memory.max, pids.current): a number into *v, or
 * "max" (*unlimited = true). false when neither or text is NULL. */
bool hp_cg_value(const char *text, uint64_t *v, bool *unlimited);

/* One io.stat line: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..";
 * v gets rbytes, wbytes, rios, wios, dbytes, dios (the last two 0 when the
 * kernel has none). false when the line is not one. */
bool hp_cg_io_line(const char *p, unsigned *maj, unsigned *min, uint64_t v[6]);

#endif
