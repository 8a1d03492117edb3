/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_cgroup.c -- libFuzzer target: the cgroup v2 file parsers
 * (hp_cg_keyed, hp_cg_value, hp_cg_io_line) on arbitrary text, and the
 * cgroup reporter sampling one group whose files are fuzzed, in a
 * temporary sys_root: the input is split at NUL bytes into cpu.stat,
 * memory.stat, memory.events, io.stat, memory.max, cpu.pressure, in that
 * order; the reporter samples twice (the second time with the parts
 * rotated by one file) so rates see arbitrary pairs. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "reporters/cgroup.h"
#include "reporters/reporter.h"

enum { NFILES = 6 };
static const char *const files[NFILES] = {"cpu.stat", "memory.stat", "memory.events",
                                          "io.stat",  "memory.max",  "cpu.pressure"};
static char root[64], group_dir[160];

static void mk(const char *path)
{
    if (mkdir(path, 0700) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    snprintf(root, sizeof(root), "/tmp/hp-fuzz-cgroup-XXXXXX");
    if (!mkdtemp(root))
        abort();
    char p[160];
    snprintf(p, sizeof(p), "%s/fs", root);
    mk(p);
    snprintf(p, sizeof(p), "%s/fs/cgroup", root);
    mk(p);
    snprintf(group_dir, sizeof(group_dir), "%s/fs/cgroup/system.slice", root);
    mk(group_dir);
    snprintf(group_dir, sizeof(group_dir), "%s/fs/cgroup/system.slice/f.service", root);
    mk(group_dir);
    snprintf(p, sizeof(p), "%s/fs/cgroup/cgroup.controllers", root);
    FILE *f = fopen(p, "w");
    if (!f)
        abort();
    fputs("cpu io memory pids\n", f);
    fclose(f);
    return 0;
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", group_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
}

static void parsers(const char *text)
{
    static const char *const keys[] = {"usage_usec", "anon", "oom_kill"};
    uint64_t v[6];
    unsigned maj, min;
    bool unl;
    hp_cg_keyed(text, keys, 3, v);
    hp_cg_value(text, v, &unl);
    const char *p = text;
    while (p) {
        hp_cg_io_line(p, &maj, &min, v);
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
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

    const uint8_t *start[NFILES];
    size_t len[NFILES];
    const uint8_t *p = data, *end = data + size;
    for (int i = 0; i < NFILES; i++) {
        const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
        start[i] = p;
        len[i] = nul ? (size_t)(nul - p) : (size_t)(end - p);
        p = nul ? nul + 1 : end;
    }
    const struct hp_reporter_ops *ops = hp_reporter_find("cgroup");
    struct hp_reporter r = {.ops = ops, .proc_root = root, .sys_root = root, .interval = 1};
    if (ops->init(&r, NULL, NULL) != 0)
        abort();
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NFILES; i++) {
            int k = (i + round) % NFILES;
            write_file(files[i], start[k], len[k]);
        }
        json_object *o = json_object_new_object();
        if (hp_reporter_sample(&r, o) != 0)
            __builtin_trap(); /* the group exists: there is always a message */
        json_object_put(o);
    }
    ops->fini(&r);
    return 0;
}
