# SPDX-License-Identifier: Apache-2.0
# test_package.py -- the Debian package end to end: `make deb` builds it,
# lintian finds nothing, the systemd unit verifies, and on this machine
# dpkg -i installs it (user, modes, conffiles), the SysV script starts the
# agent as user hostpulse writing CSV files, reloads and stops it, an
# upgrade keeps an edited conffile, and dpkg --purge leaves nothing behind.
# Needs root and dpkg-buildpackage; the package is purged in cleanup even
# when a test fails.
# hp: slow
import glob
import grp
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

import tests.integration.hp as hp

PKG = "hostpulse"
CONF = "/etc/hostpulse/hostpulse.conf"
INIT = "/etc/init.d/hostpulse"
PIDFILE = "/run/hostpulse.pid"
STATE = "/var/lib/hostpulse"
CSV = STATE + "/csv"
UNIT = os.path.join(hp.ROOT, "init", "hostpulse.service")

# The installed configuration the test runs with: fast agent samples into
# CSV files under the state directory; uptime is switched on by a reload.
RUN_CONF = """
agent: { description = "package test"; };
reporters: {
  agent: { interval = 0.2; };
  uptime: { enabled = %s; interval = 0.2; };
};
sinks = ( { type = "csv"; directory = "%s"; } );
""" % ("%s", CSV)


def sh(args, timeout=300, check=False, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout * hp.SLOW, env=e)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(args), p.returncode, p.stdout,
                                                      p.stderr))
    return p


def package_state():
    p = sh(["dpkg-query", "-W", "-f=${Status}", PKG])
    return p.stdout.strip() if p.returncode == 0 else ""


def pid_alive(pid):
    # A zombie is dead: the daemon is not our child, and whoever reaps
    # orphans here (PID 1) may do it a little later.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


