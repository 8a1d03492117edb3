/* SPDX-License-Identifier: Apache-2.0 */
/* mqtt.c -- the MQTT sink (libmosquitto): each message is published to a
 * topic from a template ("hostpulse/{host}/{reporter}"), QoS 1 by default.
 *
 * A message leaves the backlog only when libmosquitto's on_publish fires for
 * its message id: PUBACK at QoS 1, PUBCOMP at QoS 2, written at QoS 0. The
 * ids of messages in flight are kept in publishing order (acks come back in
 * that order, so settling is O(1)). libmosquitto runs on the sink's own
 * delivery thread only (hp-s-NAME): write() publishes (libmosquitto writes
 * at once when it can), poll() calls mosquitto_loop_read/write/misc on its
 * socket, which pollfd() hands to that thread's wait;
 * mosquitto_loop_start's thread is never used.
 * open() connects without blocking (mosquitto_connect_async) and waits for
 * CONNACK at most `timeout`. A Last Will (`offline`, retained) on the
 * status topic lets subscribers see a host vanish; `online` (retained) is
 * published after each connect and `offline` before a clean disconnect.
 * The client id is stable and clean_session off, so an MQTT 3.1.1 broker
 * keeps QoS state across reconnects (MQTT 5 keeps a session only for the
 * session expiry interval the CONNECT sends, and libmosquitto 2.0's
 * non-blocking connect sends no properties, so there it ends with the
 * connection); either way, what was in flight when a connection broke is
 * offered again by the transport (at-least-once: duplicates, no loss).
 * The password is never logged: URLs are shown redacted.
 *
 * hp-module-pkgs: libmosquitto */
#include "lib/clock.h"
#include "lib/template.h"
#include "transport/sink.h"
#include "transport/sinks/psistats.h"

#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define TOPIC_MAX 512

/* A message in flight: its id from mosquitto_publish and backlog position. */
struct mqtt_flight {
    uint64_t pos;
    int mid;
    bool done;
};

struct mqtt_opts {
    const char *url, *username, *password, *topic, *status_topic, *client_id;
    int64_t qos, keepalive, window;
    int protocol, format; /* indexes into protocols, hp_format_choices */
    double timeout;       /* seconds */
    bool retain, status, clean_session;
    const config_setting_t *tls_g;
    const char *ca_file, *cert_file, *key_file;
    bool verify_peer, verify_hostname;
};

struct mqtt_sink {
    struct mqtt_opts o;
    struct hp_tmpl topic_t, status_t, id_t; /* compiled at init */
    int timeout_ms;
    char *url_buf; /* parsed copy of url: host/user/password point into it */
    const char *host, *user, *password;
    int port;
    bool tls;
    char redacted[256];
    struct mosquitto *mosq;
    bool connected; /* CONNACK accepted and not disconnected since */
    int connack;    /* -1: none yet */
    bool lost;      /* on_disconnect fired */
    char last_log[200];
    struct mqtt_flight *fl; /* ring of `window` entries */
    size_t head, count;
    struct hp_psistats ps;
    char topic[TOPIC_MAX], status[TOPIC_MAX], id[TOPIC_MAX];
};

/* ---- options ----------------------------------------------------------- */

static const char *const protocols[] = {"3.1.1", "5", NULL}; /* o.protocol 1: MQTT 5 */

/* clang-format off */
static const struct hp_opt mqtt_tls_opts[] = {
    {.name = "ca_file", .type = HP_OPT_STRING, .help = "CA certificate(s) to verify the broker",
     HP_AT_STR(struct mqtt_sink, o.ca_file)},
    {.name = "cert_file", .type = HP_OPT_STRING, .help = "client certificate (PEM)",
     HP_AT_STR(struct mqtt_sink, o.cert_file)},
    {.name = "key_file", .type = HP_OPT_STRING, .help = "client key (PEM; default cert_file)",
     HP_AT_STR(struct mqtt_sink, o.key_file)},
    {.name = "verify_peer", .type = HP_OPT_BOOL, .def = "true",
     .help = "refuse a broker whose certificate is not signed by ca_file",
     HP_AT_BOOL(struct mqtt_sink, o.verify_peer)},
    {.name = "verify_hostname", .type = HP_OPT_BOOL, .def = "true",
     .help = "refuse a broker whose certificate does not name the URL's host",
     HP_AT_BOOL(struct mqtt_sink, o.verify_hostname)},
    {0},
};

