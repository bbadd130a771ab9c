"""servecheck.py: `pacsvault serve` with dcmtk's echoscu and storescu (issue #17).

Everything on loopback, certificates made here with openssl, every file
synthetic or from python3-pydicom's test data.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish, free_port  # noqa: E402

PV = os.environ["PV"]
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")
CT = os.path.join(DATA, "test_files", "CT_small.dcm")
MR = os.path.join(DATA, "test_files", "MR_small.dcm")


def run(args, ok=(0,), **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    if ok is not None and p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode, p.stderr.decode()[-800:]))
    return p


def make_pki(d):
    o = lambda *a: run(["openssl"] + list(a))
    o("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      "-subj", "/CN=pacsvault test CA", "-keyout", d + "/ca.key", "-out", d + "/ca.crt")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("ct", "extendedKeyUsage=clientAuth"),
                      ("stranger", "extendedKeyUsage=clientAuth")):
        o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
          "-keyout", "%s/%s.key" % (d, name), "-out", "%s/%s.csr" % (d, name))
        with open("%s/%s.ext" % (d, name), "w") as f:
            f.write(ext + "\n")
        o("x509", "-req", "-in", "%s/%s.csr" % (d, name), "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
          "-CAcreateserial", "-days", "2", "-out", "%s/%s.crt" % (d, name), "-extfile", "%s/%s.ext" % (d, name))


def assoc_rq(called, calling, user, secret, id_type=2):
    """An A-ASSOCIATE-RQ (PS3.8 9.3.2) proposing Verification, with User Identity (type 2: name and passcode)."""
    import struct
    item = lambda t, v: bytes([t, 0]) + struct.pack(">H", len(v)) + v
    pc = item(0x20, bytes([1, 0, 0, 0]) + item(0x30, b"1.2.840.10008.1.1") + item(0x40, b"1.2.840.10008.1.2"))
    ident = bytes([id_type, 0]) + struct.pack(">H", len(user)) + user + struct.pack(">H", len(secret)) + secret
    ui = item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.3.4") + item(0x58, ident))
    body = struct.pack(">HH", 1, 0) + called.ljust(16) + calling.ljust(16) + bytes(32) + \
        item(0x10, b"1.2.840.10008.3.1.1.1") + pc + ui
    return bytes([1, 0]) + struct.pack(">I", len(body)) + body


def dataset_bytes(path):
    """What follows a Part 10 file's meta group (which DIMSE does not carry)."""
    b = open(path, "rb").read()
    assert b[128:132] == b"DICM" and b[132:136] == b"\x02\x00\x00\x00"
    return b[144 + int.from_bytes(b[140:144], "little"):]


