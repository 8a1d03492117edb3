/* SPDX-License-Identifier: Apache-2.0 */
/* mysql_tls.c -- the MySQL sink's "TLS or not" decision (see mysql_tls.h):
 * kept apart from the connection code so the unit tests can try names and
 * addresses without a server. */
#include "transport/sinks/mysql/mysql_tls.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static bool loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool hp_mysql_is_local(const char *host, const char *socket)
{
    if ((socket && *socket) || !host || !*host || strcmp(host, "localhost") == 0)
        return true;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return false; /* unknown: assume the worst */
    bool all = true;
    for (const struct addrinfo *ai = res; ai && all; ai = ai->ai_next)
        all = loopback(ai->ai_addr);
    freeaddrinfo(res);
    return all;
}

bool hp_mysql_tls_required(bool asked, bool local, bool plaintext_remote)
{
    return asked || (!local && !plaintext_remote);
}
