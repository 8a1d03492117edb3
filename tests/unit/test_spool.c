/* test_spool.c -- the disk spool: CRC-32C check value, append/read order,
 * replay after reopen from the acked offset, torn and corrupt tails cut on
 * open, the max_bytes budget dropping the oldest segments (counted), and
 * deletion of fully acked segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "transport/spool.h"
#include "tests/unit/testutil.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    return hp_test_mkdtemp(tmpdir, sizeof(tmpdir), "spool") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return hp_test_rmtree(tmpdir);
}

static struct hp_spool_cfg cfg(void)
{
    return (struct hp_spool_cfg){.directory = tmpdir,
                                 .max_bytes = 1 << 20,
                                 .segment_bytes = 4096,
                                 .fsync = HP_FSYNC_NEVER,
                                 .fsync_interval = 1.0};
}

static struct hp_spool *open_ok(const struct hp_spool_cfg *c)
{
    char err[256];
    struct hp_spool *sp = hp_spool_open(c, "s", err, sizeof(err));
    assert_non_null(sp);
    return sp;
}

static void append_n(struct hp_spool *sp, int from, int to)
{
    char buf[64];
    for (int i = from; i < to; i++) {
        int n = snprintf(buf, sizeof(buf), "record %06d", i);
        uint64_t pos;
        assert_int_equal(hp_spool_append(sp, buf, (size_t)n, false, &pos), 0);
        assert_int_equal(pos, (uint64_t)i);
    }
}

/* Read everything unread; check each record is "record <its number>". */
static int read_all(struct hp_spool *sp, uint64_t *first, uint64_t *last)
{
    const char *d;
    size_t len;
    uint64_t pos;
    int n = 0;
    while (hp_spool_read(sp, &d, &len, &pos) == 1) {
        char want[64];
        snprintf(want, sizeof(want), "record %06d", (int)pos);
        assert_int_equal(len, strlen(want));
        assert_memory_equal(d, want, len);
        if (n == 0 && first)
            *first = pos;
        if (last)
            assert_true(n == 0 || pos > *last);
        if (last)
            *last = pos;
        n++;
    }
    return n;
}

static int count_segments(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/s", tmpdir);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".seg") != NULL;
    closedir(d);
    return n;
}

static void crc_check_value(void **state)
{
    (void)state;
    assert_int_equal(hp_crc32c(0, "123456789", 9), 0xe3069283u);
    assert_int_equal(hp_crc32c(hp_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
    assert_int_equal(hp_crc32c(0, "", 0), 0);
}

static void append_read_ack(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    struct hp_spool *sp = open_ok(&c);
    assert_int_equal(count_segments(), 0); /* nothing created before a write */
    append_n(sp, 0, 1000);
    assert_int_equal(hp_spool_unread(sp), 1000);
    assert_true(count_segments() > 1); /* 4 KiB segments */
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all(sp, &first, &last), 1000);
    assert_int_equal(first, 0);
    assert_int_equal(last, 999);
    hp_spool_ack(sp, 500);
    assert_true(hp_spool_stats(sp)->segments < 10);
    hp_spool_ack(sp, 1000);
    assert_int_equal(count_segments(), 0);
    assert_int_equal(hp_spool_stats(sp)->dropped, 0);
    hp_spool_close(sp);
}

static void replay_after_reopen(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    struct hp_spool *sp = open_ok(&c);
    append_n(sp, 0, 300);
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all(sp, &first, &last), 300);
    hp_spool_ack(sp, 120);
    hp_spool_close(sp); /* saves acked = 120 */
    sp = open_ok(&c);
    assert_int_equal(hp_spool_unread(sp), 180);
    assert_int_equal(read_all(sp, &first, &last), 180);
    assert_int_equal(first, 120);
    assert_int_equal(last, 299);
    append_n(sp, 300, 310); /* numbering continues */
    hp_spool_ack(sp, 310);
    hp_spool_close(sp);
    sp = open_ok(&c);
    assert_int_equal(hp_spool_unread(sp), 0);
    append_n(sp, 310, 311);
    hp_spool_close(sp);
}

static void seg_file(char *buf, size_t len, uint64_t first)
{
    snprintf(buf, len, "%s/s/%016llx.seg", tmpdir, (unsigned long long)first);
}

static void torn_tail_is_cut(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    c.segment_bytes = 1 << 20;
    struct hp_spool *sp = open_ok(&c);
    append_n(sp, 0, 10);
    hp_spool_close(sp);
    char path[128];
    seg_file(path, sizeof(path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 3), 0); /* crash mid-record */
    sp = open_ok(&c);
    assert_int_equal(hp_spool_stats(sp)->corrupt, 1);
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all(sp, &first, &last), 9);
    append_n(sp, 9, 12); /* the cut record's number is reused */
    assert_int_equal(read_all(sp, &first, &last), 3);
    hp_spool_close(sp);
}