def find_with_cancel(port, pki, user):
    """A raw association over TLS (client certificate of user) that sends a C-FIND-RQ at IMAGE level and, in
    the same write, a C-CANCEL-RQ for it; returns (pending responses, final status), or None."""
    import socket
    import ssl
    import struct
    item = lambda t, v: bytes([t, 0]) + struct.pack(">H", len(v)) + v
    pc = item(0x20, bytes([1, 0, 0, 0]) + item(0x30, b"1.2.840.10008.5.1.4.1.2.2.1") +
              item(0x40, b"1.2.840.10008.1.2.1"))
    ui = item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.3.4"))
    body = struct.pack(">HH", 1, 0) + b"PACSVAULT".ljust(16) + b"CANCELLER".ljust(16) + bytes(32) + \
        item(0x10, b"1.2.840.10008.3.1.1.1") + pc + ui
    rq = bytes([1, 0]) + struct.pack(">I", len(body)) + body

    def el(tag, v):   # implicit VR little endian (command sets)
        if len(v) % 2:
            v += b"\0"
        return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(v)) + v

    def cmd(elems):
        b = b"".join(elems)
        return el(0x00000000, struct.pack("<I", len(b))) + b

    def pdata(data, control):
        pdv = struct.pack(">I", len(data) + 2) + bytes([1, control]) + data
        return bytes([4, 0]) + struct.pack(">I", len(pdv)) + pdv

    def ex(tag, vr, v):   # explicit VR little endian (the identifier)
        if len(v) % 2:
            v += b" "
        return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", len(v)) + v

    find = cmd([el(0x00000002, b"1.2.840.10008.5.1.4.1.2.2.1"), el(0x00000100, struct.pack("<H", 0x0020)),
                el(0x00000110, struct.pack("<H", 7)), el(0x00000700, struct.pack("<H", 0)),
                el(0x00000800, struct.pack("<H", 0))])
    ident = ex(0x00080018, b"UI", b"") + ex(0x00080052, b"CS", b"IMAGE")
    cancel = cmd([el(0x00000100, struct.pack("<H", 0x0FFF)), el(0x00000120, struct.pack("<H", 7)),
                  el(0x00000800, struct.pack("<H", 0x0101))])
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
    ctx.load_cert_chain(os.path.join(pki, user + ".crt"), os.path.join(pki, user + ".key"))
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname="127.0.0.1")

    def read_pdu():
        h = b""
        while len(h) < 6:
            c = s.recv(6 - len(h))
            if not c:
                return None, None
            h += c
        n = struct.unpack(">I", h[2:6])[0]
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                return None, None
            b += c
        return h[0], b

    try:
        s.sendall(rq)
        t, _ = read_pdu()
        if t != 2:
            return None
        s.sendall(pdata(find, 3) + pdata(ident, 2) + pdata(cancel, 3))
        pending, final = 0, None
        while final is None:
            t, b = read_pdu()
            if t != 4:
                return None
            pos = 0
            while pos < len(b):
                n = struct.unpack(">I", b[pos:pos + 4])[0]
                control, data = b[pos + 5], b[pos + 6:pos + 4 + n]
                pos += 4 + n
                if control & 1:   # a command: its Status (0000,0900)
                    i = 0
                    while i < len(data):
                        g, e, ln = struct.unpack("<HHI", data[i:i + 8])
                        if (g, e) == (0, 0x0900):
                            st = struct.unpack("<H", data[i + 8:i + 10])[0]
                            if st in (0xFF00, 0xFF01):
                                pending += 1
                            else:
                                final = st
                        i += 8 + ln
        s.sendall(bytes([5, 0, 0, 0, 0, 4, 0, 0, 0, 0]))
        read_pdu()
        return pending, final
    except (OSError, ssl.SSLError, struct.error):
        return None
    finally:
        s.close()


