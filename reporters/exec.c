/* SPDX-License-Identifier: Apache-2.0 */
/* exec.c -- the exec reporter: run an operator's command on its own
 * interval and publish what it prints (a JSON object or Prometheus text)
 * as `data` under the name the configuration gives.
 *
 * Unlike the other reporters this one has instances: `reporters.exec` is a
 * list of groups, and the lifecycle (agent/agent.c) makes one task per
 * enabled element, each with its own thread, name and seq. This file only
 * knows one instance: its options, its argv and its output buffer. The
 * command runs without a shell unless `shell = true` (then the command is
 * one string given to /bin/sh -c), as the agent's user, in its own process
 * group with a deadline and an output cap (reporters/exec_run.c). Anything
 * short of a clean exit with well-formed output is a counted error (the
 * scheduler counts sample() == -1) and a log line; no partial message. */
#include "reporters/exec.h"
#include "lib/log.h"
#include "lib/msg.h"
#include "reporters/exec_run.h"
#include "reporters/promtext.h"

#include <stdlib.h>
#include <string.h>

enum exec_format { EXEC_JSON, EXEC_PROMETHEUS };
static const char *const exec_formats[] = {"json", "prometheus", NULL};

struct exec_opts {
    const char *name;
    const config_setting_t *command;
    bool shell;
    double timeout;
    int format;
    int64_t max_bytes;
};

struct exec {
    struct exec_opts o;
    char **argv; /* NULL-terminated, owned */
    struct hp_exec_result res;
};

/* clang-format off */
const struct hp_opt hp_exec_opts[] = {
    {.name = "name", .type = HP_OPT_STRING, .flags = HP_OPT_REQUIRED,
     .help = "reporter name in the envelope (an identifier, not a built-in reporter's)",
     HP_AT_STR(struct exec_opts, name)},
    {.name = "command", .type = HP_OPT_STRINGS, .flags = HP_OPT_REQUIRED,
     .help = "program and arguments, run without a shell; one string with shell = true",
     HP_AT_SET(struct exec_opts, command)},
    {.name = "shell", .type = HP_OPT_BOOL, .def = "false",
     .help = "run the command string with /bin/sh -c", HP_AT_BOOL(struct exec_opts, shell)},
    {.name = "timeout", .type = HP_OPT_FLOAT, .def = "5.0", .min = 0.01, .max = 3600,
     .help = "seconds before the command (and its process group) is killed",
     HP_AT_FLOAT(struct exec_opts, timeout)},
    {.name = "format", .type = HP_OPT_ENUM, .def = "json", .choices = exec_formats,
     .help = "what the command prints: a JSON object or Prometheus text",
     HP_AT_ENUM(struct exec_opts, format)},
    {.name = "max_bytes", .type = HP_OPT_INT, .def = "1048576", .min = 256, .max = 67108864,
     .help = "stdout beyond this many bytes kills the command (an error)",
     HP_AT_INT(struct exec_opts, max_bytes)},
    {0},
};
/* clang-format on */

static char **build_argv(const struct exec_opts *o)
{
    int n = hp_strs_count(o->command);
    char **argv = calloc((size_t)n + 4, sizeof(*argv));
    if (!argv)
        return NULL;
    int k = 0;
    if (o->shell) {
        argv[k++] = strdup("/bin/sh");
        argv[k++] = strdup("-c");
    }
    for (int i = 0; i < n; i++)
        argv[k++] = strdup(hp_strs_at(o->command, i));
    for (int i = 0; i < k; i++)
        if (!argv[i]) {
            for (int j = 0; j < k; j++)
                free(argv[j]);
            free(argv);
            return NULL;
        }
    return argv;
}

static int exec_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct exec *x = calloc(1, sizeof(*x));
    if (!x)
        return -1;
    r->priv = x;
    hp_opts_load(cfg, hp_exec_opts, &x->o);
    int n = hp_strs_count(x->o.command);
    const config_setting_t *cmd = x->o.command ? x->o.command : cfg;
    if (n < 1 || !*hp_strs_at(x->o.command, 0)) {
        hp_errs_add(errs, cmd, "reporters.exec.%s.command: empty", x->o.name);
        return -1;
    }
    if (x->o.shell && n != 1) {
        hp_errs_add(errs, cmd, "reporters.exec.%s.command: with shell = true, one string",
                    x->o.name);
        return -1;
    }
    x->argv = build_argv(&x->o);
    return x->argv ? 0 : -1;
}

/* Copy the members of a parsed JSON object into data. */
static int parse_json(struct exec *x, json_object *data)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return -1;
    json_object *o =
        json_tokener_parse_ex(tok, x->res.out.p ? x->res.out.p : "", (int)x->res.out.len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    bool trailing = false;
    for (size_t i = used; o && i < x->res.out.len; i++)
        if (!strchr(" \t\r\n", x->res.out.p[i]))
            trailing = true;
    if (!o || jerr != json_tokener_success || trailing ||
        !json_object_is_type(o, json_type_object)) {
        hp_warn("exec %s: output is not one JSON object (%s)", x->o.name,
                !o || jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                : trailing                         ? "text after the object"
                                                   : "not an object");
        json_object_put(o);
        return -1;
    }
    json_object_object_foreach(o, key, val)
    {
        json_object_object_add(data, key, json_object_get(val));
    }
    json_object_put(o);
    return 0;
}

static int parse_output(struct exec *x, json_object *data)
{
    if (x->o.format == EXEC_JSON)
        return parse_json(x, data);
    char why[200];
    if (hp_promtext_parse(x->res.out.p ? x->res.out.p : "", x->res.out.len, data, why,
                          sizeof(why)) != 0) {
        hp_warn("exec %s: output is not Prometheus text: %s", x->o.name, why);
        return -1;
    }
    return 0;
}

static int exec_sample(struct hp_reporter *r, json_object *data)
{
    struct exec *x = r->priv;
    enum hp_exec_status st = hp_exec_run(x->argv, x->o.timeout, (size_t)x->o.max_bytes, &x->res);
    const char *err = x->res.err_line[0] ? x->res.err_line : "no stderr";
    switch (st) {
    case HP_EXEC_OK:
        return parse_output(x, data);
    case HP_EXEC_FAILED:
        hp_warn("exec %s: %s exited with status %d (%s)", x->o.name, x->argv[0], x->res.code, err);
        return -1;
    case HP_EXEC_TIMEOUT:
        hp_warn("exec %s: %s killed after %.1f s (timeout)", x->o.name, x->argv[0], x->o.timeout);
        return -1;
    case HP_EXEC_TOOBIG:
        hp_warn("exec %s: %s printed more than %lld bytes: killed", x->o.name, x->argv[0],
                (long long)x->o.max_bytes);
        return -1;
    case HP_EXEC_NOTSTARTED:
    default:
        hp_warn("exec %s: cannot run %s: %s", x->o.name, x->argv[0], strerror(x->res.code));
        return -1;
    }
}

static void exec_fini(struct hp_reporter *r)
{
    struct exec *x = r->priv;
    if (!x)
        return;
    for (size_t i = 0; x->argv && x->argv[i]; i++)
        free(x->argv[i]);
    free(x->argv);
    hp_buf_free(&x->res.out);
    free(x);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_exec = {
    .name = "exec",
    .default_interval = 10.0,
    .default_enabled = true,
    .opts = hp_exec_opts,
    .init = exec_init,
    .sample = exec_sample,
    .fini = exec_fini,
};

const char *hp_exec_instance_name(const config_setting_t *cfg)
{
    const char *name = NULL;
    return cfg && config_setting_lookup_string(cfg, "name", &name) ? name : NULL;
}
