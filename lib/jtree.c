/* SPDX-License-Identifier: Apache-2.0 */
/* jtree.c -- a JSON text read into a flat node array (lib/jtree.h): a
 * recursive descent over the text, nodes appended to one array and every
 * string unescaped into one buffer, both kept between parses. */
#include "lib/jtree.h"

#include <stdbool.h>
#include <stdlib.h>

#define JT_MAX_DEPTH 32

struct jp {
    struct hp_jtree *t;
    const char *p, *end;
    bool err; /* set by the first failure; the parse then unwinds */
};

static void skip_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* A new node; its index (0: the root), or j->err on ENOMEM. */
static uint32_t new_node(struct jp *j, uint8_t type)
{
    struct hp_jtree *t = j->t;
    if (t->n >= UINT32_MAX || hp_grow(&t->v, &t->cap, t->n + 1, sizeof(*t->v)) != 0) {
        j->err = true;
        return 0;
    }
    t->v[t->n] = (struct hp_jnode){.type = type};
    return (uint32_t)t->n++;
}

static int put_utf8(struct hp_buf *b, uint32_t c)
{
    unsigned char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (unsigned char)c, n = 1;
    } else if (c < 0x800) {
        u[0] = (unsigned char)(0xC0 | c >> 6), u[1] = (unsigned char)(0x80 | (c & 0x3F)), n = 2;
    } else if (c < 0x10000) {
        u[0] = (unsigned char)(0xE0 | c >> 12), u[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (c & 0x3F)), n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | c >> 18), u[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
        u[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F)), u[3] = (unsigned char)(0x80 | (c & 0x3F));
        n = 4;
    }
    return hp_buf_put(b, u, n);
}

/* Four hex digits at p; -1 when they are not. */
static long hex4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* \uXXXX (p after the 'u'), with a following low surrogate; advances p. */
static int unicode_escape(struct jp *j, struct hp_buf *b)
{
    long c = hex4(j->p, j->end);
    if (c < 0)
        return -1;
    j->p += 4;
    if (c >= 0xD800 && c <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
        long lo = hex4(j->p + 2, j->end);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            j->p += 6;
            return put_utf8(b, 0x10000 + (uint32_t)((c - 0xD800) << 10 | (lo - 0xDC00)));
        }
    }
    if (c >= 0xD800 && c <= 0xDFFF)
        c = 0xFFFD; /* a lone surrogate */
    return put_utf8(b, (uint32_t)c);
}

/* The string at p (at its opening quote) unescaped into the string buffer;
 * its offset there, or -1. */
static long string(struct jp *j)
{
    struct hp_buf *b = &j->t->str;
    size_t off = b->len;
    j->p++; /* the quote */
    for (;;) {
        const char *s = j->p;
        while (j->p < j->end && *j->p != '"' && *j->p != '\\')
            j->p++;
        if (j->p >= j->end || hp_buf_put(b, s, (size_t)(j->p - s)) != 0)
            return -1;
        if (*j->p++ == '"')
            break;
        if (j->p >= j->end)
            return -1;
        char e = *j->p++, c;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            c = e;
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u':
            if (unicode_escape(j, b) != 0)
                return -1;
            continue;
        default:
            return -1;
        }
        if (hp_buf_put(b, &c, 1) != 0)
            return -1;
    }
    if (hp_buf_put(b, "", 1) != 0) /* keep the NUL */
        return -1;
    b->len++;
    return off <= UINT32_MAX ? (long)off : -1;
}

