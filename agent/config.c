/* config.c -- libconfig file -> validated struct hp_config. */
#include "agent/config.h"
#include "lib/conffile.h"
#include "reporters/reporter.h"
#include "transport/sink.h"
#include "transport/spool.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const log_dests[] = {"stderr", "syslog", NULL};
static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};

/* clang-format off */
static const struct hp_opt log_opts[] = {
    {.name = "destination", .type = HP_OPT_STRING, .def = "stderr", .choices = log_dests,
     .help = "where log lines go: stderr (the journal under systemd) or syslog"},
    {.name = "level", .type = HP_OPT_STRING, .def = "info", .choices = log_levels,
     .help = "least severe level logged"},
    {0},
};
/* clang-format on */

/* clang-format off */
const struct hp_opt hp_agent_opts[] = {
    {.name = "hostname", .type = HP_OPT_STRING, .def = "",
     .help = "host name in every message (default: the system's)"},
    {.name = "description", .type = HP_OPT_STRING, .def = "",
     .help = "free text recorded in the session message"},
    {.name = "ring_capacity", .type = HP_OPT_INT, .def = "1024", .min = 16, .max = 1048576,
     .help = "messages the reporter->transport ring holds (power of two)"},
    {.name = "batch_size", .type = HP_OPT_INT, .def = "256", .min = 1, .max = 65536,
     .help = "messages the transport moves per batch"},
    {.name = "log", .type = HP_OPT_GROUP, .sub = log_opts, .help = "logging"},
    {.name = "proc_root", .type = HP_OPT_STRING, .def = "/proc",
     .help = "where procfs is mounted (env HOSTPULSE_PROC_ROOT overrides)"},
    {.name = "sys_root", .type = HP_OPT_STRING, .def = "/sys",
     .help = "where sysfs is mounted (env HOSTPULSE_SYS_ROOT overrides)"},
    {.name = "shutdown_timeout", .type = HP_OPT_FLOAT, .def = "5.0", .min = 0, .max = 600,
     .help = "seconds to deliver what is queued at exit"},
    {.name = "tick", .type = HP_OPT_FLOAT, .def = "0.1", .min = 0.005, .max = 1.0,
     .help = "seconds between transport wake-ups while a sink has work pending (retries, "
             "acks, spool timers)"},
    {.name = "linger", .type = HP_OPT_FLOAT, .def = "0.02", .min = 0, .max = 1.0,
     .help = "seconds the transport waits after the first message of a quiet spell for the "
             "rest of that round of samples, to send them together"},
    {.name = "spool", .type = HP_OPT_GROUP, .sub = hp_spool_opts, .help = "disk backlog"},
    {0},
};
/* clang-format on */

/* clang-format off */
const struct hp_opt hp_reporter_common_opts[] = {
    {.name = "enabled", .type = HP_OPT_BOOL, .help = "run this reporter"},
    {.name = "interval", .type = HP_OPT_FLOAT, .min = 0.01, .max = 86400,
     .help = "seconds between samples"},
    {0},
};
/* clang-format on */

/* clang-format off */
static const struct hp_opt top_opts[] = {
    {.name = "agent", .type = HP_OPT_GROUP, .help = "the agent itself"},
    {.name = "reporters", .type = HP_OPT_GROUP, .help = "one group per reporter"},
    {.name = "sinks", .type = HP_OPT_LIST, .help = "where messages go"},
    {0},
};
/* clang-format on */

static void check_reporters(const config_setting_t *reps, struct hp_errs *e)
{
    char path[256];
    for (int i = 0; reps && i < config_setting_length(reps); i++) {
        const config_setting_t *r = config_setting_get_elem(reps, (unsigned)i);
        const char *name = config_setting_name(r);
        const struct hp_reporter_ops *ops = hp_reporter_find(name);
        hp_setting_path(r, path, sizeof(path));
        if (!ops) {
            hp_errs_add(e, r, "%s: unknown reporter", path);
        } else if (!config_setting_is_group(r)) {
            hp_errs_add(e, r, "%s: must be a group { ... }", path);
        } else {
            hp_opts_check(r, ops->opts, hp_reporter_common_opts, e);
        }
    }
}

