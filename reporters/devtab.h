/* SPDX-License-Identifier: Apache-2.0 */
/* devtab.h -- a table of named devices (network interfaces, block devices)
 * with each one's previous counters, for the reporters that turn counters
 * into rates (net, disk).
 *
 * Whether a device counts (include globs, exclude globs or a default
 * exclude list, and an optional extra test such as "not loopback") is
 * decided once, when the name first appears, and remembered. A sample calls
 * hp_devtab_begin, looks up every device it reads, and hp_devtab_forget
 * then drops the devices that sample did not see (gone, or renamed), so a
 * re-created device starts over without a bogus rate. The table allocates
 * only when a device appears. One reporter thread owns a table. */
#ifndef HP_DEVTAB_H
#define HP_DEVTAB_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_DEV_NAME 64 /* longest name kept, with its NUL */
#define HP_DEV_VALS 16 /* counters kept per device */

struct hp_dev {
    char name[HP_DEV_NAME];
    uint64_t v[HP_DEV_VALS]; /* counters of the last sample that saw it */
    uint64_t gen;            /* that sample's generation; 0: none yet */
    bool wanted;             /* passed the filters */
};

struct hp_devtab {
    /* filters, set by the owner before the first lookup */
    const config_setting_t *include;                /* STRINGS of globs; NULL: every device */
    const config_setting_t *exclude;                /* STRINGS of globs; NULL: default_exclude */
    const char *const *default_exclude;             /* NULL-terminated globs; may be NULL */
    bool (*keep)(const void *ud, const char *name); /* extra test; may be NULL */
    const void *ud;
    /* state */
    struct hp_dev *devs;
    size_t n, cap;
    uint64_t gen; /* samples begun */
};

/* Does name match any glob of a STRINGS setting (NULL: none)? */
bool hp_globs_match(const config_setting_t *globs, const char *name);

/* Start a sample: a new generation. */
void hp_devtab_begin(struct hp_devtab *t);
/* The entry for name, added with its filter decision when new. NULL when
 * out of memory. The pointer is valid until hp_devtab_forget. */
struct hp_dev *hp_devtab_lookup(struct hp_devtab *t, const char *name);
/* Was d seen by the previous sample (so its counters make a rate)? */
static inline bool hp_dev_has_prev(const struct hp_devtab *t, const struct hp_dev *d)
{
    return d->gen && d->gen + 1 == t->gen;
}
/* Mark d as seen by this sample, remembering n counters (n <= HP_DEV_VALS). */
void hp_dev_seen(struct hp_devtab *t, struct hp_dev *d, const uint64_t *v, size_t n);
/* Drop the devices this sample did not see. */
void hp_devtab_forget(struct hp_devtab *t);
void hp_devtab_free(struct hp_devtab *t);

#endif
