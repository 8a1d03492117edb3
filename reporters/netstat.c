/* SPDX-License-Identifier: Apache-2.0 */
/* netstat.c -- TCP and UDP health from /proc/net/snmp, /proc/net/snmp6,
 * /proc/net/netstat and /proc/net/sockstat: connection opens, established connections,
 * retransmits, resets, listen queue overflows and drops, syncookies, UDP
 * errors and buffer errors as raw totals and per-second rates, and the
 * socket counts. A host can be idle on cpu and still refuse connections
 * because its accept queues overflow; these counters show it.
 *
 * snmp and netstat come as pairs of lines, "Tcp: Name1 Name2 ..." then
 * "Tcp: v1 v2 ...". Names become snake_case of the kernel's own
 * (ActiveOpens -> active_opens, TCPSynRetrans -> tcp_syn_retrans) and the
 * section is the snake_case prefix (TcpExt -> tcp_ext). By default only a
 * documented set is published (DEFAULTS below); `full = true` publishes
 * every counter of every section. Gauges (CurrEstab, RtoMin, ...) get no
 * rate; a counter that went back (namespace re-created, fixture) gets no
 * rate for that sample. A malformed pair of lines is skipped with one log
 * line naming the file and line.
 *
 * A sample's values are collected first (an entry per published column,
 * and the sockstat values), then written (lib/jw.h), one section object per
 * run of entries of a section: a sample allocates nothing once its arrays
 * have grown. Text no kernel writes (a section named again after another,
 * a name twice in a section, a name ending in _per_sec like a rate's, a
 * section named sockets, a sockstat key twice, over 32 sections) needed
 * the json-c object's merging of repeated keys: such a sample is still
 * built as a json-c object and its members copied in (write_merged). */
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "lib/msg.h"
#include "reporters/netstat.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct netstat_opts {
    bool full;
};

static const struct hp_opt netstat_opts[] = {
    {.name = "full",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "every counter of every snmp/netstat section, not only the default set",
     HP_AT_BOOL(struct netstat_opts, full)},
    {0},
};

/* The default set: section and counter, after the snake_case conversion. */
static const char *const DEFAULTS[] = {
    "tcp.active_opens",
    "tcp.passive_opens",
    "tcp.attempt_fails",
    "tcp.estab_resets",
    "tcp.curr_estab",
    "tcp.in_segs",
    "tcp.out_segs",
    "tcp.retrans_segs",
    "tcp.in_errs",
    "tcp.out_rsts",
    "tcp_ext.listen_overflows",
    "tcp_ext.listen_drops",
    "tcp_ext.syncookies_sent",
    "tcp_ext.syncookies_recv",
    "tcp_ext.syncookies_failed",
    "tcp_ext.tcp_timeouts",
    "tcp_ext.tcp_syn_retrans",
    "tcp_ext.tcp_backlog_drop",
    "tcp_ext.tcp_abort_on_timeout",
    "tcp_ext.tcp_abort_on_memory",
    "udp.in_datagrams",
    "udp.out_datagrams",
    "udp.no_ports",
    "udp.in_errors",
    "udp.rcvbuf_errors",
    "udp.sndbuf_errors",
    "udp.in_csum_errors",
    "udp.mem_errors",
    "udp6.in_datagrams",
    "udp6.out_datagrams",
    "udp6.no_ports",
    "udp6.in_errors",
    "udp6.rcvbuf_errors",
    "udp6.sndbuf_errors",
    "udp6.in_csum_errors",
    "udp6.mem_errors",
    NULL,
};

/* Whether the default set has a counter in section sect ("tcp_ext"): the
 * other sections are skipped whole unless full = true. */
static bool default_section(const char *sect)
{
    size_t n = strlen(sect);
    for (const char *const *d = DEFAULTS; *d; d++)
        if (strncmp(*d, sect, n) == 0 && (*d)[n] == '.')
            return true;
    return false;
}

