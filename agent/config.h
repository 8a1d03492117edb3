/* SPDX-License-Identifier: Apache-2.0 */
/* config.h -- load and validate /etc/hostpulse/hostpulse.conf (libconfig).
 *
 * The file has three sections: agent { }, reporters { name { } ... } and
 * sinks ( { type = "..."; ... }, ... ). Every key of every section is
 * checked against the option tables of the agent, the reporter registry and
 * the sink registry; each problem is reported as FILE:LINE: message. */
#ifndef HP_CONFIG_H
#define HP_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/conffile.h"
#include "lib/log.h"
#include "lib/opts.h"

struct hp_config {
    config_t lc;                       /* owns every setting and string below */
    char *include_dir;                 /* directory of path: @include is relative to it */
    struct hp_conffrags frags;         /* conf.d fragments merged into lc (outlive it) */
    char *config_dir;                  /* where they were read from (--config-dir or default) */
    bool config_dir_given;             /* by --config-dir: a reload reads the same one */
    const config_setting_t *agent;     /* may be NULL: all defaults */
    const config_setting_t *reporters; /* may be NULL */
    const config_setting_t *sinks;     /* may be NULL: stdout */
    /* agent section, resolved */
    char hostname[256];
    const char *description;
    size_t ring_capacity;
    size_t batch_size;
    enum hp_log_dest log_dest;
    enum hp_log_level log_level;
    int log_timestamps; /* 0 auto (not under the journal), 1 always, 2 never */
    const char *proc_root;
    const char *sys_root;
    double shutdown_timeout;        /* seconds */
    double tick;                    /* transport wake-up period, seconds */
    double linger;                  /* transport batching delay after idle, seconds */
    const config_setting_t *spool;  /* agent.spool group, may be NULL */
    const config_setting_t *health; /* agent.health group, may be NULL */
    /* agent.labels as name, value, ..., NULL (strings borrowed from lc);
     * never NULL after a successful load. */
    const char **labels;
};

/* Label names: like Prometheus label names, [A-Za-z_][A-Za-z0-9_]*, at
 * most HP_LABEL_NAME_MAX - 1 bytes, not starting with "__"; values: no
 * control characters, at most HP_LABEL_VALUE_MAX bytes. */
#define HP_LABELS_MAX      32
#define HP_LABEL_NAME_MAX  64
#define HP_LABEL_VALUE_MAX 128

/* The keys every reporter group takes besides its own, bound by
 * hp_reporter_common_opts. Preset with the reporter type's defaults. */
struct hp_reporter_common {
    bool enabled;
    double interval; /* seconds */
};

extern const struct hp_opt hp_agent_opts[];
extern const struct hp_opt hp_reporter_common_opts[];

/* Parse and validate path. Syntax and validation errors go to errs; on any
 * error returns NULL. Reporter and sink specific options are type-checked
 * here; their init() checks the rest (see hp_agent_build). */
struct hp_config *hp_config_load(const char *path, struct hp_errs *errs);
/* The same with the fragments of config_dir (NULL: agent.config_dir of the
 * main file, default conf.d beside it, which may be missing) merged after
 * the main file: see hp_conffile_merge and docs/configuration.md. */
struct hp_config *hp_config_load_dir(const char *path, const char *config_dir,
                                     struct hp_errs *errs);
/* The same, but it goes on past validation errors so that the caller can
 * still initialise what is valid and report every problem in one pass
 * (--check, start-up): a reporter group or sink entry with a problem is
 * marked (hp_config_valid() false) and left out of the build, an agent
 * section with one is replaced by the defaults. Returns NULL only when
 * the file cannot be read or parsed; *problems gets the validation count.
 * path NULL: the built-in defaults (no file). */
struct hp_config *hp_config_load_all(const char *path, const char *config_dir, struct hp_errs *errs,
                                     unsigned *problems);
/* May this reporter group / sink entry be built? (NULL: yes, defaults.) */
bool hp_config_valid(const config_setting_t *s);
void hp_config_free(struct hp_config *c);

/* The config group of reporter `name`, or NULL when absent. */
const config_setting_t *hp_config_reporter(const struct hp_config *c, const char *name);

#endif