static const struct hp_opt mqtt_opts_table[] = {
    {.name = "url", .type = HP_OPT_STRING, .def = "mqtt://localhost:1883",
     .help = "mqtt[s]://[user[:password]@]host[:port] (ports 1883 / 8883 by default)",
     HP_AT_STR(struct mqtt_sink, o.url)},
    {.name = "username", .type = HP_OPT_STRING, .help = "user name (instead of the URL's)",
     HP_AT_STR(struct mqtt_sink, o.username)},
    {.name = "password", .type = HP_OPT_STRING, .help = "password (instead of the URL's); never logged",
     HP_AT_STR(struct mqtt_sink, o.password)},
    {.name = "topic", .type = HP_OPT_STRING, .def = "hostpulse/{host}/{reporter}",
     .help = "topic template ({host}, {reporter}, {session})",
     HP_AT_STR(struct mqtt_sink, o.topic)},
    {.name = "qos", .type = HP_OPT_INT, .def = "1", .min = 0, .max = 2,
     .help = "0: at most once; 1: a message leaves the backlog on PUBACK; 2: on PUBCOMP",
     HP_AT_INT(struct mqtt_sink, o.qos)},
    {.name = "retain", .type = HP_OPT_BOOL, .def = "false",
     .help = "publish retained: a new subscriber gets each topic's last value at once",
     HP_AT_BOOL(struct mqtt_sink, o.retain)},
    {.name = "status", .type = HP_OPT_BOOL, .def = "true",
     .help = "Last Will \"offline\" and \"online\" on connect, both retained, on status_topic",
     HP_AT_BOOL(struct mqtt_sink, o.status)},
    {.name = "status_topic", .type = HP_OPT_STRING, .def = "hostpulse/{host}/status",
     .help = "topic of the online/offline status ({host}, {session})",
     HP_AT_STR(struct mqtt_sink, o.status_topic)},
    {.name = "client_id", .type = HP_OPT_STRING, .def = "hostpulse-{host}-{sink}",
     .help = "MQTT client id ({host}, {sink}); stable, so the broker keeps the session",
     HP_AT_STR(struct mqtt_sink, o.client_id)},
    {.name = "clean_session", .type = HP_OPT_BOOL, .def = "false",
     .help = "start a new broker session on each connect (MQTT 5: clean start)",
     HP_AT_BOOL(struct mqtt_sink, o.clean_session)},
    {.name = "keepalive", .type = HP_OPT_INT, .def = "30", .min = 5, .max = 65535,
     .help = "seconds; a silent broker is noticed within 2 periods",
     HP_AT_INT(struct mqtt_sink, o.keepalive)},
    {.name = "protocol", .type = HP_OPT_ENUM, .def = "3.1.1", .choices = protocols,
     .help = "MQTT protocol version",
     HP_AT_ENUM(struct mqtt_sink, o.protocol)},
    {.name = "window", .type = HP_OPT_INT, .def = "1000", .min = 1, .max = 65535,
     .help = "most messages published and not yet acknowledged",
     HP_AT_INT(struct mqtt_sink, o.window)},
    {.name = "timeout", .type = HP_OPT_FLOAT, .def = "3.0", .min = 0.1, .max = 60,
     .help = "seconds allowed to connect (TCP, TLS, CONNACK)",
     HP_AT_FLOAT(struct mqtt_sink, o.timeout)},
    {.name = "format", .type = HP_OPT_ENUM, .def = "envelope", .choices = hp_format_choices,
     .help = "envelope: one message per sample; psistats: one psistats object per cpu tick",
     HP_AT_ENUM(struct mqtt_sink, o.format)},
    {.name = "tls", .type = HP_OPT_GROUP, .sub = mqtt_tls_opts, .help = "mqtts:// settings",
     HP_AT_SET(struct mqtt_sink, o.tls_g)},
    {0},
};
/* clang-format on */

