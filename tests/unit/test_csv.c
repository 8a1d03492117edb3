/* SPDX-License-Identifier: Apache-2.0 */
/* test_csv.c -- the CSV sink through its ops with crafted messages: header,
 * flattening, quoting, appending to an existing file, a torn last line cut
 * on reopen, header growth, daily and size rotation, and a clear error when
 * the directory cannot be created. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/units.h"
#include "transport/backlog.h"
#include "transport/transport.h"

/* A file of the sink's directory, whole (caller frees). */
static char *slurp_in(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return slurp(path);
}

#define SESSION "5f0c1c2e-0000-4000-8000-000000000001"
#define DAY1    1763769599900LL /* 2025-11-21T23:59:59.900Z */
#define DAY2    1763769600100LL /* 2025-11-22T00:00:00.100Z */

struct fx {
    config_t cfg;
    struct hp_sink s;
    bool made; /* s and cfg are set up: teardown frees them */
    char dir[64];
    char tmp[64]; /* the temporary directory: dir, unless a test points dir below it */
};

static struct hp_msg *mk_from(const char *reporter, uint64_t seq, int64_t ts, const char *data)
{
    char json[4096];
    int n = snprintf(json, sizeof(json),
                     "{\"v\":1,\"host\":\"h1\",\"reporter\":\"%s\",\"ts\":%lld,\"session\":\"%s\","
                     "\"seq\":%llu,\"interval\":1,\"data\":%s}",
                     reporter, (long long)ts, SESSION, (unsigned long long)seq, data);
    return hp_msg_new(reporter, seq, ts, json, (size_t)n);
}

static struct hp_msg *mk(uint64_t seq, int64_t ts, const char *data)
{
    return mk_from("cpu", seq, ts, data);
}

static void make_sink(struct fx *f, const char *extra)
{
    char text[512];
    snprintf(text, sizeof(text), "s = { directory = \"%s\"; %s };", f->dir, extra);
    config_init(&f->cfg);
    assert_int_equal(config_read_string(&f->cfg, text), CONFIG_TRUE);
    memset(&f->s, 0, sizeof(f->s));
    f->s.ops = hp_sink_find("csv");
    snprintf(f->s.name, sizeof(f->s.name), "csv");
    f->s.cfg = config_lookup(&f->cfg, "s");
    struct hp_errs errs = {0};
    f->made = true;
    assert_int_equal(hp_sink_setup(&f->s, f->s.ops, f->s.cfg, NULL, &errs), 0);
}

/* Close and free the sink (an agent restart when made again). */
static void free_sink(struct fx *f)
{
    f->s.ops->close(&f->s);
    hp_sink_teardown(&f->s);
    config_destroy(&f->cfg);
    f->made = false;
}

/* Messages in the sink's backlog: queued, or taken and not yet acked. */
static size_t unconfirmed(struct fx *f)
{
    return hp_backlog_count(hp_sink_backlog(&f->s));
}

/* Open the sink and offer what the backlog holds in one write(), as the
 * engine does; when write() fails, the engine's part too: close the sink
 * and re-queue every message not acked. Returns write's result. */
static int write_backlog(struct fx *f)
{
    struct hp_backlog *b = hp_sink_backlog(&f->s);
    struct hp_out out[16];
    if (f->s.ops->open(&f->s) != 0)
        return -1;
    size_t n = hp_backlog_take(b, out, 16);
    int rc = f->s.ops->write(&f->s, out, n);
    if (rc < 0) {
        f->s.ops->close(&f->s);
        hp_backlog_requeue(b);
    }
    return rc;
}

/* Put msgs[0..n) (consumed) in the sink's backlog. */
static void queue(struct fx *f, struct hp_msg **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hp_backlog_push(hp_sink_backlog(&f->s), msgs[i]);
        hp_msg_unref(msgs[i]);
    }
}

