/* SPDX-License-Identifier: Apache-2.0 */
/* amqp_consume.c -- test helper: read messages from a RabbitMQ queue.
 *
 *   amqp_consume -u URL -q QUEUE [-b EXCHANGE -k BINDING [-x TYPE] [-H KEY=VALUE]...]
 *                [-n COUNT] [-t SECONDS] [-i IDLE] [-d] [-r]
 *
 * Reads until COUNT messages arrived, SECONDS passed, or (with -i) no
 * message came for IDLE seconds,
 * and prints each as one JSON line: {"routing_key", "exchange",
 * "redelivered", "properties": {...}, "body": <the message, parsed>}.
 * With -b the queue is first declared (durable) and bound to EXCHANGE
 * (a durable exchange of TYPE, topic by default, declared too) with BINDING
 * and, for each -H, a binding argument KEY=VALUE (with "x-match" = "all"
 * added, for a headers exchange); -d stops there
 * (declare only), so a test can bind a queue before the agent publishes.
 * Messages are acknowledged after they are printed. Exit status 0 unless
 * the broker could not be used (reason on stderr). With -r each line also
 * has "received_ms", the wall clock (ms since the epoch, as the envelope's
 * ts, with a fraction) when the message was read from the socket: a latency measured here
 * does not depend on how quickly the caller reads the output. */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct args {
    char *url, *queue, *exchange, *binding;
    long count;
    double seconds, idle;
    int declare_only, stamp;
    const char *type;
    amqp_table_entry_t hdr[8]; /* -H bindings, then x-match */
    int nhdr;
};

static int die_reply(amqp_rpc_reply_t r, const char *what)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    fprintf(stderr, "amqp_consume: %s failed (reply type %d, library error %s)\n", what,
            r.reply_type, amqp_error_string2(r.library_error));
    exit(2);
}

static void add_bytes(json_object *o, const char *key, amqp_bytes_t b)
{
    json_object_object_add(o, key, json_object_new_string_len(b.bytes, (int)b.len));
}

static json_object *props_json(const amqp_basic_properties_t *p)
{
    json_object *o = json_object_new_object();
    if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
        add_bytes(o, "content_type", p->content_type);
    if (p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
        json_object_object_add(o, "delivery_mode", json_object_new_int(p->delivery_mode));
    if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG)
        json_object_object_add(o, "timestamp", json_object_new_int64((int64_t)p->timestamp));
    if (p->_flags & AMQP_BASIC_APP_ID_FLAG)
        add_bytes(o, "app_id", p->app_id);
    if (p->_flags & AMQP_BASIC_TYPE_FLAG)
        add_bytes(o, "type", p->type);
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        add_bytes(o, "message_id", p->message_id);
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
        json_object *h = json_object_new_object();
        for (int i = 0; i < p->headers.num_entries; i++) {
            const amqp_table_entry_t *e = &p->headers.entries[i];
            char key[256];
            snprintf(key, sizeof(key), "%.*s", (int)e->key.len, (const char *)e->key.bytes);
            if (e->value.kind == AMQP_FIELD_KIND_UTF8 || e->value.kind == AMQP_FIELD_KIND_BYTES)
                add_bytes(h, key, e->value.value.bytes);
            else if (e->value.kind == AMQP_FIELD_KIND_I64)
                json_object_object_add(h, key, json_object_new_int64(e->value.value.i64));
            else
                json_object_object_add(h, key, json_object_new_string("?"));
        }
        json_object_object_add(o, "headers", h);
    }
    return o;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void print_message(const amqp_envelope_t *e, double received_ms)
{
    json_object *o = json_object_new_object();
    if (received_ms > 0)
        json_object_object_add(o, "received_ms", json_object_new_double(received_ms));
    add_bytes(o, "routing_key", e->routing_key);
    add_bytes(o, "exchange", e->exchange);
    json_object_object_add(o, "redelivered", json_object_new_boolean(e->redelivered));
    json_object_object_add(o, "properties", props_json(&e->message.properties));
    char *text = strndup(e->message.body.bytes, e->message.body.len);
    json_object *body = text ? json_tokener_parse(text) : NULL;
    json_object_object_add(o, "body", body ? body : json_object_new_string(text ? text : ""));
    free(text);
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
    json_object_put(o);
}

