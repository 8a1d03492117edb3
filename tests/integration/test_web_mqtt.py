# SPDX-License-Identifier: Apache-2.0
# test_web_mqtt.py -- hostpulse-web subscribed at QoS 1 to a real mosquitto
# broker (started here on a free loopback port): messages published with
# mosquitto_pub (the agent's mqtt sink is on another branch) are stored,
# bad ones counted; what is published while hostpulse-web is stopped is
# delivered after it starts again (persistent session), and a broker
# restart is survived.
# hp: slow
import getpass
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.web as web

MOSQUITTO = "/usr/sbin/mosquitto"
PUB = shutil.which("mosquitto_pub")


class Broker:
    def __init__(self, d):
        self.port = hp.free_port()
        self.conf = os.path.join(d, "mosquitto.conf")
        with open(self.conf, "w") as f:
            # user: stay who we are (as root it would switch to "mosquitto",
            # which cannot write its persistence file in our directory)
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    "persistence_location %s/\nlog_dest stderr\nuser %s\n"
                    % (self.port, d, getpass.getuser()))
        self.log = open(os.path.join(d, "mosquitto.log"), "w")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log,
                                     stderr=self.log)
        hp.wait_for(self.accepts, what="mosquitto listening")

    def accepts(self):
        import socket
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def close(self):
        self.stop()
        self.log.close()

    def publish(self, topic, lines):
        subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-t", topic,
                        "-l"], input="\n".join(lines) + "\n", text=True, check=True,
                       timeout=60 * hp.SLOW)


def msg(seq, t, host="mq"):
    return json.dumps({"v": 1, "host": host, "reporter": "mem", "ts": t + seq, "session": "s",
                       "seq": seq, "interval": 1, "data": {"percent": seq}})


class WebMqtt(unittest.TestCase):
    def setUp(self):
        why = web.available()
        if why:
            self.skipTest(why)
        if not os.access(MOSQUITTO, os.X_OK) or not PUB:
            self.skipTest("mosquitto and mosquitto-clients are not installed")
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.b = Broker(self.tmp.name)
        self.addCleanup(self.b.close)
        self.b.start()
        self.w = web.Web(self.tmp.name, input_conf='type = "mqtt"; host = "127.0.0.1"; port = %d;'
                         ' client_id = "web-test";' % self.b.port)
        self.addCleanup(lambda: self.w.alive() and self.w.stop())
        self.w.start()
        hp.wait_for(lambda: "subscribed to hostpulse/+/+" in self.w.read_stderr(),
                    what="subscribed")

    def test_messages_and_bad_ones(self):
        t = int(time.time() * 1000)
        self.b.publish("hostpulse/mq/mem", [msg(1, t), "not json", msg(2, t),
                                            json.dumps({"v": 3}), msg(3, t)])
        self.b.publish("elsewhere/mq/mem", [msg(4, t)])  # not subscribed
        hp.wait_for(lambda: self.w.stored() == 3, what="3 stored")
        hp.wait_for(lambda: sum(self.w.query("stats")["rejected"].values()) == 2,
                    what="2 rejected")
        pts = self.w.points("mq", "mem", "percent", t, t + 10)["points"]
        self.assertEqual([p[1] for p in pts], [1, 2, 3])
        self.assertEqual(self.w.stop(), 0)

    def test_stopped_web_and_broker_restart_lose_nothing(self):
        t = int(time.time() * 1000)
        self.b.publish("hostpulse/mq/mem", [msg(s, t) for s in range(1, 11)])
        hp.wait_for(lambda: self.w.stored() == 10, what="first 10 stored")
        self.assertEqual(self.w.stop(), 0)
        self.b.publish("hostpulse/mq/mem", [msg(s, t) for s in range(11, 21)])  # queued
        self.b.stop()
        self.b.start()  # persistence keeps the session and its queue
        self.w.start()
        hp.wait_for(lambda: self.w.stored() == 20, what="all 20 stored")
        self.b.stop()
        time.sleep(1)
        self.b.start()
        hp.wait_for(lambda: "connected again" in self.w.read_stderr() or
                    self.w.read_stderr().count("subscribed to") >= 2, what="reconnected")
        self.b.publish("hostpulse/mq/mem", [msg(s, t) for s in range(21, 31)])
        hp.wait_for(lambda: self.w.stored() == 30, what="all 30 stored")
        loss = self.w.query("loss", "mq")[0]
        self.assertEqual((loss["received"], loss["lost"]), (30, 0))
        self.assertEqual(self.w.stop(), 0)


if __name__ == "__main__":
    unittest.main()
