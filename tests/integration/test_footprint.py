# SPDX-License-Identifier: Apache-2.0
# test_footprint.py -- what keeps the agent's resident memory small: its
# threads share one glibc malloc arena (agent/main.c, one_malloc_arena)
# unless the administrator set MALLOC_ARENA_MAX. Only on the release build:
# the sanitizers replace malloc.
import os
import time
import unittest

import tests.integration.hp as hp

# Reporters that allocate in their own threads every 0.2 s, and a sink thread.
CONF = """
reporters: {
  cpu: { interval = 0.2; }; mem: { interval = 0.2; }; net: { interval = 0.2; };
  uptime: { interval = 0.2; }; disk: { interval = 0.2; }; agent: { interval = 0.2; };
};
sinks = ( { type = "csv"; directory = "%s"; } );
"""
HEAP_MAX = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit: each thread arena reserves this


def thread_arenas(pid):
    """Thread malloc arenas in /proc/PID/maps: an anonymous rw-p mapping at a
    64 MiB boundary whose ---p reserve right after it ends 64 MiB later (a
    thread stack has its guard below it, not above)."""
    maps = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            maps.append((lo, hi, parts[1], len(parts) > 5))
    n = 0
    for i, (lo, hi, perm, named) in enumerate(maps):
        if named or perm != "rw-p" or lo % HEAP_MAX:
            continue
        end = hi
        if i + 1 < len(maps) and maps[i + 1][0] == hi and maps[i + 1][2] == "---p":
            end = maps[i + 1][1]
        n += end - lo == HEAP_MAX
    return n


@unittest.skipUnless(hp.LABEL == "release", "the sanitizers replace malloc")
class MallocArenaTest(unittest.TestCase):
    def arenas_after_run(self, env=None):
        d = self.enterContext(hp.tempfile.TemporaryDirectory())
        path = hp.write_config(d, CONF % os.path.join(d, "csv"))
        with hp.Agent(path, env=env) as a:
            time.sleep(2.5)  # every reporter thread has sampled several times
            self.assertIsNone(a.proc.poll(), a.read_stderr())
            n = thread_arenas(a.proc.pid)
        self.assertEqual(a.returncode, 0, a.stderr)
        return n

    def test_threads_share_one_arena(self):
        self.assertEqual(self.arenas_after_run(), 0)

    def test_malloc_arena_max_is_the_administrators(self):
        # The same run with glibc's own default (8 per core) spreads the
        # threads over arenas of their own: the counter above sees them.
        self.assertGreater(self.arenas_after_run({"MALLOC_ARENA_MAX": "8"}), 0)


if __name__ == "__main__":
    unittest.main()
