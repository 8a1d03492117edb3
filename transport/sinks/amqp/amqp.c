/* SPDX-License-Identifier: Apache-2.0 */
/* amqp.c -- the AMQP 0-9-1 sink (RabbitMQ), with publisher confirms.
 *
 * Options follow psistats' (url list for failover, exchange, per-host
 * queue, retry_timer, TLS). write() publishes each message with its
 * properties (content_type, timestamp, app_id, type = reporter, message_id
 * host:session:reporter:seq, delivery_mode) and keeps its delivery tag;
 * poll() reads whatever frames arrived without waiting: basic.ack/nack
 * (single or `multiple`) settle backlog positions, basic.return counts
 * unroutable messages (and skips their content frames),
 * connection.blocked/unblocked pause publishing, channel/connection.close
 * give the reason the connection ended. rabbitmq-c services heartbeats only
 * inside its own calls, so poll() calling it every agent.tick both keeps
 * the connection alive and notices a dead peer. No call waits on the
 * network: frames are read with a zero timeout and a publish is held back
 * while the socket's send queue is half full. Connecting and logging in
 * (open) are bounded by `timeout` (amqp_conn.c).
 *
 * hp-module-pkgs: librabbitmq */
#include "transport/sinks/amqp/amqp.h"
#include "lib/clock.h"
#include "transport/sinks/psistats.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define FRAMES_PER_POLL 8192
#define PROPS_OVERHEAD  512 /* bytes of frames around a body, generously */

struct amqp_sink {
    struct amqp_opts o;
    amqp_connection_state_t conn;
    size_t url;    /* index of the connected URL */
    bool broken;   /* the connection failed: no graceful close */
    bool blocked;  /* connection.blocked until unblocked */
    bool skipping; /* inside a basic.return's content */
    uint64_t skip_left;
    bool warned_return, warned_nack;
    size_t nacked; /* nacks since the last poll: back off (queue full) */
    struct amqp_confirms tags;
    char queue[300], binding[300], rkey[300], msgid[400];
    int format; /* enum hp_format */
    struct hp_psistats ps;
};

/* ---- options ---------------------------------------------------------- */

static const char *const exchange_types[] = {"topic", "direct", "fanout", "headers", NULL};

static const struct hp_opt exchange_opts[] = {
    {.name = "name",
     .type = HP_OPT_STRING,
     .def = "hostpulse",
     .help = "exchange messages are published to (\"\": the default exchange)",
     HP_AT_STR(struct amqp_sink, o.exchange)},
    {.name = "type",
     .type = HP_OPT_STRING,
     .def = "topic",
     .choices = exchange_types,
     .help = "exchange type",
     HP_AT_STR(struct amqp_sink, o.exchange_type)},
    {.name = "durable",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "survives a broker restart",
     HP_AT_BOOL(struct amqp_sink, o.exchange_durable)},
    {.name = "auto_delete",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "deleted when its last queue is unbound",
     HP_AT_BOOL(struct amqp_sink, o.exchange_auto_delete)},
    {0},
};

static const char *const overflow_modes[] = {"drop-head", "reject-publish", NULL};

