/* SPDX-License-Identifier: Apache-2.0 */
/* http.c -- PLACEHOLDER until the web-http branch's libmicrohttpd server
 * replaces this file: it lets ./hostpulse-web build and run its ingest
 * side alone. It serves nothing. */
#include "web/http.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>

struct hp_http {
    const struct hp_web_conf *conf;
};

struct hp_http *hp_http_start(const struct hp_web_conf *conf, char *err, size_t len)
{
    struct hp_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    h->conf = conf;
    hp_warn("http: placeholder build, not serving %s", conf->listen);
    return h;
}

void hp_http_stop(struct hp_http *h)
{
    free(h);
}
