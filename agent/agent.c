/* SPDX-License-Identifier: Apache-2.0 */
/* agent.c -- the agent's lifecycle: identity, building reporters and sinks
 * from a configuration, publishing messages, start, stop, --once and
 * reload. It owns the scheduler and the transport and is the only place
 * that wires them (and the self-report's view) together. */
#include "agent/agent.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/regfile.h"
#include "transport/transport.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The first line of a small regular file (never blocks: lib/regfile.h). */
static void read_line(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    int fd = hp_open_regular(AT_FDCWD, path, NULL);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
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
    a->env.labels = cfg->labels;
    hp_envelope_text_init(&a->env_text, &a->env);
    size_t ntypes = 0;
    while (hp_reporter_types[ntypes])
        ntypes++;
    if (ntypes + HP_EXEC_MAX > 64) { /* stuck_types has a bit per seq */
        hp_err("agent: more than %d reporter types", 64 - HP_EXEC_MAX);
        return -1;
    }
    a->seqs = calloc(ntypes + HP_EXEC_MAX, sizeof(*a->seqs));
    a->ring = hp_ring_new(cfg->ring_capacity);
    if (!a->seqs || !a->ring) {
        hp_err("agent: out of memory creating the ring (%zu messages)", cfg->ring_capacity);
        return -1;
    }
    if (hp_health_init(&a->health, a->host, a->session) != 0) {
        hp_err("agent: cannot create the health lock");
        return -1;
    }
    hp_scheduler_init(&a->sched, hp_agent_publish, a);
    return 0;
}

/* The exec slot (index into a->exec_names) for instance name: the one it
 * had, else a free one, else one no instance of this build claimed and no
 * thread left behind uses. claimed marks the slots of this build. */
static size_t exec_slot(struct hp_agent *a, size_t ntypes, const char *name, uint64_t *claimed)
{
    size_t k = HP_EXEC_MAX;
    for (size_t i = 0; i < HP_EXEC_MAX && k == HP_EXEC_MAX; i++)
        if (!strcmp(a->exec_names[i], name))
            k = i;
    for (size_t i = 0; i < HP_EXEC_MAX && k == HP_EXEC_MAX; i++)
        if (!a->exec_names[i][0])
            k = i;
    for (size_t i = 0; i < HP_EXEC_MAX && k == HP_EXEC_MAX; i++)
        if (!(*claimed & 1ULL << i) && !(a->stuck_types & 1ULL << (ntypes + i)))
            k = i;
    if (k < HP_EXEC_MAX) {
        *claimed |= 1ULL << k;
        snprintf(a->exec_names[k], HP_NAME_MAX, "%s", name);
    }
    return k;
}

/* One task per enabled element of reporters.exec, appended at tasks[*n]
 * (room for HP_EXEC_MAX). Each gets a copy of the exec ops named after the
 * instance and its own seq slot. */
static void build_exec(struct hp_agent *a, const struct hp_config *cfg, size_t ntypes,
                       struct hp_errs *e, struct hp_task *tasks, size_t *n)
{
    const config_setting_t *list = hp_config_reporter(cfg, "exec");
    uint64_t claimed = 0;
    for (int i = 0; list && i < config_setting_length(list) && i < HP_EXEC_MAX; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct hp_reporter_common common = {.enabled = true,
                                            .interval = hp_reporter_exec.default_interval};
        hp_opts_load(g, hp_reporter_common_opts, &common);
        const char *name = hp_exec_instance_name(g);
        if (!common.enabled || !name)
            continue;
        size_t slot = exec_slot(a, ntypes, name, &claimed);
        size_t len = strlen(name) + 1;
        struct hp_reporter_ops *ops = malloc(sizeof(*ops) + len);
        if (slot == HP_EXEC_MAX || !ops) {
            free(ops);
            hp_errs_add(e, g, "reporters.exec[%d]: no room for another exec instance", i);
            continue;
        }
        *ops = hp_reporter_exec;
        ops->name = memcpy((char *)(ops + 1), name, len);
        struct hp_task *t = &tasks[(*n)++];
        t->own_ops = ops;
        t->rep = (struct hp_reporter){.ops = ops,
                                      .proc_root = cfg->proc_root,
                                      .sys_root = cfg->sys_root,
                                      .interval = common.interval};
        t->seq = &a->seqs[ntypes + slot];
        unsigned before = e->count;
        if (ops->init(&t->rep, g, e) != 0 && e->count == before)
            hp_errs_add(e, g, "reporters.exec[%d]: cannot initialise", i);
    }
}

