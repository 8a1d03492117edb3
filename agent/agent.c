/* agent.c -- the agent context: identity, building reporters and sinks from
 * a configuration, publishing messages, and reload. */
#include "agent/agent.h"
#include "lib/clock.h"
#include "agent/scheduler.h"
#include "transport/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static void read_line(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static void make_session_id(char out[37])
{
    read_line("/proc/sys/kernel/random/uuid", out, 37);
    if (strlen(out) == 36)
        return;
    /* No procfs: derive from time and pid; unique enough per host. */
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    snprintf(out, 37, "%08lx-%04x-4%03x-8%03x-%012llx", (unsigned long)t.tv_sec & 0xffffffffUL,
             (unsigned)getpid() & 0xffff, (unsigned)(t.tv_nsec >> 8) & 0xfff,
             (unsigned)t.tv_nsec & 0xfff, (unsigned long long)hp_mono_ns() & 0xffffffffffffULL);
}

int hp_agent_init(struct hp_agent *a, struct hp_config *cfg)
{
    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    snprintf(a->host, sizeof(a->host), "%s", cfg->hostname);
    make_session_id(a->session);
    char path[512];
    snprintf(path, sizeof(path), "%s/sys/kernel/random/boot_id", cfg->proc_root);
    read_line(path, a->boot_id, sizeof(a->boot_id));
    a->start_ms = hp_real_ms();
    a->start_mono_ns = hp_mono_ns();
    a->env.host = a->host;
    a->env.session = a->session;
    size_t ntypes = 0;
    while (hp_reporter_types[ntypes])
        ntypes++;
    a->seqs = calloc(ntypes, sizeof(*a->seqs));
    a->ring = hp_ring_new(cfg->ring_capacity);
    if (!a->seqs || !a->ring) {
        hp_err("agent: out of memory creating the ring (%zu messages)", cfg->ring_capacity);
        return -1;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&a->lock, NULL);
    atomic_init(&a->transport_stop, 0);
    return 0;
}

static unsigned build_reporters(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *e,
                                struct hp_reporter **out, size_t *n)
{
    size_t ntypes = 0;
    while (hp_reporter_types[ntypes])
        ntypes++;
    struct hp_reporter *reps = calloc(ntypes ? ntypes : 1, sizeof(*reps));
    unsigned before = e->count;
    *n = 0;
    for (size_t i = 0; i < ntypes; i++) {
        const struct hp_reporter_ops *ops = hp_reporter_types[i];
        const config_setting_t *g = hp_config_reporter(cfg, ops->name);
        int enabled = ops->default_enabled;
        double interval = ops->default_interval;
        if (g) {
            config_setting_lookup_bool(g, "enabled", &enabled);
            interval = hp_opt_float(g, hp_reporter_common_opts, "interval");
            if (!config_setting_get_member(g, "interval"))
                interval = ops->default_interval;
        }
        if (!enabled)
            continue;
        struct hp_reporter *r = &reps[(*n)++];
        r->ops = ops;
        r->agent = a;
        r->proc_root = cfg->proc_root;
        r->sys_root = cfg->sys_root;
        r->interval = interval;
        r->seq = &a->seqs[i];
        if (ops->init && ops->init(r, g, e) != 0 && e->count == before)
            hp_errs_add(e, g, "reporters.%s: cannot initialise", ops->name);
    }
    *out = reps;
    return e->count - before;
}

static struct hp_sink *add_sink(struct hp_sink *sinks, size_t *n, const struct hp_sink_ops *ops,
                                const config_setting_t *g, struct hp_agent *a)
{
    struct hp_sink *s = &sinks[(*n)++];
    s->ops = ops;
    s->agent = a;
    s->cfg = g;
    s->window = 1024;
    const char *name = hp_opt_string(g, hp_sink_common_opts, "name");
    snprintf(s->name, sizeof(s->name), "%s", name ? name : ops->type);
    s->retry_initial_ms = (int64_t)(hp_opt_float(g, hp_sink_common_opts, "retry_initial") * 1000);
    s->retry_max_ms = (int64_t)(hp_opt_float(g, hp_sink_common_opts, "retry_max") * 1000);
    return s;
}