/* ---- the URL ------------------------------------------------------------ */

/* mqtt[s]://[user[:password]@]host[:port][/] into m's fields. */
static int parse_url(struct mqtt_sink *m, const char *url)
{
    hp_redact_url(url, m->redacted, sizeof(m->redacted));
    m->url_buf = strdup(url);
    if (!m->url_buf)
        return -1;
    char *p = m->url_buf;
    if (strncmp(p, "mqtts://", 8) == 0) {
        m->tls = true;
        p += 8;
    } else if (strncmp(p, "mqtt://", 7) == 0) {
        p += 7;
    } else {
        return -1;
    }
    char *slash = strchr(p, '/');
    if (slash)
        *slash = '\0';
    char *at = strrchr(p, '@');
    if (at) {
        *at = '\0';
        char *colon = strchr(p, ':');
        if (colon)
            *colon++ = '\0';
        m->user = p;
        m->password = colon;
        p = at + 1;
    }
    m->port = m->tls ? 8883 : 1883;
    char *colon = strrchr(p, ':');
    if (colon && !strchr(colon, ']')) {
        *colon = '\0';
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535)
            return -1;
        m->port = (int)port;
    }
    if (*p == '[' && p[strlen(p) - 1] == ']') { /* [::1] */
        p[strlen(p) - 1] = '\0';
        p++;
    }
    m->host = p;
    return *p ? 0 : -1;
}

/* ---- init / fini ------------------------------------------------------- */

/* The URL and the three templates: FILE:LINE errors at their settings. */
static int check_opts(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct mqtt_sink *m = s->priv;
    int rc = 0;
    if (parse_url(m, m->o.url) != 0) {
        hp_errs_add(errs, hp_setting_at(cfg, "url"),
                    "sink %s: url \"%s\" is not an MQTT URL "
                    "(mqtt://[user[:password]@]host[:port] or mqtts://...)",
                    s->name, m->redacted);
        rc = -1;
    }
    const unsigned hs = HP_TMPL_HOST | HP_TMPL_SESSION;
    rc |= hp_tmpl_compile_opt(&m->topic_t, m->o.topic, hs | HP_TMPL_REPORTER, cfg, "topic", s->name,
                              errs);
    rc |= hp_tmpl_compile_opt(&m->status_t, m->o.status_topic, hs, cfg, "status_topic", s->name,
                              errs);
    rc |= hp_tmpl_compile_opt(&m->id_t, m->o.client_id, HP_TMPL_HOST | HP_TMPL_SINK, cfg,
                              "client_id", s->name, errs);
    return rc ? -1 : 0;
}

static int mqtt_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct mqtt_sink *m = s->priv;
    hp_opts_load(m->o.tls_g, mqtt_tls_opts, m);
    hp_psistats_init(&m->ps);
    m->timeout_ms = (int)(m->o.timeout * 1000);
    s->window = (size_t)m->o.window;
    m->fl = calloc(s->window, sizeof(*m->fl));
    if (!m->fl)
        return -1;
    /* Sets up OpenSSL and a random seed: main thread, before any client
     * exists. Calling it again is harmless; it is never undone (another
     * mqtt sink, after a reload, may still use it), as modules are never
     * unloaded. */
    mosquitto_lib_init();
    return check_opts(s, cfg, errs);
}

