/* SPDX-License-Identifier: Apache-2.0 */
/* json_read.h -- the project's one JSON reader, for code that reads a
 * message and walks it (hostpulse-web's ingest, the agent's CSV sink): one
 * text in, a read-only tree of nodes out, in two reused buffers.
 *
 * Why not json-c's tokener: it allocates a node, and a hash table per
 * object, for every value, and frees them all again after each message;
 * that was about a quarter of hostpulse-web's ingest time and three
 * quarters of the CSV sink's. This reader keeps one array of nodes and
 * one string arena per struct hp_json and reuses them for every message,
 * so that a parse allocates nothing per value once they have grown to the
 * largest message. Debian's yajl reads the text (its event parser
 * allocates nothing per value either, only a handle per parse);
 * json_read.c builds the nodes from its callbacks.
 *
 * It reads RFC 8259 JSON, as yajl does: true, false and null lower case,
 * NaN and Infinity refused (json-c took them all; the agent never sends
 * them: lib/msg.c leaves a non-finite double out), and strings in UTF-8
 * (yajl checks lead and continuation bytes; overlong forms pass) unless
 * any_bytes is set: then a string's bytes pass as they are, as json-c's
 * reader and writer let them (the CSV sink writes what the message had).
 * A \uD800-\uDBFF escape not followed by another \u escape reads as "?"
 * (yajl pairs it with whatever \u escape follows; json-c gives U+FFFD,
 * but writes no \u escape above \u001f itself). Nesting deeper than 32
 * levels (a value inside 32 objects or arrays) is an error, as in json-c.
 * An object keeps its members in order, duplicates included; hp_json_get
 * answers the last one, as json-c keeps the last. One thread at a time per
 * struct hp_json. */
#ifndef HP_JSON_READ_H
#define HP_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_JSON_DEPTH 32
/* What a struct hp_json keeps between parses at most: a message far larger
 * than the agent's (a few KiB) gives its memory back at the next parse. */
#define HP_JSON_KEEP_NODES 16384     /* 1 MiB of nodes */
#define HP_JSON_KEEP_ARENA (1 << 20) /* bytes */

enum hp_jtype { HP_JNULL, HP_JBOOL, HP_JINT, HP_JDOUBLE, HP_JSTRING, HP_JARRAY, HP_JOBJECT };

/* Node 0 is the root. Links are node indices: 0 means none (the root is
 * nobody's child or sibling). Strings live in the arena, NUL-terminated,
 * and may hold NULs of their own (\u0000): slen is their length. */
struct hp_jnode {
    enum hp_jtype type;
    uint32_t child; /* first member or element (object, array) */
    uint32_t next;  /* next member or element of the parent */
    uint32_t count; /* members or elements (object, array) */
    uint32_t klen;
    uint32_t slen;
    const char *key; /* member name when the parent is an object, else NULL */
    /* string: its value; number: its text as written (in the arena,
     * NUL-terminated); bool: "true" or "false"; null: NULL; object,
     * array: its text in the input (not NUL-terminated), for storing it
     * as it came. slen is its length. */
    const char *str;
    double num; /* int, double; bool as 0 or 1 */
    int64_t i;  /* int; an integer beyond int64 is a double */
};

struct hp_json {
    bool any_bytes; /* a setting: take strings that are not UTF-8 */
    /* A setting: leave num 0 for a number that is not an integer, for a
     * reader that copies numbers as written (str) and never computes with
     * them: no strtod per value (the CSV sink). */
    bool text_numbers;
    struct hp_jnode *n;
    uint32_t count, cap;
    char *arena;
    size_t acap, aused;
    /* the parse in progress, and where and why it failed */
    const char *text;
    size_t len, pos;
    const char *err; /* a constant, or why[] (yajl's words) */
    char why[80];
};

/* Parse text[0..len) (not NUL-terminated) as exactly one JSON value with
 * optional white space around it. 0, or -1 with j->err and j->pos saying
 * why and where (the byte offset of the token refused; of the bad byte,
 * or just past it, inside a string; the end when the text ends too soon);
 * -2 when out of memory. After an error there is no root. The tree stays
 * valid until the next parse or hp_json_free. */
int hp_json_parse(struct hp_json *j, const char *text, size_t len);
void hp_json_free(struct hp_json *j);

static inline const struct hp_jnode *hp_json_root(const struct hp_json *j)
{
    return j->count ? &j->n[0] : NULL;
}

/* First child of n, and the sibling after c: NULL at the end. */
static inline const struct hp_jnode *hp_json_child(const struct hp_json *j,
                                                   const struct hp_jnode *n)
{
    return n->child ? &j->n[n->child] : NULL;
}

static inline const struct hp_jnode *hp_json_next(const struct hp_json *j, const struct hp_jnode *c)
{
    return c->next ? &j->n[c->next] : NULL;
}

/* The last member of object obj named key (klen bytes), or NULL (also
 * when obj is not an object). */
const struct hp_jnode *hp_json_getn(const struct hp_json *j, const struct hp_jnode *obj,
                                    const char *key, size_t klen);
const struct hp_jnode *hp_json_get(const struct hp_json *j, const struct hp_jnode *obj,
                                   const char *key);

static inline bool hp_json_is_number(const struct hp_jnode *n)
{
    return n->type == HP_JINT || n->type == HP_JDOUBLE;
}

/* A scalar's text as json-c prints the value it read: a string's value
 * (unescaped), a number as written, "true" or "false"; NULL for null (and
 * for an object or array, whose str is not NUL-terminated). */
static inline const char *hp_json_text(const struct hp_jnode *n)
{
    return n->type == HP_JARRAY || n->type == HP_JOBJECT ? NULL : n->str;
}

#endif
