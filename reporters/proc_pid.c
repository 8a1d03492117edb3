/* SPDX-License-Identifier: Apache-2.0 */
/* proc_pid.c -- allocation-free parsers for /proc/PID files; see
 * proc_pid.h. Field numbers follow proc(5). */
#include "reporters/proc_pid.h"

#include "reporters/procfile.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* stat fields after the state letter, counted from 0: ppid is field 4 of
 * proc(5), so field N is at index N - 4. */
enum {
    ST_PPID = 0,
    ST_UTIME = 10,
    ST_STIME = 11,
    ST_PRIORITY = 14,
    ST_NICE = 15,
    ST_THREADS = 16,
    ST_STARTTIME = 18,
    ST_VSIZE = 19,
    ST_RSS = 20,
    ST_COUNT = 21,
    ST_EXIT_SIGNAL = 34, /* field 38: -1 for a thread that is not the leader */
};

bool hp_pidstat_is_thread(const char *buf)
{
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return false;
    p += 3; /* past ") S" */
    int64_t v = 0;
    for (int i = 0; i <= ST_EXIT_SIGNAL; i++)
        if (!hp_parse_i64(&p, &v))
            return false;
    return v == -1;
}

bool hp_pidstat_parse(const char *buf, struct hp_pidstat *s)
{
    const char *open = strchr(buf, '(');
    const char *close = strrchr(buf, ')');
    if (!open || !close || close < open || close[1] != ' ' || !close[2])
        return false;
    const char *p = buf;
    int64_t pid;
    if (!hp_parse_i64(&p, &pid))
        return false;
    size_t n = (size_t)(close - open - 1);
    if (n >= sizeof(s->comm))
        n = sizeof(s->comm) - 1;
    memcpy(s->comm, open + 1, n);
    s->comm[n] = '\0';
    s->state = close[2];
    p = close + 3;
    int64_t v[ST_COUNT];
    for (int i = 0; i < ST_COUNT; i++)
        if (!hp_parse_i64(&p, &v[i]))
            return false;
    s->pid = (int32_t)pid;
    s->ppid = (int32_t)v[ST_PPID];
    s->utime = (uint64_t)v[ST_UTIME];
    s->stime = (uint64_t)v[ST_STIME];
    s->priority = v[ST_PRIORITY];
    s->nice = v[ST_NICE];
    s->threads = v[ST_THREADS];
    s->starttime = (uint64_t)v[ST_STARTTIME];
    s->vsize = (uint64_t)v[ST_VSIZE];
    s->rss_pages = v[ST_RSS] > 0 ? (uint64_t)v[ST_RSS] : 0;
    return true;
}

const char *const hp_pid_state_names[HP_PID_STATES] = {
    "running", "sleeping", "disk_sleep", "stopped", "tracing_stop",
    "zombie",  "dead",     "idle",       "parked",  "other",
};

int hp_pid_state_index(char state)
{
    static const char letters[] = "RSDTtZXIP";
    const char *p = state ? strchr(letters, state) : NULL;
    if (state == 'x')
        return 6; /* dead, as 'X' */
    return p ? (int)(p - letters) : HP_PID_STATE_OTHER;
}

bool hp_status_uids(const char *buf, uint32_t *ruid, uint32_t *euid)
{
    const char *p = strncmp(buf, "Uid:", 4) == 0 ? buf : strstr(buf, "\nUid:");
    if (!p)
        return false;
    p = strchr(p, ':') + 1;
    uint64_t r, e;
    if (!hp_parse_u64(&p, &r) || !hp_parse_u64(&p, &e))
        return false;
    *ruid = (uint32_t)r;
    *euid = (uint32_t)e;
    return true;
}

bool hp_cgroup_v2(const char *buf, char *out, size_t outlen)
{
    for (const char *p = buf; p && *p;) {
        if (strncmp(p, "0::", 3) == 0) {
            p += 3;
            size_t n = strcspn(p, "\n");
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, p, n);
            out[n] = '\0';
            return n > 0;
        }
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

static bool is_unit(const char *s, size_t n)
{
    static const char *const suffixes[] = {".service", ".scope", ".socket", ".mount", ".swap"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        size_t l = strlen(suffixes[i]);
        if (n > l && memcmp(s + n - l, suffixes[i], l) == 0)
            return true;
    }
    return false;
}

bool hp_cgroup_unit(const char *path, char *out, size_t outlen)
{
    const char *end = path + strlen(path);
    while (end > path) {
        const char *start = end;
        while (start > path && start[-1] != '/')
            start--;
        size_t n = (size_t)(end - start);
        if (n && is_unit(start, n)) {
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, start, n);
            out[n] = '\0';
            return true;
        }
        end = start > path ? start - 1 : path;
    }
    return false;
}

size_t hp_cmdline_fix(char *buf, size_t len)
{
    while (len > 0 && (buf[len - 1] == '\0' || buf[len - 1] == ' '))
        len--;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0' || buf[i] == '\n')
            buf[i] = ' ';
    buf[len] = '\0';
    return len;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80                   ? 1
            : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
            : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
            : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
                                          : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

void hp_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = utf8_len(p);
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
}

long hp_count_fds(DIR *d)
{
    /* Since Linux 6.2 a procfs /proc/PID/fd directory reports its number
     * of open descriptors as its size, counted without listing them: the
     * agent's own directory holds one kept stat descriptor per process, so
     * listing it would cost as much as the scan. A size of 0 (an older
     * kernel, or no descriptors) and a fixture tree are listed. */
    struct statfs fs;
    struct stat st;
    int fd = dirfd(d);
    if (fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC && fstat(fd, &st) == 0 &&
        st.st_size > 0)
        return (long)st.st_size;
    long n = 0;
    rewinddir(d);
    errno = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    return errno ? -1 : n;
}
