/* registry.c -- every sink type. Adding one: a new file in transport/ and
 * one line here. */
#include "transport/sink.h"

#include <string.h>

extern const struct hp_sink_ops hp_sink_stdout;
extern const struct hp_sink_ops hp_sink_csv;
extern const struct hp_sink_ops hp_sink_es;
extern const struct hp_sink_ops hp_sink_es_file;
extern const struct hp_sink_ops hp_sink_mysql;
extern const struct hp_sink_ops hp_sink_amqp;
extern const struct hp_sink_ops hp_sink_kafka;

const struct hp_sink_ops *const hp_sink_types[] = {
    &hp_sink_stdout, &hp_sink_csv,  &hp_sink_es,    &hp_sink_es_file,
    &hp_sink_mysql,  &hp_sink_amqp, &hp_sink_kafka, NULL,
};

const struct hp_sink_ops *hp_sink_find(const char *type)
{
    for (const struct hp_sink_ops *const *t = hp_sink_types; type && *t; t++)
        if (strcmp((*t)->type, type) == 0)
            return *t;
    return NULL;
}
