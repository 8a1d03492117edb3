/* SPDX-License-Identifier: Apache-2.0 */
/* html.c -- HTML-escape strings from messages, in exactly one place.
 *
 * A host may be named "<script>alert(1)</script>": whatever the server puts
 * into a page comes through here, so the name renders as text. */
#include "web/html.h"

int hp_html_escape(struct hp_buf *out, const char *s)
{
    const char *run = s; /* start of the bytes not yet copied */
    for (; *s; s++) {
        const char *ent;
        switch (*s) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        if (hp_buf_put(out, run, (size_t)(s - run)) < 0 || hp_buf_str(out, ent) < 0)
            return -1;
        run = s + 1;
    }
    return hp_buf_put(out, run, (size_t)(s - run));
}
