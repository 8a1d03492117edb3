/* conffile.h -- read one libconfig file with FILE:LINE errors.
 *
 * Shared by the agent and hostpulse-web: each program checks the parsed
 * tree against its own option tables (lib/opts.h); this only reads it. */
#ifndef HP_CONFFILE_H
#define HP_CONFFILE_H

#include <libconfig.h>
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

#endif
