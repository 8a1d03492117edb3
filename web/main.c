/* SPDX-License-Identifier: Apache-2.0 */
/* main.c -- hostpulse-web: command line, signals and lifecycle.
 *
 * As in the agent, signals are blocked in every thread and the main thread
 * waits for them (lib/notify keeps the watchdog fed meanwhile): SIGTERM and
 * SIGINT stop (input, commit, HTTP, close), SIGHUP reloads web.conf and
 * restarts the ingest and HTTP sides with it. */
#include "lib/log.h"
#include "lib/notify.h"
#include "web/config.h"
#include "web/http.h"
#include "web/ingest.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HP_VERSION
#define HP_VERSION "0.1"
#endif

struct cli {
    const char *config;
    const char *listen, *db;
    bool check, help_config, use_stdin, config_given;
    int verbose;
};

/* The running program: the configuration and both halves started from it. */
struct web {
    struct cli cli;
    struct hp_web_conf *conf;
    struct hp_ingest *ingest;
    struct hp_http *http;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hostpulse-web [-c FILE] [--stdin] [--listen ADDR:PORT] [--db PATH] [--check]\n"
            "\n"
            "Stores hostpulse messages (from RabbitMQ, Kafka, MQTT or standard input) in\n"
            "SQLite and serves every host's live and historical charts over HTTP.\n"
            "\n"
            "  -c, --config FILE   configuration (default " HP_WEB_DEFAULT_CONF ")\n"
            "      --stdin         read JSON lines from standard input (hostpulse --stdout |)\n"
            "      --listen A:P    HTTP address and port (default " HP_WEB_DEFAULT_LISTEN ")\n"
            "      --db PATH       SQLite database file\n"
            "      --check         validate the configuration and exit (0: valid)\n"
            "      --help-config   list every configuration option with its default\n"
            "  -v, --verbose       more logging (repeat for debug)\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          this help\n");
}

static int parse_cli(int argc, char **argv, struct cli *c)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"stdin", no_argument, NULL, 'S'},
        {"listen", required_argument, NULL, 'l'}, {"db", required_argument, NULL, 'd'},
        {"check", no_argument, NULL, 'C'},        {"help-config", no_argument, NULL, 'H'},
        {"verbose", no_argument, NULL, 'v'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            c->config = optarg, c->config_given = true;
            break;
        case 'S':
            c->use_stdin = true;
            break;
        case 'l':
            c->listen = optarg;
            break;
        case 'd':
            c->db = optarg;
            break;
        case 'C':
            c->check = true;
            break;
        case 'H':
            c->help_config = true;
            break;
        case 'v':
            c->verbose++;
            break;
        case 'V':
            printf("hostpulse-web %s\n", HP_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hostpulse-web: unexpected argument: %s\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Load the configuration and apply the command line over it. A missing
 * default file is not an error (every default); a named one must exist. */
static struct hp_web_conf *load_conf(const struct cli *cli, struct hp_errs *e)
{
    const char *path = cli->config;
    if (!cli->config_given && access(path, F_OK) != 0)
        path = NULL;
    struct hp_web_conf *c = hp_web_conf_load(path, e);
    if (!c)
        return NULL;
    if (cli->listen)
        c->listen = cli->listen;
    if (cli->db)
        c->db = cli->db;
    if (cli->use_stdin)
        c->input = HP_IN_STDIN;
    int level = c->log_level + cli->verbose;
    hp_log_setup((enum hp_log_dest)c->log_dest,
                 (enum hp_log_level)(level > HP_LOG_DEBUG ? HP_LOG_DEBUG : level));
    return c;
}

static int start(struct web *w)
{
    char err[512];
    w->ingest = hp_ingest_start(w->conf, err, sizeof(err));
    if (!w->ingest) {
        hp_err("hostpulse-web: %s", err);
        return -1;
    }
    w->http = hp_http_start(w->conf, err, sizeof(err));
    if (!w->http) {
        hp_err("hostpulse-web: http: %s", err);
        hp_ingest_stop(w->ingest);
        w->ingest = NULL;
        return -1;
    }
    return 0;
}

static void stop(struct web *w)
{
    hp_http_stop(w->http);
    hp_ingest_stop(w->ingest);
    w->http = NULL;
    w->ingest = NULL;
}

/* SIGHUP: a new configuration replaces the old only if it is valid. */
static void reload(struct web *w)
{
    hp_notify_reloading();
    struct hp_errs e = {0};
    struct hp_web_conf *c = load_conf(&w->cli, &e);
    if (!c) {
        hp_err("hostpulse-web: reload failed (%u errors), keeping the running configuration",
               e.count);
        hp_notify_ready("running (reload failed)");
        return;
    }
    hp_web_conf_warn(c, &e);
    stop(w);
    hp_web_conf_free(w->conf);
    w->conf = c;
    if (start(w) != 0)
        hp_err("hostpulse-web: restart after reload failed; serving nothing until SIGHUP");
    hp_notify_ready("running on %s (reloaded)", c->listen);
}

static int run(struct web *w)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (start(w) != 0)
        return 1;
    struct hp_notify n;
    hp_notify_init(&n);
    hp_notify_ready("running on %s", w->conf->listen);
    hp_info("hostpulse-web: listening on %s, store %s", w->conf->listen, w->conf->db);
    for (;;) {
        int sig = hp_notify_sigwait(&n, &set);
        if (sig == SIGHUP) {
            reload(w);
            continue;
        }
        break;
    }
    hp_notify_stopping();
    stop(w);
    return 0;
}

int main(int argc, char **argv)
{
    struct web w = {.cli = {.config = HP_WEB_DEFAULT_CONF}};
    if (parse_cli(argc, argv, &w.cli) != 0)
        return 2;
    if (w.cli.help_config) {
        hp_web_conf_help(stdout);
        return 0;
    }
    struct hp_errs e = {0};
    w.conf = load_conf(&w.cli, &e);
    if (!w.conf) {
        fprintf(stderr, "hostpulse-web: %u error%s in the configuration\n", e.count,
                e.count == 1 ? "" : "s");
        return 1;
    }
    hp_web_conf_warn(w.conf, &e);
    if (w.cli.check) {
        printf("configuration ok\n");
        hp_web_conf_free(w.conf);
        return 0;
    }
    int rc = run(&w);
    hp_web_conf_free(w.conf);
    return rc;
}
