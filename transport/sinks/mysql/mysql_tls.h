/* SPDX-License-Identifier: Apache-2.0 */
/* mysql_tls.h -- whether the MySQL sink must use TLS.
 *
 * Passwords and host data must not cross a network in clear. TLS (with the
 * server certificate verified, ssl_verify = true by default) is required
 * when asked for (ssl, ssl_ca, ssl_cert, ssl_key) and, by default, for
 * every server that is not on this host. "On this host" is decided on the
 * resolved addresses: a Unix socket, host "localhost" (which libmariadb
 * reaches through the socket), or a name whose every address is loopback
 * (127.0.0.0/8, ::1, ::ffff:127.x). A name that does not resolve counts as
 * remote. Plaintext to a remote server needs plaintext_remote = true. */
#ifndef HP_MYSQL_TLS_H
#define HP_MYSQL_TLS_H

#include <stdbool.h>

/* True if the server host (with socket, "" for TCP) is on this host. May
 * block on DNS. */
bool hp_mysql_is_local(const char *host, const char *socket);

/* The decision: require TLS? */
bool hp_mysql_tls_required(bool asked, bool local, bool plaintext_remote);

#endif