static void mqtt_fini(struct hp_sink *s)
{
    struct mqtt_sink *m = s->priv;
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    m->mosq = NULL;
    hp_psistats_free(&m->ps);
    free(m->fl);
    free(m->url_buf);
}

/* ---- in-flight ids ----------------------------------------------------- */

static void flight_add(struct mqtt_sink *m, size_t cap, int mid, uint64_t pos)
{
    m->fl[(m->head + m->count) % cap] = (struct mqtt_flight){.pos = pos, .mid = mid};
    m->count++;
}

/* on_publish: settle mid (acks come in order, so it is nearly always the
 * oldest), then forget the settled prefix. */
static void flight_done(struct hp_sink *s, int mid)
{
    struct mqtt_sink *m = s->priv;
    size_t cap = s->window;
    for (size_t i = 0; i < m->count; i++) {
        struct mqtt_flight *f = &m->fl[(m->head + i) % cap];
        if (f->mid == mid && !f->done) {
            f->done = true;
            hp_sink_ack(s, f->pos, HP_ACK_OK);
            break;
        }
    }
    while (m->count > 0 && m->fl[m->head].done) {
        m->head = (m->head + 1) % cap;
        m->count--;
    }
}

/* ---- libmosquitto callbacks (all on the delivery thread) --------------- */

static void on_connect(struct mosquitto *mosq, void *ud, int rc)
{
    (void)mosq;
    struct mqtt_sink *m = ((struct hp_sink *)ud)->priv;
    m->connack = rc;
    m->connected = rc == 0;
}

static void on_disconnect(struct mosquitto *mosq, void *ud, int rc)
{
    (void)mosq;
    (void)rc;
    struct mqtt_sink *m = ((struct hp_sink *)ud)->priv;
    m->connected = false;
    m->lost = true;
}

static void on_publish(struct mosquitto *mosq, void *ud, int mid)
{
    (void)mosq;
    flight_done(ud, mid);
}

/* Keep libmosquitto's newest error (OpenSSL's reasons among them). */
static void on_log(struct mosquitto *mosq, void *ud, int level, const char *str)
{
    (void)mosq;
    struct mqtt_sink *m = ((struct hp_sink *)ud)->priv;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        snprintf(m->last_log, sizeof(m->last_log), "%s", str);
}

/* ---- open / close ------------------------------------------------------ */

static int setup_tls(struct hp_sink *s, struct mqtt_sink *m)
{
    const struct mqtt_opts *o = &m->o;
    const char *ca = o->ca_file && *o->ca_file ? o->ca_file : NULL;
    const char *cert = o->cert_file && *o->cert_file ? o->cert_file : NULL;
    const char *key = o->key_file && *o->key_file ? o->key_file : cert;
    if (!ca)
        mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
    int rc = mosquitto_tls_set(m->mosq, ca, NULL, cert, key, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        return hp_sink_fail(s, "%s: TLS: cannot use ca_file %s / cert_file %s / key_file %s: %s",
                            m->redacted, ca ? ca : "(system)", cert ? cert : "-", key ? key : "-",
                            mosquitto_strerror(rc));
    mosquitto_tls_opts_set(m->mosq, o->verify_peer ? 1 : 0, NULL, NULL);
    mosquitto_tls_insecure_set(m->mosq, !o->verify_hostname);
    return 0;
}

/* A new libmosquitto client with every option, the will and callbacks. */
static int make_client(struct hp_sink *s, struct mqtt_sink *m)
{
    const char *h = s->id.host;
    struct hp_tmpl_vars v = {.host = h, .session = s->id.session, .sink = s->name};
    if (hp_tmpl_expand(&m->id_t, &v, m->id, sizeof(m->id)) < 0 ||
        hp_tmpl_expand(&m->status_t, &v, m->status, sizeof(m->status)) < 0)
        return hp_sink_fail(s, "client_id or status_topic too long for host %s", h);
    m->mosq = mosquitto_new(m->id, m->o.clean_session, s);
    if (!m->mosq)
        return hp_sink_fail(s, "cannot create an MQTT client (out of memory)");
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->o.protocol ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM, (int)s->window);
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    const char *user = m->o.username ? m->o.username : m->user;
    const char *pw = m->o.password ? m->o.password : m->password;
    if (user && mosquitto_username_pw_set(m->mosq, user, pw) != MOSQ_ERR_SUCCESS)
        return hp_sink_fail(s, "%s: cannot set the user name", m->redacted);
    if (m->o.status &&
        mosquitto_will_set(m->mosq, m->status, 7, "offline", 1, true) != MOSQ_ERR_SUCCESS)
        return hp_sink_fail(s, "%s: bad status_topic %s", m->redacted, m->status);
    if (m->tls && setup_tls(s, m) != 0)
        return -1;
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_log_callback_set(m->mosq, on_log);
    return 0;
}