class PackageTest(unittest.TestCase):
    deb = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: installs the package with dpkg -i")
        for tool in ("dpkg-buildpackage", "dh", "lintian", "start-stop-daemon"):
            if not shutil.which(tool):
                raise unittest.SkipTest("%s is missing (make deps installs it)" % tool)
        if package_state():
            raise unittest.SkipTest("a hostpulse package is installed on this machine (%s); "
                                    "the test would purge it" % package_state())
        # lintian runs in its own test, so a finding fails one test only.
        p = sh(["make", "-C", hp.ROOT, "deb"], timeout=1200, env={"LINTIAN": "0"})
        if p.returncode != 0:
            raise AssertionError("make deb failed:\n%s%s" % (p.stdout[-3000:], p.stderr[-3000:]))
        debs = glob.glob(os.path.join(hp.ROOT, "dist", "hostpulse_*.deb"))
        if len(debs) != 1:
            raise AssertionError("make deb left %r in dist/" % debs)
        cls.deb = debs[0]

    def test_lintian_clean(self):
        p = sh(["lintian", "--fail-on", "error,warning", self.deb])
        findings = [l for l in p.stdout.splitlines() if re.match(r"^[EW]: ", l)]
        self.assertEqual(findings, [], p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_unit_verifies(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is missing")
        # The unit as shipped, with ExecStart pointing at the built binary;
        # the man pages are checked once installed (test_install_...).
        with open(UNIT) as f:
            text = f.read()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "hostpulse.service")
            with open(path, "w") as f:
                f.write(text.replace("/usr/sbin/hostpulse", hp.BIN))
            p = sh(["systemd-analyze", "verify", "--man=no", path])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout + p.stderr, "")

    def test_unit_settings(self):
        with open(UNIT) as f:
            keys = {}
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.rstrip("\n").split("=", 1)
                    keys.setdefault(k, []).append(v)
        want = {"Type": "notify", "User": "hostpulse", "Restart": "on-failure",
                "ExecReload": "/bin/kill -HUP $MAINPID", "NoNewPrivileges": "yes",
                "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                "ReadWritePaths": "/var/lib/hostpulse", "CapabilityBoundingSet": ""}
        for k, v in want.items():
            self.assertEqual(keys.get(k), [v], k)
        self.assertIn("WatchdogSec", keys)
        self.assertEqual(sorted(keys["RestrictAddressFamilies"][0].split()),
                         ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"])
        # /proc must stay visible: the process reporter reads other processes.
        self.assertNotIn("ProtectProc", keys)
        self.assertNotIn("ProcSubset", keys)

    def test_maintainer_scripts(self):
        # Upgrades restart the service and removal stops it, for both init
        # systems (debhelper's snippets; this machine's policy-rc.d may
        # forbid invoke-rc.d from acting, so the scripts are read here).
        with tempfile.TemporaryDirectory() as d:
            sh(["dpkg-deb", "-e", self.deb, d], check=True)
            scripts = {}
            for name in ("postinst", "prerm", "postrm"):
                with open(os.path.join(d, name)) as f:
                    scripts[name] = f.read()
            fields = sh(["dpkg-deb", "-f", self.deb, "Depends"], check=True).stdout
        self.assertIn("_dh_action=restart", scripts["postinst"])
        self.assertRegex(scripts["postinst"], r"invoke-rc.d .*hostpulse \$_dh_action")
        self.assertRegex(scripts["postinst"], r"deb-systemd-invoke \$_dh_action .hostpulse.service")
        self.assertRegex(scripts["prerm"], r"invoke-rc.d .*hostpulse stop")
        self.assertRegex(scripts["prerm"], r"deb-systemd-invoke stop .hostpulse.service")
        self.assertIn("libconfig9", fields)  # ${shlibs:Depends} filled in
        self.assertIn("librabbitmq4", fields)  # ... from the modules too

    # ---- on this machine ------------------------------------------------

    def cleanup_install(self):
        # Runs even when the test failed half way: stop what we started,
        # then purge.
        pid = self.read_pid()
        if os.path.exists(INIT):
            sh([INIT, "stop"], timeout=60)
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        if package_state():
            sh(["dpkg", "--purge", PKG], timeout=120)

    def read_pid(self):
        try:
            with open(PIDFILE) as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def assertMode(self, path, mode, user, group):
        st = os.stat(path)
        got = (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
               grp.getgrgid(st.st_gid).gr_name)
        self.assertEqual(got, (mode, user, group), "%s: mode %o owner %s:%s" % ((path,) + got))

    def write_conf(self, text):
        # The file exists (0640 root:hostpulse): truncating keeps its mode.
        with open(CONF, "w") as f:
            f.write(text)

    def test_install_run_reload_upgrade_purge(self):
        self.addCleanup(self.cleanup_install)
        # A state directory left by an agent run as root before the package
        # was installed: postinst must take it over.
        os.makedirs(os.path.join(STATE, "spool"), exist_ok=True)
        sh(["dpkg", "-i", self.deb], check=True)
        self.check_installed_files()
        self.check_user()

        p = sh(["/usr/sbin/hostpulse", "-c", CONF, "--check"])
        self.assertEqual(p.returncode, 0, p.stderr)
        # The group can read the configuration, other users cannot.
        p = sh(["runuser", "-u", "hostpulse", "--", "/usr/sbin/hostpulse", "-c", CONF, "--check"])
        self.assertEqual(p.returncode, 0, p.stderr)
        p = sh(["runuser", "-u", "nobody", "--", "/usr/sbin/hostpulse", "-c", CONF, "--check"])
        self.assertNotEqual(p.returncode, 0, "nobody could read " + CONF)
        if shutil.which("systemd-analyze"):
            # The installed unit, real binary and man pages in place.
            p = sh(["systemd-analyze", "verify", "/lib/systemd/system/hostpulse.service"])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        self.start_failures()
        pid = self.start_and_produce()
        self.reload(pid)
        self.upgrade_keeps_conffile()
        self.stop()
        self.purge()

    def check_installed_files(self):
        self.assertMode("/usr/sbin/hostpulse", 0o755, "root", "root")
        self.assertMode(CONF, 0o640, "root", "hostpulse")
        self.assertMode("/etc/hostpulse/conf.d", 0o750, "root", "hostpulse")
        self.assertMode(STATE, 0o750, "hostpulse", "hostpulse")
        self.assertMode(INIT, 0o755, "root", "root")
        self.assertMode("/etc/default/hostpulse", 0o644, "root", "root")
        for path in ("/lib/systemd/system/hostpulse.service",
                     "/usr/share/man/man8/hostpulse.8.gz",
                     "/usr/share/man/man5/hostpulse.conf.5.gz",
                     "/usr/share/hostpulse/schema/message.schema.json",
                     "/usr/share/doc/hostpulse/copyright"):
            self.assertTrue(os.path.isfile(path), path)
        # Every example config, and the templates present at build time.
        for path in glob.glob(os.path.join(hp.ROOT, "etc", "*.conf")):
            name = os.path.basename(path)
            if name not in ("hostpulse.conf", "web.conf"):  # web.conf: hostpulse-web's
                self.assertTrue(glob.glob("/usr/share/doc/hostpulse/examples/%s*" % name), name)
        for path in glob.glob(os.path.join(hp.ROOT, "etc", "*.json")):
            self.assertTrue(os.path.isfile("/usr/share/hostpulse/" + os.path.basename(path)), path)
        # The broker and database sinks are modules the installed agent finds
        # in its own directory, not in a build tree.
        for name in ("amqp", "kafka", "mysql", "elasticsearch"):
            self.assertMode("/usr/lib/hostpulse/modules/%s.so" % name, 0o644, "root", "root")
        p = sh(["/usr/sbin/hostpulse", "--help-config"], check=True)
        self.assertNotIn("not available", p.stdout)
        self.assertIn("brokers (strings)", p.stdout)  # from kafka.so
        with open(CONF) as f, open(os.path.join(hp.ROOT, "etc", "hostpulse.conf")) as g:
            self.assertEqual(f.read(), g.read())
        conffiles = sh(["dpkg-query", "-W", "-f=${Conffiles}", PKG], check=True).stdout
        for path in (CONF, "/etc/default/hostpulse", INIT):
            self.assertIn(path + " ", conffiles)

    def check_user(self):
        u = pwd.getpwnam("hostpulse")
        self.assertEqual((u.pw_dir, u.pw_shell), (STATE, "/usr/sbin/nologin"))
        self.assertLess(u.pw_uid, 1000, "a system user")
        self.assertEqual(grp.getgrgid(u.pw_gid).gr_name, "hostpulse")

    def start_failures(self):
        # A fragment the service user cannot read is caught by the script's
        # check (it runs as hostpulse), before anything starts: the agent
        # reads every conf.d/*.conf itself.
        frag = "/etc/hostpulse/conf.d/sinks.conf"
        with open(frag, "w") as f:
            f.write('sinks = ( { type = "stdout"; } );\n')
        os.chmod(frag, 0o600)
        self.write_conf(RUN_CONF % "false")
        sh([INIT, "stop"], check=True)
        p = sh([INIT, "start"])
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(frag + ":0: cannot open configuration: Permission denied",
                      p.stdout + p.stderr)
        self.assertFalse(os.path.exists(PIDFILE))
        os.unlink(frag)
        # An agent that exits before READY=1 (a bad option here): start
        # fails after START_TIMEOUT and leaves no pid file behind.
        with open("/etc/default/hostpulse") as f:
            default = f.read()
        with open("/etc/default/hostpulse", "a") as f:
            f.write('DAEMON_ARGS="--no-such-option"\nSTART_TIMEOUT=2\n')
        self.write_conf(RUN_CONF % "false")
        try:
            p = sh([INIT, "start"])
        finally:
            with open("/etc/default/hostpulse", "w") as f:
                f.write(default)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(PIDFILE))

    def start_and_produce(self):
        self.write_conf(RUN_CONF % "false")
        # postinst may already have started it (no policy-rc.d): begin clean.
        sh([INIT, "stop"], check=True)
        # Start from an empty state; the script re-creates the directory.
        shutil.rmtree(STATE)
        p = sh([INIT, "start"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertMode(STATE, 0o750, "hostpulse", "hostpulse")
        pid = self.read_pid()
        self.assertTrue(pid and pid_alive(pid), "no process for pid file %s" % pid)
        with open("/proc/%d/status" % pid) as f:
            uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)", f.read(), re.M).groups()
        self.assertEqual({int(x) for x in uids}, {pwd.getpwnam("hostpulse").pw_uid})
        self.assertEqual(os.readlink("/proc/%d/exe" % pid), "/usr/sbin/hostpulse")
        self.assertEqual(sh([INIT, "status"]).returncode, 0)
        # The CSV file grows while it runs.
        agent_csv = CSV + "/agent.csv"
        hp.wait_for(lambda: len(lines(agent_csv)) >= 3, what="rows in " + agent_csv)
        n = len(lines(agent_csv))
        hp.wait_for(lambda: len(lines(agent_csv)) > n, what=agent_csv + " to grow")
        self.assertTrue(lines(agent_csv)[0].startswith("ts [epoch_ms],host,session,seq,"))
        self.assertEqual(pwd.getpwuid(os.stat(agent_csv).st_uid).pw_name, "hostpulse")
        return pid

    def reload(self, pid):
        uptime_csv = CSV + "/uptime.csv"
        self.assertFalse(os.path.exists(uptime_csv))
        self.write_conf(RUN_CONF % "true")
        p = sh([INIT, "reload"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        hp.wait_for(lambda: len(lines(uptime_csv)) >= 2, what="uptime rows after reload")
        self.assertEqual(self.read_pid(), pid, "reload must not restart")
        # A broken file is refused by the script; the agent keeps running.
        self.write_conf("agent: { bogus = 1; };\n")
        p = sh([INIT, "reload"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("bogus", p.stdout + p.stderr)
        self.assertTrue(pid_alive(pid))
        self.write_conf(RUN_CONF % "true")

    def upgrade_keeps_conffile(self):
        # Installing the same version again runs the upgrade paths of the
        # maintainer scripts; the admin's edit of the conffile survives.
        sh(["dpkg", "-i", self.deb], check=True)
        with open(CONF) as f:
            self.assertEqual(f.read(), RUN_CONF % "true")
        self.assertMode(CONF, 0o640, "root", "hostpulse")
        self.assertMode("/etc/hostpulse/conf.d", 0o750, "root", "hostpulse")
        pid = self.read_pid()
        self.assertTrue(pid and pid_alive(pid), "not running after the upgrade")

    def stop(self):
        pid = self.read_pid()
        p = sh([INIT, "stop"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(pid)
        # start-stop-daemon returns once /proc/PID/exe is gone; the last
        # threads may take a moment more to exit.
        hp.wait_for(lambda: not pid_alive(pid), timeout=10, what="pid %d to exit" % pid)
        self.assertFalse(os.path.exists(PIDFILE))
        self.assertEqual(sh([INIT, "status"]).returncode, 3)

    def purge(self):
        sh(["dpkg", "--purge", PKG], check=True)
        self.assertEqual(package_state(), "")
        for path in ("/etc/hostpulse", STATE, "/etc/default/hostpulse", INIT, PIDFILE,
                     "/usr/sbin/hostpulse", "/lib/systemd/system/hostpulse.service",
                     "/etc/systemd/system/multi-user.target.wants/hostpulse.service"):
            self.assertFalse(os.path.lexists(path), path + " left behind")
        self.assertEqual(glob.glob("/etc/rc?.d/*hostpulse"), [])
        with self.assertRaises(KeyError):
            pwd.getpwnam("hostpulse")
        with self.assertRaises(KeyError):
            grp.getgrnam("hostpulse")
        overrides = sh(["dpkg-statoverride", "--list"]).stdout
        self.assertNotIn("hostpulse", overrides)


# Files that name installed paths; every such path must exist in `make
# install`'s tree (the package's content, man pages gzipped by dh_compress).
DOCS_NAMING_PATHS = ["etc/hostpulse.conf", "etc/dev.conf", "README.md", "docs/configuration.md",
                     "docs/packaging.md", "docs/process.md", "docs/temperature.md",
                     "docs/hostpulse.8", "docs/hostpulse.conf.5", "init/hostpulse.service",
                     "init/hostpulse.default", "init/hostpulse.init", "init/conf.d.README"]
INSTALLED_PREFIXES = ("/usr/", "/etc/hostpulse", "/etc/default/", "/etc/init.d/", "/lib/systemd/")
SINK_TYPES = ("amqp", "csv", "elasticsearch", "kafka", "mqtt", "mysql", "prometheus")


class InstalledPathsTest(unittest.TestCase):
    """Issue 16, item 12: every path the configuration, README, man pages and
    docs name under /usr, /etc or /lib/systemd is one `make install` (the
    package) puts there."""

    def test_named_paths_exist(self):
        with tempfile.TemporaryDirectory() as dest:
            p = sh(["make", "-s", "-C", hp.ROOT, "install", "DESTDIR=" + dest,
                    "BUILD=" + os.path.dirname(hp.BIN)], timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            missing = []
            for name in DOCS_NAMING_PATHS:
                with open(os.path.join(hp.ROOT, name)) as f:
                    text = f.read().replace("\\-", "-").replace("\\fR", "").replace("\\fP", "")
                for path in set(re.findall(r"(/[A-Za-z0-9_./<>*-]+)", text)):
                    path = path.rstrip(".,")
                    if (not path.startswith(INSTALLED_PREFIXES) or "*" in path
                            or "hostpulse" not in path or "hostpulse-web" in path
                            or (path.startswith("/etc/hostpulse/") and path.rstrip("/") not in
                                (CONF, "/etc/hostpulse/conf.d", "/etc/hostpulse/conf.d/README"))):
                        continue  # the system's, a glob, the other package's, the admin's
                    if path.endswith(".gz"):
                        path = path[:-3]
                    for t in (SINK_TYPES if ("<type>" in path or "TYPE" in path) else [None]):
                        q = path.replace("<type>", t).replace("TYPE", t) if t else path
                        src = os.path.join("etc" if "/examples/" in q else "docs",
                                           os.path.basename(q))
                        if t and not os.path.exists(os.path.join(hp.ROOT, src)):
                            continue  # not every type has a page and an example
                        if not (os.path.lexists(dest + q) or os.path.lexists(dest + q + ".gz")):
                            missing.append("%s names %s" % (name, q))
            self.maxDiff = None
            self.assertEqual(sorted(set(missing)), [])


if __name__ == "__main__":
    unittest.main()
