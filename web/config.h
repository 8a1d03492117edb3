/* SPDX-License-Identifier: Apache-2.0 */
/* config.h -- hostpulse-web's configuration: /etc/hostpulse/web.conf.
 *
 * One libconfig file read by lib/conffile and checked against the option
 * tables in web/config.c (lib/opts, bound by offset into struct
 * hp_web_conf), so that --check, --help-config and FILE:LINE errors behave
 * as the agent's do. Command-line overrides (--stdin, --listen, --db) are
 * applied on top by main.c. The struct is read-only once loaded: the HTTP
 * threads and the ingest thread both read it without locks. */
#ifndef HP_WEB_CONFIG_H
#define HP_WEB_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/opts.h"

#define HP_WEB_DEFAULT_LISTEN "127.0.0.1:9180"
#define HP_WEB_DEFAULT_DB     "/var/lib/hostpulse-web/hostpulse-web.db"
#define HP_WEB_DEFAULT_CONF   "/etc/hostpulse/web.conf"

enum hp_web_input { HP_IN_NONE = 0, HP_IN_STDIN, HP_IN_FILE, HP_IN_AMQP, HP_IN_KAFKA, HP_IN_MQTT };

struct hp_web_conf {
    config_t lc; /* owns every string below that came from the file */
    bool lc_live;
    char *include_dir;

    /* web { } */
    const char *listen;     /* "127.0.0.1:9180"; "[::1]:9180" for IPv6 */
    const char *db;         /* SQLite file */
    const char *auth_user;  /* basic auth user, "" or NULL: no auth */
    const char *auth_hash;  /* crypt(3) hash ($y$..., $6$...) of its password */
    const char *tls_cert;   /* PEM file, "" or NULL: plain HTTP */
    const char *tls_key;    /* PEM file */
    const char *static_dir; /* pages' own JS/CSS (web/static in the tree) */
    const char *js_dir;     /* Debian's JavaScript packages (/usr/share/javascript) */
    int64_t http_threads;   /* libmicrohttpd thread pool size */

    /* store { } */
    double retention_hours; /* raw samples kept (48) */
    double rollup_days;     /* per-minute rollups kept (30) */
    int64_t batch_max;      /* messages per store transaction */
    double batch_wait;      /* seconds a partial batch may wait before commit */
    int64_t max_message;    /* bytes; longer messages are rejected */

    /* input { } */
    int input;              /* enum hp_web_input; HP_IN_NONE: only serve the store */
    const char *input_file; /* JSON lines file for HP_IN_FILE */
    const char *amqp_url;   /* amqp://user:pass@host:5672/vhost */
    const char *amqp_exchange;
    const char *amqp_queue;
    const config_setting_t *amqp_bindings; /* routing keys, NULL: default "#" */
    int64_t amqp_prefetch;
    const char *amqp_cacert, *amqp_cert, *amqp_key;
    bool amqp_verify;
    const char *kafka_brokers;
    const config_setting_t *kafka_topics; /* NULL: "hostpulse" */
    const char *kafka_group;
    const config_setting_t *kafka_properties; /* librdkafka properties, NULL: none */
    const char *mqtt_host;
    int64_t mqtt_port;
    const char *mqtt_topic;
    const char *mqtt_client_id;
    const char *mqtt_user, *mqtt_password;
    double retry_initial, retry_max; /* reconnect backoff, seconds */

    /* log { } */
    int log_dest;  /* enum hp_log_dest */
    int log_level; /* enum hp_log_level */
};

/* Load and check path into a new conf (defaults where absent). Every
 * problem goes to e as FILE:LINE; NULL when there was any. path NULL:
 * every default, no file. */
struct hp_web_conf *hp_web_conf_load(const char *path, struct hp_errs *e);
void hp_web_conf_free(struct hp_web_conf *c);

/* Warnings that do not stop the program (listening beyond loopback with
 * neither auth nor TLS, ...), printed through emit like errors. Returns how
 * many. */
unsigned hp_web_conf_warn(const struct hp_web_conf *c, struct hp_errs *e);

/* --help-config: every option with its type, default and help. */
void hp_web_conf_help(FILE *out);

/* True when listen names a loopback address (127.0.0.0/8, ::1, localhost). */
bool hp_web_listen_is_loopback(const char *listen);

#endif