static const struct hp_opt queue_opts[] = {
    {.name = "declare",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "declare the per-host queue <prefix>.<hostname> and bind it",
     HP_AT_BOOL(struct amqp_sink, o.queue_declare)},
    {.name = "prefix",
     .type = HP_OPT_STRING,
     .def = "hostpulse",
     .help = "queue name prefix",
     HP_AT_STR(struct amqp_sink, o.queue_prefix)},
    {.name = "exclusive",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "only this connection may use the queue",
     HP_AT_BOOL(struct amqp_sink, o.queue_exclusive)},
    {.name = "durable",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "survives a broker restart",
     HP_AT_BOOL(struct amqp_sink, o.queue_durable)},
    {.name = "auto_delete",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "deleted when its last consumer goes",
     HP_AT_BOOL(struct amqp_sink, o.queue_auto_delete)},
    {.name = "ttl",
     .type = HP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 4294967295.0,
     .help = "message TTL in the queue, ms (x-message-ttl); 0: none",
     HP_AT_INT(struct amqp_sink, o.queue_ttl_ms)},
    {.name = "binding",
     .type = HP_OPT_STRING,
     .def = "hostpulse.{host}.#",
     .help = "binding key of the queue ({host}, {session})",
     HP_AT_STR(struct amqp_sink, o.binding_key)},
    {.name = "max_length",
     .type = HP_OPT_INT,
     .def = "100000",
     .min = 0,
     .max = 9.0e15,
     .help = "most messages the queue holds (x-max-length); 0: no limit",
     HP_AT_INT(struct amqp_sink, o.queue_max_length)},
    {.name = "max_length_bytes",
     .type = HP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 9.0e15,
     .help = "most body bytes the queue holds (x-max-length-bytes); 0: no limit",
     HP_AT_INT(struct amqp_sink, o.queue_max_length_bytes)},
    {.name = "overflow",
     .type = HP_OPT_STRING,
     .def = "drop-head",
     .choices = overflow_modes,
     .help = "past a limit: drop-head (the broker drops the oldest) or reject-publish (the "
             "broker nacks; the agent keeps the messages, spools them and backs off)",
     HP_AT_STR(struct amqp_sink, o.queue_overflow)},
    {0},
};

static const struct hp_opt tls_opts[] = {
    {.name = "ca_file",
     .type = HP_OPT_STRING,
     .help = "CA certificate(s) to verify the broker",
     HP_AT_STR(struct amqp_sink, o.ca_file)},
    {.name = "cert_file",
     .type = HP_OPT_STRING,
     .help = "client certificate (PEM)",
     HP_AT_STR(struct amqp_sink, o.cert_file)},
    {.name = "key_file",
     .type = HP_OPT_STRING,
     .help = "client key (PEM; default cert_file)",
     HP_AT_STR(struct amqp_sink, o.key_file)},
    {.name = "verify_peer",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "refuse a broker whose certificate is not signed by ca_file",
     HP_AT_BOOL(struct amqp_sink, o.verify_peer)},
    {.name = "verify_hostname",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "refuse a broker whose certificate does not name the URL's host",
     HP_AT_BOOL(struct amqp_sink, o.verify_hostname)},
    {0},
};

static const struct hp_opt amqp_opts_table[] = {
    {.name = "url",
     .type = HP_OPT_STRINGS,
     .def = "amqp://guest:guest@localhost:5672/",
     .help = "amqp[s]://user:password@host:port/vhost; a list: failover, in order",
     HP_AT_SET(struct amqp_sink, o.url_set)},
    {.name = "exchange",
     .type = HP_OPT_GROUP,
     .sub = exchange_opts,
     .help = "the exchange",
     HP_AT_SET(struct amqp_sink, o.exchange_g)},
    {.name = "queue",
     .type = HP_OPT_GROUP,
     .sub = queue_opts,
     .help = "the per-host queue",
     HP_AT_SET(struct amqp_sink, o.queue_g)},
    {.name = "tls",
     .type = HP_OPT_GROUP,
     .sub = tls_opts,
     .help = "amqps:// settings",
     HP_AT_SET(struct amqp_sink, o.tls_g)},
    {.name = "routing_key",
     .type = HP_OPT_STRING,
     .def = "hostpulse.{host}.{reporter}",
     .help = "routing key template ({host}, {reporter}, {session})",
     HP_AT_STR(struct amqp_sink, o.routing_key)},
    {.name = "persistent",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "delivery mode 2: messages survive a broker restart in durable queues",
     HP_AT_BOOL(struct amqp_sink, o.persistent)},
    {.name = "confirm",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "publisher confirms: a message leaves the backlog when the broker acked it",
     HP_AT_BOOL(struct amqp_sink, o.confirm)},
    {.name = "confirm_window",
     .type = HP_OPT_INT,
     .def = "1000",
     .min = 1,
     .max = 65536,
     .help = "most messages published and not yet confirmed",
     HP_AT_INT(struct amqp_sink, o.confirm_window)},
    {.name = "mandatory",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "ask the broker to return unroutable messages (counted as returned)",
     HP_AT_BOOL(struct amqp_sink, o.mandatory)},
    {.name = "retry_timer",
     .type = HP_OPT_FLOAT,
     .min = 0.1,
     .max = 86400,
     .help = "seconds between reconnect attempts once backed off (sets retry_max)",
     HP_AT_FLOAT(struct amqp_sink, o.retry_timer)},
    {.name = "heartbeat",
     .type = HP_OPT_INT,
     .def = "30",
     .min = 0,
     .max = 65535,
     .help = "AMQP heartbeat, seconds (0: off); a dead broker is noticed in 2 periods",
     HP_AT_INT(struct amqp_sink, o.heartbeat_opt)},
    {.name = "frame_max",
     .type = HP_OPT_INT,
     .def = "131072",
     .min = 4096,
     .max = 2147483647.0,
     .help = "largest frame, bytes",
     HP_AT_INT(struct amqp_sink, o.frame_max_opt)},
    {.name = "timeout",
     .type = HP_OPT_FLOAT,
     .def = "3.0",
     .min = 0.1,
     .max = 60,
     .help = "seconds allowed to connect, log in, and for each declare",
     HP_AT_FLOAT(struct amqp_sink, o.timeout)},
    {.name = "format",
     .type = HP_OPT_ENUM,
     .def = "envelope",
     .choices = hp_format_choices,
     .help = "envelope: one message per sample; psistats: one psistats object per cpu tick",
     HP_AT_ENUM(struct amqp_sink, format)},
    {0},
};

