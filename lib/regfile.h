/* SPDX-License-Identifier: Apache-2.0 */
/* regfile.h -- open a file only if it is a regular file, never blocking.
 *
 * A FIFO where a config file, an @include, or a /proc or /sys file is
 * expected would block open() and read() forever; a character device such
 * as /dev/zero never ends. Every such open goes through here: O_NONBLOCK
 * (open of a FIFO returns at once), then fstat, and anything but a regular
 * file is refused (procfs and sysfs files are regular files). */
#ifndef HP_REGFILE_H
#define HP_REGFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Open path read-only (relative to dirfd when not AT_FDCWD) if it is a
 * regular file. Returns the descriptor (O_CLOEXEC; O_NONBLOCK, harmless on
 * a regular file), or -1 with errno set: EISDIR for a directory, EINVAL for
 * anything else that is not a regular file, or open's own errno. *size, if
 * not NULL, gets the file's st_size. */
int hp_open_regular(int dirfd, const char *path, off_t *size);

/* The reason for errno after hp_open_regular failed: strerror, except that
 * EINVAL reads "not a regular file". */
const char *hp_open_error(int err);

#endif
