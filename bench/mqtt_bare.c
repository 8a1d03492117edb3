/* SPDX-License-Identifier: Apache-2.0 */
/* mqtt_bare.c -- the baseline for the MQTT publish benchmark: a minimal
 * libmosquitto loop with the mqtt sink's settings and messages (QoS 1, the
 * same topic shape hostpulse/<host>/<reporter>, payloads of the same size,
 * the same window of unacknowledged messages, TCP_NODELAY), driven the way
 * the sink drives it: one thread, poll() on the socket and
 * mosquitto_loop_read/write/misc, never libmosquitto's own thread. Nothing
 * else: no ring, no backlog, no JSON.
 *
 *   mqtt_bare HOST PORT MESSAGES SIZE WINDOW [QOS]
 * Prints "rate=N" (messages/s from the first publish to the last ack). */
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"

struct bare {
    uint64_t acked;
    bool connected, failed;
};

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    struct bare *b = ud;
    b->connected = rc == 0;
    b->failed = rc != 0;
}

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
    (void)m;
    (void)mid;
    ((struct bare *)ud)->acked++;
}

/* One turn of the loop: wait (at most wait_ms) for the socket, then read,
 * write and keep alive, as the sink's poll() does. */
static int turn(struct mosquitto *m, int wait_ms)
{
    struct pollfd p = {.fd = mosquitto_socket(m), .events = POLLIN};
    if (mosquitto_want_write(m))
        p.events |= POLLOUT;
    if (poll(&p, 1, wait_ms) < 0)
        return -1;
    int rc = mosquitto_loop_read(m, 1);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(m))
        rc = mosquitto_loop_write(m, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_loop_misc(m);
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7)
        return fprintf(stderr, "usage: mqtt_bare HOST PORT MESSAGES SIZE WINDOW [QOS]\n"), 2;
    uint64_t n = strtoull(argv[3], NULL, 10), window = strtoull(argv[5], NULL, 10);
    size_t size = strtoull(argv[4], NULL, 10);
    int qos = argc == 7 ? atoi(argv[6]) : 1;
    char *payload = malloc(size);
    if (!payload)
        return 1;
    memset(payload, 'x', size);
    struct bare b = {0};
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new("hostpulse-bench-bare", false, &b);
    if (!m)
        return 1;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)window);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_publish_callback_set(m, on_publish);
    if (mosquitto_connect(m, argv[1], atoi(argv[2]), 30) != MOSQ_ERR_SUCCESS)
        return fprintf(stderr, "mqtt_bare: connect failed\n"), 1;
    while (!b.connected && !b.failed)
        if (turn(m, 100) != 0)
            return fprintf(stderr, "mqtt_bare: no CONNACK\n"), 1;
    int64_t t0 = hp_mono_ns();
    uint64_t sent = 0;
    while (b.acked < n) {
        while (sent < n && sent - b.acked < window) {
            if (mosquitto_publish(m, NULL, "hostpulse/bench/cpu", (int)size, payload, qos, false) !=
                MOSQ_ERR_SUCCESS)
                return fprintf(stderr, "mqtt_bare: publish failed\n"), 1;
            sent++;
        }
        if (turn(m, 100) != 0)
            return fprintf(stderr, "mqtt_bare: connection lost\n"), 1;
    }
    double secs = (double)(hp_mono_ns() - t0) / 1e9;
    printf("rate=%.0f\n", (double)n / secs);
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    free(payload);
    return 0;
}
