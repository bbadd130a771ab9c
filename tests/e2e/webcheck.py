"""webcheck.py: `pacsvault serve`'s DICOMweb listener over HTTPS (issue #18, first part).

curl as the client (QIDO-RS, WADO-RS, bearer tokens), Python's ssl module
for the hostile requests (smuggling, obs-fold, slowloris), synthetic
studies full of planted identifiers (scripts/synth.py), everything on
loopback with certificates made here.
"""
import glob
import hashlib
import io
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish, free_port  # noqa: E402

PV = os.environ["PV"]
HERE = os.path.dirname(os.path.abspath(__file__))


def run(args, ok=(0,), **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    if ok is not None and p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode, p.stderr.decode()[-800:]))
    return p


def make_pki(d):
    o = lambda *a: run(["openssl"] + list(a))
    o("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      "-subj", "/CN=pacsvault test CA", "-keyout", d + "/ca.key", "-out", d + "/ca.crt")
    o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=server",
      "-keyout", d + "/server.key", "-out", d + "/server.csr")
    with open(d + "/server.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    o("x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key", "-CAcreateserial",
      "-days", "2", "-out", d + "/server.crt", "-extfile", d + "/server.ext")


class Server:
    def __init__(self, root, conf, va):
        self.log = open(os.path.join(root, "serve-%d.log" % time.time_ns()), "w+b")
        self.p = subprocess.Popen([PV, "serve", "--config", conf] + va, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if b"listening on" in self.text().encode():
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


def parts_of(headers, body):
    """The bodies of a multipart/related answer."""
    m = re.search(r"boundary=([^;\s]+)", headers, re.I)
    if m is None:
        return None
    b = b"--" + m.group(1).encode()
    out = []
    for p in body.split(b)[1:]:
        if p.startswith(b"--"):
            return out
        head, _, rest = p.partition(b"\r\n\r\n")
        if not rest.endswith(b"\r\n"):
            return None
        out.append(rest[:-2])
    return None   # no closing boundary


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    pki = os.path.join(root, "pki")
    os.makedirs(pki, exist_ok=True)
    make_pki(pki)
    ca = os.path.join(pki, "ca.crt")
    mk = os.path.join(root, "master.key")
    vault = os.path.join(root, "vault")
    run([PV, "keygen", "--type", "master", "-o", mk])
    run([PV, "vault", "init", vault, "--master-key", mk])
    va = ["--vault", vault, "--master-key", mk]

    def events(code=None):
        out = json.loads(run([PV, "ledger", "show", "--json"] + va).stdout.decode())
        return [e for e in out if code is None or e["event"] == code]

    demo = os.path.join(root, "demo")
    manifest = os.path.join(root, "plants.json")
    run(["/usr/bin/python3", os.path.join(HERE, "..", "..", "scripts", "synth.py"), "demo", demo, manifest])
    plants = sorted({v for vs in json.load(open(manifest, encoding="utf-8")).values() for v in vs})
    needles = [v.encode("utf-8") for v in plants if len(v) >= 4]
    files = sorted(glob.glob(os.path.join(demo, "*.dcm")))
    run([PV, "import"] + va + files)
    digests = {hashlib.sha256(open(f, "rb").read()).hexdigest() for f in files}
    pkey = os.path.join(root, "p1.key")
    run([PV, "keygen", "-o", pkey])
    run([PV, "project", "add", "p1", "--key", pkey, "--clean-descriptors"] + va)
    for name, role in (("dr", "clinician"), ("ct", "modality")):
        run([PV, "user", "add", name, "--role", role, "--password-stdin"] + va, input=b"synthetic-web-pass\n")
    run([PV, "user", "add", "res", "--role", "research", "--project", "p1", "--password-stdin"] + va,
        input=b"synthetic-web-pass\n")

    viewer = os.path.join(root, "viewer")
    os.makedirs(viewer)
    with open(os.path.join(viewer, "index.html"), "w") as f:
        f.write("<!doctype html><title>viewer</title>\n")
    with open(os.path.join(root, "outside.txt"), "w") as f:
        f.write("outside the viewer folder\n")
    os.symlink(os.path.join(root, "outside.txt"), os.path.join(viewer, "link.txt"))

    # --- configuration: an http listener off loopback without TLS is refused, naming it
    port = free_port()
    bad = os.path.join(root, "public.ini")
    with open(bad, "w") as f:
        f.write("[server]\nhttp = 0.0.0.0:%d\n" % port)
    p = run([PV, "serve", "--config", bad] + va, ok=(1,))
    check(b"http 0.0.0.0:%d is not on loopback and TLS is off" % port in p.stderr,
          "serve refuses an http listener off loopback without TLS, and says which")

    conf = os.path.join(root, "web.ini")
    with open(conf, "w") as f:
        f.write("[server]\nhttp = 127.0.0.1:%d\ntls_cert = pki/server.crt\ntls_key = pki/server.key\n"
                "http_timeout = 2\nidle_timeout = 5\nviewer = viewer\ncors_origin = https://viewer.example\n" % port)
    p = run([PV, "serve", "--config", conf, "--check"] + va, ok=None)
    check(p.returncode == 0, "the HTTPS configuration checks clean (%s)" % p.stderr.decode().strip()[-200:])
    srv = Server(root, conf, va)
    base = "https://127.0.0.1:%d" % port

    # tokens are issued while the server runs
    def token(user, ttl="1h"):
        return run([PV, "token", "issue", user, "--ttl", ttl] + va).stdout.decode().strip()

    t_dr, t_res, t_ct = token("dr"), token("res"), token("ct")
    check(all(re.fullmatch(r"pvt\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}", t) for t in (t_dr, t_res, t_ct)),
          "token issue prints one token per user, while the server runs")
    lst = run([PV, "token", "list"] + va).stdout.decode()
    check(lst.count("\n") == 3 and t_dr.split(".")[2] not in lst, "token list shows 3 tokens and no secret")

    def curl(path, tok=None, accept=None, extra=()):
        hdr = os.path.join(root, "h.txt")
        args = ["curl", "-s", "--cacert", ca, "-D", hdr, "-o", "-", base + path]
        if tok is not None:
            args += ["-H", "Authorization: Bearer " + tok]
        if accept is not None:
            args += ["-H", "Accept: " + accept]
        p = subprocess.run(args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        h = open(hdr, encoding="latin-1").read() if os.path.exists(hdr) else ""
        m = re.match(r"HTTP/1\.1 (\d+)", h)
        return (int(m.group(1)) if m else 0), h, p.stdout

    # --- authentication
    st, h, _ = curl("/dicomweb/studies")
    check(st == 401 and "WWW-Authenticate: Bearer" in h, "no token: 401 with a Bearer challenge")
    st, _, _ = curl("/dicomweb/studies", tok=t_dr[:-1] + ("A" if t_dr[-1] != "A" else "B"))
    check(st == 401, "a token with a wrong secret: 401")
    st, _, _ = curl("/dicomweb/studies", tok="pvt.nothex")
    check(st == 401, "a malformed token: 401")
    fails = [e for e in events(110114) if e.get("outcome") != 0]
    check(len(fails) >= 3, "each refusal is a User Authentication event with a failure outcome (%d)" % len(fails))

    # --- QIDO-RS as a clinician: the identifiers
    st, h, body = curl("/dicomweb/studies", tok=t_dr)
    studies = json.loads(body) if st == 200 else []
    found = [n for n in needles if n in body]
    check(st == 200 and "application/dicom+json" in h and len(studies) >= 3 and len(found) >= 3,
          "a clinician's QIDO studies: %d studies as DICOM JSON, %d planted values (the search works)" %
          (len(studies), len(found)))
    suid = studies[0]["0020000D"]["Value"][0] if studies else ""
    pid = studies[0]["00100020"]["Value"][0] if studies and "Value" in studies[0].get("00100020", {}) else ""
    st, _, body = curl("/dicomweb/studies?PatientID=%s" % pid, tok=t_dr)
    one = json.loads(body) if st == 200 else []
    check(st == 200 and len(one) >= 1 and all(s["00100020"]["Value"][0] == pid for s in one),
          "QIDO with PatientID matches that patient only (%d)" % len(one))
    st, _, body = curl("/dicomweb/studies?limit=1&offset=1", tok=t_dr)
    check(st == 200 and len(json.loads(body)) == 1 and json.loads(body)[0]["0020000D"] == studies[1]["0020000D"],
          "limit and offset page the answers")
    st, _, body = curl("/dicomweb/studies/%s/series" % suid, tok=t_dr)
    series = json.loads(body) if st == 200 else []
    check(st == 200 and len(series) >= 1 and all("0020000E" in s for s in series),
          "QIDO series of a study (%d)" % len(series))
    st, _, body = curl("/dicomweb/studies/%s/instances" % suid, tok=t_dr)
    inst = json.loads(body) if st == 200 else []
    check(st == 200 and len(inst) >= 1 and all("00080018" in s for s in inst), "QIDO instances of a study (%d)" %
          len(inst))
    st, _, body = curl("/dicomweb/studies?NoSuchKeyword=1", tok=t_dr)
    check(st == 400 and b"NoSuchKeyword" in body, "an unknown query key: 400 naming it")
    st, _, _ = curl("/dicomweb/studies?fuzzymatching=true", tok=t_dr)
    check(st == 400, "fuzzy matching asked for: 400 (not offered)")

    # --- WADO-RS as a clinician: the exact stored bytes
    st, h, body = curl("/dicomweb/studies/%s" % suid, tok=t_dr, accept='multipart/related; type="application/dicom"')
    parts = parts_of(h, body) or []
    check(st == 200 and len(parts) == len(inst) and all(hashlib.sha256(x).hexdigest() in digests for x in parts),
          "WADO-RS of a study: %d instances, each byte-identical to a file imported" % len(parts))
    sop = inst[0]["00080018"]["Value"][0] if inst else ""
    ser = inst[0]["0020000E"]["Value"][0] if inst else ""
    st, h, body = curl("/dicomweb/studies/%s/series/%s/instances/%s" % (suid, ser, sop), tok=t_dr)
    parts = parts_of(h, body) or []
    check(st == 200 and len(parts) == 1, "WADO-RS of one instance")
    st, _, _ = curl("/dicomweb/studies/%s" % suid, tok=t_dr, accept="application/json")
    check(st == 406, "WADO-RS with an Accept it cannot meet: 406")
    st, _, _ = curl("/dicomweb/studies/1.2.3.4.5.6", tok=t_dr)
    check(st == 404, "WADO-RS of an unknown study: 404")

    # --- WADO-RS metadata, bulk data, frames
    import pydicom  # noqa: E402
    st, h, body = curl("/dicomweb/studies/%s/metadata" % suid, tok=t_dr)
    meta = json.loads(body) if st == 200 else []
    check(st == 200 and "application/dicom+json" in h and len(meta) == len(inst) and
          all("00100010" in m and "00080018" in m for m in meta),
          "WADO-RS study metadata: one DICOM JSON object per instance (%d), with the patient's name" % len(meta))
    by_sop = {}
    for f in files:
        ds = pydicom.dcmread(f)
        by_sop[str(ds.SOPInstanceUID)] = ds
    m0 = next((m for m in meta if "7FE00010" in m), None)
    ok_bulk = ok_frame = False
    if m0 is not None:
        sop0 = m0["00080018"]["Value"][0]
        uri = m0["7FE00010"].get("BulkDataURI", "")
        pix = by_sop[sop0].PixelData
        path = uri[uri.index("/dicomweb/"):] if "/dicomweb/" in uri else ""
        st, h, body = curl(path, tok=t_dr)
        bp = parts_of(h, body) or []
        ok_bulk = st == 200 and len(bp) == 1 and bp[0] == pix
        ser0 = m0["0020000E"]["Value"][0]
        st, h, body = curl("/dicomweb/studies/%s/series/%s/instances/%s/frames/1" % (suid, ser0, sop0), tok=t_dr,
                           accept='multipart/related; type="application/octet-stream"; transfer-syntax=*')
        fp = parts_of(h, body) or []
        ok_frame = st == 200 and len(fp) == 1 and fp[0] == pix[:len(fp[0])] and len(fp[0]) > 0 and \
            "transfer-syntax=" in body.decode("latin-1")[:300]
        st, _, _ = curl("/dicomweb/studies/%s/series/%s/instances/%s/frames/99" % (suid, ser0, sop0), tok=t_dr)
        check(st == 400, "a frame number beyond the instance's: 400")
    check(ok_bulk, "the pixel data's BulkDataURI gives exactly the stored pixel data")
    check(ok_frame, "frame 1 as stored (multipart octet-stream with its transfer syntax) is the first frame's bytes")
    st, h, body = curl("/dicomweb/studies/%s/metadata" % ruid if False else "/dicomweb/studies/%s/metadata" % suid,
                       tok=t_ct)
    check(st == 403, "a modality's token may not read metadata: 403")

    # --- roles
    st, _, _ = curl("/dicomweb/studies", tok=t_ct)
    check(st == 403, "a modality's token may not query: 403")
    st, h, body = curl("/dicomweb/studies", tok=t_res)
    rs = json.loads(body) if st == 200 else []
    leaked = [n for n in needles if n in body]
    check(st == 200 and len(rs) == len(studies) and not leaked,
          "a research token's QIDO: %d studies, none of the %d planted values %s" % (len(rs), len(needles), leaked[:3]))
    st, _, body = curl("/dicomweb/studies?PatientName=*", tok=t_res)
    check(st == 403, "a research token matching on PatientName: 403")
    ruid = rs[0]["0020000D"]["Value"][0] if rs else ""
    check(ruid != "" and ruid not in [s["0020000D"]["Value"][0] for s in studies],
          "a research token sees pseudonymous study UIDs")
    st, h, body = curl("/dicomweb/studies/%s" % ruid, tok=t_res)
    parts = parts_of(h, body) or []
    leaked = [n for n in needles if any(n in x for x in parts)]
    check(st == 200 and len(parts) >= 1 and not leaked,
          "its WADO-RS of that study: %d instances, none holding a planted value %s" % (len(parts), leaked[:3]))
    st, _, _ = curl("/dicomweb/studies/%s" % suid, tok=t_res)
    check(st in (403, 404), "a research token cannot retrieve by an original study UID (%d)" % st)
    st, h, body = curl("/dicomweb/studies/%s/metadata" % ruid, tok=t_res)
    rmeta = json.loads(body) if st == 200 else []
    leaked = [n for n in needles if n in body]
    check(st == 200 and len(rmeta) >= 1 and not leaked and all(m["0020000D"]["Value"][0] == ruid for m in rmeta),
          "its metadata of that study: %d instances under the pseudonymous UID, none of the planted values %s" %
          (len(rmeta), leaked[:3]))
    rm0 = next((m for m in rmeta if "7FE00010" in m), None)
    if rm0 is not None:
        uri = rm0["7FE00010"].get("BulkDataURI", "")
        st, h, body = curl(uri[uri.index("/dicomweb/"):], tok=t_res)
        check(st == 200 and len(parts_of(h, body) or []) == 1, "its BulkDataURI resolves for it (pseudonymous UIDs) (%d %r)" % (st, body[:80]))
        st, _, _ = curl(uri[uri.index("/dicomweb/"):], tok=t_ct)
        check(st == 403, "... and not for a modality token")

    # --- STOW-RS: stored through the ingest, refused for the wrong roles, answered per part
    sample_dir = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")
    up = [os.path.join(sample_dir, "test_files", n) for n in ("CT_small.dcm", "MR_small.dcm")]
    bnd = b"pv-stow-boundary"

    def mp(parts, ctype=b"application/dicom"):
        out = b"preamble\r\n"
        for x in parts:
            out += b"--" + bnd + b"\r\nContent-Type: " + ctype + b"\r\n\r\n" + x + b"\r\n"
        return out + b"--" + bnd + b"--\r\n"

    def stow(tok, body, path="/dicomweb/studies", chunked=False, ctype=None):
        bf = os.path.join(root, "stow.bin")
        open(bf, "wb").write(body)
        extra = ["-X", "POST", "-H", "Content-Type: " + (ctype or 'multipart/related; type="application/dicom"; '
                                                        'boundary=' + bnd.decode()), "--data-binary", "@" + bf]
        if chunked:
            extra += ["-H", "Transfer-Encoding: chunked"]
        return curl(path, tok=tok, extra=extra)

    blobs = [open(f, "rb").read() for f in up]
    st, h, body = stow(t_ct, mp(blobs))
    ans = json.loads(body) if body.startswith(b"{") else {}
    refd = ans.get("00081199", {}).get("Value", [])
    check(st == 200 and len(refd) == 2 and all("00081190" in x for x in refd),
          "STOW-RS by a modality token: 200, both instances in the Referenced SOP Sequence with a RetrieveURL")
    sop_ct = str(pydicom.dcmread(up[0]).SOPInstanceUID)
    st, h, body = curl("/dicomweb/instances?SOPInstanceUID=%s" % sop_ct, tok=t_dr)
    check(st == 200 and len(json.loads(body)) == 1, "the stored instance is found by QIDO")
    st_uid = str(pydicom.dcmread(up[0]).StudyInstanceUID)
    st2, h2, body2 = curl("/dicomweb/studies/%s" % st_uid, tok=t_dr)
    got = parts_of(h2, body2) or []
    check(st2 == 200 and blobs[0] in got, "and retrieved byte-identical")
    st, h, body = stow(t_ct, mp([blobs[1]]), chunked=True)
    check(st == 200, "STOW-RS with a chunked body (the same instance again: a duplicate is success)")
    st, h, body = stow(t_ct, mp([blobs[0]]), path="/dicomweb/studies/1.2.3.999")
    ans = json.loads(body) if body.startswith(b"{") else {}
    check(st == 409 and len(ans.get("00081198", {}).get("Value", [])) == 1,
          "STOW-RS to a study its instance is not of: 409 with the Failed SOP Sequence")
    st, h, body = stow(t_ct, mp([b"not dicom at all"] + [blobs[0]]))
    ans = json.loads(body) if body.startswith(b"{") else {}
    check(st == 202 and len(ans.get("00081198", {}).get("Value", [])) == 1 and
          len(ans.get("00081199", {}).get("Value", [])) == 1, "a part that is not DICOM fails alone: 202")
    st, _, _ = stow(t_res, mp([blobs[0]]))
    check(st == 403, "a research token may not store: 403")
    st, _, _ = stow(t_ct, mp([blobs[0]]), ctype="application/dicom")
    check(st == 415, "STOW-RS that is not multipart/related: 415")
    st, _, body = stow(t_ct, mp([blobs[0]])[:-30])
    check(st == 400 and b"closing boundary" in body, "a body cut before its closing boundary: 400, named")

    # bad STOW bodies: each a clear 4xx, nothing stored half, nothing lost of what was stored before
    rle = open(os.path.join(sample_dir, "test_files", "SC_rgb_rle_2frame.dcm"), "rb").read()
    rds = pydicom.dcmread(os.path.join(sample_dir, "test_files", "SC_rgb_rle_2frame.dcm"))
    mr_uid = str(rds.SOPInstanceUID)
    st, _, body = stow(t_ct, mp([blobs[0]]).replace(b"--" + bnd, b"--other-boundary"))
    check(st == 400 and b"closing boundary" in body, "a wrong boundary: 400, named")
    cut = mp([rle, blobs[0]])
    cut = cut[:cut.index(blobs[0]) + 1000]   # the second part cut half-way, no closing boundary
    st, _, body = stow(t_ct, cut)
    st2, _, b2 = curl("/dicomweb/instances?SOPInstanceUID=%s" % mr_uid, tok=t_dr)
    check(st == 400 and st2 == 200 and len(json.loads(b2)) == 1,
          "a body cut in its second part: 400, and the first part (complete) is stored and found")
    from pydicom.encaps import generate_pixel_data_frame
    want = list(generate_pixel_data_frame(rds.PixelData, 2))
    st, h, body = curl("/dicomweb/studies/%s/series/%s/instances/%s/frames/2,1" % (rds.StudyInstanceUID,
                       rds.SeriesInstanceUID, mr_uid), tok=t_dr)
    fp = parts_of(h, body) or []
    check(st == 200 and fp == [want[1], want[0]] and "transfer-syntax=1.2.840.10008.1.2.5" in body.decode("latin-1"),
          "frames 2,1 of a stored RLE image: its two compressed frames as stored, in that order, named RLE")
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="127.0.0.1")
    t.sendall(b"POST /dicomweb/studies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + t_ct.encode() +
              b"\r\nContent-Type: multipart/related; type=\"application/dicom\"; boundary=" + bnd +
              b"\r\nContent-Length: 4294967296\r\n\r\n" + mp([blobs[1]])[:5000])
    try:
        ans = t.recv(4096)
    except (OSError, socket.timeout):
        ans = b""
    t.close()
    check(ans.startswith(b"HTTP/1.1 408 "), "a 4 GiB Content-Length whose body stops: 408 after idle_timeout (%r)" %
          ans[:30])
    many = b"GET /dicomweb/studies HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10000))
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    t = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="127.0.0.1")
    try:
        t.sendall(many + b"\r\n")
        ans = t.recv(4096)
    except (OSError, socket.timeout):
        ans = b""
    t.close()
    check(ans.startswith(b"HTTP/1.1 431 "), "10,000 headers: 431")

    # --- CORS: the configured viewer origin only
    st, h, _ = curl("/dicomweb/studies", tok=t_dr, extra=("-H", "Origin: https://viewer.example"))
    check(st == 200 and "Access-Control-Allow-Origin: https://viewer.example" in h,
          "a request from the configured origin gets Access-Control-Allow-Origin")
    st, h, _ = curl("/dicomweb/studies", tok=t_dr, extra=("-H", "Origin: https://evil.example"))
    check(st == 200 and "Access-Control-Allow-Origin" not in h, "from another origin: no CORS header")
    st, h, _ = curl("/dicomweb/studies", extra=("-X", "OPTIONS", "-H", "Origin: https://viewer.example", "-H",
                                                 "Access-Control-Request-Method: GET"))
    check(st == 204 and "Access-Control-Allow-Headers: Authorization" in h, "a preflight from it: 204 (no token needed)")
    st, _, _ = curl("/dicomweb/studies", extra=("-X", "OPTIONS", "-H", "Origin: https://evil.example"))
    check(st == 403, "a preflight from another origin: 403")

    # --- revocation reaches the running server
    tid = t_dr.split(".")[1]
    run([PV, "token", "revoke", tid] + va)
    st, _, _ = curl("/dicomweb/studies", tok=t_dr)
    check(st == 401, "a revoked token: 401 at the next request")

    # --- the viewer's files: no token, nothing outside its folder
    st, h, body = curl("/")
    check(st == 200 and b"<title>viewer</title>" in body and "text/html" in h, "the viewer's index.html at /")
    st, _, _ = curl("/link.txt")
    check(st == 404, "a symbolic link out of the viewer folder: 404")
    st, _, _ = curl("/%2e%2e/outside.txt", extra=("--path-as-is",))
    check(st == 400, "an encoded dot-dot segment: 400")

    # --- hostile requests over TLS
    ctx = ssl.create_default_context(cafile=ca)

    def raw(data, wait=5.0):
        s = socket.create_connection(("127.0.0.1", port), timeout=wait)
        t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        t.sendall(data)
        out = b""
        try:
            while True:
                b = t.recv(65536)
                if not b:
                    break
                out += b
        except (socket.timeout, ssl.SSLError, ConnectionError):
            pass
        t.close()
        return out

    hostile = [
        ("both Content-Length and Transfer-Encoding", b"POST /dicomweb/studies HTTP/1.1\r\nHost: x\r\n"
         b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("two Content-Lengths", b"GET /dicomweb/studies HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
         b"Content-Length: 5\r\n\r\n"),
        ("an obs-fold header", b"GET /dicomweb/studies HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n"),
        ("a bare LF", b"GET /dicomweb/studies HTTP/1.1\nHost: x\n\n"),
        ("no Host", b"GET /dicomweb/studies HTTP/1.1\r\n\r\n"),
        ("a space before a colon", b"GET /dicomweb/studies HTTP/1.1\r\nHost : x\r\n\r\n"),
        ("a dot-dot path", b"GET /dicomweb/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
    ]
    for what, req in hostile:
        out = raw(req)
        check(out.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in out,
              "%s: 400 and the connection closed (%r)" % (what, out[:40]))
    out = raw(b"GET /dicomweb/studies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 501 "), "a Transfer-Encoding other than chunked: 501")
    out = raw(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 505 "), "HTTP/2.0 in a request line: 505")
    out = raw(b"GET /dicomweb/studies HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 431 "), "a head over 16 KiB: 431")
    # keep-alive: two requests on one connection, both answered
    out = raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check(out.count(b"HTTP/1.1 200 OK") == 2, "keep-alive: two requests on one connection, two answers")
    # slowloris: a head trickled one byte at a time is cut off at http_timeout, others are served meanwhile
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    t0 = time.time()
    closed = None
    req = b"GET /dicomweb/studies HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    try:
        for i, c in enumerate(req):
            t.sendall(bytes([c]))
            time.sleep(0.25)
            if i == 3:
                st, _, _ = curl("/")
                check(st == 200, "while a client trickles its head, another is served")
            if time.time() - t0 > 8:
                break
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    try:
        t.settimeout(5)
        ans = t.recv(65536)
        closed = time.time() - t0
    except (socket.timeout, ssl.SSLError, ConnectionError, OSError):
        ans = b""
        closed = time.time() - t0
    t.close()
    check(closed is not None and closed < 6 and (ans == b"" or ans.startswith(b"HTTP/1.1 408")),
          "a head trickled one byte per 0.25 s is cut off after http_timeout (%.1f s)" % (closed or -1))
    # plaintext to the TLS port: no answer in clear
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /dicomweb/studies HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        got = s.recv(4096)
    except (socket.timeout, ConnectionError):
        got = b""
    s.close()
    check(not got.startswith(b"HTTP/"), "plain HTTP to the HTTPS port gets no HTTP answer")

    check(srv.stop() == 0, "serve stops cleanly on SIGTERM")
    log = srv.text()
    check(not any(n.decode() in log for n in needles), "the server's log holds no planted value")
    auth_ok = [e for e in events(110114) if e.get("outcome") == 0]
    check(len(auth_ok) >= 3, "each token's first use on a connection is a User Authentication event (%d)" %
          len(auth_ok))
    p = run([PV, "ledger", "verify", os.path.join(vault, "ledger")], ok=None)
    check(p.returncode == 0, "the ledger verifies after the session")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