/* Queue msgs[0..n) and offer them in one write(); returns its result. */
static int offer_batch(struct fx *f, struct hp_msg **msgs, size_t n)
{
    queue(f, msgs, n);
    return write_backlog(f);
}

/* Offer one message (consumed) in a write() of its own. */
static int offer(struct fx *f, struct hp_msg *m)
{
    return offer_batch(f, &m, 1);
}

/* The file name of f->dir holds exactly want. */
static void assert_file(struct fx *f, const char *name, const char *want)
{
    char *t = slurp_in(f->dir, name);
    if (!t)
        fail_msg("%s/%s cannot be read", f->dir, name);
    assert_string_equal(t, want);
    free(t);
}

/* Files in f->dir, sorted; returns how many (names into out). */
static int list(struct fx *f, char out[][64], int max)
{
    struct dirent **ents;
    int n = scandir(f->dir, &ents, NULL, alphasort), k = 0;
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.' && k < max)
            snprintf(out[k++], 64, "%.63s", ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    return k;
}

/* f->dir holds exactly the files named in want, sorted and separated by
 * spaces ("cpu-20251121T235959Z.csv cpu.csv"). */
static void assert_files(struct fx *f, const char *want)
{
    char names[32][64], got[32 * 65] = "";
    int n = list(f, names, 32);
    for (int i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", names[i]);
    assert_string_equal(got, want);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(hp_test_mkdtemp(f->dir, sizeof(f->dir), "csv"));
    memcpy(f->tmp, f->dir, sizeof(f->tmp));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->made)
        free_sink(f);
    int rc = hp_test_rmtree(f->tmp);
    free(f);
    return rc;
}

static void header_flattening_quoting(void **state)
{
    struct fx *f = *state;
    make_sink(f, "");
    assert_int_equal(
        offer(f, mk(1, DAY1,
                    "{\"a\":1,\"b\":{\"c\":\"x,y\"},\"l\":[1,2.5],\"q\":\"say \\\"hi\\\"\"}")),
        1);
    assert_int_equal(unconfirmed(f), 0);
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.a,cpu.b.c,cpu.l.0,cpu.l.1,cpu.q\n"
                "1763769599900,h1," SESSION ",1,1,\"x,y\",1,2.5,\"say \"\"hi\"\"\"\n");
}

/* Scalars print as json-c prints them (the sink formats integers and
 * booleans itself): the int64 and uint64 extremes, negatives, booleans,
 * null, doubles as written, and array indexes past one digit. */
static void scalar_values_as_json_prints_them(void **state)
{
    struct fx *f = *state;
    make_sink(f, "");
    assert_int_equal(offer(f, mk(1, DAY1,
                                 "{\"a\":0,\"b\":-1,\"c\":-9223372036854775808,"
                                 "\"d\":9223372036854775807,\"e\":18446744073709551615,"
                                 "\"f\":true,\"g\":false,\"h\":null,\"i\":2.50,\"j\":-0.001,"
                                 "\"k\":[0,1,2,3,4,5,6,7,8,9,10,11]}")),
                     1);
    char *t = slurp_in(f->dir, "cpu.csv");
    assert_non_null(strstr(t, ",cpu.k.9,cpu.k.10,cpu.k.11\n"));
    assert_non_null(strstr(t, ",1,0,-1,-9223372036854775808,9223372036854775807,"
                              "18446744073709551615,true,false,,2.50,-0.001,"
                              "0,1,2,3,4,5,6,7,8,9,10,11\n"));
    free(t);
}

/* A string that is not UTF-8 (a mount point in Latin-1: json-c writes
 * its bytes as they are) is written as the message had it, not dropped. */
static void strings_keep_bytes_that_are_not_utf8(void **state)
{
    struct fx *f = *state;
    make_sink(f, "");
    assert_int_equal(offer(f, mk(1, DAY1, "{\"mount\":\"/mnt/caf\xe9\",\"n\":1}")), 1);
    assert_int_equal(unconfirmed(f), 0);
    char *t = slurp_in(f->dir, "cpu.csv");
    assert_non_null(t);
    assert_non_null(strstr(t, "," SESSION ",1,/mnt/caf\xe9,1\n"));
    free(t);
}

