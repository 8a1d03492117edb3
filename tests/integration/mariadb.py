# SPDX-License-Identifier: Apache-2.0
"""mariadb.py -- a private MariaDB server for the integration tests.

Debian's mariadbd on 127.0.0.1 with a free port, a temporary datadir and
socket, and grants kept (so a wrong password really fails). Root logs in
over the socket without a password; tests create their own users.

    db = MariaDB()           # raises unittest.SkipTest when not installed
    db.start()
    db.sql("SELECT 1")       # -> [["1"]]
    db.stop(); db.start()    # a restart keeps the data
    db.ca, db.other_ca       # with db.tls: the CA that signed the server's
                             # certificate (127.0.0.1), and one that did not
    db.cleanup()
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db")
CLIENT = shutil.which("mariadb")
OPENSSL = shutil.which("openssl")

# Small buffers: several helpers share two cores and little memory.
SERVER_OPTS = ["--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
               "--performance-schema=OFF", "--skip-log-bin", "--max-connections=50"]


class MariaDB:
    def __init__(self):
        if not (os.access(MARIADBD, os.X_OK) and INSTALL_DB and CLIENT):
            raise unittest.SkipTest("mariadb-server / mariadb-client not installed")
        self.dir = tempfile.mkdtemp(prefix="hp-mariadb-")
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.errlog = os.path.join(self.dir, "error.log")
        self.port = hp.free_port()
        self.proc = None
        self.tls = self._make_certs()
        p = subprocess.run([INSTALL_DB, "--no-defaults", "--datadir=" + self.datadir,
                            "--auth-root-authentication-method=normal", "--user=root",
                            "--skip-test-db"] + SERVER_OPTS,
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            self.cleanup()
            raise AssertionError("mariadb-install-db failed:\n" + p.stdout + p.stderr)

    def start(self, timeout=60):
        self.proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", "--datadir=" + self.datadir, "--socket=" + self.socket,
             "--port=%d" % self.port, "--bind-address=127.0.0.1", "--user=root",
             "--pid-file=" + os.path.join(self.dir, "mysqld.pid"),
             "--log-error=" + self.errlog] + SERVER_OPTS + self.tls_opts(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout * hp.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("mariadbd exited:\n" + self.log_tail())
            if self._client(["-e", "SELECT 1"], check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise AssertionError("mariadbd did not accept connections:\n" + self.log_tail())

    def _make_certs(self):
        """A CA, a server certificate for 127.0.0.1 signed by it, and a second
        CA that did not sign it. False when openssl is missing."""
        if not OPENSSL:
            return False
        d = self.dir
        ext = os.path.join(d, "san.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        steps = [
            ["req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                                      "-subj", "/CN=hostpulse test CA"],
            ["req", "-x509"] + key + ["-keyout", "other-ca.key", "-out", "other-ca.pem",
                                      "-days", "2", "-subj", "/CN=another CA"],
            ["req"] + key + ["-keyout", "server.key", "-out", "server.csr",
                             "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", ext],
        ]
        for args in steps:
            p = subprocess.run([OPENSSL] + args, cwd=d, capture_output=True, text=True,
                               timeout=60)
            if p.returncode != 0:
                raise AssertionError("openssl %s: %s" % (args[0], p.stderr))
        self.ca = os.path.join(d, "ca.pem")
        self.other_ca = os.path.join(d, "other-ca.pem")
        return True

    def tls_opts(self):
        if not self.tls:
            return []
        return ["--ssl-ca=" + self.ca, "--ssl-cert=" + os.path.join(self.dir, "server.pem"),
                "--ssl-key=" + os.path.join(self.dir, "server.key")]

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stop the server (SIGTERM: clean shutdown; SIGKILL: a crash)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout * hp.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=20):
        try:
            with open(self.errlog) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no error log)"

    def _client(self, args, check=True, database=None):
        cmd = [CLIENT, "--no-defaults", "--socket=" + self.socket, "--user=root",
               "--default-character-set=utf8mb4",
               "--batch", "--raw", "--skip-column-names"]
        if database:
            cmd.append("--database=" + database)
        p = subprocess.run(cmd + args, capture_output=True, text=True, timeout=60 * hp.SLOW)
        if check and p.returncode != 0:
            raise AssertionError("mariadb %s: %s" % (" ".join(args)[:200], p.stderr))
        return p

    def sql(self, query, database=None):
        """Run query as root; rows as lists of strings (NULL -> None)."""
        out = self._client(["-e", query], database=database).stdout
        return [[None if v == "NULL" else v for v in line.split("\t")]
                for line in out.splitlines()]

    def source(self, path, database):
        """Run an SQL file in database."""
        with open(path) as f:
            text = f.read()
        p = subprocess.run([CLIENT, "--no-defaults", "--socket=" + self.socket, "--user=root",
                            "--default-character-set=utf8mb4",
                            "--database=" + database],
                           input=text, capture_output=True, text=True, timeout=60 * hp.SLOW)
        if p.returncode != 0:
            raise AssertionError("mariadb < %s: %s" % (path, p.stderr))

    def create_user(self, user, password, databases, require="", privileges="ALL"):
        """A user allowed from 127.0.0.1 and localhost on the given databases
        (which need not exist); require: "" or e.g. "REQUIRE SSL"."""
        stmts = []
        for h in ("127.0.0.1", "localhost"):
            stmts.append("CREATE USER '%s'@'%s' IDENTIFIED BY '%s' %s"
                         % (user, h, password, require))
            for d in databases:
                stmts.append("GRANT %s ON `%s`.* TO '%s'@'%s'" % (privileges, d, user, h))
        self.sql(";".join(stmts))

    def set_password(self, user, password):
        self.sql(";".join("ALTER USER '%s'@'%s' IDENTIFIED BY '%s'" % (user, h, password)
                          for h in ("127.0.0.1", "localhost")))
