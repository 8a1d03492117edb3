/* SPDX-License-Identifier: Apache-2.0 */
/* test_psistats.c -- the psistats formatter (transport/sinks/psistats.c) on
 * hand-made envelopes: only cpu messages make objects; they wait for the
 * first uptime, mem and ipaddr (at most HP_PSISTATS_HOLD_MS); later
 * objects carry the latest values, uptime moved forward to the tick; IPv4
 * addresses only, loopback excluded; a missing cpu temperature is null;
 * session and seq come from the cpu message; garbage is BAD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transport/sinks/psistats.h"

static struct hp_msg *env(const char *reporter, uint64_t seq, int64_t ts, const char *data)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "{\"v\":1,\"host\":\"h1\",\"reporter\":\"%s\",\"ts\":%lld,"
                     "\"session\":\"s-1\",\"seq\":%llu,\"interval\":1,\"data\":%s}",
                     reporter, (long long)ts, (unsigned long long)seq, data);
    struct hp_msg *m = hp_msg_new(reporter, seq, ts, buf, (size_t)n);
    assert_non_null(m);
    return m;
}

/* Fold one message; returns the parsed object of a tick, else NULL. */
static json_object *fold(struct hp_psistats *p, const char *reporter, uint64_t seq, int64_t ts,
                         const char *data, enum hp_psistats_fold want)
{
    struct hp_msg *m = env(reporter, seq, ts, data);
    char *out;
    size_t len;
    assert_int_equal(hp_psistats_fold(p, m, &out, &len), want);
    hp_msg_unref(m);
    if (!out)
        return NULL;
    assert_int_equal(strlen(out), len);
    json_object *o = json_tokener_parse(out);
    free(out);
    assert_non_null(o);
    return o;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, key, &v));
    return v;
}

#define IPS                                                                                        \
    "{\"interfaces\":{\"eth0\":[{\"family\":\"inet\",\"address\":\"192.0.2.2\","                   \
    "\"prefixlen\":24},{\"family\":\"inet6\",\"address\":\"fd00::2\",\"prefixlen\":64}],"          \
    "\"lo\":[{\"family\":\"inet\",\"address\":\"127.0.0.1\",\"prefixlen\":8}]}}"

static void ticks_carry_the_latest_values(void **state)
{
    (void)state;
    struct hp_psistats p;
    hp_psistats_init(&p);
    /* Before uptime, mem and ipaddr were seen: folded, no object. */
    assert_null(fold(&p, "cpu", 1, 1000, "{\"percent\":10}", HP_PSISTATS_FOLDED));
    assert_null(fold(&p, "uptime", 1, 1000, "{\"uptime\":100.5}", HP_PSISTATS_FOLDED));
    assert_null(fold(&p, "mem", 1, 1000, "{\"percent\":34.1}", HP_PSISTATS_FOLDED));
    assert_null(fold(&p, "net", 1, 1000, "{}", HP_PSISTATS_FOLDED));
    assert_null(fold(&p, "ipaddr", 1, 1000, IPS, HP_PSISTATS_FOLDED));
    json_object *o = fold(&p, "cpu", 2, 3000, "{\"percent\":24.1}", HP_PSISTATS_TICK);
    assert_string_equal(json_object_get_string(get(o, "hostname")), "h1");
    assert_true(json_object_get_double(get(o, "cpu")) == 24.1);
    assert_true(json_object_get_double(get(o, "mem")) == 34.1);
    /* uptime sampled at 1000 ms, tick at 3000 ms: 2 s later. */
    assert_true(json_object_get_double(get(o, "uptime")) == 102.5);
    json_object *ips = get(o, "ipaddr");
    assert_int_equal(json_object_array_length(ips), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(ips, 0)), "192.0.2.2");
    assert_null(get(o, "cpu_temp")); /* no temperature seen: null */
    assert_string_equal(json_object_get_string(get(o, "session")), "s-1");
    assert_int_equal(json_object_get_int64(get(o, "seq")), 2);
    json_object_put(o);
    /* A temperature with a cpu value, then one without: null again. */
    assert_null(fold(&p, "temperature", 1, 3500, "{\"cpu\":72.4}", HP_PSISTATS_FOLDED));
    o = fold(&p, "cpu", 3, 4000, "{\"percent\":5}", HP_PSISTATS_TICK);
    assert_true(json_object_get_double(get(o, "cpu_temp")) == 72.4);
    json_object_put(o);
    assert_null(fold(&p, "temperature", 2, 4500, "{\"sensors\":[]}", HP_PSISTATS_FOLDED));
    o = fold(&p, "cpu", 4, 5000, "{\"percent\":5}", HP_PSISTATS_TICK);
    assert_null(get(o, "cpu_temp"));
    json_object_put(o);
    hp_psistats_free(&p);
}

static void a_missing_reporter_holds_ticks_only_so_long(void **state)
{
    (void)state;
    struct hp_psistats p;
    hp_psistats_init(&p);
    assert_null(fold(&p, "cpu", 1, 1000, "{\"percent\":1}", HP_PSISTATS_FOLDED));
    assert_null(
        fold(&p, "cpu", 2, 1000 + HP_PSISTATS_HOLD_MS - 1, "{\"percent\":1}", HP_PSISTATS_FOLDED));
    json_object *o =
        fold(&p, "cpu", 3, 1000 + HP_PSISTATS_HOLD_MS, "{\"percent\":1}", HP_PSISTATS_TICK);
    assert_null(get(o, "mem"));
    assert_null(get(o, "uptime"));
    assert_null(get(o, "ipaddr"));
    json_object_put(o);
    /* A first cpu sample without a percent is no tick. */
    assert_null(fold(&p, "cpu", 4, 90000, "{\"count\":2}", HP_PSISTATS_FOLDED));
    hp_psistats_free(&p);
}

static void garbage_is_bad_and_messages_keep_identity(void **state)
{
    (void)state;
    struct hp_psistats p;
    hp_psistats_init(&p);
    struct hp_msg *m = hp_msg_new("cpu", 1, 1, "not json", 8);
    char *out;
    size_t len;
    assert_int_equal(hp_psistats_fold(&p, m, &out, &len), HP_PSISTATS_BAD);
    assert_null(out);
    bool bad = false;
    assert_null(hp_psistats_msg(&p, m, &bad));
    assert_true(bad);
    hp_msg_unref(m);
    m = env("uptime", 7, 1, "{\"uptime\":1}");
    assert_null(hp_psistats_msg(&p, m, &bad));
    assert_false(bad);
    hp_msg_unref(m);
    p.first_tick_ts = 0;
    m = env("mem", 1, 1, "{\"percent\":1}");
    assert_null(hp_psistats_msg(&p, m, &bad));
    hp_msg_unref(m);
    m = env("ipaddr", 1, 1, "{\"interfaces\":{}}");
    assert_null(hp_psistats_msg(&p, m, &bad));
    hp_msg_unref(m);
    m = env("cpu", 9, 1234, "{\"percent\":50}");
    struct hp_msg *t = hp_psistats_msg(&p, m, &bad);
    assert_non_null(t);
    assert_string_equal(t->reporter, "psistats");
    assert_int_equal(t->seq, 9);
    assert_int_equal(t->ts_ms, 1234);
    assert_non_null(strstr(t->json, "\"ipaddr\":[]"));
    hp_msg_unref(t);
    hp_msg_unref(m);
    hp_psistats_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ticks_carry_the_latest_values),
        cmocka_unit_test(a_missing_reporter_holds_ticks_only_so_long),
        cmocka_unit_test(garbage_is_bad_and_messages_keep_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