static unsigned build_reporters(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *e,
                                struct hp_task **out, size_t *n)
{
    size_t ntypes = 0;
    while (hp_reporter_types[ntypes])
        ntypes++;
    /* The exec instances go before the self-report (the last type), so
     * that in --once it reports on them too. */
    struct hp_task *tasks = calloc(ntypes + HP_EXEC_MAX, sizeof(*tasks));
    unsigned before = e->count;
    *n = 0;
    for (size_t i = 0; tasks && i < ntypes; i++) {
        const struct hp_reporter_ops *ops = hp_reporter_types[i];
        if (ops == &hp_reporter_self)
            build_exec(a, cfg, ntypes, e, tasks, n);
        const config_setting_t *g = hp_config_reporter(cfg, ops->name);
        if (!hp_config_valid(g))
            continue; /* its problems are reported (--check goes on past them) */
        struct hp_reporter_common common = {.enabled = ops->default_enabled,
                                            .interval = ops->default_interval};
        hp_opts_load(g, hp_reporter_common_opts, &common);
        if (!common.enabled)
            continue;
        struct hp_task *t = &tasks[(*n)++];
        t->rep.ops = ops;
        t->rep.proc_root = cfg->proc_root;
        t->rep.sys_root = cfg->sys_root;
        t->rep.interval = common.interval;
        t->seq = &a->seqs[i];
        int rc = ops->init ? ops->init(&t->rep, g, e) : 0;
        if (rc < 0 && e->count == before)
            hp_errs_add(e, g, "reporters.%s: cannot initialise", ops->name);
        if (rc > 0) { /* nothing to sample on this host (it said why) */
            if (ops->fini)
                ops->fini(&t->rep);
            memset(t, 0, sizeof(*t));
            (*n)--;
        }
    }
    if (!tasks)
        hp_errs_raw(e, NULL, 0, "agent: out of memory building the reporters");
    *out = tasks;
    return e->count - before;
}

/* The enabled reporters' names, NULL-terminated, for the sinks' identity.
 * The sinks of one build share it; hp_agent_free_sinks frees it. */
static const char **reporter_names(const struct hp_task *reps, size_t n)
{
    const char **names = calloc(n + 1, sizeof(*names));
    for (size_t i = 0; names && i < n; i++)
        names[i] = reps[i].rep.ops->name;
    return names;
}

static unsigned build_sinks(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *e,
                            const struct hp_task *reps, size_t n_reps, struct hp_sink **out,
                            size_t *n)
{
    int count = cfg->sinks && !a->stdout_only ? config_setting_length(cfg->sinks) : 0;
    struct hp_sink *sinks = calloc((size_t)count + 1, sizeof(*sinks));
    struct hp_sink_ident id = {.host = a->host,
                               .session = a->session,
                               .reporters = reporter_names(reps, n_reps),
                               .health = hp_health_json,
                               .health_ctx = &a->health};
    unsigned before = e->count;
    *n = 0;
    if (!sinks) {
        free((void *)id.reporters);
        hp_errs_raw(e, NULL, 0, "agent: out of memory building the sinks");
        *out = NULL;
        return e->count - before;
    }
    for (int i = 0; i < count; i++) {
        const config_setting_t *g = config_setting_get_elem(cfg->sinks, (unsigned)i);
        if (!hp_config_valid(g))
            continue; /* its problems are reported (--check goes on past them) */
        struct hp_sink_common c = {0};
        hp_opts_load(g, hp_sink_common_opts, &c);
        if (!c.enabled)
            continue;
        struct hp_sink *s = &sinks[(*n)++];
        hp_sink_setup(s, hp_sink_find(c.type), g, &id, e);
        for (size_t j = 0; j + 1 < *n; j++)
            if (strcmp(sinks[j].name, s->name) == 0)
                hp_errs_add(e, g, "sinks[%d]: a sink named \"%s\" already exists (set `name`)", i,
                            s->name);
    }
    if (*n == 0) {
        if (!a->stdout_only)
            hp_info("agent: no sinks configured, writing messages to stdout");
        hp_sink_setup(&sinks[(*n)++], hp_sink_find("stdout"), NULL, &id, e);
    }
    *out = sinks;
    return e->count - before;
}

unsigned hp_agent_build(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *errs,
                        struct hp_task **reps, size_t *n_reps, struct hp_sink **sinks,
                        size_t *n_sinks)
{
    unsigned n = build_reporters(a, cfg, errs, reps, n_reps);
    return n + build_sinks(a, cfg, errs, *reps, *n_reps, sinks, n_sinks);
}

