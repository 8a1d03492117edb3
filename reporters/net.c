/* net.c -- per interface and total network counters from /proc/net/dev:
 * bytes, packets, errors and drops in each direction, as raw totals and as
 * per-second rates over the time since the previous sample.
 *
 * An interface whose counters went backwards (re-created, driver reset,
 * 32-bit wrap) or that is new gets no rates for that sample, never a
 * negative or huge one. Which interfaces count (include/exclude globs,
 * loopback) is decided once per interface and remembered with its previous
 * counters; the table only allocates when an interface appears. */
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/msg.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

#include <fnmatch.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

/* The eight counters we report, in output order, and their column in a
 * /proc/net/dev line (after "name:"). */
enum { NCOUNT = 8 };
static const char *const names[NCOUNT] = {
    "bytes_recv", "packets_recv", "errin",  "dropin",
    "bytes_sent", "packets_sent", "errout", "dropout",
};
static const char *const rate_names[NCOUNT] = {
    "bytes_recv_per_sec", "packets_recv_per_sec", "errin_per_sec",  "dropin_per_sec",
    "bytes_sent_per_sec", "packets_sent_per_sec", "errout_per_sec", "dropout_per_sec",
};
static const int columns[NCOUNT] = {0, 1, 2, 3, 8, 9, 10, 11};

struct iface {
    char name[IFNAMSIZ + 1];
    uint64_t v[NCOUNT]; /* counters of the last sample that saw it */
    uint64_t gen;       /* that sample's generation */
    bool wanted;        /* passes include/exclude/loopback */
};

struct net {
    struct hp_procfile dev;
    const config_setting_t *cfg; /* include/exclude lists (valid while the config lives) */
    bool loopback;
    struct iface *ifs;
    size_t n, cap;
    uint64_t gen;
    int64_t prev_ns;
    bool warned;
    char sys_net[480]; /* sys_root/class/net */
};

static const struct hp_opt net_opts[] = {
    {.name = "include",
     .type = HP_OPT_STRINGS,
     .help = "only these interfaces (names or shell globs); default all"},
    {.name = "exclude", .type = HP_OPT_STRINGS, .help = "never these interfaces (names or globs)"},
    {.name = "loopback", .type = HP_OPT_BOOL, .def = "false", .help = "report loopback interfaces"},
    {0},
};

static int net_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)errs;
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return -1;
    char path[512];
    hp_procfile_init(&n->dev, hp_proc_path(r, path, sizeof(path), "net/dev"));
    hp_sys_path(r, n->sys_net, sizeof(n->sys_net), "class/net");
    n->cfg = cfg;
    n->loopback = hp_opt_bool(cfg, net_opts, "loopback");
    r->priv = n;
    return 0;
}

static bool matches(const config_setting_t *cfg, const char *key, const char *name)
{
    int k = hp_opt_strings_count(cfg, key);
    for (int i = 0; i < k; i++) {
        const char *pat = hp_opt_strings_at(cfg, key, i);
        if (pat && fnmatch(pat, name, 0) == 0)
            return true;
    }
    return false;
}

/* Loopback by the IFF_LOOPBACK bit of sysfs flags; "lo" when sysfs has none. */
static bool is_loopback(const struct net *n, const char *name)
{
    char path[512], buf[32];
    snprintf(path, sizeof(path), "%s/%s/flags", n->sys_net, name);
    if (hp_read_small(path, buf, sizeof(buf)) <= 0)
        return strcmp(name, "lo") == 0;
    return (strtoul(buf, NULL, 0) & IFF_LOOPBACK) != 0;
}

static bool wanted(const struct net *n, const char *name)
{
    if (hp_opt_strings_count(n->cfg, "include") && !matches(n->cfg, "include", name))
        return false;
    if (matches(n->cfg, "exclude", name))
        return false;
    return n->loopback || !is_loopback(n, name);
}

/* The table entry for name, added (with its filter decision) when new. */
static struct iface *lookup(struct net *n, const char *name)
{
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->ifs[i].name, name) == 0)
            return &n->ifs[i];
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 16;
        struct iface *t = realloc(n->ifs, cap * sizeof(*t));
        if (!t)
            return NULL;
        n->ifs = t;
        n->cap = cap;
    }
    struct iface *f = &n->ifs[n->n++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->wanted = wanted(n, name);
    return f;
}