/* Service the socket once: read what arrived, write what is queued, keep
 * alive. wait_ms > 0 first waits for the socket (open, flush). */
static int pump(struct mqtt_sink *m, int wait_ms, bool want_out)
{
    int fd = mosquitto_socket(m->mosq);
    if (fd < 0)
        return MOSQ_ERR_NO_CONN;
    if (wait_ms > 0) {
        short ev = POLLIN | (want_out || mosquitto_want_write(m->mosq) ? POLLOUT : 0);
        struct pollfd p = {.fd = fd, .events = ev};
        if (poll(&p, 1, wait_ms) > 0 && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
            /* A failed connect: its errno names the cause (libmosquitto
             * reports only "protocol error"). */
            int err = 0;
            socklen_t sl = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err) {
                errno = err;
                return MOSQ_ERR_ERRNO;
            }
            int rc = mosquitto_loop_write(m->mosq, 1);
            if (rc != MOSQ_ERR_SUCCESS)
                return rc;
        }
    }
    int rc = mosquitto_loop_read(m->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(m->mosq))
        rc = mosquitto_loop_write(m->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && m->connected)
        rc = mosquitto_loop_misc(m->mosq);
    return rc;
}

/* Why open() failed, in one sentence. err: errno right after the failure. */
static int connect_reason(struct hp_sink *s, struct mqtt_sink *m, int rc, int err)
{
    if (m->connack > 0)
        return hp_sink_fail(s, "%s: the broker refused the connection: %s", m->redacted,
                            m->connack < 128 ? mosquitto_connack_string(m->connack)
                                             : mosquitto_reason_string(m->connack));
    if (rc == MOSQ_ERR_SUCCESS && !m->lost)
        return hp_sink_fail(s, "%s: no CONNACK within %.1f s", m->redacted, m->timeout_ms / 1000.0);
    /* OpenSSL's reason (libmosquitto logs it), else the socket's, else
     * libmosquitto's code. */
    const char *why = m->last_log[0] ? m->last_log
                      : err && rc != MOSQ_ERR_EAI && rc != MOSQ_ERR_TLS
                          ? strerror(err)
                          : mosquitto_strerror(rc ? rc : MOSQ_ERR_CONN_LOST);
    return hp_sink_fail(s, "%s: cannot connect to %s:%d: %s", m->redacted, m->host, m->port, why);
}

/* With a log callback set, libmosquitto formats a debug line (a malloc, a
 * vsnprintf, a lock) for every packet sent or received: two a message,
 * 3-4% of the whole agent's samples in a perf profile. Once connected over plain TCP nothing it
 * could log says more than the error code and errno do, so the sink stops listening; with TLS it
 * keeps listening, as OpenSSL's reason for a broken connection comes only through the log. */
static void quiet_log(struct mqtt_sink *m)
{
    if (m->tls)
        return;
    mosquitto_log_callback_set(m->mosq, NULL);
    m->last_log[0] = '\0';
}