static void append_keeps_header_and_cuts_torn_line(void **state)
{
    struct fx *f = *state;
    make_sink(f, "");
    assert_int_equal(offer(f, mk(1, DAY1, "{\"a\":1,\"b\":2}")), 1);
    free_sink(f);
    char path[128];
    snprintf(path, sizeof(path), "%s/cpu.csv", f->dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "1763769599950,h1,tor", 21), 21); /* a crash mid-row */
    close(fd);
    make_sink(f, "");
    assert_int_equal(offer(f, mk(2, DAY1 + 10, "{\"b\":4}")), 1); /* a subset of columns */
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.a,cpu.b\n"
                "1763769599900,h1," SESSION ",1,1,2\n"
                "1763769599910,h1," SESSION ",2,,4\n");
    assert_files(f, "cpu.csv");
}

static void header_growth_rotates(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\"; rewrite_bytes = 0;");
    assert_int_equal(offer(f, mk(1, DAY1, "{\"a\":1}")), 1);
    assert_int_equal(offer(f, mk(2, DAY1 + 20, "{\"a\":2,\"z\":3}")), 1);
    assert_files(f, "cpu-20251121T235959Z.csv cpu.csv");
    assert_file(f, "cpu-20251121T235959Z.csv",
                "ts [epoch_ms],host,session,seq,cpu.a\n"
                "1763769599900,h1," SESSION ",1,1\n");
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.a,cpu.z\n"
                "1763769599920,h1," SESSION ",2,2,3\n");
}

/* The sink remembers each file's last keys and their columns: the same
 * keys in another order, fewer keys, and the first order again each land
 * in their own columns, after a rotation too (the columns start again). */
static void keys_in_another_order_find_their_columns(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\"; rewrite_bytes = 0;");
    assert_int_equal(offer(f, mk(1, DAY1, "{\"a\":1,\"b\":2}")), 1);
    assert_int_equal(offer(f, mk(2, DAY1 + 20, "{\"b\":3,\"a\":4}")), 1);
    assert_int_equal(offer(f, mk(3, DAY1 + 40, "{\"b\":5}")), 1);
    assert_int_equal(offer(f, mk(4, DAY1 + 60, "{\"a\":6,\"b\":7}")), 1);
    assert_int_equal(offer(f, mk(5, DAY1 + 80, "{\"z\":8,\"b\":9,\"a\":10}")), 1);
    assert_int_equal(offer(f, mk(6, DAY1 + 100, "{\"z\":11,\"b\":12,\"a\":13}")), 1);
    assert_file(f, "cpu-20251121T235959Z.csv",
                "ts [epoch_ms],host,session,seq,cpu.a,cpu.b\n"
                "1763769599900,h1," SESSION ",1,1,2\n"
                "1763769599920,h1," SESSION ",2,4,3\n"
                "1763769599940,h1," SESSION ",3,,5\n"
                "1763769599960,h1," SESSION ",4,6,7\n");
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.a,cpu.b,cpu.z\n"
                "1763769599980,h1," SESSION ",5,10,9,8\n"
                "1763769600000,h1," SESSION ",6,13,12,11\n");
}

/* A new column in a small file: the file is rewritten with the wider
 * header, the old rows padded, nothing moved aside (issue 16: agent.csv was
 * rotated after one row on a first start). */
static void header_growth_rewrites_a_small_file(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\";");
    assert_int_equal(offer(f, mk(1, DAY1, "{\"a\":1,\"s\":\"x\\ny\"}")), 1);
    assert_int_equal(offer(f, mk(2, DAY1 + 20, "{\"a\":2,\"z\":3}")), 1);
    assert_int_equal(offer(f, mk(3, DAY1 + 40, "{\"a\":4,\"z\":5}")), 1);
    assert_files(f, "cpu.csv");
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.a,cpu.s,cpu.z\n"
                "1763769599900,h1," SESSION ",1,1,\"x\ny\",\n"
                "1763769599920,h1," SESSION ",2,2,,3\n"
                "1763769599940,h1," SESSION ",3,4,,5\n");
}

