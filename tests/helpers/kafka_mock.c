/* SPDX-License-Identifier: Apache-2.0 */
/* kafka_mock.c -- a Kafka cluster for the tests, from librdkafka's built-in
 * mock (rdkafka_mock.h): no Kafka broker is packaged in Debian.
 *
 *   kafka_mock [BROKERS]      (default 3)
 *
 * Prints the bootstrap address on stdout, then reads commands on stdin, one
 * per line, and answers each with "ok" or "error: ..." on stdout:
 *   down ID | up ID             take broker ID (1..BROKERS) down / up again
 *   errors N [ERR]              fail the next N Produce requests with ERR
 *                               (a name such as REQUEST_TIMED_OUT or a code;
 *                               default NOT_LEADER_FOR_PARTITION)
 *   create TOPIC PARTITIONS     create a topic (replication factor 1)
 *   topicerr TOPIC ERR          topic metadata reports ERR (NO_ERROR clears)
 * Stays up until stdin closes or SIGTERM. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define PRODUCE_API 0 /* Kafka protocol ApiKey of ProduceRequest */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An error by name ("REQUEST_TIMED_OUT", with or without the ERR_ prefix)
 * or by number. Returns 0 and sets *err if found. */
static int parse_err(const char *s, rd_kafka_resp_err_t *err)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && *end == '\0') {
        *err = (rd_kafka_resp_err_t)n;
        return 0;
    }
    const struct rd_kafka_err_desc *d;
    size_t cnt;
    rd_kafka_get_err_descs(&d, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (d[i].name && (strcmp(d[i].name, s) == 0 ||
                          (strncmp(s, "ERR_", 4) == 0 && strcmp(d[i].name, s + 4) == 0))) {
            *err = d[i].code;
            return 0;
        }
    }
    return -1;
}

static const char *command(rd_kafka_mock_cluster_t *mc, char *line)
{
    char *argv[4] = {0};
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 4; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    if (strcmp(argv[0], "down") == 0 && argc == 2)
        err = rd_kafka_mock_broker_set_down(mc, atoi(argv[1]));
    else if (strcmp(argv[0], "up") == 0 && argc == 2)
        err = rd_kafka_mock_broker_set_up(mc, atoi(argv[1]));
    else if (strcmp(argv[0], "errors") == 0 && (argc == 2 || argc == 3)) {
        if (argc == 3 && parse_err(argv[2], &err) != 0)
            return "error: unknown error name";
        int n = atoi(argv[1]);
        rd_kafka_resp_err_t *errs = malloc(sizeof(*errs) * (size_t)(n > 0 ? n : 1));
        if (!errs)
            return "error: out of memory";
        for (int i = 0; i < n; i++)
            errs[i] = err;
        rd_kafka_mock_push_request_errors_array(mc, PRODUCE_API, (size_t)n, errs);
        free(errs);
        err = RD_KAFKA_RESP_ERR_NO_ERROR;
    } else if (strcmp(argv[0], "create") == 0 && argc == 3)
        err = rd_kafka_mock_topic_create(mc, argv[1], atoi(argv[2]), 1);
    else if (strcmp(argv[0], "topicerr") == 0 && argc == 3) {
        if (parse_err(argv[2], &err) != 0)
            return "error: unknown error name";
        rd_kafka_mock_topic_set_error(mc, argv[1], err);
        err = RD_KAFKA_RESP_ERR_NO_ERROR;
    } else
        return "error: unknown command";
    return err ? rd_kafka_err2name(err) : "ok";
}

int main(int argc, char **argv)
{
    int brokers = argc > 1 ? atoi(argv[1]) : 3;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers > 0 ? brokers : 3);
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    char line[512];
    while (fgets(line, sizeof(line), stdin)) {
        const char *answer = command(mc, line);
        if (!answer)
            continue;
        printf(
            "%s%s\n",
            strcmp(answer, "ok") == 0 || strncmp(answer, "error", 5) == 0 ? "" : "error: ", answer);
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