static void drop_client(struct mqtt_sink *m)
{
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    m->mosq = NULL;
    m->connected = false;
}

static int mqtt_open(struct hp_sink *s)
{
    struct mqtt_sink *m = s->priv;
    drop_client(m);
    m->connack = -1;
    m->lost = false;
    m->last_log[0] = '\0';
    m->head = m->count = 0;
    if (make_client(s, m) != 0) {
        drop_client(m);
        return -1;
    }
    errno = 0;
    int rc = mosquitto_connect_async(m->mosq, m->host, m->port, (int)m->o.keepalive);
    int64_t deadline = hp_mono_ms() + m->timeout_ms;
    bool first = true;
    int err = errno;
    while (rc == MOSQ_ERR_SUCCESS && m->connack < 0 && !m->lost) {
        int64_t left = deadline - hp_mono_ms();
        if (left <= 0)
            break;
        errno = 0;
        rc = pump(m, (int)(left < 100 ? left : 100), first);
        err = errno;
        first = false;
    }
    if (!m->connected) {
        connect_reason(s, m, rc, err);
        drop_client(m);
        return -1;
    }
    quiet_log(m);
    if (m->o.status)
        mosquitto_publish(m->mosq, NULL, m->status, 6, "online", 1, true);
    s->idle_poll_ms = (int)m->o.keepalive * 250;
    hp_info("sink %s: connected to %s as %s (MQTT %s, QoS %d)", s->name, m->redacted, m->id,
            protocols[m->o.protocol], (int)m->o.qos);
    return 0;
}

static void mqtt_close(struct hp_sink *s)
{
    struct mqtt_sink *m = s->priv;
    if (m->mosq && m->connected) {
        /* A clean stop: say so (the will fires only when we vanish). */
        if (m->o.status)
            mosquitto_publish(m->mosq, NULL, m->status, 7, "offline", 1, true);
        mosquitto_disconnect(m->mosq);
        for (int i = 0; i < 10 && mosquitto_want_write(m->mosq); i++)
            if (pump(m, 50, false) != MOSQ_ERR_SUCCESS)
                break;
    }
    drop_client(m);
    m->head = m->count = 0; /* the transport re-queues what was unacked */
}

/* ---- delivery ---------------------------------------------------------- */

static int broken(struct hp_sink *s, int rc)
{
    struct mqtt_sink *m = s->priv;
    m->connected = false;
    const char *why = rc == MOSQ_ERR_KEEPALIVE || rc == MOSQ_ERR_NO_CONN
                          ? "connection lost (no reply within keepalive, or closed)"
                          : mosquitto_strerror(rc);
    if (rc == MOSQ_ERR_ERRNO)
        why = strerror(errno);
    return hp_sink_fail(s, "%s: %s%s%s", m->redacted, why, m->last_log[0] ? "; " : "", m->last_log);
}

static int mqtt_poll(struct hp_sink *s)
{
    struct mqtt_sink *m = s->priv;
    if (!m->mosq)
        return -1;
    int rc = pump(m, 0, false);
    if (rc != MOSQ_ERR_SUCCESS || m->lost)
        return broken(s, rc != MOSQ_ERR_SUCCESS ? rc : MOSQ_ERR_CONN_LOST);
    return 0;
}

static int mqtt_pollfd(struct hp_sink *s)
{
    struct mqtt_sink *m = s->priv;
    return m->mosq ? mosquitto_socket(m->mosq) : -1;
}

/* The payload of one offered message: the envelope, or (psistats) a
 * folded object, or nothing to publish (*len 0, acked by the caller). */
static int payload(struct hp_sink *s, const struct hp_msg *msg, char **own, const char **p,
                   size_t *len)
{
    struct mqtt_sink *m = s->priv;
    *own = NULL;
    if (m->o.format == HP_FORMAT_ENVELOPE) {
        *p = msg->json;
        *len = msg->len;
        return HP_PSISTATS_TICK;
    }
    enum hp_psistats_fold r = hp_psistats_fold(&m->ps, msg, own, len);
    *p = *own;
    return r;
}

