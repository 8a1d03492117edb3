/* registry.c -- every reporter type. Adding one: a new file in reporters/
 * and one line here. The order is the order of threads and of --once. */
#include "reporters/reporter.h"

#include <stdio.h>
#include <string.h>

extern const struct hp_reporter_ops hp_reporter_cpu;
extern const struct hp_reporter_ops hp_reporter_mem;
extern const struct hp_reporter_ops hp_reporter_net;
extern const struct hp_reporter_ops hp_reporter_uptime;
extern const struct hp_reporter_ops hp_reporter_ipaddr;
extern const struct hp_reporter_ops hp_reporter_disk;
extern const struct hp_reporter_ops hp_reporter_agent;
extern const struct hp_reporter_ops hp_reporter_process;
extern const struct hp_reporter_ops hp_reporter_temperature;
extern const struct hp_reporter_ops hp_reporter_pressure;
extern const struct hp_reporter_ops hp_reporter_netstat;
extern const struct hp_reporter_ops hp_reporter_cgroup;

const struct hp_reporter_ops *const hp_reporter_types[] = {
    &hp_reporter_cpu,
    &hp_reporter_mem,
    &hp_reporter_net,
    &hp_reporter_uptime,
    &hp_reporter_ipaddr,
    &hp_reporter_disk,
    &hp_reporter_process,
    &hp_reporter_temperature,
    &hp_reporter_pressure,
    &hp_reporter_netstat,
    &hp_reporter_cgroup,
    &hp_reporter_agent, /* last: in --once it reports on the others */
    NULL,
};

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