/* ---- init / fini ------------------------------------------------------ */

static int parse_urls(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct amqp_sink *a = s->priv;
    int n = hp_strs_count(a->o.url_set);
    const config_setting_t *at = a->o.url_set;
    size_t count = n > 0 ? (size_t)n : 1;
    a->o.urls = calloc(count, sizeof(*a->o.urls));
    if (!a->o.urls)
        return -1;
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        const char *raw = n > 0 ? hp_strs_at(a->o.url_set, (int)i) : amqp_opts_table[0].def;
        struct amqp_url *u = &a->o.urls[i];
        a->o.n_urls++;
        hp_redact_url(raw, u->redacted, sizeof(u->redacted));
        u->buf = strdup(raw);
        if (!u->buf)
            return -1;
        amqp_default_connection_info(&u->info);
        if (amqp_parse_url(u->buf, &u->info) != AMQP_STATUS_OK) {
            hp_errs_add(errs, at ? at : cfg,
                        "sink %s: url \"%s\" is not an AMQP URL "
                        "(amqp://user:password@host:port/vhost or amqps://...)",
                        s->name, u->redacted);
            bad = -1;
        } else if (!*u->info.vhost) {
            u->info.vhost = "/"; /* "amqp://host/" means the default vhost */
        }
    }
    return bad;
}

/* Load the nested groups into the same struct and derive the rest. */
static void read_opts(struct hp_sink *s)
{
    struct amqp_sink *a = s->priv;
    struct amqp_opts *o = &a->o;
    hp_opts_load(o->exchange_g, exchange_opts, a);
    hp_opts_load(o->queue_g, queue_opts, a);
    hp_opts_load(o->tls_g, tls_opts, a);
    o->heartbeat = (int)o->heartbeat_opt;
    o->frame_max = (int)o->frame_max_opt;
    o->timeout_ms = (int)(o->timeout * 1000);
    s->window = (size_t)o->confirm_window;
    /* psistats' retry_timer: the steady interval between attempts. The first
     * retries come sooner (retry_initial), doubling up to it. */
    if (o->retry_timer > 0)
        hp_sink_retry_cap(s, o->retry_timer);
}

