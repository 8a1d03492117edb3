/* SPDX-License-Identifier: Apache-2.0 */
/* config.c -- web.conf -> struct hp_web_conf, with the agent's conventions.
 *
 * The file has four optional groups: web { } (HTTP side), store { },
 * input { } (where messages come from) and log { }. Each is checked by an
 * option table (lib/opts) whose rows are bound by offset to the fields of
 * struct hp_web_conf, so the same table validates, fills and documents. */
#include "web/config.h"
#include "lib/conffile.h"
#include "web/input_check.h"

#include <amqp.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define C struct hp_web_conf

static const char *const input_types[] = {"none", "stdin", "file", "amqp", "kafka", "mqtt", NULL};
static const char *const log_dests[] = {"stderr", "syslog", NULL};
static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};

/* clang-format off */
static const struct hp_opt web_opts[] = {
    {.name = "listen", .type = HP_OPT_STRING, .def = HP_WEB_DEFAULT_LISTEN, HP_AT_STR(C, listen),
     .help = "ADDR:PORT the HTTP server listens on ([::1]:PORT for IPv6)"},
    {.name = "auth_user", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, auth_user),
     .help = "HTTP basic auth user (empty: no auth)"},
    {.name = "auth_hash", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, auth_hash),
     .help = "crypt(3) hash of the password, as in /etc/shadow (mkpasswd -m yescrypt)"},
    {.name = "tls_cert", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, tls_cert),
     .help = "PEM certificate file: serve HTTPS (with tls_key)"},
    {.name = "tls_key", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, tls_key),
     .help = "PEM private key file of tls_cert"},
    {.name = "static_dir", .type = HP_OPT_STRING, .def = "/usr/share/hostpulse-web/static",
     HP_AT_STR(C, static_dir), .help = "the pages' own JavaScript and CSS"},
    {.name = "js_dir", .type = HP_OPT_STRING, .def = "/usr/share/javascript",
     HP_AT_STR(C, js_dir), .help = "Debian's JavaScript packages (chart.js), served locally"},
    {.name = "threads", .type = HP_OPT_INT, .def = "4", .min = 1, .max = 64,
     HP_AT_INT(C, http_threads), .help = "HTTP worker threads"},
    {0},
};

static const struct hp_opt store_opts[] = {
    {.name = "path", .type = HP_OPT_STRING, .def = HP_WEB_DEFAULT_DB, HP_AT_STR(C, db),
     .help = "SQLite database file (WAL mode; -wal and -shm files beside it)"},
    {.name = "retention_hours", .type = HP_OPT_FLOAT, .def = "48", .min = 0.01, .max = 87600,
     HP_AT_FLOAT(C, retention_hours), .help = "hours of raw samples kept"},
    {.name = "rollup_days", .type = HP_OPT_FLOAT, .def = "30", .min = 0.01, .max = 3650,
     HP_AT_FLOAT(C, rollup_days), .help = "days of per-minute rollups (min/avg/max) kept"},
    {.name = "batch_max", .type = HP_OPT_INT, .def = "2000", .min = 1, .max = 1000000,
     HP_AT_INT(C, batch_max), .help = "messages per store transaction at most"},
    {.name = "batch_wait", .type = HP_OPT_FLOAT, .def = "0.2", .min = 0, .max = 60,
     HP_AT_FLOAT(C, batch_wait), .help = "seconds a partial batch waits before it is committed"},
    {.name = "max_message", .type = HP_OPT_INT, .def = "1048576", .min = 1024, .max = 1073741824,
     HP_AT_INT(C, max_message), .help = "bytes; a longer message is rejected and counted"},
    {0},
};