/* Values that are levels, not counters: no rate. */
static const char *const GAUGES[] = {
    "tcp.curr_estab", "tcp.rto_algorithm", "tcp.rto_min",    "tcp.rto_max",
    "tcp.max_conn",   "ip.forwarding",     "ip.default_ttl", NULL,
};

struct counter {
    char key[112]; /* "section.name" */
    int64_t v;
    uint64_t gen; /* sample that last saw it */
    bool gauge;   /* in GAUGES: no rate */
};

/* What one header line of an snmp-format file asks for, worked out once and
 * kept while the line stays the same (the kernel's lines never change while
 * it runs): the number of names, the section and the wanted columns. Saves
 * the snake_case, key and default-set look-ups of some 200 names a sample. */
struct col {
    size_t pos;     /* column (0 = first name after the prefix) */
    char key[112];  /* "section.name"; the name starts at key + name */
    char rate[120]; /* "name_per_sec" */
    size_t name;
    bool per_sec; /* the name ends in _per_sec: may be another column's rate */
};
struct plan {
    char *hdr; /* the header line, without its newline */
    size_t hlen, ncols, nw;
    char sect[48];
    bool want; /* anything of this section published */
    struct col *w;
};

/* What one line of /proc/net/snmp6 asks for, kept by line number while
 * the line's name stays the same: its name and, when it is published,
 * its column (key, name and rate name). */
struct line6 {
    char tok[64];  /* the kernel's name ("Udp6InDatagrams") */
    char sect[16]; /* "udp6" */
    struct col *c; /* NULL when not published */
};

/* One published column of a sample: its value and, when it has one, its
 * rate. col lives in a plan or a line6, unchanged until the next sample. */
struct ent {
    const struct col *col;
    int64_t v;
    double rate;
    bool has_rate;
};

/* One sockstat value: "tcp_inuse" 15. */
struct sock {
    char key[64]; /* proto (at most 23) '_' name (at most 31) */
    size_t len;
    uint64_t v;
};

#define MAX_SECTIONS 32 /* a sample with more is written by json-c (odd) */

struct netstat {
    struct netstat_opts o;
    struct hp_procfile snmp, netstat, sockstat, snmp6;
    struct counter *c;
    size_t n, cap, hint;
    struct plan *plans; /* one per header/value pair, in file order */
    size_t nplans, capplans, pi;
    int64_t *vals; /* the values of the current value line */
    size_t capvals;
    struct line6 *lines6; /* one per line of snmp6, in file order */
    size_t nlines6, caplines6;
    struct ent *ents; /* this sample's columns, in the order found */
    size_t nents, capents;
    size_t heads[MAX_SECTIONS]; /* the entries that start a section */
    size_t nheads;
    struct sock *socks; /* this sample's sockstat values */
    size_t nsocks, capsocks;
    bool have_sockets; /* sockstat was read: "sockets" is written, even empty */
    bool odd;          /* the sample needs json-c's merging (see the top) */
    bool oom;          /* an entry could not be kept: no message */
    uint64_t gen;
    int64_t prev_ns;
    bool warned_snmp, warned_netstat, warned_sockstat, warned_bad, told_snmp6;
};

void hp_snake_case(const char *in, size_t inlen, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < inlen && in[i]; i++) {
        unsigned char c = (unsigned char)in[i];
        bool under = false;
        if (isupper(c) && i > 0) {
            unsigned char prev = (unsigned char)in[i - 1];
            unsigned char next = i + 1 < inlen ? (unsigned char)in[i + 1] : 0;
            under = islower(prev) || isdigit(prev) || (isupper(prev) && islower(next));
        }
        if (k + 1 + under >= outlen)
            break;
        if (under)
            out[k++] = '_';
        out[k++] = isalnum(c) ? (char)tolower(c) : '_';
    }
    out[k] = '\0';
}

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

/* The remembered counter for key (added when new); NULL on ENOMEM. The
 * order of keys is the same every sample, so the hint makes it O(1). */
