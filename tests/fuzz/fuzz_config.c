/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_config.c -- libFuzzer target: the config loader (libconfig syntax
 * plus every option table) on an arbitrary file. Inputs with @include are
 * skipped: they would read arbitrary files of the fuzzing host. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "lib/log.h"

static char path[64];

static void quiet(void *ud, const char *line)
{
    (void)ud;
    (void)line;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    char dir[] = "/tmp/hp-fuzz-config-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/hostpulse.conf", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memmem(data, size, "@include", 8))
        return 0;
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    struct hp_errs errs = {.fallback_file = path, .emit = quiet};
    struct hp_config *c = hp_config_load(path, &errs);
    if (!c && errs.count == 0)
        __builtin_trap(); /* refused without saying why */
    hp_config_free(c);
    return 0;
}
