/* SPDX-License-Identifier: Apache-2.0 */
/* input_amqp.c -- subscriber to the agent's RabbitMQ exchange.
 *
 * Declares its own durable queue bound to the agent's topic exchange (by
 * default with "#": every host and reporter), consumes with manual acks
 * and a prefetch window, and acks (multiple, up to the last delivery tag)
 * only after the store has committed the batch: at least once. A store
 * failure or a lost connection drops the connection without acking, so the
 * broker redelivers what was not committed; the store drops what was. As
 * the agent's sink does, it reconnects with capped exponential backoff,
 * names failures in one sentence and never logs the password. */
#include "lib/clock.h"
#include "lib/log.h"
#include "web/ingest.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHANNEL    1
#define TIMEOUT_MS 10000
#define HEARTBEAT  30

struct sub {
    struct hp_ingest *ing;
    const struct hp_web_conf *c;
    struct amqp_connection_info url; /* points into url_buf */
    char *url_buf;
    char redacted[256];
    amqp_connection_state_t conn;
    uint64_t last_tag; /* latest delivery tag added to the open batch */
    struct hp_complain complain;
};

static int reply_fail(struct sub *s, const char *what, amqp_rpc_reply_t r, char *why, size_t len)
{
    char reason[200] = "";
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        snprintf(reason, sizeof(reason), "%s", amqp_error_string2(r.library_error));
    } else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
               r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *m = r.reply.decoded;
        snprintf(reason, sizeof(reason), "%.*s", (int)m->reply_text.len,
                 (const char *)m->reply_text.bytes);
    } else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
               r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *m = r.reply.decoded;
        snprintf(reason, sizeof(reason), "%.*s", (int)m->reply_text.len,
                 (const char *)m->reply_text.bytes);
    } else {
        snprintf(reason, sizeof(reason), "unexpected reply");
    }
    snprintf(why, len, "%s: %s: %s", s->redacted, what, reason);
    return -1;
}

static int open_socket(struct sub *s, char *why, size_t len)
{
    const struct hp_web_conf *c = s->c;
    amqp_socket_t *sock = s->url.ssl ? amqp_ssl_socket_new(s->conn) : amqp_tcp_socket_new(s->conn);
    if (!sock)
        return snprintf(why, len, "%s: cannot create a socket", s->redacted), -1;
    if (s->url.ssl) {
        if (*c->amqp_cacert && amqp_ssl_socket_set_cacert(sock, c->amqp_cacert) != 0)
            return snprintf(why, len, "%s: TLS: cannot load cacert %s", s->redacted,
                            c->amqp_cacert),
                   -1;
        if (*c->amqp_cert &&
            amqp_ssl_socket_set_key(sock, c->amqp_cert, *c->amqp_key ? c->amqp_key : c->amqp_cert))
            return snprintf(why, len, "%s: TLS: cannot load cert %s", s->redacted, c->amqp_cert),
                   -1;
        amqp_ssl_socket_set_verify_peer(sock, c->amqp_verify);
        amqp_ssl_socket_set_verify_hostname(sock, c->amqp_verify);
    }
    struct timeval tv = {.tv_sec = TIMEOUT_MS / 1000};
    int st = amqp_socket_open_noblock(sock, s->url.host, s->url.port, &tv);
    if (st != AMQP_STATUS_OK)
        return snprintf(why, len, "%s: cannot connect to %s:%d: %s", s->redacted, s->url.host,
                        s->url.port, amqp_error_string2(st)),
               -1;
    return 0;
}

