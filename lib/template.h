/* SPDX-License-Identifier: Apache-2.0 */
/* template.h -- the one expander of name templates: AMQP routing keys and
 * binding keys, Kafka topics, Elasticsearch index names, es-file paths and
 * the CSV directory all go through it, so every sink reads the same
 * placeholders the same way:
 *
 *   {host}      the message's host          {session}  the message's session
 *   {reporter}  the message's reporter      %Y %m %d %H ...  strftime(3) on
 *   {sink}      the sink's name (where a                the message time (UTC),
 *               name is per sink, such as               where the owner allows
 *               an MQTT client id)                      time conversions
 *
 * A template is compiled once at init against the placeholders its owner
 * allows: an unknown or disallowed {name} is a config error (the owner
 * reports it as FILE:LINE with the reason given here), never a silent
 * literal. Expansion cannot meet an unknown placeholder. */
#ifndef HP_TEMPLATE_H
#define HP_TEMPLATE_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/opts.h"

enum hp_tmpl_part {
    HP_TMPL_HOST = 1u << 0,
    HP_TMPL_REPORTER = 1u << 1,
    HP_TMPL_SESSION = 1u << 2,
    HP_TMPL_TIME = 1u << 3, /* strftime conversions (only digits: see hp_tmpl_compile) */
    HP_TMPL_SINK = 1u << 4,
};

struct hp_tmpl {
    const char *text; /* borrowed: valid while the template is used */
    unsigned uses;    /* the HP_TMPL_* parts text contains */
    unsigned allowed; /* those its owner accepts; others are literal (%) or errors ({}) */
};

/* What a template is expanded with. Strings may be NULL (read as ""). */
struct hp_tmpl_vars {
    const char *host, *reporter, *session;
    int64_t ts_ms;    /* epoch ms, for HP_TMPL_TIME */
    const char *sink; /* for HP_TMPL_SINK */
};

/* Check text against the allowed parts and fill t. Returns 0, or -1 with
 * a reason in why ("unknown placeholder {hots}; use {host}, {reporter}").
 * With HP_TMPL_TIME allowed, only the strftime conversions that give
 * digits (and %%) are accepted. */
int hp_tmpl_compile(struct hp_tmpl *t, const char *text, unsigned allowed, char *why,
                    size_t whylen);

/* hp_tmpl_compile for the template option `key` of sink `sink` in its
 * config group cfg (key may be a path, "queue.binding"): on failure a
 * FILE:LINE error at that setting (or at cfg when it is absent) naming the
 * sink, the key, the text and the reason. Returns 0 or -1. */
int hp_tmpl_compile_opt(struct hp_tmpl *t, const char *text, unsigned allowed,
                        const config_setting_t *cfg, const char *key, const char *sink,
                        struct hp_errs *errs);

/* Expand t into out[0..len). Returns the length written, or -1 when the
 * result does not fit (or is empty after a time conversion). */
int hp_tmpl_expand(const struct hp_tmpl *t, const struct hp_tmpl_vars *v, char *out, size_t len);

#endif
