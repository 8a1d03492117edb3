/* SPDX-License-Identifier: Apache-2.0 */
/* exec_run.h -- run a command with a deadline and capture its output.
 *
 * For the exec reporter: no shell unless the caller builds one into argv,
 * the child in its own process group (killed as a group on timeout), stdin
 * from /dev/null, stdout captured up to a cap, stderr's first line kept for
 * the log. Blocks the calling thread for at most the timeout plus the time
 * to reap a killed child. */
#ifndef HP_EXEC_RUN_H
#define HP_EXEC_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

enum hp_exec_status {
    HP_EXEC_OK,        /* exited 0 */
    HP_EXEC_FAILED,    /* exited non-zero or by a signal (see code) */
    HP_EXEC_TIMEOUT,   /* killed at the deadline */
    HP_EXEC_TOOBIG,    /* printed more than the cap: killed */
    HP_EXEC_NOTSTARTED /* spawn failed (see code: errno) */
};

struct hp_exec_result {
    enum hp_exec_status status;
    int code;           /* exit status, signal number, or errno */
    struct hp_buf out;  /* stdout (at most the cap); owned by the caller */
    char err_line[200]; /* first line of stderr, "" if none */
};

/* Run argv[0] (a path, or a name searched in PATH) with argv. The result's
 * out buffer is reused across calls (len reset to 0). Returns r->status. */
enum hp_exec_status hp_exec_run(char *const argv[], double timeout_s, size_t max_bytes,
                                struct hp_exec_result *r);

#endif
