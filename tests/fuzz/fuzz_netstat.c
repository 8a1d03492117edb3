/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_netstat.c -- libFuzzer target: the netstat reporter (full = true, so
 * every section is parsed and remembered) sampling fuzzed /proc/net/snmp,
 * /proc/net/netstat, /proc/net/sockstat and /proc/net/snmp6 twice in a
 * temporary proc_root (the input is split at NUL bytes: snmp, netstat,
 * sockstat, snmp6, then a second snmp), and hp_snake_case on the raw input
 * with small output sizes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "reporters/netstat.h"
#include "reporters/reporter.h"

static char root[64];
static config_t cfg;
static const config_setting_t *group;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    snprintf(root, sizeof(root), "/tmp/hp-fuzz-netstat-XXXXXX");
    if (!mkdtemp(root))
        abort();
    char dir[96];
    snprintf(dir, sizeof(dir), "%s/net", root);
    if (mkdir(dir, 0700) != 0)
        abort();
    config_init(&cfg);
    if (config_read_string(&cfg, "r: { full = true; };") != CONFIG_TRUE)
        abort();
    group = config_lookup(&cfg, "r");
    return 0;
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/net/%s", root, name);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
}

/* The next NUL-separated part of [*p, end). */
static size_t part(const uint8_t **p, const uint8_t *end, const uint8_t **start)
{
    *start = *p;
    const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
    size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    *p = nul ? nul + 1 : end;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[16];
    hp_snake_case((const char *)data, size, out, sizeof(out));
    if (strlen(out) >= sizeof(out))
        __builtin_trap();
    hp_snake_case((const char *)data, size, out, 1);
    if (out[0] != '\0')
        __builtin_trap();

    const uint8_t *p = data, *end = data + size, *s;
    size_t n;
    n = part(&p, end, &s);
    write_file("snmp", s, n);
    n = part(&p, end, &s);
    write_file("netstat", s, n);
    n = part(&p, end, &s);
    write_file("sockstat", s, n);
    n = part(&p, end, &s);
    write_file("snmp6", s, n);
    const struct hp_reporter_ops *ops = hp_reporter_find("netstat");
    struct hp_reporter r = {.ops = ops, .proc_root = root, .sys_root = root, .interval = 1};
    if (ops->init(&r, group, NULL) != 0)
        abort();
    json_object *o = json_object_new_object();
    hp_reporter_sample(&r, o);
    json_object_put(o);
    n = part(&p, end, &s);
    write_file("snmp", s, n);
    o = json_object_new_object();
    hp_reporter_sample(&r, o);
    json_object_put(o);
    ops->fini(&r);
    return 0;
}
