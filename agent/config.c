/* SPDX-License-Identifier: Apache-2.0 */
/* config.c -- libconfig file -> validated struct hp_config. */
#include "agent/config.h"
#include "agent/health.h"
#include "lib/conffile.h"
#include "lib/msg.h"
#include "reporters/exec.h"
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

/* The agent section as its option table fills it (resolve_agent turns it
 * into struct hp_config). */
struct agent_section {
    const char *hostname, *description, *proc_root, *sys_root;
    int64_t ring_capacity, batch_size;
    double shutdown_timeout, tick, linger;
    const config_setting_t *log, *spool, *labels, *health;
    const char *config_dir;
};

struct log_section {
    int destination; /* index into log_dests: enum hp_log_dest */
    int level;       /* index into log_levels: enum hp_log_level */
    int timestamps;  /* index into log_stamps */
};

/* In the order of enum hp_log_dest and enum hp_log_level. */
static const char *const log_dests[] = {"stderr", "syslog", NULL};
static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const log_stamps[] = {"auto", "always", "never", NULL};

/* clang-format off */
static const struct hp_opt log_opts[] = {
    {.name = "destination", .type = HP_OPT_ENUM, .def = "stderr", .choices = log_dests,
     .help = "where log lines go: stderr (the journal under systemd) or syslog",
     HP_AT_ENUM(struct log_section, destination)},
    {.name = "level", .type = HP_OPT_ENUM, .def = "info", .choices = log_levels,
     .help = "least severe level logged", HP_AT_ENUM(struct log_section, level)},
    {.name = "timestamps", .type = HP_OPT_ENUM, .def = "auto", .choices = log_stamps,
     .help = "UTC ISO 8601 time at the start of each stderr line: auto (unless under "
             "systemd, whose journal stamps lines: JOURNAL_STREAM or INVOCATION_ID set), "
             "always or never; syslog lines never carry one",
     HP_AT_ENUM(struct log_section, timestamps)},
    {0},
};
/* clang-format on */

/* clang-format off */
const struct hp_opt hp_agent_opts[] = {
    {.name = "hostname", .type = HP_OPT_STRING, .def = "",
     .help = "host name in every message (default: the system's)",
     HP_AT_STR(struct agent_section, hostname)},
    {.name = "description", .type = HP_OPT_STRING, .def = "",
     .help = "free text recorded in the session message",
     HP_AT_STR(struct agent_section, description)},
    {.name = "ring_capacity", .type = HP_OPT_INT, .def = "1024", .min = 16, .max = 1048576,
     .help = "messages the reporter->transport ring holds (power of two)",
     HP_AT_INT(struct agent_section, ring_capacity)},
    {.name = "batch_size", .type = HP_OPT_INT, .def = "256", .min = 1, .max = 65536,
     .help = "messages the transport moves per batch",
     HP_AT_INT(struct agent_section, batch_size)},
    {.name = "log", .type = HP_OPT_GROUP, .sub = log_opts, .help = "logging",
     HP_AT_SET(struct agent_section, log)},
    {.name = "proc_root", .type = HP_OPT_STRING, .def = "/proc",
     .help = "where procfs is mounted (env HOSTPULSE_PROC_ROOT overrides)",
     HP_AT_STR(struct agent_section, proc_root)},
    {.name = "sys_root", .type = HP_OPT_STRING, .def = "/sys",
     .help = "where sysfs is mounted (env HOSTPULSE_SYS_ROOT overrides)",
     HP_AT_STR(struct agent_section, sys_root)},
    {.name = "shutdown_timeout", .type = HP_OPT_FLOAT, .def = "5.0", .min = 0, .max = 600,
     .help = "seconds to wait for reporter threads and to deliver what is queued at exit",
     HP_AT_FLOAT(struct agent_section, shutdown_timeout)},
    {.name = "tick", .type = HP_OPT_FLOAT, .def = "0.1", .min = 0.005, .max = 1.0,
     .help = "seconds between transport wake-ups while a sink has work pending (retries, "
             "acks, spool timers)",
     HP_AT_FLOAT(struct agent_section, tick)},
    {.name = "linger", .type = HP_OPT_FLOAT, .def = "0.02", .min = 0, .max = 1.0,
     .help = "seconds the transport waits after the first message of a quiet spell for the "
             "rest of that round of samples, to send them together; a sink then waits as "
             "long to read their acknowledgements together",
     HP_AT_FLOAT(struct agent_section, linger)},
    {.name = "spool", .type = HP_OPT_GROUP, .sub = hp_spool_opts, .help = "disk backlog",
     HP_AT_SET(struct agent_section, spool)},
    {.name = "health", .type = HP_OPT_GROUP, .sub = hp_health_opts,
     .help = "health socket and the thresholds of a critical verdict",
     HP_AT_SET(struct agent_section, health)},
    {.name = "config_dir", .type = HP_OPT_STRING, .def = "",
     .help = "directory of *.conf fragments read after this file, in sorted order (default: "
             "conf.d beside it; --config-dir overrides; ignored inside a fragment)",
     HP_AT_STR(struct agent_section, config_dir)},
    {.name = "labels", .type = HP_OPT_GROUP,
     .help = "name = \"value\" pairs in every envelope's \"labels\" and as {label.NAME} in "
             "sink templates",
     HP_AT_SET(struct agent_section, labels)},
    {0},
};
/* clang-format on */