static const struct hp_opt input_opts[] = {
    {.name = "type", .type = HP_OPT_ENUM, .def = "none", .choices = input_types,
     HP_AT_ENUM(C, input), .help = "where messages come from (--stdin overrides)"},
    {.name = "file", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, input_file),
     .help = "type file: a JSON-lines file, read once"},
    {.name = "url", .type = HP_OPT_STRING, .def = "amqp://guest:guest@localhost:5672/",
     HP_AT_STR(C, amqp_url), .help = "type amqp: broker URL (amqps:// for TLS)"},
    {.name = "exchange", .type = HP_OPT_STRING, .def = "hostpulse", HP_AT_STR(C, amqp_exchange),
     .help = "type amqp: the agent's exchange"},
    {.name = "queue", .type = HP_OPT_STRING, .def = "hostpulse-web", HP_AT_STR(C, amqp_queue),
     .help = "type amqp: this subscriber's durable queue"},
    {.name = "bindings", .type = HP_OPT_STRINGS, HP_AT_SET(C, amqp_bindings),
     .help = "type amqp: routing keys bound (default \"#\": every host and reporter)"},
    {.name = "prefetch", .type = HP_OPT_INT, .def = "2000", .min = 1, .max = 65535,
     HP_AT_INT(C, amqp_prefetch), .help = "type amqp: unacked messages in flight"},
    {.name = "cacert", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, amqp_cacert),
     .help = "amqps/mqtt TLS: CA file"},
    {.name = "cert", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, amqp_cert),
     .help = "amqps TLS: client certificate"},
    {.name = "key", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, amqp_key),
     .help = "amqps TLS: client key"},
    {.name = "verify", .type = HP_OPT_BOOL, .def = "true", HP_AT_BOOL(C, amqp_verify),
     .help = "amqps TLS: verify the broker's certificate and name"},
    {.name = "brokers", .type = HP_OPT_STRING, .def = "localhost:9092",
     HP_AT_STR(C, kafka_brokers), .help = "type kafka: bootstrap brokers"},
    {.name = "topics", .type = HP_OPT_STRINGS, HP_AT_SET(C, kafka_topics),
     .help = "type kafka: topics (default \"hostpulse\")"},
    {.name = "group", .type = HP_OPT_STRING, .def = "hostpulse-web", HP_AT_STR(C, kafka_group),
     .help = "type kafka: consumer group"},
    {.name = "properties", .type = HP_OPT_GROUP, HP_AT_SET(C, kafka_properties),
     .help = "type kafka: librdkafka properties, verbatim (write '.' as '_': security_protocol)"},
    {.name = "host", .type = HP_OPT_STRING, .def = "localhost", HP_AT_STR(C, mqtt_host),
     .help = "type mqtt: broker host"},
    {.name = "port", .type = HP_OPT_INT, .def = "1883", .min = 1, .max = 65535,
     HP_AT_INT(C, mqtt_port), .help = "type mqtt: broker port"},
    {.name = "topic", .type = HP_OPT_STRING, .def = "hostpulse/+/+", HP_AT_STR(C, mqtt_topic),
     .help = "type mqtt: topic filter subscribed at QoS 1"},
    {.name = "client_id", .type = HP_OPT_STRING, .def = "hostpulse-web",
     HP_AT_STR(C, mqtt_client_id), .help = "type mqtt: client id (persistent session)"},
    {.name = "user", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, mqtt_user),
     .help = "type mqtt: user name"},
    {.name = "password", .type = HP_OPT_STRING, .def = "", HP_AT_STR(C, mqtt_password),
     .help = "type mqtt: password (never logged)"},
    {.name = "retry_initial", .type = HP_OPT_FLOAT, .def = "1.0", .min = 0.01, .max = 3600,
     HP_AT_FLOAT(C, retry_initial), .help = "seconds before the first reconnect; doubles"},
    {.name = "retry_max", .type = HP_OPT_FLOAT, .def = "60.0", .min = 0.01, .max = 86400,
     HP_AT_FLOAT(C, retry_max), .help = "cap of the reconnect backoff, seconds"},
    {0},
};

static const struct hp_opt log_opts[] = {
    {.name = "destination", .type = HP_OPT_ENUM, .def = "stderr", .choices = log_dests,
     HP_AT_ENUM(C, log_dest), .help = "stderr (the journal under systemd) or syslog"},
    {.name = "level", .type = HP_OPT_ENUM, .def = "info", .choices = log_levels,
     HP_AT_ENUM(C, log_level), .help = "least severe level logged"},
    {0},
};

static const struct hp_opt top_opts[] = {
    {.name = "web", .type = HP_OPT_GROUP, .sub = web_opts, .help = "the HTTP server"},
    {.name = "store", .type = HP_OPT_GROUP, .sub = store_opts, .help = "the SQLite store"},
    {.name = "input", .type = HP_OPT_GROUP, .sub = input_opts, .help = "where messages come from"},
    {.name = "log", .type = HP_OPT_GROUP, .sub = log_opts, .help = "logging"},
    {0},
};
/* clang-format on */

#undef C

static const config_setting_t *member(const config_t *lc, const char *name)
{
    return config_setting_get_member(config_root_setting(lc), name);
}

static void load_all(struct hp_web_conf *c)
{
    const config_t *lc = c->lc_live ? &c->lc : NULL;
    hp_opts_load(lc ? member(lc, "web") : NULL, web_opts, c);
    hp_opts_load(lc ? member(lc, "store") : NULL, store_opts, c);
    hp_opts_load(lc ? member(lc, "input") : NULL, input_opts, c);
    hp_opts_load(lc ? member(lc, "log") : NULL, log_opts, c);
}

