/* SPDX-License-Identifier: Apache-2.0 */
/* test_json_read.c -- the project's JSON reader (lib/json_read.c on
 * yajl), used by hostpulse-web's ingest and the CSV sink: values and their
 * types, scalars' texts as json-c prints them (the CSV sink's cells),
 * strings and escapes, bytes that are not UTF-8 when asked, the text of
 * objects and arrays, what it refuses and where, the reuse of its buffers,
 * and agreement with json-c on what is JSON at all (json-c read the
 * messages before; where yajl is stricter, a test below names each case). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_read.h"

static int parse(struct hp_json *j, const char *text)
{
    return hp_json_parse(j, text, strlen(text));
}

static void values_keep_their_types(void **state)
{
    (void)state;
    struct hp_json j = {0};
    assert_int_equal(parse(&j, " {\"i\":-12,\"d\":2.5e1,\"b\":true,\"f\":false,\"n\":null,"
                               "\"s\":\"x\",\"a\":[1,[2],{}],\"big\":18446744073709551616,"
                               "\"min\":-9223372036854775808,\"z\":0,\"max\":9223372036854775807,"
                               "\"e\":1E2,\"neg0\":-0} \n"),
                     0);
    const struct hp_jnode *r = hp_json_root(&j), *v;
    assert_int_equal(r->type, HP_JOBJECT);
    assert_int_equal(r->count, 13);
    v = hp_json_get(&j, r, "i");
    assert_int_equal(v->type, HP_JINT);
    assert_true(v->i == -12 && v->num == -12);
    v = hp_json_get(&j, r, "d");
    assert_true(v->type == HP_JDOUBLE && v->num == 25);
    v = hp_json_get(&j, r, "b");
    assert_true(v->type == HP_JBOOL && v->num == 1);
    v = hp_json_get(&j, r, "f");
    assert_true(v->type == HP_JBOOL && v->num == 0);
    assert_int_equal(hp_json_get(&j, r, "n")->type, HP_JNULL);
    v = hp_json_get(&j, r, "s");
    assert_true(v->type == HP_JSTRING && v->slen == 1 && strcmp(v->str, "x") == 0);
    v = hp_json_get(&j, r, "a");
    assert_true(v->type == HP_JARRAY && v->count == 3);
    assert_int_equal(v->slen, strlen("[1,[2],{}]"));
    assert_memory_equal(v->str, "[1,[2],{}]", v->slen); /* the text as it came */
    const struct hp_jnode *e = hp_json_child(&j, v);
    assert_true(e->type == HP_JINT && e->i == 1 && e->key == NULL);
    e = hp_json_next(&j, e);
    assert_true(e->type == HP_JARRAY && hp_json_child(&j, e)->i == 2);
    e = hp_json_next(&j, e);
    assert_true(e->type == HP_JOBJECT && e->count == 0 && !hp_json_next(&j, e));
    v = hp_json_get(&j, r, "big"); /* beyond int64: a double, as a number */
    assert_true(v->type == HP_JDOUBLE && v->num == 18446744073709551616.0);
    v = hp_json_get(&j, r, "min");
    assert_true(v->type == HP_JINT && v->i == INT64_MIN);
    assert_int_equal(hp_json_get(&j, r, "z")->i, 0);
    v = hp_json_get(&j, r, "max");
    assert_true(v->type == HP_JINT && v->i == INT64_MAX);
    v = hp_json_get(&j, r, "e");
    assert_true(v->type == HP_JDOUBLE && v->num == 100);
    v = hp_json_get(&j, r, "neg0");
    assert_true(v->type == HP_JINT && v->i == 0);
    assert_null(hp_json_get(&j, r, "missing"));
    assert_null(hp_json_get(&j, hp_json_get(&j, r, "a"), "i")); /* not an object */
    hp_json_free(&j);
}

