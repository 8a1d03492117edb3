/* SPDX-License-Identifier: Apache-2.0 */
/* temperature.h -- the temperature reporter's pure part, for tests: which
 * reading stands for the cpu. */
#ifndef HP_TEMPERATURE_H
#define HP_TEMPERATURE_H

#include <stddef.h>

struct hp_temp_reading {
    const char *prefix; /* the chip's driver name: "coretemp", "k10temp", ... */
    const char *label;  /* "Package id 0", "Tctl", "Core 1", "temp1" */
    double value;       /* degrees Celsius */
    int ok;             /* value was read */
};

/* Index of the reading that summarises the cpu temperature, or -1:
 * the hottest coretemp "Package id N"; else k10temp/zenpower Tdie, then
 * Tctl; else the hottest "Core N"; else the first cpu_thermal-like chip. */
int hp_temp_cpu_index(const struct hp_temp_reading *t, size_t n);

#endif
