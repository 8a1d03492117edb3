/* SPDX-License-Identifier: Apache-2.0 */
/* test_jw.c -- the JSON writer writes, byte for byte, what json-c writes
 * for the tree the hp_json_add_* helpers build with the same calls; marks
 * undo; misuse fails the text instead of writing bad JSON; a reporter of
 * either kind gives the same text and tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "lib/jw.h"
#include "lib/msg.h"
#include "reporters/reporter.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Finish w and compare its text with tree's. Takes tree. */
static void assert_same(struct hp_jw *w, json_object *tree)
{
    assert_int_equal(hp_jw_finish(w), 0);
    const char *want = json_object_to_json_string_ext(tree, FLAGS);
    assert_string_equal(w->b->p, want);
    assert_int_equal(w->b->len, strlen(want));
    json_object_put(tree);
}

/* Every byte from 1 to 255 in a value and in a key, and a NUL inside a
 * counted string: escaped as json-c escapes them. */
static void strings_escape_as_json_c(void **state)
{
    (void)state;
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    struct hp_buf b = {0};
    struct hp_jw w;
    hp_jw_start(&w, &b);
    json_object *t = json_object_new_object();
    hp_jw_string(&w, "v", all);
    hp_json_add_string(t, "v", all);
    hp_jw_string(&w, all, "k");
    hp_json_add_string(t, all, "k");
    hp_jw_string(&w, "null", NULL);
    hp_json_add_string(t, "null", NULL);
    hp_jw_string_len(&w, "nul", "a\0b/", 4);
    json_object_object_add(t, "nul", json_object_new_string_len("a\0b/", 4));
    hp_jw_string(&w, "", "");
    hp_json_add_string(t, "", "");
    assert_same(&w, t);
    hp_buf_free(&b);
}

/* Numbers as hp_json_add_* writes them; non-finite doubles left out. */
static void numbers_as_the_helpers_write_them(void **state)
{
    (void)state;
    static const int64_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1700000000123};
    static const uint64_t uints[] = {0, 9, UINT64_MAX, 18446744073709551000u};
    static const double dbls[] = {0,     -0.0,       12.5, 1.005,    -0.004,    99.999, 1e12,
                                  -3e15, 123456.789, NAN,  INFINITY, -INFINITY, 2.5e-7};
    struct hp_buf b = {0};
    struct hp_jw w;
    hp_jw_start(&w, &b);
    json_object *t = json_object_new_object();
    char key[32];
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        snprintf(key, sizeof(key), "i%zu", i);
        hp_jw_int(&w, key, ints[i]);
        hp_json_add_int(t, key, ints[i]);
    }
    for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
        snprintf(key, sizeof(key), "u%zu", i);
        hp_jw_uint(&w, key, uints[i]);
        hp_json_add_uint(t, key, uints[i]);
    }
    for (size_t i = 0; i < sizeof(dbls) / sizeof(dbls[0]); i++)
        for (int d = -1; d <= 10; d++) {
            snprintf(key, sizeof(key), "d%zu.%d", i, d);
            hp_jw_double(&w, key, dbls[i], d);
            hp_json_add_double(t, key, dbls[i], d);
        }
    hp_jw_bool(&w, "t", true);
    json_object_object_add(t, "t", json_object_new_boolean(1));
    hp_jw_bool(&w, "f", false);
    json_object_object_add(t, "f", json_object_new_boolean(0));
    assert_same(&w, t);
    hp_buf_free(&b);
}

/* Nested objects and arrays, empty ones, elements of every kind, and a
 * part written by another writer: commas and brackets where json-c puts
 * them. */
static void containers_nest_as_json_c(void **state)
{
    (void)state;
    struct hp_buf b = {0}, part = {0}, list = {0};
    struct hp_jw w, p, l;
    hp_jw_start(&p, &part);
    hp_jw_uint(&p, "rx", 5);
    assert_int_equal(hp_jw_finish(&p), 0);
    hp_jw_start_array(&l, &list);
    hp_jw_int(&l, NULL, 1);
    hp_jw_object(&l, NULL);
    hp_jw_end(&l);
    assert_int_equal(hp_jw_finish(&l), 0);

    hp_jw_start(&w, &b);
    assert_true(hp_jw_empty(&w));
    json_object *t = json_object_new_object();
    hp_jw_object(&w, "empty");
    assert_true(hp_jw_empty(&w));
    hp_jw_end(&w);
    assert_false(hp_jw_empty(&w));
    json_object_object_add(t, "empty", json_object_new_object());
    hp_jw_array(&w, "none");
    hp_jw_end(&w);
    json_object_object_add(t, "none", json_object_new_array());
    hp_jw_array(&w, "cpus");
    json_object *cpus = json_object_new_array();
    for (int i = 0; i < 3; i++) {
        hp_jw_object(&w, NULL);
        json_object *o = json_object_new_object();
        hp_jw_int(&w, "cpu", i);
        hp_json_add_int(o, "cpu", i);
        hp_jw_array(&w, "v");
        json_object *v = json_object_new_array();
        for (int k = 0; k < i; k++) {
            hp_jw_int(&w, NULL, k);
            json_object_array_add(v, json_object_new_int(k));
        }
        hp_jw_string(&w, NULL, "x");
        json_object_array_add(v, json_object_new_string("x"));
        hp_jw_end(&w);
        json_object_object_add(o, "v", v);
        hp_jw_end(&w);
        json_object_array_add(cpus, o);
    }
    hp_jw_end(&w);
    json_object_object_add(t, "cpus", cpus);
    hp_jw_raw(&w, "eth0", part.p, part.len);
    json_object *e = json_object_new_object();
    hp_json_add_uint(e, "rx", 5);
    json_object_object_add(t, "eth0", e);
    hp_jw_raw(&w, "list", list.p, list.len);
    json_object *li = json_object_new_array();
    json_object_array_add(li, json_object_new_int(1));
    json_object_array_add(li, json_object_new_object());
    json_object_object_add(t, "list", li);
    hp_jw_int(&w, "last", -7);
    hp_json_add_int(t, "last", -7);
    assert_same(&w, t);
    hp_buf_free(&b);
    hp_buf_free(&part);
    hp_buf_free(&list);
}