/* Exchange (as the agent declares it), our queue, its bindings. */
static int declare(struct sub *s, char *why, size_t len)
{
    const struct hp_web_conf *c = s->c;
    amqp_connection_state_t conn = s->conn;
    amqp_exchange_declare(conn, CHANNEL, amqp_cstring_bytes(c->amqp_exchange),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply_fail(s, "exchange declare", r, why, len);
    amqp_queue_declare(conn, CHANNEL, amqp_cstring_bytes(c->amqp_queue), 0, 1, 0, 0,
                       amqp_empty_table);
    if ((r = amqp_get_rpc_reply(conn)).reply_type != AMQP_RESPONSE_NORMAL)
        return reply_fail(s, "queue declare", r, why, len);
    int n = hp_strs_count(c->amqp_bindings);
    for (int i = 0; i < (n ? n : 1); i++) {
        const char *key = n ? hp_strs_at(c->amqp_bindings, i) : "#";
        amqp_queue_bind(conn, CHANNEL, amqp_cstring_bytes(c->amqp_queue),
                        amqp_cstring_bytes(c->amqp_exchange), amqp_cstring_bytes(key),
                        amqp_empty_table);
        if ((r = amqp_get_rpc_reply(conn)).reply_type != AMQP_RESPONSE_NORMAL)
            return reply_fail(s, "queue bind", r, why, len);
    }
    amqp_basic_qos(conn, CHANNEL, 0, (uint16_t)c->amqp_prefetch, 0);
    if ((r = amqp_get_rpc_reply(conn)).reply_type != AMQP_RESPONSE_NORMAL)
        return reply_fail(s, "basic.qos", r, why, len);
    amqp_basic_consume(conn, CHANNEL, amqp_cstring_bytes(c->amqp_queue), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    if ((r = amqp_get_rpc_reply(conn)).reply_type != AMQP_RESPONSE_NORMAL)
        return reply_fail(s, "basic.consume", r, why, len);
    return 0;
}

static int connect_broker(struct sub *s, char *why, size_t len)
{
    if (!(s->conn = amqp_new_connection()))
        return snprintf(why, len, "out of memory"), -1;
    if (open_socket(s, why, len) != 0)
        return -1;
    amqp_rpc_reply_t r = amqp_login(s->conn, s->url.vhost, 0, 131072, HEARTBEAT,
                                    AMQP_SASL_METHOD_PLAIN, s->url.user, s->url.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return reply_fail(s, "login", r, why, len);
    amqp_channel_open(s->conn, CHANNEL);
    if ((r = amqp_get_rpc_reply(s->conn)).reply_type != AMQP_RESPONSE_NORMAL)
        return reply_fail(s, "channel open", r, why, len);
    return declare(s, why, len);
}

static void disconnect(struct sub *s, bool graceful)
{
    if (!s->conn)
        return;
    if (graceful) {
        amqp_channel_close(s->conn, CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(s->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(s->conn);
    s->conn = NULL;
    s->last_tag = 0;
}

/* Commit the batch, then ack everything up to the last tag. -1: drop the
 * connection (nothing acked: the broker redelivers). */
static int commit_and_ack(struct sub *s)
{
    if (hp_ingest_commit(s->ing) != 0)
        return -1;
    if (s->last_tag && amqp_basic_ack(s->conn, CHANNEL, s->last_tag, 1) != AMQP_STATUS_OK)
        return -1;
    s->last_tag = 0;
    return 0;
}

/* A frame that is not a delivery: the broker closed the channel or the
 * connection, or a returned message. -1 when the connection is unusable. */
static int other_frame(struct sub *s, char *why, size_t len)
{
    amqp_frame_t f;
    if (amqp_simple_wait_frame(s->conn, &f) != AMQP_STATUS_OK)
        return snprintf(why, len, "%s: connection lost", s->redacted), -1;
    if (f.frame_type == AMQP_FRAME_METHOD && (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                                              f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD))
        return snprintf(why, len, "%s: the broker closed the %s", s->redacted,
                        f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ? "channel"
                                                                         : "connection"),
               -1;
    return 0;
}

/* Consume until stop or failure. Returns 0 on stop, -1 on failure. */
static int consume(struct sub *s, char *why, size_t len)
{
    while (!hp_ingest_stopping(s->ing)) {
        amqp_maybe_release_buffers(s->conn);
        int ms = hp_ingest_wait_ms(s->ing);
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        amqp_envelope_t env;
        amqp_rpc_reply_t r = amqp_consume_message(s->conn, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            enum hp_ingest_add a =
                hp_ingest_add(s->ing, env.message.body.bytes, env.message.body.len);
            s->last_tag = env.delivery_tag;
            amqp_destroy_envelope(&env);
            if (a == HP_ADD_FAILED)
                return snprintf(why, len, "the store failed; reconnecting to get a redelivery"), -1;
        } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                   r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            if (other_frame(s, why, len) != 0)
                return -1;
        } else if (!(r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                     r.library_error == AMQP_STATUS_TIMEOUT)) {
            return reply_fail(s, "consume", r, why, len);
        }
        if (hp_ingest_due(s->ing) && commit_and_ack(s) != 0)
            return snprintf(why, len, "%s: commit or ack failed", s->redacted), -1;
    }
    return commit_and_ack(s) == 0 ? 0 : -1;
}

static void backoff_sleep(struct sub *s, double seconds)
{
    int64_t until = hp_mono_ms() + (int64_t)(seconds * 1000);
    while (!hp_ingest_stopping(s->ing) && hp_mono_ms() < until)
        usleep(50 * 1000);
}

int hp_input_amqp_run(struct hp_ingest *ing)
{
    struct sub s = {.ing = ing, .c = hp_ingest_conf(ing)};
    hp_redact_url(s.c->amqp_url, s.redacted, sizeof(s.redacted));
    s.url_buf = strdup(s.c->amqp_url);
    if (!s.url_buf || amqp_parse_url(s.url_buf, &s.url) != AMQP_STATUS_OK) {
        hp_err("amqp: %s: not an amqp:// or amqps:// URL", s.redacted);
        free(s.url_buf);
        return -1;
    }
    if (!*s.url.vhost) /* "amqp://host/" means the default vhost, as for the agent */
        s.url.vhost = "/";
    double delay = s.c->retry_initial;
    while (!hp_ingest_stopping(ing)) {
        char why[512];
        if (connect_broker(&s, why, sizeof(why)) == 0) {
            hp_complain_clear(&s.complain, "amqp: consuming queue %s on %s", s.c->amqp_queue,
                              s.redacted);
            hp_info("amqp: consuming queue %s on %s", s.c->amqp_queue, s.redacted);
            delay = s.c->retry_initial;
            if (consume(&s, why, sizeof(why)) == 0) {
                disconnect(&s, true);
                break;
            }
        }
        /* What was added but not committed is committed now (the broker
         * resends it anyway: the store drops those duplicates). */
        hp_ingest_commit(ing);
        disconnect(&s, false);
        char reason[600], detail[64];
        snprintf(reason, sizeof(reason), "amqp: %s", why);
        snprintf(detail, sizeof(detail), " (retry in %.1f s)", delay);
        hp_complain_detail(&s.complain, HP_LOG_WARN, reason, detail);
        backoff_sleep(&s, delay);
        delay = delay * 2 > s.c->retry_max ? s.c->retry_max : delay * 2;
    }
    free(s.url_buf);
    return 0;
}
