# SPDX-License-Identifier: Apache-2.0
# test_web_package.py -- the hostpulse-web Debian package end to end: `make
# deb` builds it beside the agent's, lintian finds nothing, it depends on the
# chart package it serves, its systemd unit verifies with the agent's
# hardening, and on this machine dpkg -i installs it (its own user, modes),
# the SysV script starts it as user hostpulse-web reading a JSON-lines file,
# the installed pages and Debian's Chart.js are served, a reload keeps
# serving, and dpkg --purge leaves nothing behind (and leaves the agent's
# files alone). Needs root and dpkg-buildpackage; purged in cleanup.
# hp: slow
import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import tempfile
import time
import unittest
import urllib.request

from tests.integration import hp, webfeed
from tests.integration.test_package import sh, pid_alive

PKG = "hostpulse-web"
CONF = "/etc/hostpulse/web.conf"
INIT = "/etc/init.d/hostpulse-web"
PIDFILE = "/run/hostpulse-web.pid"
STATE = "/var/lib/hostpulse-web"
UNIT = os.path.join(hp.ROOT, "init", "hostpulse-web.service")
FEED = STATE + "/feed.json"


def package_state(pkg=PKG):
    p = sh(["dpkg-query", "-W", "-f=${Status}", pkg])
    return p.stdout.strip() if p.returncode == 0 else ""