static struct counter *lookup(struct netstat *s, const char *key)
{
    if (s->hint < s->n && strcmp(s->c[s->hint].key, key) == 0)
        return &s->c[s->hint++];
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->c[i].key, key) == 0) {
            s->hint = i + 1;
            return &s->c[i];
        }
    if (hp_grow(&s->c, &s->cap, s->n + 1, sizeof(*s->c)) != 0)
        return NULL;
    struct counter *c = &s->c[s->n++];
    snprintf(c->key, sizeof(c->key), "%s", key);
    c->gen = 0;
    c->gauge = in_list(GAUGES, key);
    s->hint = s->n;
    return c;
}

/* Fill col for counter `name` (snake_case) of section sect at column pos. */
static void col_fill(struct col *col, size_t pos, const char *sect, const char *name)
{
    col->pos = pos;
    snprintf(col->key, sizeof(col->key), "%s.%s", sect, name);
    col->name = strlen(sect) + 1;
    snprintf(col->rate, sizeof(col->rate), "%s_per_sec", col->key + col->name);
    size_t n = strlen(col->key + col->name);
    col->per_sec = n >= 8 && strcmp(col->key + col->name + n - 8, "_per_sec") == 0;
}

static bool same_section(const struct col *a, const struct col *b)
{
    return a->name == b->name && memcmp(a->key, b->key, a->name) == 0;
}

/* Entry s->nents starts col's section: odd when that section was written
 * before in this sample (json-c would add to its object), is "sockets"
 * (sockstat's object would replace it) or is one too many. */
static void section_start(struct netstat *s, const struct col *col)
{
    for (size_t i = 0; i < s->nheads; i++)
        s->odd |= same_section(s->ents[s->heads[i]].col, col);
    s->odd |= col->name == sizeof("sockets") && memcmp(col->key, "sockets.", col->name) == 0;
    if (s->nheads < MAX_SECTIONS)
        s->heads[s->nheads++] = s->nents;
    else
        s->odd = true;
}

/* A new entry for col, its section started when it is not the last one's;
 * NULL on ENOMEM. */
static struct ent *ent_new(struct netstat *s, const struct col *col)
{
    if (hp_grow(&s->ents, &s->capents, s->nents + 1, sizeof(*s->ents)) != 0) {
        s->oom = true;
        return NULL;
    }
    if (!s->nheads || !same_section(s->ents[s->heads[s->nheads - 1]].col, col))
        section_start(s, col);
    return &s->ents[s->nents++];
}

/* Publish column col's value v, with its rate when it has one. A counter
 * already seen this sample (its key twice in its section), or none (out of
 * memory: twice cannot be told), or a name that may be a rate's makes the
 * sample odd. */
static void add_value(struct netstat *s, const struct col *col, int64_t v, double secs)
{
    struct counter *c = lookup(s, col->key);
    s->odd |= !c || c->gen == s->gen || col->per_sec;
    struct ent *e = ent_new(s, col);
    bool rate = c && c->gen && c->gen + 1 == s->gen && secs > 0 && v >= c->v && !c->gauge;
    if (e)
        *e = (struct ent){col, v, rate ? (double)(v - c->v) / secs : 0, rate};
    if (c) {
        c->v = v;
        c->gen = s->gen;
    }
}

/* The section object of data named sect, created when absent. */
static json_object *section(json_object *data, const char *sect)
{
    json_object *o;
    if (json_object_object_get_ex(data, sect, &o))
        return o;
    o = json_object_new_object();
    json_object_object_add(data, sect, o);
    return o;
}

/* Length of the "Prefix:" of line p (without the colon), 0 when none. */
static size_t prefix_len(const char *p)
{
    size_t n = 0;
    while (isalnum((unsigned char)p[n]))
        n++;
    return n > 0 && p[n] == ':' ? n : 0;
}

/* Parse value line v into s->vals (which plan_build made room for): true
 * when it holds exactly `names` integers and nothing else. */
