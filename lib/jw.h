/* SPDX-License-Identifier: Apache-2.0 */
/* jw.h -- a JSON writer: a reporter writes its data's members, in order,
 * straight into text. Building a json-c tree per sample, serializing it and
 * freeing it cost a reporter more than reading /proc did; the writer makes
 * the same bytes with no allocation once its buffer has grown.
 *
 * The text is what json-c writes (JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE) for the tree the hp_json_add_* helpers
 * (lib/msg.h) would have built with the same calls in the same order:
 * strings escaped as json-c escapes them, numbers as those helpers print
 * them. Unlike a json-c object, the writer does not replace a key written
 * twice: a caller writes each key once.
 *
 * Errors are sticky: out of memory, or containers nested deeper than
 * HP_JW_DEPTH, marks the writer failed and later calls do nothing;
 * hp_jw_finish reports it. The caller owns the buffer; the writer only
 * appends to it. */
#ifndef HP_JW_H
#define HP_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define HP_JW_DEPTH 32

struct hp_jw {
    struct hp_buf *b;
    unsigned depth;   /* containers open, the outer object included */
    uint32_t members; /* bit d-1: the container at depth d has a member */
    uint32_t arrays;  /* bit d-1: the container at depth d is an array */
    bool failed;
};

/* A point to go back to (hp_jw_undo): an optional part whose members turn
 * out to be missing, or one that could not be completed. */
struct hp_jw_mark {
    size_t len;
    unsigned depth;
    uint32_t members, arrays;
};

/* Empty b (keeping its memory) and open the outer object. */
void hp_jw_start(struct hp_jw *w, struct hp_buf *b);
/* The same with an array outside: a part written apart, then copied in
 * with hp_jw_raw. */
void hp_jw_start_array(struct hp_jw *w, struct hp_buf *b);
/* Close the outer container: 0, or -1 when the writer failed or a container
 * is still open (the text is then not to be used). */
int hp_jw_finish(struct hp_jw *w);
/* Mark the text not to be used (a reporter that could not gather a part:
 * no message rather than one that lacks it). */
void hp_jw_fail(struct hp_jw *w);
/* True while the container being written has no member yet. */
bool hp_jw_empty(const struct hp_jw *w);

/* A member (key) of the open object, or an element (key NULL) of the open
 * array. */
void hp_jw_int(struct hp_jw *w, const char *key, int64_t v);
void hp_jw_uint(struct hp_jw *w, const char *key, uint64_t v);
/* v rounded to `decimals` places (hp_fmt_fixed); left out when not finite,
 * as hp_json_add_double leaves it out. */
void hp_jw_double(struct hp_jw *w, const char *key, double v, int decimals);
/* NULL is written as "". */
void hp_jw_string(struct hp_jw *w, const char *key, const char *v);
void hp_jw_string_len(struct hp_jw *w, const char *key, const char *v, size_t n);
void hp_jw_bool(struct hp_jw *w, const char *key, bool v);
/* A value already written as JSON text (a part made by another writer). */
void hp_jw_raw(struct hp_jw *w, const char *key, const char *json, size_t n);
/* Open an object or an array as the next member or element; hp_jw_end
 * closes the innermost open one. */
void hp_jw_object(struct hp_jw *w, const char *key);
void hp_jw_array(struct hp_jw *w, const char *key);
void hp_jw_end(struct hp_jw *w);

struct hp_jw_mark hp_jw_mark(const struct hp_jw *w);
/* Drop everything written since m, containers opened since included (m
 * from this writer, taken while the writer had not failed). */
void hp_jw_undo(struct hp_jw *w, struct hp_jw_mark m);

#endif
