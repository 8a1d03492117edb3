/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_psi.c -- libFuzzer target: the pressure stall parser (hp_psi_parse)
 * on arbitrary text, and the pressure reporter sampling a fuzzed
 * /proc/pressure/cpu twice in a temporary proc_root (the input is split at
 * its first NUL byte: first sample before, second after), so the rate code
 * sees arbitrary pairs. Averages must stay within 0..100 and nothing
 * published may be negative. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "reporters/psi.h"
#include "reporters/reporter.h"

static char root[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    snprintf(root, sizeof(root), "/tmp/hp-fuzz-psi-XXXXXX");
    if (!mkdtemp(root))
        abort();
    char dir[96];
    snprintf(dir, sizeof(dir), "%s/pressure", root);
    if (mkdir(dir, 0700) != 0)
        abort();
    return 0;
}

static void write_cpu(const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/pressure/cpu", root);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
}

static void no_negatives(json_object *o)
{
    json_object_object_foreach(o, k, v)
    {
        (void)k;
        if (json_object_is_type(v, json_type_object))
            no_negatives(v);
        else if ((json_object_is_type(v, json_type_double) && json_object_get_double(v) < 0) ||
                 (json_object_is_type(v, json_type_int) && json_object_get_int64(v) < 0))
            __builtin_trap();
    }
}

static void reporter(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    const struct hp_reporter_ops *ops = hp_reporter_find("pressure");
    struct hp_reporter r = {.ops = ops, .proc_root = root, .sys_root = root, .interval = 1};
    if (ops->init(&r, NULL, NULL) != 0)
        abort();
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            write_cpu(data, n1);
        else
            write_cpu(nul ? nul + 1 : data, nul ? size - n1 - 1 : 0);
        json_object *o = json_object_new_object();
        hp_reporter_sample(&r, o);
        no_negatives(o);
        json_object_put(o);
    }
    ops->fini(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct hp_psi p;
    hp_psi_parse(text, &p);
    const struct hp_psi_line *l[2] = {&p.some, &p.full};
    for (int i = 0; i < 2; i++)
        if (l[i]->ok && (l[i]->avg10 < 0 || l[i]->avg10 > 100 || l[i]->avg300 > 100))
            __builtin_trap();
    free(text);
    reporter(data, size);
    return 0;
}