/* clang-format off */
const struct hp_opt hp_reporter_common_opts[] = {
    {.name = "enabled", .type = HP_OPT_BOOL, .help = "run this reporter",
     HP_AT_BOOL(struct hp_reporter_common, enabled)},
    {.name = "interval", .type = HP_OPT_FLOAT, .min = 0.01, .max = 86400,
     .help = "seconds between samples", HP_AT_FLOAT(struct hp_reporter_common, interval)},
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

/* A setting with a problem is marked with a non-NULL hook (libconfig's
 * per-setting user pointer, unused otherwise) so that the build skips it. */
static const char invalid_mark; /* only its address is used */

static void mark_if_new_errors(const config_setting_t *s, const struct hp_errs *e, unsigned before)
{
    if (e->count != before)
        config_setting_set_hook((config_setting_t *)s, (void *)&invalid_mark);
}

bool hp_config_valid(const config_setting_t *s)
{
    return !s || config_setting_get_hook(s) != &invalid_mark;
}

/* The name of exec instance i: an identifier, no built-in reporter's, not
 * "session" nor "exec", and not an earlier instance's. */
static void check_exec_name(const config_setting_t *list, int i, struct hp_errs *e)
{
    const config_setting_t *x = config_setting_get_elem(list, (unsigned)i);
    const char *name = hp_exec_instance_name(x);
    const config_setting_t *at = config_setting_get_member(x, "name");
    if (!name)
        return; /* hp_opts_check reported it */
    if (!hp_is_identifier(name, HP_NAME_MAX))
        hp_errs_add(e, at,
                    "reporters.exec[%d].name: \"%.64s\" is not a name: 1 to %d of A-Z a-z 0-9 _ . "
                    "-, no \"..\"",
                    i, name, HP_NAME_MAX - 1);
    else if (hp_reporter_find(name) || !strcmp(name, "session") || !strcmp(name, "exec"))
        hp_errs_add(e, at, "reporters.exec[%d].name: \"%s\" is a built-in reporter's name", i,
                    name);
    for (int j = 0; j < i; j++) {
        const char *other = hp_exec_instance_name(config_setting_get_elem(list, (unsigned)j));
        if (other && !strcmp(other, name))
            hp_errs_add(e, at, "reporters.exec[%d].name: \"%s\" is already used by exec[%d]", i,
                        name, j);
    }
}

static void check_exec(const config_setting_t *list, struct hp_errs *e)
{
    if (!config_setting_is_list(list)) {
        hp_errs_add(e, list, "reporters.exec: must be a list ( { name = ...; command = ...; } )");
        return;
    }
    int n = config_setting_length(list);
    if (n > HP_EXEC_MAX)
        hp_errs_add(e, list, "reporters.exec: %d instances; at most %d", n, HP_EXEC_MAX);
    for (int i = 0; i < n; i++) {
        const config_setting_t *x = config_setting_get_elem(list, (unsigned)i);
        if (!config_setting_is_group(x)) {
            hp_errs_add(e, x, "reporters.exec[%d]: must be a group { ... }", i);
            continue;
        }
        unsigned before = e->count;
        hp_opts_check(x, hp_exec_opts, hp_reporter_common_opts, e);
        check_exec_name(list, i, e);
        mark_if_new_errors(x, e, before);
    }
}

static void check_reporters(const config_setting_t *reps, struct hp_errs *e)
{
    char path[256];
    for (int i = 0; reps && i < config_setting_length(reps); i++) {
        const config_setting_t *r = config_setting_get_elem(reps, (unsigned)i);
        unsigned before = e->count;
        const char *name = config_setting_name(r);
        const struct hp_reporter_ops *ops = hp_reporter_find(name);
        hp_setting_path(r, path, sizeof(path));
        if (!strcmp(name, "exec")) {
            check_exec(r, e);
        } else if (!ops) {
            hp_errs_add(e, r, "%s: unknown reporter", path);
        } else if (!config_setting_is_group(r)) {
            hp_errs_add(e, r, "%s: must be a group { ... }", path);
        } else {
            hp_opts_check(r, ops->opts, hp_reporter_common_opts, e);
        }
        mark_if_new_errors(r, e, before);
    }
}

static void check_sink(const config_setting_t *s, struct hp_errs *e)
{
    char path[256];
    hp_setting_path(s, path, sizeof(path));
    const char *type = NULL;
    if (!config_setting_lookup_string(s, "type", &type)) {
        hp_errs_add(e, s, "%s.type: required option is missing (a string)", path);
        return;
    }
    char why[PATH_MAX + 256];
    const struct hp_sink_ops *ops = hp_sink_load(type, why, sizeof(why));
    if (!ops && hp_sink_known(type)) {
        hp_errs_add(e, config_setting_get_member(s, "type"), "%s.type: %s", path, why);
        return;
    }
    if (!ops) {
        char known[256] = "";
        for (size_t i = 0; hp_sink_type_name(i); i++) {
            const char *t = hp_sink_type_name(i);
            size_t l = strlen(known);
            snprintf(known + l, sizeof(known) - l, "%s%s", l ? ", " : "", t);
        }
        hp_errs_add(e, config_setting_get_member(s, "type"), "%s.type: %s (known: %s)", path, why,
                    known);
        return;
    }
    hp_opts_check(s, ops->opts, hp_sink_common_opts, e);
    const char *name = NULL;
    if (config_setting_lookup_string(s, "name", &name) && !hp_is_identifier(name, HP_NAME_MAX))
        hp_errs_add(e, config_setting_get_member(s, "name"),
                    "%s.name: \"%.64s\" is not a name: 1 to %d of A-Z a-z 0-9 _ . -, "
                    "not starting with . or -, no \"..\"",
                    path, name, HP_NAME_MAX - 1);
}

static void check_sinks(const config_setting_t *sinks, struct hp_errs *e)
{
    for (int i = 0; sinks && i < config_setting_length(sinks); i++) {
        const config_setting_t *s = config_setting_get_elem(sinks, (unsigned)i);
        unsigned before = e->count;
        check_sink(s, e);
        mark_if_new_errors(s, e, before);
    }
}

static bool label_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len >= HP_LABEL_NAME_MAX || (n[0] >= '0' && n[0] <= '9') ||
        strncmp(n, "__", 2) == 0)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