/* Per-device records go to <reporter>.<group>.csv, one row per device; the
 * main file's header holds no device names. */
static void devices_are_rows_of_a_group_file(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\";");
    assert_int_equal(offer(f, mk(1, DAY1,
                                 "{\"n\":2,\"times\":{\"u\":1},"
                                 "\"nics\":{\"eth0\":{\"rx\":5},\"wlan0\":{\"rx\":6}},"
                                 "\"cpus\":[{\"u\":7},{\"u\":8}],"
                                 "\"ips\":{\"eth0\":[{\"a\":\"x\"},{\"a\":\"y\"}]}}")),
                     1);
    /* another host's names: the same columns */
    assert_int_equal(offer(f, mk(2, DAY1 + 20,
                                 "{\"n\":3,\"times\":{\"u\":2},"
                                 "\"nics\":{\"enp1s0\":{\"rx\":9}},"
                                 "\"cpus\":[{\"u\":1}],\"ips\":{}}")),
                     1);
    assert_files(f, "cpu.cpus.csv cpu.csv cpu.ips.csv cpu.nics.csv");
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.n,cpu.times.u\n"
                "1763769599900,h1," SESSION ",1,2,1\n"
                "1763769599920,h1," SESSION ",2,3,2\n");
    assert_file(f, "cpu.nics.csv",
                "ts [epoch_ms],host,session,seq,device,rx\n"
                "1763769599900,h1," SESSION ",1,eth0,5\n"
                "1763769599900,h1," SESSION ",1,wlan0,6\n"
                "1763769599920,h1," SESSION ",2,enp1s0,9\n");
    assert_file(f, "cpu.cpus.csv",
                "ts [epoch_ms],host,session,seq,device,u\n"
                "1763769599900,h1," SESSION ",1,0,7\n"
                "1763769599900,h1," SESSION ",1,1,8\n"
                "1763769599920,h1," SESSION ",2,0,1\n");
    assert_file(f, "cpu.ips.csv",
                "ts [epoch_ms],host,session,seq,device,a\n"
                "1763769599900,h1," SESSION ",1,eth0,x\n"
                "1763769599900,h1," SESSION ",1,eth0,y\n");
    assert_int_equal(unconfirmed(f), 0); /* both confirmed */
}

/* A record's own field named like a lead column (disk.filesystems'
 * `device`) gets the group's name and leaves the row's key alone. */
static void a_record_field_named_device_keeps_the_key(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\"; header_units = false;");
    assert_int_equal(offer(f, mk(1, DAY1,
                                 "{\"filesystems\":{\"/\":{\"device\":\"/dev/vda\","
                                 "\"seq\":7,\"free\":1}}}")),
                     1);
    assert_file(f, "cpu.filesystems.csv",
                "ts,host,session,seq,device,filesystems.device,filesystems.seq,free\n"
                "1763769599900,h1," SESSION ",1,/,/dev/vda,7,1\n");
}

/* max_files caps a reporter's files: the current one and the newest
 * rotated ones stay (issue 14: 61 interface names gave 63 files). */
static void max_files_keeps_the_newest(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\"; rewrite_bytes = 0; max_files = 3;");
    char data[64];
    for (int i = 0; i < 6; i++) { /* each message a new column: a new file */
        snprintf(data, sizeof(data), "{\"c%d\":1}", i);
        assert_int_equal(offer(f, mk((uint64_t)i + 1, DAY1 + i * 1000LL, data)), 1);
    }
    /* the 4th and 5th messages' files, and the current one */
    assert_files(f, "cpu-20251122T000002Z.csv cpu-20251122T000003Z.csv cpu.csv");
}