/* Publish o (or settle it at once: folded, refused, QoS 0). Returns 1 when
 * it is in flight (its id in *mid), 0 when settled, -1 when broken. */
static int publish(struct hp_sink *s, const struct hp_out *o, int *mid)
{
    struct mqtt_sink *m = s->priv;
    const struct hp_msg *msg = o->msg;
    char *own;
    const char *body;
    size_t len;
    int r = payload(s, msg, &own, &body, &len);
    if (r != HP_PSISTATS_TICK) {
        hp_sink_ack(s, o->pos, r == HP_PSISTATS_FOLDED ? HP_ACK_OK : HP_ACK_DROP);
        return 0;
    }
    const char *rep = m->o.format == HP_FORMAT_PSISTATS ? "psistats" : msg->reporter;
    struct hp_tmpl_vars v = {.host = s->id.host, .reporter = rep, .session = s->id.session};
    if (hp_tmpl_expand(&m->topic_t, &v, m->topic, sizeof(m->topic)) < 0)
        snprintf(m->topic, sizeof(m->topic), "hostpulse/%s", rep);
    int rc = mosquitto_publish(m->mosq, mid, m->topic, (int)len, body, (int)m->o.qos, m->o.retain);
    free(own);
    if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_OVERSIZE_PACKET) {
        hp_sink_ack(s, o->pos, HP_ACK_DROP);
        return 0;
    }
    if (rc != MOSQ_ERR_SUCCESS)
        return broken(s, rc);
    if (m->o.qos > 0)
        return 1;
    hp_sink_ack(s, o->pos, HP_ACK_OK); /* QoS 0: handed over is all there is */
    return 0;
}

/* libmosquitto sends each PUBLISH with its own write() as it is queued: a
 * round of messages went out as a TCP segment each, each delivered (on
 * loopback: processed in this thread) and read by the broker on its own.
 * Corked, the batch leaves in as few full segments as it fills when it is
 * uncorked. */
static void cork(struct mqtt_sink *m, int on)
{
    int fd = mosquitto_socket(m->mosq);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

static int mqtt_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct mqtt_sink *m = s->priv;
    if (!m->connected)
        return mqtt_poll(s) != 0 ? -1 : 0;
    bool corked = n > 1;
    if (corked)
        cork(m, 1);
    size_t i;
    int rc = 0;
    for (i = 0; i < n && m->count < s->window && rc >= 0; i++) {
        int mid = 0;
        rc = publish(s, &out[i], &mid);
        if (rc > 0) /* PUBACK/PUBCOMP can only arrive from a later read */
            flight_add(m, s->window, mid, out[i].pos);
    }
    if (corked && m->mosq)
        cork(m, 0);
    if (rc < 0)
        return -1;
    return mqtt_poll(s) != 0 ? -1 : (int)i;
}

static int mqtt_flush(struct hp_sink *s, int timeout_ms)
{
    struct mqtt_sink *m = s->priv;
    int64_t deadline = hp_mono_ms() + timeout_ms;
    while (m->mosq && m->connected && m->count > 0) {
        int64_t left = deadline - hp_mono_ms();
        if (left <= 0 || pump(m, left < 100 ? (int)left : 100, false) != MOSQ_ERR_SUCCESS)
            break;
    }
    return m->count > 0 ? -1 : 0;
}

const struct hp_sink_ops hp_sink_mqtt = {
    .type = "mqtt",
    .opts = mqtt_opts_table,
    .priv_size = sizeof(struct mqtt_sink),
    .init = mqtt_init,
    .open = mqtt_open,
    .write = mqtt_write,
    .poll = mqtt_poll,
    .pollfd = mqtt_pollfd,
    .flush = mqtt_flush,
    .close = mqtt_close,
    .fini = mqtt_fini,
};