/* The routing and binding key templates: FILE:LINE errors at their settings. */
static int check_templates(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct amqp_sink *a = s->priv;
    const unsigned hs = HP_TMPL_HOST | HP_TMPL_SESSION;
    int rc = hp_tmpl_compile_opt(&a->o.routing_t, a->o.routing_key, hs | HP_TMPL_REPORTER, cfg,
                                 "routing_key", s->name, errs);
    rc |= hp_tmpl_compile_opt(&a->o.binding_t, a->o.binding_key, hs, cfg, "queue.binding", s->name,
                              errs);
    return rc ? -1 : 0;
}

static int amqp_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct amqp_sink *a = s->priv;
    read_opts(s);
    int rc = parse_urls(s, cfg, errs);
    if (rc == 0)
        rc = check_templates(s, cfg, errs);
    if (rc == 0 && amqp_confirms_init(&a->tags, s->window) != 0)
        rc = -1;
    return rc;
}

static void amqp_fini(struct hp_sink *s)
{
    struct amqp_sink *a = s->priv;
    amqp_conn_close(a->conn, false);
    for (size_t i = 0; i < a->o.n_urls; i++)
        free(a->o.urls[i].buf);
    free(a->o.urls);
    amqp_confirms_free(&a->tags);
    hp_psistats_free(&a->ps);
}

/* ---- open / close ----------------------------------------------------- */

static int try_url(struct hp_sink *s, const struct amqp_url *u)
{
    struct amqp_sink *a = s->priv;
    amqp_connection_state_t c = NULL;
    if (amqp_conn_open(s, &a->o, u, &c) != 0)
        return -1;
    if (amqp_conn_declare(s, &a->o, c, a->queue, a->binding) != 0) {
        char why[sizeof(s->error)];
        snprintf(why, sizeof(why), "%s", s->error);
        hp_sink_fail(s, "%s: %s", u->redacted, why);
        amqp_conn_close(c, false);
        return -1;
    }
    a->conn = c;
    return 0;
}

static int amqp_open(struct hp_sink *s)
{
    struct amqp_sink *a = s->priv;
    const char *host = s->id.host;
    struct hp_tmpl_vars v = {.host = host, .session = s->id.session};
    snprintf(a->queue, sizeof(a->queue), "%s.%s", a->o.queue_prefix, host);
    if (hp_tmpl_expand(&a->o.binding_t, &v, a->binding, sizeof(a->binding)) < 0)
        return hp_sink_fail(s, "queue.binding is too long for host %s", host);
    char first[sizeof(s->error)] = "";
    for (size_t i = 0; i < a->o.n_urls; i++) {
        if (try_url(s, &a->o.urls[i]) == 0) {
            a->url = i;
            a->broken = a->blocked = a->skipping = false;
            amqp_confirms_reset(&a->tags);
            /* rabbitmq-c sends our heartbeats and notices missing ones from
             * poll(): a quarter of the negotiated period keeps both on time;
             * everything else arrives on the socket. */
            int hb = amqp_get_heartbeat(a->conn);
            s->idle_poll_ms = hb > 0 ? hb * 250 : 60000;
            hp_info("sink %s: connected to %s%s", s->name, a->o.urls[i].redacted,
                    i > 0 ? " (failover)" : "");
            return 0;
        }
        if (i == 0)
            snprintf(first, sizeof(first), "%s", s->error);
        else
            hp_warn("sink %s: failover: %s", s->name, s->error);
    }
    if (a->o.n_urls > 1) /* the others were logged above */
        return hp_sink_fail(s, "%s (and %zu failover URLs)", first, a->o.n_urls - 1);
    return -1;
}

static void amqp_close(struct hp_sink *s)
{
    struct amqp_sink *a = s->priv;
    amqp_conn_close(a->conn, !a->broken);
    a->conn = NULL;
    a->blocked = false;
    amqp_confirms_reset(&a->tags); /* the transport re-queues what was unacked */
    a->nacked = 0;
}

/* The connection is gone: remember it (no graceful close) and say why. */
static int broken(struct hp_sink *s, const char *fmt, const char *detail)
{
    struct amqp_sink *a = s->priv;
    a->broken = true;
    return hp_sink_fail(s, "%s: %s%s", a->o.urls[a->url].redacted, fmt, detail ? detail : "");
}

