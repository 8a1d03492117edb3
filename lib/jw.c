/* SPDX-License-Identifier: Apache-2.0 */
/* jw.c -- the JSON writer (jw.h): members appended to a caller's buffer,
 * escaped and printed as json-c prints them. */
#include "lib/jw.h"

#include "lib/msg.h"

#include <math.h>
#include <string.h>

/* Append n bytes: most pieces are a few bytes and fit what the buffer
 * already has, so that case is a copy here rather than a call. */
static void put(struct hp_jw *w, const char *s, size_t n)
{
    struct hp_buf *b = w->b;
    if (w->failed)
        return;
    if (b->len + n < b->cap) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
    } else if (hp_buf_put(b, s, n) != 0) {
        w->failed = true;
    }
}

/* s escaped as json-c's json_escape_str escapes it with
 * JSON_C_TO_STRING_NOSLASHESCAPE: the five short escapes, '"' and '\\',
 * other bytes below 0x20 as \u00xx; the rest as it is. Runs that need no
 * escape are copied at once. */
static void put_escaped(struct hp_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s + run, i - run);
        run = i + 1;
        char e[6] = {'\\', 0};
        size_t en = 2;
        switch (c) {
        case '\b':
            e[1] = 'b';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\f':
            e[1] = 'f';
            break;
        case '"':
            e[1] = '"';
            break;
        case '\\':
            e[1] = '\\';
            break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 0xf];
            en = 6;
        }
        put(w, e, en);
    }
    put(w, s + run, n - run);
}

static void put_quoted(struct hp_jw *w, const char *s, size_t n)
{
    put(w, "\"", 1);
    put_escaped(w, s, n);
    put(w, "\"", 1);
}

/* True if s has a byte that a JSON string escapes. */
static bool needs_escape(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\')
            return true;
    }
    return false;
}

/* The separator and key before a member (key NULL: an array element). A
 * message is mostly short members, so `,"key":` is one copy when the key
 * needs no escape. */
static void lead(struct hp_jw *w, const char *key)
{
    if (w->failed || w->depth == 0) {
        w->failed = true;
        return;
    }
    uint32_t bit = 1u << (w->depth - 1);
    bool comma = w->members & bit;
    w->members |= bit;
    size_t kn = key ? strlen(key) : 0;
    if (!key || needs_escape(key, kn)) {
        if (comma)
            put(w, ",", 1);
        if (key) {
            put_quoted(w, key, kn);
            put(w, ":", 1);
        }
        return;
    }
    struct hp_buf *b = w->b;
    if (hp_buf_reserve(b, b->len + kn + 5) != 0) {
        w->failed = true;
        return;
    }
    char *p = b->p + b->len;
    if (comma)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, key, kn);
    p += kn;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    b->len = (size_t)(p - b->p);
}

static void start(struct hp_jw *w, struct hp_buf *b, const char *bracket)
{
    *w = (struct hp_jw){.b = b, .depth = 1, .arrays = bracket[0] == '['};
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
    put(w, bracket, 1);
}

void hp_jw_start(struct hp_jw *w, struct hp_buf *b)
{
    start(w, b, "{");
}

void hp_jw_start_array(struct hp_jw *w, struct hp_buf *b)
{
    start(w, b, "[");
}

int hp_jw_finish(struct hp_jw *w)
{
    if (w->depth != 1)
        w->failed = true;
    put(w, w->arrays & 1 ? "]" : "}", 1);
    w->depth = 0;
    return w->failed ? -1 : 0;
}

void hp_jw_fail(struct hp_jw *w)
{
    w->failed = true;
}

bool hp_jw_empty(const struct hp_jw *w)
{
    return w->depth == 0 || !(w->members & (1u << (w->depth - 1)));
}

void hp_jw_int(struct hp_jw *w, const char *key, int64_t v)
{
    char t[24];
    lead(w, key);
    put(w, t, hp_fmt_i64(t, v));
}

void hp_jw_uint(struct hp_jw *w, const char *key, uint64_t v)
{
    char t[24];
    lead(w, key);
    put(w, t, hp_fmt_u64(t, v));
}

void hp_jw_double(struct hp_jw *w, const char *key, double v, int decimals)
{
    char t[48];
    if (!isfinite(v))
        return;                                         /* JSON has no NaN/Inf */
    size_t n = hp_fmt_fixed(t, sizeof(t), v, decimals); /* 0: too long */
    if (n == 0)
        return;
    lead(w, key);
    put(w, t, n);
}

void hp_jw_string(struct hp_jw *w, const char *key, const char *v)
{
    hp_jw_string_len(w, key, v ? v : "", v ? strlen(v) : 0);
}

void hp_jw_string_len(struct hp_jw *w, const char *key, const char *v, size_t n)
{
    lead(w, key);
    put_quoted(w, v, n);
}

void hp_jw_bool(struct hp_jw *w, const char *key, bool v)
{
    lead(w, key);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void hp_jw_raw(struct hp_jw *w, const char *key, const char *json, size_t n)
{
    lead(w, key);
    put(w, json, n);
}

static void open_container(struct hp_jw *w, const char *key, const char *bracket)
{
    lead(w, key);
    if (w->depth >= HP_JW_DEPTH)
        w->failed = true;
    put(w, bracket, 1);
    if (w->failed)
        return;
    w->depth++;
    uint32_t bit = 1u << (w->depth - 1);
    w->members &= ~bit;
    if (bracket[0] == '[')
        w->arrays |= bit;
    else
        w->arrays &= ~bit;
}

void hp_jw_object(struct hp_jw *w, const char *key)
{
    open_container(w, key, "{");
}

void hp_jw_array(struct hp_jw *w, const char *key)
{
    open_container(w, key, "[");
}

void hp_jw_end(struct hp_jw *w)
{
    if (w->failed || w->depth <= 1) {
        w->failed = true;
        return;
    }
    put(w, (w->arrays >> (w->depth - 1)) & 1 ? "]" : "}", 1);
    w->depth--;
}

struct hp_jw_mark hp_jw_mark(const struct hp_jw *w)
{
    return (struct hp_jw_mark){w->b->len, w->depth, w->members, w->arrays};
}

void hp_jw_undo(struct hp_jw *w, struct hp_jw_mark m)
{
    if (w->failed || m.len > w->b->len)
        return;
    w->b->len = m.len;
    if (w->b->p)
        w->b->p[m.len] = '\0';
    w->depth = m.depth;
    w->members = m.members;
    w->arrays = m.arrays;
}
