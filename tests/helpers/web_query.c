/* SPDX-License-Identifier: Apache-2.0 */
/* web_query.c -- ask a hostpulse-web store what its HTTP API would, from
 * the command line, through the store's reader API (web/store.h):
 *
 *   web_query DB fleet
 *   web_query DB host NAME | series NAME | loss NAME | stats
 *   web_query DB latest NAME REPORTER
 *   web_query DB points NAME REPORTER PATH FROM_MS TO_MS MAX_POINTS
 *
 * Prints the JSON result on stdout; exit 1 with the reason on stderr. The
 * integration tests use it while the store is being written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "web/store.h"

static json_object *ask(struct hp_store_reader *r, int argc, char **argv, char *err, size_t len)
{
    const char *what = argv[2];
    if (strcmp(what, "fleet") == 0)
        return hp_store_fleet(r, hp_real_ms(), err, len);
    if (strcmp(what, "stats") == 0)
        return hp_store_stats(r, err, len);
    if (argc == 4 && strcmp(what, "host") == 0)
        return hp_store_host(r, argv[3], err, len);
    if (argc == 4 && strcmp(what, "series") == 0)
        return hp_store_host_series(r, argv[3], err, len);
    if (argc == 4 && strcmp(what, "loss") == 0)
        return hp_store_host_loss(r, argv[3], err, len);
    if (argc == 5 && strcmp(what, "latest") == 0)
        return hp_store_latest(r, argv[3], argv[4], err, len);
    if (argc == 9 && strcmp(what, "points") == 0)
        return hp_store_series(r, argv[3], argv[4], argv[5], atoll(argv[6]), atoll(argv[7]),
                               atoi(argv[8]), err, len);
    snprintf(err, len, "unknown query or wrong argument count");
    return NULL;
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc < 3) {
        fprintf(stderr, "usage: web_query DB fleet|stats|host|series|loss|latest|points ...\n");
        return 2;
    }
    struct hp_store_reader *r = hp_store_reader_open(argv[1], err, sizeof(err));
    if (!r) {
        fprintf(stderr, "web_query: %s\n", err);
        return 1;
    }
    json_object *res = ask(r, argc, argv, err, sizeof(err));
    int rc = 0;
    if (res)
        printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
    else {
        fprintf(stderr, "web_query: %s\n", err);
        rc = 1;
    }
    json_object_put(res);
    hp_store_reader_close(r);
    return rc;
}
