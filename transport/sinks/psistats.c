/* SPDX-License-Identifier: Apache-2.0 */
/* psistats.c -- fold hostpulse envelopes into psistats' one-object-per-tick
 * format (see psistats.h), so a psistats consumer keeps working unchanged.
 *
 * The meaning of each field follows psistats' linux-client (stats.py):
 * cpu = psutil.cpu_percent (busy percent over the interval) = cpu.percent;
 * mem = virtual_memory().percent = mem.percent; uptime = the first field of
 * /proc/uptime = uptime.uptime; ipaddr = every IPv4 address but 127.0.0.1
 * = the inet addresses of the ipaddr reporter (loopback is left out there);
 * cpu_temp = one cpu temperature in °C, or null = temperature.cpu. Part of
 * the agent (not a module) so that every broker module shares one copy. */
#include "transport/sinks/psistats.h"

#include <stdlib.h>
#include <string.h>

const char *const hp_format_choices[] = {"envelope", "psistats", NULL};

void hp_psistats_init(struct hp_psistats *p)
{
    memset(p, 0, sizeof(*p));
}

void hp_psistats_free(struct hp_psistats *p)
{
    json_object_put(p->uptime);
    json_object_put(p->mem);
    json_object_put(p->ipaddr);
    json_object_put(p->cpu_temp);
    hp_psistats_init(p);
}

/* Replace *slot with a new reference to v (NULL: none). */
static void keep(json_object **slot, json_object *v)
{
    json_object_put(*slot);
    *slot = v ? json_object_get(v) : NULL;
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* psistats' ipaddr: a flat list of IPv4 addresses, all interfaces. */
static json_object *ipv4_list(json_object *data)
{
    json_object *list = json_object_new_array(), *ifs = member(data, "interfaces");
    if (!list || !ifs || !json_object_is_type(ifs, json_type_object))
        return list;
    json_object_object_foreach(ifs, name, addrs)
    {
        (void)name;
        size_t n =
            json_object_is_type(addrs, json_type_array) ? json_object_array_length(addrs) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *a = json_object_array_get_idx(addrs, i);
            const char *fam = json_object_get_string(member(a, "family"));
            json_object *addr = member(a, "address");
            if (fam && strcmp(fam, "inet") == 0 && addr &&
                strcmp(json_object_get_string(addr), "127.0.0.1") != 0)
                json_object_array_add(list, json_object_get(addr));
        }
    }
    return list;
}

/* One psistats object for the cpu message env (whose data has percent). */
static char *tick(const struct hp_psistats *p, json_object *env, json_object *cpu, size_t *len)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "hostname", json_object_get(member(env, "host")));
    if (p->uptime) { /* as /proc/uptime would read at the tick */
        double age = (double)(json_object_get_int64(member(env, "ts")) - p->uptime_ts) / 1000.0;
        double up = json_object_get_double(p->uptime) + (age > 0 ? age : 0);
        hp_json_add_double(o, "uptime", up, 2);
    } else {
        json_object_object_add(o, "uptime", NULL);
    }
    json_object_object_add(o, "cpu", json_object_get(cpu));
    json_object_object_add(o, "mem", json_object_get(p->mem));
    json_object_object_add(o, "ipaddr", json_object_get(p->ipaddr));
    json_object_object_add(o, "cpu_temp", json_object_get(p->cpu_temp));
    json_object_object_add(o, "session", json_object_get(member(env, "session")));
    json_object_object_add(o, "seq", json_object_get(member(env, "seq")));
    const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, len);
    char *copy = text ? strdup(text) : NULL;
    json_object_put(o);
    return copy;
}

/* Whether the cpu message m may make a tick (see HP_PSISTATS_HOLD_MS). */
static bool ready(struct hp_psistats *p, const struct hp_msg *m)
{
    if (!p->first_tick_ts)
        p->first_tick_ts = m->ts_ms;
    return (p->uptime && p->mem && p->ipaddr) || m->ts_ms - p->first_tick_ts >= HP_PSISTATS_HOLD_MS;
}

static json_object *parse(const struct hp_msg *m)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_object *env = json_tokener_parse_ex(tok, m->json, (int)m->len);
    json_tokener_free(tok);
    if (env && !json_object_is_type(env, json_type_object)) {
        json_object_put(env);
        env = NULL;
    }
    return env;
}

enum hp_psistats_fold hp_psistats_fold(struct hp_psistats *p, const struct hp_msg *m, char **out,
                                       size_t *len)
{
    *out = NULL;
    *len = 0;
    json_object *env = parse(m), *data = member(env, "data");
    if (!data) {
        json_object_put(env);
        return HP_PSISTATS_BAD;
    }
    enum hp_psistats_fold r = HP_PSISTATS_FOLDED;
    if (strcmp(m->reporter, "uptime") == 0) {
        keep(&p->uptime, member(data, "uptime"));
        p->uptime_ts = m->ts_ms;
    } else if (strcmp(m->reporter, "mem") == 0) {
        keep(&p->mem, member(data, "percent"));
    } else if (strcmp(m->reporter, "temperature") == 0) {
        keep(&p->cpu_temp, member(data, "cpu")); /* absent: null, as psistats */
    } else if (strcmp(m->reporter, "ipaddr") == 0) {
        json_object_put(p->ipaddr);
        p->ipaddr = ipv4_list(data);
    } else if (strcmp(m->reporter, "cpu") == 0 && member(data, "percent") && ready(p, m)) {
        *out = tick(p, env, member(data, "percent"), len);
        r = *out ? HP_PSISTATS_TICK : HP_PSISTATS_BAD;
    }
    json_object_put(env);
    return r;
}

struct hp_msg *hp_psistats_msg(struct hp_psistats *p, const struct hp_msg *m, bool *bad)
{
    char *text;
    size_t len;
    enum hp_psistats_fold r = hp_psistats_fold(p, m, &text, &len);
    *bad = r == HP_PSISTATS_BAD;
    if (r != HP_PSISTATS_TICK)
        return NULL;
    struct hp_msg *out = hp_msg_new("psistats", m->seq, m->ts_ms, text, len);
    free(text);
    *bad = out == NULL;
    return out;
}
