/* SPDX-License-Identifier: Apache-2.0 */
/* exec_run.c -- fork and exec, then poll the child's stdout and stderr
 * until it closes them or the deadline passes; a child over time or over
 * the output cap is killed with its whole process group, so a script's own
 * children do not linger either. fork (not posix_spawn) because the child
 * must ask for PR_SET_PDEATHSIG before exec: a command still running when
 * its reporter thread ends (the agent exits, a stuck thread is left
 * behind) is killed by the kernel instead of outliving the agent. */
#include "reporters/exec_run.h"
#include "lib/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child's side of spawn: async-signal-safe calls only, then exec. On
 * failure it writes errno to report[1] (close-on-exec: nothing arrives when
 * the exec succeeds). */
static void child(char *const argv[], const int out[2], const int err[2], int report, pid_t parent)
{
    setpgid(0, 0);
    /* Dies with the thread that started it: when the agent exits (even
     * leaving a stuck reporter thread behind) or the reporter stops, the
     * command does not outlive it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int e = 0;
    if (getppid() != parent)
        _exit(127);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
        e = errno;
    /* The agent blocks every signal in its threads and ignores SIGPIPE:
     * the command starts with none blocked and default dispositions. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPIPE, &dfl, NULL);
    if (!e) {
        execvp(argv[0], argv);
        e = errno;
    }
    ssize_t w = write(report, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* Start argv with stdout -> out[1], stderr -> err[1], stdin /dev/null, in a
 * new process group. Returns the pid, or -1 with errno (the exec's own
 * error when the program could not be started). */
static pid_t spawn(char *const argv[], const int out[2], const int err[2])
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child(argv, out, err, report[1], parent);
    close(report[1]);
    int e = 0;
    ssize_t n = pid > 0 ? read(report[0], &e, sizeof(e)) : -1;
    int fork_errno = errno;
    close(report[0]);
    if (pid < 0) {
        errno = fork_errno;
        return -1;
    }
    if (n == (ssize_t)sizeof(e)) { /* the exec failed: reap the child */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        errno = e;
        return -1;
    }
    return pid;
}

/* Keep the first line of stderr; drain and drop the rest. */
static void take_err(struct hp_exec_result *r, const char *buf, ssize_t n)
{
    size_t have = strlen(r->err_line);
    for (ssize_t i = 0; i < n && have + 1 < sizeof(r->err_line); i++) {
        if (buf[i] == '\n') {
            have = sizeof(r->err_line); /* line complete: stop */
            break;
        }
        r->err_line[have++] = buf[i];
        r->err_line[have] = '\0';
    }
}

/* Read both pipes until EOF, the deadline or the cap. Returns the status
 * so far (HP_EXEC_OK while the child behaves). */
static enum hp_exec_status collect(int outfd, int errfd, int64_t deadline_ns, size_t max,
                                   struct hp_exec_result *r)
{
    struct pollfd pf[2] = {{.fd = outfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
    char buf[8192];
    while (pf[0].fd >= 0 || pf[1].fd >= 0) {
        int64_t left = (deadline_ns - hp_mono_ns()) / 1000000;
        if (left <= 0)
            return HP_EXEC_TIMEOUT;
        if (poll(pf, 2, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            return HP_EXEC_FAILED;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(pf[i].fd, buf, sizeof(buf));
            if (n <= 0) {
                pf[i].fd = -1;
            } else if (i == 1) {
                take_err(r, buf, n);
            } else if (r->out.len + (size_t)n > max) {
                return HP_EXEC_TOOBIG;
            } else if (hp_buf_put(&r->out, buf, (size_t)n) != 0) {
                return HP_EXEC_TOOBIG;
            }
        }
    }
    return HP_EXEC_OK;
}

/* Wait for pid until the deadline; kill its group if it is still there. */
static enum hp_exec_status reap(pid_t pid, enum hp_exec_status st, int64_t deadline_ns,
                                struct hp_exec_result *r)
{
    int ws = 0;
    while (st == HP_EXEC_OK) {
        pid_t w = waitpid(pid, &ws, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return r->code = errno, HP_EXEC_FAILED;
        if (hp_mono_ns() >= deadline_ns)
            st = HP_EXEC_TIMEOUT;
        else
            usleep(2000);
    }
    if (st != HP_EXEC_OK) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        return st;
    }
    if (WIFEXITED(ws)) {
        r->code = WEXITSTATUS(ws);
        return r->code == 0 ? HP_EXEC_OK : HP_EXEC_FAILED;
    }
    r->code = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
    return HP_EXEC_FAILED;
}

enum hp_exec_status hp_exec_run(char *const argv[], double timeout_s, size_t max_bytes,
                                struct hp_exec_result *r)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    r->out.len = 0;
    r->err_line[0] = '\0';
    r->code = 0;
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        r->code = errno;
        r->status = HP_EXEC_NOTSTARTED;
        goto done;
    }
    int64_t deadline = hp_mono_ns() + (int64_t)(timeout_s * 1e9);
    pid_t pid = spawn(argv, out, err);
    if (pid < 0) {
        r->code = errno;
        r->status = HP_EXEC_NOTSTARTED;
        goto done;
    }
    close(out[1]), close(err[1]);
    out[1] = err[1] = -1;
    r->status = reap(pid, collect(out[0], err[0], deadline, max_bytes, r), deadline, r);
done:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    return r->status;
}