static void daily_rotation(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"daily\";");
    assert_int_equal(offer(f, mk(1, DAY1, "{\"a\":1}")), 1);
    assert_int_equal(offer(f, mk(2, DAY1 + 50, "{\"a\":2}")), 1);
    free_sink(f); /* a restart in between: the file's day is read back */
    make_sink(f, "rotate = \"daily\";");
    assert_int_equal(offer(f, mk(3, DAY2, "{\"a\":3}")), 1);
    assert_int_equal(offer(f, mk(4, DAY1 + 70, "{\"a\":4}")), 1); /* late: appended */
    assert_files(f, "cpu-20251121T235959Z.csv cpu.csv");
    char *old = slurp_in(f->dir, "cpu-20251121T235959Z.csv");
    assert_int_equal(count_lines(old), 3);
    assert_non_null(strstr(old, ",1,1\n"));
    assert_non_null(strstr(old, ",2,2\n"));
    free(old);
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.a\n"
                "1763769600100,h1," SESSION ",3,3\n"
                "1763769599970,h1," SESSION ",4,4\n");
}

static void size_rotation(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"size\"; max_bytes = 4096;");
    char data[300];
    snprintf(data, sizeof(data), "{\"pad\":\"%0200d\"}", 7);
    for (int i = 1; i <= 100; i++)
        assert_int_equal(offer(f, mk((uint64_t)i, DAY1 + i * 1000LL, data)), 1);
    char names[32][64];
    int n = list(f, names, 32), rows = 0;
    assert_true(n > 4);
    for (int i = 0; i < n; i++) {
        char *t = slurp_in(f->dir, names[i]);
        assert_int_equal(strncmp(t, "ts [epoch_ms],host,session,seq,cpu.pad\n", 39), 0);
        assert_true(strlen(t) < 4096 + 300);
        rows += count_lines(t) - 1;
        free(t);
    }
    assert_int_equal(rows, 100);
}

/* The units table (lib/units.h) answers for device paths, patterns and
 * deprecated fields; what the schema does not know has no row. */
static void units_table_lookup(void **state)
{
    (void)state;
    const struct hp_unit *u = hp_unit_find("disk", "devices.*.busy_time_ms");
    assert_non_null(u);
    assert_string_equal(u->unit, "ms");
    assert_false(u->deprecated);
    u = hp_unit_find("disk", "devices.sda.busy_time");
    assert_non_null(u);
    assert_string_equal(u->unit, "ms");
    assert_true(u->deprecated);
    assert_string_equal(hp_unit_find("netstat", "tcp.in_segs_per_sec")->unit, "1/s");
    assert_string_equal(hp_unit_find("netstat", "ip_ext.in_octets")->unit, "B");
    assert_string_equal(hp_unit_find("netstat", "tcp.rto_min")->unit, "ms");
    assert_string_equal(hp_unit_find("netstat", "tcp.curr_estab")->unit, "1");
    assert_string_equal(hp_unit_find("cpu", "cpus.3.times.user")->unit, "s");
    assert_string_equal(hp_unit_find("uptime", "boot_time")->unit, "epoch_ms");
    assert_null(hp_unit_find("disk", "devices.*"));
    assert_null(hp_unit_find("disk", "devices.*.busy_time_ms.x"));
    assert_null(hp_unit_find("fans", "rpm"));
}

#define DISK_DEVS                                                                                  \
    "{\"devices\":{\"sda\":{\"read_count\":7,\"read_bytes\":4096,\"busy_time_ms\":250,"            \
    "\"busy_time\":250,\"busy_percent\":2.5}}}"
#define NET_TOTAL "{\"total\":{\"bytes_recv\":1,\"packets_recv\":2,\"bytes_recv_per_sec\":3.5}}"

/* Issue 16 item 8: ts in epoch ms, a unit in each header cell whose field
 * has one (none for counts and unknown fields), no deprecated column. */