static amqp_connection_state_t connect_to(char *url)
{
    struct amqp_connection_info ci;
    if (amqp_parse_url(url, &ci) != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp_consume: bad url\n");
        exit(2);
    }
    if (!*ci.vhost)
        ci.vhost = "/";
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (!s || amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp_consume: cannot connect to %s:%d\n", ci.host, ci.port);
        exit(2);
    }
    die_reply(amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password),
              "login");
    amqp_channel_open(c, 1);
    die_reply(amqp_get_rpc_reply(c), "channel.open");
    return c;
}

static void declare(amqp_connection_state_t c, const struct args *a)
{
    amqp_exchange_declare(c, 1, amqp_cstring_bytes(a->exchange),
                          amqp_cstring_bytes(a->type ? a->type : "topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    die_reply(amqp_get_rpc_reply(c), "exchange.declare");
    amqp_queue_declare(c, 1, amqp_cstring_bytes(a->queue), 0, 1, 0, 0, amqp_empty_table);
    die_reply(amqp_get_rpc_reply(c), "queue.declare");
    amqp_table_t args = {.num_entries = a->nhdr, .entries = (amqp_table_entry_t *)a->hdr};
    amqp_queue_bind(c, 1, amqp_cstring_bytes(a->queue), amqp_cstring_bytes(a->exchange),
                    amqp_cstring_bytes(a->binding), args);
    die_reply(amqp_get_rpc_reply(c), "queue.bind");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long consume(amqp_connection_state_t c, const struct args *a)
{
    amqp_basic_qos(c, 1, 0, 500, 0);
    amqp_basic_consume(c, 1, amqp_cstring_bytes(a->queue), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    die_reply(amqp_get_rpc_reply(c), "basic.consume");
    long got = 0;
    double end = now_s() + a->seconds, last = now_s();
    while ((a->count <= 0 || got < a->count) && now_s() < end &&
           (a->idle <= 0 || now_s() < last + a->idle)) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
        amqp_envelope_t e;
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r = amqp_consume_message(c, &e, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            continue;
        die_reply(r, "consume");
        print_message(&e, a->stamp ? wall_ms() : 0);
        amqp_basic_ack(c, 1, e.delivery_tag, 0);
        amqp_destroy_envelope(&e);
        got++;
        last = now_s();
    }
    return got;
}

int main(int argc, char **argv)
{
    struct args a = {.count = 0, .seconds = 10};
    int opt;
    while ((opt = getopt(argc, argv, "u:q:b:k:n:t:i:drx:H:")) != -1) {
        switch (opt) {
        case 'u':
            a.url = optarg;
            break;
        case 'q':
            a.queue = optarg;
            break;
        case 'b':
            a.exchange = optarg;
            break;
        case 'k':
            a.binding = optarg;
            break;
        case 'n':
            a.count = atol(optarg);
            break;
        case 't':
            a.seconds = atof(optarg);
            break;
        case 'i':
            a.idle = atof(optarg);
            break;
        case 'd':
            a.declare_only = 1;
            break;
        case 'r':
            a.stamp = 1;
            break;
        case 'x':
            a.type = optarg;
            break;
        case 'H': {
            char *eq = strchr(optarg, '=');
            if (!eq || a.nhdr >= 7)
                return 2;
            *eq = '\0';
            a.hdr[a.nhdr++] = (amqp_table_entry_t){
                .key = amqp_cstring_bytes(optarg),
                .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(eq + 1)}};
            break;
        }
        default:
            return 2;
        }
    }
    if (!a.url || !a.queue || (a.exchange && !a.binding)) {
        fprintf(stderr, "usage: amqp_consume -u URL -q QUEUE [-b EXCHANGE -k BINDING] [-n N] "
                        "[-t SECONDS] [-i IDLE] [-d] [-r]\n");
        return 2;
    }
    if (a.nhdr)
        a.hdr[a.nhdr++] = (amqp_table_entry_t){
            .key = amqp_cstring_bytes("x-match"),
            .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("all")}};
    amqp_connection_state_t c = connect_to(a.url);
    if (a.exchange)
        declare(c, &a);
    long got = a.declare_only ? 0 : consume(c, &a);
    fprintf(stderr, "amqp_consume: %ld message(s) from %s\n", got, a.queue);
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return 0;
}