static unsigned build_sinks(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *e,
                            struct hp_sink **out, size_t *n)
{
    int count = cfg->sinks && !a->stdout_only ? config_setting_length(cfg->sinks) : 0;
    struct hp_sink *sinks = calloc((size_t)count + 1, sizeof(*sinks));
    unsigned before = e->count;
    *n = 0;
    for (int i = 0; i < count; i++) {
        const config_setting_t *g = config_setting_get_elem(cfg->sinks, (unsigned)i);
        if (!hp_opt_bool(g, hp_sink_common_opts, "enabled"))
            continue;
        const char *type = hp_opt_string(g, hp_sink_common_opts, "type");
        struct hp_sink *s = add_sink(sinks, n, hp_sink_find(type), g, a);
        for (size_t j = 0; j + 1 < *n; j++)
            if (strcmp(sinks[j].name, s->name) == 0)
                hp_errs_add(e, g, "sinks[%d]: a sink named \"%s\" already exists (set `name`)", i,
                            s->name);
        const char *raw = hp_opt_string(g, hp_sink_common_opts, "name");
        if (!hp_name_ok(raw ? raw : s->name)) /* it names the sink's spool directory */
            hp_errs_add(
                e, config_setting_get_member(g, "name") ? config_setting_get_member(g, "name") : g,
                "sinks[%d]: name \"%s\" must be 1 to %d letters, digits, _ - . (not first)", i,
                raw ? raw : s->name, HP_NAME_MAX - 1);
    }
    if (*n == 0) {
        if (!a->stdout_only)
            hp_info("agent: no sinks configured, writing messages to stdout");
        add_sink(sinks, n, hp_sink_find("stdout"), NULL, a);
    }
    for (size_t i = 0; i < *n; i++) {
        struct hp_sink *s = &sinks[i];
        unsigned prev = e->count;
        if (s->ops->init && s->ops->init(s, s->cfg, e) != 0 && e->count == prev)
            hp_errs_add(e, s->cfg, "sink %s: cannot initialise", s->name);
        if (hp_sink_attach(s, (size_t)hp_opt_int(s->cfg, hp_sink_common_opts, "backlog")) != 0)
            hp_errs_add(e, s->cfg, "sink %s: cannot create its backlog", s->name);
    }
    *out = sinks;
    return e->count - before;
}

unsigned hp_agent_build(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *errs,
                        struct hp_reporter **reps, size_t *n_reps, struct hp_sink **sinks,
                        size_t *n_sinks)
{
    unsigned n = build_reporters(a, cfg, errs, reps, n_reps);
    return n + build_sinks(a, cfg, errs, sinks, n_sinks);
}

void hp_agent_free_reporters(struct hp_reporter *reps, size_t n)
{
    for (size_t i = 0; reps && i < n; i++)
        if (reps[i].ops->fini)
            reps[i].ops->fini(&reps[i]);
    free(reps);
}

void hp_agent_free_sinks(struct hp_sink *sinks, size_t n)
{
    for (size_t i = 0; sinks && i < n; i++) {
        if (sinks[i].ops->fini)
            sinks[i].ops->fini(&sinks[i]);
        hp_sink_detach(&sinks[i]);
    }
    free(sinks);
}

void hp_agent_destroy(struct hp_agent *a)
{
    hp_agent_free_reporters(a->reporters, a->n_reporters);
    hp_agent_free_sinks(a->sinks, a->n_sinks);
    if (a->ring) {
        void *m;
        while (hp_ring_pop(a->ring, &m, 1) == 1)
            hp_msg_unref(m);
        hp_ring_free(a->ring);
    }
    free(a->seqs);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    hp_config_free(a->cfg);
    memset(a, 0, sizeof(*a));
}

int hp_agent_publish(struct hp_agent *a, const char *reporter, uint64_t *seq, int64_t ts_ms,
                     double interval, json_object *data, struct hp_reporter_stats *rs)
{
    uint64_t s = ++*seq;
    json_object *env = hp_envelope_new(&a->env, reporter, ts_ms, s, interval, data);
    struct hp_msg *m = hp_msg_from_json(env, reporter, s, ts_ms);
    json_object_put(env);
    if (!m) {
        hp_err("%s: cannot serialize message (out of memory)", reporter);
        return -1;
    }
    if (!hp_ring_push(a->ring, m)) {
        hp_msg_unref(m);
        atomic_fetch_add_explicit(&a->stats.dropped, 1, memory_order_relaxed);
        if (rs)
            atomic_fetch_add_explicit(&rs->dropped, 1, memory_order_relaxed);
        return -1;
    }
    atomic_fetch_add_explicit(&a->stats.produced, 1, memory_order_relaxed);
    return 0;
}