static void check_sinks(const config_setting_t *sinks, struct hp_errs *e)
{
    char path[256];
    for (int i = 0; sinks && i < config_setting_length(sinks); i++) {
        const config_setting_t *s = config_setting_get_elem(sinks, (unsigned)i);
        hp_setting_path(s, path, sizeof(path));
        const char *type = NULL;
        if (!config_setting_lookup_string(s, "type", &type)) {
            hp_errs_add(e, s, "%s.type: required option is missing (a string)", path);
            continue;
        }
        char why[PATH_MAX + 256];
        const struct hp_sink_ops *ops = hp_sink_load(type, why, sizeof(why));
        if (!ops && hp_sink_known(type)) {
            hp_errs_add(e, config_setting_get_member(s, "type"), "%s.type: %s", path, why);
            continue;
        }
        if (!ops) {
            char known[256] = "";
            for (size_t i = 0; hp_sink_type_name(i); i++) {
                const char *t = hp_sink_type_name(i);
                size_t l = strlen(known);
                snprintf(known + l, sizeof(known) - l, "%s%s", l ? ", " : "", t);
            }
            hp_errs_add(e, config_setting_get_member(s, "type"), "%s.type: %s (known: %s)", path,
                        why, known);
            continue;
        }
        hp_opts_check(s, ops->opts, hp_sink_common_opts, e);
    }
}

static void resolve_agent(struct hp_config *c)
{
    const config_setting_t *a = c->agent;
    const char *host = hp_opt_string(a, hp_agent_opts, "hostname");
    if (host && *host)
        snprintf(c->hostname, sizeof(c->hostname), "%s", host);
    else if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0)
        snprintf(c->hostname, sizeof(c->hostname), "localhost");
    c->description = hp_opt_string(a, hp_agent_opts, "description");
    c->ring_capacity = (size_t)hp_opt_int(a, hp_agent_opts, "ring_capacity");
    c->batch_size = (size_t)hp_opt_int(a, hp_agent_opts, "batch_size");
    const config_setting_t *log = a ? config_setting_get_member(a, "log") : NULL;
    c->log_dest = strcmp(hp_opt_string(log, log_opts, "destination"), "syslog") == 0
                      ? HP_LOG_SYSLOG
                      : HP_LOG_STDERR;
    c->log_level = (enum hp_log_level)hp_log_level_parse(hp_opt_string(log, log_opts, "level"));
    const char *env_proc = getenv("HOSTPULSE_PROC_ROOT");
    const char *env_sys = getenv("HOSTPULSE_SYS_ROOT");
    c->proc_root = env_proc && *env_proc ? env_proc : hp_opt_string(a, hp_agent_opts, "proc_root");
    c->sys_root = env_sys && *env_sys ? env_sys : hp_opt_string(a, hp_agent_opts, "sys_root");
    c->shutdown_timeout = hp_opt_float(a, hp_agent_opts, "shutdown_timeout");
    c->tick = hp_opt_float(a, hp_agent_opts, "tick");
    c->linger = hp_opt_float(a, hp_agent_opts, "linger");
    c->spool = a ? config_setting_get_member(a, "spool") : NULL;
}

static void check_agent(struct hp_config *c, struct hp_errs *e)
{
    hp_opts_check(c->agent, hp_agent_opts, NULL, e);
    const config_setting_t *cap =
        c->agent ? config_setting_get_member(c->agent, "ring_capacity") : NULL;
    long long v = cap ? config_setting_get_int64(cap) : 1024;
    if (cap && (v & (v - 1)) != 0)
        hp_errs_add(e, cap, "agent.ring_capacity: %lld is not a power of two", v);
}

struct hp_config *hp_config_load(const char *path, struct hp_errs *e)
{
    struct hp_config *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    config_init(&c->lc);
    c->path = strdup(path);
    if (!c->path || hp_conffile_read(&c->lc, path, e, &c->include_dir) != 0) {
        e->include_dir = NULL; /* freed with c */
        hp_config_free(c);
        return NULL;
    }
    unsigned before = e->count;
    const config_setting_t *root = config_root_setting(&c->lc);
    hp_opts_check(root, top_opts, NULL, e);
    c->agent = config_setting_get_member(root, "agent");
    c->reporters = config_setting_get_member(root, "reporters");
    c->sinks = config_setting_get_member(root, "sinks");
    if (c->agent && !config_setting_is_group(c->agent))
        c->agent = NULL;
    if (c->reporters && !config_setting_is_group(c->reporters))
        c->reporters = NULL;
    if (c->sinks && !config_setting_is_list(c->sinks))
        c->sinks = NULL;
    check_agent(c, e);
    check_reporters(c->reporters, e);
    check_sinks(c->sinks, e);
    if (e->count != before) {
        e->include_dir = NULL; /* freed with c */
        hp_config_free(c);
        return NULL;
    }
    resolve_agent(c);
    return c;
}

void hp_config_free(struct hp_config *c)
{
    if (!c)
        return;
    config_destroy(&c->lc);
    free(c->path);
    free(c->include_dir);
    free(c);
}

const config_setting_t *hp_config_reporter(const struct hp_config *c, const char *name)
{
    return c->reporters ? config_setting_get_member(c->reporters, name) : NULL;
}
