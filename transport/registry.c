/* SPDX-License-Identifier: Apache-2.0 */
/* registry.c -- every sink type, and the loading of sink modules.
 *
 * Sinks whose client library is large (librabbitmq + OpenSSL, librdkafka,
 * libmariadb, libcurl) are shared objects in the module directory, loaded
 * the first time a configuration names them: an agent that writes CSV never
 * maps librdkafka (see the footprint figures in README.md). Programs that
 * link a sink's object file directly (unit tests, benchmarks) get it through
 * the weak reference below and never load a module.
 *
 * Adding a sink: one new file in transport/sinks/ (or a folder of files)
 * defining `const struct hp_sink_ops hp_sink_NAME`, plus one line in
 * HP_SINKS below: SINK_BUILTIN(NAME) when it links no extra library,
 * SINK_MODULE(NAME) when its banner names its libraries in an
 * `hp-module-pkgs: PKG ...` line (the Makefile then builds NAME.so from it,
 * with no edit there). A module's type is its NAME; a built-in's type is
 * whatever its ops say ("es-file" for hp_sink_es_file). */
#include "transport/sink.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HP_MODULE_DIR
#define HP_MODULE_DIR "/usr/lib/hostpulse/modules"
#endif

/* Every sink type, in the order --help-config lists them. */
#define HP_SINKS                                                                                   \
    SINK_BUILTIN(stdout)                                                                           \
    SINK_BUILTIN(csv)                                                                              \
    SINK_MODULE(elasticsearch)                                                                     \
    SINK_BUILTIN(es_file)                                                                          \
    SINK_MODULE(mysql)                                                                             \
    SINK_MODULE(amqp)                                                                              \
    SINK_MODULE(kafka)                                                                             \
    SINK_MODULE(mqtt)                                                                              \
    SINK_MODULE(prometheus)

/* Built-ins are always linked in. A module's symbol is a weak reference:
 * NULL unless a program links its objects directly (tests, benchmarks). */
#define SINK_BUILTIN(name) extern const struct hp_sink_ops hp_sink_##name;
#define SINK_MODULE(name)  extern const struct hp_sink_ops hp_sink_##name __attribute__((weak));
HP_SINKS
#undef SINK_BUILTIN
#undef SINK_MODULE

static const struct sink_type {
    const char *type;                 /* NULL: the linked ops' type */
    const struct hp_sink_ops *linked; /* &symbol: NULL when not linked */
    const char *module;               /* NULL: always built in */
    const char *symbol;
} sink_types[] = {
#define SINK_BUILTIN(name) {NULL, &hp_sink_##name, NULL, NULL},
#define SINK_MODULE(name)  {#name, &hp_sink_##name, #name ".so", "hp_sink_" #name},
    HP_SINKS
#undef SINK_BUILTIN
#undef SINK_MODULE
};
#define NTYPES (sizeof(sink_types) / sizeof(sink_types[0]))

static const char *type_of(const struct sink_type *t)
{
    return t->type ? t->type : t->linked->type;
}

const char *hp_sink_type_name(size_t i)
{
    return i < NTYPES ? type_of(&sink_types[i]) : NULL;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *hp_module_dir(char *buf, size_t len)
{
    const char *env = getenv("HOSTPULSE_MODULE_DIR");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return buf;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/modules", exe);
            if (is_dir(buf))
                return buf;
        }
    }
    snprintf(buf, len, "%s", HP_MODULE_DIR);
    return buf;
}

/* dlopen() counts references and the module is never closed: a second
 * load (a reload, --help-config) returns the same mapping. */
static const struct hp_sink_ops *load_module(const struct sink_type *t, char *why, size_t len)
{
    char dir[PATH_MAX - 64], path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", hp_module_dir(dir, sizeof(dir)), t->module);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, len, "sink type \"%s\": cannot load its module: %s", t->type, dlerror());
        return NULL;
    }
    const struct hp_sink_ops *ops = dlsym(h, t->symbol);
    if (!ops || strcmp(ops->type, t->type) != 0) {
        snprintf(why, len, "%s is not the \"%s\" sink module (no %s)", path, t->type, t->symbol);
        return NULL;
    }
    return ops;
}

static const struct sink_type *find_type(const char *type)
{
    for (size_t i = 0; type && i < NTYPES; i++)
        if (strcmp(type_of(&sink_types[i]), type) == 0)
            return &sink_types[i];
    return NULL;
}

bool hp_sink_known(const char *type)
{
    return find_type(type) != NULL;
}

const struct hp_sink_ops *hp_sink_load(const char *type, char *why, size_t whylen)
{
    char ignored[PATH_MAX + 256]; /* the reason's full size: no truncation */
    if (!why) {
        why = ignored;
        whylen = sizeof(ignored);
    }
    const struct sink_type *t = find_type(type);
    if (!t) {
        snprintf(why, whylen, "unknown sink type \"%s\"", type ? type : "");
        return NULL;
    }
    if (t->linked)
        return t->linked;
    if (t->module)
        return load_module(t, why, whylen);
    snprintf(why, whylen, "sink type \"%s\" is not in this build", type);
    return NULL;
}

const struct hp_sink_ops *hp_sink_find(const char *type)
{
    return hp_sink_load(type, NULL, 0);
}
