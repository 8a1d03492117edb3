/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_select.h -- whether a process's cgroup v2 path is selected by a
 * systemd unit or a cgroup path (or globs of them): the `unit` and `cgroup`
 * selectors of the process reporter's watch groups. */
#ifndef HP_CGROUP_SELECT_H
#define HP_CGROUP_SELECT_H

#include <stdbool.h>

/* cg is the path of the "0::" line of /proc/PID/cgroup ("/system.slice/
 * nginx.service"). unit (a unit name or shell glob) matches when any
 * component of cg matches it, so processes in groups below the unit's own
 * count; cgroup (a path or glob, matched component by component) matches
 * when cg or one of its ancestors does, so processes in sub-groups count.
 * A process's children stay in its group unless moved, so both select a
 * service with its children. NULL selectors match anything; both given,
 * both must match. */
bool hp_cgroup_selects(const char *cg, const char *unit, const char *cgroup);

#endif
