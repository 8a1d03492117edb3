/* SPDX-License-Identifier: Apache-2.0 */
/* input_mqtt.c -- subscriber to the agent's MQTT topics (libmosquitto).
 *
 * Subscribes to input.topic (default "hostpulse/+/+": every host and
 * reporter of the agent's mqtt sink) at QoS 1 with a persistent session
 * (clean session off, a fixed client id), so the broker queues what comes
 * while hostpulse-web is away. Runs libmosquitto's loop in the ingest
 * thread (mosquitto_loop, no thread of its own) and commits batches like
 * the other inputs. Limit, documented in docs/web.md: libmosquitto 2.0
 * sends the QoS 1 PUBACK itself when a message arrives, before the store
 * has committed it, so a crash (not a clean stop) of hostpulse-web can lose
 * the open batch: at most store.batch_wait seconds of messages. */
#include "lib/clock.h"
#include "lib/log.h"
#include "web/ingest.h"

#include <mosquitto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KEEPALIVE 30

struct mq {
    struct hp_ingest *ing;
    const struct hp_web_conf *c;
    bool failed; /* the store failed in a callback */
    struct hp_complain complain;
};

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    struct mq *q = ud;
    if (rc != 0) {
        hp_complain(&q->complain, HP_LOG_WARN, "mqtt: %s:%lld refused the connection: %s",
                    q->c->mqtt_host, (long long)q->c->mqtt_port, mosquitto_connack_string(rc));
        return;
    }
    int s = mosquitto_subscribe(m, NULL, q->c->mqtt_topic, 1);
    if (s != MOSQ_ERR_SUCCESS)
        hp_warn("mqtt: subscribe %s: %s", q->c->mqtt_topic, mosquitto_strerror(s));
    hp_complain_clear(&q->complain, "mqtt: connected again");
    hp_info("mqtt: subscribed to %s on %s:%lld", q->c->mqtt_topic, q->c->mqtt_host,
            (long long)q->c->mqtt_port);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m;
    struct mq *q = ud;
    if (hp_ingest_add(q->ing, msg->payload ? msg->payload : "", (size_t)msg->payloadlen) ==
        HP_ADD_FAILED)
        q->failed = true;
}

static struct mosquitto *make(struct mq *q)
{
    const struct hp_web_conf *c = q->c;
    struct mosquitto *m = mosquitto_new(c->mqtt_client_id, false, q);
    if (!m)
        return NULL;
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_message_callback_set(m, on_message);
    if (*c->mqtt_user)
        mosquitto_username_pw_set(m, c->mqtt_user, *c->mqtt_password ? c->mqtt_password : NULL);
    if (*c->amqp_cacert) {
        int rc = mosquitto_tls_set(m, c->amqp_cacert, NULL, *c->amqp_cert ? c->amqp_cert : NULL,
                                   *c->amqp_key ? c->amqp_key : NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            hp_err("mqtt: TLS: %s", mosquitto_strerror(rc));
            mosquitto_destroy(m);
            return NULL;
        }
        mosquitto_tls_insecure_set(m, !c->amqp_verify);
    }
    return m;
}

/* Run the loop until stop (0) or a lost connection / store failure (-1). */
static int loop(struct mq *q, struct mosquitto *m)
{
    while (!hp_ingest_stopping(q->ing)) {
        int rc = mosquitto_loop(m, hp_ingest_wait_ms(q->ing), 1);
        if (q->failed)
            return -1;
        if (hp_ingest_due(q->ing) && hp_ingest_commit(q->ing) != 0)
            return -1;
        if (rc != MOSQ_ERR_SUCCESS) {
            hp_complain(&q->complain, HP_LOG_WARN, "mqtt: %s:%lld: %s", q->c->mqtt_host,
                        (long long)q->c->mqtt_port, mosquitto_strerror(rc));
            return -1;
        }
    }
    return hp_ingest_commit(q->ing);
}

int hp_input_mqtt_run(struct hp_ingest *ing)
{
    struct mq q = {.ing = ing, .c = hp_ingest_conf(ing)};
    mosquitto_lib_init();
    struct mosquitto *m = make(&q);
    if (!m) {
        mosquitto_lib_cleanup();
        return -1;
    }
    double delay = q.c->retry_initial;
    bool connected = false;
    while (!hp_ingest_stopping(ing)) {
        int rc = connected ? mosquitto_reconnect(m)
                           : mosquitto_connect(m, q.c->mqtt_host, (int)q.c->mqtt_port, KEEPALIVE);
        if (rc == MOSQ_ERR_SUCCESS) {
            connected = true;
            delay = q.c->retry_initial;
            if (loop(&q, m) == 0)
                break;
        } else {
            hp_complain(&q.complain, HP_LOG_WARN, "mqtt: cannot connect to %s:%lld: %s",
                        q.c->mqtt_host, (long long)q.c->mqtt_port, mosquitto_strerror(rc));
        }
        q.failed = false;
        hp_ingest_commit(ing);
        int64_t until = hp_mono_ms() + (int64_t)(delay * 1000);
        while (!hp_ingest_stopping(ing) && hp_mono_ms() < until)
            usleep(50 * 1000);
        delay = delay * 2 > q.c->retry_max ? q.c->retry_max : delay * 2;
    }
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return 0;
}
