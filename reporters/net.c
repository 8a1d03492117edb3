/* SPDX-License-Identifier: Apache-2.0 */
/* net.c -- per interface and total network counters from /proc/net/dev:
 * bytes, packets, errors and drops in each direction, as raw totals and as
 * per-second rates over the time since the previous sample.
 *
 * An interface whose counters went backwards (re-created, driver reset,
 * 32-bit wrap) or that is new gets no rates for that sample, never a
 * negative or huge one. Which interfaces count (include/exclude globs,
 * loopback) is decided once per interface and remembered with its previous
 * counters in a reporters/devtab.h table, which only allocates when an
 * interface appears.
 *
 * The message is written with lib/jw.h, not built as a json-c tree. A
 * sample's interfaces are kept in a reused array, then written: an
 * interface listed twice (a rename while the kernel lists them) keeps its
 * first place with its last line's counters and no rates, as the json-c
 * object whose key was replaced had it, and counts once in the total, with
 * those counters. Nothing is allocated once the
 * array has grown. */
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "reporters/devtab.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

#include <net/if.h>
#include <stdio.h>
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

/* An interface's or the total's counters, and their rates when rated. */
struct counts {
    uint64_t v[NCOUNT];
    double rate[NCOUNT];
    bool rated;
};

/* One interface of the sample being written. */
struct iface {
    char name[IFNAMSIZ + 1];
    struct counts c;
};

struct net {
    struct hp_procfile dev;
    /* options */
    const config_setting_t *include, *exclude; /* globs, borrowed from the config */
    bool loopback;
    /* state */
    struct hp_devtab ifs;
    int64_t prev_ns;
    bool warned;
    char sys_net[480];    /* sys_root/class/net */
    struct iface *listed; /* this sample's interfaces, in the order listed */
    size_t nlisted, listed_cap;
};

static const struct hp_opt net_opts[] = {
    {.name = "include",
     .type = HP_OPT_STRINGS,
     .help = "only these interfaces (names or shell globs); default all",
     HP_AT_SET(struct net, include)},
    {.name = "exclude",
     .type = HP_OPT_STRINGS,
     .help = "never these interfaces (names or globs)",
     HP_AT_SET(struct net, exclude)},
    {.name = "loopback",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "report loopback interfaces",
     HP_AT_BOOL(struct net, loopback)},
    {0},
};

/* Loopback by the IFF_LOOPBACK bit of sysfs flags; "lo" when sysfs has none. */
static bool is_loopback(const struct net *n, const char *name)
{
    char path[512], buf[32];
    snprintf(path, sizeof(path), "%s/%s/flags", n->sys_net, name);
    if (hp_read_small(path, buf, sizeof(buf)) <= 0)
        return strcmp(name, "lo") == 0;
    return (strtoul(buf, NULL, 0) & IFF_LOOPBACK) != 0;
}

/* The devtab's extra filter: loopback interfaces only when asked for. */
static bool keep(const void *ud, const char *name)
{
    const struct net *n = ud;
    return n->loopback || !is_loopback(n, name);
}

static int net_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)errs;
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return -1;
    char path[512];
    hp_procfile_init(&n->dev, hp_proc_path(r, path, sizeof(path), "net/dev"));
    hp_sys_path(r, n->sys_net, sizeof(n->sys_net), "class/net");
    hp_opts_load(cfg, net_opts, n);
    n->ifs =
        (struct hp_devtab){.include = n->include, .exclude = n->exclude, .keep = keep, .ud = n};
    r->priv = n;
    return 0;
}

/* The entry of name in this sample: a new one, or for a name listed again
 * its first one. NULL when out of memory. */
static struct iface *iface_slot(struct net *n, const char *name, bool again)
{
    for (size_t i = 0; again && i < n->nlisted; i++)
        if (strcmp(n->listed[i].name, name) == 0)
            return &n->listed[i];
    if (hp_grow(&n->listed, &n->listed_cap, n->nlisted + 1, sizeof(*n->listed)) != 0)
        return NULL;
    struct iface *e = &n->listed[n->nlisted++];
    memcpy(e->name, name, strlen(name) + 1);
    return e;
}

/* One interface's counters into c, with its rates when its previous ones
 * make them. */
static void iface_count(struct hp_devtab *t, struct hp_dev *f, struct counts *c,
                        const uint64_t v[NCOUNT], double secs)
{
    memcpy(c->v, v, sizeof(c->v));
    bool ok = hp_dev_has_prev(t, f) && secs > 0;
    for (int i = 0; ok && i < NCOUNT; i++)
        ok = v[i] >= f->v[i];
    for (int i = 0; ok && i < NCOUNT; i++)
        c->rate[i] = (double)(v[i] - f->v[i]) / secs;
    c->rated = ok;
    hp_dev_seen(t, f, v, NCOUNT);
}

/* The total of the sample's interfaces, each once: an interface listed
 * twice counts with the counters it is published with. Rates sum the
 * interfaces that have one. */
static void sum_listed(const struct net *n, struct counts *total)
{
    for (size_t k = 0; k < n->nlisted; k++) {
        const struct counts *c = &n->listed[k].c;
        for (int i = 0; i < NCOUNT; i++) {
            total->v[i] += c->v[i];
            total->rate[i] += c->rated ? c->rate[i] : 0;
        }
        total->rated |= c->rated;
    }
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

/* An interface's or the total's object: counters, then rates if rated. */
static void write_counts(struct hp_jw *w, const char *key, const struct counts *c)
{
    hp_jw_object(w, key);
    for (int i = 0; i < NCOUNT; i++)
        hp_jw_uint(w, names[i], c->v[i]);
    for (int i = 0; c->rated && i < NCOUNT; i++)
        hp_jw_double(w, rate_names[i], c->rate[i], 1);
    hp_jw_end(w);
}

/* Every wanted interface of the /proc/net/dev text p into n->listed. -1
 * when out of memory. */
static int count_ifaces(struct net *n, const char *p, double secs)
{
    int rc = 0;
    uint64_t v[NCOUNT];
    char name[IFNAMSIZ + 1];
    n->nlisted = 0;
    while (hp_next_line(&p)) {
        struct hp_dev *f = parse_line(p, name, v) ? hp_devtab_lookup(&n->ifs, name) : NULL;
        if (!f)
            continue;
        if (!f->wanted) {
            hp_dev_seen(&n->ifs, f, NULL, 0);
            continue;
        }
        /* Seen already in this sample: the name is listed twice. */
        struct iface *e = iface_slot(n, name, f->gen == n->ifs.gen);
        if (e)
            iface_count(&n->ifs, f, &e->c, v, secs);
        else
            rc = -1;
    }
    return rc;
}

static int net_write(struct hp_reporter *r, struct hp_jw *data)
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
    struct counts total = {0};
    hp_devtab_begin(&n->ifs);
    if (count_ifaces(n, p, secs) != 0)
        hp_jw_fail(data); /* out of memory: no message rather than one without some */
    hp_devtab_forget(&n->ifs);
    sum_listed(n, &total);
    hp_jw_object(data, "interfaces");
    for (size_t i = 0; i < n->nlisted; i++)
        write_counts(data, n->listed[i].name, &n->listed[i].c);
    hp_jw_end(data);
    write_counts(data, "total", &total);
    return 0;
}

static void net_fini(struct hp_reporter *r)
{
    struct net *n = r->priv;
    if (!n)
        return;
    hp_procfile_fini(&n->dev);
    hp_devtab_free(&n->ifs);
    free(n->listed);
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
    .write = net_write,
    .fini = net_fini,
};
