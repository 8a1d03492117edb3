/* SPDX-License-Identifier: Apache-2.0 */
/* main.c -- hostpulse: command line, signals, and the run/check/once modes.
 *
 * Signals are blocked in every thread; the main thread waits for them with
 * sigwait and acts: SIGTERM/SIGINT stop (reporters, drain, flush, close),
 * SIGHUP reloads the configuration. Each step is announced to the service
 * manager (lib/notify.h), and the same wait keeps its watchdog fed. The log
 * destination and level are set here only (set_logging). */
#include "agent/agent.h"
#include "lib/notify.h"
#include "transport/sink.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/hostpulse/hostpulse.conf"
#define ONCE_WINDOW_MS 250

struct cli {
    const char *config;     /* NULL: the built-in defaults (no -c, no default file) */
    bool config_given;      /* -c: a missing file is an error */
    const char *config_dir; /* --config-dir, NULL: agent.config_dir or conf.d */
    bool status;
    const char *status_socket; /* --status=SOCKET, NULL: agent.health.socket */
    bool check, connect, once, to_stdout, syslog;
    int verbose;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hostpulse [-c FILE] [--check [--connect]] [--once] [--stdout] [--syslog] [-v]\n"
            "\n"
            "Samples this host (cpu, memory, network, processes, ...) and publishes\n"
            "JSON messages to the sinks configured in FILE.\n"
            "\n"
            "  -c, --config FILE  configuration (default " DEFAULT_CONFIG
            "; when that does not exist\n"
            "                     and no -c is given: the built-in defaults)\n"
            "      --config-dir DIR  *.conf fragments read after FILE (default conf.d beside it)\n"
            "      --status[=SOCKET]  print the running agent's health; exit 0 ok, 1 warning,\n"
            "                     2 critical (SOCKET default: agent.health.socket)\n"
            "      --check        validate the configuration and exit (0: valid)\n"
            "      --connect      with --check: also open every sink and report failures\n"
            "      --once         sample every enabled reporter once, deliver, exit\n"
            "      --stdout       replace the configured sinks by stdout (JSON lines)\n"
            "      --syslog       log to syslog whatever agent.log.destination says\n"
            "      --help-config  list every configuration option with its default\n"
            "  -v, --verbose      more logging (repeat for debug)\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         this help\n");
}

static void print_config_help(FILE *out)
{
    fprintf(out, "agent: {\n");
    hp_opts_print(out, hp_agent_opts, 4);
    fprintf(out, "};\n\nreporters: {   # every reporter also takes:\n");
    hp_opts_print(out, hp_reporter_common_opts, 4);
    for (const struct hp_reporter_ops *const *r = hp_reporter_types; *r; r++) {
        fprintf(out, "  %s: {   # enabled = %s, interval = %g\n", (*r)->name,
                (*r)->default_auto      ? "auto"
                : (*r)->default_enabled ? "true"
                                        : "false",
                (*r)->default_interval);
        hp_opts_print(out, (*r)->opts, 4);
        fprintf(out, "  };\n");
    }
    fprintf(out, "  exec: ( {   # a list, one command each; enabled = true, interval = %g\n",
            hp_reporter_exec.default_interval);
    hp_opts_print(out, hp_exec_opts, 6);
    fprintf(out, "  } );\n");
    fprintf(out, "};\n\nsinks = (   # every sink also takes:\n");
    hp_opts_print(out, hp_sink_common_opts, 4);
    for (size_t i = 0; hp_sink_type_name(i); i++) {
        const char *t = hp_sink_type_name(i);
        char why[PATH_MAX + 256];
        const struct hp_sink_ops *s = hp_sink_load(t, why, sizeof(why));
        fprintf(out, "  { type = \"%s\";\n", t);
        if (s)
            hp_opts_print(out, s->opts, 4);
        else
            fprintf(out, "    # not available: %s\n", why);
        fprintf(out, "  },\n");
    }
    fprintf(out, ");\n");
}

