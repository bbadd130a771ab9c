"""witnesshttp.py: the ledger's witnesses over HTTP (issue #18, C2SP tlog-witness).

Two `pacsvault ledger witness serve` processes on loopback (one plain
HTTP, one HTTPS with a certificate made here), a log whose checkpoints
`ledger checkpoint --policy` has cosigned by both (a 2-of-2 quorum), a
witness that moved on answered with 409 and asked again from its size,
and a fork of the log (a copy with other entries) that cannot get both
cosignatures again.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish, free_port  # noqa: E402

PV = os.environ["PV"]


def run(args, ok=(0,), inp=None):
    p = subprocess.run([PV] + args, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if ok is not None and p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode, p.stderr.decode()[-600:]))
    return p


def openssl(*a):
    subprocess.run(["openssl"] + list(a), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Witness:
    def __init__(self, root, name, conf):
        self.log = open(os.path.join(root, name + ".log"), "w+b")
        self.p = subprocess.Popen([PV, "ledger", "witness", "serve", os.path.join(root, name), "--config", conf],
                                  stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline and b"listening on" not in self.text().encode():
            if self.p.poll() is not None:
                raise RuntimeError("witness did not start: " + self.text())
            time.sleep(0.05)

    def text(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=30)


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    # a CA and a certificate for 127.0.0.1 (the HTTPS witness)
    ca_key, ca = os.path.join(root, "ca.key"), os.path.join(root, "ca.crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=witness test CA", "-keyout", ca_key, "-out", ca)
    wk, wcsr, wcrt, ext = (os.path.join(root, n) for n in ("w2.key", "w2.csr", "w2.crt", "w2.ext"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=w2",
            "-keyout", wk, "-out", wcsr)
    open(ext, "w").write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", wcsr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-out", wcrt,
            "-extfile", ext)

    log = os.path.join(root, "log")
    log_vkey = run(["ledger", "init", log, "--origin", "test.example/witnessed"]).stdout.decode().strip()
    run(["ledger", "append", log], inp=b"".join(b"event %d\n" % i for i in range(20)))
    wv = {}
    for name in ("w1", "w2"):
        wv[name] = run(["ledger", "witness", "init", os.path.join(root, name), "--name",
                        name + ".example"]).stdout.decode().strip()
    p1, p2 = free_port(), free_port()
    c1, c2 = os.path.join(root, "w1.ini"), os.path.join(root, "w2.ini")
    open(c1, "w").write("[witness]\nlisten = 127.0.0.1:%d\nlogs = %s\ntimeout = 3\n" % (p1, log_vkey))
    open(c2, "w").write("[witness]\nlisten = 127.0.0.1:%d\ntls_cert = w2.crt\ntls_key = w2.key\nlogs = %s\n"
                        % (p2, log_vkey))
    bad = os.path.join(root, "bad.ini")
    open(bad, "w").write("[witness]\nlisten = 0.0.0.0:%d\nlogs = %s\n" % (free_port(), log_vkey))
    p = subprocess.run([PV, "ledger", "witness", "serve", os.path.join(root, "w1"), "--config", bad],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    check(p.returncode == 1 and b"not on loopback and TLS is off" in p.stderr,
          "a witness refuses to listen off loopback without TLS")
    open(bad, "w").write("[witness]\nlisten = 127.0.0.1:1\nlogz = x\n")
    p = subprocess.run([PV, "ledger", "witness", "serve", os.path.join(root, "w1"), "--config", bad],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    check(p.returncode == 1 and b"line 3: unknown key 'logz'" in p.stderr, "an unknown key is named with its line")

    w1, w2 = Witness(root, "w1", c1), Witness(root, "w2", c2)
    policy = os.path.join(root, "policy")
    open(policy, "w").write("log %s\nwitness w1 %s http://127.0.0.1:%d\nwitness w2 %s https://127.0.0.1:%d/\n"
                            "group both all w1 w2\nquorum both\n" % (log_vkey, wv["w1"], p1, wv["w2"], p2))

    def checkpoint(d, ok=(0, 1)):
        return run(["ledger", "checkpoint", d, "--policy", policy, "--witness-ca", ca], ok=ok)

    p = checkpoint(log)
    out = p.stdout.decode()
    check(p.returncode == 0 and "w1.example" not in out and "w1 cosigned" in out and "w2 cosigned" in out and
          "quorum met" in out, "both witnesses cosign the first checkpoint over HTTP and HTTPS: 2-of-2 met")
    cos = open(os.path.join(log, "cosignatures")).read().splitlines()
    check(len(cos) == 2 and all(line.startswith("20\t") for line in cos), "both cosignatures are kept with size 20")
    run(["ledger", "append", log], inp=b"".join(b"event %d\n" % i for i in range(20, 30)))
    fork = os.path.join(root, "fork")
    shutil.copytree(log, fork)
    p = checkpoint(log)
    check(p.returncode == 0 and "quorum met" in p.stdout.decode(),
          "after more entries, both cosign again from the size they hold (the consistency proof checked)")
    check(w1.text().count(": 200") >= 2, "the witness logged its answers")
    # a bundle with the kept cosignatures verifies under the policy
    bundle = os.path.join(root, "bundle")
    open(bundle, "wb").write(run(["ledger", "prove", log, "--index", "3"]).stdout)
    ent = os.path.join(root, "entry")
    open(ent, "wb").write(run(["ledger", "entry", log, "--index", "3"]).stdout)
    p = run(["ledger", "verify-proof", bundle, "--policy", policy, "--entry", ent], ok=(0, 1))
    check(p.returncode == 0, "a proof bundle with both cosignatures meets the policy's quorum (%s)" %
          p.stderr.decode().strip()[-200:])

    # the fork: same key, same size, other entries; neither witness cosigns it
    run(["ledger", "append", fork], inp=b"forged 1\nforged 2\n")
    run(["ledger", "append", log], inp=b"event 30\nevent 31\n")
    p = checkpoint(log)
    check(p.returncode == 0, "the log goes on: cosigned at size 32")
    p = checkpoint(fork)
    err = p.stderr.decode()
    check(p.returncode == 1 and "quorum NOT met" in p.stdout.decode() and "(422)" in err,
          "a fork of the log (another tree at size 32) gets no cosignature: 422, quorum not met")
    # the protocol's refusals, by curl
    def post(port, path, body, scheme="http"):
        args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, "-X", "POST",
                "--data-binary", body, "%s://127.0.0.1:%d%s" % (scheme, port, path)]
        return subprocess.run(args, stdout=subprocess.PIPE, timeout=30).stdout.decode()

    check(post(p1, "/add-checkpoint", "garbage") == "400", "a malformed request: 400")
    check(post(p1, "/other", "x") == "404", "another path: 404")
    req = run(["ledger", "witness-request", log, "--old", "0"]).stdout
    reqf = os.path.join(root, "req")
    open(reqf, "wb").write(req)
    check(post(p2, "/add-checkpoint", "@" + reqf, "https") == "409", "a request from a size the witness is past: 409")
    other = os.path.join(root, "other")
    run(["ledger", "init", other, "--origin", "test.example/unknown"])
    run(["ledger", "append", other], inp=b"x\n")
    run(["ledger", "checkpoint", other])
    open(reqf, "wb").write(run(["ledger", "witness-request", other, "--old", "0"]).stdout)
    check(post(p1, "/add-checkpoint", "@" + reqf) == "404", "a log the witness does not know: 404")
    # slow: a request trickled past the timeout is cut off and the witness goes on
    import socket
    s = socket.create_connection(("127.0.0.1", p1), timeout=10)
    t0 = time.time()
    try:
        for c in b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\n":
            s.sendall(bytes([c]))
            time.sleep(0.2)
            if time.time() - t0 > 6:
                break
        s.settimeout(5)
        s.recv(100)
    except (OSError, socket.timeout):
        pass
    s.close()
    check(time.time() - t0 < 9 and post(p1, "/other", "x") == "404",
          "a request trickled past the witness's timeout is cut off; the witness still answers")
    check(w1.stop() == 0 and w2.stop() == 0, "both witnesses stop on SIGTERM")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
