/* SPDX-License-Identifier: Apache-2.0 */
/* conffile.h -- read one libconfig file with FILE:LINE errors.
 *
 * Shared by the agent and hostpulse-web: each program checks the parsed
 * tree against its own option tables (lib/opts.h); this only reads it. */
#ifndef HP_CONFFILE_H
#define HP_CONFFILE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/opts.h"

/* libconfig's scanner exits the process on a directory, and its parser is
 * quadratic in long tokens and in keys per group: a real config is a few
 * KB, so a file whose size, with every @include it names, passes this is
 * refused unparsed. */
#define HP_CONFIG_MAX_BYTES (256 << 10)

/* Parse path into lc (initialised by the caller). @include is relative to
 * the file's directory, returned in *include_dir (malloc'd, the caller
 * frees it; it must outlive e's use, as e->include_dir points at it).
 * The file and every @include must be regular files (a FIFO or a device is
 * refused without blocking). Every problem goes to e as FILE:LINE; returns
 * 0, or -1 on any error. */
int hp_conffile_read(config_t *lc, const char *path, struct hp_errs *e, char **include_dir);

/* Fragments read from a configuration directory (conf.d): each one's
 * parse tree stays alive while the merged configuration does, because the
 * merged settings point at their file names (FILE:LINE errors name the
 * fragment). */
struct hp_conffrags {
    config_t *lc; /* n parsed fragments */
    char **dirs;  /* their include directories */
    char **paths; /* their paths: the merged settings' FILE */
    size_t n;
};

/* Read every regular `*.conf` of dir in sorted (strcmp) order and merge
 * each into lc after the file already there (see hp_conffile_merge).
 * main_bytes is the size of what lc was read from: the total of it and the
 * fragments must stay within HP_CONFIG_MAX_BYTES. A missing dir is fine
 * when missing_ok. Problems go to e; returns 0, or -1 on any error. frags
 * is filled even on error; free it with hp_conffrags_free after lc. */
int hp_conffile_read_dir(config_t *lc, const char *dir, bool missing_ok, size_t main_bytes,
                         struct hp_conffrags *frags, struct hp_errs *e);
void hp_conffrags_free(struct hp_conffrags *f);

/* Merge the tree of src into dst: groups key by key (recursively); a
 * scalar or an array replaces; a list of groups is appended to, except
 * that an element with the same identity (its `name`, else its `type`) as
 * one already there replaces that one. The copies keep src's LINE and get
 * file as their FILE (libconfig knows none when it read a stream), so src
 * and file must outlive dst's use. -1 (to e) on out of memory. */
int hp_conffile_merge(config_setting_t *dst, const config_setting_t *src, const char *file,
                      struct hp_errs *e);

#endif
