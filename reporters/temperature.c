/* SPDX-License-Identifier: Apache-2.0 */
/* temperature.c -- every temperature input libsensors knows (chip, label,
 * value, high and critical limits, degrees Celsius) and a `cpu` summary,
 * as psistats' cpu_temp.
 *
 * libsensors keeps process-wide state. A reload initialises the new
 * reporters before it stops and finalises the old ones, so init() only
 * checks the options; the library is initialised on the reporter's own
 * thread at its first sample and cleaned up by fini(), after that thread
 * was joined. The chip list is read once, at that initialisation: labels
 * and subfeature numbers are cached, a sample only reads values. libsensors
 * always reads /sys (agent.sys_root does not apply). The message is written
 * as it is read (lib/jw.h): a sample allocates nothing. */
#include "reporters/temperature.h"

#include "lib/jw.h"
#include "lib/log.h"
#include "lib/regfile.h"
#include "reporters/reporter.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sensors/error.h>
#include <sensors/sensors.h>

struct input {
    const sensors_chip_name *chip;
    char chip_name[64];
    char adapter[64];
    char label[64];
    int input, max, crit; /* subfeature numbers, -1 when absent */
};

struct temp {
    const char *config; /* borrowed from the configuration; NULL: default */
    bool initialised;   /* sensors_init succeeded: fini cleans up */
    struct input *in;
    size_t n_in;
    struct hp_temp_reading *readings;
    bool warned_init, warned_none, warned_read;
};

static const struct hp_opt temperature_opts[] = {
    {.name = "config",
     .type = HP_OPT_STRING,
     .help = "libsensors configuration file (default: /etc/sensors3.conf and /etc/sensors.d)",
     HP_AT_STR(struct temp, config)},
    {NULL},
};

/* A sensors configuration is a few KB; libsensors' parser must never see
 * a FIFO, a device such as /dev/zero (it would parse forever) or a huge
 * file. */
#define SENSORS_CONFIG_MAX (1 << 20)

/* The configured file opened for libsensors, or NULL with a reason in why. */
static FILE *open_config(const char *path, char *why, size_t len)
{
    off_t size = 0;
    int fd = hp_open_regular(AT_FDCWD, path, &size);
    if (fd < 0) {
        snprintf(why, len, "%s", hp_open_error(errno));
        return NULL;
    }
    if (size > SENSORS_CONFIG_MAX) {
        snprintf(why, len, "too large (%lld bytes; the limit is %d)", (long long)size,
                 SENSORS_CONFIG_MAX);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        snprintf(why, len, "%s", strerror(errno));
        close(fd);
    }
    return f;
}

/* Does /sys/class/hwmon have a temperature input, where libsensors looks
 * (a chip's own directory, or its device directory on older drivers)? */
static bool hwmon_has_temperature(void)
{
    static const char *const patterns[] = {"/sys/class/hwmon/*/temp*_input",
                                           "/sys/class/hwmon/*/device/temp*_input"};
    for (size_t i = 0; i < sizeof(patterns) / sizeof(*patterns); i++) {
        glob_t g;
        int rc = glob(patterns[i], GLOB_NOSORT, NULL, &g);
        size_t n = rc == 0 ? g.gl_pathc : 0;
        globfree(&g);
        if (n)
            return true;
    }
    return false;
}

static int temperature_init(struct hp_reporter *r, const config_setting_t *cfg,
                            struct hp_errs *errs)
{
    struct temp *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    r->priv = t;
    hp_opts_load(cfg, temperature_opts, t);
    char why[128];
    FILE *f = t->config ? open_config(t->config, why, sizeof(why)) : NULL;
    if (t->config && !f) {
        hp_errs_add(errs, config_setting_get_member(cfg, "config"),
                    "reporters.temperature.config: cannot open %s: %s", t->config, why);
        return -1;
    }
    if (f)
        fclose(f);
    /* Without `enabled` in its group the reporter is "auto": on where the
     * host has a temperature sensor, left out (one info line) where not. */
    bool auto_mode = !cfg || !config_setting_get_member(cfg, "enabled");
    if (auto_mode && !hwmon_has_temperature()) {
        hp_info("temperature: no temperature sensors on this host; not reporting "
                "(reporters.temperature.enabled = true reports empty lists)");
        return 1;
    }
    return 0;
}