static bool parse_values(struct netstat *s, const char *v, size_t names)
{
    int64_t x;
    size_t n = 0;
    while (n <= names && hp_parse_i64(&v, &x))
        s->vals[n++] = x;
    while (*v == ' ')
        v++;
    return n == names && (*v == '\n' || *v == '\0');
}

/* How many names the header line h holds. */
static size_t count_names(const char *h)
{
    size_t n = 0;
    for (;;) {
        while (*h == ' ')
            h++;
        if (!*h || *h == '\n')
            return n;
        h += strcspn(h, " \n");
        n++;
    }
}

/* Fill p for header line hdr (hlen bytes, prefix of pl bytes): its names,
 * its section and the columns this configuration publishes. -1 on ENOMEM. */
static int plan_build(struct netstat *s, struct plan *p, const char *hdr, size_t hlen, size_t pl)
{
    free(p->hdr);
    free(p->w);
    memset(p, 0, sizeof(*p));
    if (!(p->hdr = malloc(hlen + 1)))
        return -1;
    memcpy(p->hdr, hdr, hlen);
    p->hdr[hlen] = '\0';
    p->hlen = hlen;
    p->ncols = count_names(hdr + pl + 1);
    if (hp_grow(&s->vals, &s->capvals, p->ncols + 1, sizeof(*s->vals)) != 0)
        return -1;
    hp_snake_case(hdr, pl < 40 ? pl : 40, p->sect, sizeof(p->sect));
    p->want = s->o.full || default_section(p->sect);
    if (!p->want)
        return 0;
    size_t cap = 0;
    const char *h = hdr + pl + 1;
    for (size_t pos = 0; pos < p->ncols; pos++) {
        while (*h == ' ')
            h++;
        size_t nl = strcspn(h, " \n");
        char name[64];
        struct col col;
        hp_snake_case(h, nl < 60 ? nl : 60, name, sizeof(name));
        h += nl;
        col_fill(&col, pos, p->sect, name);
        if (!s->o.full && !in_list(DEFAULTS, col.key))
            continue;
        if (hp_grow(&p->w, &cap, p->nw + 1, sizeof(*p->w)) != 0)
            return -1;
        p->w[p->nw++] = col;
    }
    return 0;
}

/* The plan of this sample's next pair for header line hdr: the one kept
 * from the last sample when its line is the same, else built anew. NULL
 * on ENOMEM. */
static struct plan *plan_for(struct netstat *s, const char *hdr, size_t pl)
{
    size_t hlen = strcspn(hdr, "\n");
    if (s->pi == s->nplans) {
        if (hp_grow(&s->plans, &s->capplans, s->nplans + 1, sizeof(*s->plans)) != 0)
            return NULL;
        memset(&s->plans[s->nplans++], 0, sizeof(*s->plans));
    }
    struct plan *p = &s->plans[s->pi++];
    if (p->hdr && p->hlen == hlen && memcmp(p->hdr, hdr, hlen) == 0)
        return p;
    if (plan_build(s, p, hdr, hlen, pl) == 0)
        return p;
    free(p->hdr); /* half built: never taken for the same line again */
    p->hdr = NULL;
    return NULL;
}

/* One header/value pair (hdr, val point at their lines). false, publishing
 * nothing of it, when the pair is malformed: prefixes differ, or the counts
 * of names and numbers. */
static bool parse_pair(struct netstat *s, const char *hdr, const char *val, double secs)
{
    size_t pl = prefix_len(hdr);
    if (!pl || strncmp(hdr, val, pl + 1) != 0)
        return false;
    struct plan *p = plan_for(s, hdr, pl);
    if (!p)
        return true; /* out of memory: nothing of it this sample */
    if (!parse_values(s, val + pl + 1, p->ncols))
        return false;
    if (!p->want || !p->nw)
        return true; /* well formed, nothing of it wanted */
    for (size_t j = 0; j < p->nw; j++)
        add_value(s, &p->w[j], s->vals[p->w[j].pos], secs);
    return true;
}