/* Undo drops members and containers written since the mark, commas
 * included, and the writer goes on as if they had never been written. */
static void undo_forgets_what_followed(void **state)
{
    (void)state;
    struct hp_buf b = {0};
    struct hp_jw w;
    hp_jw_start(&w, &b);
    struct hp_jw_mark first = hp_jw_mark(&w);
    hp_jw_object(&w, "gone");
    hp_jw_int(&w, "x", 1);
    hp_jw_undo(&w, first); /* an open container, and the first member */
    assert_true(hp_jw_empty(&w));
    hp_jw_int(&w, "a", 1);
    hp_jw_array(&w, "l");
    hp_jw_int(&w, NULL, 1);
    struct hp_jw_mark inner = hp_jw_mark(&w);
    hp_jw_int(&w, NULL, 2);
    hp_jw_object(&w, NULL);
    hp_jw_undo(&w, inner);
    hp_jw_int(&w, NULL, 3);
    hp_jw_end(&w);
    assert_int_equal(hp_jw_finish(&w), 0);
    assert_string_equal(b.p, "{\"a\":1,\"l\":[1,3]}");
    hp_buf_free(&b);
}

/* A container left open, one closed too often, or nesting past the
 * limit: finish says the text is not to be used. */
static void misuse_fails_the_text(void **state)
{
    (void)state;
    struct hp_buf b = {0};
    struct hp_jw w;
    hp_jw_start(&w, &b);
    hp_jw_object(&w, "open");
    assert_int_equal(hp_jw_finish(&w), -1);

    hp_jw_start(&w, &b);
    hp_jw_end(&w);
    hp_jw_int(&w, "after", 1);
    assert_int_equal(hp_jw_finish(&w), -1);

    hp_jw_start(&w, &b);
    for (int i = 0; i < HP_JW_DEPTH; i++)
        hp_jw_array(&w, i == 0 ? "deep" : NULL);
    for (int i = 0; i < HP_JW_DEPTH; i++)
        hp_jw_end(&w);
    assert_int_equal(hp_jw_finish(&w), -1);

    hp_jw_start(&w, &b); /* the same buffer, reused: starts empty */
    for (int i = 0; i < HP_JW_DEPTH - 1; i++)
        hp_jw_array(&w, i == 0 ? "deep" : NULL);
    for (int i = 0; i < HP_JW_DEPTH - 1; i++)
        hp_jw_end(&w);
    assert_int_equal(hp_jw_finish(&w), 0);
    assert_int_equal(b.len, strlen("{\"deep\":}") + 2 * (HP_JW_DEPTH - 1));
    hp_buf_free(&b);
}

/* Reporters of both kinds, as hp_reporter_write and hp_reporter_sample
 * see them: a writer, a tree builder, and a writer with a bug. */
static int write_ok(struct hp_reporter *r, struct hp_jw *w)
{
    (void)r;
    hp_jw_int(w, "a", 1);
    hp_jw_object(w, "o");
    hp_jw_string(w, "s", "x/y");
    hp_jw_end(w);
    return 0;
}

static int sample_ok(struct hp_reporter *r, json_object *data)
{
    (void)r;
    hp_json_add_int(data, "a", 1);
    json_object *o = json_object_new_object();
    hp_json_add_string(o, "s", "x/y");
    json_object_object_add(data, "o", o);
    return 0;
}

static int write_twice(struct hp_reporter *r, struct hp_jw *w)
{
    (void)r;
    hp_jw_object(w, "o");
    hp_jw_int(w, "k", 1);
    hp_jw_int(w, "k", 2);
    hp_jw_end(w);
    return 0;
}

static void reporters_of_both_kinds(void **state)
{
    (void)state;
    const struct hp_reporter_ops ops[] = {
        {.name = "writer", .write = write_ok},
        {.name = "tree", .sample = sample_ok},
        {.name = "twice", .write = write_twice},
    };
    struct hp_buf b = {0};
    for (size_t i = 0; i < 3; i++) {
        struct hp_reporter r = {.ops = &ops[i]};
        int rc = hp_reporter_write(&r, &b);
        assert_int_equal(rc, 0);
        assert_string_equal(b.p, i < 2 ? "{\"a\":1,\"o\":{\"s\":\"x/y\"}}"
                                       : "{\"o\":{\"k\":1,\"k\":2}}");
        json_object *d = json_object_new_object();
        rc = hp_reporter_sample(&r, d);
        assert_int_equal(rc, i < 2 ? 0 : -1); /* a key twice is a bug, not a tree */
        assert_int_equal(json_object_object_length(d), i < 2 ? 2 : 0);
        json_object_put(d);
    }
    hp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_escape_as_json_c),
        cmocka_unit_test(numbers_as_the_helpers_write_them),
        cmocka_unit_test(containers_nest_as_json_c),
        cmocka_unit_test(undo_forgets_what_followed),
        cmocka_unit_test(misuse_fails_the_text),
        cmocka_unit_test(reporters_of_both_kinds),
    };
    return cmocka_run_group_tests_name("jw", tests, NULL, NULL);
}