static void strings_are_decoded(void **state)
{
    (void)state;
    struct hp_json j = {0};
    assert_int_equal(parse(&j, "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\","
                               " \"\\ud83d\\ude00\", \"x\\u0000y\", \"\", \"caf\xc3\xa9\"]"),
                     0);
    const struct hp_jnode *s = hp_json_child(&j, hp_json_root(&j));
    assert_string_equal(s->str, "a\"b\\c/d\b\f\n\r\t");
    s = hp_json_next(&j, s);
    assert_string_equal(s->str, "\xc3\xa9\xe2\x82\xac");
    s = hp_json_next(&j, s);
    assert_string_equal(s->str, "\xf0\x9f\x98\x80");
    s = hp_json_next(&j, s); /* an escaped NUL stays, and the length says so */
    assert_int_equal(s->slen, 3);
    assert_memory_equal(s->str, "x\0y", 4);
    s = hp_json_next(&j, s);
    assert_true(s->slen == 0 && s->str[0] == '\0');
    s = hp_json_next(&j, s);
    assert_string_equal(s->str, "caf\xc3\xa9");
    hp_json_free(&j);
}

/* Member names are decoded as strings are; an object or array keeps its
 * text from its bracket to its closing one, white space inside included. */
static void names_and_containers_keep_their_text(void **state)
{
    (void)state;
    struct hp_json j = {0};
    const char *text = "\t{ \"a\\\"b\" : { \"x\" : [ 1 , \"]\" ] } , \"\\u00e9\":{}}\r\n";
    assert_int_equal(parse(&j, text), 0);
    const struct hp_jnode *r = hp_json_root(&j);
    assert_int_equal(r->slen, strlen(text) - 3);
    assert_memory_equal(r->str, text + 1, r->slen);
    const struct hp_jnode *o = hp_json_get(&j, r, "a\"b");
    assert_non_null(o);
    assert_int_equal(o->klen, 3);
    assert_int_equal(o->slen, strlen("{ \"x\" : [ 1 , \"]\" ] }"));
    assert_memory_equal(o->str, "{ \"x\" : [ 1 , \"]\" ] }", o->slen);
    const struct hp_jnode *a = hp_json_get(&j, o, "x");
    assert_int_equal(a->slen, strlen("[ 1 , \"]\" ]"));
    assert_memory_equal(a->str, "[ 1 , \"]\" ]", a->slen);
    o = hp_json_get(&j, r, "\xc3\xa9");
    assert_true(o && o->type == HP_JOBJECT && o->slen == 2 && memcmp(o->str, "{}", 2) == 0);
    hp_json_free(&j);
}

/* Whether json-c (as ingest used it: one value, then only white space)
 * takes text whole. */
static bool json_c_takes(const char *text)
{
    json_tokener *tok = json_tokener_new();
    size_t len = strlen(text);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
    while (ok && end < len && strchr(" \t\r\n", text[end]))
        end++;
    json_object_put(o);
    json_tokener_free(tok);
    return ok && end == len;
}

/* What json-c took and the hand-written reader took after it, and yajl
 * refuses as not JSON (RFC 8259): the intended change of reading with
 * yajl. The agent sends none of them (lib/msg.c leaves non-finite doubles
 * out; json-c writes literals lower case; reporters sanitize UTF-8). */
static void what_json_c_took_and_yajl_refuses(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "{\"x\":NaN}", "{\"x\":Infinity}", "{\"x\":-Infinity}", "[nan]",      "[FALSE]",
        "[True]",      "[NULL]",           "[\"a\xff\"]",       "[\"\xc3\"]", "{\"\xe2\x82\":1}",
    };
    struct hp_json j = {0};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (!json_c_takes(refused[i]))
            fail_msg("json-c refuses it too: %s", refused[i]);
        if (parse(&j, refused[i]) != -1 || !j.err)
            fail_msg("takes %s", refused[i]);
    }
    hp_json_free(&j);
}

/* A number longer than any int64 or double needs is still one number. */
static void long_numbers_are_numbers(void **state)
{
    (void)state;
    char text[400] = "[1";
    memset(text + 2, '0', 300);
    strcpy(text + 302, ",-0.");
    memset(text + 306, '5', 80);
    strcpy(text + 386, "]");
    struct hp_json j = {0};
    assert_int_equal(parse(&j, text), 0);
    const struct hp_jnode *n = hp_json_child(&j, hp_json_root(&j));
    assert_true(n->type == HP_JDOUBLE && n->num == 1e300);
    n = hp_json_next(&j, n);
    assert_true(n->type == HP_JDOUBLE && n->num < -0.5555 && n->num > -0.5556);
    hp_json_free(&j);
}