/* An amqp input's URL must parse (named redacted: never the password). */
static void check_amqp_url(const struct hp_web_conf *c, struct hp_errs *e)
{
    if (c->input != HP_IN_AMQP)
        return;
    char *copy = strdup(c->amqp_url), shown[256];
    struct amqp_connection_info info;
    if (copy && amqp_parse_url(copy, &info) != AMQP_STATUS_OK) {
        const config_setting_t *in = member(&c->lc, "input");
        hp_redact_url(c->amqp_url, shown, sizeof(shown));
        hp_errs_add(e, in ? config_setting_get_member(in, "url") : NULL,
                    "input.url: %s is not an amqp:// or amqps:// URL", shown);
    }
    free(copy);
}

static void check_pairs(const struct hp_web_conf *c, struct hp_errs *e)
{
    const config_setting_t *web = member(&c->lc, "web");
    bool cert = c->tls_cert && *c->tls_cert, key = c->tls_key && *c->tls_key;
    if (cert != key)
        hp_errs_add(e, web, "web: tls_cert and tls_key go together");
    bool user = c->auth_user && *c->auth_user, hash = c->auth_hash && *c->auth_hash;
    if (user != hash)
        hp_errs_add(e, web, "web: auth_user and auth_hash go together");
    if (hash && c->auth_hash[0] != '$')
        hp_errs_add(e, config_setting_get_member(web, "auth_hash"),
                    "web.auth_hash: not a crypt(3) hash (\"$y$...\" or \"$6$...\")");
    if (c->input == HP_IN_FILE && !(c->input_file && *c->input_file))
        hp_errs_add(e, member(&c->lc, "input"), "input.file: required with type = \"file\"");
    check_amqp_url(c, e);
    if (c->input == HP_IN_KAFKA)
        hp_input_kafka_check(c, e);
}

struct hp_web_conf *hp_web_conf_load(const char *path, struct hp_errs *e)
{
    struct hp_web_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    config_init(&c->lc);
    c->lc_live = true;
    if (path) {
        if (hp_conffile_read(&c->lc, path, e, &c->include_dir) != 0)
            goto err;
        unsigned before = e->count;
        hp_opts_check(config_root_setting(&c->lc), top_opts, NULL, e);
        if (e->count != before)
            goto err;
    }
    load_all(c);
    unsigned before = e->count;
    check_pairs(c, e);
    if (e->count != before)
        goto err;
    return c;
err:
    e->include_dir = NULL; /* freed with c */
    hp_web_conf_free(c);
    return NULL;
}

void hp_web_conf_free(struct hp_web_conf *c)
{
    if (!c)
        return;
    if (c->lc_live)
        config_destroy(&c->lc);
    free(c->include_dir);
    free(c);
}

bool hp_web_listen_is_loopback(const char *listen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
    if (n >= sizeof(host))
        return false;
    memcpy(host, listen, n);
    host[n] = '\0';
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    if (strcmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* The web.listen setting, when the running value came from it (not from
 * --listen): so that a warning names the right FILE:LINE. */
static const config_setting_t *listen_setting(const struct hp_web_conf *c)
{
    const config_setting_t *web = member(&c->lc, "web");
    const config_setting_t *at = web ? config_setting_get_member(web, "listen") : NULL;
    const char *v = at ? config_setting_get_string(at) : NULL;
    return v && strcmp(v, c->listen) == 0 ? at : NULL;
}

/* A warning at the listen setting, or about the value from --listen or
 * the default when the file has none. */
static void warn_listen(const struct hp_web_conf *c, struct hp_errs *e, const char *what)
{
    const config_setting_t *at = listen_setting(c);
    const char *fmt = "warning: web.listen %s is beyond loopback with %s";
    if (at)
        hp_errs_add(e, at, fmt, c->listen, what);
    else {
        const char *dir = e->include_dir; /* a name, not a file under it */
        e->include_dir = NULL;
        hp_errs_raw(e, "hostpulse-web", 0, fmt, c->listen, what);
        e->include_dir = dir;
    }
}

unsigned hp_web_conf_warn(const struct hp_web_conf *c, struct hp_errs *e)
{
    unsigned before = e->count;
    bool auth = c->auth_user && *c->auth_user;
    bool tls = c->tls_cert && *c->tls_cert;
    if (hp_web_listen_is_loopback(c->listen) || tls)
        return 0;
    warn_listen(c, e,
                auth ? "basic auth but no TLS: the password crosses the network in clear"
                     : "neither auth_user/auth_hash nor tls_cert/tls_key: anyone who can reach "
                       "it reads every host's data");
    return e->count - before;
}

void hp_web_conf_help(FILE *out)
{
    for (const struct hp_opt *o = top_opts; o->name; o++) {
        fprintf(out, "%s: {   # %s\n", o->name, o->help);
        hp_opts_print(out, o->sub, 4);
        fprintf(out, "};\n\n");
    }
}