static void headers_carry_units_and_no_deprecated_field(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\";");
    assert_int_equal(offer(f, mk_from("disk", 1, DAY1, DISK_DEVS)), 1);
    assert_int_equal(offer(f, mk_from("net", 1, DAY1 + 5, NET_TOTAL)), 1);
    assert_file(f, "disk.devices.csv",
                "ts [epoch_ms],host,session,seq,device,read_count,read_bytes [B],"
                "busy_time_ms [ms],busy_percent [%]\n"
                "1763769599900,h1," SESSION ",1,sda,7,4096,250,2.5\n");
    assert_file(f, "net.csv",
                "ts [epoch_ms],host,session,seq,net.total.bytes_recv [B],"
                "net.total.packets_recv,net.total.bytes_recv_per_sec [B/s]\n"
                "1763769599905,h1," SESSION ",1,1,2,3.5\n");
    free_sink(f);
    /* Reopened: the header is read back (units and all) and appended to;
     * the deprecated field still gets no column, nothing moved aside. */
    make_sink(f, "rotate = \"none\";");
    assert_int_equal(offer(f, mk_from("disk", 2, DAY1 + 10, DISK_DEVS)), 1);
    char *devs = slurp_in(f->dir, "disk.devices.csv");
    assert_int_equal(count_lines(devs), 3);
    assert_non_null(strstr(devs, "\n1763769599910,h1," SESSION ",2,sda,7,4096,250,2.5\n"));
    free(devs);
    assert_files(f, "disk.csv disk.devices.csv net.csv"); /* disk.csv: no plain field */
}

static void header_units_false_gives_bare_names(void **state)
{
    struct fx *f = *state;
    make_sink(f, "header_units = false;");
    assert_int_equal(offer(f, mk_from("disk", 1, DAY1, DISK_DEVS)), 1);
    assert_file(f, "disk.devices.csv",
                "ts,host,session,seq,device,read_count,read_bytes,busy_time_ms,busy_percent\n"
                "1763769599900,h1," SESSION ",1,sda,7,4096,250,2.5\n");
}

