/* SPDX-License-Identifier: Apache-2.0 */
/* test_spool.c -- the disk spool: CRC-32C check value, append/read order,
 * replay after reopen from the acked offset, torn and corrupt tails cut on
 * open, the max_bytes budget dropping the oldest segments (counted), and
 * deletion of fully acked segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/msg.h"
#include "transport/deadletter.h"
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
        int n = snprintf(buf, sizeof(buf), "{record %06d}", i);
        uint64_t pos;
        assert_int_equal(hp_spool_append(sp, buf, (size_t)n, false, &pos), 0);
        assert_int_equal(pos, (uint64_t)i);
    }
}

/* Read everything unread; check each record is "{record <its number>}". */
static int read_all(struct hp_spool *sp, uint64_t *first, uint64_t *last)
{
    const char *d;
    size_t len;
    uint64_t pos;
    int n = 0;
    while (hp_spool_read(sp, &d, &len, &pos) == 1) {
        char want[64];
        snprintf(want, sizeof(want), "{record %06d}", (int)pos);
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

/* Which of the records "{record %06d}" 0..n-1 were read; returns how many
 * records were read. Numbers may jump after damage, so the payload says
 * which record it is; positions must only grow. */
static int read_set(struct hp_spool *sp, bool *seen, int n)
{
    const char *d;
    size_t len;
    uint64_t pos, prev = 0;
    int got = 0;
    while (hp_spool_read(sp, &d, &len, &pos) == 1) {
        int k = -1;
        char tmp[64];
        assert_true(len < sizeof(tmp));
        memcpy(tmp, d, len);
        tmp[len] = '\0';
        assert_int_equal(sscanf(tmp, "{record %d}", &k), 1);
        assert_true(k >= 0 && k < n);
        assert_true(got == 0 || pos > prev);
        prev = pos;
        seen[k] = true;
        got++;
    }
    return got;
}

/* 30 records of 23 bytes after the 8-byte magic. */
#define REC(i) (8 + (i)*23)

static void damage(uint64_t first, off_t off, const void *bytes, size_t n)
{
    char path[128];
    seg_file(path, sizeof(path), first);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void write_acked(const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/s/acked", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static struct hp_spool *thirty(struct hp_spool_cfg *c)
{
    *c = cfg();
    c->segment_bytes = 1 << 20;
    struct hp_spool *sp = open_ok(c);
    append_n(sp, 0, 30);
    hp_spool_close(sp);
    return NULL;
}

/* Open after damage; every record except `lost` must be read, and the
 * replay count must be exactly what is read. */
static void expect_all_but(const struct hp_spool_cfg *c, int lost, uint64_t corrupt)
{
    struct hp_spool *sp = open_ok(c);
    assert_int_equal(hp_spool_stats(sp)->corrupt, corrupt);
    uint64_t unread = hp_spool_unread(sp);
    bool seen[30] = {0};
    int got = read_set(sp, seen, 30);
    assert_int_equal(unread, (uint64_t)got);
    for (int i = 0; i < 30; i++)
        assert_true(seen[i] == (i != lost));
    assert_int_equal(hp_spool_unread(sp), 0);
    hp_spool_close(sp);
}

static void flipped_bytes_skip_one_record(void **state)
{
    (void)state;
    /* a payload byte, a length byte, a CRC byte, each in a different record */
    static const off_t where[][2] = {{5, 10}, {5, 0}, {5, 3}, {5, 6}, {0, 12}, {29, 9}, {17, 1}};
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        struct hp_spool_cfg c;
        thirty(&c);
        int rec = (int)where[i][0];
        damage(0, REC(rec) + where[i][1], "\x7f", 1);
        expect_all_but(&c, rec, rec == 29 ? 1 : 1);
        hp_test_rmtree(tmpdir);
        assert_int_equal(mkdir(tmpdir, 0700), 0);
    }
}

static void bad_magic_keeps_the_records(void **state)
{
    (void)state;
    struct hp_spool_cfg c;
    thirty(&c);
    damage(0, 0, "NOTSPOOL", 8);
    expect_all_but(&c, -1, 1);
}

static void huge_length_and_torn_tail(void **state)
{
    (void)state;
    struct hp_spool_cfg c;
    thirty(&c);
    damage(0, REC(7), "\xff\xff\xff\x7f", 4);          /* a length past the limit */
    damage(0, REC(30), "\x05\x00\x00\x00garbage", 11); /* a torn tail after the end */
    expect_all_but(&c, 7, 2);
    char path[128];
    seg_file(path, sizeof(path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, REC(30)); /* only the tail was cut */
}

/* Damage below the acked mark must not make a later record look acked. */
static void damage_below_acked_loses_nothing(void **state)
{
    (void)state;
    struct hp_spool_cfg c;
    thirty(&c);
    write_acked("10\n");
    damage(0, REC(5) + 10, "\x7f", 1);
    struct hp_spool *sp = open_ok(&c);
    bool seen[30] = {0};
    read_set(sp, seen, 30);
    for (int i = 10; i < 30; i++)
        assert_true(seen[i]);
    hp_spool_close(sp);
}

static void bad_acked_replays_everything(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "-1\n", "18446744073709551615\n", "abc\n", "12x\n", "99999\n", "", "10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hp_spool_cfg c;
        thirty(&c);
        write_acked(bad[i]);
        expect_all_but(&c, -1, 0);
        /* and the numbering goes on from the records, not from garbage */
        struct hp_spool *sp = open_ok(&c);
        uint64_t pos;
        assert_int_equal(hp_spool_append(sp, "x", 1, false, &pos), 0);
        assert_int_equal(pos, 30);
        hp_spool_close(sp);
        hp_test_rmtree(tmpdir);
        assert_int_equal(mkdir(tmpdir, 0700), 0);
    }
}

static void symlinked_segment_is_not_followed(void **state)
{
    (void)state;
    struct hp_spool_cfg c;
    thirty(&c);
    char outside[128], link[128];
    snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
    FILE *f = fopen(outside, "w");
    assert_non_null(f);
    fputs("HPSPOOL1 not yours", f);
    fclose(f);
    seg_file(link, sizeof(link), 30);
    assert_int_equal(symlink(outside, link), 0);
    struct hp_spool *sp = open_ok(&c);
    bool seen[30] = {0};
    assert_int_equal(read_set(sp, seen, 30), 30);
    uint64_t pos;
    assert_int_equal(hp_spool_append(sp, "{record 000030}", 15, false, &pos), 0);
    hp_spool_close(sp);
    struct stat st;
    assert_int_equal(stat(outside, &st), 0);
    assert_int_equal(st.st_size, 18); /* untouched */
}

static void unsafe_directories_are_refused(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    char err[256], dir[128];
    assert_null(hp_spool_open(&c, "../x", err, sizeof(err)));
    assert_non_null(strstr(err, "sink name"));
    assert_null(hp_spool_open(&c, "", err, sizeof(err)));
    snprintf(dir, sizeof(dir), "%s/s", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    assert_null(hp_spool_open(&c, "s", err, sizeof(err)));
    assert_non_null(strstr(err, "writable by every user"));
    assert_int_equal(chmod(dir, 0750), 0);
    struct hp_spool *sp = open_ok(&c); /* a second agent on it fails clearly */
    assert_null(hp_spool_open(&c, "s", err, sizeof(err)));
    assert_non_null(strstr(err, "in use by another hostpulse"));
    hp_spool_close(sp);
    sp = open_ok(&c); /* and the lock goes with the spool */
    hp_spool_close(sp);
}

/* A reporter name read back from the spool names files downstream (CSV):
 * one that could leave a directory is refused, like a bad sink name. */
static void names_from_the_spool_are_checked(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "../../pwned", "..", ".hidden", "-rf",
        "a/b",         "",   "x\\y",    "0123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(hp_name_ok(bad[i]));
        char json[256];
        int n = snprintf(json, sizeof(json), "{\"reporter\":\"%s\",\"seq\":1,\"ts\":2}", bad[i]);
        assert_null(hp_msg_parse(json, (size_t)n));
    }
    static const char *const good[] = {"cpu", "agent", "session", "my-sink_2", "es.file"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(hp_name_ok(good[i]));
    const char *ok = "{\"reporter\":\"cpu\",\"seq\":1,\"ts\":2}";
    struct hp_msg *m = hp_msg_parse(ok, strlen(ok));
    assert_non_null(m);
    hp_msg_unref(m);
}

static bool only_s(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "s") == 0;
}

static struct hp_spool *no_heir(const char *type, void *ud)
{
    (void)type;
    (void)ud;
    return NULL;
}

static struct hp_spool *heir_for_csv(const char *type, void *ud)
{
    return strcmp(type, "csv") == 0 ? ud : NULL;
}

static bool exists(const char *sub)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
    return stat(path, &st) == 0;
}

/* Spools of sinks that are gone: removed once empty, kept (and logged)
 * while they hold messages; one in use (flocked) is not touched. */
static void orphan_spools_are_removed_only_when_empty(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    char err[256];
    const char *names[] = {"full", "empty", "busy"};
    for (size_t i = 0; i < 3; i++) {
        struct hp_spool *sp = hp_spool_open(&c, names[i], err, sizeof(err));
        assert_non_null(sp);
        uint64_t pos;
        for (int k = 0; k < 3; k++)
            assert_int_equal(hp_spool_append(sp, "{}", 2, false, &pos), 0);
        if (i == 1)
            hp_spool_ack(sp, 3);
        hp_spool_close(sp);
    }
    struct hp_spool *live = open_ok(&c);
    append_n(live, 0, 1); /* the live sink's own spool: never an orphan */
    const struct hp_spool_live lv = {only_s, no_heir, NULL};
    struct hp_spool *busy = hp_spool_open(&c, "busy", err, sizeof(err));
    assert_non_null(busy);
    hp_spool_ack(busy, 3); /* empty, but still open elsewhere */
    hp_spool_orphans(&c, &lv);
    assert_true(exists("full/0000000000000000.seg"));
    assert_false(exists("empty"));
    assert_true(exists("busy"));
    hp_spool_close(busy);
    hp_spool_close(live);
    hp_spool_orphans(&c, &lv);
    assert_false(exists("busy"));
    assert_true(exists("full/0000000000000000.seg"));
    assert_true(exists("s"));
}

/* A removed sink's messages go to a live sink of the same type, once. */
static void orphan_messages_go_to_a_sink_of_the_same_type(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    char err[256];
    struct hp_spool *old = hp_spool_open(&c, "oldcsv", err, sizeof(err));
    assert_non_null(old);
    hp_spool_set_type(old, "csv");
    append_n(old, 0, 5);
    hp_spool_close(old);
    struct hp_spool *other = hp_spool_open(&c, "oldes", err, sizeof(err));
    assert_non_null(other);
    hp_spool_set_type(other, "elasticsearch");
    append_n(other, 0, 3);
    hp_spool_close(other);
    struct hp_spool *live = open_ok(&c);
    hp_spool_set_type(live, "csv");
    const struct hp_spool_live lv = {only_s, heir_for_csv, live};
    hp_spool_orphans(&c, &lv);
    assert_false(exists("oldcsv"));
    assert_true(exists("oldes/0000000000000000.seg")); /* no elasticsearch sink: kept */
    uint64_t first = 0, last = 0;
    assert_int_equal(hp_spool_unread(live), 5);
    assert_int_equal(read_all(live, &first, &last), 5); /* "{record N}" at position N */
    hp_spool_close(live);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Dead letters: one JSON line per message with time, sink, reason and the
 * envelope as a string; the file rotates to .1 past its bound, so at most
 * twice the bound is kept; a planted link is never written through. */
static void dead_letters_are_bounded_json_lines(void **state)
{
    (void)state;
    const char *env = "{\"v\":1,\"reporter\":\"cpu\",\"seq\":7,\"ts\":1,\"data\":{}}";
    struct hp_msg *m = hp_msg_new("cpu", 7, 1, env, strlen(env));
    assert_non_null(m);
    char path[256], old[300];
    hp_dead_letter_path(tmpdir, "es", path, sizeof(path));
    snprintf(old, sizeof(old), "%s.1", path);
    assert_int_equal(hp_dead_letter_write(tmpdir, "es", 4096, m, "item status 400: bad"), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    json_object *o = json_tokener_parse(line), *v;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "message", &v));
    assert_string_equal(json_object_get_string(v), env);
    assert_true(json_object_object_get_ex(o, "reason", &v));
    assert_string_equal(json_object_get_string(v), "item status 400: bad");
    assert_true(json_object_object_get_ex(o, "sink", &v));
    assert_string_equal(json_object_get_string(v), "es");
    assert_true(json_object_object_get_ex(o, "time", &v));
    assert_int_equal(strlen(json_object_get_string(v)), 24); /* 2026-11-27T23:04:05.123Z */
    json_object_put(o);
    for (int i = 0; i < 200; i++)
        assert_int_equal(hp_dead_letter_write(tmpdir, "es", 4096, m, "x"), 0);
    assert_true(file_size(path) <= 4096);
    assert_true(file_size(old) > 0 && file_size(old) <= 4096);
    unlink(path);
    char outside[256];
    snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
    assert_int_equal(symlink(outside, path), 0);
    assert_int_equal(hp_dead_letter_write(tmpdir, "es", 4096, m, "x"), -1);
    assert_int_equal(file_size(outside), -1); /* never created through the link */
    hp_msg_unref(m);
}

static void budget_drops_oldest(void **state)
{
    (void)state;
    struct hp_spool_cfg c = cfg();
    c.max_bytes = 65536;
    struct hp_spool *sp = open_ok(&c);
    append_n(sp, 0, 10000); /* 230 KB of records */
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
    struct hp_spool_sync job;
    hp_spool_sync(sp, 0, &job);
    hp_spool_sync_run(&job);
    assert_int_equal(hp_spool_stats(sp)->dropped, 0); /* young enough */
    usleep(100 * 1000);
    hp_spool_sync(sp, 1, &job);
    hp_spool_sync_run(&job);
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
        cmocka_unit_test_setup_teardown(flipped_bytes_skip_one_record, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_magic_keeps_the_records, setup, teardown),
        cmocka_unit_test_setup_teardown(huge_length_and_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(damage_below_acked_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_acked_replays_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(symlinked_segment_is_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(unsafe_directories_are_refused, setup, teardown),
        cmocka_unit_test(names_from_the_spool_are_checked),
        cmocka_unit_test_setup_teardown(dead_letters_are_bounded_json_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(orphan_spools_are_removed_only_when_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(orphan_messages_go_to_a_sink_of_the_same_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(budget_drops_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(max_age_drops_old_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(consume_keeps_read_in_step, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_directory_fails_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