/* Every pair of lines of an snmp-format file. */
static void parse_snmp(struct netstat *s, const char *text, const char *path, double secs)
{
    const char *p = text;
    int line = 1;
    while (p && *p) {
        const char *val = strchr(p, '\n');
        if (!val || !val[1])
            break;
        val++;
        if (!parse_pair(s, p, val, secs)) {
            hp_warn_once(&s->warned_bad, "netstat: %s:%d: malformed header/value lines, skipped",
                         path, line);
            p = val; /* resynchronise on the next line */
            line++;
            continue;
        }
        const char *next = strchr(val, '\n');
        p = next ? next + 1 : NULL;
        line += 2;
    }
}

/* The sections of /proc/net/snmp6, longest first where one is a prefix. */
static const char *const SNMP6_SECTIONS[] = {"UdpLite6", "Udp6", "Icmp6", "Ip6", NULL};

/* Work out line l of snmp6 for its name tok (nl bytes, at most 60): its
 * section and, when published, its column. -1 on ENOMEM. */
static int line6_build(struct netstat *s, struct line6 *l, const char *tok, size_t nl)
{
    memcpy(l->tok, tok, nl);
    l->tok[nl] = '\0';
    free(l->c);
    l->c = NULL;
    for (int i = 0; SNMP6_SECTIONS[i]; i++) {
        size_t pl = strlen(SNMP6_SECTIONS[i]);
        if (pl >= nl || strncmp(tok, SNMP6_SECTIONS[i], pl) != 0)
            continue;
        char name[64];
        struct col col;
        hp_snake_case(SNMP6_SECTIONS[i], pl, l->sect, sizeof(l->sect));
        hp_snake_case(tok + pl, nl - pl, name, sizeof(name));
        col_fill(&col, 0, l->sect, name);
        if (!s->o.full && !in_list(DEFAULTS, col.key))
            return 0;
        if (!(l->c = malloc(sizeof(*l->c))))
            return -1;
        *l->c = col;
        return 0;
    }
    return 0;
}

/* What line i of snmp6, named tok (nl bytes), asks for: kept from the last
 * sample when its name is the same (the kernel's lines never change while
 * it runs), else worked out anew. NULL when nothing of it is published
 * (also on ENOMEM). */
static const struct line6 *line6_for(struct netstat *s, size_t i, const char *tok, size_t nl)
{
    if (nl == 0 || nl > 60)
        return NULL;
    if (i >= s->nlines6) {
        if (hp_grow(&s->lines6, &s->caplines6, i + 1, sizeof(*s->lines6)) != 0)
            return NULL;
        memset(&s->lines6[s->nlines6], 0, (i + 1 - s->nlines6) * sizeof(*s->lines6));
        s->nlines6 = i + 1;
    }
    struct line6 *l = &s->lines6[i];
    if ((memcmp(l->tok, tok, nl) != 0 || l->tok[nl] != '\0') && line6_build(s, l, tok, nl) != 0)
        l->tok[0] = '\0'; /* half built: never taken for the same name again */
    return l->c ? l : NULL;
}

/* /proc/net/snmp6: one "Udp6InDatagrams <blanks> 123" per line, published
 * as udp6.in_datagrams. Lines of another shape are skipped. */
static void parse_snmp6(struct netstat *s, const char *text, double secs)
{
    const char *p = text;
    size_t i = 0;
    do {
        size_t nl = strcspn(p, " \t\n");
        const struct line6 *l = line6_for(s, i++, p, nl);
        const char *q = p + nl;
        int64_t v;
        if (!l || !hp_parse_i64(&q, &v))
            continue;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '\n' || *q == '\0')
            add_value(s, l->c, v, secs);
    } while (hp_next_line(&p));
}

/* Keep sockstat value v as proto_name (pn and nl bytes, at most 23 and 31);
 * a key kept before makes the sample odd. */