/* Drop interfaces the last sample did not see (gone, or renamed). */
static void forget_gone(struct net *n)
{
    size_t k = 0;
    for (size_t i = 0; i < n->n; i++)
        if (n->ifs[i].gen == n->gen)
            n->ifs[k++] = n->ifs[i];
    n->n = k;
}

/* One interface's object; adds its rates into rate_sum. */
static json_object *iface_object(struct iface *f, const uint64_t v[NCOUNT], uint64_t gen,
                                 double secs, double rate_sum[NCOUNT], bool *rated)
{
    json_object *o = json_object_new_object();
    for (int i = 0; i < NCOUNT; i++)
        hp_json_add_uint(o, names[i], v[i]);
    bool ok = f->gen && f->gen + 1 == gen && secs > 0;
    for (int i = 0; ok && i < NCOUNT; i++)
        ok = v[i] >= f->v[i];
    for (int i = 0; ok && i < NCOUNT; i++) {
        double rate = (double)(v[i] - f->v[i]) / secs;
        hp_json_add_double(o, rate_names[i], rate, 1);
        rate_sum[i] += rate;
    }
    *rated |= ok;
    memcpy(f->v, v, sizeof(f->v));
    f->gen = gen;
    return o;
}

/* Parse one "  name: c0 c1 ... c15" line; false when it is not one. */
static bool parse_line(const char *p, char name[IFNAMSIZ + 1], uint64_t v[NCOUNT])
{
    while (*p == ' ')
        p++;
    const char *colon = strchr(p, ':');
    const char *nl = strchr(p, '\n');
    if (!colon || (nl && colon > nl) || colon - p > IFNAMSIZ || colon == p)
        return false;
    memcpy(name, p, (size_t)(colon - p));
    name[colon - p] = '\0';
    p = colon + 1;
    uint64_t col[16];
    for (int i = 0; i < 16; i++)
        if (!hp_parse_u64(&p, &col[i]))
            return false;
    for (int i = 0; i < NCOUNT; i++)
        v[i] = col[columns[i]];
    return true;
}

static void add_total(json_object *data, const uint64_t sum[NCOUNT], const double rate[NCOUNT],
                      bool rated)
{
    json_object *t = json_object_new_object();
    for (int i = 0; i < NCOUNT; i++)
        hp_json_add_uint(t, names[i], sum[i]);
    for (int i = 0; rated && i < NCOUNT; i++)
        hp_json_add_double(t, rate_names[i], rate[i], 1);
    json_object_object_add(data, "total", t);
}

static int net_sample(struct hp_reporter *r, json_object *data)
{
    struct net *n = r->priv;
    const char *p = hp_procfile_read(&n->dev, true);
    int64_t now = hp_mono_ns();
    if (!p) {
        hp_warn_once(&n->warned, "net: cannot read %s", n->dev.path);
        return -1;
    }
    double secs = n->prev_ns ? (double)(now - n->prev_ns) / 1e9 : 0;
    n->prev_ns = now;
    n->gen++;
    json_object *ifs = json_object_new_object();
    uint64_t sum[NCOUNT] = {0}, v[NCOUNT];
    double rate[NCOUNT] = {0};
    bool rated = false;
    char name[IFNAMSIZ + 1];
    while (hp_next_line(&p)) {
        struct iface *f = parse_line(p, name, v) ? lookup(n, name) : NULL;
        if (!f)
            continue;
        if (!f->wanted) {
            f->gen = n->gen;
            continue;
        }
        json_object_object_add(ifs, name, iface_object(f, v, n->gen, secs, rate, &rated));
        for (int i = 0; i < NCOUNT; i++)
            sum[i] += v[i];
    }
    forget_gone(n);
    json_object_object_add(data, "interfaces", ifs);
    add_total(data, sum, rate, rated);
    return 0;
}

static void net_fini(struct hp_reporter *r)
{
    struct net *n = r->priv;
    if (!n)
        return;
    hp_procfile_fini(&n->dev);
    free(n->ifs);
    free(n);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_net = {
    .name = "net",
    .default_interval = 5.0,
    .default_enabled = true,
    .needs_prime = true,
    .opts = net_opts,
    .init = net_init,
    .sample = net_sample,
    .fini = net_fini,
};
