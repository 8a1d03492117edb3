/* SPDX-License-Identifier: Apache-2.0 */
/* amqp_conn.c -- AMQP connection set-up for the amqp sink, and its reasons.
 *
 * Connects (TCP or TLS), logs in, opens the publishing channel, puts it in
 * confirm mode and declares the exchange, the per-host queue and its
 * binding. Every step is bounded by the `timeout` option, and every failure
 * is turned into one clear sentence for the log and for --check --connect:
 * DNS, TCP (with the errno), TLS (untrusted certificate, wrong name), login
 * (the broker's ACCESS_REFUSED text), vhost (NOT_ALLOWED), exchange
 * (PRECONDITION_FAILED: declared with other arguments). Never the password:
 * URLs appear only in their redacted form. */
#include "transport/sinks/amqp/amqp.h"
#include "lib/version.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct timeval ms_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

void amqp_conn_reply_reason(amqp_rpc_reply_t r, char *buf, size_t len)
{
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        snprintf(buf, len, "%s", amqp_error_string2(r.library_error));
        return;
    }
    if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION) {
        snprintf(buf, len, "%s", r.reply_type == AMQP_RESPONSE_NONE ? "no reply" : "ok");
        return;
    }
    const amqp_bytes_t *text = NULL;
    unsigned code = 0;
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *m = r.reply.decoded;
        code = m->reply_code;
        text = &m->reply_text;
    } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *m = r.reply.decoded;
        code = m->reply_code;
        text = &m->reply_text;
    }
    if (text)
        snprintf(buf, len, "%.*s (%u)", (int)text->len, (const char *)text->bytes, code);
    else
        snprintf(buf, len, "unexpected method 0x%08x", r.reply.id);
}

/* rabbitmq-c reports a failed TCP connect as a bare "socket error": probe
 * once more ourselves to name the cause (refused, unreachable, timed out). */