static void write_file(struct fx *f, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A file whose header this build would not write -- an older version's
 * "timestamp" in seconds, another unit, another header_units -- is moved
 * aside (named after its first row) rather than given misaligned rows. */
static void a_file_with_another_header_is_moved_aside(void **state)
{
    struct fx *f = *state;
    const char *old = "timestamp,host,session,seq,net.total.bytes_recv\n"
                      "1763769599.900,h1," SESSION ",1,1\n";
    write_file(f, "net.csv", old);
    write_file(f, "disk.devices.csv",
               "ts [epoch_ms],host,session,seq,device,read_count,read_bytes [KiB]\n"
               "1763769599000,h1," SESSION ",1,sda,7,4\n");
    make_sink(f, "rotate = \"none\";");
    assert_int_equal(offer(f, mk_from("net", 2, DAY1 + 100, NET_TOTAL)), 1);
    assert_int_equal(offer(f, mk_from("disk", 2, DAY1 + 100, DISK_DEVS)), 1);
    assert_files(f, "disk.csv disk.devices-20251121T235959Z.csv disk.devices.csv "
                    "net-20251121T235959Z.csv net.csv");
    assert_file(f, "net-20251121T235959Z.csv", old); /* untouched */
    char *cur = slurp_in(f->dir, "net.csv");
    assert_int_equal(strncmp(cur, "ts [epoch_ms],host,session,seq,net.total.bytes_recv [B],", 56),
                     0);
    assert_int_equal(count_lines(cur), 2);
    free(cur);
    free_sink(f);
    /* header_units switched off: the files with units are moved aside too */
    make_sink(f, "rotate = \"none\"; header_units = false;");
    assert_int_equal(offer(f, mk_from("net", 3, DAY1 + 200, NET_TOTAL)), 1);
    assert_files(f, "disk.csv disk.devices-20251121T235959Z.csv disk.devices.csv "
                    "net-20251121T235959Z.csv net-20251122T000000Z.csv net.csv");
    cur = slurp_in(f->dir, "net.csv");
    assert_int_equal(strncmp(cur, "ts,host,session,seq,net.total.bytes_recv,", 41), 0);
    free(cur);
}

static void unwritable_directory_is_an_error(void **state)
{
    struct fx *f = *state;
    char file[128];
    snprintf(file, sizeof(file), "%s/plain", f->dir);
    FILE *fp = fopen(file, "w");
    fclose(fp);
    /* The parent is a regular file: even root cannot create the directory. */
    snprintf(f->dir + strlen(f->dir), sizeof(f->dir) - strlen(f->dir), "/plain/csv");
    make_sink(f, "");
    assert_int_equal(f->s.ops->open(&f->s), -1);
    assert_non_null(strstr(f->s.error, "create directory"));
    assert_non_null(strstr(f->s.error, "Not a directory"));
    free_sink(f);
}

/* One write() holds a day's last row and the next day's first: the file
 * is moved aside between them, then the batch fails on another file
 * (net.csv cannot be opened). The row written before the rotation is
 * confirmed; the retry writes the rest, and no row twice. */
static void a_failure_after_a_rotation_writes_no_row_twice(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/net.csv", f->dir);
    assert_int_equal(mkdir(path, 0750), 0); /* open() fails: EISDIR */
    make_sink(f, "rotate = \"daily\";");
    struct hp_msg *batch[] = {mk(1, DAY1, "{\"a\":1}"), mk(2, DAY2, "{\"a\":2}"),
                              mk_from("net", 1, DAY2, NET_TOTAL)};
    assert_int_equal(offer_batch(f, batch, 3), -1);
    assert_non_null(strstr(f->s.error, "net.csv"));
    assert_int_equal(unconfirmed(f), 2); /* cpu #1 confirmed */
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(write_backlog(f), 2);
    assert_int_equal(unconfirmed(f), 0);
    assert_files(f, "cpu-20251121T235959Z.csv cpu.csv net.csv");
    assert_file(f, "cpu-20251121T235959Z.csv",
                "ts [epoch_ms],host,session,seq,cpu.a\n"
                "1763769599900,h1," SESSION ",1,1\n");
    assert_file(f, "cpu.csv",
                "ts [epoch_ms],host,session,seq,cpu.a\n"
                "1763769600100,h1," SESSION ",2,2\n");
}

/* Call write() on what the backlog holds with files limited to max bytes:
 * a write past it fails as on a full disk (EFBIG, or a short write). What
 * is logged meanwhile may be lost: the test's own log is a file too. */
static int write_backlog_limited(struct fx *f, rlim_t max)
{
    struct rlimit was, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
    lim = was;
    lim.rlim_cur = max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = write_backlog(f);
    int restored = setrlimit(RLIMIT_FSIZE, &was);
    signal(SIGXFSZ, prev);
    assert_int_equal(restored, 0);
    return rc;
}

/* A new column moves a file aside in the middle of a batch, and the new
 * file's first rows do not fit on the disk: the row before the rotation
 * stays confirmed in the file moved aside, and is not written again. */
static void a_full_disk_after_a_rotation_writes_no_row_twice(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\"; rewrite_bytes = 0;");
    char big[2100];
    snprintf(big, sizeof(big), "{\"a\":2,\"z\":\"%01999d\"}", 0);
    struct hp_msg *batch[] = {mk(1, DAY1, "{\"a\":1}"), mk(2, DAY1 + 20, big)};
    queue(f, batch, 2);
    assert_int_equal(write_backlog_limited(f, 1024), -1);
    assert_int_equal(unconfirmed(f), 1);
    assert_int_equal(write_backlog(f), 1); /* space is back */
    assert_int_equal(unconfirmed(f), 0);
    assert_files(f, "cpu-20251121T235959Z.csv cpu.csv");
    assert_file(f, "cpu-20251121T235959Z.csv",
                "ts [epoch_ms],host,session,seq,cpu.a\n"
                "1763769599900,h1," SESSION ",1,1\n");
    char *cur = slurp_in(f->dir, "cpu.csv");
    assert_int_equal(count_lines(cur), 2);
    assert_non_null(strstr(cur, "\n1763769599920,h1," SESSION ",2,2,000"));
    free(cur);
}

