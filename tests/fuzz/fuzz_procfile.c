/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_procfile.c -- libFuzzer target: the allocation-free /proc parsers
 * (hp_parse_u64/i64/double, hp_next_line, hp_find_key_u64) on arbitrary
 * text, and the uptime reporter against a fuzzed /proc/uptime and
 * /proc/stat in a temporary proc_root (the input is split at its first
 * NUL byte: uptime before, stat after). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

static char root[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    snprintf(root, sizeof(root), "/tmp/hp-fuzz-proc-XXXXXX");
    if (!mkdtemp(root))
        abort();
    return 0;
}

static void parsers(const char *text)
{
    const char *p = text;
    uint64_t u;
    int64_t i;
    double d;
    do {
        const char *q = p;
        while (hp_parse_u64(&q, &u) || hp_parse_i64(&q, &i) || hp_parse_double(&q, &d))
            ;
    } while (hp_next_line(&p));
    hp_find_key_u64(text, "MemTotal", &u);
    hp_find_key_u64(text, "", &u);
    const char *e = text;
    if (hp_parse_i64(&e, &i) && i == INT64_MIN)
        __builtin_trap(); /* saturates at -INT64_MAX, never wraps */
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", root, name);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
}

static void uptime(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    write_file("uptime", data, n1);
    write_file("stat", nul ? nul + 1 : data + size, nul ? size - n1 - 1 : 0);
    const struct hp_reporter_ops *ops = hp_reporter_find("uptime");
    struct hp_reporter r = {.ops = ops, .proc_root = root, .sys_root = root, .interval = 1};
    if (ops->init(&r, NULL, NULL) != 0)
        abort();
    json_object *o = json_object_new_object();
    hp_reporter_sample(&r, o);
    json_object_object_foreach(o, k, v)
    {
        (void)k; /* no field may be negative: the schema forbids it */
        if ((json_object_is_type(v, json_type_double) && json_object_get_double(v) < 0) ||
            (json_object_is_type(v, json_type_int) && json_object_get_int64(v) < 0))
            __builtin_trap();
    }
    json_object_put(o);
    ops->fini(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    parsers(text);
    free(text);
    uptime(data, size);
    return 0;
}
