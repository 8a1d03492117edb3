/* SPDX-License-Identifier: Apache-2.0 */
/* pressure.c -- system-wide pressure stall information from
 * /proc/pressure/{cpu,memory,io,irq}: for each resource the kernel's
 * some/full avg10/avg60/avg300 (percent of time stalled) and the stall
 * totals (microseconds) with their per-second rates.
 *
 * "Busy" is not "under pressure": a host at 100% cpu with nothing waiting
 * is fine, one at 40% with tasks stalled on memory reclaim is not. PSI says
 * the second. Kernels without CONFIG_PSI (or booted with psi=0) have no
 * /proc/pressure: the reporter then logs one line and sends nothing; a
 * resource the kernel lacks (irq needs CONFIG_IRQ_TIME_ACCOUNTING, 6.1+)
 * is left out, also with one line. A total that went back (never seen in
 * practice, but a fixture or a container's view can) gives no rate. */
#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "reporters/procfile.h"
#include "reporters/psi.h"
#include "reporters/reporter.h"

#include <stdlib.h>
#include <string.h>

enum { NRES = 4 };
static const char *const res_names[NRES] = {"cpu", "memory", "io", "irq"};

struct pressure {
    struct hp_procfile f[NRES];
    struct hp_psi prev[NRES];
    bool have_prev[NRES];
    bool missing[NRES]; /* told the log it is absent */
    int64_t prev_ns;
    bool warned_none;
};

static int pressure_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)cfg;
    (void)errs;
    struct pressure *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    for (int i = 0; i < NRES; i++) {
        char rel[32], path[512];
        snprintf(rel, sizeof(rel), "pressure/%s", res_names[i]);
        hp_procfile_init(&p->f[i], hp_proc_path(r, path, sizeof(path), rel));
    }
    r->priv = p;
    return 0;
}

/* One resource into w; false when its file is absent or unreadable. */
static bool write_resource(struct pressure *p, int i, struct hp_jw *w, double secs)
{
    const char *text = hp_procfile_read(&p->f[i], true);
    struct hp_psi cur;
    if (!text || hp_psi_parse(text, &cur) == 0) {
        if (!p->missing[i])
            hp_info("pressure: no %s pressure (%s: %s)", res_names[i], p->f[i].path,
                    text ? "no well-formed some/full line" : strerror(p->f[i].last_errno));
        p->missing[i] = true;
        p->have_prev[i] = false;
        return false;
    }
    p->missing[i] = false;
    hp_psi_write(w, res_names[i], &cur, p->have_prev[i] ? &p->prev[i] : NULL, secs);
    p->prev[i] = cur;
    p->have_prev[i] = true;
    return true;
}

static int pressure_write(struct hp_reporter *r, struct hp_jw *w)
{
    struct pressure *p = r->priv;
    int64_t now = hp_mono_ns();
    double secs = p->prev_ns ? (double)(now - p->prev_ns) / 1e9 : 0;
    p->prev_ns = now;
    int n = 0;
    for (int i = 0; i < NRES; i++)
        n += write_resource(p, i, w, secs);
    if (n == 0) {
        hp_warn_once(&p->warned_none,
                     "pressure: no pressure stall information under %s/pressure (kernel "
                     "without CONFIG_PSI, or booted with psi=0); sending nothing",
                     r->proc_root);
        return -1;
    }
    return 0;
}

static void pressure_fini(struct hp_reporter *r)
{
    struct pressure *p = r->priv;
    if (!p)
        return;
    for (int i = 0; i < NRES; i++)
        hp_procfile_fini(&p->f[i]);
    free(p);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_pressure = {
    .name = "pressure",
    .default_interval = 5.0,
    .default_enabled = false,
    .needs_prime = true,
    .init = pressure_init,
    .write = pressure_write,
    .fini = pressure_fini,
};
