/* SPDX-License-Identifier: Apache-2.0 */
/* psi.h -- parse and publish pressure stall information (PSI), the format
 * shared by /proc/pressure/{cpu,memory,io,irq} and a cgroup v2 group's
 * {cpu,memory,io}.pressure files:
 *
 *   some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *
 * Used by the pressure reporter (system-wide) and the cgroup reporter (per
 * group), so both publish the same object shape. */
#ifndef HP_PSI_H
#define HP_PSI_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/jw.h"

struct hp_psi_line {
    bool ok;                     /* the line was present and well formed */
    double avg10, avg60, avg300; /* percent of time stalled, kernel's averages */
    uint64_t total;              /* microseconds stalled since boot (or group creation) */
};

struct hp_psi {
    struct hp_psi_line some, full;
};

/* Parse the text of a pressure file into out (zeroed first). A malformed
 * or unknown line leaves its half !ok. Returns how many halves parsed
 * (0, 1 or 2). Never allocates; text must be NUL-terminated. */
int hp_psi_parse(const char *text, struct hp_psi *out);

/* Write cur as member `name` of the object open in w: {"some":{avg10,
 * avg60,avg300,total,total_per_sec},"full":{...}}; nothing when both halves
 * are !ok. A half is left out when !ok; its total_per_sec (microseconds
 * stalled per second) is written only when prev is non-NULL, its half was
 * ok, secs > 0 and the total did not go back. */
void hp_psi_write(struct hp_jw *w, const char *name, const struct hp_psi *cur,
                  const struct hp_psi *prev, double secs);

#endif