/* ---- frames ------------------------------------------------------------ */

static void on_return(struct hp_sink *s, const amqp_basic_return_t *m)
{
    struct amqp_sink *a = s->priv;
    hp_sink_returned(s, 1);
    a->skipping = true; /* a content header (and body) follows */
    a->skip_left = 0;
    if (!a->warned_return) {
        a->warned_return = true;
        hp_warn("sink %s: the broker returned an unroutable message (routing key '%.*s', "
                "%.*s): no queue is bound for it; such messages are counted as returned",
                s->name, (int)m->routing_key.len, (const char *)m->routing_key.bytes,
                (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    }
}

static void on_confirm(struct hp_sink *s, uint64_t tag, bool multiple, bool ok)
{
    struct amqp_sink *a = s->priv;
    size_t n = amqp_confirms_settle(&a->tags, s, tag, multiple, ok ? HP_ACK_OK : HP_ACK_RETRY);
    if (!ok && n && !a->warned_nack) {
        a->warned_nack = true;
        hp_warn("sink %s: the broker nacked %zu message(s) (a full queue with overflow "
                "reject-publish?); they are kept and sent again after a backoff",
                s->name, n);
    }
    if (!ok)
        a->nacked += n;
}

static int on_close(struct hp_sink *s, const amqp_frame_t *f)
{
    struct amqp_sink *a = s->priv;
    char why[200];
    amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION, .reply = f->payload.method};
    amqp_conn_reply_reason(r, why, sizeof(why));
    if (f->payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(a->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        return broken(s, "the broker closed the connection: ", why);
    }
    return broken(s, "the broker closed the channel: ", why);
}

static int on_method(struct hp_sink *s, const amqp_frame_t *f)
{
    struct amqp_sink *a = s->priv;
    const void *d = f->payload.method.decoded;
    switch (f->payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *m = d;
        on_confirm(s, m->delivery_tag, m->multiple, true);
        break;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *m = d;
        on_confirm(s, m->delivery_tag, m->multiple, false);
        break;
    }
    case AMQP_BASIC_RETURN_METHOD:
        on_return(s, d);
        break;
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        const amqp_connection_blocked_t *m = d;
        a->blocked = true;
        hp_warn("sink %s: the broker blocked publishing (%.*s); messages wait in the backlog",
                s->name, (int)m->reason.len, (const char *)m->reason.bytes);
        break;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        a->blocked = false;
        hp_info("sink %s: the broker unblocked publishing", s->name);
        break;
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        return on_close(s, f);
    default:
        break;
    }
    return 0;
}

static int on_frame(struct hp_sink *s, const amqp_frame_t *f)
{
    struct amqp_sink *a = s->priv;
    if (f->frame_type == AMQP_FRAME_METHOD)
        return on_method(s, f);
    if (!a->skipping)
        return 0;
    if (f->frame_type == AMQP_FRAME_HEADER)
        a->skip_left = f->payload.properties.body_size;
    else if (f->frame_type == AMQP_FRAME_BODY)
        a->skip_left -= a->skip_left < f->payload.body_fragment.len ? a->skip_left
                                                                    : f->payload.body_fragment.len;
    if (a->skip_left == 0)
        a->skipping = false;
    return 0;
}

/* Read every frame that has arrived (or that the library queued while
 * publishing), without waiting. This is also where rabbitmq-c sends our
 * heartbeats and notices the broker's are missing. */
static int read_frames(struct hp_sink *s, int wait_ms)
{
    struct amqp_sink *a = s->priv;
    for (int i = 0; i < FRAMES_PER_POLL && !a->broken; i++) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = i == 0 ? wait_ms * 1000 : 0};
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame_noblock(a->conn, &f, &tv);
        if (rc == AMQP_STATUS_TIMEOUT)
            break;
        if (rc == AMQP_STATUS_HEARTBEAT_TIMEOUT)
            return broken(s, "no heartbeat from the broker: connection lost", NULL);
        if (rc != AMQP_STATUS_OK)
            return broken(s, "connection lost: ", amqp_error_string2(rc));
        if (on_frame(s, &f) != 0)
            return -1;
    }
    /* Once per call, not per frame: each release frees the 64 KiB decode
     * pool that the next frame allocates again (and makes malloc
     * consolidate its free lists every time). */
    amqp_maybe_release_buffers(a->conn);
    return a->broken ? -1 : 0;
}

