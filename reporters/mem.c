/* SPDX-License-Identifier: Apache-2.0 */
/* mem.c -- physical memory and swap as psutil's virtual_memory() and
 * swap_memory(), in bytes, from /proc/meminfo and /proc/vmstat.
 *
 * used = total - free - buffers - cached, where cached includes
 * SReclaimable (psutil's definition); available is MemAvailable, and
 * percent = (total - available) / total * 100. Swap-in/out are the
 * pswpin/pswpout page counters times the page size: raw totals, and per
 * second over the time since the previous sample.
 *
 * The message is written as it is read (lib/jw.h), with no json-c tree; the
 * swap object, which has no members when neither /proc/meminfo nor
 * /proc/vmstat gives any, is then taken back out (hp_jw_undo). */
#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mem {
    struct hp_procfile meminfo;
    struct hp_procfile vmstat;
    uint64_t page;
    uint64_t sin, sout; /* previous pswpin/pswpout, bytes */
    int64_t prev_ns;    /* 0 = no previous vmstat sample */
    bool warned_meminfo, warned_vmstat, warned_avail;
};

static int mem_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)cfg;
    (void)errs;
    struct mem *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    char path[512];
    hp_procfile_init(&m->meminfo, hp_proc_path(r, path, sizeof(path), "meminfo"));
    hp_procfile_init(&m->vmstat, hp_proc_path(r, path, sizeof(path), "vmstat"));
    long page = sysconf(_SC_PAGESIZE);
    m->page = page > 0 ? (uint64_t)page : 4096;
    r->priv = m;
    return 0;
}

/* "Key: N kB" in bytes; 0 when absent. */
static uint64_t kb(const char *buf, const char *key, bool *found)
{
    uint64_t v;
    if (!hp_find_key_u64(buf, key, &v)) {
        if (found)
            *found = false;
        return 0;
    }
    return v * 1024;
}

static int add_memory(struct mem *m, const char *s, struct hp_jw *data)
{
    bool ok = true, avail_ok = true;
    uint64_t total = kb(s, "MemTotal", &ok);
    uint64_t nfree = kb(s, "MemFree", &ok);
    uint64_t buffers = kb(s, "Buffers", NULL);
    uint64_t cached = kb(s, "Cached", NULL) + kb(s, "SReclaimable", NULL);
    uint64_t shared = kb(s, "Shmem", NULL);
    uint64_t avail = kb(s, "MemAvailable", &avail_ok);
    if (!ok || total == 0) {
        hp_warn_once(&m->warned_meminfo, "mem: no MemTotal/MemFree in %s", m->meminfo.path);
        return -1;
    }
    if (!avail_ok) { /* kernels before 3.14: psutil's rough fallback */
        hp_warn_once(&m->warned_avail, "mem: no MemAvailable in %s; estimating", m->meminfo.path);
        avail = nfree + buffers + cached;
    }
    if (avail > total)
        avail = total;
    uint64_t used =
        nfree + buffers + cached <= total ? total - nfree - buffers - cached : total - nfree;
    hp_jw_uint(data, "total", total);
    hp_jw_uint(data, "available", avail);
    hp_jw_uint(data, "used", used);
    hp_jw_uint(data, "free", nfree);
    hp_jw_double(data, "percent", hp_percent(total - avail, total), 1);
    hp_jw_uint(data, "buffers", buffers);
    hp_jw_uint(data, "cached", cached);
    hp_jw_uint(data, "shared", shared);
    return 0;
}

/* The swap object's sizes, when meminfo has them. */
static void add_swap_sizes(const char *meminfo, struct hp_jw *swap)
{
    bool ok = true;
    uint64_t total = kb(meminfo, "SwapTotal", &ok);
    uint64_t nfree = kb(meminfo, "SwapFree", &ok);
    if (!ok)
        return;
    if (nfree > total)
        nfree = total;
    hp_jw_uint(swap, "total", total);
    hp_jw_uint(swap, "used", total - nfree);
    hp_jw_uint(swap, "free", nfree);
    hp_jw_double(swap, "percent", hp_percent(total - nfree, total), 1);
}

/* sin/sout from vmstat, with rates when the previous sample is usable. */
static void add_swap_io(struct mem *m, struct hp_jw *swap)
{
    const char *v = hp_procfile_read(&m->vmstat, true);
    int64_t now = hp_mono_ns();
    uint64_t in, out;
    const char *pi = v ? strstr(v, "pswpin ") : NULL;
    const char *po = v ? strstr(v, "pswpout ") : NULL;
    if (!pi || !po || (pi += 7, !hp_parse_u64(&pi, &in)) || (po += 8, !hp_parse_u64(&po, &out))) {
        hp_warn_once(&m->warned_vmstat, "mem: no pswpin/pswpout in %s", m->vmstat.path);
        m->prev_ns = 0;
        return;
    }
    in *= m->page;
    out *= m->page;
    hp_jw_uint(swap, "sin", in);
    hp_jw_uint(swap, "sout", out);
    double secs = (double)(now - m->prev_ns) / 1e9;
    if (m->prev_ns && secs > 0 && in >= m->sin && out >= m->sout) {
        hp_jw_double(swap, "sin_per_sec", (double)(in - m->sin) / secs, 1);
        hp_jw_double(swap, "sout_per_sec", (double)(out - m->sout) / secs, 1);
    }
    m->sin = in;
    m->sout = out;
    m->prev_ns = now;
}

/* The memory members, then "swap" when it has any member. */
static int mem_write(struct hp_reporter *r, struct hp_jw *data)
{
    struct mem *m = r->priv;
    const char *s = hp_procfile_read(&m->meminfo, true);
    if (s)
        add_memory(m, s, data);
    else
        hp_warn_once(&m->warned_meminfo, "mem: cannot read %s", m->meminfo.path);
    struct hp_jw_mark before_swap = hp_jw_mark(data);
    hp_jw_object(data, "swap");
    if (s)
        add_swap_sizes(s, data);
    add_swap_io(m, data);
    if (hp_jw_empty(data))
        hp_jw_undo(data, before_swap);
    else
        hp_jw_end(data);
    return hp_jw_empty(data) ? -1 : 0;
}

static void mem_fini(struct hp_reporter *r)
{
    struct mem *m = r->priv;
    if (!m)
        return;
    hp_procfile_fini(&m->meminfo);
    hp_procfile_fini(&m->vmstat);
    free(m);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_mem = {
    .name = "mem",
    .default_interval = 5.0,
    .default_enabled = true,
    .needs_prime = true,
    .init = mem_init,
    .write = mem_write,
    .fini = mem_fini,
};
