/* SPDX-License-Identifier: Apache-2.0 */
/* ipaddr.h -- the testable half of the ipaddr reporter: an ifaddrs list
 * (from getifaddrs, or built by a test) into the message's data object. */
#ifndef HP_IPADDR_H
#define HP_IPADDR_H

#include <ifaddrs.h>
#include <stdbool.h>

#include <json-c/json.h>

struct hp_ipaddr_filter {
    bool loopback;   /* keep loopback interfaces (IFF_LOOPBACK) */
    bool link_local; /* keep 169.254/16 and fe80::/10 addresses */
};

/* Add {"interfaces": {name: [{"family", "address", "prefixlen"}, ...]}}
 * for every IPv4/IPv6 address of list that passes f, in list order.
 * Interfaces left without addresses are omitted. Returns the number of
 * addresses added. Never fails; entries it cannot format are skipped. */
int hp_ipaddr_to_json(const struct ifaddrs *list, const struct hp_ipaddr_filter *f,
                      json_object *data);

#endif