static void corrupt_record_truncates_rest(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    c.segment_bytes = 1 << 20;
    struct hp_spool *sp = open_ok(&c);
    append_n(sp, 0, 10);
    hp_spool_close(sp);
    char path[128];
    seg_file(path, sizeof(path), 0);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    /* records are 8 + 13 bytes after the 8-byte magic: flip a byte of #4 */
    assert_int_equal(pwrite(fd, "X", 1, 8 + 4 * 21 + 10), 1);
    /* and garbage appended after the end */
    assert_int_equal(pwrite(fd, "\xff\xff\xff\xff", 4, 8 + 10 * 21), 4);
    close(fd);
    sp = open_ok(&c);
    assert_int_equal(hp_spool_stats(sp)->corrupt, 1);
    uint64_t first = 0, last = 0;
    assert_int_equal(read_all(sp, &first, &last), 4);
    hp_spool_close(sp);

    /* a bad magic leaves nothing of the segment */
    fd = open(path, O_RDWR);
    assert_int_equal(pwrite(fd, "NOTSPOOL", 8, 0), 8);
    close(fd);
    sp = open_ok(&c);
    assert_int_equal(hp_spool_unread(sp), 0);
    hp_spool_close(sp);
}

static void budget_drops_oldest(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    c.max_bytes = 65536;
    struct hp_spool *sp = open_ok(&c);
    append_n(sp, 0, 10000); /* 210 KB of records */
    const struct hp_spool_stats *st = hp_spool_stats(sp);
    assert_true(st->bytes <= c.max_bytes);
    assert_true(st->dropped > 0);
    uint64_t first = 0, last = 0;
    int n = read_all(sp, &first, &last);
    assert_int_equal(last, 9999);
    assert_int_equal((uint64_t)n + st->dropped, 10000); /* each one read or counted */
    hp_spool_close(sp);
}

static void max_age_drops_old_segments(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    c.max_age = 0.05;
    struct hp_spool *sp = open_ok(&c);
    append_n(sp, 0, 500);
    hp_spool_sync(sp, 0);
    assert_int_equal(hp_spool_stats(sp)->dropped, 0); /* young enough */
    usleep(100 * 1000);
    hp_spool_sync(sp, 1);
    assert_int_equal(hp_spool_stats(sp)->dropped, 500);
    assert_int_equal(hp_spool_unread(sp), 0);
    assert_int_equal(count_segments(), 0);
    append_n(sp, 500, 501); /* and it goes on */
    assert_int_equal(hp_spool_unread(sp), 1);
    hp_spool_close(sp);
}

static void consume_keeps_read_in_step(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    struct hp_spool *sp = open_ok(&c);
    uint64_t pos;
    assert_int_equal(hp_spool_append(sp, "a", 1, true, &pos), 0);
    assert_int_equal(hp_spool_unread(sp), 0); /* the caller kept it */
    assert_int_equal(hp_spool_append(sp, "b", 1, false, &pos), 0);
    assert_int_equal(hp_spool_append(sp, "c", 1, true, &pos), 0);
    assert_int_equal(hp_spool_unread(sp), 2); /* c is behind b: not consumed */
    const char *d;
    size_t len;
    assert_int_equal(hp_spool_read(sp, &d, &len, &pos), 1);
    assert_int_equal(pos, 1);
    assert_memory_equal(d, "b", 1);
    assert_int_equal(hp_spool_read(sp, &d, &len, &pos), 1);
    assert_memory_equal(d, "c", 1);
    assert_int_equal(hp_spool_read(sp, &d, &len, &pos), 0);
    hp_spool_close(sp);
}

static void unwritable_directory_fails_cleanly(void **state)
{
    (void)state;
    char file[128];
    snprintf(file, sizeof(file), "%s/file", tmpdir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    struct hp_spool_cfg c = cfg();
    c.directory = file; /* a regular file: no directory can be made under it */
    struct hp_spool *sp = open_ok(&c);
    uint64_t pos;
    assert_int_equal(hp_spool_append(sp, "a", 1, false, &pos), -1);
    assert_int_equal(hp_spool_stats(sp)->failed, 1);
    assert_int_equal(hp_spool_unread(sp), 0);
    hp_spool_close(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_check_value),
        cmocka_unit_test_setup_teardown(append_read_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_after_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_record_truncates_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(budget_drops_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(max_age_drops_old_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(consume_keeps_read_in_step, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_directory_fails_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
