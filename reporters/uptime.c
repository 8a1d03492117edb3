/* SPDX-License-Identifier: Apache-2.0 */
/* uptime.c -- seconds since boot and the boot time, from /proc/uptime and
 * the btime line of /proc/stat (as psutil.boot_time()).
 *
 * /proc/uptime is one pread of a kept-open descriptor per sample. The boot
 * time cannot change while the system runs, so /proc/stat (a large file on
 * big machines) is read only until btime has been found once. The message
 * is written with lib/jw.h: no json-c tree is built per sample. */
#include "lib/jw.h"
#include "lib/log.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct uptime {
    struct hp_procfile uptime;
    struct hp_procfile stat;
    int64_t boot_ms; /* 0 until btime was read */
    bool warned_uptime, warned_stat;
};

static int uptime_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)cfg;
    (void)errs;
    struct uptime *u = calloc(1, sizeof(*u));
    if (!u)
        return -1;
    char path[512];
    hp_procfile_init(&u->uptime, hp_proc_path(r, path, sizeof(path), "uptime"));
    hp_procfile_init(&u->stat, hp_proc_path(r, path, sizeof(path), "stat"));
    r->priv = u;
    return 0;
}

/* btime of /proc/stat in epoch ms, or 0. The buffer is released after. */
static int64_t read_btime(struct uptime *u)
{
    uint64_t btime = 0;
    if (!hp_find_btime(hp_procfile_read(&u->stat, false), &btime))
        btime = 0;
    hp_procfile_fini(&u->stat);
    return (int64_t)btime * 1000;
}

static int uptime_write(struct hp_reporter *r, struct hp_jw *data)
{
    struct uptime *u = r->priv;
    const char *p = hp_procfile_read(&u->uptime, true);
    double up, idle;
    /* Garbage in the file must not become a negative or infinite value. */
    if (p && hp_parse_double(&p, &up) && up >= 0 && up < 1e15) {
        hp_jw_double(data, "uptime", up, 2);
        if (hp_parse_double(&p, &idle) && idle >= 0 && idle < 1e15)
            hp_jw_double(data, "idle", idle, 2);
    } else {
        hp_warn_once(&u->warned_uptime, "uptime: cannot read %s", u->uptime.path);
    }
    if (!u->boot_ms)
        u->boot_ms = read_btime(u);
    if (u->boot_ms)
        hp_jw_int(data, "boot_time", u->boot_ms);
    else
        hp_warn_once(&u->warned_stat, "uptime: no btime in %s", u->stat.path);
    return hp_jw_empty(data) ? -1 : 0;
}

static void uptime_fini(struct hp_reporter *r)
{
    struct uptime *u = r->priv;
    if (!u)
        return;
    hp_procfile_fini(&u->uptime);
    hp_procfile_fini(&u->stat);
    free(u);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_uptime = {
    .name = "uptime",
    .default_interval = 60.0,
    .default_enabled = true,
    .init = uptime_init,
    .write = uptime_write,
    .fini = uptime_fini,
};
