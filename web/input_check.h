/* SPDX-License-Identifier: Apache-2.0 */
/* input_check.h -- the checks --check runs on an input's options that only
 * its client library can judge. Declared apart from ingest.h so that the
 * config (which calls them) and the ingest thread (which uses the config)
 * do not include each other. */
#ifndef HP_WEB_INPUT_CHECK_H
#define HP_WEB_INPUT_CHECK_H

#include "lib/opts.h"

struct hp_web_conf;

/* Every input.properties entry must be a librdkafka property with a valid
 * value (librdkafka's own message, at its FILE:LINE). */
void hp_input_kafka_check(const struct hp_web_conf *c, struct hp_errs *e);

#endif
