/* SPDX-License-Identifier: Apache-2.0 */
/* json_read.c -- the project's JSON reader (see json_read.h): yajl's
 * event parser reads the text, and its callbacks build the nodes in a
 * reused node array and string arena.
 *
 * yajl allocates nothing per value and checks all of JSON (strings,
 * escapes, UTF-8, numbers); this file only keeps the tree. The arena is
 * sized before the parse to hold every string and number of the text,
 * NUL-terminated (a decoded string is never longer than its quoted,
 * escaped form; a number is followed by a separator, a bracket, white
 * space or the end, whose byte its NUL takes), so pointers into
 * it stay valid while the node array grows; nodes refer to each other by
 * index for the same reason. */
#include "lib/json_read.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/* One parse in progress: the callbacks' context. */
struct reader {
    struct hp_json *j;
    yajl_handle h;
    uint32_t open[HP_JSON_DEPTH]; /* the open objects and arrays, outermost first */
    uint32_t last[HP_JSON_DEPTH]; /* the last member or element of each so far */
    int depth;                    /* how many are open */
    const char *key;              /* the member name waiting for its value */
    uint32_t klen;
    size_t at;      /* offset just past the last token a callback saw */
    bool finishing; /* in yajl_complete_parse: offsets are not ours */
    int rc;         /* what a callback that stopped the parse returns */
};

/* The offset just past the token of the callback in progress. */
static size_t token_end(const struct reader *r)
{
    return r->finishing ? r->j->len : yajl_get_bytes_consumed(r->h);
}

/* Where the token after offset at begins: past white space, at most one
 * ',' or ':' and white space again. */
static size_t token_start(const struct hp_json *j, size_t at)
{
    for (int sep = 0; at < j->len; at++) {
        char c = j->text[at];
        if ((c == ',' || c == ':') && !sep++)
            continue;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
    }
    return at;
}

/* Stop the parse at the token of the callback in progress: 0, for yajl. */
static int stop(struct reader *r, int rc, const char *why)
{
    r->rc = rc;
    r->j->err = why;
    r->j->pos = token_start(r->j, r->at);
    return 0;
}

/* A new node of type t in the slot of the value being read (the root, or
 * the next member or element of the innermost open container): its index
 * in *out. 1, or 0 (stopped) when nested too deep or out of memory. */
static int add(struct reader *r, enum hp_jtype t, uint32_t *out)
{
    struct hp_json *j = r->j;
    if (r->depth == HP_JSON_DEPTH)
        return stop(r, -1, "nesting too deep");
    if (j->count == j->cap) {
        uint32_t cap = j->cap ? j->cap * 2 : 256;
        struct hp_jnode *n = cap > j->cap ? realloc(j->n, cap * sizeof(*n)) : NULL;
        if (!n)
            return stop(r, -2, "out of memory");
        j->n = n;
        j->cap = cap;
    }
    uint32_t i = j->count++;
    j->n[i] = (struct hp_jnode){.type = t, .key = r->key, .klen = r->klen};
    r->key = NULL;
    r->klen = 0;
    if (r->depth) {
        int d = r->depth - 1;
        *(r->last[d] ? &j->n[r->last[d]].next : &j->n[r->open[d]].child) = i;
        r->last[d] = i;
        j->n[r->open[d]].count++;
    }
    r->at = token_end(r);
    *out = i;
    return 1;
}

/* len bytes at s into the arena, NUL-terminated: where, or NULL (stopped)
 * when they do not fit, which the arena's size rules out. */
static const char *keep(struct reader *r, const unsigned char *s, size_t len)
{
    struct hp_json *j = r->j;
    if (len >= j->acap - j->aused) {
        stop(r, -1, "a string longer than the text");
        return NULL;
    }
    char *o = j->arena + j->aused;
    memcpy(o, s, len);
    o[len] = '\0';
    j->aused += len + 1;
    return o;
}

static int on_null(void *ctx)
{
    uint32_t i;
    return add(ctx, HP_JNULL, &i);
}

static int on_boolean(void *ctx, int b)
{
    struct reader *r = ctx;
    uint32_t i;
    if (!add(r, HP_JBOOL, &i))
        return 0;
    r->j->n[i].num = b ? 1 : 0;
    r->j->n[i].str = b ? "true" : "false";
    r->j->n[i].slen = b ? 4 : 5;
    return 1;
}

/* An int64 from s[0..len) when it is -?[0-9]+ and fits (yajl has checked
 * the form): exact, and faster than strtoll, which would need a copy. */