/* Duplicate names: all kept in order, the last one answers (as json-c). */
static void the_last_duplicate_answers(void **state)
{
    (void)state;
    struct hp_json j = {0};
    assert_int_equal(parse(&j, "{\"a\":1,\"b\":2,\"a\":3}"), 0);
    assert_int_equal(hp_json_get(&j, hp_json_root(&j), "a")->i, 3);
    assert_int_equal(hp_json_root(&j)->count, 3);
    hp_json_free(&j);
}

/* j->pos is the first byte of the token refused, the bad byte (or the one
 * after it) inside a string, or the end when the text ends too soon. With
 * yajl, a malformed number is reported at its first byte ("1.", "1e": the
 * hand-written reader said 1) and a bad \u escape at its bad digit (it
 * said 2, the 'u'). After an error there is no tree. */
static void bad_text_is_refused_where_it_is_bad(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t pos;
    } bad[] = {
        {"", 0},
        {"   ", 3},
        {"{", 1},
        {"{\"a\" 1}", 5},
        {"{\"a\":1,}", 7},
        {"[1,]", 3},
        {"[1 2]", 3},
        {"{\"a\":1} x", 8},
        {"01", 1},
        {"1.", 0},
        {"1e", 0},
        {"-", 0},
        {"\"abc", 4},
        {"\"a\\x\"", 3},
        {"\"\\u12g4\"", 5},
        {"\"a\tb\"", 2},
        {"tru", 0},
        {"nul", 0},
        {"{a:1}", 1},
        {"'a'", 0},
        {"[1]]", 3},
        {"{\"a\":}", 5},
        {"[1,\"a\\x\"]", 6},
        {"[1 \"x\"]", 3},
        {"{\"a\":1", 6},
        {"[1,NaN]", 3},
        {"[-1.]", 1},
        {"\"a\xff\"", 3},
        {"[1,\n  2 ,  ]", 11},
    };
    struct hp_json j = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&j, "[1]"), 0);
        if (parse(&j, bad[i].text) != -1 || j.pos != bad[i].pos || !j.err || hp_json_root(&j))
            fail_msg("\"%s\": rc %d, pos %zu (want %zu), %s", bad[i].text, parse(&j, bad[i].text),
                     j.pos, bad[i].pos, j.err ? j.err : "no reason");
    }
    hp_json_free(&j);
}

/* A value inside 32 objects or arrays is too deep, as it was in json-c. */
static void nesting_stops_at_32_levels(void **state)
{
    (void)state;
    char text[200];
    struct hp_json j = {0};
    for (int depth = 31; depth <= 33; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[2 * depth] = '\0';
        assert_int_equal(parse(&j, text), depth <= HP_JSON_DEPTH ? 0 : -1);
        text[depth - 1] = '{'; /* ...[{}] */
        text[depth] = '}';
        assert_int_equal(parse(&j, text), depth <= HP_JSON_DEPTH ? 0 : -1);
        memset(text + depth - 1, '[', 1); /* a number one level deeper */
        text[depth] = '0';
        memset(text + depth + 1, ']', (size_t)depth);
        text[2 * depth + 1] = '\0';
        assert_int_equal(parse(&j, text), depth < HP_JSON_DEPTH ? 0 : -1);
    }
    assert_int_equal(j.pos, HP_JSON_DEPTH);
    assert_string_equal(j.err, "nesting too deep");
    hp_json_free(&j);
}

/* One struct for many texts: a parse forgets the last one, and gives back
 * what a huge one took; a text is read only up to its length (no NUL
 * needed after it). */
