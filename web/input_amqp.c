/* SPDX-License-Identifier: Apache-2.0 */
/* input_amqp.c -- SKELETON: the amqp subscriber is not written yet. */
#include "lib/log.h"
#include "web/ingest.h"

int hp_input_amqp_run(struct hp_ingest *ing)
{
    (void)ing;
    hp_err("amqp: input not implemented yet");
    return -1;
}
