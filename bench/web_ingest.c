/* SPDX-License-Identifier: Apache-2.0 */
/* web_ingest.c -- benchmarks of hostpulse-web's store, each beside its
 * baseline in the same run (bench/web.py prints them as `make bench` rows):
 *
 *   web_ingest ingest TEMPLATES HOSTS SECONDS DIR [ROUNDS]
 *       Messages made from real agent messages (TEMPLATES: one JSON line
 *       per reporter) for HOSTS hosts over SECONDS simulated seconds at each
 *       reporter's interval, through hp_ingest_add (parse, validate, dedup,
 *       store) in batches of store.batch_max; beside a bare loop inserting
 *       the same sample rows with one prepared statement in transactions of
 *       the same size. Prints msg/s of both, rows/message, and the store's
 *       bytes per host per simulated day (rollups included).
 *   web_ingest query DIR HOURS
 *       One host's cpu at 1 s samples for HOURS hours, then the time to read
 *       its HOURS-long series (1,000 points) and a 30-day range (rollups).
 *   web_ingest emit TEMPLATES HOSTS ROUNDS
 *       JSON lines on stdout: ROUNDS rounds of every template for HOSTS
 *       hosts (to feed hostpulse-web --stdin and measure its memory).
 * Never asserts on time. */
#include "lib/clock.h"
#include "web/ingest.h"
#include "web/store_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEMPLATES 16

struct tmpl {
    json_object *env;
    double interval;
};

static int load_templates(const char *path, struct tmpl *t)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (f && n < MAX_TEMPLATES && getline(&line, &cap, f) > 0) {
        json_object *env = json_tokener_parse(line), *v;
        if (!env || !json_object_object_get_ex(env, "reporter", &v) ||
            strcmp(json_object_get_string(v), "session") == 0) {
            json_object_put(env);
            continue;
        }
        json_object_object_get_ex(env, "interval", &v);
        t[n].env = env;
        t[n++].interval = json_object_get_double(v) > 0 ? json_object_get_double(v) : 5;
    }
    free(line);
    if (f)
        fclose(f);
    return n;
}

/* Serialise template t for host h at simulated second s (its seq follows). */
static const char *make_msg(struct tmpl *t, int h, long s, int64_t base)
{
    char host[32];
    snprintf(host, sizeof(host), "host-%04d", h);
    json_object_object_add(t->env, "host", json_object_new_string(host));
    json_object_object_add(t->env, "session", json_object_new_string("bench-session"));
    json_object_object_add(t->env, "seq", json_object_new_int64(s / (long)t->interval + 1));
    json_object_object_add(t->env, "ts", json_object_new_int64(base + s * 1000 + h));
    return json_object_to_json_string_ext(t->env, JSON_C_TO_STRING_PLAIN);
}

struct chunk {
    char **msgs;
    size_t n, cap;
};

static void chunk_add(struct chunk *c, const char *s)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4096;
        c->msgs = realloc(c->msgs, c->cap * sizeof(*c->msgs));
    }
    c->msgs[c->n++] = strdup(s);
}

static void chunk_clear(struct chunk *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->msgs[i]);
    c->n = 0;
}

/* ---- the bare baseline: the same rows, one prepared INSERT ---- */

struct bare {
    sqlite3 *db;
    sqlite3_stmt *ins;
    struct hp_strmap ids;
    int64_t next_id, ts;
    char key[HP_PATH_MAX + 128]; /* host \0 reporter \0 path */
    size_t prefix;
    size_t rows;
};

static int bare_row(void *ud, const char *path, size_t plen, double value)
{
    struct bare *b = ud;
    if (b->prefix + plen > sizeof(b->key))
        return 0;
    memcpy(b->key + b->prefix, path, plen);
    int64_t id = (int64_t)(intptr_t)hp_strmap_get(&b->ids, b->key, b->prefix + plen);
    if (!id) {
        id = ++b->next_id;
        hp_strmap_put(&b->ids, b->key, b->prefix + plen, (void *)(intptr_t)id);
    }
    sqlite3_bind_int64(b->ins, 1, id);
    sqlite3_bind_int64(b->ins, 2, b->ts);
    if (value == (double)(int64_t)value && value > -9e15 && value < 9e15) /* as the store */
        sqlite3_bind_int64(b->ins, 3, (int64_t)value);
    else
        sqlite3_bind_double(b->ins, 3, value);
    sqlite3_step(b->ins);
    sqlite3_reset(b->ins);
    b->rows++;
    return 0;
}

