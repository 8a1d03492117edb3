/* conffile.c -- read one libconfig file with FILE:LINE errors, refusing
 * directories and oversized files before libconfig sees them. */
#include "lib/conffile.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Refuse what libconfig must not parse. Returns 0 if f may be read. */
static int check_file(FILE *f, const char *path, struct hp_errs *e)
{
    struct stat st = {0};
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        hp_errs_raw(e, path, 0, "cannot read configuration: %s", strerror(EISDIR));
        return -1;
    }
    if (S_ISREG(st.st_mode) && st.st_size > HP_CONFIG_MAX_BYTES) {
        hp_errs_raw(e, path, 0, "configuration is too large (%lld bytes; the limit is %d)",
                    (long long)st.st_size, HP_CONFIG_MAX_BYTES);
        return -1;
    }
    return 0;
}

int hp_conffile_read(config_t *lc, const char *path, struct hp_errs *e, char **include_dir)
{
    if (!e->fallback_file)
        e->fallback_file = path;
    char *dir = strdup(path);
    *include_dir = dir ? strdup(dirname(dir)) : NULL;
    free(dir);
    if (!*include_dir)
        return -1;
    config_set_include_dir(lc, *include_dir);
    e->include_dir = *include_dir;

    FILE *f = fopen(path, "r");
    if (!f) {
        hp_errs_raw(e, path, 0, "cannot open configuration: %s", strerror(errno));
        return -1;
    }
    if (check_file(f, path, e) != 0) {
        fclose(f);
        return -1;
    }
    int ok = config_read(lc, f);
    fclose(f);
    if (!ok) {
        const char *file = config_error_file(lc);
        hp_errs_raw(e, file ? file : path, (unsigned)config_error_line(lc), "%s",
                    config_error_text(lc));
        return -1;
    }
    return 0;
}
