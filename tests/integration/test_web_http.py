# SPDX-License-Identifier: Apache-2.0
"""hostpulse-web's HTTP side against the real program fed through --stdin:
routes and headers, no way out of the served directories, the JSON API
(errors as JSON, the agent's values back from /api/series), the hostile
host name escaped in the host page, basic auth against crypt(3) hashes
(yescrypt and sha512-crypt) and HTTPS with a certificate made by openssl.
"""
import crypt  # deprecated in 3.11 but present in Debian 12's python3; libcrypt underneath
import base64
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import warnings

from tests.integration import hp, webfeed

WEB = os.path.join(hp.BUILD, "hostpulse-web")
HOSTILE = "<script>alert(1)</script>"
STATIC = os.path.join(hp.ROOT, "web", "static")
CHARTJS = "/usr/share/javascript/chart.js/chart.min.js"

warnings.filterwarnings("ignore", category=DeprecationWarning)


class Server:
    """hostpulse-web --stdin with extra web { } settings, fed `lines`."""

    def __init__(self, web_settings="", lines=(), tls=False):
        self.tmp = tempfile.mkdtemp(prefix="hp-webhttp-")
        self.port = hp.free_port()
        conf = hp.write_config(self.tmp, 'web: { static_dir = "%s"; %s };\n' % (
            STATIC, web_settings), name="web.conf")
        self.err = open(os.path.join(self.tmp, "stderr"), "w+")
        self.proc = subprocess.Popen(
            [WEB, "-c", conf, "--stdin", "--db", os.path.join(self.tmp, "web.db"),
             "--listen", "127.0.0.1:%d" % self.port],
            stdin=subprocess.PIPE, stdout=self.err, stderr=self.err, text=True)
        self.ctx = None
        if lines:
            self.proc.stdin.write("\n".join(lines) + "\n")
        self.proc.stdin.flush()
        self.tls = tls

    def conn(self):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                               timeout=10)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, path, method="GET", headers=None, body=None):
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def json(self, path, headers=None):
        status, hdrs, body = self.request(path, headers=headers)
        self.last_headers = hdrs
        return status, json.loads(body)

    def wait_up(self, headers=None):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError("hostpulse-web exited:\n" + self.stderr())
            try:
                return self.request("/", headers=headers)[0] in (200, 401)
            except OSError:
                return False
        hp.wait_for(up, timeout=30, what="hostpulse-web to answer")
        return self

    def stderr(self):
        with open(self.err.name) as f:
            return f.read()

    def stop(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20 * hp.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        text = self.stderr()
        shutil.rmtree(self.tmp, ignore_errors=True)
        hp.check_sanitizers(text)
        return text


class RoutesAndApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.now = int(time.time() * 1000)
        cls.lines = (webfeed.history("web01", cls.now, minutes=30, step_s=30) +
                     webfeed.history(HOSTILE, cls.now, minutes=5, step_s=30))
        cls.s = Server(lines=cls.lines).wait_up()
        hp.wait_for(lambda: cls.s.json("/api/stats")[1].get("stored", 0) >= len(cls.lines),
                    timeout=60, what="every message stored")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_pages_and_headers(self):
        status, h, body = self.s.request("/")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertIn("script-src 'self'", h["content-security-policy"])
        self.assertEqual(h["x-content-type-options"], "nosniff")
        self.assertIn(b"/static/fleet.js", body)
        status, h, body = self.s.request("/static/host.js")
        self.assertEqual((status, h["content-type"].split(";")[0]), (200, "text/javascript"))
        with open(os.path.join(STATIC, "host.js"), "rb") as f:
            self.assertEqual(body, f.read())
        self.assertEqual(self.s.request("/static/nothere.js")[0], 404)
        self.assertEqual(self.s.request("/nothere")[0], 404)

    @unittest.skipUnless(os.path.exists(CHARTJS), "libjs-chart.js is not installed")
    def test_chartjs_served_locally(self):
        status, h, body = self.s.request("/javascript/chart.js/chart.min.js")
        self.assertEqual(status, 200)
        with open(CHARTJS, "rb") as f:
            self.assertEqual(body, f.read())
        # the pages name no other origin: no CDN
        for name in os.listdir(STATIC):
            with open(os.path.join(STATIC, name)) as f:
                self.assertNotRegex(f.read(), r"(src|href)=\"https?://", name)

    def test_no_way_out_of_served_directories(self):
        for path in ("/static/../web.conf", "/static/..%2fweb.conf", "/static/.hidden.js",
                     "/javascript/chart.js/../../../../etc/passwd", "/javascript/../web.db",
                     "/static/sub/../host.js", "/javascript//etc/passwd",
                     "/javascript/chart.js/chart.min.js.gz"):
            status, _, body = self.s.request(path)
            self.assertEqual(status, 404, path)
            self.assertNotIn(b"root:", body)

    def test_methods(self):
        self.assertEqual(self.s.request("/", method="POST", body="x=1")[0], 405)
        self.assertEqual(self.s.request("/api/fleet", method="DELETE")[0], 405)
        status, h, body = self.s.request("/", method="HEAD")
        self.assertEqual((status, body), (200, b""))

    def test_api_errors_are_json(self):
        for path, want in (("/api/nothing", 404), ("/api/series?host=web01", 400),
                           ("/api/host", 400), ("/api/host?host=nobody", 404),
                           ("/api/series?host=web01&reporter=cpu&path=user&range=2h", 400),
                           ("/api/series?host=web01&reporter=cpu&path=user&points=1", 400),
                           ("/api/series?host=web01&reporter=cpu&path=user&from=5&to=4", 400),
                           ("/api/series?host=web01&reporter=cpu&path=user&from=x", 400)):
            status, body = self.s.json(path)
            self.assertEqual(status, want, path)
            self.assertIsInstance(body.get("error"), str, path)
            self.assertEqual(self.s.last_headers["cache-control"], "no-store")

    def test_series_has_the_agents_values(self):
        q = urllib.parse.urlencode({"host": "web01", "reporter": "cpu", "path": "user",
                                    "from": self.now - 3600000,
                                    "to": self.now + 1000, "points": 5000})
        status, body = self.s.json("/api/series?" + q)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["source"], "raw")
        got = [p for p in body["points"] if p[1] is not None]
        self.assertEqual([p[1] for p in got], [webfeed.cpu_at(i) for i in range(len(got))])
        # the last point is the last sample's, in its bucket of step_ms
        self.assertLessEqual(abs(got[-1][0] - self.now), max(body.get("step_ms") or 0, 1))

    def test_fleet_and_host(self):
        status, body = self.s.json("/api/fleet")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(h["host"] for h in body["hosts"]), sorted(["web01", HOSTILE]))
        status, body = self.s.json("/api/host?" + urllib.parse.urlencode({"host": HOSTILE}))
        self.assertEqual(status, 200)
        self.assertEqual(body["host"], HOSTILE)
        self.assertEqual(body["info"]["facts"]["kernel"], "6.1.0-13-amd64")
        self.assertIn({"reporter": "cpu", "path": "user"},
                      [{"reporter": s["reporter"], "path": s["path"]} for s in body["series"]])
        self.assertEqual(body["latest"]["process"]["data"]["watched"][0]["name"], "postgres")

    def test_hostile_name_escaped_in_host_page(self):
        status, _, body = self.s.request("/host/" + urllib.parse.quote(HOSTILE, safe=""))
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertNotIn(HOSTILE, text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", text)
        self.assertEqual(text.count("<script"), 3)  # chart.js, common.js, host.js


class Auth(unittest.TestCase):
    def check(self, hashed):
        s = Server('auth_user = "ops"; auth_hash = "%s";' % hashed)
        try:
            s.wait_up()
            status, h, _ = s.request("/")
            self.assertEqual(status, 401)
            self.assertIn('Basic realm="hostpulse-web"', h["www-authenticate"])
            for user, pw, want in (("ops", "wrong", 401), ("root", "s3cret pass", 401),
                                   ("ops", "s3cret pass", 200), ("ops", "s3cret pass", 200),
                                   ("ops", "s3cret pas", 401)):
                auth = base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
                for path in ("/", "/api/fleet"):
                    status = s.request(path, headers={"Authorization": "Basic " + auth})[0]
                    self.assertEqual(status, want, (user, pw, path))
        finally:
            err = s.stop()
        self.assertNotIn("s3cret", err)

    def test_yescrypt(self):
        h = crypt.crypt("s3cret pass", "$y$j9T$" + "F5Jx5fExrKuPp53xLKQ..1")
        if not h or not h.startswith("$y$"):
            self.skipTest("this libcrypt makes no yescrypt hashes")
        self.check(h)

    def test_sha512_crypt(self):
        self.check(crypt.crypt("s3cret pass", crypt.mksalt(crypt.METHOD_SHA512)))


@unittest.skipUnless(shutil.which("openssl"), "openssl is not installed (make deps)")
class Tls(unittest.TestCase):
    def test_https(self):
        d = tempfile.mkdtemp(prefix="hp-webtls-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        s = Server('tls_cert = "%s"; tls_key = "%s";' % (cert, key), tls=True)
        s.ctx = ssl.create_default_context(cafile=cert)
        try:
            s.wait_up()
            status, _, body = s.request("/")
            self.assertEqual(status, 200)
            self.assertIn(b"hostpulse fleet", body)
            # plain HTTP on the TLS port gets no page
            plain = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
            with self.assertRaises((OSError, http.client.HTTPException)):
                plain.request("GET", "/")
                r = plain.getresponse()
                if r.status == 200:
                    self.fail("plain HTTP served a page on the TLS port")
                raise OSError("refused")
            plain.close()
        finally:
            s.stop()

    def test_missing_key_is_an_error(self):
        s = Server('tls_cert = "/nonexistent/c.pem"; tls_key = "/nonexistent/k.pem";')
        try:
            s.proc.wait(timeout=20 * hp.SLOW)
        finally:
            err = s.stop()
        self.assertNotEqual(s.proc.returncode, 0)
        self.assertIn("/nonexistent/c.pem", err)


if __name__ == "__main__":
    unittest.main()
