/* SPDX-License-Identifier: Apache-2.0 */
/* ingest.c -- SKELETON of web/ingest.h: no input runs yet. */
#include "web/ingest.h"

#include <stdio.h>
#include <stdlib.h>

struct hp_ingest {
    const struct hp_web_conf *conf;
};

struct hp_ingest *hp_ingest_start(const struct hp_web_conf *conf, char *err, size_t len)
{
    struct hp_ingest *ing = calloc(1, sizeof(*ing));
    if (!ing) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    ing->conf = conf;
    return ing;
}

void hp_ingest_stop(struct hp_ingest *ing)
{
    free(ing);
}