static void buffers_are_reused(void **state)
{
    (void)state;
    struct hp_json j = {0};
    size_t n = 2 * HP_JSON_KEEP_ARENA;
    char *big = malloc(n + 3);
    big[0] = '"';
    memset(big + 1, 'x', n);
    big[n + 1] = '"';
    big[n + 2] = '!'; /* past the length given: not read */
    assert_int_equal(hp_json_parse(&j, big, n + 2), 0);
    assert_int_equal(hp_json_root(&j)->slen, n);
    assert_true(j.acap > HP_JSON_KEEP_ARENA);
    size_t elems = 2 * HP_JSON_KEEP_NODES;
    char *many = malloc(2 * elems + 2);
    many[0] = '[';
    for (size_t i = 0; i < elems; i++)
        memcpy(many + 1 + 2 * i, i + 1 < elems ? "1," : "1]", 2);
    assert_int_equal(hp_json_parse(&j, many, 2 * elems + 1), 0);
    assert_int_equal(hp_json_root(&j)->count, elems);
    assert_true(j.cap > HP_JSON_KEEP_NODES && j.acap <= HP_JSON_KEEP_ARENA);
    assert_int_equal(parse(&j, "{\"k\":\"v\"}"), 0);
    assert_int_equal(j.count, 2);
    assert_true(j.cap <= HP_JSON_KEEP_NODES && j.acap <= HP_JSON_KEEP_ARENA); /* given back */
    free(many);
    assert_string_equal(hp_json_get(&j, hp_json_root(&j), "k")->str, "v");
    assert_int_equal(hp_json_parse(&j, "12345", 2), 0);
    assert_int_equal(hp_json_root(&j)->i, 12);
    free(big);
    hp_json_free(&j);
}

/* The same verdict as json-c on real messages and on every one-byte
 * change of one (the few texts json-c's leniency takes beyond JSON aside). */
static void agrees_with_json_c(void **state)
{
    (void)state;
    const char *msg =
        "{\"v\":1,\"host\":\"web01\",\"reporter\":\"net\",\"ts\":1795832508655,"
        "\"session\":\"04f7fb8e\",\"seq\":12,\"interval\":5,\"data\":{\"interfaces\":"
        "{\"eth0\":{\"bytes_recv\":123456789,\"bytes_recv_per_sec\":1.5e3,\"up\":true}},"
        "\"list\":[{\"name\":\"a\\u00e9\",\"pid\":7}],\"x\":null,\"neg\":-0.25}}";
    static const char repl[] = "{}[]\":,.-+eE0 x\\u\t";
    struct hp_json j = {0};
    char text[600];
    size_t len = strlen(msg), differ = 0, tried = 0;
    assert_int_equal(parse(&j, msg), 0);
    assert_true(json_c_takes(msg));
    for (size_t i = 0; i < len; i++)
        for (size_t r = 0; r < sizeof(repl) - 1; r++) {
            memcpy(text, msg, len + 1);
            text[i] = repl[r];
            bool mine = parse(&j, text) == 0, theirs = json_c_takes(text);
            tried++;
            if (mine && !theirs)
                fail_msg("takes what json-c refuses: %s", text);
            differ += mine != theirs; /* json-c's leniency: trailing commas, bare words */
        }
    assert_true(differ * 20 < tried); /* json-c's leniencies stay rare */
    hp_json_free(&j);
}

/* Node x of j is the same value as json-c's o: type, keys in order, and
 * each scalar's text (hp_json_text) what json-c prints for it: strings
 * unescaped, numbers as written, true and false; null has none. */
static void same_as_json_c(const struct hp_json *j, const struct hp_jnode *x, json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null:
        assert_int_equal(x->type, HP_JNULL);
        assert_null(hp_json_text(x));
        break;
    case json_type_object: {
        assert_int_equal(x->type, HP_JOBJECT);
        assert_int_equal(x->count, json_object_object_length(o));
        const struct hp_jnode *c = hp_json_child(j, x);
        json_object_object_foreach(o, k, v)
        {
            assert_non_null(c);
            assert_string_equal(c->key, k);
            same_as_json_c(j, c, v);
            c = hp_json_next(j, c);
        }
        assert_null(c);
        break;
    }
    case json_type_array: {
        assert_int_equal(x->type, HP_JARRAY);
        assert_int_equal(x->count, json_object_array_length(o));
        const struct hp_jnode *c = hp_json_child(j, x);
        for (size_t i = 0; i < json_object_array_length(o); i++, c = hp_json_next(j, c))
            same_as_json_c(j, c, json_object_array_get_idx(o, i));
        break;
    }
    case json_type_string:
        assert_int_equal(x->type, HP_JSTRING);
        assert_string_equal(hp_json_text(x), json_object_get_string(o));
        break;
    default:
        assert_true(hp_json_is_number(x) || x->type == HP_JBOOL);
        assert_string_equal(hp_json_text(x), json_object_to_json_string(o));
        assert_int_equal(x->slen, strlen(hp_json_text(x)));
    }
}