class Server:
    def __init__(self, root, conf, va):
        self.log = open(os.path.join(root, "serve-%d.log" % time.time_ns()), "w+b")
        self.p = subprocess.Popen([PV, "serve", "--config", conf] + va, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.log.seek(0)
            if b"listening on" in self.log.read():
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("serve did not start: " + self.text())

    def text(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=60)


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    pki = os.path.join(root, "pki")
    os.makedirs(pki, exist_ok=True)
    make_pki(pki)
    mk = os.path.join(root, "master.key")
    vault = os.path.join(root, "vault")
    run([PV, "keygen", "--type", "master", "-o", mk])
    run([PV, "vault", "init", vault, "--master-key", mk])
    va = ["--vault", vault, "--master-key", mk]

    def events(code=None):
        out = json.loads(run([PV, "ledger", "show", "--json"] + va).stdout.decode())
        return [e for e in out if code is None or e["event"] == code]

    # --- the configuration
    def conf(name, text):
        p = os.path.join(root, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    p = run([PV, "serve", "--config", conf("typo.ini", "[server]\nae_title = PACSVAULT\ndimse = 127.0.0.1:1\n"
                                                        "\n# a comment\nmax_asociations = 4\n"), "--check"] + va, ok=(1,))
    check(b"typo.ini:6: unknown key 'max_asociations' in [server]" in p.stderr,
          "an unknown key is an error naming its file and line")
    p = run([PV, "serve", "--config", conf("port.ini", "[server]\ndimse = 127.0.0.1:99999\n"), "--check"] + va,
            ok=(1,))
    check(b"port.ini:2:" in p.stderr and b"host:port" in p.stderr, "a bad listener names its line")
    p = run([PV, "serve", "--config", conf("public.ini", "[server]\ndimse = 0.0.0.0:%d\n" % free_port())] + va,
            ok=(1,))
    err = p.stderr.decode()
    check("refusing to start" in err and "TLS is off" in err and "no users" in err and "anonymous" in err,
          "a listener off loopback without TLS, users and with anonymous echo is refused, each reason said")
    check(not os.path.exists(os.path.join(root, "nothing")), "(nothing started)")

    # --- plain TCP on loopback: anonymous echo only; a user with a secret may store
    port = free_port()
    plain = conf("plain.ini", "[server]\nae_title = PACSVAULT\ndimse = 127.0.0.1:%d   # loopback\n"
                              "max_associations_per_user = 1\n" % port)
    p = run([PV, "serve", "--config", plain, "--check"] + va)
    check(b"can start" in p.stdout, "serve --check accepts a loopback listener")
    run([PV, "user", "add", "ct-synthetic", "--role", "modality"] + va, input=b"synthetic-passcode-1\n")
    run([PV, "user", "add", "auditor-synthetic", "--role", "auditor"] + va, input=b"synthetic-passcode-2\n")
    lst = json.loads(run([PV, "user", "list", "--json"] + va).stdout.decode())
    check([u["name"] for u in lst] == ["ct-synthetic", "auditor-synthetic"] and all(u["secret"] is True for u in lst),
          "user list shows the users, that they have a secret, and never the secret")
    raw = b"".join(open(f, "rb").read() for f in glob.glob(os.path.join(vault, "*.pvo")))
    check(b"synthetic-passcode" not in raw and b"ct-synthetic" not in raw,
          "users.pvo is sealed: neither the names nor the secrets are in clear in the vault folder")
    p = run([PV, "user", "add", "ct-synthetic", "--role", "modality"] + va, ok=(1,), input=b"x\n")
    check(b"exists" in p.stderr, "a second user of the same name is refused")
    srv = Server(root, plain, va)
    p = run(["echoscu", "-aec", "PACSVAULT", "127.0.0.1", str(port)], ok=None)
    check(p.returncode == 0, "anonymous C-ECHO on loopback answers")
    p = run(["storescu", "-aec", "PACSVAULT", "127.0.0.1", str(port), CT], ok=None)
    check(p.returncode != 0, "an anonymous C-STORE is refused (no storage context accepted)")
    p = run(["storescu", "-aec", "PACSVAULT", "-usr", "ct-synthetic", "-pwd", "synthetic-passcode-1",
             "127.0.0.1", str(port), CT], ok=None)
    check(p.returncode == 0, "C-STORE with user name and passcode (User Identity Negotiation) is stored")
    p = run(["storescu", "-aec", "PACSVAULT", "-usr", "ct-synthetic", "-pwd", "wrong", "127.0.0.1", str(port), MR],
            ok=None)
    check(p.returncode != 0 and b"Rejected" in p.stderr, "a wrong passcode is rejected")
    p = run(["storescu", "-aec", "PACSVAULT", "-usr", "auditor-synthetic", "-pwd", "synthetic-passcode-2",
             "127.0.0.1", str(port), MR], ok=None)
    check(p.returncode != 0, "an auditor cannot store (no storage context accepted)")
    p = run(["echoscu", "-aec", "SOMEONE-ELSE", "127.0.0.1", str(port)], ok=None)
    check(p.returncode != 0, "a wrong called AE title is rejected")
    # a user name alone (User Identity type 1) proves nothing; a JWT (type 5) is not taken either
    for t, what in ((1, "a user name alone (identity type 1)"), (5, "a JWT (identity type 5)")):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(assoc_rq(b"PACSVAULT", b"SOMEONE", b"ct-synthetic", b"" if t == 1 else b"eyJhbGciOi.x.y", t))
        ans = c.recv(6)
        c.close()
        check(ans[:1] == b"\x03", "%s is rejected (A-ASSOCIATE-RJ)" % what)
    # a user's associations are capped: one held open here by hand, the next refused (transient)
    held = socket.create_connection(("127.0.0.1", port), timeout=10)
    held.sendall(assoc_rq(b"PACSVAULT", b"HOLDER", b"ct-synthetic", b"synthetic-passcode-1"))
    first = held.recv(6)
    p = run(["storescu", "-aec", "PACSVAULT", "-usr", "ct-synthetic", "-pwd", "synthetic-passcode-1",
             "127.0.0.1", str(port), MR], ok=None)
    held.close()
    check(first[:1] == b"\x02" and p.returncode != 0 and b"Rejected Transient" in p.stderr,
          "with max_associations_per_user = 1, a user's second association is rejected (transient) while the "
          "first is open")
    rc = srv.stop()
    log = srv.text()
    check(rc == 0 and "stopped" in log, "SIGTERM stops serve with status 0")
    check("synthetic-passcode" not in log and "CT1" not in log, "the server's log holds no secret and no patient value")
    got = os.path.join(root, "got")
    run([PV, "get", "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322", "-o", got] + va)   # CT_small's study
    files = [f for f in glob.glob(os.path.join(got, "**"), recursive=True) if os.path.isfile(f)]
    sent, orig = dataset_bytes(files[0]) if files else b"", dataset_bytes(CT)
    # storescu leaves out the file's Data Set Trailing Padding (FFFC,FFFC): all else is as in the file
    check(len(files) == 1 and len(sent) > 30000 and orig.startswith(sent) and
          orig[len(sent):len(sent) + 4] == b"\xfc\xff\xfc\xff",
          "the data set stored over C-STORE is byte for byte what storescu sent (the file's, without its "
          "trailing padding; the meta group is the receiver's, PS3.10 7.1)")
    ev = events()
    auth = [e for e in ev if e["event"] == 110114]
    ok_auth = [e for e in auth if e["outcome"] == 0]
    bad_auth = [e for e in auth if e["outcome"] == 4]
    check(len(ok_auth) >= 2 and len(bad_auth) >= 1, "authentications are audited, successes and the failure (%d, %d)"
          % (len(ok_auth), len(bad_auth)))
    imp = [e for e in ev if e["event"] == 110107]
    check(len(imp) == 1 and any(p_["user"] == "ct-synthetic" and p_["role"] == "modality" and p_["ae"] == "STORESCU"
                                for p_ in imp[0]["participants"]),
          "the Import event names the user, its role and its calling AE title")

    # --- TLS with pinned client certificates
    run([PV, "user", "add", "ct-cert", "--role", "modality", "--cert", os.path.join(pki, "ct.crt")] + va)
    tport = free_port()
    tls = conf("tls.ini", "[server]\nae_title = PACSVAULT\ndimse = 127.0.0.1:%d\ntls_cert = pki/server.crt\n"
                          "tls_key = pki/server.key\nanonymous = none\n" % tport)
    srv = Server(root, tls, va)
    tlsargs = ["+tls", os.path.join(pki, "ct.key"), os.path.join(pki, "ct.crt"), "+cf", os.path.join(pki, "ca.crt")]
    p = run(["echoscu", "-aec", "PACSVAULT"] + tlsargs + ["127.0.0.1", str(tport)], ok=None)
    check(p.returncode == 0, "C-ECHO over TLS with a pinned client certificate (dcmtk's BCP 195 profile)")
    p = run(["storescu", "-aec", "PACSVAULT"] + tlsargs + ["127.0.0.1", str(tport), MR], ok=None)
    check(p.returncode == 0, "C-STORE over TLS with a pinned client certificate")
    stranger = ["+tls", os.path.join(pki, "stranger.key"), os.path.join(pki, "stranger.crt"), "+cf",
                os.path.join(pki, "ca.crt")]
    p = run(["echoscu", "-aec", "PACSVAULT"] + stranger + ["127.0.0.1", str(tport)], ok=None)
    check(p.returncode != 0, "a certificate signed by the same CA but pinned to no user is rejected")
    p = run(["echoscu", "-aec", "PACSVAULT", "+tla", "+cf", os.path.join(pki, "ca.crt"), "127.0.0.1", str(tport)],
            ok=None)
    check(p.returncode != 0, "TLS without a client certificate is refused")
    p = run(["echoscu", "-aec", "PACSVAULT", "-to", "5", "127.0.0.1", str(tport)], ok=None)
    check(p.returncode != 0, "plain DICOM to the TLS port is refused")
    p = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % tport, "-tls1_1", "-cert", os.path.join(pki, "ct.crt"),
             "-key", os.path.join(pki, "ct.key")], ok=None, input=b"")
    check(p.returncode != 0, "TLS 1.1 is refused")
    rc = srv.stop()
    log = srv.text()
    check(rc == 0, "serve over TLS stops with status 0")
    check("TLSv1.3" in log or "TLSv1.2" in log, "the log says which TLS version each association used")
    ev = events(110114)
    fails = [e for e in ev if e["outcome"] == 4]
    whys = " ".join(o["detail"] or "" for e in fails for o in e["objects"])
    check("unknown certificate" in whys and "did not return a certificate" in whys and "wrong version" in whys,
          "the unknown certificate, the missing one and plaintext to TLS are each an audited failure")
    check("unsupported protocol" in whys, "the TLS 1.1 attempt reached the server and was refused there (audited)")
    run([PV, "user", "rm", "ct-cert"] + va)
    srv = Server(root, tls, va)
    p = run(["echoscu", "-aec", "PACSVAULT"] + tlsargs + ["127.0.0.1", str(tport)], ok=None)
    check(p.returncode != 0, "a removed user's certificate is refused at the next association")
    srv.stop()
    doctor(root, pki, va, tport)
    qr(root, pki, tls, tport)
    p = run([PV, "vault", "fsck"] + va, ok=None)
    check(p.returncode == 0, "vault fsck is clean after the server's stores")
    return finish()


