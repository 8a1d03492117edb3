/* SPDX-License-Identifier: Apache-2.0 */
/* test_health.c -- the health verdict (agent/health.c) on a hand-made view:
 * every rule that makes it critical or a warning, each alone, including
 * the ring drops that the integration tests cannot provoke on demand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/health.h"
#include "lib/clock.h"
#include "lib/ring.h"
#include "lib/sink_stats.h"

struct fixture {
    struct hp_health h;
    struct hp_self_view view;
    struct hp_self_sink sink;
    struct hp_sink_stats stats;
    struct hp_self_reporter rep;
    struct hp_reporter_stats rstats;
    _Atomic uint64_t produced, dropped;
    struct hp_health_cfg cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(pthread_mutex_init(&f->stats.last_error.lock, NULL), 0);
    assert_int_equal(hp_health_init(&f->h, "h1", "s1"), 0);
    f->view.ring = hp_ring_new(16);
    f->view.produced = &f->produced;
    f->view.dropped = &f->dropped;
    f->sink = (struct hp_self_sink){.name = "broker", .type = "amqp", .stats = &f->stats};
    f->view.sinks = &f->sink;
    f->view.n_sinks = 1;
    f->rep = (struct hp_self_reporter){.name = "cpu", .stats = &f->rstats};
    f->view.reporters = &f->rep;
    f->view.n_reporters = 1;
    atomic_store(&f->stats.up, 1);
    atomic_store(&f->rstats.last_ok_ms, hp_real_ms());
    hp_health_cfg_read(&f->cfg, NULL);
    f->cfg.socket = "";
    double interval = 1.0;
    hp_health_attach(&f->h, &f->view, &interval, &f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    hp_health_destroy(&f->h);
    hp_ring_free(f->view.ring);
    pthread_mutex_destroy(&f->stats.last_error.lock);
    free(f);
    return 0;
}

/* The verdict: returns the code, *out the parsed answer (caller puts it). */
static int verdict(struct fixture *f, json_object **out)
{
    char *json = NULL;
    size_t len = 0;
    int code = hp_health_json(&f->h, &json, &len);
    assert_non_null(json);
    assert_int_equal(strlen(json), len);
    *out = json_tokener_parse(json);
    free(json);
    assert_non_null(*out);
    return code;
}

static const char *reasons(json_object *o, const char *key)
{
    json_object *l = json_object_object_get(o, key);
    return json_object_array_length(l) ? json_object_get_string(json_object_array_get_idx(l, 0))
                                       : "";
}

static void all_well_is_ok(void **state)
{
    struct fixture *f = *state;
    json_object *o;
    assert_int_equal(verdict(f, &o), 200);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "status")), "ok");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "host")), "h1");
    json_object *s = json_object_object_get(json_object_object_get(o, "sinks"), "broker");
    assert_true(json_object_get_boolean(json_object_object_get(s, "up")));
    assert_null(json_object_object_get(s, "last_ok")); /* never: null */
    json_object_put(o);
}

static void sink_down_short_is_warning_long_is_critical(void **state)
{
    struct fixture *f = *state;
    atomic_store(&f->stats.up, 0);
    atomic_store(&f->stats.down_since_ms, hp_real_ms() - 10000);
    pthread_mutex_lock(&f->stats.last_error.lock);
    strcpy(f->stats.last_error.text, "connection refused");
    f->stats.last_error.at_ms = hp_real_ms();
    pthread_mutex_unlock(&f->stats.last_error.lock);
    json_object *o;
    assert_int_equal(verdict(f, &o), 200); /* 10 s < sink_down 300 s */
    assert_string_equal(json_object_get_string(json_object_object_get(o, "status")), "warning");
    assert_non_null(strstr(reasons(o, "warnings"), "sink broker down for 10 s"));
    json_object_put(o);
    f->h.cfg.sink_down = 5;
    assert_int_equal(verdict(f, &o), 503);
    assert_string_equal(reasons(o, "reasons"),
                        "sink broker down for 10 s (limit 5 s): connection refused");
    json_object_put(o);
}

static void backlog_and_spool_over_their_limits(void **state)
{
    struct fixture *f = *state;
    json_object *o;
    atomic_store(&f->stats.backlog, 101);
    f->h.cfg.backlog = 100;
    assert_int_equal(verdict(f, &o), 503);
    assert_string_equal(reasons(o, "reasons"), "sink broker holds 101 messages (limit 100)");
    json_object_put(o);
    f->h.cfg.backlog = 0; /* no limit */
    atomic_store(&f->stats.spool.bytes, 4097);
    f->h.cfg.spool_bytes = 4096;
    assert_int_equal(verdict(f, &o), 503);
    assert_string_equal(reasons(o, "reasons"), "sink broker spools 4097 bytes (limit 4096)");
    json_object_put(o);
}

static void a_silent_reporter_is_critical(void **state)
{
    struct fixture *f = *state;
    json_object *o;
    int64_t now = hp_real_ms();
    atomic_store(&f->rstats.last_ok_ms, now - 3500); /* 3 intervals + 1 s is 4 s */
    f->h.attached_ms = now - 60000;
    assert_int_equal(verdict(f, &o), 200);
    json_object_put(o);
    atomic_store(&f->rstats.last_ok_ms, now - 4200);
    atomic_store(&f->rstats.last_error_ms, now - 500);
    assert_int_equal(verdict(f, &o), 503);
    assert_string_equal(reasons(o, "reasons"),
                        "reporter cpu: no sample for 4 s (interval 1 s), its last run failed");
    json_object_put(o);
    /* Just attached (a reload): the reporter gets its intervals again. */
    f->h.attached_ms = hp_real_ms();
    assert_int_equal(verdict(f, &o), 200);
    assert_string_equal(reasons(o, "warnings"), "reporter cpu: its last sample failed");
    json_object_put(o);
}

static void growing_ring_drops_are_critical_old_ones_are_not(void **state)
{
    struct fixture *f = *state;
    json_object *o;
    atomic_store(&f->dropped, 7); /* before this look: growing */
    assert_int_equal(verdict(f, &o), 503);
    assert_string_equal(reasons(o, "reasons"),
                        "the ring dropped messages in the last 60 s (7 in all)");
    json_object_put(o);
    f->h.drop_seen_ms = hp_real_ms() - 61000; /* the last growth is now old */
    assert_int_equal(verdict(f, &o), 200);
    json_object *ring = json_object_object_get(o, "ring");
    assert_int_equal(json_object_get_int(json_object_object_get(ring, "dropped")), 7);
    assert_false(json_object_get_boolean(json_object_object_get(ring, "dropped_recently")));
    json_object_put(o);
}

static void detached_is_critical(void **state)
{
    struct fixture *f = *state;
    json_object *o;
    hp_health_detach(&f->h);
    assert_int_equal(verdict(f, &o), 503);
    assert_string_equal(reasons(o, "reasons"), "the agent is starting, reloading or stopping");
    assert_null(json_object_object_get(o, "sinks"));
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_well_is_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(sink_down_short_is_warning_long_is_critical, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(backlog_and_spool_over_their_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(a_silent_reporter_is_critical, setup, teardown),
        cmocka_unit_test_setup_teardown(growing_ring_drops_are_critical_old_ones_are_not, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(detached_is_critical, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