/* Nacked messages are back in the backlog; publishing them again at once
 * into a full queue would spin. Fail the sink instead: the transport
 * spools new messages and retries with backoff. */
static int nack_backoff(struct hp_sink *s)
{
    struct amqp_sink *a = s->priv;
    if (!a->nacked)
        return 0;
    size_t n = a->nacked;
    a->nacked = 0;
    return hp_sink_fail(s,
                        "the broker refused %zu message(s) (nack: queue '%s' full?); kept, "
                        "backing off",
                        n, a->queue);
}

static int amqp_poll(struct hp_sink *s)
{
    return read_frames(s, 0) != 0 ? -1 : nack_backoff(s);
}

static int amqp_pollfd(struct hp_sink *s)
{
    struct amqp_sink *a = s->priv;
    return a->conn ? amqp_get_sockfd(a->conn) : -1;
}

/* ---- publishing -------------------------------------------------------- */

/* Bytes we may queue on the socket without a send blocking: half its
 * buffer, less what is still unsent (a frozen broker fills it). */
static size_t send_room(struct amqp_sink *a)
{
    int fd = amqp_get_sockfd(a->conn), sndbuf = 0, queued = 0;
    socklen_t sl = sizeof(sndbuf);
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) != 0 ||
        ioctl(fd, SIOCOUTQ, &queued) != 0)
        return 0;
    return sndbuf / 2 > queued ? (size_t)(sndbuf / 2 - queued) : 0;
}

static int publish(struct hp_sink *s, const struct hp_msg *m)
{
    struct amqp_sink *a = s->priv;
    /* The message's own identity (a replayed one keeps its run's). */
    const char *host = m->host[0] ? m->host : s->id.host;
    const char *session = m->host[0] ? m->session : s->id.session;
    struct hp_tmpl_vars v = {
        .host = host, .reporter = m->reporter, .session = session, .ts_ms = m->ts_ms};
    if (hp_tmpl_expand(&a->o.routing_t, &v, a->rkey, sizeof(a->rkey)) < 0)
        snprintf(a->rkey, sizeof(a->rkey), "hostpulse.%s", m->reporter);
    snprintf(a->msgid, sizeof(a->msgid), "%s:%s:%s:%llu", host, session, m->reporter,
             (unsigned long long)m->seq);
    /* The identity as headers too, so a headers exchange can route on it. */
    amqp_table_entry_t h[4] = {
        {.key = amqp_cstring_bytes("host"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(host)}},
        {.key = amqp_cstring_bytes("reporter"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(m->reporter)}},
        {.key = amqp_cstring_bytes("session"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(session)}},
        {.key = amqp_cstring_bytes("seq"),
         .value = {.kind = AMQP_FIELD_KIND_I64, .value.i64 = (int64_t)m->seq}},
    };
    amqp_basic_properties_t p = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                  AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_APP_ID_FLAG | AMQP_BASIC_TYPE_FLAG |
                  AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG,
        .headers = {.num_entries = 4, .entries = h},
        .content_type = amqp_cstring_bytes("application/json"),
        .delivery_mode = a->o.persistent ? 2 : 1,
        .timestamp = (uint64_t)(m->ts_ms / 1000),
        .app_id = amqp_cstring_bytes("hostpulse"),
        .type = amqp_cstring_bytes(m->reporter),
        .message_id = amqp_cstring_bytes(a->msgid),
    };
    amqp_bytes_t body = {.len = m->len, .bytes = (void *)m->json};
    int rc = amqp_basic_publish(a->conn, AMQP_CHANNEL, amqp_cstring_bytes(a->o.exchange),
                                amqp_cstring_bytes(a->rkey), a->o.mandatory, 0, &p, body);
    return rc == AMQP_STATUS_OK ? 0 : broken(s, "publish failed: ", amqp_error_string2(rc));
}