/* agent.labels: every member a string with a name and value fit for every
 * sink (a Prometheus label, a routing key part). */
static void check_labels(const config_setting_t *agent, struct hp_errs *e)
{
    const config_setting_t *g = agent ? config_setting_get_member(agent, "labels") : NULL;
    int n = g ? config_setting_length(g) : 0;
    if (n > HP_LABELS_MAX)
        hp_errs_add(e, g, "agent.labels: %d labels; at most %d", n, HP_LABELS_MAX);
    for (int i = 0; i < n; i++) {
        const config_setting_t *l = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(l), *v = config_setting_get_string(l);
        if (!label_name_ok(name))
            hp_errs_add(e, l,
                        "agent.labels.%.64s: not a label name: A-Z a-z 0-9 _, not starting "
                        "with a digit or \"__\", at most %d bytes",
                        name, HP_LABEL_NAME_MAX - 1);
        if (!v) {
            hp_errs_add(e, l, "agent.labels.%.64s: must be a string", name);
            continue;
        }
        if (strlen(v) > HP_LABEL_VALUE_MAX)
            hp_errs_add(e, l, "agent.labels.%.64s: %zu bytes; at most %d", name, strlen(v),
                        HP_LABEL_VALUE_MAX);
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                hp_errs_add(e, l, "agent.labels.%.64s: contains a control character", name);
                break;
            }
    }
}

