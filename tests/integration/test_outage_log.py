# SPDX-License-Identifier: Apache-2.0
# test_outage_log.py -- a failing sink says so once per outage, repeats it
# at most every 30 s with the attempts since the last line, and says once
# when it recovers, however many files it writes (issue 16 item 16: the
# CSV sink's disk filling up logged 887 lines in 6 minutes, one per
# reporter file and retry; item 2: the repeats stopped after the 2 s retry
# and said nothing for 29 s). The CSV sink writes into a tiny tmpfs
# (hp.tiny_tmpfs) that is full for 35 s, with retries every 0.05-0.2 s.
# hp: slow
import os
import tempfile
import time
import unittest

import tests.integration.hp as hp

OUTAGE = 35.0  # seconds: one repeat (at 30 s) is due, not two

CONFIG = """
agent: { hostname = "outagelog"; spool: { directory = "%(spool)s"; }; };
reporters: { uptime: { interval = 0.1; }; cpu: { interval = 0.1; }; mem: { interval = 0.1; };
             agent: { interval = 0.5; }; };
sinks = (
  { type = "csv"; directory = "%(csv)s"; retry_initial = 0.05; retry_max = 0.2; }
);
"""


class OutageLog(unittest.TestCase):
    def test_one_line_per_outage_a_repeat_per_30s_one_recovery(self):
        mnt = hp.tiny_tmpfs(self, "1m")
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, CONFIG % dict(spool=d + "/spool", csv=mnt + "/csv"))
            filler = os.path.join(mnt, "filler")
            with hp.Agent(path) as a:
                hp.wait_for(lambda: os.path.exists(mnt + "/csv/uptime.csv"), what="CSV files")
                time.sleep(0.5)
                with open(filler, "wb") as f:
                    try:
                        while True:
                            f.write(b"\0" * 65536)
                            f.flush()
                    except OSError:
                        pass
                hp.wait_for(lambda: "No space left on device" in a.read_stderr(),
                            what="the outage")
                time.sleep(OUTAGE)
                os.unlink(filler)
                hp.wait_for(lambda: "connected again" in a.read_stderr(), what="the recovery")
                time.sleep(1)
            self.assertEqual(a.returncode, 0, a.stderr)
        lines = [x for x in a.stderr.splitlines() if "sink csv:" in x]
        print("\n" + "\n".join(lines))
        first = [x for x in lines if "retrying in" in x and "still failing" not in x]
        repeats = [x for x in lines if "still failing" in x]
        recovered = [x for x in lines if "connected again" in x]
        self.assertEqual(len(first), 1, lines)
        self.assertEqual(len(repeats), 1, lines)
        self.assertRegex(repeats[0], r"still failing after 3\d s, \d+ attempt\(s\) since")
        self.assertEqual(len(recovered), 1, lines)
        others = [x for x in lines if x not in first + repeats + recovered and "rotated" not in x]
        self.assertEqual(others, [])


if __name__ == "__main__":
    unittest.main()
