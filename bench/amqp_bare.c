/* SPDX-License-Identifier: Apache-2.0 */
/* amqp_bare.c -- the baseline for the AMQP publish benchmark: a minimal
 * rabbitmq-c loop with the agent's settings (topic exchange "hostpulse",
 * durable queue bound to it, persistent and mandatory messages, publisher
 * confirms with the same window) and the properties the sink puts on every
 * message (docs/amqp.md: content_type, delivery_mode, timestamp, app_id,
 * type, a per-message message_id host:session:reporter:seq). Nothing else:
 * no ring, no backlog, no JSON. With MINIMAL = 1, the plainest loop
 * instead: not mandatory, only content_type and delivery_mode, so the
 * table also shows what the documented properties cost.
 *
 *   amqp_bare HOST PORT MESSAGES SIZE WINDOW [MINIMAL]
 * Prints "rate=N" (messages/s from first publish to last confirm). */
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"

static int die(const char *what)
{
    fprintf(stderr, "amqp_bare: %s failed\n", what);
    return 1;
}

/* Read frames until confirms reach `want`; returns the confirmed count. */
static uint64_t confirms(amqp_connection_state_t c, uint64_t done, uint64_t want)
{
    while (done < want) {
        amqp_frame_t f;
        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
            return done;
        if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = f.payload.method.decoded;
            done = ack->multiple ? ack->delivery_tag : done + 1;
        }
        amqp_maybe_release_buffers(c);
    }
    return done;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7)
        return fprintf(stderr, "usage: amqp_bare HOST PORT MESSAGES SIZE WINDOW [MINIMAL]\n"), 2;
    int minimal = argc == 7 && atoi(argv[6]);
    uint64_t n = strtoull(argv[3], NULL, 10), window = strtoull(argv[5], NULL, 10);
    size_t size = strtoull(argv[4], NULL, 10);
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(c);
    if (amqp_socket_open(sock, argv[1], atoi(argv[2])) != AMQP_STATUS_OK)
        return die("connect");
    if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type !=
        AMQP_RESPONSE_NORMAL)
        return die("login");
    amqp_channel_open(c, 1);
    amqp_confirm_select(c, 1);
    amqp_exchange_declare(c, 1, amqp_cstring_bytes("hostpulse"), amqp_cstring_bytes("topic"), 0, 1,
                          0, 0, amqp_empty_table);
    amqp_queue_declare(c, 1, amqp_cstring_bytes("bench.bare"), 0, 1, 0, 0, amqp_empty_table);
    amqp_queue_bind(c, 1, amqp_cstring_bytes("bench.bare"), amqp_cstring_bytes("hostpulse"),
                    amqp_cstring_bytes("hostpulse.bench.#"), amqp_empty_table);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        return die("declare");
    char *body = malloc(size);
    memset(body, 'x', size);
    char host[256] = "localhost", msgid[400];
    gethostname(host, sizeof(host) - 1);
    const char *session = "5f0c2a9e-6d2b-4a47-9c1e-0b8f1d2e3a4b";
    amqp_basic_properties_t p = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                  AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_APP_ID_FLAG | AMQP_BASIC_TYPE_FLAG |
                  AMQP_BASIC_MESSAGE_ID_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .delivery_mode = 2,
        .timestamp = (uint64_t)time(NULL),
        .app_id = amqp_cstring_bytes("hostpulse"),
        .type = amqp_cstring_bytes("bench"),
    };
    if (minimal)
        p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    amqp_bytes_t b = {.len = size, .bytes = body};
    int64_t t0 = hp_mono_ns();
    uint64_t sent = 0, done = 0;
    while (done < n) {
        while (sent < n && sent - done < window) {
            if (!minimal) {
                snprintf(msgid, sizeof(msgid), "%s:%s:bench:%llu", host, session,
                         (unsigned long long)sent + 1);
                p.message_id = amqp_cstring_bytes(msgid);
            }
            amqp_basic_publish(c, 1, amqp_cstring_bytes("hostpulse"),
                               amqp_cstring_bytes("hostpulse.bench.bare"), !minimal, 0, &p, b);
            sent++;
        }
        uint64_t before = done;
        done = confirms(c, done, done + 1);
        if (done == before)
            return die("confirm");
    }
    double secs = (double)(hp_mono_ns() - t0) / 1e9;
    printf("rate=%.0f\n", (double)n / secs);
    amqp_queue_delete(c, 1, amqp_cstring_bytes("bench.bare"), 0, 0);
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    free(body);
    return 0;
}