static void add_sock(struct netstat *s, const char *proto, size_t pn, const char *name, size_t nl,
                     uint64_t v)
{
    if (hp_grow(&s->socks, &s->capsocks, s->nsocks + 1, sizeof(*s->socks)) != 0) {
        s->oom = true;
        return;
    }
    struct sock *o = &s->socks[s->nsocks];
    memcpy(o->key, proto, pn);
    o->key[pn] = '_';
    memcpy(o->key + pn + 1, name, nl);
    o->len = pn + 1 + nl;
    o->key[o->len] = '\0';
    o->v = v;
    for (size_t i = 0; i < s->nsocks; i++)
        s->odd |= s->socks[i].len == o->len && memcmp(s->socks[i].key, o->key, o->len) == 0;
    s->nsocks++;
}

/* /proc/net/sockstat: "TCP: inuse 1 orphan 0 tw 2 alloc 2 mem 0" -> sockets.tcp_inuse ... */
static void parse_sockstat(struct netstat *s, const char *text)
{
    s->have_sockets = true;
    const char *p = text;
    do {
        size_t pl = prefix_len(p);
        if (!pl || pl > 15)
            continue;
        char proto[24];
        hp_snake_case(p, pl, proto, sizeof(proto)); /* "TCP" -> "tcp", "UDPLITE" -> "udplite" */
        size_t pn = strlen(proto);
        const char *q = p + pl + 1;
        for (;;) {
            while (*q == ' ')
                q++;
            size_t kl = strcspn(q, " \n");
            if (!kl || kl > 31 || q[kl] != ' ')
                break;
            const char *name = q;
            q += kl;
            uint64_t v;
            if (!hp_parse_u64(&q, &v))
                break;
            add_sock(s, proto, pn, name, kl, v);
        }
    } while (hp_next_line(&p));
}

static int netstat_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)errs;
    struct netstat *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    hp_opts_load(cfg, netstat_opts, &s->o);
    char path[512];
    hp_procfile_init(&s->snmp, hp_proc_path(r, path, sizeof(path), "net/snmp"));
    hp_procfile_init(&s->netstat, hp_proc_path(r, path, sizeof(path), "net/netstat"));
    hp_procfile_init(&s->sockstat, hp_proc_path(r, path, sizeof(path), "net/sockstat"));
    hp_procfile_init(&s->snmp6, hp_proc_path(r, path, sizeof(path), "net/snmp6"));
    r->priv = s;
    return 0;
}

/* Read f; warn once and return NULL when it cannot be read. */
static const char *read_or_warn(struct hp_procfile *f, bool *warned)
{
    const char *t = hp_procfile_read(f, true);
    if (!t)
        hp_warn_once(warned, "netstat: cannot read %s: %s", f->path, strerror(f->last_errno));
    return t;
}

/* Read and parse every file into s->ents and s->socks. */
static void collect(struct netstat *s)
{
    int64_t now = hp_mono_ns();
    double secs = s->prev_ns ? (double)(now - s->prev_ns) / 1e9 : 0;
    s->prev_ns = now;
    s->gen++;
    s->hint = 0;
    s->pi = 0;
    s->nents = s->nheads = s->nsocks = 0;
    s->have_sockets = s->odd = s->oom = false;
    const char *t = read_or_warn(&s->snmp, &s->warned_snmp);
    if (t)
        parse_snmp(s, t, s->snmp.path, secs);
    t = read_or_warn(&s->netstat, &s->warned_netstat);
    if (t)
        parse_snmp(s, t, s->netstat.path, secs);
    t = hp_procfile_read(&s->snmp6, true);
    if (t)
        parse_snmp6(s, t, secs);
    else if (!s->told_snmp6)
        hp_info("netstat: no %s (IPv6 off?): no udp6 counters", s->snmp6.path);
    s->told_snmp6 |= !t;
    t = read_or_warn(&s->sockstat, &s->warned_sockstat);
    if (t)
        parse_sockstat(s, t);
}

