/* SPDX-License-Identifier: Apache-2.0 */
/* test_prometheus.c -- the exposition renderer (transport/sinks/prometheus/
 * expo.c) on hand-written messages: node_exporter names, units (ms become
 * seconds), label escaping, and what differs between the text format and
 * OpenMetrics (family names, info type, # EOF). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "transport/sinks/prometheus/expo.h"

/* Render one envelope; returns the body (static, valid until the next call). */
static const char *render(const char *envelope, bool om)
{
    static char body[1 << 16];
    json_object *env = json_tokener_parse(envelope);
    assert_non_null(env);
    struct hp_expo x = {.openmetrics = om};
    hp_expo_message(&x, env);
    hp_expo_finish(&x);
    json_object_put(env);
    assert_int_equal(x.err, 0);
    snprintf(body, sizeof(body), "%s", x.out.p ? x.out.p : "");
    hp_buf_free(&x.out);
    return body;
}

#define HAS(body, line) assert_non_null(strstr(body, line "\n"))

static void cpu_per_cpu_seconds_and_load(void **state)
{
    (void)state;
    const char *b = render(
        "{\"reporter\":\"cpu\",\"ts\":1000,\"data\":{\"percent\":12.5,\"times\":{\"user\":9},"
        "\"cpus\":[{\"cpu\":0,\"times\":{\"user\":1.5,\"idle\":100,\"guest\":0}},"
        "{\"cpu\":1,\"times\":{\"user\":2.25,\"steal\":0.5}}],\"load1\":0.75,"
        "\"ctx_switches\":12345,\"interrupts\":678,\"count\":2}}",
        false);
    HAS(b, "# TYPE node_cpu_seconds_total counter");
    HAS(b, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1.5");
    HAS(b, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 100");
    HAS(b, "node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"} 0.5");
    HAS(b, "node_load1 0.75");
    HAS(b, "node_context_switches_total 12345");
    HAS(b, "node_intr_total 678");
    HAS(b, "hostpulse_cpu_busy_percent 12.5");
    assert_null(strstr(b, "hostpulse_cpu_seconds")); /* per-cpu times win */
}

static void cpu_without_percpu_is_not_node_cpu(void **state)
{
    (void)state;
    const char *b =
        render("{\"reporter\":\"cpu\",\"data\":{\"times\":{\"user\":9,\"idle\":3}}}", false);
    assert_null(strstr(b, "node_cpu_seconds_total"));
    HAS(b, "hostpulse_cpu_seconds_total{mode=\"user\"} 9");
}

static void mem_and_swap_bytes(void **state)
{
    (void)state;
    const char *b = render("{\"reporter\":\"mem\",\"data\":{\"total\":1000,\"available\":600,"
                           "\"free\":100,\"cached\":300,\"swap\":{\"total\":50,\"free\":40}}}",
                           false);
    HAS(b, "node_memory_MemTotal_bytes 1000");
    HAS(b, "node_memory_MemAvailable_bytes 600");
    HAS(b, "node_memory_SwapFree_bytes 40");
    HAS(b, "hostpulse_memory_cached_bytes 300"); /* not node_memory_Cached: differs */
    assert_null(strstr(b, "node_memory_Cached_bytes"));
}

static void disk_units_and_filesystem_labels(void **state)
{
    (void)state;
    const char *b = render(
        "{\"reporter\":\"disk\",\"data\":{\"filesystems\":{\"/\":{\"device\":\"/dev/vda\","
        "\"fstype\":\"ext4\",\"total\":100,\"used\":30,\"free\":60,\"inodes_total\":9}},"
        "\"devices\":{\"vda\":{\"read_time_ms\":1500,\"busy_time_ms\":250,\"read_bytes\":4096}}}}",
        false);
    HAS(b, "node_filesystem_size_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 100");
    HAS(b, "node_filesystem_avail_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 60");
    HAS(b, "node_filesystem_free_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 70");
    HAS(b, "node_disk_read_time_seconds_total{device=\"vda\"} 1.5");
    HAS(b, "node_disk_io_time_seconds_total{device=\"vda\"} 0.25");
    HAS(b, "node_disk_read_bytes_total{device=\"vda\"} 4096");
}

static void net_uptime_temperature(void **state)
{
    (void)state;
    const char *b = render("{\"reporter\":\"net\",\"data\":{\"interfaces\":{\"eth0\":"
                           "{\"bytes_recv\":10,\"dropout\":2}},\"total\":{\"bytes_recv\":10}}}",
                           false);
    HAS(b, "node_network_receive_bytes_total{device=\"eth0\"} 10");
    HAS(b, "node_network_transmit_drop_total{device=\"eth0\"} 2");
    assert_null(strstr(b, "device=\"total\""));
    b = render("{\"reporter\":\"uptime\",\"ts\":1700000000500,\"data\":{\"uptime\":5,"
               "\"boot_time\":1699999995500}}",
               false);
    HAS(b, "node_boot_time_seconds 1699999995.5");
    HAS(b, "node_time_seconds 1700000000.5");
    b = render(
        "{\"reporter\":\"temperature\",\"data\":{\"sensors\":[{\"chip\":\"coretemp-isa-0000\","
        "\"label\":\"Core 0\",\"value\":41.5,\"crit\":100}]}}",
        false);
    HAS(b, "node_hwmon_temp_celsius{chip=\"coretemp-isa-0000\",sensor=\"Core 0\"} 41.5");
    HAS(b, "node_hwmon_temp_crit_celsius{chip=\"coretemp-isa-0000\",sensor=\"Core 0\"} 100");
    assert_null(strstr(b, "node_hwmon_temp_max_celsius")); /* no `high`: no family */
}

static void label_values_are_escaped(void **state)
{
    (void)state;
    const char *b = render("{\"reporter\":\"process\",\"data\":{\"watched\":[{\"pid\":7,"
                           "\"name\":\"a\\\"b\\\\c\\nd\",\"rss\":5}]}}",
                           false);
    HAS(b, "hostpulse_process_resident_memory_bytes{pid=\"7\",name=\"a\\\"b\\\\c\\nd\"} 5");
}

static void openmetrics_names_families_without_suffix(void **state)
{
    (void)state;
    const char *b =
        render("{\"reporter\":\"ipaddr\",\"data\":{\"interfaces\":{\"eth0\":[{\"family\":"
               "\"inet\",\"address\":\"192.0.2.1\",\"prefixlen\":24}]}}}",
               true);
    HAS(b, "# TYPE hostpulse_ipaddr info");
    HAS(b, "hostpulse_ipaddr_info{interface=\"eth0\",family=\"inet\",address=\"192.0.2.1\","
           "prefixlen=\"24\"} 1");
    assert_non_null(strstr(b, "# EOF\n"));
    b = render("{\"reporter\":\"ipaddr\",\"data\":{\"interfaces\":{}}}", false);
    HAS(b, "# TYPE hostpulse_ipaddr_info gauge");
    assert_null(strstr(b, "# EOF"));
    b = render("{\"reporter\":\"cpu\",\"data\":{\"ctx_switches\":3}}", true);
    HAS(b, "# TYPE node_context_switches counter");
    HAS(b, "node_context_switches_total 3");
}

static void unknown_reporter_is_flattened(void **state)
{
    (void)state;
    const char *b = render("{\"reporter\":\"fans\",\"data\":{\"fan-1\":{\"rpm\":1200},"
                           "\"ok\":true,\"name\":\"x\",\"list\":[1,2]}}",
                           false);
    HAS(b, "hostpulse_fans_fan_1_rpm 1200");
    HAS(b, "hostpulse_fans_ok 1");
    assert_null(strstr(b, "hostpulse_fans_name"));
    assert_null(strstr(b, "hostpulse_fans_list"));
    b = render("{\"reporter\":\"session\",\"data\":{\"start\":1}}", false);
    assert_string_equal(b, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_per_cpu_seconds_and_load),
        cmocka_unit_test(cpu_without_percpu_is_not_node_cpu),
        cmocka_unit_test(mem_and_swap_bytes),
        cmocka_unit_test(disk_units_and_filesystem_labels),
        cmocka_unit_test(net_uptime_temperature),
        cmocka_unit_test(label_values_are_escaped),
        cmocka_unit_test(openmetrics_names_families_without_suffix),
        cmocka_unit_test(unknown_reporter_is_flattened),
    };
    return cmocka_run_group_tests_name("prometheus", tests, NULL, NULL);
}