static int subfeature(const sensors_chip_name *chip, const sensors_feature *f,
                      sensors_subfeature_type type)
{
    const sensors_subfeature *s = sensors_get_subfeature(chip, f, type);
    return s ? s->number : -1;
}

static int add_input(struct temp *t, const sensors_chip_name *chip, const sensors_feature *f)
{
    int in = subfeature(chip, f, SENSORS_SUBFEATURE_TEMP_INPUT);
    if (in < 0)
        return 0;
    struct input *n = realloc(t->in, (t->n_in + 1) * sizeof(*n));
    if (!n)
        return -1;
    t->in = n;
    struct input *e = &t->in[t->n_in++];
    memset(e, 0, sizeof(*e));
    e->chip = chip;
    e->input = in;
    e->max = subfeature(chip, f, SENSORS_SUBFEATURE_TEMP_MAX);
    e->crit = subfeature(chip, f, SENSORS_SUBFEATURE_TEMP_CRIT);
    sensors_snprintf_chip_name(e->chip_name, sizeof(e->chip_name), chip);
    const char *adapter = sensors_get_adapter_name(&chip->bus);
    snprintf(e->adapter, sizeof(e->adapter), "%s", adapter ? adapter : "");
    char *label = sensors_get_label(chip, f);
    snprintf(e->label, sizeof(e->label), "%s", label ? label : f->name);
    free(label);
    return 0;
}

/* hwmon0, hwmon1, ..., hwmon10 (as the kernel numbered them), then
 * libsensors' order of inputs within a chip. */
static int by_path(const void *a, const void *b)
{
    const struct input *x = a, *y = b;
    int c = strverscmp(x->chip->path ? x->chip->path : "", y->chip->path ? y->chip->path : "");
    return c ? c : (x->input > y->input) - (x->input < y->input);
}

/* Initialise libsensors and cache every temperature input. */
static int open_sensors(struct temp *t)
{
    char why[128];
    FILE *f = t->config ? open_config(t->config, why, sizeof(why)) : NULL;
    if (t->config && !f) {
        hp_warn_once(&t->warned_init, "temperature: cannot open %s: %s", t->config, why);
        return -1;
    }
    int rc = sensors_init(f);
    if (f)
        fclose(f);
    if (rc != 0) {
        hp_warn_once(&t->warned_init, "temperature: sensors_init: %s", sensors_strerror(rc));
        sensors_cleanup();
        return -1;
    }
    t->initialised = true;
    const sensors_chip_name *chip;
    for (int c = 0; (chip = sensors_get_detected_chips(NULL, &c));) {
        const sensors_feature *feat;
        for (int i = 0; (feat = sensors_get_features(chip, &i));)
            if (feat->type == SENSORS_FEATURE_TEMP && add_input(t, chip, feat) != 0)
                return -1;
    }
    if (t->n_in)
        qsort(t->in, t->n_in, sizeof(*t->in), by_path);
    t->readings = calloc(t->n_in ? t->n_in : 1, sizeof(*t->readings));
    if (!t->readings)
        return -1;
    if (!t->n_in)
        hp_warn_once(&t->warned_none, "temperature: no temperature sensors found");
    return 0;
}

static void write_limit(struct hp_jw *w, const char *key, const struct input *e, int nr)
{
    double v;
    if (nr >= 0 && sensors_get_value(e->chip, nr, &v) == 0)
        hp_jw_double(w, key, v, 2);
}

