/* SPDX-License-Identifier: Apache-2.0 */
/* json.c -- the ingest path's JSON reader (see json.h): recursive descent
 * into a reused node array and string arena.
 *
 * The arena is sized before the parse to hold every string of the text
 * (a decoded string is never longer than its quoted, escaped form), so
 * pointers into it stay valid while the node array grows; nodes refer to
 * each other by index for the same reason. */
#include "web/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(struct hp_json *j, const char *why)
{
    j->err = why;
    return -1;
}

/* A new node of type t: its index, or 0 when out of memory (index 0 is
 * only ever the root, made first). */
static uint32_t node(struct hp_json *j, enum hp_jtype t)
{
    if (j->count == j->cap) {
        uint32_t cap = j->cap ? j->cap * 2 : 256;
        struct hp_jnode *n = cap > j->cap ? realloc(j->n, cap * sizeof(*n)) : NULL;
        if (!n)
            return 0;
        j->n = n;
        j->cap = cap;
    }
    j->n[j->count] = (struct hp_jnode){.type = t};
    return j->count++;
}

static void skip_ws(struct hp_json *j)
{
    while (j->pos < j->len) {
        char c = j->text[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        j->pos++;
    }
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* \uXXXX at p (after the backslash and u), with a following low surrogate
 * when it is a high one: the code point and the bytes read after "\u". */
static int unicode_escape(struct hp_json *j, const char *p, const char *end, unsigned *cp,
                          size_t *used)
{
    unsigned hi, lo;
    if (end - p < 4 || hex4(p, &hi) != 0)
        return fail(j, "a bad \\u escape");
    *cp = hi;
    *used = 4;
    if (hi >= 0xD800 && hi < 0xDC00 && end - p >= 10 && p[4] == '\\' && p[5] == 'u' &&
        hex4(p + 6, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
        *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        *used = 10;
    }
    return 0;
}

/* The string whose opening quote is at j->pos, decoded into the arena. */
static int string(struct hp_json *j, const char **out, uint32_t *olen)
{
    const char *p = j->text + j->pos + 1, *end = j->text + j->len;
    char *o = j->arena + j->aused, *start = o;
    for (;;) {
        const char *q = p;
        while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        p = q;
        if (p == end) {
            j->pos = j->len;
            return fail(j, "an unterminated string");
        }
        if (*p == '"')
            break;
        if (*p != '\\') {
            j->pos = (size_t)(p - j->text);
            return fail(j, "a control character in a string");
        }
        if (++p == end)
            continue; /* unterminated: reported above */
        static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
        const char *e = *p ? strchr(esc_in, *p) : NULL;
        if (e) {
            *o++ = esc_out[e - esc_in];
            p++;
        } else if (*p == 'u') {
            unsigned cp;
            size_t used;
            if (unicode_escape(j, p + 1, end, &cp, &used) != 0) {
                j->pos = (size_t)(p - j->text);
                return -1;
            }
            o = put_utf8(o, cp);
            p += 1 + used;
        } else {
            j->pos = (size_t)(p - j->text);
            return fail(j, "a bad escape in a string");
        }
    }
    *o = '\0';
    *out = start;
    *olen = (uint32_t)(o - start);
    j->aused += (size_t)(o - start) + 1;
    j->pos = (size_t)(p + 1 - j->text);
    return 0;
}

/* NaN, Infinity, -Infinity (any case), as json-c reads them. */
static int special_double(struct hp_json *j, struct hp_jnode *n)
{
    const char *p = j->text + j->pos;
    size_t left = j->len - j->pos, neg = left && *p == '-';
    if (left >= 3 && !neg && strncasecmp(p, "nan", 3) == 0) {
        n->num = NAN;
        j->pos += 3;
    } else if (left >= neg + 8 && strncasecmp(p + neg, "infinity", 8) == 0) {
        n->num = neg ? -INFINITY : INFINITY;
        j->pos += neg + 8;
    } else {
        return fail(j, "an unexpected character");
    }
    n->type = HP_JDOUBLE;
    return 0;
}

static size_t digits(const struct hp_json *j, size_t at)
{
    size_t k = at;
    while (k < j->len && j->text[k] >= '0' && j->text[k] <= '9')
        k++;
    return k - at;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(struct hp_json *j, struct hp_jnode *n)
{
    size_t at = j->pos, k = at + (j->text[at] == '-');
    size_t d = digits(j, k);
    if (d == 0)
        return special_double(j, n);
    if (j->text[k] == '0') /* "01" is 0 and then a 1 that does not belong */
        d = 1;
    bool integer = true;
    k += d;
    if (k < j->len && j->text[k] == '.') {
        if (!(d = digits(j, k + 1)))
            return j->pos = k, fail(j, "a bad number");
        k += 1 + d, integer = false;
    }
    if (k < j->len && (j->text[k] == 'e' || j->text[k] == 'E')) {
        size_t s = k + 1 + (k + 1 < j->len && (j->text[k + 1] == '+' || j->text[k + 1] == '-'));
        if (!(d = digits(j, s)))
            return j->pos = k, fail(j, "a bad number");
        k = s + d, integer = false;
    }
    j->pos = k;
    if (integer) { /* exact, and faster than strtoll */
        bool neg = j->text[at] == '-';
        uint64_t v = 0;
        size_t i = at + neg;
        for (; i < k && v <= (UINT64_MAX - 9) / 10; i++)
            v = v * 10 + (uint64_t)(j->text[i] - '0');
        if (i == k && v <= (uint64_t)INT64_MAX + neg) {
            n->type = HP_JINT;
            n->i = neg ? (int64_t)(0 - v) : (int64_t)v;
            n->num = (double)n->i;
            return 0;
        }
    }
    char buf[128];
    if (k - at >= sizeof(buf))
        return fail(j, "a number too long");
    memcpy(buf, j->text + at, k - at);
    buf[k - at] = '\0';
    n->type = HP_JDOUBLE;
    n->num = strtod(buf, NULL);
    return 0;
}

/* true, false, null: any case, as json-c reads them. */
static int literal(struct hp_json *j, struct hp_jnode *n)
{
    static const struct {
        const char *word;
        enum hp_jtype type;
        double num;
    } lit[] = {{"true", HP_JBOOL, 1}, {"false", HP_JBOOL, 0}, {"null", HP_JNULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t wl = strlen(lit[i].word);
        if (j->len - j->pos >= wl && strncasecmp(j->text + j->pos, lit[i].word, wl) == 0) {
            n->type = lit[i].type;
            n->num = lit[i].num;
            j->pos += wl;
            return 0;
        }
    }
    return special_double(j, n);
}

static int value(struct hp_json *j, uint32_t at, int depth);

/* The members or elements of the object or array at node at, whose
 * opening bracket is at j->pos. */
static int container(struct hp_json *j, uint32_t at, int depth, bool object)
{
    char close = object ? '}' : ']';
    uint32_t last = 0;
    j->pos++;
    skip_ws(j);
    if (j->pos < j->len && j->text[j->pos] == close)
        return j->pos++, 0;
    for (;;) {
        const char *key = NULL;
        uint32_t klen = 0;
        if (object) {
            if (j->pos >= j->len || j->text[j->pos] != '"')
                return fail(j, "an object member without a quoted name");
            if (string(j, &key, &klen) != 0)
                return -1;
            skip_ws(j);
            if (j->pos >= j->len || j->text[j->pos] != ':')
                return fail(j, "a member name without ':'");
            j->pos++;
        }
        uint32_t c = node(j, HP_JNULL);
        if (!c)
            return -2;
        j->n[c].key = key;
        j->n[c].klen = klen;
        int rc = value(j, c, depth + 1);
        if (rc != 0)
            return rc;
        *(last ? &j->n[last].next : &j->n[at].child) = c;
        last = c;
        j->n[at].count++;
        skip_ws(j);
        if (j->pos < j->len && j->text[j->pos] == ',') {
            j->pos++;
            skip_ws(j);
            continue;
        }
        if (j->pos < j->len && j->text[j->pos] == close)
            return j->pos++, 0;
        return fail(j, object ? "an object without ',' or '}'" : "an array without ',' or ']'");
    }
}

/* The value at j->pos (after white space) into node at. */
static int value(struct hp_json *j, uint32_t at, int depth)
{
    skip_ws(j);
    if (j->pos >= j->len)
        return fail(j, "an unexpected end");
    if (depth > HP_JSON_DEPTH)
        return fail(j, "nesting too deep");
    char c = j->text[j->pos];
    size_t start = j->pos;
    int rc;
    if (c == '{' || c == '[') {
        j->n[at].type = c == '{' ? HP_JOBJECT : HP_JARRAY;
        if ((rc = container(j, at, depth, c == '{')) != 0)
            return rc;
        j->n[at].str = j->text + start;
        j->n[at].slen = (uint32_t)(j->pos - start);
        return 0;
    }
    if (c == '"') {
        j->n[at].type = HP_JSTRING;
        return string(j, &j->n[at].str, &j->n[at].slen);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return number(j, &j->n[at]);
    return literal(j, &j->n[at]);
}

int hp_json_parse(struct hp_json *j, const char *text, size_t len)
{
    j->count = 0;
    j->aused = 0;
    j->err = NULL;
    j->text = text;
    j->len = len;
    j->pos = 0;
    if (len >= UINT32_MAX)
        return fail(j, "a text too long");
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
    node(j, HP_JNULL); /* the root, index 0: check that it was made */
    if (j->count != 1)
        return -2;
    int rc = value(j, 0, 1);
    if (rc != 0)
        return rc;
    skip_ws(j);
    return j->pos == len ? 0 : fail(j, "trailing data");
}

void hp_json_free(struct hp_json *j)
{
    free(j->n);
    free(j->arena);
    *j = (struct hp_json){0};
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