/* The CSV sink writes each scalar's text, as it did from json-c's tree:
 * "2.50" stays "2.50", "1e-7" stays "1e-7". (A lone \ud800 escape reads
 * as "?" here and U+FFFD in json-c; json-c writes no \u escape above
 * \u001f, so no message has one.) */
static void scalars_read_as_json_c_prints_them(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"v\":1,\"host\":\"h\",\"data\":{\"a\":-12,\"b\":2.50,\"c\":true,\"d\":null,"
        "\"e\":[],\"f\":{},\"g\":[{\"x\":1},{\"x\":2}],\"h\":18446744073709551615,\"i\":12.50}}",
        " [ 1 , \"two\" , [ [ ] ] , { \"k\" : false } ] ",
        "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20ac \\ud83d\\ude00 x\"",
        "{\"caf\\u00e9 \\\"q\\\"\":\"\\u0001\",\"\":0}",
        "-0.0",
        "1e-7",
        "1E+2",
        "0",
        "true",
        "null",
        "\"\"",
    };
    struct hp_json j = {0};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_object *o = json_tokener_parse(texts[i]); /* NULL: null */
        assert_int_equal(parse(&j, texts[i]), 0);
        same_as_json_c(&j, hp_json_root(&j), o);
        json_object_put(o);
    }
    hp_json_free(&j);
}

/* With any_bytes (the CSV sink) a string's bytes pass as they are, as
 * json-c read and wrote them; without it (hostpulse-web) such a text is
 * refused. The setting outlives hp_json_free. */
static void any_bytes_takes_strings_that_are_not_utf8(void **state)
{
    (void)state;
    static const char text[] = "{\"mount\":\"/mnt/caf\xe9\",\"n\":\"\xc3\"}";
    struct hp_json j = {0};
    assert_int_equal(parse(&j, text), -1);
    j.any_bytes = true;
    assert_int_equal(parse(&j, text), 0);
    assert_string_equal(hp_json_text(hp_json_get(&j, hp_json_root(&j), "mount")), "/mnt/caf\xe9");
    assert_string_equal(hp_json_text(hp_json_get(&j, hp_json_root(&j), "n")), "\xc3");
    hp_json_free(&j);
    assert_true(j.any_bytes);
    assert_int_equal(parse(&j, text), 0);
    hp_json_free(&j);
}

/* With text_numbers (the CSV sink) a number that is not an integer keeps
 * its text and no value; integers keep both. The setting outlives
 * hp_json_free. */
static void text_numbers_keeps_only_the_text(void **state)
{
    (void)state;
    static const char text[] = "{\"d\":12.75,\"i\":-3}";
    struct hp_json j = {0};
    assert_int_equal(parse(&j, text), 0);
    assert_true(hp_json_get(&j, hp_json_root(&j), "d")->num == 12.75);
    j.text_numbers = true;
    assert_int_equal(parse(&j, text), 0);
    const struct hp_jnode *d = hp_json_get(&j, hp_json_root(&j), "d");
    const struct hp_jnode *i = hp_json_get(&j, hp_json_root(&j), "i");
    assert_int_equal(d->type, HP_JDOUBLE);
    assert_string_equal(d->str, "12.75");
    assert_true(d->num == 0);
    assert_int_equal(i->i, -3);
    assert_true(i->num == -3);
    hp_json_free(&j);
    assert_true(j.text_numbers);
    hp_json_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_keep_their_types),
        cmocka_unit_test(text_numbers_keeps_only_the_text),
        cmocka_unit_test(strings_are_decoded),
        cmocka_unit_test(names_and_containers_keep_their_text),
        cmocka_unit_test(what_json_c_took_and_yajl_refuses),
        cmocka_unit_test(long_numbers_are_numbers),
        cmocka_unit_test(the_last_duplicate_answers),
        cmocka_unit_test(bad_text_is_refused_where_it_is_bad),
        cmocka_unit_test(nesting_stops_at_32_levels),
        cmocka_unit_test(buffers_are_reused),
        cmocka_unit_test(agrees_with_json_c),
        cmocka_unit_test(scalars_read_as_json_c_prints_them),
        cmocka_unit_test(any_bytes_takes_strings_that_are_not_utf8),
    };
    return cmocka_run_group_tests_name("json_read", tests, NULL, NULL);
}