def doctor(root, pki, va, tport):
    """pacsvault doctor: each unsafe item named, exit 0 only when there is none."""
    d = os.path.join(root, "doctor")
    os.makedirs(d)
    o = lambda *a: run(["openssl"] + list(a))
    o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=long",
      "-keyout", d + "/long.key", "-out", d + "/long.csr")
    o("x509", "-req", "-in", d + "/long.csr", "-CA", pki + "/ca.crt", "-CAkey", pki + "/ca.key", "-CAcreateserial",
      "-days", "400", "-out", d + "/long.crt")
    bad = os.path.join(d, "bad.ini")
    with open(bad, "w") as f:
        f.write("[server]\ndimse = 0.0.0.0:%d\ntls_cert = ../pki/server.crt\ntls_key = ../pki/server.key\n"
                "client_certificates = optional\n" % tport)
    os.chmod(os.path.join(pki, "server.key"), 0o644)
    p = run([PV, "doctor", "--config", bad] + va, ok=None)
    out = p.stdout.decode()
    os.chmod(os.path.join(pki, "server.key"), 0o600)
    check(p.returncode == 1 and all(w in out for w in (
        "UNSAFE no checkpoint copy", "UNSAFE no audit export", "expires within 30 days", "readable or writable by "
        "others", "anonymous peers may echo", "client certificates are optional", "has no certificate")),
          "doctor names each unsafe item of a bad set-up and exits 1")
    run([PV, "vault", "checkpoint-copy", os.path.join(d, "checkpoints.txt")] + va)
    good = os.path.join(d, "good.ini")
    with open(good, "w") as f:
        f.write("[server]\ndimse = 127.0.0.1:%d\ntls_cert = long.crt\ntls_key = long.key\nanonymous = none\n"
                "[audit]\nsyslog = 127.0.0.1:6514\nca = ../pki/ca.crt\n" % tport)
    os.chmod(d + "/long.key", 0o600)
    p = run([PV, "doctor", "--config", good, "--json"] + va, ok=None)
    items = json.loads(p.stdout.decode())
    check(p.returncode == 0 and not [i for i in items if i["level"] == "UNSAFE"] and
          any("audit events and checkpoints are exported" in i["what"] for i in items),
          "doctor finds nothing unsafe in a loopback TLS set-up with a checkpoint copy and an audit export "
          "(exit 0, --json)")


