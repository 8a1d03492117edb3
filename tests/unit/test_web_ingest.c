/* SPDX-License-Identifier: Apache-2.0 */
/* test_web_ingest.c -- hostpulse-web's ingest (web/ingest.c) without an
 * input: running out of memory while reading a message is not the
 * message's fault, so it fails like the store (nothing since the last
 * commit is kept, nothing may be acked, the broker sends it again)
 * instead of being rejected and acked as bad JSON.
 *
 * Memory runs out for real: the data segment limit (RLIMIT_DATA) is
 * lowered to what the process uses plus 128 MiB, and a 32 MiB message of
 * 16 M numbers needs 1 GiB of nodes. Sanitizer builds map their own
 * memory against that limit, so they skip it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "web/ingest.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
static const char msg[] = "{\"v\":1,\"host\":\"web01\",\"reporter\":\"cpu\",\"ts\":1795832508655,"
                          "\"session\":\"04f7fb8e\",\"seq\":12,\"interval\":5,"
                          "\"data\":{\"user\":1.5}}";

/* The process's data segment now (VmData), in bytes; 0 if unknown. */
static size_t data_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmData: %zu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

/* {"v":1,...,"data":{"a":[0,0,...]}} with n zeros: about 2n bytes. */
static char *huge_message(size_t n, size_t *len)
{
    static const char head[] =
        "{\"v\":1,\"host\":\"web01\",\"reporter\":\"cpu\",\"ts\":1795832508655,"
        "\"session\":\"04f7fb8e\",\"seq\":13,\"interval\":5,\"data\":{\"a\":[";
    size_t h = sizeof(head) - 1;
    char *t = malloc(h + 2 * n + 4);
    assert_non_null(t);
    memcpy(t, head, h);
    for (size_t i = 0; i < n; i++)
        memcpy(t + h + 2 * i, i + 1 < n ? "0," : "0]", 2);
    memcpy(t + h + 2 * n, "}}", 3);
    *len = h + 2 * n + 2;
    return t;
}

#endif

static void out_of_memory_fails_instead_of_rejecting(void **state)
{
    (void)state;
#ifdef SANITIZED
    printf("# skip: the sanitizers' own memory counts against the RLIMIT_DATA this test lowers\n");
    fflush(stdout);
    skip();
#else
    char dir[] = "/tmp/hp-test-ingest-XXXXXX", db[64], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/web.db", dir);
    struct hp_web_conf conf = {.db = db,
                               .retention_hours = 48,
                               .rollup_days = 30,
                               .batch_max = 2000,
                               .batch_wait = 1e9,
                               .max_message = 1 << 26};
    struct hp_ingest *ing = hp_ingest_open(&conf, err, sizeof(err));
    assert_non_null(ing);
    hp_ingest_no_maintenance(ing);
    assert_int_equal(hp_ingest_add(ing, msg, strlen(msg)), HP_ADD_STORED);

    size_t len;
    char *big = huge_message(16u << 20, &len);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_DATA, &old), 0);
    low = old;
    low.rlim_cur = data_bytes() + (128u << 20);
    assert_true(low.rlim_cur > (128u << 20));
    assert_int_equal(setrlimit(RLIMIT_DATA, &low), 0);
    enum hp_ingest_add got = hp_ingest_add(ing, big, len);
    assert_int_equal(setrlimit(RLIMIT_DATA, &old), 0);
    free(big);
    assert_int_equal(got, HP_ADD_FAILED); /* not HP_ADD_REJECTED: not acked */

    struct hp_ingest_counts c;
    hp_ingest_counts(ing, &c);
    assert_int_equal(c.rejected, 0);
    /* Nothing may be acked: the commit says so, and the message before
     * the failure was rolled back (its redelivery is new, not a duplicate). */
    assert_int_equal(hp_ingest_commit(ing), -1);
    assert_int_equal(hp_ingest_add(ing, msg, strlen(msg)), HP_ADD_STORED);
    assert_int_equal(hp_ingest_commit(ing), 0);
    hp_ingest_close(ing);
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[96];
        snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_of_memory_fails_instead_of_rejecting),
    };
    return cmocka_run_group_tests_name("web_ingest", tests, NULL, NULL);
}
