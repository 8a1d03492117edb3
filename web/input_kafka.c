/* SPDX-License-Identifier: Apache-2.0 */
/* input_kafka.c -- SKELETON: the kafka subscriber is not written yet. */
#include "lib/log.h"
#include "web/ingest.h"

int hp_input_kafka_run(struct hp_ingest *ing)
{
    (void)ing;
    hp_err("kafka: input not implemented yet");
    return -1;
}