void hp_agent_free_reporters(struct hp_task *reps, size_t n)
{
    bool left_behind = false;
    for (size_t i = 0; reps && i < n; i++) {
        if (reps[i].running) { /* abandoned by the scheduler: still in use */
            left_behind = true;
            continue;
        }
        if (reps[i].rep.ops->fini)
            reps[i].rep.ops->fini(&reps[i].rep);
        free(reps[i].own_ops);
    }
    if (!left_behind)
        free(reps);
}

void hp_agent_free_sinks(struct hp_sink *sinks, size_t n)
{
    const char *const *names = sinks && n ? sinks[0].id.reporters : NULL;
    for (size_t i = 0; sinks && i < n; i++)
        hp_sink_teardown(&sinks[i]);
    free((void *)names);
    free(sinks);
}

/* Start / stop the transport thread on a->ring and a->sinks with the agent
 * section's settings. Start returns -1 (logged by the transport); stop
 * returns how many messages the sinks still hold. */
static int transport_start(struct hp_agent *a)
{
    struct hp_spool_cfg spool;
    hp_spool_cfg_read(&spool, a->cfg->spool);
    struct hp_transport_cfg tc = {
        .ring = a->ring,
        .sinks = a->sinks,
        .n_sinks = a->n_sinks,
        .batch_size = a->cfg->batch_size,
        .tick = a->cfg->tick,
        .linger = a->cfg->linger,
        .shutdown_timeout = a->cfg->shutdown_timeout,
        .spool = a->stdout_only ? NULL : &spool,
    };
    a->transport = hp_transport_start(&tc);
    return a->transport ? 0 : -1;
}

static size_t transport_stop(struct hp_agent *a, enum hp_transport_stop how)
{
    if (!a->transport)
        return hp_sinks_backlog(a->sinks, a->n_sinks);
    size_t left = hp_transport_stop(a->transport, how);
    a->transport = NULL;
    return left;
}

void hp_agent_destroy(struct hp_agent *a)
{
    if (a->sched.abandoned) /* a reporter thread may still use all of it */
        return;
    if (a->health.host) /* set by hp_health_init */
        hp_health_destroy(&a->health);
    hp_agent_free_reporters(a->reporters, a->n_reporters);
    hp_agent_free_sinks(a->sinks, a->n_sinks);
    if (a->ring) {
        void *m;
        while (hp_ring_pop(a->ring, &m, 1) == 1)
            hp_msg_unref(m);
        hp_ring_free(a->ring);
    }
    free(a->seqs);
    hp_envelope_text_fini(&a->env_text);
    free((void *)a->view.sinks);
    free((void *)a->view.reporters);
    hp_config_free(a->cfg);
    memset(a, 0, sizeof(*a));
}

int hp_agent_publish(void *agent, const char *reporter, uint64_t *seq, int64_t ts_ms,
                     double interval, const char *data, size_t len)
{
    struct hp_agent *a = agent;
    uint64_t s = ++*seq;
    struct hp_msg *m = hp_msg_wrap(&a->env_text, reporter, s, ts_ms, interval, data, len);
    if (!m) {
        hp_err("%s: cannot serialize message (out of memory)", reporter);
        return -1;
    }
    if (!hp_ring_push(a->ring, m)) {
        hp_msg_unref(m);
        atomic_fetch_add_explicit(&a->stats.dropped, 1, memory_order_relaxed);
        return 1;
    }
    atomic_fetch_add_explicit(&a->stats.produced, 1, memory_order_relaxed);
    return 0;
}

static void os_pretty_name(char *buf, size_t len)
{
    snprintf(buf, len, "Linux");
    int fd = hp_open_regular(AT_FDCWD, "/etc/os-release", NULL);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return;
    }
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
        hp_json_add_double(reps, a->reporters[i].rep.ops->name, a->reporters[i].rep.interval, 3);
    json_object_object_add(d, "reporters", reps);
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (text)
        hp_agent_publish(a, "session", &a->session_seq, hp_real_ms(), 0, text, len);
    else
        hp_err("session: cannot serialize message (out of memory)");
    json_object_put(d);
}

/* Give health the view just filled, with the reporters' intervals and the
 * agent.health thresholds. */
