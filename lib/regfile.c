/* SPDX-License-Identifier: Apache-2.0 */
/* regfile.c -- non-blocking open of regular files only (see regfile.h). */
#include "lib/regfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hp_open_regular(int dirfd, const char *path, off_t *size)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    else if (!S_ISREG(st.st_mode))
        err = EINVAL;
    if (err) {
        close(fd);
        errno = err;
        return -1;
    }
    if (size)
        *size = st.st_size;
    return fd;
}

const char *hp_open_error(int err)
{
    return err == EINVAL ? "not a regular file" : strerror(err);
}
