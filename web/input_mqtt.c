/* SPDX-License-Identifier: Apache-2.0 */
/* input_mqtt.c -- SKELETON: the mqtt subscriber is not written yet. */
#include "lib/log.h"
#include "web/ingest.h"

int hp_input_mqtt_run(struct hp_ingest *ing)
{
    (void)ing;
    hp_err("mqtt: input not implemented yet");
    return -1;
}
