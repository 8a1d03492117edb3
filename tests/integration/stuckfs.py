# SPDX-License-Identifier: Apache-2.0
"""stuckfs.py -- a FUSE file system whose reads never return (not a test
module).

A reporter blocked in a read that never ends is what a hung NFS server, a
dead FUSE daemon or a wedged driver does to an agent; this file system does
it on purpose, for real: every listed name is a regular file whose read()
waits forever. The tests point agent.proc_root at it.

    fs = stuckfs.mount(test, ["stat", "loadavg"])   # fs.path; unmounted at cleanup
    ...
    fs.abort()   # every read in flight fails; readers in the kernel wake up

A reader blocked here may sit in uninterruptible sleep (waiting for a page
lock), so even SIGKILL does not end its process until the file system
answers: abort() (killing the server closes /dev/fuse, which aborts the
connection) before waiting for such a process.

Run as a program (python3 -m tests.integration.stuckfs MOUNT NAME...) it
serves the mount in the foreground; mount() does that in a child process.
Needs python3-fusepy (Debian) and permission to mount (root)."""
import errno
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time


class StuckFS:
    def __init__(self, path, proc):
        self.path = path
        self.proc = proc

    def abort(self):
        """Fail every read in flight and unmount. Idempotent."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        subprocess.run(["umount", "-l", self.path], capture_output=True)


def mount(test, names):
    """Serve names at a new mount point (a StuckFS); skip test, saying why,
    if FUSE is unavailable. Aborted and removed in the test's cleanup."""
    try:
        import fusepy  # noqa: F401
    except ImportError:
        test.skipTest("python3-fusepy is not installed (make deps)")
    if not os.path.exists("/dev/fuse"):
        test.skipTest("no /dev/fuse: cannot mount a FUSE file system here")
    mnt = tempfile.mkdtemp(prefix="hp-stuckfs-")
    test.addCleanup(os.rmdir, mnt)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-m", "tests.integration.stuckfs", mnt] + list(names),
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    fs = StuckFS(mnt, proc)
    test.addCleanup(proc.stderr.close)
    test.addCleanup(fs.abort)
    deadline = time.monotonic() + 10
    while not os.path.ismount(mnt):
        if proc.poll() is not None or time.monotonic() > deadline:
            test.skipTest("cannot mount a FUSE file system here: "
                          + proc.stderr.read().decode(errors="replace").strip()[-300:])
        time.sleep(0.05)
    return fs


def serve(mnt, names):
    import fusepy

    class Stuck(fusepy.Operations):
        forever = threading.Event()  # never set

        def getattr(self, path, fh=None):
            now = time.time()
            if path == "/":
                mode, nlink = stat.S_IFDIR | 0o755, 2
            elif path[1:] in names:
                mode, nlink = stat.S_IFREG | 0o444, 1
            else:
                raise fusepy.FuseOSError(errno.ENOENT)
            return dict(st_mode=mode, st_nlink=nlink, st_size=4096,
                        st_ctime=now, st_mtime=now, st_atime=now)

        def readdir(self, path, fh):
            return [".", ".."] + list(names)

        def open(self, path, flags):
            return 0

        def read(self, path, size, offset, fh):
            self.forever.wait()
            return b""

    fusepy.FUSE(Stuck(), mnt, foreground=True, nothreads=False)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
