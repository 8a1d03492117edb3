/* SPDX-License-Identifier: Apache-2.0 */
/* promtext.c -- a strict line parser for the Prometheus text format 0.0.4:
 * metric name, optional {label="value",...} with \\, \" and \n escapes, a
 * value, an optional integer timestamp. Anything else is an error naming
 * the line, so a garbled script output is reported, not half-published. */
#include "reporters/promtext.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN  200
#define VALUE_MAX_LEN 1024

struct cursor {
    const char *p, *end;
};

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' ||
           (!first && isdigit((unsigned char)c));
}

static void skip_blank(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* A metric or label name into out. */
static bool name(struct cursor *c, char *out, bool label)
{
    size_t n = 0;
    while (c->p < c->end && name_char(*c->p, n == 0) && !(label && *c->p == ':')) {
        if (n + 1 >= NAME_MAX_LEN)
            return false;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

/* A quoted label value with its escapes. */
static bool quoted(struct cursor *c, char *out)
{
    size_t n = 0;
    if (c->p >= c->end || *c->p++ != '"')
        return false;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\' && c->p < c->end) {
            ch = *c->p++;
            ch = ch == 'n' ? '\n' : ch;
            if (ch != '\n' && ch != '\\' && ch != '"')
                return false;
        }
        if (n + 1 >= VALUE_MAX_LEN)
            return false;
        out[n++] = ch;
    }
    out[n] = '\0';
    return c->p < c->end && *c->p++ == '"';
}

/* {a="1",b="2"} into a new object at *labels (NULL when there are none). */
static bool labelset(struct cursor *c, json_object **labels)
{
    *labels = NULL;
    if (c->p >= c->end || *c->p != '{')
        return true;
    c->p++;
    *labels = json_object_new_object();
    char key[NAME_MAX_LEN], val[VALUE_MAX_LEN];
    for (;;) {
        skip_blank(c);
        if (c->p < c->end && *c->p == '}')
            return c->p++, true;
        skip_blank(c);
        if (!name(c, key, true) || (skip_blank(c), c->p >= c->end || *c->p++ != '=') ||
            (skip_blank(c), !quoted(c, val)))
            return false;
        json_object_object_add(*labels, key, json_object_new_string(val));
        skip_blank(c);
        if (c->p < c->end && *c->p == ',')
            c->p++;
        else if (c->p >= c->end || *c->p != '}')
            return false;
    }
}

/* The sample value (and an optional timestamp, ignored) to the line end. */
static bool number(struct cursor *c, double *v)
{
    char tok[64];
    size_t n = 0;
    skip_blank(c);
    while (c->p < c->end && !isspace((unsigned char)*c->p) && n + 1 < sizeof(tok))
        tok[n++] = *c->p++;
    tok[n] = '\0';
    char *e;
    *v = strtod(tok, &e);
    if (n == 0 || *e)
        return false;
    skip_blank(c);
    if (c->p < c->end) { /* a timestamp: an integer, dropped */
        strtoll(c->p, &e, 10);
        if (e == c->p)
            return false;
        c->p = e;
        skip_blank(c);
    }
    return c->p == c->end;
}

/* Add one sample under name: a number, or an entry of an array. */
static void add(json_object *data, const char *key, json_object *labels, double v)
{
    json_object *val = isfinite(v) ? json_object_new_double(v) : NULL;
    json_object *cur = NULL;
    json_object_object_get_ex(data, key, &cur);
    if (!labels && !cur) {
        json_object_object_add(data, key, val);
        return;
    }
    if (!cur || !json_object_is_type(cur, json_type_array)) {
        json_object *arr = json_object_new_array();
        if (cur) { /* an unlabelled sample came first: keep it, with no labels */
            json_object *e = json_object_new_object();
            json_object_object_add(e, "labels", json_object_new_object());
            json_object_object_add(e, "value", json_object_get(cur));
            json_object_array_add(arr, e);
        }
        json_object_object_add(data, key, arr);
        cur = arr;
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "labels", labels ? labels : json_object_new_object());
    json_object_object_add(e, "value", val);
    json_object_array_add(cur, e);
}

static int parse_line(struct cursor *c, json_object *data)
{
    char key[NAME_MAX_LEN];
    json_object *labels = NULL;
    double v;
    skip_blank(c);
    if (c->p == c->end || *c->p == '#')
        return 0;
    if (!name(c, key, false))
        return -1;
    if (!labelset(c, &labels) || !number(c, &v)) {
        json_object_put(labels);
        return -1;
    }
    add(data, key, labels, v);
    return 0;
}

int hp_promtext_parse(const char *text, size_t len, json_object *data, char *why, size_t whylen)
{
    const char *p = text, *end = text + len;
    for (unsigned line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct cursor c = {p, nl ? nl : end};
        if (c.end > c.p && c.end[-1] == '\r')
            c.end--;
        if (parse_line(&c, data) != 0) {
            int shown = c.end - p > 60 ? 60 : (int)(c.end - p);
            snprintf(why, whylen, "line %u: not a Prometheus sample: \"%.*s\"", line, shown, p);
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}
