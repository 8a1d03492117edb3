/* SPDX-License-Identifier: Apache-2.0 */
/* html.h -- the one HTML-escape helper of hostpulse-web.
 *
 * Every string that comes from a message (host names, process names and
 * command lines, sensor labels, descriptions) and reaches HTML built by the
 * server goes through hp_html_escape(); JSON goes through json-c, and the
 * pages' scripts insert strings with textContent only. */
#ifndef HP_WEB_HTML_H
#define HP_WEB_HTML_H

#include "lib/buf.h"

/* Append s to out with & < > " ' replaced by entities, so that the result
 * is text in an element and in a quoted attribute value alike. NUL ends s;
 * other bytes (UTF-8 included) are copied as they are. Returns 0, or -1 when
 * memory runs out (out then holds a prefix of the escaped text). */
int hp_html_escape(struct hp_buf *out, const char *s);

#endif