/* c->labels from the (checked) agent.labels group. -1 on ENOMEM. */
static int build_labels(struct hp_config *c, const config_setting_t *g)
{
    int n = g ? config_setting_length(g) : 0;
    c->labels = calloc((size_t)n * 2 + 1, sizeof(*c->labels));
    for (int i = 0; c->labels && i < n; i++) {
        const config_setting_t *l = config_setting_get_elem(g, (unsigned)i);
        c->labels[2 * i] = config_setting_name(l);
        c->labels[2 * i + 1] = config_setting_get_string(l);
    }
    return c->labels ? 0 : -1;
}

static const char *label_value(const struct hp_config *c, const char *name, size_t len)
{
    for (size_t i = 0; c->labels[i]; i += 2)
        if (strlen(c->labels[i]) == len && strncmp(c->labels[i], name, len) == 0)
            return c->labels[i + 1];
    return NULL;
}

/* Replace every {label.NAME} in the string setting s by the label's
 * value. A template (routing key, topic, index, path) then holds only the
 * placeholders lib/template knows; the value must not add any. */
static void expand_labels_in(const struct hp_config *c, config_setting_t *s, struct hp_errs *e)
{
    static const char ref[] = "{label.";
    const char *v = config_setting_get_string(s);
    if (!v || !strstr(v, ref))
        return;
    char out[1024], path[256];
    size_t o = 0;
    hp_setting_path(s, path, sizeof(path));
    while (*v) {
        const char *end = strncmp(v, ref, sizeof(ref) - 1) == 0 ? strchr(v, '}') : NULL;
        const char *name = v + sizeof(ref) - 1;
        const char *val = end ? label_value(c, name, (size_t)(end - name)) : NULL;
        if (end && !val) {
            hp_errs_add(e, s, "%s: no label \"%.*s\" in agent.labels", path,
                        (int)(end - name > 64 ? 64 : end - name), name);
            return;
        }
        if (val && strpbrk(val, "{}%")) {
            hp_errs_add(e, s,
                        "%s: the value of label %.*s contains { } or %%, which a template "
                        "would read as a placeholder",
                        path, (int)(end - name), name);
            return;
        }
        size_t add = val ? strlen(val) : 1;
        if (o + add >= sizeof(out)) {
            hp_errs_add(e, s, "%s: longer than %zu bytes with its labels", path, sizeof(out) - 1);
            return;
        }
        memcpy(out + o, val ? val : v, add);
        o += add;
        v = val ? end + 1 : v + 1;
    }
    out[o] = '\0';
    config_setting_set_string(s, out);
}

static void expand_labels(const struct hp_config *c, config_setting_t *s, struct hp_errs *e)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        expand_labels_in(c, s, e);
        return;
    }
    for (int i = 0; config_setting_is_aggregate(s) && i < config_setting_length(s); i++)
        expand_labels(c, config_setting_get_elem(s, (unsigned)i), e);
}

static void resolve_agent(struct hp_config *c)
{
    struct agent_section a = {0};
    struct log_section log = {0};
    hp_opts_load(c->agent, hp_agent_opts, &a);
    hp_opts_load(a.log, log_opts, &log);
    if (*a.hostname)
        snprintf(c->hostname, sizeof(c->hostname), "%s", a.hostname);
    else if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0)
        snprintf(c->hostname, sizeof(c->hostname), "localhost");
    c->description = a.description;
    c->ring_capacity = (size_t)a.ring_capacity;
    c->batch_size = (size_t)a.batch_size;
    c->log_dest = (enum hp_log_dest)log.destination;
    c->log_level = (enum hp_log_level)log.level;
    c->log_timestamps = log.timestamps;
    const char *env_proc = getenv("HOSTPULSE_PROC_ROOT");
    const char *env_sys = getenv("HOSTPULSE_SYS_ROOT");
    c->proc_root = env_proc && *env_proc ? env_proc : a.proc_root;
    c->sys_root = env_sys && *env_sys ? env_sys : a.sys_root;
    c->shutdown_timeout = a.shutdown_timeout;
    c->tick = a.tick;
    c->linger = a.linger;
    c->spool = a.spool;
    c->health = a.health;
}

/* A host name goes into every message whole, or the file is refused: it
 * is never cut short. */
static void check_hostname(const config_setting_t *agent, size_t max, struct hp_errs *e)
{
    const config_setting_t *h = agent ? config_setting_get_member(agent, "hostname") : NULL;
    const char *v = h ? config_setting_get_string(h) : NULL;
    if (!v)
        return;
    size_t n = strlen(v);
    if (n > max)
        hp_errs_add(e, h, "agent.hostname: %zu bytes; at most %zu", n, max);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            hp_errs_add(e, h, "agent.hostname: contains a control character");
            break;
        }
}

