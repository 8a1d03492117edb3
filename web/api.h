/* SPDX-License-Identifier: Apache-2.0 */
/* api.h -- hostpulse-web's JSON API under /api/ (docs/web.md lists it).
 *
 * Independent of the HTTP library: http.c hands over the path after
 * "/api/" and a way to read query arguments; the answer is JSON text built
 * by json-c from the store's reader API, never by hand. */
#ifndef HP_WEB_API_H
#define HP_WEB_API_H

#include "lib/buf.h"
#include "web/store.h"

struct hp_api_req {
    const char *path; /* after "/api/", e.g. "series" */
    /* the value of query argument key, or NULL */
    const char *(*arg)(void *ctx, const char *key);
    void *arg_ctx;
    int64_t now_ms; /* wall clock of the request (ranges end here) */
};

/* Answer req from the store r into body (JSON, also for errors:
 * {"error": "..."}). Returns the HTTP status; body->p stays NULL only when
 * memory ran out. */
unsigned hp_api_answer(struct hp_store_reader *r, const struct hp_api_req *req,
                       struct hp_buf *body);

#endif
