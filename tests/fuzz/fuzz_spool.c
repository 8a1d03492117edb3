/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_spool.c -- libFuzzer target: the spool record reader. The input is
 * written as a segment file; the spool is opened (scan and repair), every
 * record read back and parsed as a message, acked, appended to, closed,
 * and opened again: the repaired file must then scan clean. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/msg.h"
#include "transport/spool.h"

static char dir[64], seg[128], acked[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    snprintf(dir, sizeof(dir), "/tmp/hp-fuzz-spool-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/s", dir);
    if (mkdir(sub, 0700) != 0)
        abort();
    snprintf(seg, sizeof(seg), "%s/0000000000000000.seg", sub);
    snprintf(acked, sizeof(acked), "%s/acked", sub);
    return 0;
}

static void clean(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "find %s/s -type f -delete", dir);
    if (system(cmd) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clean();
    FILE *f = fopen(seg, "w");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    struct hp_spool_cfg cfg = {.directory = dir,
                               .max_bytes = 1 << 20,
                               .segment_bytes = 1 << 16,
                               .fsync = HP_FSYNC_NEVER,
                               .fsync_interval = 1};
    char err[256];
    struct hp_spool *sp = hp_spool_open(&cfg, "s", err, sizeof(err));
    if (!sp)
        abort();
    const char *rec;
    size_t len;
    uint64_t pos = 0, n = 0, want = hp_spool_unread(sp);
    while (hp_spool_read(sp, &rec, &len, &pos) == 1) {
        hp_msg_unref(hp_msg_parse(rec, len));
        n++;
    }
    if (n != want)
        __builtin_trap(); /* the scan and the reader disagree */
    if (n)
        hp_spool_ack(sp, pos + 1);
    if (hp_spool_append(sp, "{}", 2, false, &pos) != 0)
        abort();
    hp_spool_close(sp);
    sp = hp_spool_open(&cfg, "s", err, sizeof(err));
    if (!sp || hp_spool_stats(sp)->corrupt != 0 || hp_spool_unread(sp) != 1)
        __builtin_trap(); /* repaired segments must reopen clean */
    hp_spool_close(sp);
    return 0;
}
