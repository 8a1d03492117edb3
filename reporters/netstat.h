/* SPDX-License-Identifier: Apache-2.0 */
/* netstat.h -- the name conversion of the netstat reporter, shared with the
 * unit tests and the fuzz target. */
#ifndef HP_NETSTAT_H
#define HP_NETSTAT_H

#include <stddef.h>

/* snake_case of a kernel counter name (first inlen bytes of in, stopping
 * at a NUL): "ActiveOpens" -> "active_opens", "TCPSynRetrans" ->
 * "tcp_syn_retrans", "TcpExt" -> "tcp_ext". Other than letters and digits
 * become '_'. Truncates to fit outlen (at least 1). */
void hp_snake_case(const char *in, size_t inlen, char *out, size_t outlen);

#endif
