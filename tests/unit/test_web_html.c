/* SPDX-License-Identifier: Apache-2.0 */
/* test_web_html.c -- hostpulse-web's one HTML-escape helper: a hostile host
 * name becomes text, every special character of element text and quoted
 * attributes is replaced, other bytes (UTF-8) pass unchanged, and output
 * appends to what the buffer holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <string.h>

#include "web/html.h"

static void check(const char *in, const char *want)
{
    struct hp_buf b = {0};
    assert_int_equal(hp_html_escape(&b, in), 0);
    assert_non_null(b.p);
    assert_string_equal(b.p, want);
    assert_int_equal(b.len, strlen(want));
    hp_buf_free(&b);
}

static void hostile_host_name_is_text(void **state)
{
    (void)state;
    check("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
}

static void every_special_character(void **state)
{
    (void)state;
    check("a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    check("\" onmouseover='x'", "&quot; onmouseover=&#39;x&#39;");
    check("&amp;", "&amp;amp;"); /* escaped again: the input is text, not HTML */
}

static void plain_and_utf8_unchanged(void **state)
{
    (void)state;
    check("", "");
    check("web01.example.org", "web01.example.org");
    check("Tdie 45\xc2\xb0"
          "C \xe2\x80\x93 k\xc3\xb6rper",
          "Tdie 45\xc2\xb0"
          "C \xe2\x80\x93 k\xc3\xb6rper");
    check("<<<", "&lt;&lt;&lt;");
}

static void appends_to_buffer(void **state)
{
    (void)state;
    struct hp_buf b = {0};
    assert_int_equal(hp_buf_str(&b, "<h1>"), 0);
    assert_int_equal(hp_html_escape(&b, "a<b"), 0);
    assert_int_equal(hp_buf_str(&b, "</h1>"), 0);
    assert_string_equal(b.p, "<h1>a&lt;b</h1>");
    hp_buf_free(&b);
}

static void long_input(void **state)
{
    (void)state;
    size_t n = 100000;
    char *in = malloc(n + 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = i % 2 ? '<' : 'x';
    in[n] = '\0';
    struct hp_buf b = {0};
    assert_int_equal(hp_html_escape(&b, in), 0);
    assert_int_equal(b.len, n / 2 + n / 2 * 4);
    assert_null(strchr(b.p, '<'));
    hp_buf_free(&b);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_host_name_is_text),
        cmocka_unit_test(every_special_character),
        cmocka_unit_test(plain_and_utf8_unchanged),
        cmocka_unit_test(appends_to_buffer),
        cmocka_unit_test(long_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