static int parse_cli(int argc, char **argv, struct cli *c)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"connect", no_argument, NULL, 'n'},
        {"once", no_argument, NULL, 'o'},
        {"stdout", no_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"help-config", no_argument, NULL, 'H'},
        {"syslog", no_argument, NULL, 'y'},
        {"config-dir", required_argument, NULL, 'D'},
        {"status", optional_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    c->config = DEFAULT_CONFIG;
    while ((ch = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            c->config = optarg;
            c->config_given = true;
            break;
        case 'k':
            c->check = true;
            break;
        case 'n':
            c->connect = true;
            break;
        case 'o':
            c->once = true;
            break;
        case 's':
            c->to_stdout = true;
            break;
        case 'y':
            c->syslog = true;
            break;
        case 'D':
            c->config_dir = optarg;
            break;
        case 'S':
            c->status = true;
            c->status_socket = optarg;
            break;
        case 'v':
            c->verbose++;
            break;
        case 'V':
            printf("hostpulse %s\n", HP_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        case 'H':
            print_config_help(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hostpulse: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (c->connect && !c->check) {
        fprintf(stderr, "hostpulse: --connect goes with --check\n");
        return -1;
    }
    return 0;
}

/* The one place the log destination and level are set: the configuration's
 * (cfg NULL: before it is read), raised by -v, on stderr in the interactive
 * modes, on syslog with --syslog. */
static void set_logging(const struct cli *c, const struct hp_config *cfg)
{
    int l = (int)(cfg ? cfg->log_level : HP_LOG_INFO) + c->verbose;
    enum hp_log_level level = l > HP_LOG_DEBUG ? HP_LOG_DEBUG : (enum hp_log_level)l;
    bool interactive = c->check || c->once || c->to_stdout;
    enum hp_log_dest dest = c->syslog             ? HP_LOG_SYSLOG
                            : interactive || !cfg ? HP_LOG_STDERR
                                                  : cfg->log_dest;
    hp_log_setup(dest, level);
    int stamps = cfg ? cfg->log_timestamps : 0;
    hp_log_set_timestamps(dest == HP_LOG_STDERR &&
                          (stamps == 1 || (stamps == 0 && !hp_log_under_journal())));
}

static int run_check(struct hp_agent *a, const struct cli *c)
{
    int problems = c->connect ? hp_agent_check_sinks(a) : 0;
    if (problems) {
        fprintf(stderr, "hostpulse: %d sink problem(s) with %s\n", problems, c->config);
        return 1;
    }
    fprintf(stderr, "%s: configuration OK (%zu reporters, %zu sinks)\n",
            c->config ? c->config : "built-in defaults", a->n_reporters, a->n_sinks);
    return 0;
}

static int run_once(struct hp_agent *a)
{
    return hp_agent_once(a, ONCE_WINDOW_MS) ? 1 : 0;
}

/* The watchdog's health check: every thread made progress within
 * WatchdogSec. Logged once per stuck spell. */
struct health {
    const struct hp_agent *a;
    int64_t limit_ns;
    bool stuck;
};

static bool healthy(void *ud)
{
    struct health *h = ud;
    char why[160];
    if (hp_agent_healthy(h->a, h->limit_ns, why, sizeof(why))) {
        if (h->stuck)
            hp_info("watchdog: every thread makes progress again");
        h->stuck = false;
        return true;
    }
    if (!h->stuck)
        hp_err("watchdog: %s; withholding the keep-alive so that the service manager "
               "restarts the agent",
               why);
    h->stuck = true;
    return false;
}

static int run_daemon(struct hp_agent *a, const struct cli *c, const sigset_t *set)
{
    if (hp_agent_start(a) != 0)
        return 1;
    hp_info("started: %zu reporters, %zu sinks, session %s", a->n_reporters, a->n_sinks,
            a->session);
    struct hp_notify n;
    hp_notify_init(&n);
    struct health h = {.a = a, .limit_ns = n.watchdog_ms * 2 * 1000000};
    n.healthy = healthy;
    n.ud = &h;
    hp_notify_ready("running: %zu reporters, %zu sinks", a->n_reporters, a->n_sinks);
    for (;;) {
        int sig = hp_notify_sigwait(&n, set);
        if (sig == SIGHUP) {
            if (!c->config) {
                hp_info("SIGHUP: no configuration file to reload (built-in defaults)");
                continue;
            }
            hp_info("SIGHUP: reloading %s", c->config);
            hp_notify_reloading();
            int rc = hp_agent_reload(a, c->config);
            if (rc == 0)
                set_logging(c, a->cfg);
            hp_notify_ready("running: %zu reporters, %zu sinks%s", a->n_reporters, a->n_sinks,
                            rc == 0 ? "" : " (last reload failed: see the log)");
            continue;
        }
        hp_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        hp_notify_stopping();
        break;
    }
    if (hp_agent_stop(a) > 0) {
        /* A reporter thread is stuck and may still use the agent's memory:
         * leave without tearing anything down (hp_agent_destroy would not). */
        hp_err("exiting with a reporter thread left behind");
        fflush(stdout);
        _exit(1);
    }
    return 0;
}

static void ignore_line(void *ud, const char *line)
{
    (void)ud, (void)line;
}

/* --status: ask the running agent at --status=SOCKET, else at the
 * agent.health.socket of the configuration (when it can be read). */
static int run_status(const struct cli *c)
{
    struct hp_errs quiet = {.emit = ignore_line, .fallback_file = c->config};
    struct hp_config *cfg =
        c->status_socket ? NULL : hp_config_load_dir(c->config, c->config_dir, &quiet);
    struct hp_health_cfg hc;
    hp_health_cfg_read(&hc, cfg ? cfg->health : NULL);
    const char *path = c->status_socket ? c->status_socket : hc.socket;
    int rc = hp_health_status(path && *path ? path : HP_HEALTH_SOCKET, stdout);
    hp_config_free(cfg);
    return rc;
}

/* One malloc arena for every thread, unless the administrator chose with
 * MALLOC_ARENA_MAX or GLIBC_TUNABLES. glibc gives each thread that
 * allocates an arena of its own (up to 8 per core), each holding on to
 * 50-200 KiB of touched heap; the agent's threads allocate a few KiB a
 * second each, and frees go through the per-thread cache, so one arena
 * costs no measurable contention and keeps about 1 MiB less resident
 * (README, footprint). Called before any thread starts. */
static void one_malloc_arena(void)
{
    const char *tun = getenv("GLIBC_TUNABLES");
    if (getenv("MALLOC_ARENA_MAX") || (tun && strstr(tun, "malloc.arena_max")))
        return;
#ifdef M_ARENA_MAX
    mallopt(M_ARENA_MAX, 1);
#endif
}

int main(int argc, char **argv)
{
    one_malloc_arena();
    struct cli c = {0};
    if (parse_cli(argc, argv, &c) != 0)
        return 2;
    if (c.status)
        return run_status(&c);
    set_logging(&c, NULL);
    /* json-c: doubles we do not format ourselves print in short form. */
    json_c_set_serialization_double_format("%.15g", JSON_C_OPTION_GLOBAL);

    if (!c.config_given && access(DEFAULT_CONFIG, F_OK) != 0 && errno == ENOENT) {
        hp_info("no %s: running on the built-in defaults (every default reporter, "
                "stdout); -c FILE names a configuration",
                DEFAULT_CONFIG);
        c.config = NULL;
    }
    const char *name = c.config ? c.config : "the built-in defaults";
    struct hp_errs errs = {.fallback_file = name};
    unsigned problems = 0;
    struct hp_config *cfg = hp_config_load_all(c.config, c.config_dir, &errs, &problems);
    if (!cfg) {
        fprintf(stderr, "hostpulse: %u problem(s) in %s; not starting\n", errs.count, name);
        return 1;
    }
    set_logging(&c, cfg);

    /* Every problem in one pass: what passed validation is still built (its
     * init() checks the rest) before the count decides. */
    struct hp_agent a;
    if (hp_agent_init(&a, cfg) != 0)
        return 1;
    a.stdout_only = c.to_stdout;
    problems += hp_agent_build(&a, cfg, &errs, &a.reporters, &a.n_reporters, &a.sinks, &a.n_sinks);
    if (problems) {
        fprintf(stderr, "hostpulse: %u problem(s) in %s; not starting\n", errs.count, name);
        hp_agent_destroy(&a);
        return 1;
    }

    /* Block the signals main waits for, before any thread exists, so every
     * thread inherits the mask and only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc;
    if (c.check)
        rc = run_check(&a, &c);
    else if (c.once)
        rc = run_once(&a);
    else
        rc = run_daemon(&a, &c, &set);
    hp_agent_destroy(&a);
    return rc;
}
