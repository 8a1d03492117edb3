/* SPDX-License-Identifier: Apache-2.0 */
/* ipaddr.c -- IPv4 and IPv6 addresses with prefix length per interface,
 * from getifaddrs(3) (netlink; nothing is executed). Loopback interfaces
 * and link-local addresses are left out unless configured.
 *
 * Addresses rarely change, and a netlink dump every interval is most of
 * this reporter's cost: a netlink socket subscribed to link and address
 * changes tells when to dump again, and the last list is reused until
 * then (a message on it, or a lost one, means "dump again"). Without the
 * socket, every sample dumps.
 *
 * getifaddrs cannot be pointed at a fixture, so the list -> JSON step is
 * hp_ipaddr_to_json (ipaddr.h), which tests feed with constructed lists. */
#include "reporters/ipaddr.h"
#include "lib/log.h"
#include "lib/msg.h"
#include "reporters/reporter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct ipaddr {
    struct hp_ipaddr_filter filter;
    struct hp_complain fail;
    int nl;                /* change notifications; -1: none, dump every time */
    struct ifaddrs *cache; /* the last dump, owned; NULL: none yet */
};

/* A socket that becomes readable when a link or address changes. */
static int change_socket(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl sa = {
        .nl_family = AF_NETLINK,
        .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
    };
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Read every pending notification; true if there was one (or the socket
 * overflowed and lost some): the cached list may be stale. */
static bool changed(int nl)
{
    char buf[8192];
    bool any = false;
    for (;;) {
        ssize_t n = recv(nl, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            any = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return any || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
}

static const struct hp_opt ipaddr_opts[] = {
    {.name = "loopback",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "include loopback interfaces (lo)",
     HP_AT_BOOL(struct ipaddr, filter.loopback)},
    {.name = "link_local",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "include link-local addresses (169.254.0.0/16, fe80::/10)",
     HP_AT_BOOL(struct ipaddr, filter.link_local)},
    {0},
};

static int ipaddr_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)errs;
    struct ipaddr *ip = calloc(1, sizeof(*ip));
    if (!ip)
        return -1;
    hp_opts_load(cfg, ipaddr_opts, ip);
    ip->nl = change_socket();
    r->priv = ip;
    return 0;
}

/* Number of leading one bits of a netmask of len bytes. */
static int prefix_len(const unsigned char *mask, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        for (int b = 7; b >= 0 && (mask[i] >> b & 1); b--)
            n++;
    return n;
}

/* One address as {"family","address","prefixlen"}; NULL when filtered out. */
static json_object *address_object(const struct ifaddrs *a, const struct hp_ipaddr_filter *f)
{
    char text[INET6_ADDRSTRLEN];
    int family = a->ifa_addr->sa_family, plen = 0;
    const void *addr;
    bool link_local;
    if (family == AF_INET) {
        const struct sockaddr_in *in = (const void *)a->ifa_addr;
        addr = &in->sin_addr;
        link_local = (ntohl(in->sin_addr.s_addr) & 0xffff0000u) == 0xa9fe0000u;
        if (a->ifa_netmask)
            plen = prefix_len(
                (const void *)&((const struct sockaddr_in *)(const void *)a->ifa_netmask)->sin_addr,
                4);
    } else {
        const struct sockaddr_in6 *in6 = (const void *)a->ifa_addr;
        addr = &in6->sin6_addr;
        link_local = IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr);
        if (a->ifa_netmask)
            plen = prefix_len(
                ((const struct sockaddr_in6 *)(const void *)a->ifa_netmask)->sin6_addr.s6_addr, 16);
    }
    if ((link_local && !f->link_local) || !inet_ntop(family, addr, text, sizeof(text)))
        return NULL;
    json_object *o = json_object_new_object();
    hp_json_add_string(o, "family", family == AF_INET ? "inet" : "inet6");
    hp_json_add_string(o, "address", text);
    hp_json_add_int(o, "prefixlen", plen);
    return o;
}

int hp_ipaddr_to_json(const struct ifaddrs *list, const struct hp_ipaddr_filter *f,
                      json_object *data)
{
    json_object *ifs = json_object_new_object();
    int added = 0;
    for (const struct ifaddrs *a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || !a->ifa_name ||
            (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
            continue;
        if ((a->ifa_flags & IFF_LOOPBACK) && !f->loopback)
            continue;
        json_object *o = address_object(a, f);
        if (!o)
            continue;
        json_object *arr;
        if (!json_object_object_get_ex(ifs, a->ifa_name, &arr)) {
            arr = json_object_new_array();
            json_object_object_add(ifs, a->ifa_name, arr);
        }
        json_object_array_add(arr, o);
        added++;
    }
    json_object_object_add(data, "interfaces", ifs);
    return added;
}

static int ipaddr_sample(struct hp_reporter *r, json_object *data)
{
    struct ipaddr *ip = r->priv;
    /* Notifications first, then the dump: a change in between is in the
     * dump and also queued, so it costs one extra dump, never a stale list. */
    if (ip->nl < 0 || changed(ip->nl) || !ip->cache) {
        struct ifaddrs *list;
        if (getifaddrs(&list) != 0) {
            hp_complain(&ip->fail, HP_LOG_WARN, "ipaddr: getifaddrs: %s", strerror(errno));
            if (ip->cache) /* the notification is consumed: dump next time */
                freeifaddrs(ip->cache);
            ip->cache = NULL;
            return -1;
        }
        hp_complain_clear(&ip->fail, "ipaddr: getifaddrs works again");
        if (ip->cache)
            freeifaddrs(ip->cache);
        ip->cache = list;
    }
    hp_ipaddr_to_json(ip->cache, &ip->filter, data);
    return 0;
}

static void ipaddr_fini(struct hp_reporter *r)
{
    struct ipaddr *ip = r->priv;
    if (ip && ip->cache)
        freeifaddrs(ip->cache);
    if (ip && ip->nl >= 0)
        close(ip->nl);
    free(ip);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_ipaddr = {
    .name = "ipaddr",
    .default_interval = 60.0,
    .default_enabled = true,
    .opts = ipaddr_opts,
    .init = ipaddr_init,
    .sample = ipaddr_sample,
    .fini = ipaddr_fini,
};