static void attach_health(struct hp_agent *a)
{
    struct hp_health_cfg hc;
    hp_health_cfg_read(&hc, a->cfg->health);
    double *iv = calloc(a->view.n_reporters + 1, sizeof(*iv));
    if (!iv || !a->view.sinks || !a->view.reporters) {
        free(iv);
        hp_health_detach(&a->health); /* answers "not ready": 503 */
        return;
    }
    for (size_t i = 0; i < a->view.n_reporters; i++)
        iv[i] = a->reporters[i].rep.interval;
    hp_health_attach(&a->health, &a->view, iv, &hc);
    free(iv);
}

/* Point the self-report at the current sinks, reporters and ring, and bind
 * it. Main thread, no reporter running. On out of memory the self-report
 * stays unbound (its samples fail and are counted as errors). */
static void fill_view(struct hp_agent *a)
{
    struct hp_self_view *v = &a->view;
    hp_health_detach(&a->health); /* before the arrays it reads go */
    if (!a->sched.abandoned) {    /* else a self-report left behind may read them */
        free((void *)v->sinks);
        free((void *)v->reporters);
    }
    struct hp_self_sink *sinks = calloc(a->n_sinks + 1, sizeof(*sinks));
    struct hp_self_reporter *reps = calloc(a->n_reporters + 1, sizeof(*reps));
    *v = (struct hp_self_view){
        .version = HP_VERSION,
        .start_mono_ns = a->start_mono_ns,
        .produced = &a->stats.produced,
        .dropped = &a->stats.dropped,
        .ring = a->ring,
        .sinks = sinks,
        .n_sinks = sinks ? a->n_sinks : 0,
        .reporters = reps,
        .n_reporters = reps ? a->n_reporters : 0,
    };
    for (size_t i = 0; i < v->n_sinks; i++)
        sinks[i] = (struct hp_self_sink){.name = a->sinks[i].name,
                                         .type = a->sinks[i].ops->type,
                                         .stats = hp_sink_stats_of(&a->sinks[i])};
    for (size_t i = 0; i < v->n_reporters; i++)
        reps[i] = (struct hp_self_reporter){.name = a->reporters[i].rep.ops->name,
                                            .stats = &a->reporters[i].stats};
    for (size_t i = 0; i < a->n_reporters; i++)
        if (a->reporters[i].rep.ops == &hp_reporter_self)
            hp_self_bind(&a->reporters[i].rep, sinks && reps ? v : NULL);
    attach_health(a);
}

int hp_agent_start(struct hp_agent *a)
{
    fill_view(a);
    if (transport_start(a) != 0)
        return -1;
    hp_agent_publish_session(a);
    hp_scheduler_start(&a->sched, a->reporters, a->n_reporters);
    hp_health_serve(&a->health);
    return 0;
}

/* The deadline for stopping the reporter threads: agent.shutdown_timeout. */
static int64_t stop_deadline(const struct hp_agent *a)
{
    return hp_mono_ns() + (int64_t)(a->cfg->shutdown_timeout * 1e9);
}

size_t hp_agent_stop(struct hp_agent *a)
{
    hp_health_stop(&a->health);
    size_t left = hp_scheduler_stop(&a->sched, stop_deadline(a));
    transport_stop(a, HP_STOP_SHUTDOWN);
    return left;
}

/* Drop the new tasks of a type that has a thread left behind (by this stop
 * or an earlier one): the two would share the type's seq counter.
 * Restarting the agent (the watchdog does) brings that reporter back. */
static void drop_left_behind(struct hp_agent *a, struct hp_task *reps, size_t *n_reps)
{
    for (size_t j = 0; j < a->n_reporters; j++)
        if (a->reporters[j].running)
            a->stuck_types |= 1ULL << (a->reporters[j].seq - a->seqs);
    size_t k = 0;
    for (size_t i = 0; i < *n_reps; i++) {
        if (a->stuck_types & 1ULL << (reps[i].seq - a->seqs)) {
            hp_err("reload: %s stays stopped until the agent restarts", reps[i].rep.ops->name);
            if (reps[i].rep.ops->fini)
                reps[i].rep.ops->fini(&reps[i].rep);
            free(reps[i].own_ops);
            continue;
        }
        reps[k++] = reps[i];
    }
    *n_reps = k;
}