class WebPackageTest(unittest.TestCase):
    deb = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: installs the package with dpkg -i")
        for tool in ("dpkg-buildpackage", "dh", "lintian", "start-stop-daemon"):
            if not shutil.which(tool):
                raise unittest.SkipTest("%s is missing (make deps installs it)" % tool)
        if package_state():
            raise unittest.SkipTest("hostpulse-web is installed on this machine (%s); "
                                    "the test would purge it" % package_state())
        if package_state("libjs-chart.js") != "install ok installed":
            raise unittest.SkipTest("libjs-chart.js, a dependency, is not installed (make deps)")
        p = sh(["make", "-C", hp.ROOT, "deb"], timeout=1200, env={"LINTIAN": "0"})
        if p.returncode != 0:
            raise AssertionError("make deb failed:\n%s%s" % (p.stdout[-3000:], p.stderr[-3000:]))
        debs = glob.glob(os.path.join(hp.ROOT, "dist", "hostpulse-web_*.deb"))
        if len(debs) != 1:
            raise AssertionError("make deb left %r in dist/" % debs)
        cls.deb = debs[0]

    def test_lintian_clean(self):
        p = sh(["lintian", "--fail-on", "error,warning", self.deb])
        findings = [l for l in p.stdout.splitlines() if re.match(r"^[EW]: ", l)]
        self.assertEqual(findings, [], p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_depends_on_the_chart_package(self):
        fields = sh(["dpkg-deb", "-f", self.deb, "Depends"], check=True).stdout
        for dep in ("libjs-chart.js", "adduser", "libmicrohttpd12", "libsqlite3-0"):
            self.assertIn(dep, fields)

    def test_maintainer_scripts(self):
        # enabled and restarted on upgrade, stopped on removal, for both
        # init systems; its configuration files are conffiles
        with tempfile.TemporaryDirectory() as d:
            sh(["dpkg-deb", "-e", self.deb, d], check=True)
            scripts = {}
            for name in ("postinst", "prerm", "postrm", "conffiles"):
                with open(os.path.join(d, name)) as f:
                    scripts[name] = f.read()
        self.assertIn("adduser --system", scripts["postinst"])
        self.assertRegex(scripts["postinst"], r"invoke-rc.d .*hostpulse-web \$_dh_action")
        self.assertRegex(scripts["postinst"], r"deb-systemd-helper enable .hostpulse-web.service")
        self.assertRegex(scripts["prerm"], r"invoke-rc.d .*hostpulse-web stop")
        self.assertRegex(scripts["prerm"], r"deb-systemd-invoke stop .hostpulse-web.service")
        self.assertEqual(sorted(scripts["conffiles"].split()), [
            "/etc/default/hostpulse-web", "/etc/hostpulse/web.conf", "/etc/init.d/hostpulse-web"])

    def test_unit(self):
        keys = {}
        with open(UNIT) as f:
            text = f.read()
        for line in text.splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                keys.setdefault(k, []).append(v)
        want = {"Type": "notify", "User": "hostpulse-web", "Group": "hostpulse-web",
                "ExecReload": "/bin/kill -HUP $MAINPID", "NoNewPrivileges": "yes",
                "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                "ReadWritePaths": "/var/lib/hostpulse-web", "CapabilityBoundingSet": "",
                "MemoryDenyWriteExecute": "yes", "SystemCallFilter": "@system-service"}
        for k, v in want.items():
            self.assertEqual(keys.get(k), [v], k)
        self.assertIn("WatchdogSec", keys)
        self.assertEqual(sorted(keys["RestrictAddressFamilies"][0].split()),
                         ["AF_INET", "AF_INET6", "AF_UNIX"])
        if shutil.which("systemd-analyze"):
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "hostpulse-web.service")
                with open(path, "w") as f:
                    f.write(text.replace("/usr/sbin/hostpulse-web",
                                         os.path.join(hp.BUILD, "hostpulse-web")))
                p = sh(["systemd-analyze", "verify", "--man=no", path])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    # ---- on this machine ------------------------------------------------

    def read_pid(self):
        try:
            with open(PIDFILE) as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def cleanup_install(self):
        pid = self.read_pid()
        if os.path.exists(INIT):
            sh([INIT, "stop"], timeout=60)
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        if package_state():
            sh(["dpkg", "--purge", PKG], timeout=120)

    def assertMode(self, path, mode, user, group):
        st = os.stat(path)
        got = (st.st_mode & 0o7777, pwd.getpwuid(st.st_uid).pw_name,
               grp.getgrgid(st.st_gid).gr_name)
        self.assertEqual(got, (mode, user, group), path)

    def get(self, base, path):
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.read()

    def test_install_run_reload_purge(self):
        self.addCleanup(self.cleanup_install)
        agent_conf_before = os.path.exists("/etc/hostpulse/hostpulse.conf")
        sh(["dpkg", "-i", self.deb], check=True)
        self.assertMode("/usr/sbin/hostpulse-web", 0o755, "root", "root")
        self.assertMode(CONF, 0o640, "root", "hostpulse-web")
        self.assertMode(STATE, 0o750, "hostpulse-web", "hostpulse-web")
        self.assertMode(INIT, 0o755, "root", "root")
        for path in ("/usr/share/hostpulse-web/static/fleet.html",
                     "/usr/share/hostpulse-web/static/host.js",
                     "/usr/share/man/man8/hostpulse-web.8.gz",
                     "/usr/share/doc/hostpulse-web/web.md", "/etc/default/hostpulse-web"):
            self.assertTrue(os.path.isfile(path), path)
        u = pwd.getpwnam("hostpulse-web")
        self.assertLess(u.pw_uid, 1000, "a system user")
        self.assertEqual(u.pw_shell, "/usr/sbin/nologin")
        # the shipped configuration is valid as it stands
        p = sh(["/usr/sbin/hostpulse-web", "-c", CONF, "--check"])
        self.assertEqual(p.returncode, 0, p.stderr)

        # postinst may have started it (no policy-rc.d here): begin clean,
        # then run it on a free port, reading a JSON-lines file.
        sh([INIT, "stop"], check=True)
        port = hp.free_port()
        base = "http://127.0.0.1:%d" % port
        lines = webfeed.history("pkg01", int(time.time() * 1000), minutes=5, step_s=30)
        with open(FEED, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(CONF, "w") as f:  # truncating keeps its mode
            f.write('web: { listen = "127.0.0.1:%d"; };\ninput: { type = "file"; file = "%s"; };\n'
                    'log: { destination = "syslog"; };\n' % (port, FEED))
        p = sh([INIT, "start"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        pid = self.read_pid()
        self.assertTrue(pid and pid_alive(pid))
        with open("/proc/%d/status" % pid) as f:
            uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
        self.assertEqual(int(uid), u.pw_uid, "runs as hostpulse-web")

        status, body = self.get(base, "/")
        self.assertEqual(status, 200)
        self.assertIn(b"hostpulse fleet", body)
        status, body = self.get(base, "/javascript/chart.js/chart.min.js")
        with open("/usr/share/javascript/chart.js/chart.min.js", "rb") as f:
            self.assertEqual(body, f.read())
        hp.wait_for(lambda: [h["host"] for h in json.loads(self.get(base, "/api/fleet")[1])
                             ["hosts"]] == ["pkg01"], timeout=30, what="pkg01 in the fleet")
        self.assertTrue(os.path.exists(STATE + "/hostpulse-web.db"))

        p = sh([INIT, "reload"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        hp.wait_for(lambda: self._serving(base), timeout=30, what="serving after reload")
        self.assertEqual(self.read_pid(), pid, "reload must not restart")

        p = sh([INIT, "stop"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        hp.wait_for(lambda: not pid_alive(pid), timeout=30, what="hostpulse-web to exit")

        sh(["dpkg", "--purge", PKG], check=True, timeout=120)
        for path in (STATE, CONF, INIT, "/etc/default/hostpulse-web", PIDFILE,
                     "/usr/sbin/hostpulse-web"):
            self.assertFalse(os.path.exists(path), path + " left after purge")
        self.assertRaises(KeyError, pwd.getpwnam, "hostpulse-web")
        # the agent's configuration, when there is one, is not ours to remove
        self.assertEqual(os.path.exists("/etc/hostpulse/hostpulse.conf"), agent_conf_before)

    def _serving(self, base):
        try:
            return self.get(base, "/api/stats")[0] == 200
        except OSError:
            return False


if __name__ == "__main__":
    unittest.main()