static bool integer(const char *s, size_t len, int64_t *out)
{
    bool neg = len && s[0] == '-';
    uint64_t v = 0;
    size_t i = neg;
    for (; i < len && s[i] >= '0' && s[i] <= '9' && v <= (UINT64_MAX - 9) / 10; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (i != len || v > (uint64_t)INT64_MAX + neg)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* A number as yajl found it: an int64 when it has no fraction or exponent
 * and fits, else a double; its text kept as written (NUL-terminated, for
 * strtod and for readers that print it). */
static int on_number(void *ctx, const char *s, size_t len)
{
    struct reader *r = ctx;
    uint32_t i;
    int64_t v;
    bool is_int = integer(s, len, &v);
    const char *t = keep(r, (const unsigned char *)s, len);
    if (!t || !add(r, is_int ? HP_JINT : HP_JDOUBLE, &i))
        return 0;
    struct hp_jnode *n = &r->j->n[i];
    n->str = t;
    n->slen = (uint32_t)len;
    if (is_int) {
        n->i = v;
        n->num = (double)v;
    } else {
        n->num = r->j->text_numbers ? 0 : strtod(t, NULL);
    }
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct reader *r = ctx;
    const char *t = keep(r, s, len);
    uint32_t i;
    if (!t || !add(r, HP_JSTRING, &i))
        return 0;
    r->j->n[i].str = t;
    r->j->n[i].slen = (uint32_t)len;
    return 1;
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
    struct reader *r = ctx;
    if (!(r->key = keep(r, s, len)))
        return 0;
    r->klen = (uint32_t)len;
    r->at = token_end(r);
    return 1;
}

/* An object or array opens: its text begins at its bracket, the byte
 * before the offset yajl has reached (brackets are never read while
 * finishing, so that offset is in the text). */
static int open_container(struct reader *r, enum hp_jtype t)
{
    uint32_t i;
    if (!add(r, t, &i))
        return 0;
    r->j->n[i].str = r->j->text + r->at - 1;
    r->open[r->depth] = i;
    r->last[r->depth++] = 0;
    return 1;
}

static int close_container(struct reader *r)
{
    struct hp_jnode *n = &r->j->n[r->open[--r->depth]];
    r->at = token_end(r);
    n->slen = (uint32_t)(r->j->text + r->at - n->str);
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, HP_JOBJECT);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, HP_JARRAY);
}

static int on_end(void *ctx)
{
    return close_container(ctx);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number, /* raw text: integers beyond int64 stay numbers */
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* yajl refused the text: its reason into j->why, and where. A bad byte
 * inside a string is where yajl stopped; a text that ends too soon fails
 * at its end; anything else at the start of the token yajl refused. */
static int refused(struct reader *r)
{
    struct hp_json *j = r->j;
    unsigned char *e = yajl_get_error(r->h, 0, NULL, 0);
    const char *msg = e ? (const char *)e : "invalid JSON";
    size_t n = strcspn(msg, "\n");
    n = n && msg[n - 1] == '.' ? n - 1 : n;
    n = n < sizeof(j->why) ? n : sizeof(j->why) - 1;
    memcpy(j->why, msg, n);
    j->why[n] = '\0';
    j->err = j->why;
    j->pos = token_start(j, r->at);
    if (strstr(j->why, "premature EOF"))
        j->pos = j->len;
    else if (!r->finishing && strncmp(j->why, "lexical", 7) == 0 && j->pos < j->len &&
             j->text[j->pos] == '"')
        j->pos = yajl_get_bytes_consumed(r->h);
    if (e)
        yajl_free_error(r->h, e);
    return -1;
}

/* Start a parse: forget the last tree, give back what a huge text grew,
 * size the arena for this one. 0, or -2 when out of memory. */
static int reset(struct hp_json *j, const char *text, size_t len)
{
    j->count = 0;
    j->aused = 0;
    j->err = NULL;
    j->text = text;
    j->len = len;
    j->pos = 0;
    if (j->cap > HP_JSON_KEEP_NODES) {
        free(j->n);
        j->n = NULL;
        j->cap = 0;
    }
    if (j->acap > HP_JSON_KEEP_ARENA && len < HP_JSON_KEEP_ARENA) {
        free(j->arena);
        j->arena = NULL;
        j->acap = 0;
    }
    if (j->acap < len + 1) {
        char *a = realloc(j->arena, len + 1);
        if (!a)
            return -2;
        j->arena = a;
        j->acap = len + 1;
    }
    return 0;
}

int hp_json_parse(struct hp_json *j, const char *text, size_t len)
{
    if (len >= UINT32_MAX) {
        reset(j, text, 0);
        j->err = "a text too long";
        return -1;
    }
    if (reset(j, text, len) != 0)
        return -2;
    struct reader r = {.j = j};
    if (!(r.h = yajl_alloc(&callbacks, NULL, &r)))
        return -2;
    if (j->any_bytes)
        yajl_config(r.h, yajl_dont_validate_strings, 1);
    yajl_status st = yajl_parse(r.h, (const unsigned char *)text, len);
    if (st == yajl_status_ok) {
        r.finishing = true;
        st = yajl_complete_parse(r.h);
    }
    int rc = st == yajl_status_ok ? 0 : st == yajl_status_client_canceled ? r.rc : refused(&r);
    yajl_free(r.h);
    if (rc != 0)
        j->count = 0;
    return rc;
}

void hp_json_free(struct hp_json *j)
{
    free(j->n);
    free(j->arena);
    *j = (struct hp_json){.any_bytes = j->any_bytes, .text_numbers = j->text_numbers};
}

const struct hp_jnode *hp_json_getn(const struct hp_json *j, const struct hp_jnode *obj,
                                    const char *key, size_t klen)
{
    const struct hp_jnode *found = NULL;
    if (!obj || obj->type != HP_JOBJECT)
        return NULL;
    for (const struct hp_jnode *c = hp_json_child(j, obj); c; c = hp_json_next(j, c))
        if (c->klen == klen && memcmp(c->key, key, klen) == 0)
            found = c;
    return found;
}

const struct hp_jnode *hp_json_get(const struct hp_json *j, const struct hp_jnode *obj,
                                   const char *key)
{
    return hp_json_getn(j, obj, key, strlen(key));
}
