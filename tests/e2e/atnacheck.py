"""atnacheck.py: the ATNA exporter against a real rsyslog (issue #6 must-show 4).

A CA, a server certificate for 127.0.0.1 and a client certificate are made
with openssl; rsyslog is started on loopback with TLS (its ossl driver,
client certificates required) writing what it receives to a file. Vault
commands produce audit events; `pacsvault ledger export` sends them. Every
message must validate against the PS3.15 A.5 schema (xmllint --relaxng)
and rsyslog must receive every event exactly once, in ledger order, also
those produced while it was stopped. A collector whose certificate is not
signed by the given CA is refused and nothing counts as delivered.
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish, free_port  # noqa: E402

PV = os.environ["PV"]
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")
HERE = os.path.dirname(os.path.abspath(__file__))
RNG = os.path.join(HERE, "..", "data", "audit-message.rng")


def run(args, ok=(0,), **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode, p.stderr.decode()[-600:]))
    return p


def pv(args, ok=(0,)):
    return run([PV] + args, ok=ok)


def make_pki(d):
    os.makedirs(d, exist_ok=True)
    o = lambda *a: run(["openssl"] + list(a))
    o("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      "-subj", "/CN=pacsvault test CA", "-keyout", d + "/ca.key", "-out", d + "/ca.pem")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
          "-keyout", "%s/%s.key" % (d, name), "-out", "%s/%s.csr" % (d, name))
        with open("%s/%s.ext" % (d, name), "w") as f:
            f.write(ext + "\n")
        o("x509", "-req", "-in", "%s/%s.csr" % (d, name), "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
          "-CAcreateserial", "-days", "2", "-extfile", "%s/%s.ext" % (d, name), "-out", "%s/%s.pem" % (d, name))
    # Another CA, to be refused.
    o("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      "-subj", "/CN=someone else", "-keyout", d + "/other.key", "-out", d + "/other.pem")


class Rsyslog:
    def __init__(self, root, pki, port):
        self.root, self.port = root, port
        self.out = os.path.join(root, "received.log")
        os.makedirs(os.path.join(root, "work"), exist_ok=True)
        self.conf = os.path.join(root, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write('''global(workDirectory="%(root)s/work" maxMessageSize="256k"
  defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="%(pki)s/ca.pem"
  defaultNetstreamDriverCertFile="%(pki)s/server.pem" defaultNetstreamDriverKeyFile="%(pki)s/server.key")
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
input(type="imtcp" port="%(port)d" address="127.0.0.1")
template(name="atna" type="list") {
  property(name="msgid") constant(value=" ") property(name="structured-data") constant(value=" ")
  property(name="msg") constant(value="\\n")
}
action(type="omfile" file="%(out)s" template="atna" flushOnTXEnd="on" asyncWriting="off")
''' % {"root": root, "pki": pki, "port": port, "out": self.out})
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", self.conf, "-i", os.path.join(self.root, "pid")],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.root, "rsyslog.err"), "ab"))
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
            self.proc = None

    def received(self):
        if not os.path.exists(self.out):
            return []
        rows = []
        for line in open(self.out, encoding="utf-8", errors="replace"):
            m = re.match(r'(\S+) \[ledger@32473 origin="([^"]*)" index="(\d+)"\] ?(.*)$', line.rstrip("\n"))
            if m is None and " size=" in line:
                continue   # a checkpoint (checkpoints() reads those)
            rows.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)) if m else ("?", "?", -1, line))
        return rows

    def checkpoints(self):
        """The signed checkpoints the collector got (MSGID PVCHECKPOINT): (size, note text)."""
        out = []
        if not os.path.exists(self.out):
            return out
        for line in open(self.out, encoding="utf-8", errors="replace"):
            m = re.match(r'PVCHECKPOINT \[ledger@32473 origin="([^"]*)" size="(\d+)"\] ?(.*)$', line.rstrip("\n"))
            if m:
                # rsyslog writes the note's line feeds as #012
                out.append((int(m.group(2)), m.group(3).lstrip("\ufeff").replace("#012", "\n")))
        return out


def wait_for(r, n, secs=15):
    for _ in range(int(secs * 20)):
        if len(r.received()) >= n:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    return r.received()


def audit_count(vault):
    p = pv(["ledger", "show", os.path.join(vault, "ledger")])
    return sum(1 for line in p.stdout.decode().splitlines() if "not an audit event" not in line)


def validate(root, rows):
    bad = 0
    for k, row in enumerate(rows):
        xml = row[3].lstrip("\ufeff")
        path = os.path.join(root, "msg.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(xml)
        p = subprocess.run(["xmllint", "--noout", "--relaxng", RNG, path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            bad += 1
            if bad == 1:
                print("invalid message %d: %s" % (k, p.stderr.decode()[-300:]))
    return bad


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    # The validator itself: a message of the standard's shape passes, a broken one does not.
    good = subprocess.run(["xmllint", "--noout", "--relaxng", RNG, os.path.join(HERE, "..", "data",
                                                                                "audit-example-110106.xml")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).returncode == 0
    brk = os.path.join(root, "broken.xml")
    with open(brk, "w") as f:
        f.write('<AuditMessage><EventIdentification EventDateTime="x" EventOutcomeIndicator="3"/></AuditMessage>')
    badv = subprocess.run(["xmllint", "--noout", "--relaxng", RNG, brk], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE).returncode != 0
    check(good and badv, "the schema check accepts the standard's example and refuses a broken message")

    pki = os.path.join(root, "pki")
    make_pki(pki)
    vault = os.path.join(root, "vault")
    pv(["vault", "init", vault])
    files = sorted(glob.glob(os.path.join(DATA, "test_files", "*.dcm")))[:30]
    pv(["import", "--vault", vault] + files, ok=(0, 1))
    pv(["find", "--vault", vault, "PatientName=*"])
    port = free_port()
    r = Rsyslog(os.path.join(root, "rsyslog"), pki, port)
    check(r.start(), "rsyslog started on 127.0.0.1:%d with TLS (client certificates required)" % port)
    to = "127.0.0.1:%d" % port
    tls = ["--ca", pki + "/ca.pem", "--cert", pki + "/client.pem", "--key", pki + "/client.key"]

    # A collector signed by another CA: refused, nothing counted as delivered.
    p = pv(["ledger", "export", "--vault", vault, "--to", to, "--ca", pki + "/other.pem",
            "--cert", pki + "/client.pem", "--key", pki + "/client.key"], ok=(1,))
    check(b"does not verify" in p.stderr and not os.path.exists(os.path.join(vault, "ledger", "export.cursor")),
          "a collector whose certificate another CA signed is refused (%s)" % p.stderr.decode().strip()[-80:])

    n1 = audit_count(vault)
    p = pv(["ledger", "export", "--vault", vault, "--to", to] + tls)
    rows = wait_for(r, n1)
    idx = [x[2] for x in rows]
    check(idx == list(range(n1)) and all(x[0] == "DICOM+RFC3881" for x in rows),
          "rsyslog received the %d events once each, in ledger order, MSGID DICOM+RFC3881 (%d lines)" % (n1, len(rows)))
    check(validate(root, rows) == 0, "every received message validates against the PS3.15 A.5 schema")
    p = pv(["ledger", "export", "--vault", vault, "--to", to] + tls)
    check(b"0 events sent" in p.stderr and len(wait_for(r, n1, 1)) == n1, "exported again: nothing is sent twice")

    # The collector goes down; events accumulate; nothing is lost.
    r.stop()
    pv(["get", "--vault", vault, pv(["find", "--vault", vault, "--json", "--level", "IMAGE"]).stdout.decode()
        .split('"SOPInstanceUID":"')[1].split('"')[0], "-o", os.path.join(root, "one.dcm")])
    more = sorted(glob.glob(os.path.join(DATA, "test_files", "*.dcm")))[30:45]
    pv(["import", "--vault", vault] + more, ok=(0, 1))
    p = pv(["ledger", "export", "--vault", vault, "--to", to] + tls, ok=(1,))
    cur = open(os.path.join(vault, "ledger", "export.cursor")).read()
    check(b"cannot connect" in p.stderr and ("next %d\n" % n1) in cur,
          "while rsyslog is down the export fails and the cursor stays at %d" % n1)
    n2 = audit_count(vault)
    check(r.start(), "rsyslog started again")
    pv(["ledger", "export", "--vault", vault, "--to", to, "--batch", "7"] + tls)
    rows = wait_for(r, n2)
    idx = [x[2] for x in rows]
    check(idx == list(range(n2)) and n2 > n1,
          "after the outage every event (%d, %d of them produced while it was down) arrived exactly once, "
          "in order" % (n2, n2 - n1))
    check(validate(root, rows[n1:]) == 0, "the messages sent after the outage validate too")
    # Only pseudonyms: no Patient ID of the imported files in what the collector got.
    import pydicom
    pids = {str(pydicom.dcmread(f, stop_before_pixels=True, force=True).get("PatientID", "")).strip()
            for f in files + more}
    pids = {x for x in pids if len(x) >= 4}
    blob = open(r.out, encoding="utf-8", errors="replace").read()
    check(pids and not any(x in blob for x in pids), "no Patient ID reaches the collector (%d checked)" % len(pids))
    # With the events, the ledger's signed checkpoints: the collector holds them outside the vault.
    cps = r.checkpoints()
    cpf = os.path.join(root, "collected-checkpoints.txt")
    with open(cpf, "w") as f:
        f.write("\n".join(n for _, n in cps) + "\n")
    p = pv(["ledger", "verify", os.path.join(vault, "ledger"), "--checkpoint", cpf], ok=(0, 1))
    check(len(cps) >= 2 and max(sz for sz, _ in cps) <= n2 and p.returncode == 0 and
          ("%d checkpoints held outside are in the log" % len(cps)).encode() in p.stdout,
          "the collector also got %d signed checkpoints (MSGID PVCHECKPOINT), and the ledger verifies "
          "against them: %s" % (len(cps), p.stdout.decode().strip()))
    r.stop()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
