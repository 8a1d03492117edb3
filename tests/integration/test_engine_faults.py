# SPDX-License-Identifier: Apache-2.0
# test_engine_faults.py -- what the delivery engine says about a failing
# sink, checked against what really happens: the exit line counts exactly
# what the spool keeps and what is lost (issue 16: "84 message(s) not
# delivered at exit (0 kept in the spool)" while all 84 arrived on the next
# start). The failing sink is the elasticsearch sink against es_double.py,
# hung mid-run (requests time out); a stdout sink shows what was produced.
import re
import tempfile
import unittest

import tests.integration.hp as hp
from tests.integration.es_double import EsDouble

CONFIG = """
agent: { hostname = "engfaults"; shutdown_timeout = 1.0; linger = 0.0;
         spool: { directory = "%(spool)s"; }; };
reporters: { uptime: { interval = 0.05; }; agent: { interval = 1.0; }; };
sinks = (
  { type = "stdout"; },
  { type = "elasticsearch"; url = "%(es)s"; retry_initial = 0.05; retry_max = 0.2;
    timeout = 0.5; }
);
"""


def uptime_seqs(docs, session=None):
    return {d["seq"] for d in docs
            if d.get("reporter") == "uptime" and (session is None or d["session"] == session)}


class ExitAccounting(unittest.TestCase):
    def test_exit_line_says_what_the_spool_keeps(self):
        with tempfile.TemporaryDirectory() as d:
            spool = d + "/spool"
            with EsDouble() as es:
                path = hp.write_config(d, CONFIG % dict(spool=spool, es=es.url))
                with hp.Agent(path) as a:
                    hp.wait_for(lambda: len(es.ids()) >= 20, what="documents before the outage")
                    es.hang(3600)  # every request times out from now on
                    hp.wait_for(lambda: "retrying" in a.read_stderr(), what="the outage")
                    hp.wait_for(lambda: len(uptime_seqs(hp.parse_lines(a.read_stdout())))
                                >= len(uptime_seqs(es.docs.values())) + 40,
                                what="messages produced during the outage")
                first = uptime_seqs(es.docs.values())
            self.assertEqual(a.returncode, 0, a.stderr)
            produced = [m for m in hp.parse_lines(a.stdout) if m["reporter"] == "uptime"]
            session = produced[0]["session"]
            line = [x for x in a.stderr.splitlines() if "sink elasticsearch" in x and
                    "not delivered" in x]
            self.assertEqual(len(line), 1, a.stderr)
            self.assertIn("all kept in the spool for the next start", line[0])
            self.assertNotIn("lost", line[0])
            n = int(re.search(r"(\d+) message\(s\)", line[0]).group(1))

            # The next start delivers exactly those n messages.
            with EsDouble() as es2:
                path = hp.write_config(d, CONFIG % dict(spool=spool, es=es2.url))
                with hp.Agent(path) as a2:
                    hp.wait_for(lambda: len(uptime_seqs(es2.docs.values(), session)) > 0,
                                what="the replay")
                    hp.wait_for(lambda: uptime_seqs(es2.docs.values(), session) | first >=
                                {m["seq"] for m in produced}, what="every spooled message")
                replayed = [doc for doc in es2.docs.values() if doc["session"] == session]
            self.assertEqual(a2.returncode, 0, a2.stderr)
            self.assertEqual(len(replayed), n, "the exit line's count is what was replayed")


if __name__ == "__main__":
    unittest.main()