/* Insert the sample rows of chunk c (parsed before the clock starts, by
 * the reader ingest uses, and flattened as the store flattens them);
 * returns the nanoseconds spent inserting. */
static int64_t bare_chunk(struct bare *b, struct chunk *c)
{
    struct hp_json *docs = calloc(c->n, sizeof(*docs));
    for (size_t i = 0; i < c->n; i++)
        hp_json_parse(&docs[i], c->msgs[i], strlen(c->msgs[i]));
    int64_t t0 = hp_mono_ns();
    sqlite3_exec(b->db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < c->n; i++) {
        const struct hp_json *j = &docs[i];
        const struct hp_jnode *env = hp_json_root(j);
        const struct hp_jnode *ts = hp_json_get(j, env, "ts"), *data = hp_json_get(j, env, "data");
        const struct hp_jnode *rep = hp_json_get(j, env, "reporter");
        const struct hp_jnode *host = hp_json_get(j, env, "host");
        /* series keyed by host, reporter and path, as the store keys them */
        int n = snprintf(b->key, 128, "%s%c%s%c", host->str, 0, rep->str, 0);
        b->prefix = n > 0 && n < 128 ? (size_t)n : 0;
        b->ts = ts->i;
        hp_store_flatten(rep->str, j, data, bare_row, b);
    }
    sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL);
    int64_t dt = hp_mono_ns() - t0;
    for (size_t i = 0; i < c->n; i++)
        hp_json_free(&docs[i]);
    free(docs);
    return dt;
}

