/* SPDX-License-Identifier: Apache-2.0 */
/* registry.c -- every reporter type. Adding one: a new file in reporters/
 * and one X(name) line in HP_REPORTERS below. The order is the order of
 * threads and of --once. */
#include "reporters/reporter.h"

#include <stdio.h>
#include <string.h>

/* One line per reporter type, in order: X(name) for a file that defines
 * `const struct hp_reporter_ops hp_reporter_name`. */
/* clang-format off */
#define HP_REPORTERS(X)                                                                            \
    X(cpu)                                                                                         \
    X(mem)                                                                                         \
    X(net)                                                                                         \
    X(uptime)                                                                                      \
    X(ipaddr)                                                                                      \
    X(disk)                                                                                        \
    X(process)                                                                                     \
    X(temperature)                                                                                 \
    X(pressure)                                                                                    \
    X(netstat)                                                                                     \
    X(cgroup)                                                                                      \
    X(self) /* last: in --once it reports on the others */
/* clang-format on */

#define HP_DECLARE(n) extern const struct hp_reporter_ops hp_reporter_##n;
HP_REPORTERS(HP_DECLARE)
#define HP_ENTRY(n) &hp_reporter_##n,
const struct hp_reporter_ops *const hp_reporter_types[] = {HP_REPORTERS(HP_ENTRY) NULL};

const struct hp_reporter_ops *hp_reporter_find(const char *name)
{
    for (const struct hp_reporter_ops *const *t = hp_reporter_types; name && *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}

const char *hp_proc_path(const struct hp_reporter *r, char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", r->proc_root, rel);
    return buf;
}

const char *hp_sys_path(const struct hp_reporter *r, char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", r->sys_root, rel);
    return buf;
}