static void tcp_reason(const char *host, int port, int timeout_ms, char *buf, size_t len)
{
    char svc[16];
    snprintf(svc, sizeof(svc), "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, svc, &hints, &ai) != 0 || !ai) {
        snprintf(buf, len, "cannot resolve host %s", host);
        return;
    }
    int err = ETIMEDOUT;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno;
    } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        err = errno;
    } else {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t sl = sizeof(err);
        if (poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
            err = errno;
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    snprintf(buf, len, "TCP connect to %s:%d failed: %s", host, port,
             err ? strerror(err) : "the connection was closed at once");
}

static int socket_fail(struct hp_sink *s, const struct amqp_opts *o, const struct amqp_url *u,
                       int status)
{
    const struct amqp_connection_info *i = &u->info;
    char why[200];
    switch (status) {
    case AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED:
        snprintf(why, sizeof(why), "DNS: cannot resolve host %s", i->host);
        break;
    case AMQP_STATUS_SOCKET_ERROR:
    case AMQP_STATUS_TCP_ERROR:
        tcp_reason(i->host, i->port, o->timeout_ms, why, sizeof(why));
        break;
    case AMQP_STATUS_TIMEOUT:
        snprintf(why, sizeof(why), "timed out connecting to %s:%d", i->host, i->port);
        break;
    case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
        snprintf(why, sizeof(why), "TLS: the broker's certificate is not trusted (ca_file %s)",
                 o->ca_file && *o->ca_file ? o->ca_file : "system default");
        break;
    case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
        snprintf(why, sizeof(why), "TLS: the broker's certificate does not name host %s", i->host);
        break;
    case AMQP_STATUS_SSL_CONNECTION_FAILED:
    case AMQP_STATUS_SSL_ERROR:
        snprintf(why, sizeof(why), "TLS handshake with %s:%d failed (%s; is it a TLS port?)",
                 i->host, i->port, amqp_error_string2(status));
        break;
    default:
        snprintf(why, sizeof(why), "cannot connect to %s:%d: %s", i->host, i->port,
                 amqp_error_string2(status));
    }
    return hp_sink_fail(s, "%s: %s", u->redacted, why);
}

static int setup_tls(struct hp_sink *s, const struct amqp_opts *o, const struct amqp_url *u,
                     amqp_socket_t *sock)
{
    if (o->ca_file && *o->ca_file && amqp_ssl_socket_set_cacert(sock, o->ca_file) != 0)
        return hp_sink_fail(s, "%s: TLS: cannot load ca_file %s", u->redacted, o->ca_file);
    if (o->cert_file && *o->cert_file &&
        amqp_ssl_socket_set_key(sock, o->cert_file, o->key_file ? o->key_file : o->cert_file) != 0)
        return hp_sink_fail(s, "%s: TLS: cannot load cert_file %s / key_file %s", u->redacted,
                            o->cert_file, o->key_file ? o->key_file : "");
    amqp_ssl_socket_set_verify_peer(sock, o->verify_peer);
    amqp_ssl_socket_set_verify_hostname(sock, o->verify_hostname);
    return 0;
}

static amqp_rpc_reply_t login(const struct hp_sink *s, const struct amqp_opts *o,
                              const struct amqp_url *u, amqp_connection_state_t c)
{
    char name[320];
    snprintf(name, sizeof(name), "hostpulse %s (sink %s)", s->id.host ? s->id.host : "", s->name);
    amqp_table_entry_t caps[] = {
        {.key = amqp_cstring_bytes("connection.blocked"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
        {.key = amqp_cstring_bytes("authentication_failure_close"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
        {.key = amqp_cstring_bytes("publisher_confirms"),
         .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = 1}},
    };
    amqp_table_entry_t props[] = {
        {.key = amqp_cstring_bytes("product"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("hostpulse")}},
        {.key = amqp_cstring_bytes("version"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(HP_VERSION)}},
        {.key = amqp_cstring_bytes("connection_name"),
         .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(name)}},
        {.key = amqp_cstring_bytes("capabilities"),
         .value = {.kind = AMQP_FIELD_KIND_TABLE,
                   .value.table = {.num_entries = 3, .entries = caps}}},
    };
    amqp_table_t table = {.num_entries = 4, .entries = props};
    return amqp_login_with_properties(c, u->info.vhost, 2, o->frame_max, o->heartbeat, &table,
                                      AMQP_SASL_METHOD_PLAIN, u->info.user, u->info.password);
}

static int login_fail(struct hp_sink *s, const struct amqp_url *u, amqp_rpc_reply_t r)
{
    char why[200];
    amqp_conn_reply_reason(r, why, sizeof(why));
    const char *what = "login";
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        unsigned code = ((const amqp_connection_close_t *)r.reply.decoded)->reply_code;
        what = code == AMQP_ACCESS_REFUSED ? "login refused (wrong user or password?)"
               : code == AMQP_NOT_ALLOWED  ? "vhost refused (missing, or no access?)"
                                           : "login";
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
               r.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
        snprintf(why, sizeof(why), "the broker closed the connection during the handshake");
    }
    return hp_sink_fail(s, "%s: %s as user '%s' on vhost '%s': %s", u->redacted, what, u->info.user,
                        u->info.vhost, why);
}

static int channel_setup(struct hp_sink *s, const struct amqp_opts *o, const struct amqp_url *u,
                         amqp_connection_state_t c)
{
    char why[200];
    amqp_channel_open(c, AMQP_CHANNEL);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    if (r.reply_type == AMQP_RESPONSE_NORMAL && o->confirm) {
        amqp_confirm_select(c, AMQP_CHANNEL);
        r = amqp_get_rpc_reply(c);
    }
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    amqp_conn_reply_reason(r, why, sizeof(why));
    return hp_sink_fail(s, "%s: cannot open a channel: %s", u->redacted, why);
}

int amqp_conn_open(struct hp_sink *s, const struct amqp_opts *o, const struct amqp_url *u,
                   amqp_connection_state_t *out)
{
    amqp_connection_state_t c = amqp_new_connection();
    if (!c)
        return hp_sink_fail(s, "out of memory");
    amqp_socket_t *sock = u->info.ssl ? amqp_ssl_socket_new(c) : amqp_tcp_socket_new(c);
    struct timeval tv = ms_tv(o->timeout_ms);
    amqp_set_handshake_timeout(c, &tv);
    amqp_set_rpc_timeout(c, &tv);
    int rc = -1, status;
    if (!sock) {
        hp_sink_fail(s, "%s: cannot create a %s socket", u->redacted, u->info.ssl ? "TLS" : "TCP");
    } else if (u->info.ssl && setup_tls(s, o, u, sock) != 0) {
        /* reason set */
    } else if ((status = amqp_socket_open_noblock(sock, u->info.host, u->info.port, &tv)) != 0) {
        socket_fail(s, o, u, status);
    } else {
        amqp_rpc_reply_t r = login(s, o, u, c);
        rc = r.reply_type != AMQP_RESPONSE_NORMAL ? login_fail(s, u, r) : channel_setup(s, o, u, c);
    }
    if (rc != 0) {
        amqp_destroy_connection(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int declare_exchange(struct hp_sink *s, const struct amqp_opts *o, amqp_connection_state_t c,
                            amqp_channel_t ch, bool passive)
{
    char why[200];
    amqp_exchange_declare(c, ch, amqp_cstring_bytes(o->exchange),
                          amqp_cstring_bytes(o->exchange_type), passive, o->exchange_durable,
                          o->exchange_auto_delete, 0, amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    amqp_conn_reply_reason(r, why, sizeof(why));
    hp_sink_fail(s, "exchange '%s' (%s%s%s): %s", o->exchange, o->exchange_type,
                 o->exchange_durable ? ", durable" : "",
                 o->exchange_auto_delete ? ", auto_delete" : "", why);
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
        return ((const amqp_channel_close_t *)r.reply.decoded)->reply_code;
    return -1;
}

int amqp_conn_declare(struct hp_sink *s, const struct amqp_opts *o, amqp_connection_state_t c,
                      const char *queue, const char *binding)
{
    char why[200];
    if (*o->exchange && declare_exchange(s, o, c, AMQP_CHANNEL, false) != 0)
        return -1;
    if (!o->queue_declare)
        return 0;
    amqp_table_entry_t e[4];
    int n = 0;
    if (o->queue_ttl_ms > 0)
        e[n++] = (amqp_table_entry_t){
            .key = amqp_cstring_bytes("x-message-ttl"),
            .value = {.kind = AMQP_FIELD_KIND_I64, .value.i64 = o->queue_ttl_ms}};
    if (o->queue_max_length > 0)
        e[n++] = (amqp_table_entry_t){
            .key = amqp_cstring_bytes("x-max-length"),
            .value = {.kind = AMQP_FIELD_KIND_I64, .value.i64 = o->queue_max_length}};
    if (o->queue_max_length_bytes > 0)
        e[n++] = (amqp_table_entry_t){
            .key = amqp_cstring_bytes("x-max-length-bytes"),
            .value = {.kind = AMQP_FIELD_KIND_I64, .value.i64 = o->queue_max_length_bytes}};
    if (n > (o->queue_ttl_ms > 0)) /* a length bound: say what happens past it */
        e[n++] =
            (amqp_table_entry_t){.key = amqp_cstring_bytes("x-overflow"),
                                 .value = {.kind = AMQP_FIELD_KIND_UTF8,
                                           .value.bytes = amqp_cstring_bytes(o->queue_overflow)}};
    amqp_table_t args = {.num_entries = n, .entries = e};
    amqp_queue_declare(c, AMQP_CHANNEL, amqp_cstring_bytes(queue), 0, o->queue_durable,
                       o->queue_exclusive, o->queue_auto_delete, args);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    if (r.reply_type == AMQP_RESPONSE_NORMAL && *o->exchange) {
        /* A headers exchange ignores the key: bind on this host's header. */
        amqp_table_entry_t h[2] = {
            {.key = amqp_cstring_bytes("x-match"),
             .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("all")}},
            {.key = amqp_cstring_bytes("host"),
             .value = {.kind = AMQP_FIELD_KIND_UTF8,
                       .value.bytes = amqp_cstring_bytes(s->id.host)}},
        };
        amqp_table_t bargs = {.num_entries = 2, .entries = h};
        bool headers = strcmp(o->exchange_type, "headers") == 0;
        amqp_queue_bind(c, AMQP_CHANNEL, amqp_cstring_bytes(queue), amqp_cstring_bytes(o->exchange),
                        amqp_cstring_bytes(binding), headers ? bargs : amqp_empty_table);
        r = amqp_get_rpc_reply(c);
    }
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    amqp_conn_reply_reason(r, why, sizeof(why));
    return hp_sink_fail(s, "queue '%s' (bound with '%s'): %s", queue, binding, why);
}

void amqp_conn_close(amqp_connection_state_t c, bool graceful)
{
    if (!c)
        return;
    if (graceful) {
        amqp_channel_close(c, AMQP_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(c);
}

/* --check --connect for one URL: connect, log in, then the exchange:
 * passively (does it exist?) and, if it does, declared with our arguments,
 * which changes nothing but fails if it exists with other ones. */
static int check_url(struct hp_sink *s, const struct amqp_opts *o, const struct amqp_url *u)
{
    amqp_connection_state_t c = NULL;
    s->error[0] = '\0';
    if (amqp_conn_open(s, o, u, &c) != 0) {
        fprintf(stderr, "sink %s (amqp): %s\n", s->name, s->error);
        return 1;
    }
    int problems = 0;
    const char *note = "exists with the same arguments";
    if (*o->exchange) {
        int rc = declare_exchange(s, o, c, AMQP_CHANNEL, true);
        if (rc == AMQP_NOT_FOUND) {
            note = "does not exist yet: the agent declares it";
        } else if (rc == 0) {
            amqp_channel_open(c, AMQP_CHANNEL + 1);
            rc = amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL
                     ? declare_exchange(s, o, c, AMQP_CHANNEL + 1, false)
                     : -1;
        }
        if (rc != 0 && rc != AMQP_NOT_FOUND) {
            fprintf(stderr, "sink %s (amqp): %s: %s\n", s->name, u->redacted, s->error);
            problems++;
        }
    }
    if (!problems)
        fprintf(stderr, "sink %s (amqp): %s: ok (exchange '%s' %s)\n", s->name, u->redacted,
                o->exchange, *o->exchange ? note : "is the default exchange");
    amqp_conn_close(c, false);
    return problems;
}

int amqp_conn_check(struct hp_sink *s, const struct amqp_opts *o)
{
    int problems = 0;
    for (size_t i = 0; i < o->n_urls; i++)
        problems += check_url(s, o, &o->urls[i]);
    return problems;
}