def stunnel(root, name, pki, user, port):
    """A TLS wrapper with user's client certificate in front of the server (for getscu, which has no TLS)."""
    local = free_port()
    conf = os.path.join(root, "stunnel-%s.conf" % name)
    with open(conf, "w") as f:
        f.write("foreground = yes\npid =\n[dicom]\nclient = yes\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                "cert = %s/%s.crt\nkey = %s/%s.key\nCAfile = %s/ca.crt\nverifyChain = yes\ncheckIP = 127.0.0.1\n"
                % (local, port, pki, user, pki, user, pki))
    p = subprocess.Popen(["stunnel4", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", local), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return p, local


def tag_values(path, keyword):
    out = run(["dcmdump", "+P", keyword, path], ok=None).stdout.decode(errors="replace")
    return [line.split("[", 1)[1].split("]", 1)[0].strip() for line in out.splitlines() if "[" in line]


def qr(root, pki, tls, tport):
    """C-FIND and C-GET with planted identifiers: a clinician sees them, a research user never (a vault of its own)."""
    mk = os.path.join(root, "master2.key")
    vault = os.path.join(root, "vault2")
    run([PV, "keygen", "--type", "master", "-o", mk])
    run([PV, "vault", "init", vault, "--master-key", mk])
    va = ["--vault", vault, "--master-key", mk]

    def events(code):
        out = json.loads(run([PV, "ledger", "show", "--json"] + va).stdout.decode())
        return [e for e in out if e["event"] == code]

    demo = os.path.join(root, "demo")
    manifest = os.path.join(root, "plants.json")
    run(["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                                          "synth.py"), "demo", demo, manifest])
    plants = sorted({v for vs in json.load(open(manifest, encoding="utf-8")).values() for v in vs})
    needles = [v.encode("utf-8") for v in plants if len(v) >= 4]
    pkey = os.path.join(root, "p1.key")
    run([PV, "keygen", "-o", pkey])
    run([PV, "project", "add", "p1", "--key", pkey, "--clean-descriptors"] + va)
    for name in ("dr", "res"):
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
             "-keyout", "%s/%s.key" % (pki, name), "-out", "%s/%s.csr" % (pki, name)])
        run(["openssl", "x509", "-req", "-in", "%s/%s.csr" % (pki, name), "-CA", pki + "/ca.crt", "-CAkey",
             pki + "/ca.key", "-CAcreateserial", "-days", "2", "-out", "%s/%s.crt" % (pki, name)])
    run([PV, "user", "add", "ct-cert", "--role", "modality", "--cert", os.path.join(pki, "ct.crt")] + va)
    run([PV, "user", "add", "dr", "--role", "clinician", "--cert", os.path.join(pki, "dr.crt")] + va)
    run([PV, "user", "add", "res", "--role", "research", "--project", "p1", "--cert", os.path.join(pki, "res.crt")] + va)
    tl = lambda u: ["+tls", os.path.join(pki, u + ".key"), os.path.join(pki, u + ".crt"), "+cf", os.path.join(pki, "ca.crt")]
    # a C-MOVE destination: dcmtk's storescp over TLS (its certificate for 127.0.0.1, ours required of us)
    wport = free_port()
    moved = os.path.join(root, "moved")
    os.makedirs(moved)
    with open(tls) as f:
        conf_text = f.read()
    tls = os.path.join(root, "qr.ini")
    with open(tls, "w") as f:
        f.write(conf_text + "[peer \"WS1\"]\nhost = 127.0.0.1\nport = %d\ntls = yes\nca = pki/ca.crt\n" % wport)
    scp = subprocess.Popen(["storescp", "+tls", os.path.join(pki, "server.key"), os.path.join(pki, "server.crt"),
                            "+cf", os.path.join(pki, "ca.crt"), "-od", moved, "-aet", "WS1", str(wport)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = Server(root, tls, va)
    files = sorted(glob.glob(os.path.join(demo, "*.dcm")))
    p = run(["storescu", "-aec", "PACSVAULT"] + tl("ct") + ["127.0.0.1", str(tport)] + files, ok=None)
    check(p.returncode == 0, "a modality stores the %d planted studies' files over TLS" % len(files))
    keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName=", "-k", "PatientID=", "-k", "PatientBirthDate=",
            "-k", "StudyDate=", "-k", "AccessionNumber=", "-k", "StudyID=", "-k", "ReferringPhysicianName=",
            "-k", "StudyDescription=", "-k", "StudyInstanceUID=", "-k", "ModalitiesInStudy="]

    def find(user, out):
        os.makedirs(out, exist_ok=True)
        p = run(["findscu", "-aec", "PACSVAULT", "-S", "-X", "-od", out] + tl(user) + keys + ["127.0.0.1", str(tport)],
                ok=None)
        rsp = sorted(glob.glob(os.path.join(out, "rsp*.dcm")))
        return p, rsp, b"".join(open(f, "rb").read() for f in rsp)

    p, rsp, blob = find("dr", os.path.join(root, "find-dr"))
    found = [n for n in needles if n in blob]
    check(p.returncode == 0 and len(rsp) >= 3 and len(found) >= 5,
          "a clinician's C-FIND answers carry the identifiers (%d answers, %d planted values seen): the search "
          "below would see them" % (len(rsp), len(found)))
    got = find_with_cancel(tport, pki, "dr")
    check(got == (1, 0xFE00), "a C-CANCEL-RQ sent with the C-FIND-RQ: one answer, then the final status Cancel "
          "(FE00) (%r)" % (got,))
    p, rsp, blob = find("res", os.path.join(root, "find-res"))
    leaked = [n.decode() for n in needles if n in blob]
    check(p.returncode == 0 and len(rsp) >= 3 and not leaked,
          "a research user's C-FIND answers (%d) hold none of the %d planted values %s" % (len(rsp), len(needles),
                                                                                          leaked[:3]))
    # every level, every key the index holds: a research user's answers carry no planted value
    every = ["PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
             "StudyDate", "StudyTime", "AccessionNumber", "StudyID", "StudyDescription", "ReferringPhysicianName",
             "ModalitiesInStudy", "NumberOfStudyRelatedInstances", "SeriesInstanceUID", "Modality", "SeriesNumber",
             "SeriesDescription", "SeriesDate", "BodyPartExamined", "SOPInstanceUID", "SOPClassUID", "InstanceNumber"]
    for lv, upto in (("SERIES", 19), ("IMAGE", 22)):
        out = os.path.join(root, "find-res-" + lv)
        os.makedirs(out)
        run(["findscu", "-aec", "PACSVAULT", "-S", "-X", "-od", out] + tl("res") +
            ["-k", "QueryRetrieveLevel=" + lv] + [a for k in every[5:upto + 1] for a in ("-k", k + "=")] +
            ["127.0.0.1", str(tport)], ok=None)
        got_l = sorted(glob.glob(os.path.join(out, "rsp*.dcm")))
        blob_l = b"".join(open(f, "rb").read() for f in got_l)
        leaked = [n.decode() for n in needles if n in blob_l]
        check(len(got_l) >= 3 and not leaked, "a research user's C-FIND at %s level with every key the index holds: "
              "%d answers, no planted value %s" % (lv, len(got_l), leaked[:3]))
    pseud = sorted({v for f in rsp for v in tag_values(f, "StudyInstanceUID")})
    originals = set()
    for f in files:
        originals.update(tag_values(f, "StudyInstanceUID"))
    check(len(pseud) == len(originals) and not (set(pseud) & originals) and all(u.startswith("2.25.") for u in pseud),
          "its study UIDs are the project's pseudonyms (%d), none an original" % len(pseud))
    st, sport = stunnel(root, "res", pki, "res", tport)
    got = os.path.join(root, "get-res")
    os.makedirs(got)
    for u in pseud:
        run(["getscu", "-aec", "PACSVAULT", "-od", got, "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + u,
             "127.0.0.1", str(sport)], ok=None)
    rec = sorted(glob.glob(os.path.join(got, "*")))
    blob = b"".join(open(f, "rb").read() for f in rec)
    leaked = [n.decode() for n in needles if n in blob]
    check(len(rec) == len(files) and not leaked,
          "its C-GET of every study returns %d files, none holding a planted value %s" % (len(rec), leaked[:3]))
    check(sorted({v for f in rec for v in tag_values(f, "StudyInstanceUID")}) == pseud,
          "the files it receives carry the same pseudonymous study UIDs its C-FIND showed")
    empty = os.path.join(root, "get-res-orig")
    os.makedirs(empty)
    run(["getscu", "-aec", "PACSVAULT", "-od", empty, "-k", "QueryRetrieveLevel=STUDY", "-k",
         "StudyInstanceUID=" + sorted(originals)[0], "127.0.0.1", str(sport)], ok=None)
    check(os.listdir(empty) == [], "an original study UID gives a research user nothing")
    for u in pseud:
        run(["movescu", "-aec", "PACSVAULT", "-aem", "WS1", "-S", "-k", "QueryRetrieveLevel=STUDY",
             "-k", "StudyInstanceUID=" + u, "127.0.0.1", str(sport)], ok=None)
    rec = sorted(glob.glob(os.path.join(moved, "*")))
    blob = b"".join(open(f, "rb").read() for f in rec)
    leaked = [n.decode() for n in needles if n in blob]
    check(len(rec) == len(files) and not leaked,
          "its C-MOVE of every study to a configured destination over TLS delivers %d files, none holding a "
          "planted value %s" % (len(rec), leaked[:3]))
    p = run(["movescu", "-aec", "PACSVAULT", "-aem", "ELSEWHERE", "-S", "-k", "QueryRetrieveLevel=STUDY",
             "-k", "StudyInstanceUID=" + pseud[0], "127.0.0.1", str(sport)], ok=None)
    check(b"MoveDestinationUnknown" in p.stderr + p.stdout and len(os.listdir(moved)) == len(rec),
          "a C-MOVE to a destination the configuration does not name is refused (A801)")
    scp.terminate()
    scp.wait()
    st.terminate()
    st.wait()
    st, dport = stunnel(root, "dr", pki, "dr", tport)
    gdr = os.path.join(root, "get-dr")
    os.makedirs(gdr)
    run(["getscu", "-aec", "PACSVAULT", "-od", gdr, "-k", "QueryRetrieveLevel=STUDY", "-k",
         "StudyInstanceUID=" + sorted(originals)[0], "127.0.0.1", str(dport)], ok=None)
    rec = glob.glob(os.path.join(gdr, "*"))
    check(len(rec) >= 1 and any(n in open(rec[0], "rb").read() for n in needles),
          "a clinician's C-GET returns the identified instance (%d files)" % len(rec))
    st.terminate()
    st.wait()
    p = run(["findscu", "-aec", "PACSVAULT", "-S"] + tl("ct") + keys + ["127.0.0.1", str(tport)], ok=None)
    check(p.returncode != 0 or b"Pending" not in p.stderr + p.stdout, "a modality user cannot C-FIND")
    # a research user may not match on what names a person, nor find anything by an original UID
    os.makedirs(os.path.join(root, "find-res-name"))
    p = run(["findscu", "-v", "-aec", "PACSVAULT", "-S", "-X", "-od", os.path.join(root, "find-res-name")] + tl("res") +
            ["-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName=C*", "-k", "StudyInstanceUID=", "127.0.0.1",
             str(tport)], ok=None)
    check(not glob.glob(os.path.join(root, "find-res-name", "rsp*.dcm")) and b"Status: 0x124" in p.stderr + p.stdout,
          "a research user's C-FIND on PatientName is refused (0124), no answer")
    os.makedirs(os.path.join(root, "find-res-orig"))
    run(["findscu", "-aec", "PACSVAULT", "-S", "-X", "-od", os.path.join(root, "find-res-orig")] + tl("res") +
        ["-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=" + sorted(originals)[0], "127.0.0.1", str(tport)],
        ok=None)
    check(not glob.glob(os.path.join(root, "find-res-orig", "rsp*.dcm")),
          "a research user's C-FIND by an original study UID finds nothing")
    srv.stop()
    log = srv.text()
    check(not any(n.decode() in log for n in needles), "the server's log holds no planted value")
    ex = [e for e in events(110106) if any(p_["user"] == "res" for p_ in e["participants"])]
    check(len(ex) >= len(pseud) and all("de-identified" in (o["detail"] or "") for e in ex for o in e["objects"]
                                        if o["type"] == "instance"),
          "each C-GET by the research user is an Export event marked de-identified (%d)" % len(ex))


if __name__ == "__main__":
    sys.exit(main())