static void os_pretty_name(char *buf, size_t len)
{
    snprintf(buf, len, "Linux");
    FILE *f = fopen("/etc/os-release", "re");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        v[strcspn(v, "\n")] = '\0';
        size_t l = strlen(v);
        if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
            v[l - 1] = '\0';
            v++;
        }
        snprintf(buf, len, "%.*s", (int)(len - 1), v);
        break;
    }
    fclose(f);
}

void hp_agent_publish_session(struct hp_agent *a)
{
    json_object *d = json_object_new_object();
    struct utsname u;
    char os[128];
    hp_json_add_string(d, "description", a->cfg->description);
    hp_json_add_int(d, "start", a->start_ms);
    hp_json_add_string(d, "version", HP_VERSION);
    hp_json_add_string(d, "boot_id", a->boot_id);
    hp_json_add_int(d, "pid", getpid());
    if (uname(&u) == 0) {
        hp_json_add_string(d, "kernel", u.release);
        hp_json_add_string(d, "kernel_version", u.version);
        hp_json_add_string(d, "machine", u.machine);
    }
    os_pretty_name(os, sizeof(os));
    hp_json_add_string(d, "os", os);
    hp_json_add_int(d, "cpu_count", sysconf(_SC_NPROCESSORS_CONF));
    hp_json_add_uint(d, "mem_total",
                     (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));
    json_object *reps = json_object_new_object();
    for (size_t i = 0; i < a->n_reporters; i++)
        hp_json_add_double(reps, a->reporters[i].ops->name, a->reporters[i].interval, 3);
    json_object_object_add(d, "reporters", reps);
    hp_agent_publish(a, "session", &a->session_seq, hp_real_ms(), 0, d, NULL);
}

/* Move each new sink's backlog over from the old sink of the same name and
 * type; report what is lost with sinks that were removed. */
static void hand_over_backlogs(struct hp_sink *old, size_t n_old, struct hp_sink *new, size_t n_new)
{
    for (size_t i = 0; i < n_old; i++) {
        bool kept = false;
        for (size_t j = 0; j < n_new && !kept; j++)
            if (strcmp(old[i].name, new[j].name) == 0 && old[i].ops == new[j].ops) {
                hp_sink_take_backlog(&new[j], &old[i]);
                kept = true;
            }
        uint64_t left = atomic_load_explicit(&old[i].stats.backlog, memory_order_relaxed);
        if (!kept && left)
            hp_warn("reload: sink %s was removed with %llu undelivered messages", old[i].name,
                    (unsigned long long)left);
    }
}

int hp_agent_reload(struct hp_agent *a, const char *path)
{
    struct hp_errs errs = {.fallback_file = path};
    struct hp_config *cfg = hp_config_load(path, &errs);
    struct hp_reporter *reps = NULL;
    struct hp_sink *sinks = NULL;
    size_t n_reps = 0, n_sinks = 0;
    if (cfg && hp_agent_build(a, cfg, &errs, &reps, &n_reps, &sinks, &n_sinks) != 0) {
        hp_agent_free_reporters(reps, n_reps);
        hp_agent_free_sinks(sinks, n_sinks);
        hp_config_free(cfg);
        cfg = NULL;
    }
    if (!cfg) {
        hp_err("reload: %u problem(s) in %s; keeping the running configuration", errs.count, path);
        return -1;
    }
    hp_scheduler_stop(a);
    hp_transport_stop(a, HP_STOP_HANDOFF);
    hand_over_backlogs(a->sinks, a->n_sinks, sinks, n_sinks);
    hp_agent_free_reporters(a->reporters, a->n_reporters);
    hp_agent_free_sinks(a->sinks, a->n_sinks);
    a->reporters = reps;
    a->n_reporters = n_reps;
    a->sinks = sinks;
    a->n_sinks = n_sinks;
    if (cfg->ring_capacity != hp_ring_capacity(a->ring)) {
        struct hp_ring *r = hp_ring_new(cfg->ring_capacity);
        if (r) { /* the old ring is empty: the transport drained it */
            hp_ring_free(a->ring);
            a->ring = r;
        }
    }
    hp_config_free(a->cfg);
    a->cfg = cfg;
    enum hp_log_level level =
        cfg->log_level > hp_log_get_level() ? cfg->log_level : hp_log_get_level();
    hp_log_setup(a->log_syslog ? HP_LOG_SYSLOG : cfg->log_dest, level);
    hp_transport_start(a);
    hp_scheduler_start(a);
    hp_info("reload: configuration %s applied (%zu reporters, %zu sinks)", path, n_reps, n_sinks);
    return 0;
}