static int64_t ingest_chunk(struct hp_ingest *ing, struct chunk *c)
{
    int64_t t0 = hp_mono_ns();
    for (size_t i = 0; i < c->n; i++)
        hp_ingest_add(ing, c->msgs[i], strlen(c->msgs[i]));
    hp_ingest_commit(ing);
    return hp_mono_ns() - t0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* One round's results. */
struct round {
    long msgs;
    unsigned long long stored;
    size_t rows;
    int64_t ns_ingest, ns_bare;
};

/* The bare baseline's database: the samples table alone, the store's
 * pragmas, one prepared INSERT. */
static int bare_open(struct bare *b, const char *path)
{
    char err[512];
    if (sqlite3_open(path, &b->db) != SQLITE_OK)
        return -1;
    hp_store_pragmas(b->db, true, err, sizeof(err));
    sqlite3_exec(b->db,
                 "CREATE TABLE samples(series_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
                 " value, PRIMARY KEY(series_id, ts)) WITHOUT ROWID",
                 NULL, NULL, NULL);
    return sqlite3_prepare_v3(b->db, "INSERT INTO samples VALUES(?1, ?2, ?3)", -1,
                              SQLITE_PREPARE_PERSISTENT, &b->ins, NULL) == SQLITE_OK
               ? 0
               : -1;
}

static void bare_close(struct bare *b)
{
    sqlite3_finalize(b->ins);
    sqlite3_close(b->db);
    hp_strmap_clear(&b->ids, NULL);
}

/* One round on fresh databases in dir: every batch of messages through
 * hp_ingest_add, then the same batch through the bare loop. */
static int ingest_round(struct tmpl *t, int nt, int hosts, long seconds, const char *dir,
                        struct round *r)
{
    char db[512], bare_db[512], err[512];
    snprintf(db, sizeof(db), "%s/web.db", dir);
    snprintf(bare_db, sizeof(bare_db), "%s/bare.db", dir);
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) { /* fresh files for every round */
        char p[600];
        snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s%s", bare_db, sfx[i]);
        unlink(p);
    }
    struct hp_web_conf conf = {.db = db,
                               .retention_hours = 48,
                               .rollup_days = 30,
                               .batch_max = 2000,
                               .batch_wait = 1e9,
                               .max_message = 1 << 20};
    struct hp_ingest *ing = hp_ingest_open(&conf, err, sizeof(err));
    struct bare b = {0};
    if (!ing || bare_open(&b, bare_db) != 0) {
        fprintf(stderr, "web_ingest: %s\n", ing ? sqlite3_errmsg(b.db) : err);
        hp_ingest_close(ing);
        bare_close(&b);
        return -1;
    }
    hp_ingest_no_maintenance(ing); /* timed apart: it runs per minute of wall time */
    int64_t base = hp_real_ms() - seconds * 1000 - 60000;
    struct chunk c = {0};
    *r = (struct round){0};
    for (long s = 0; s < seconds; s++) {
        for (int i = 0; i < nt; i++)
            if (s % (long)t[i].interval == 0)
                for (int h = 0; h < hosts; h++)
                    chunk_add(&c, make_msg(&t[i], h, s, base));
        if (c.n >= (size_t)conf.batch_max || s == seconds - 1) {
            r->ns_ingest += ingest_chunk(ing, &c);
            r->ns_bare += bare_chunk(&b, &c);
            r->msgs += (long)c.n;
            chunk_clear(&c);
        }
    }
    struct hp_ingest_counts k;
    hp_ingest_counts(ing, &k);
    r->stored = (unsigned long long)k.stored;
    r->rows = b.rows;
    hp_ingest_close(ing);
    bare_close(&b);
    free(c.msgs);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 32

/* Prints each round's rates and ratio, then the medians and the range of
 * the ratio; then rollups and disk use, from the last round's store. */
static int cmd_ingest(const char *tpath, int hosts, long seconds, const char *dir, int rounds)
{
    struct tmpl t[MAX_TEMPLATES];
    int nt = load_templates(tpath, t);
    double ing_s[MAX_ROUNDS], bare_s[MAX_ROUNDS], ratio[MAX_ROUNDS];
    struct round r = {0};
    rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
    for (int i = 0; i < rounds; i++) {
        if (ingest_round(t, nt, hosts, seconds, dir, &r) != 0)
            return 1;
        ing_s[i] = (double)r.msgs / ((double)r.ns_ingest / 1e9);
        bare_s[i] = (double)r.msgs / ((double)r.ns_bare / 1e9);
        ratio[i] = ing_s[i] / bare_s[i];
        printf("round %d ingest_msg_s %.0f bare_msg_s %.0f ratio %.3f\n", i + 1, ing_s[i],
               bare_s[i], ratio[i]);
    }
    char db[512], err[512], wal[600];
    snprintf(db, sizeof(db), "%s/web.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", db);
    struct hp_store_opts o = {.retention_hours = 48, .rollup_days = 30};
    struct hp_store *w = hp_store_open(db, &o, err, sizeof(err));
    int64_t t0 = hp_mono_ns();
    for (long i = 0; i < seconds / 60 + 2 && w; i++) /* 64 minutes a call: every one */
        hp_store_maintain(w, hp_real_ms(), err, sizeof(err));
    double maint_ms = (double)(hp_mono_ns() - t0) / 1e6;
    hp_store_close(w);
    long bytes = file_size(db) + file_size(wal); /* the store, rollups included */
    printf("messages %ld (stored %llu) from %d hosts x %d reporters, %.1f rows/message,"
           " %d rounds\n",
           r.msgs, r.stored, hosts, nt, (double)r.rows / (double)r.msgs, rounds);
    double lo = ratio[0], hi = ratio[0];
    for (int i = 1; i < rounds; i++) {
        lo = ratio[i] < lo ? ratio[i] : lo;
        hi = ratio[i] > hi ? ratio[i] : hi;
    }
    printf("ingest_msg_s %.0f\nbare_msg_s %.0f\n", median(ing_s, rounds), median(bare_s, rounds));
    printf("ratio %.3f\nratio_min %.3f\nratio_max %.3f\n", median(ratio, rounds), lo, hi);
    printf("rollup_ms_per_minute %.1f\n", maint_ms / ((double)seconds / 60));
    printf("bytes_per_host_day %.0f\n", (double)bytes / hosts * (86400.0 / (double)seconds));
    for (int i = 0; i < nt; i++)
        json_object_put(t[i].env);
    return 0;
}

/* ---- query: one host's long cpu series ---- */

static void put_cpu(struct hp_store *w, json_object *data, int64_t ts, uint64_t seq)
{
    char err[256];
    double v = (double)(seq % 100);
    static const char *const keys[] = {"percent", "user",    "nice",  "system", "idle",  "iowait",
                                       "irq",     "softirq", "steal", "load1",  "load5", "load15"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_object_object_add(data, keys[i], json_object_new_double(v + (double)i));
    struct hp_store_msg m = {.host = "bench-host",
                             .session = "s",
                             .reporter = "cpu",
                             .seq = seq,
                             .ts_ms = ts,
                             .interval = 1,
                             .data = data};
    if (hp_store_put(w, &m, err, sizeof(err)) == HP_STORE_ERR)
        fprintf(stderr, "web_ingest: %s\n", err);
}

static double median_ms(struct hp_store_reader *r, const char *path, int64_t from, int64_t to,
                        int paths, int points)
{
    static const char *const all[] = {"percent", "user", "system", "iowait",
                                      "steal",   "nice", "irq",    "load1"};
    double best[9];
    char err[256];
    for (int run = 0; run < 9; run++) {
        int64_t t0 = hp_mono_ns();
        for (int p = 0; p < paths; p++) {
            json_object *s = hp_store_series(r, "bench-host", "cpu", paths > 1 ? all[p] : path,
                                             from, to, points, err, sizeof(err));
            if (!s)
                fprintf(stderr, "web_ingest: %s\n", err);
            json_object_to_json_string(s); /* the API serialises it too */
            json_object_put(s);
        }
        best[run] = (double)(hp_mono_ns() - t0) / 1e6;
    }
    for (int i = 1; i < 9; i++) /* insertion sort, 9 values */
        for (int j = i; j > 0 && best[j] < best[j - 1]; j--) {
            double x = best[j];
            best[j] = best[j - 1];
            best[j - 1] = x;
        }
    return best[4];
}

static int cmd_query(const char *dir, double hours)
{
    char db[512], err[512];
    snprintf(db, sizeof(db), "%s/query.db", dir);
    struct hp_store_opts o = {.retention_hours = hours + 1, .rollup_days = 30};
    struct hp_store *w = hp_store_open(db, &o, err, sizeof(err));
    if (!w) {
        fprintf(stderr, "web_ingest: %s\n", err);
        return 1;
    }
    int64_t now = hp_real_ms(), n = (int64_t)(hours * 3600), from = now - n * 1000;
    json_object *data = json_object_new_object();
    int64_t t0 = hp_mono_ns();
    for (int64_t i = 0; i < n; i++) {
        put_cpu(w, data, from + i * 1000, (uint64_t)i + 1);
        if (i % 20000 == 19999)
            hp_store_commit(w, err, sizeof(err));
    }
    hp_store_commit(w, err, sizeof(err));
    double fill_s = (double)(hp_mono_ns() - t0) / 1e9;
    while (hp_store_maintain(w, now + 120000, err, sizeof(err)) == 0) {
        sqlite3 *probe;
        sqlite3_stmt *st;
        int left = 0;
        sqlite3_open_v2(db, &probe, SQLITE_OPEN_READONLY, NULL);
        if (sqlite3_prepare_v2(probe, "SELECT count(*) FROM dirty_minutes", -1, &st, NULL) ==
                SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            left = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(probe);
        if (left == 0)
            break;
    }
    json_object_put(data);
    hp_store_close(w);
    struct hp_store_reader *r = hp_store_reader_open(db, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "web_ingest: %s\n", err);
        return 1;
    }
    printf("samples %lld (12 series at 1 s, filled in %.1f s)\n", (long long)n, fill_s);
    printf("series_%gh_ms %.1f\n", hours, median_ms(r, "percent", from, now, 1, 1000));
    printf("cpu_chart_%gh_8_series_ms %.1f\n", hours, median_ms(r, NULL, from, now, 8, 1000));
    /* 3,000 points over 48 h: buckets under a minute, so every raw row is read */
    printf("series_%gh_raw_3000_points_ms %.1f\n", hours,
           median_ms(r, "percent", from, now, 1, 3000));
    printf("series_30d_ms %.1f\n", median_ms(r, "percent", now - 30 * 86400000LL, now, 1, 1000));
    printf("series_1h_ms %.1f\n", median_ms(r, "percent", now - 3600000, now, 1, 1000));
    hp_store_reader_close(r);
    return 0;
}

static int cmd_emit(const char *tpath, int hosts, long rounds)
{
    struct tmpl t[MAX_TEMPLATES];
    int nt = load_templates(tpath, t);
    int64_t base = hp_real_ms() - rounds * 60000;
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < nt; i++)
            for (int h = 0; h < hosts; h++)
                printf("%s\n", make_msg(&t[i], h, r * (long)t[i].interval, base));
    for (int i = 0; i < nt; i++)
        json_object_put(t[i].env);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "ingest") == 0)
        return cmd_ingest(argv[2], atoi(argv[3]), atol(argv[4]), argv[5],
                          argc == 7 ? atoi(argv[6]) : 5);
    if (argc == 4 && strcmp(argv[1], "query") == 0)
        return cmd_query(argv[2], atof(argv[3]));
    if (argc == 5 && strcmp(argv[1], "emit") == 0)
        return cmd_emit(argv[2], atoi(argv[3]), atol(argv[4]));
    fprintf(stderr, "usage: web_ingest ingest TEMPLATES HOSTS SECONDS DIR [ROUNDS] |"
                    " query DIR HOURS |"
                    " emit TEMPLATES HOSTS ROUNDS\n");
    return 2;
}