/* The section name of col ("tcp_ext" of "tcp_ext.listen_drops") into sect. */
static const char *section_name(const struct col *col, char sect[48])
{
    memcpy(sect, col->key, col->name - 1);
    sect[col->name - 1] = '\0';
    return sect;
}

/* The usual sample: each section's entries follow each other and no key
 * repeats, so each run of entries is one section object. */
static void write_plain(const struct netstat *s, struct hp_jw *w)
{
    char sect[48];
    for (size_t h = 0; h < s->nheads; h++) {
        size_t end = h + 1 < s->nheads ? s->heads[h + 1] : s->nents;
        hp_jw_object(w, section_name(s->ents[s->heads[h]].col, sect));
        for (size_t i = s->heads[h]; i < end; i++) {
            const struct ent *e = &s->ents[i];
            hp_jw_int(w, e->col->key + e->col->name, e->v);
            if (e->has_rate)
                hp_jw_double(w, e->col->rate, e->rate, 2);
        }
        hp_jw_end(w);
    }
    if (!s->have_sockets)
        return;
    hp_jw_object(w, "sockets");
    for (size_t i = 0; i < s->nsocks; i++)
        hp_jw_uint(w, s->socks[i].key, s->socks[i].v);
    hp_jw_end(w);
}

/* An odd sample (never from a kernel: fixtures, fuzzing): built as a json-c
 * object by the calls the reporter always made, a repeated key keeping its
 * first place and taking its last value, then its members copied in. */
static void write_merged(const struct netstat *s, struct hp_jw *w)
{
    json_object *data = json_object_new_object();
    if (!data) {
        hp_jw_fail(w);
        return;
    }
    char sect[48];
    for (size_t i = 0; i < s->nents; i++) { /* ents is NULL until a column was kept */
        const struct ent *e = &s->ents[i];
        json_object *sec = section(data, section_name(e->col, sect));
        hp_json_add_int(sec, e->col->key + e->col->name, e->v);
        if (e->has_rate)
            hp_json_add_double(sec, e->col->rate, e->rate, 2);
    }
    if (s->have_sockets) {
        json_object *o = json_object_new_object();
        for (size_t i = 0; i < s->nsocks; i++)
            hp_json_add_uint(o, s->socks[i].key, s->socks[i].v);
        json_object_object_add(data, "sockets", o);
    }
    json_object_object_foreach(data, key, val)
    {
        size_t n = 0;
        const char *t = json_object_to_json_string_length(
            val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (t)
            hp_jw_raw(w, key, t, n);
        else
            hp_jw_fail(w);
    }
    json_object_put(data);
}

static int netstat_write(struct hp_reporter *r, struct hp_jw *w)
{
    struct netstat *s = r->priv;
    collect(s);
    if (s->oom)
        hp_jw_fail(w); /* out of memory: no message rather than one missing values */
    else if (s->odd)
        write_merged(s, w);
    else
        write_plain(s, w);
    return hp_jw_empty(w) ? -1 : 0;
}

static void netstat_fini(struct hp_reporter *r)
{
    struct netstat *s = r->priv;
    if (!s)
        return;
    hp_procfile_fini(&s->snmp);
    hp_procfile_fini(&s->netstat);
    hp_procfile_fini(&s->sockstat);
    hp_procfile_fini(&s->snmp6);
    for (size_t i = 0; i < s->nplans; i++) {
        free(s->plans[i].hdr);
        free(s->plans[i].w);
    }
    free(s->plans);
    for (size_t i = 0; i < s->nlines6; i++)
        free(s->lines6[i].c);
    free(s->lines6);
    free(s->vals);
    free(s->c);
    free(s->ents);
    free(s->socks);
    free(s);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_netstat = {
    .name = "netstat",
    .default_interval = 10.0,
    .default_enabled = false,
    .needs_prime = true,
    .opts = netstat_opts,
    .init = netstat_init,
    .write = netstat_write,
    .fini = netstat_fini,
};