bool hp_agent_healthy(const struct hp_agent *a, int64_t limit_ns, char *why, size_t len)
{
    int64_t now = hp_mono_ns(), busy = 0;
    const struct hp_task *t = hp_scheduler_stuck(&a->sched, now, limit_ns, &busy);
    int64_t tsince = hp_transport_busy_since(a->transport);
    if (t)
        snprintf(why, len, "reporter %s has been in one sample for %.1f s", t->rep.ops->name,
                 (double)busy / 1e9);
    else if (tsince && now - tsince > limit_ns)
        snprintf(why, len, "the transport has been busy for %.1f s without a pause",
                 (double)(now - tsince) / 1e9);
    else if (a->sched.abandoned)
        snprintf(why, len, "%zu reporter thread(s) left behind by a reload", a->sched.abandoned);
    else
        return true;
    return false;
}

size_t hp_agent_once(struct hp_agent *a, int window_ms)
{
    fill_view(a);
    if (transport_start(a) != 0)
        return 1;
    hp_scheduler_once(&a->sched, a->reporters, a->n_reporters, window_ms);
    return transport_stop(a, HP_STOP_SHUTDOWN);
}

int hp_agent_check_sinks(struct hp_agent *a)
{
    return hp_sinks_check(a->sinks, a->n_sinks);
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
        uint64_t left =
            atomic_load_explicit(&hp_sink_stats_of(&old[i])->backlog, memory_order_relaxed);
        if (!kept && left)
            hp_warn("reload: sink %s was removed with %llu undelivered messages", old[i].name,
                    (unsigned long long)left);
    }
}

/* Reload contract: the new sinks' (and reporters') init runs only after the
 * old reporter threads and the old transport thread are stopped, so no init
 * ever runs beside a thread using the same library (curl's global init, a
 * broker client). The file is parsed and validated first, while everything
 * runs; if init then fails, the old sinks, with their backlogs, start again
 * unchanged. */
int hp_agent_reload(struct hp_agent *a, const char *path)
{
    struct hp_errs errs = {.fallback_file = path};
    struct hp_config *cfg =
        hp_config_load_dir(path, a->cfg->config_dir_given ? a->cfg->config_dir : NULL, &errs);
    struct hp_task *reps = NULL;
    struct hp_sink *sinks = NULL;
    size_t n_reps = 0, n_sinks = 0;
    if (!cfg) {
        hp_err("reload: %u problem(s) in %s; keeping the running configuration", errs.count, path);
        return -1;
    }
    bool left_behind = hp_scheduler_stop(&a->sched, stop_deadline(a)) > 0 || a->sched.abandoned;
    transport_stop(a, HP_STOP_HANDOFF);
    if (hp_agent_build(a, cfg, &errs, &reps, &n_reps, &sinks, &n_sinks) != 0) {
        hp_agent_free_reporters(reps, n_reps);
        hp_agent_free_sinks(sinks, n_sinks);
        hp_config_free(cfg);
        transport_start(a); /* the running configuration, unchanged */
        hp_scheduler_start(&a->sched, a->reporters, a->n_reporters);
        hp_err("reload: %u problem(s) in %s; keeping the running configuration", errs.count, path);
        return -1;
    }
    hand_over_backlogs(a->sinks, a->n_sinks, sinks, n_sinks);
    hp_health_detach(&a->health); /* the old sinks' and reporters' statistics go */
    if (left_behind)
        drop_left_behind(a, reps, &n_reps);
    hp_agent_free_reporters(a->reporters, a->n_reporters);
    hp_agent_free_sinks(a->sinks, a->n_sinks);
    a->reporters = reps;
    a->n_reporters = n_reps;
    a->sinks = sinks;
    a->n_sinks = n_sinks;
    if (cfg->ring_capacity != hp_ring_capacity(a->ring) && !left_behind) {
        struct hp_ring *r = hp_ring_new(cfg->ring_capacity);
        if (r) { /* the old ring is empty: the transport drained it */
            hp_ring_free(a->ring);
            a->ring = r;
        }
    }
    if (!left_behind) { /* else the reporter left behind may still read it */
        hp_config_free(a->cfg);
        a->env.labels = cfg->labels; /* no reporter runs: no envelope is being built */
        hp_envelope_text_fini(&a->env_text);
        hp_envelope_text_init(&a->env_text, &a->env);
    } else {
        hp_warn("reload: agent.labels keep their values until the agent restarts");
    }
    a->cfg = cfg;
    fill_view(a);
    transport_start(a);
    hp_scheduler_start(&a->sched, a->reporters, a->n_reporters);
    hp_health_follow(&a->health); /* a new agent.health.socket */
    hp_info("reload: configuration %s applied (%zu reporters, %zu sinks)", path, n_reps, n_sinks);
    return 0;
}