/* rabbitmq-c sends each frame of a publish with its own send(), the body
 * without MSG_MORE: a batch of a round's messages went out as a TCP
 * segment per message, each delivered (on loopback: processed in this
 * thread) and read by the broker on its own. Corked, the batch leaves in
 * as few full segments as it fills when it is uncorked. */
static void cork(struct amqp_sink *a, int on)
{
    int fd = amqp_get_sockfd(a->conn);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

/* Publish out[0..n) while the confirm window (room) and the socket's
 * free space (bytes) allow; the number taken (acked now without confirms,
 * else tracked). Stops early when the connection breaks (a->broken). */
static size_t publish_batch(struct hp_sink *s, const struct hp_out *out, size_t n, size_t room,
                            size_t bytes)
{
    struct amqp_sink *a = s->priv;
    size_t i;
    for (i = 0; i < n && i < room; i++) {
        size_t need = out[i].msg->len + PROPS_OVERHEAD;
        if (need > bytes)
            break; /* the socket is backed up: try again next turn */
        bytes -= need;
        struct hp_msg *folded = NULL;
        if (a->format == HP_FORMAT_PSISTATS) {
            bool bad;
            if (!(folded = hp_psistats_msg(&a->ps, out[i].msg, &bad))) {
                hp_sink_ack(s, out[i].pos, bad ? HP_ACK_DROP : HP_ACK_OK);
                continue;
            }
        }
        int rc = publish(s, folded ? folded : out[i].msg);
        if (folded)
            hp_msg_unref(folded);
        if (rc != 0)
            break; /* broken */
        if (a->o.confirm)
            amqp_confirms_add(&a->tags, out[i].pos);
        else
            hp_sink_ack(s, out[i].pos, HP_ACK_OK);
    }
    return i;
}

static int amqp_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct amqp_sink *a = s->priv;
    if (a->broken)
        return -1;
    if (a->blocked)
        return 0; /* keep the backlog until connection.unblocked */
    size_t room = a->o.confirm ? amqp_confirms_room(&a->tags) : n;
    size_t bytes = send_room(a);
    bool corked = n > 1 && room > 1;
    if (corked)
        cork(a, 1);
    size_t i = publish_batch(s, out, n, room, bytes);
    if (corked && a->conn)
        cork(a, 0);
    if (a->broken)
        return -1;
    /* Publishing may have read frames into the library's queue, where the
     * socket no longer signals them: handle them now. */
    return read_frames(s, 0) != 0 || nack_backoff(s) != 0 ? -1 : (int)i;
}

static int amqp_flush(struct hp_sink *s, int timeout_ms)
{
    struct amqp_sink *a = s->priv;
    int64_t deadline = hp_mono_ms() + timeout_ms;
    while (a->conn && a->tags.unsettled > 0 && !a->broken) {
        int64_t left = deadline - hp_mono_ms();
        if (left <= 0)
            break;
        if (read_frames(s, left < 100 ? (int)left : 100) != 0)
            break;
    }
    return a->tags.unsettled > 0 ? -1 : 0;
}

static int amqp_check(struct hp_sink *s)
{
    struct amqp_sink *a = s->priv;
    return amqp_conn_check(s, &a->o);
}

const struct hp_sink_ops hp_sink_amqp = {
    .type = "amqp",
    .opts = amqp_opts_table,
    .priv_size = sizeof(struct amqp_sink),
    .init = amqp_init,
    .open = amqp_open,
    .write = amqp_write,
    .poll = amqp_poll,
    .pollfd = amqp_pollfd,
    .flush = amqp_flush,
    .close = amqp_close,
    .fini = amqp_fini,
    .check = amqp_check,
};