static void write_reading(struct temp *t, size_t i, struct hp_jw *w)
{
    const struct input *e = &t->in[i];
    struct hp_temp_reading *rd = &t->readings[i];
    hp_jw_object(w, NULL);
    hp_jw_string(w, "chip", e->chip_name);
    if (e->adapter[0])
        hp_jw_string(w, "adapter", e->adapter);
    hp_jw_string(w, "label", e->label);
    rd->prefix = e->chip->prefix;
    rd->label = e->label;
    rd->ok = sensors_get_value(e->chip, e->input, &rd->value) == 0;
    if (rd->ok)
        hp_jw_double(w, "value", rd->value, 2);
    else
        hp_warn_once(&t->warned_read, "temperature: cannot read %s %s", e->chip_name, e->label);
    write_limit(w, "high", e, e->max);
    write_limit(w, "crit", e, e->crit);
    hp_jw_end(w);
}

static int temperature_write(struct hp_reporter *r, struct hp_jw *w)
{
    struct temp *t = r->priv;
    if (!t->initialised && open_sensors(t) != 0)
        t->n_in = 0;
    hp_jw_array(w, "sensors");
    for (size_t i = 0; i < t->n_in; i++)
        write_reading(t, i, w);
    hp_jw_end(w);
    int cpu = t->n_in ? hp_temp_cpu_index(t->readings, t->n_in) : -1;
    if (cpu >= 0) {
        char src[160];
        hp_jw_double(w, "cpu", t->readings[cpu].value, 2);
        snprintf(src, sizeof(src), "%s/%s", t->in[cpu].chip_name, t->in[cpu].label);
        hp_jw_string(w, "cpu_sensor", src);
    }
    return 0;
}

static void temperature_fini(struct hp_reporter *r)
{
    struct temp *t = r->priv;
    if (!t)
        return;
    if (t->initialised)
        sensors_cleanup();
    free(t->in);
    free(t->readings);
    free(t);
    r->priv = NULL;
}

static bool prefix_is(const struct hp_temp_reading *r, const char *prefix)
{
    return r->prefix && strcmp(r->prefix, prefix) == 0;
}

static bool label_starts(const struct hp_temp_reading *r, const char *s)
{
    return r->label && strncmp(r->label, s, strlen(s)) == 0;
}

/* The hottest readable reading for which pick() holds, or -1. */
static int hottest(const struct hp_temp_reading *t, size_t n,
                   bool (*pick)(const struct hp_temp_reading *))
{
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if (t[i].ok && pick(&t[i]) && (best < 0 || t[i].value > t[best].value))
            best = (int)i;
    return best;
}

static bool is_package(const struct hp_temp_reading *r)
{
    return prefix_is(r, "coretemp") && label_starts(r, "Package id");
}

static bool is_amd(const struct hp_temp_reading *r)
{
    return prefix_is(r, "k10temp") || prefix_is(r, "zenpower");
}

static bool is_tdie(const struct hp_temp_reading *r)
{
    return is_amd(r) && label_starts(r, "Tdie");
}

static bool is_tctl(const struct hp_temp_reading *r)
{
    return is_amd(r) && label_starts(r, "Tctl");
}

static bool is_core(const struct hp_temp_reading *r)
{
    return label_starts(r, "Core ");
}

static bool is_soc(const struct hp_temp_reading *r)
{
    return prefix_is(r, "cpu_thermal") || prefix_is(r, "cpu-thermal") ||
           prefix_is(r, "soc_thermal") || prefix_is(r, "x86_pkg_temp");
}

int hp_temp_cpu_index(const struct hp_temp_reading *t, size_t n)
{
    bool (*const order[])(const struct hp_temp_reading *) = {is_package, is_tdie, is_tctl, is_core,
                                                             is_soc};
    for (size_t k = 0; k < sizeof(order) / sizeof(*order); k++) {
        int i = hottest(t, n, order[k]);
        if (i >= 0)
            return i;
    }
    return -1;
}

const struct hp_reporter_ops hp_reporter_temperature = {
    .name = "temperature",
    .default_interval = 10.0,
    .default_enabled = true,
    .default_auto = true,
    .opts = temperature_opts,
    .init = temperature_init,
    .write = temperature_write,
    .fini = temperature_fini,
};
