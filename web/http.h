/* SPDX-License-Identifier: Apache-2.0 */
/* http.h -- hostpulse-web's HTTP side: pages, static files and /api/.
 *
 * main.c starts it once the store exists and stops it at shutdown (and
 * around a SIGHUP reload). It reads the store only through its reader API
 * (web/store.h), one reader connection per worker thread. */
#ifndef HP_WEB_HTTP_H
#define HP_WEB_HTTP_H

#include <stddef.h>

#include "web/config.h"

struct hp_http;

/* Start serving conf->listen. conf must outlive the daemon. On error
 * returns NULL with a reason in err. */
struct hp_http *hp_http_start(const struct hp_web_conf *conf, char *err, size_t len);
/* Stop serving and free. NULL is a no-op. */
void hp_http_stop(struct hp_http *h);

#endif