/* A number, true or false: its text as written. */
static long literal(struct jp *j, uint8_t *type)
{
    const char *s = j->p;
    while (j->p < j->end && (*j->p == '-' || *j->p == '+' || *j->p == '.' ||
                             (*j->p >= '0' && *j->p <= '9') || *j->p == 'e' || *j->p == 'E'))
        j->p++;
    if (j->p == s) {
        static const char *const words[] = {"true", "false", "null"};
        for (int i = 0; i < 3 && j->p == s; i++) {
            size_t n = strlen(words[i]);
            if ((size_t)(j->end - s) >= n && memcmp(s, words[i], n) == 0)
                j->p += n;
        }
        if (j->p == s)
            return -1;
        *type = *s == 'n' ? HP_J_NULL : HP_J_BOOL;
    } else {
        *type = HP_J_NUM;
        if (!(*s == '-' || (*s >= '0' && *s <= '9')))
            return -1;
    }
    struct hp_buf *b = &j->t->str;
    size_t off = b->len;
    if (hp_buf_put(b, s, (size_t)(j->p - s)) != 0 || hp_buf_put(b, "", 1) != 0)
        return -1;
    b->len++;
    return off <= UINT32_MAX ? (long)off : -1;
}

static uint32_t value(struct jp *j, int depth);

/* The members (object) or elements (array) of container node c, p after
 * its opening bracket. 0, or -1. */
static int members(struct jp *j, uint32_t c, bool obj, int depth)
{
    char close = obj ? '}' : ']';
    uint32_t last = 0;
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        long key = 0;
        skip_ws(j);
        if (obj) {
            if (j->p >= j->end || *j->p != '"' || (key = string(j)) < 0)
                return -1;
            skip_ws(j);
            if (j->p >= j->end || *j->p++ != ':')
                return -1;
        }
        uint32_t x = value(j, depth + 1);
        if (j->err)
            return -1;
        j->t->v[x].key = (uint32_t)key;
        if (last)
            j->t->v[last].next = x;
        else
            j->t->v[c].first = x;
        last = x;
        j->t->v[c].n++;
        skip_ws(j);
        if (j->p >= j->end)
            return -1;
        char s = *j->p++;
        if (s == close)
            return 0;
        if (s != ',')
            return -1;
    }
}

/* One value at p; its node index, or j->err. */
static uint32_t value(struct jp *j, int depth)
{
    skip_ws(j);
    if (j->p >= j->end || depth > JT_MAX_DEPTH) {
        j->err = true;
        return 0;
    }
    char c = *j->p;
    if (c == '{' || c == '[') {
        uint32_t x = new_node(j, c == '{' ? HP_J_OBJ : HP_J_ARR);
        j->p++;
        if (!j->err && members(j, x, c == '{', depth) != 0)
            j->err = true;
        return x;
    }
    uint8_t type = HP_J_STR;
    uint32_t x = new_node(j, HP_J_NULL);
    long off = j->err ? -1 : c == '"' ? string(j) : literal(j, &type);
    if (off < 0) {
        j->err = true;
        return 0;
    }
    j->t->v[x].type = type;
    j->t->v[x].val = (uint32_t)off;
    return x;
}

int hp_jtree_parse(struct hp_jtree *t, const char *text, size_t len)
{
    t->n = 0;
    t->str.len = 0;
    struct jp j = {.t = t, .p = text, .end = text + len};
    if (hp_buf_put(&t->str, "", 1) != 0) /* offset 0: the empty key of the root */
        return -1;
    t->str.len++;
    value(&j, 1);
    skip_ws(&j);
    return !j.err && j.p == j.end ? 0 : -1;
}

const struct hp_jnode *hp_jtree_get(const struct hp_jtree *t, const struct hp_jnode *obj,
                                    const char *key)
{
    const struct hp_jnode *found = NULL;
    if (!obj || obj->type != HP_J_OBJ)
        return NULL;
    for (const struct hp_jnode *x = hp_jtree_at(t, obj->first); x; x = hp_jtree_at(t, x->next))
        if (strcmp(hp_jtree_key(t, x), key) == 0)
            found = x;
    return found;
}

void hp_jtree_free(struct hp_jtree *t)
{
    free(t->v);
    hp_buf_free(&t->str);
    t->v = NULL;
    t->n = t->cap = 0;
}