static void check_agent(struct hp_config *c, struct hp_errs *e)
{
    if (hp_opts_check(c->agent, hp_agent_opts, NULL, e) == 0) {
        check_hostname(c->agent, sizeof(c->hostname) - 1, e);
        check_labels(c->agent, e);
    }
    const config_setting_t *cap =
        c->agent ? config_setting_get_member(c->agent, "ring_capacity") : NULL;
    long long v = cap ? config_setting_get_int64(cap) : 1024;
    if (cap && (v & (v - 1)) != 0)
        hp_errs_add(e, cap, "agent.ring_capacity: %lld is not a power of two", v);
}

/* Merge the fragments of the configuration directory into c->lc: dir if
 * given, else agent.config_dir of the main file, else conf.d beside it
 * (only this default may be missing). */
static int read_fragments(struct hp_config *c, const char *path, const char *dir, struct hp_errs *e)
{
    const char *from_file = NULL;
    bool missing_ok = false;
    char def[PATH_MAX];
    if (!dir && config_lookup_string(&c->lc, "agent.config_dir", &from_file) && *from_file) {
        /* relative to the main file's directory, as @include is */
        if (from_file[0] != '/')
            snprintf(def, sizeof(def), "%.*s/%s", PATH_MAX / 2, c->include_dir, from_file);
        dir = from_file[0] == '/' ? from_file : def;
    } else if (!dir) {
        snprintf(def, sizeof(def), "%.*s/conf.d", PATH_MAX - 8, c->include_dir);
        dir = def;
        missing_ok = true;
    } else {
        c->config_dir_given = true;
    }
    c->config_dir = strdup(dir);
    struct stat st;
    size_t main_bytes = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
    return c->config_dir ? hp_conffile_read_dir(&c->lc, dir, missing_ok, main_bytes, &c->frags, e)
                         : -1;
}

struct hp_config *hp_config_load_all(const char *path, const char *config_dir, struct hp_errs *e,
                                     unsigned *problems)
{
    struct hp_config *c = calloc(1, sizeof(*c));
    *problems = 0;
    if (!c)
        return NULL;
    config_init(&c->lc);
    if (path && (hp_conffile_read(&c->lc, path, e, &c->include_dir) != 0 ||
                 read_fragments(c, path, config_dir, e) != 0)) {
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
    unsigned agent_before = e->count;
    check_agent(c, e);
    if (e->count != agent_before)
        c->agent = NULL; /* the defaults, for what is built after the check */
    check_reporters(c->reporters, e);
    check_sinks(c->sinks, e);
    /* Labels from a valid agent section; templates see label values, never
     * {label.NAME}: a sink whose templates name an unknown label is left out. */
    if (build_labels(c, c->agent ? config_setting_get_member(c->agent, "labels") : NULL) != 0)
        hp_errs_raw(e, path ? path : "(defaults)", 0, "out of memory");
    for (int i = 0; c->sinks && i < config_setting_length(c->sinks); i++) {
        config_setting_t *s = config_setting_get_elem(c->sinks, (unsigned)i);
        unsigned sb = e->count;
        if (hp_config_valid(s))
            expand_labels(c, s, e);
        mark_if_new_errors(s, e, sb);
    }
    *problems = e->count - before;
    resolve_agent(c);
    return c;
}

struct hp_config *hp_config_load_dir(const char *path, const char *config_dir, struct hp_errs *e)
{
    unsigned problems;
    struct hp_config *c = hp_config_load_all(path, config_dir, e, &problems);
    if (c && problems) {
        e->include_dir = NULL; /* freed with c */
        hp_config_free(c);
        return NULL;
    }
    return c;
}

struct hp_config *hp_config_load(const char *path, struct hp_errs *e)
{
    return hp_config_load_dir(path, NULL, e);
}

void hp_config_free(struct hp_config *c)
{
    if (!c)
        return;
    config_destroy(&c->lc);
    hp_conffrags_free(&c->frags); /* after lc: its settings name their files */
    free(c->config_dir);
    free(c->labels);
    free(c->include_dir);
    free(c);
}

const config_setting_t *hp_config_reporter(const struct hp_config *c, const char *name)
{
    return c->reporters ? config_setting_get_member(c->reporters, name) : NULL;
}
