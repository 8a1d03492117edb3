/* SPDX-License-Identifier: Apache-2.0 */
/* expo.c -- messages to Prometheus / OpenMetrics exposition text.
 *
 * Each reporter has a renderer that walks its `data` family by family (both
 * formats want every sample of a family together). Values are taken as the
 * message has them and only scaled to the unit node_exporter uses
 * (milliseconds become seconds). Where hostpulse's definition differs from
 * node_exporter's (Cached includes SReclaimable, say) the value goes under a
 * hostpulse_ name instead of a node_ name that would lie. */
#include "transport/sinks/prometheus/expo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum kind { GAUGE, COUNTER, INFO };

/* One label pair per two strings; NULL-terminated. */
typedef const char *const labels_t[];

static void put(struct hp_expo *x, const char *s, size_t n)
{
    if (hp_buf_put(&x->out, s, n) != 0)
        x->err = 1;
}

static void puts_(struct hp_expo *x, const char *s)
{
    put(x, s, strlen(s));
}

static void putf(struct hp_expo *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct hp_expo *x, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(x, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static const char *suffix(enum kind k)
{
    return k == COUNTER ? "_total" : k == INFO ? "_info" : "";
}

/* The HELP and TYPE lines. OpenMetrics names the family without the
 * _total/_info suffix its samples carry; the text format names it as the
 * samples and has no `info` type (node_exporter's *_info are gauges). */
static void family(struct hp_expo *x, const char *name, enum kind k, const char *help)
{
    const char *sfx = x->openmetrics ? "" : suffix(k);
    const char *type = k == COUNTER ? "counter" : k == INFO && x->openmetrics ? "info" : "gauge";
    putf(x, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, sfx, help, name, sfx, type);
}

static void label_value(struct hp_expo *x, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            put(x, "\\", 1);
        if (*p == '\n')
            puts_(x, "\\n");
        else
            put(x, p, 1);
    }
}

static void value(struct hp_expo *x, double v)
{
    if (isnan(v))
        puts_(x, " NaN\n");
    else if (isinf(v))
        puts_(x, v > 0 ? " +Inf\n" : " -Inf\n");
    else if (v == floor(v) && fabs(v) < 9.007199254740992e15)
        putf(x, " %.0f\n", v);
    else
        putf(x, " %.15g\n", v);
}

static void sample(struct hp_expo *x, const char *name, enum kind k, labels_t labels, double v)
{
    puts_(x, name);
    puts_(x, suffix(k));
    for (size_t i = 0; labels && labels[i]; i += 2) {
        putf(x, "%s%s=\"", i ? "," : "{", labels[i]);
        label_value(x, labels[i + 1] ? labels[i + 1] : "");
        puts_(x, "\"");
        if (!labels[i + 2])
            puts_(x, "}");
    }
    value(x, v);
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A number (or boolean) member of o. */
static bool num(json_object *o, const char *key, double *v)
{
    json_object *n = get(o, key);
    if (!n || !(json_object_is_type(n, json_type_double) || json_object_is_type(n, json_type_int) ||
                json_object_is_type(n, json_type_boolean)))
        return false;
    *v = json_object_get_double(n);
    return true;
}

static const char *str(json_object *o, const char *key)
{
    json_object *s = get(o, key);
    return s && json_object_is_type(s, json_type_string) ? json_object_get_string(s) : "";
}

/* A family with one unlabelled sample, when data has key. */
static void one(struct hp_expo *x, json_object *data, const char *key, double scale,
                const char *name, enum kind k, const char *help)
{
    double v;
    if (!num(data, key, &v))
        return;
    family(x, name, k, help);
    sample(x, name, k, NULL, v * scale);
}

/* Fields of per-device objects: { "eth0": { key: n, ... }, ... }. */
struct field {
    const char *key;
    const char *name;
    enum kind kind;
    double scale;
    const char *help;
};

static bool any_has(json_object *devs, const char *key)
{
    double v;
    json_object_object_foreach(devs, dev, o)
    {
        (void)dev;
        if (num(o, key, &v))
            return true;
    }
    return false;
}

static void per_device(struct hp_expo *x, json_object *devs, const char *label,
                       const struct field *f, size_t n)
{
    if (!devs || !json_object_is_type(devs, json_type_object))
        return;
    for (size_t i = 0; i < n; i++) {
        if (!any_has(devs, f[i].key))
            continue;
        family(x, f[i].name, f[i].kind, f[i].help);
        json_object_object_foreach(devs, dev, o)
        {
            double v;
            if (num(o, f[i].key, &v))
                sample(x, f[i].name, f[i].kind, (labels_t){label, dev, NULL}, v * f[i].scale);
        }
    }
}

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const cpu_modes[] = {"user",   "nice", "system",  "idle",
                                        "iowait", "irq",  "softirq", "steal"};

/* node_cpu_seconds_total{cpu,mode}: needs each cpu's times (percpu on). */
static void cpu_seconds(struct hp_expo *x, json_object *cpus)
{
    family(x, "node_cpu_seconds", COUNTER, "Seconds the CPUs spent in each mode.");
    for (size_t i = 0; i < json_object_array_length(cpus); i++) {
        json_object *c = json_object_array_get_idx(cpus, i), *t = get(c, "times");
        char n[24];
        double id = 0, v;
        num(c, "cpu", &id);
        snprintf(n, sizeof(n), "%.0f", id);
        for (size_t m = 0; t && m < NFIELDS(cpu_modes); m++)
            if (num(t, cpu_modes[m], &v))
                sample(x, "node_cpu_seconds", COUNTER,
                       (labels_t){"cpu", n, "mode", cpu_modes[m], NULL}, v);
    }
}

static void render_cpu(struct hp_expo *x, json_object *d)
{
    json_object *cpus = get(d, "cpus"), *t = get(d, "times");
    bool percpu = cpus && json_object_is_type(cpus, json_type_array) &&
                  json_object_array_length(cpus) > 0 &&
                  get(json_object_array_get_idx(cpus, 0), "times");
    double v;
    if (percpu) {
        cpu_seconds(x, cpus);
    } else if (t) {
        family(x, "hostpulse_cpu_seconds", COUNTER,
               "Seconds all CPUs together spent in each mode.");
        for (size_t m = 0; m < NFIELDS(cpu_modes); m++)
            if (num(t, cpu_modes[m], &v))
                sample(x, "hostpulse_cpu_seconds", COUNTER, (labels_t){"mode", cpu_modes[m], NULL},
                       v);
    }
    one(x, d, "load1", 1, "node_load1", GAUGE, "1m load average.");
    one(x, d, "load5", 1, "node_load5", GAUGE, "5m load average.");
    one(x, d, "load15", 1, "node_load15", GAUGE, "15m load average.");
    one(x, d, "ctx_switches", 1, "node_context_switches", COUNTER,
        "Total number of context switches.");
    one(x, d, "interrupts", 1, "node_intr", COUNTER, "Total number of interrupts serviced.");
    one(x, d, "percent", 1, "hostpulse_cpu_busy_percent", GAUGE,
        "Percent of CPU time busy over the last interval, all CPUs.");
    one(x, d, "count", 1, "hostpulse_cpu_count", GAUGE, "Online CPUs.");
}

static void render_mem(struct hp_expo *x, json_object *d)
{
    json_object *sw = get(d, "swap");
    one(x, d, "total", 1, "node_memory_MemTotal_bytes", GAUGE,
        "Memory information field MemTotal_bytes.");
    one(x, d, "free", 1, "node_memory_MemFree_bytes", GAUGE,
        "Memory information field MemFree_bytes.");
    one(x, d, "available", 1, "node_memory_MemAvailable_bytes", GAUGE,
        "Memory information field MemAvailable_bytes.");
    one(x, d, "buffers", 1, "node_memory_Buffers_bytes", GAUGE,
        "Memory information field Buffers_bytes.");
    one(x, d, "shared", 1, "node_memory_Shmem_bytes", GAUGE,
        "Memory information field Shmem_bytes.");
    one(x, sw, "total", 1, "node_memory_SwapTotal_bytes", GAUGE,
        "Memory information field SwapTotal_bytes.");
    one(x, sw, "free", 1, "node_memory_SwapFree_bytes", GAUGE,
        "Memory information field SwapFree_bytes.");
    one(x, d, "cached", 1, "hostpulse_memory_cached_bytes", GAUGE, "Cached + SReclaimable, bytes.");
    one(x, d, "used", 1, "hostpulse_memory_used_bytes", GAUGE,
        "total - free - buffers - cached, bytes.");
    one(x, d, "percent", 1, "hostpulse_memory_used_percent", GAUGE,
        "(total - available) / total, percent.");
    one(x, sw, "percent", 1, "hostpulse_swap_used_percent", GAUGE, "Swap in use, percent.");
    one(x, sw, "sin", 1, "hostpulse_swap_in_bytes", COUNTER, "Bytes swapped in since boot.");
    one(x, sw, "sout", 1, "hostpulse_swap_out_bytes", COUNTER, "Bytes swapped out since boot.");
}

static const struct field net_fields[] = {
    {"bytes_recv", "node_network_receive_bytes", COUNTER, 1,
     "Network device statistic receive_bytes."},
    {"packets_recv", "node_network_receive_packets", COUNTER, 1,
     "Network device statistic receive_packets."},
    {"errin", "node_network_receive_errs", COUNTER, 1, "Network device statistic receive_errs."},
    {"dropin", "node_network_receive_drop", COUNTER, 1, "Network device statistic receive_drop."},
    {"bytes_sent", "node_network_transmit_bytes", COUNTER, 1,
     "Network device statistic transmit_bytes."},
    {"packets_sent", "node_network_transmit_packets", COUNTER, 1,
     "Network device statistic transmit_packets."},
    {"errout", "node_network_transmit_errs", COUNTER, 1, "Network device statistic transmit_errs."},
    {"dropout", "node_network_transmit_drop", COUNTER, 1,
     "Network device statistic transmit_drop."},
};

static const struct field disk_fields[] = {
    {"read_count", "node_disk_reads_completed", COUNTER, 1,
     "The total number of reads completed successfully."},
    {"read_merged_count", "node_disk_reads_merged", COUNTER, 1,
     "The total number of reads merged."},
    {"read_bytes", "node_disk_read_bytes", COUNTER, 1,
     "The total number of bytes read successfully."},
    {"read_time_ms", "node_disk_read_time_seconds", COUNTER, 0.001,
     "The total number of seconds spent by all reads."},
    {"write_count", "node_disk_writes_completed", COUNTER, 1,
     "The total number of writes completed successfully."},
    {"write_merged_count", "node_disk_writes_merged", COUNTER, 1, "The number of writes merged."},
    {"write_bytes", "node_disk_written_bytes", COUNTER, 1,
     "The total number of bytes written successfully."},
    {"write_time_ms", "node_disk_write_time_seconds", COUNTER, 0.001,
     "This is the total number of seconds spent by all writes."},
    {"in_progress", "node_disk_io_now", GAUGE, 1, "The number of I/Os currently in progress."},
    {"busy_time_ms", "node_disk_io_time_seconds", COUNTER, 0.001,
     "Total seconds spent doing I/Os."},
};

static void render_net(struct hp_expo *x, json_object *d)
{
    per_device(x, get(d, "interfaces"), "device", net_fields, NFIELDS(net_fields));
}

/* node_filesystem_*{device,fstype,mountpoint}. hostpulse's `free` is what
 * an unprivileged user may still use (f_bavail: node_exporter's avail);
 * node_exporter's free (f_bfree) is total - used. */
static void render_filesystems(struct hp_expo *x, json_object *fss)
{
    static const struct {
        const char *key, *name, *help;
    } f[] = {
        {"total", "node_filesystem_size_bytes", "Filesystem size in bytes."},
        {"free", "node_filesystem_avail_bytes",
         "Filesystem space available to non-root users in bytes."},
        {NULL, "node_filesystem_free_bytes", "Filesystem free space in bytes."},
        {"inodes_total", "node_filesystem_files", "Filesystem total file nodes."},
        {"inodes_free", "node_filesystem_files_free", "Filesystem total free file nodes."},
    };
    if (!fss || !json_object_is_type(fss, json_type_object))
        return;
    for (size_t i = 0; i < NFIELDS(f); i++) {
        family(x, f[i].name, GAUGE, f[i].help);
        json_object_object_foreach(fss, mnt, o)
        {
            double v, used;
            bool ok = f[i].key ? num(o, f[i].key, &v)
                               : num(o, "total", &v) && num(o, "used", &used) && (v -= used, 1);
            if (ok)
                sample(x, f[i].name, GAUGE,
                       (labels_t){"device", str(o, "device"), "fstype", str(o, "fstype"),
                                  "mountpoint", mnt, NULL},
                       v);
        }
    }
}

static void render_disk(struct hp_expo *x, json_object *d)
{
    render_filesystems(x, get(d, "filesystems"));
    per_device(x, get(d, "devices"), "device", disk_fields, NFIELDS(disk_fields));
}

static void render_uptime(struct hp_expo *x, json_object *env, json_object *d)
{
    one(x, d, "boot_time", 0.001, "node_boot_time_seconds", GAUGE, "Node boot time, in unixtime.");
    one(x, env, "ts", 0.001, "node_time_seconds", GAUGE,
        "System time in seconds since epoch (1970), at the sample.");
    one(x, d, "uptime", 1, "hostpulse_uptime_seconds", GAUGE, "Seconds since boot.");
}

/* node_hwmon_temp_*_celsius{chip,sensor}; sensor is libsensors' label. */
static void render_temperature(struct hp_expo *x, json_object *d)
{
    static const struct {
        const char *key, *name, *help;
    } f[] = {
        {"value", "node_hwmon_temp_celsius", "Hardware monitor for temperature (input)"},
        {"high", "node_hwmon_temp_max_celsius", "Hardware monitor for temperature (max)"},
        {"crit", "node_hwmon_temp_crit_celsius", "Hardware monitor for temperature (crit)"},
    };
    json_object *list = get(d, "sensors");
    size_t n =
        list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < NFIELDS(f); i++) {
        bool fam = false;
        for (size_t j = 0; j < n; j++) {
            json_object *o = json_object_array_get_idx(list, j);
            double v;
            if (!num(o, f[i].key, &v))
                continue;
            if (!fam)
                family(x, f[i].name, GAUGE, f[i].help);
            fam = true;
            sample(x, f[i].name, GAUGE,
                   (labels_t){"chip", str(o, "chip"), "sensor", str(o, "label"), NULL}, v);
        }
    }
    one(x, d, "cpu", 1, "hostpulse_cpu_temperature_celsius", GAUGE,
        "The CPU temperature the temperature reporter identified.");
}

static const struct field proc_fields[] = {
    {"utime", "hostpulse_process_user_cpu_seconds", COUNTER, 1, "User-mode CPU seconds."},
    {"stime", "hostpulse_process_system_cpu_seconds", COUNTER, 1, "Kernel-mode CPU seconds."},
    {"cpu_percent", "hostpulse_process_cpu_percent", GAUGE, 1, "CPU percent over the interval."},
    {"rss", "hostpulse_process_resident_memory_bytes", GAUGE, 1, "Resident memory size in bytes."},
    {"vms", "hostpulse_process_virtual_memory_bytes", GAUGE, 1, "Virtual memory size in bytes."},
    {"memory_percent", "hostpulse_process_memory_percent", GAUGE, 1, "RSS, percent of memory."},
    {"threads", "hostpulse_process_threads", GAUGE, 1, "Threads."},
    {"fds", "hostpulse_process_open_fds", GAUGE, 1, "Open file descriptors."},
    {"read_bytes", "hostpulse_process_read_bytes", COUNTER, 1, "Bytes read from storage."},
    {"write_bytes", "hostpulse_process_written_bytes", COUNTER, 1, "Bytes written to storage."},
    {"start_time", "hostpulse_process_start_time_seconds", GAUGE, 0.001,
     "Start time of the process since unix epoch in seconds."},
};

static void render_process(struct hp_expo *x, json_object *d)
{
    one(x, d, "processes", 1, "hostpulse_processes", GAUGE, "Processes on the host.");
    one(x, d, "threads", 1, "hostpulse_threads", GAUGE, "Threads on the host.");
    json_object *states = get(d, "states");
    if (states && json_object_is_type(states, json_type_object)) {
        family(x, "hostpulse_processes_state", GAUGE, "Processes by state.");
        json_object_object_foreach(states, st, v)
        {
            sample(x, "hostpulse_processes_state", GAUGE, (labels_t){"state", st, NULL},
                   json_object_get_double(v));
        }
    }
    json_object *w = get(d, "watched");
    size_t n = w && json_object_is_type(w, json_type_array) ? json_object_array_length(w) : 0;
    for (size_t i = 0; i < NFIELDS(proc_fields); i++) {
        bool fam = false;
        for (size_t j = 0; j < n; j++) {
            json_object *o = json_object_array_get_idx(w, j);
            double v, pid = 0;
            if (!num(o, proc_fields[i].key, &v))
                continue;
            if (!fam)
                family(x, proc_fields[i].name, proc_fields[i].kind, proc_fields[i].help);
            fam = true;
            char p[24];
            num(o, "pid", &pid);
            snprintf(p, sizeof(p), "%.0f", pid);
            sample(x, proc_fields[i].name, proc_fields[i].kind,
                   (labels_t){"pid", p, "name", str(o, "name"), NULL}, v * proc_fields[i].scale);
        }
    }
}

/* hostpulse_ipaddr_info{interface,family,address,prefixlen} 1. */
static void render_ipaddr(struct hp_expo *x, json_object *d)
{
    json_object *ifs = get(d, "interfaces");
    if (!ifs || !json_object_is_type(ifs, json_type_object))
        return;
    family(x, "hostpulse_ipaddr", INFO, "An address of an interface.");
    json_object_object_foreach(ifs, ifname, list)
    {
        size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
        for (size_t j = 0; j < n; j++) {
            json_object *a = json_object_array_get_idx(list, j);
            double plen = 0;
            char pl[16];
            num(a, "prefixlen", &plen);
            snprintf(pl, sizeof(pl), "%.0f", plen);
            sample(x, "hostpulse_ipaddr", INFO,
                   (labels_t){"interface", ifname, "family", str(a, "family"), "address",
                              str(a, "address"), "prefixlen", pl, NULL},
                   1);
        }
    }
}

static const struct field sink_fields[] = {
    {"up", "hostpulse_sink_up", GAUGE, 1, "1 while the sink is connected."},
    {"sent", "hostpulse_sink_sent_messages", COUNTER, 1, "Messages the destination confirmed."},
    {"failed", "hostpulse_sink_failures", COUNTER, 1, "Connection-level failures."},
    {"retried", "hostpulse_sink_retried_messages", COUNTER, 1, "Messages sent again."},
    {"rejected", "hostpulse_sink_rejected_messages", COUNTER, 1,
     "Messages the destination refused for their content."},
    {"dropped", "hostpulse_sink_dropped_messages", COUNTER, 1, "Messages lost to a full backlog."},
    {"backlog", "hostpulse_sink_backlog_messages", GAUGE, 1, "Messages waiting or in flight."},
};

static const struct field reporter_fields[] = {
    {"samples", "hostpulse_reporter_samples", COUNTER, 1, "Samples taken."},
    {"errors", "hostpulse_reporter_errors", COUNTER, 1, "Samples that failed."},
    {"skipped", "hostpulse_reporter_skipped_ticks", COUNTER, 1, "Ticks missed after a stall."},
    {"dropped", "hostpulse_reporter_dropped_messages", COUNTER, 1, "Messages lost to a full ring."},
};

/* The self-report (reporter "agent"); the envelope's labels (agent.labels)
 * become labels of hostpulse_agent_info, beside version. */
static void render_self(struct hp_expo *x, json_object *d, json_object *labels)
{
    const char *l[2 * 32 + 3] = {"version", str(d, "version")};
    size_t n = 2;
    if (labels && json_object_is_type(labels, json_type_object)) {
        json_object_object_foreach(labels, k, v)
        {
            if (n + 3 > sizeof(l) / sizeof(l[0]) || strcmp(k, "version") == 0 ||
                !json_object_is_type(v, json_type_string) || !*k || (*k >= '0' && *k <= '9') ||
                k[strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")])
                continue;
            l[n++] = k;
            l[n++] = json_object_get_string(v);
        }
    }
    l[n] = NULL;
    family(x, "hostpulse_agent", INFO, "The running agent.");
    sample(x, "hostpulse_agent", INFO, l, 1);
    one(x, d, "produced", 1, "hostpulse_agent_produced_messages", COUNTER, "Messages produced.");
    one(x, d, "dropped", 1, "hostpulse_agent_dropped_messages", COUNTER,
        "Messages lost to a full ring.");
    json_object *ring = get(d, "ring");
    one(x, ring, "used", 1, "hostpulse_agent_ring_used", GAUGE, "Messages in the ring.");
    one(x, ring, "high_water", 1, "hostpulse_agent_ring_high_water", GAUGE,
        "Most messages the ring held.");
    one(x, d, "rss", 1, "hostpulse_agent_resident_memory_bytes", GAUGE, "Agent RSS, bytes.");
    one(x, d, "cpu_percent", 1, "hostpulse_agent_cpu_percent", GAUGE, "Agent CPU, percent.");
    one(x, d, "threads", 1, "hostpulse_agent_threads", GAUGE, "Agent threads.");
    per_device(x, get(d, "sinks"), "sink", sink_fields, NFIELDS(sink_fields));
    per_device(x, get(d, "reporters"), "reporter", reporter_fields, NFIELDS(reporter_fields));
}

/* Metric names allow [a-zA-Z0-9_:]; anything else becomes '_'. */
static void sanitize(char *p)
{
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            *p = '_';
}

/* A reporter with no mapping (exec, new ones): every number under
 * hostpulse_REPORTER_PATH as a gauge; arrays and strings are left out. */
static void flatten(struct hp_expo *x, json_object *o, char *name, size_t len, size_t cap)
{
    json_object_object_foreach(o, key, v)
    {
        size_t l = len;
        int w = snprintf(name + l, cap - l, "_%s", key);
        if (w < 0 || (size_t)w >= cap - l)
            continue;
        sanitize(name + l + 1);
        if (json_object_is_type(v, json_type_object)) {
            flatten(x, v, name, l + (size_t)w, cap);
        } else if (json_object_is_type(v, json_type_double) ||
                   json_object_is_type(v, json_type_int) ||
                   json_object_is_type(v, json_type_boolean)) {
            family(x, name, GAUGE, "A value the reporter published (see its documentation).");
            sample(x, name, GAUGE, NULL, json_object_get_double(v));
        }
        name[l] = '\0';
    }
}

void hp_expo_message(struct hp_expo *x, json_object *env)
{
    const char *rep = str(env, "reporter");
    json_object *d = get(env, "data");
    if (!d || !json_object_is_type(d, json_type_object))
        return;
    if (strcmp(rep, "cpu") == 0)
        render_cpu(x, d);
    else if (strcmp(rep, "mem") == 0)
        render_mem(x, d);
    else if (strcmp(rep, "net") == 0)
        render_net(x, d);
    else if (strcmp(rep, "disk") == 0)
        render_disk(x, d);
    else if (strcmp(rep, "uptime") == 0)
        render_uptime(x, env, d);
    else if (strcmp(rep, "temperature") == 0)
        render_temperature(x, d);
    else if (strcmp(rep, "process") == 0)
        render_process(x, d);
    else if (strcmp(rep, "ipaddr") == 0)
        render_ipaddr(x, d);
    else if (strcmp(rep, "agent") == 0)
        render_self(x, d, get(env, "labels"));
    else if (strcmp(rep, "session") != 0) {
        char name[256];
        int w = snprintf(name, sizeof(name), "hostpulse_%s", rep);
        if (w <= 0 || (size_t)w >= sizeof(name))
            return;
        sanitize(name);
        flatten(x, d, name, (size_t)w, sizeof(name));
    }
}

void hp_expo_finish(struct hp_expo *x)
{
    if (x->openmetrics)
        puts_(x, "# EOF\n");
}