/* A message's rows in one file stay together: a device that brings a new
 * column does not split them between the file moved aside and the new
 * one, and a new file is not moved aside after its first device. The rows
 * already queued get an empty cell for the new column at their end, also
 * when a cell of theirs holds a line break. */
static void a_messages_rows_stay_in_one_file(void **state)
{
    struct fx *f = *state;
    make_sink(f, "rotate = \"none\"; rewrite_bytes = 0;");
    assert_int_equal(offer(f, mk(1, DAY1, "{\"cpus\":[{\"u\":1},{\"u\":2,\"s\":3}]}")), 1);
    assert_int_equal(offer(f, mk(2, DAY1 + 20, "{\"cpus\":[{\"u\":4},{\"u\":5,\"w\":6}]}")), 1);
    assert_files(f, "cpu.cpus-20251121T235959Z.csv cpu.cpus.csv cpu.csv");
    assert_file(f, "cpu.cpus-20251121T235959Z.csv",
                "ts [epoch_ms],host,session,seq,device,u,s\n"
                "1763769599900,h1," SESSION ",1,0,1,\n"
                "1763769599900,h1," SESSION ",1,1,2,3\n");
    assert_file(f, "cpu.cpus.csv",
                "ts [epoch_ms],host,session,seq,device,u,s,w\n"
                "1763769599920,h1," SESSION ",2,0,4,,\n"
                "1763769599920,h1," SESSION ",2,1,5,,6\n");
    assert_int_equal(
        offer(f, mk(3, DAY1 + 40, "{\"d\":[{\"n\":\"a\\nb\"},{\"n\":\"c\",\"t\":1}]}")), 1);
    assert_files(f, "cpu.cpus-20251121T235959Z.csv cpu.cpus.csv cpu.csv cpu.d.csv");
    assert_file(f, "cpu.d.csv",
                "ts [epoch_ms],host,session,seq,device,n,t\n"
                "1763769599940,h1," SESSION ",3,0,\"a\nb\",\n"
                "1763769599940,h1," SESSION ",3,1,c,1\n");
}

/* Each test gets its own directory (setup) and the sink it made freed
 * (teardown). */
#define IN_DIR(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        IN_DIR(header_flattening_quoting),
        IN_DIR(keys_in_another_order_find_their_columns),
        IN_DIR(scalar_values_as_json_prints_them),
        IN_DIR(strings_keep_bytes_that_are_not_utf8),
        IN_DIR(append_keeps_header_and_cuts_torn_line),
        IN_DIR(header_growth_rotates),
        IN_DIR(header_growth_rewrites_a_small_file),
        IN_DIR(a_record_field_named_device_keeps_the_key),
        IN_DIR(devices_are_rows_of_a_group_file),
        IN_DIR(max_files_keeps_the_newest),
        IN_DIR(daily_rotation),
        IN_DIR(size_rotation),
        IN_DIR(unwritable_directory_is_an_error),
        cmocka_unit_test(units_table_lookup),
        IN_DIR(headers_carry_units_and_no_deprecated_field),
        IN_DIR(header_units_false_gives_bare_names),
        IN_DIR(a_file_with_another_header_is_moved_aside),
        IN_DIR(a_failure_after_a_rotation_writes_no_row_twice),
        IN_DIR(a_full_disk_after_a_rotation_writes_no_row_twice),
        IN_DIR(a_messages_rows_stay_in_one_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
