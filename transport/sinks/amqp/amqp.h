/* SPDX-License-Identifier: Apache-2.0 */
/* amqp.h -- private to the AMQP sink (amqp.c, amqp_conn.c, amqp_confirm.c).
 *
 * amqp.c holds the options and the sink callbacks, amqp_conn.c connects,
 * logs in, declares and explains failures (also for --check --connect),
 * amqp_confirm.c maps publisher-confirm delivery tags to backlog positions.
 * Everything here runs on the sink's delivery thread (hp-s-NAME) except
 * init/fini/check. */
#ifndef HP_AMQP_H
#define HP_AMQP_H

#include <amqp.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/template.h"
#include "transport/sink.h"

#define AMQP_CHANNEL 1

/* One broker URL. raw is never logged; redacted has the password masked. */
struct amqp_url {
    char *buf;                        /* parsed copy: info points into it */
    struct amqp_connection_info info; /* host, port, user, password, vhost, ssl */
    char redacted[256];
};

/* The options, filled by hp_opts_load from the sink's tables (amqp.c),
 * then completed by init. Strings are borrowed from the config. */
struct amqp_opts {
    const config_setting_t *url_set, *exchange_g, *queue_g, *tls_g; /* as given */
    double timeout, retry_timer;                                    /* seconds */
    int64_t heartbeat_opt, frame_max_opt, confirm_window;
    struct hp_tmpl routing_t, binding_t; /* compiled routing_key, queue.binding */
    struct amqp_url *urls;               /* failover order */
    size_t n_urls;
    const char *exchange, *exchange_type;
    bool exchange_durable, exchange_auto_delete;
    bool queue_declare, queue_exclusive, queue_durable, queue_auto_delete;
    const char *queue_prefix, *binding_key;
    int64_t queue_ttl_ms; /* 0: no x-message-ttl */
    /* The queue's bound, so a queue nobody consumes cannot grow on the
     * broker until it blocks every publisher: x-max-length (0: none),
     * x-max-length-bytes (0: none), x-overflow. */
    int64_t queue_max_length, queue_max_length_bytes;
    const char *queue_overflow; /* "drop-head" or "reject-publish" */
    const char *routing_key;
    bool persistent, confirm, mandatory;
    int heartbeat, frame_max;
    int timeout_ms; /* connect, login, each declare, graceful close */
    const char *ca_file, *cert_file, *key_file;
    bool verify_peer, verify_hostname;
};

/* Delivery tag -> backlog position for unconfirmed messages. Tags are
 * consecutive from 1 on a channel in confirm mode; [base, next) is the span
 * from the oldest unsettled tag to the next one to be used. */
struct amqp_confirms {
    uint64_t *pos;
    uint8_t *done;
    size_t cap;
    uint64_t base, next;
    size_t unsettled;
};

/* Confirm tracking (amqp_confirm.c). */
int amqp_confirms_init(struct amqp_confirms *c, size_t cap);
void amqp_confirms_free(struct amqp_confirms *c);
void amqp_confirms_reset(struct amqp_confirms *c); /* new channel: tags restart at 1 */
size_t amqp_confirms_room(const struct amqp_confirms *c);
uint64_t amqp_confirms_add(struct amqp_confirms *c, uint64_t pos); /* returns the tag */
/* Settle tag (and every older one when multiple) with ack. Returns how many
 * messages were settled; unknown tags are ignored. */
size_t amqp_confirms_settle(struct amqp_confirms *c, struct hp_sink *s, uint64_t tag, bool multiple,
                            enum hp_ack ack);

/* Connection (amqp_conn.c). Each returns -1 with the reason in s->error. */
int amqp_conn_open(struct hp_sink *s, const struct amqp_opts *o, const struct amqp_url *u,
                   amqp_connection_state_t *out);
int amqp_conn_declare(struct hp_sink *s, const struct amqp_opts *o, amqp_connection_state_t c,
                      const char *queue, const char *binding);
/* graceful: send channel/connection close and wait (bounded) for the OKs. */
void amqp_conn_close(amqp_connection_state_t c, bool graceful);
/* Explain a failed RPC reply ("vhost x not found", "ACCESS_REFUSED ..."). */
void amqp_conn_reply_reason(amqp_rpc_reply_t r, char *buf, size_t len);
int amqp_conn_check(struct hp_sink *s, const struct amqp_opts *o);

#endif
