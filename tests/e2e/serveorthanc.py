"""serveorthanc.py: pacsvault serve and Orthanc as peers over DICOM TLS (issue #17 must-show 1)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish, free_port  # noqa: E402

PV = os.environ["PV"]
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")
FILES = [os.path.join(DATA, "test_files", f) for f in ("CT_small.dcm", "MR_small.dcm")]


def run(args, ok=(0,), **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    if ok is not None and p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode, p.stderr.decode()[-800:]))
    return p


def http(port, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, method=method)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read().decode() or "null")


def wait_port(port, deadline=30):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    root = sys.argv[1]
    pki = os.path.join(root, "pki")
    os.makedirs(pki)
    o = lambda *a: run(["openssl"] + list(a))
    o("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      "-subj", "/CN=pacsvault test CA", "-keyout", pki + "/ca.key", "-out", pki + "/ca.crt")
    for name in ("server", "orthanc", "dr"):
        o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
          "-keyout", "%s/%s.key" % (pki, name), "-out", "%s/%s.csr" % (pki, name))
        with open("%s/%s.ext" % (pki, name), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        o("x509", "-req", "-in", "%s/%s.csr" % (pki, name), "-CA", pki + "/ca.crt", "-CAkey", pki + "/ca.key",
          "-CAcreateserial", "-days", "2", "-out", "%s/%s.crt" % (pki, name), "-extfile", "%s/%s.ext" % (pki, name))
        os.chmod("%s/%s.key" % (pki, name), 0o600)
    mk = os.path.join(root, "master.key")
    vault = os.path.join(root, "vault")
    run([PV, "keygen", "--type", "master", "-o", mk])
    run([PV, "vault", "init", vault, "--master-key", mk])
    va = ["--vault", vault, "--master-key", mk]
    run([PV, "user", "add", "orthanc", "--role", "modality", "--cert", pki + "/orthanc.crt", "--ae", "ORTHANC"] + va)
    run([PV, "user", "add", "dr", "--role", "clinician", "--cert", pki + "/dr.crt"] + va)
    pport, oport, ohttp = free_port(), free_port(), free_port()
    conf = os.path.join(root, "serve.ini")
    with open(conf, "w") as f:
        f.write("[server]\ndimse = 127.0.0.1:%d\ntls_cert = pki/server.crt\ntls_key = pki/server.key\n"
                "anonymous = none\n[peer \"ORTHANC\"]\nhost = 127.0.0.1\nport = %d\ntls = yes\nca = pki/ca.crt\n"
                % (pport, oport))
    od = os.path.join(root, "orthanc")
    os.makedirs(od + "/db")
    with open(od + "/orthanc.json", "w") as f:
        json.dump({
            "Name": "peer", "StorageDirectory": od + "/db", "IndexDirectory": od + "/db", "HttpPort": ohttp,
            "DicomPort": oport, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
            "Plugins": [], "DicomCheckCalledAet": False, "DicomAlwaysAllowStore": True,
            "DicomTlsEnabled": True, "DicomTlsCertificate": pki + "/orthanc.crt",
            "DicomTlsPrivateKey": pki + "/orthanc.key", "DicomTlsTrustedCertificates": pki + "/ca.crt",
            "DicomTlsRemoteCertificateRequired": True,
            "DicomModalities": {"pv": {"AET": "PACSVAULT", "Host": "127.0.0.1", "Port": pport, "UseDicomTls": True}},
        }, f)
    olog = open(od + "/log", "wb")
    orth = subprocess.Popen(["Orthanc", od + "/orthanc.json"], stdout=olog, stderr=subprocess.STDOUT)
    slog = open(os.path.join(root, "serve.log"), "w+b")
    srv = subprocess.Popen([PV, "serve", "--config", conf] + va, stdout=subprocess.DEVNULL, stderr=slog)
    try:
        if not (wait_port(ohttp) and wait_port(pport)):
            raise RuntimeError("Orthanc or serve did not start")
        ids = [http(ohttp, "POST", "/instances", open(f, "rb").read())["ID"] for f in FILES]
        r = http(ohttp, "POST", "/modalities/pv/store", json.dumps({"Resources": ids, "Synchronous": True}).encode())
        got = json.loads(run([PV, "find", "--json", "--level", "IMAGE", "SOPInstanceUID="] + va).stdout.decode())
        check(r is not None and len(got) == 2, "Orthanc C-STOREs two instances into pacsvault over DICOM TLS, as "
              "a modality user pinned by its certificate (%d stored)" % len(got))
        ev = json.loads(run([PV, "ledger", "show", "--json", "--event", "110107"] + va).stdout.decode())
        check(len(ev) == 2 and all(p_["user"] == "orthanc" and p_["ae"] == "ORTHANC" for e in ev
                                   for p_ in e["participants"] if p_["requestor"]),
              "their Import events name the user orthanc and its calling AE title")
        # Storage commitment: Orthanc asks (N-ACTION), pacsvault reports on a new association (N-EVENT-REPORT)
        refs = []
        for i in ids:
            tags = http(ohttp, "GET", "/instances/%s/simplified-tags" % i)
            refs.append({"SOPClassUID": tags["SOPClassUID"], "SOPInstanceUID": tags["SOPInstanceUID"]})

        def commit(instances):
            tx = http(ohttp, "POST", "/modalities/pv/storage-commitment",
                      json.dumps({"DicomInstances": instances}).encode())["ID"]
            end = time.time() + 30
            while time.time() < end:
                rep = http(ohttp, "GET", "/storage-commitment/" + tx)
                if rep.get("Status") != "Pending":
                    return rep
                time.sleep(0.1)
            return {"Status": "Pending"}
        rep = commit(refs)
        check(rep.get("Status") == "Success" and len(rep.get("Success", [])) == 2,
              "storage commitment of the two stored instances: both committed (Orthanc's report: %s)"
              % rep.get("Status"))
        rep = commit(refs + [{"SOPClassUID": refs[0]["SOPClassUID"], "SOPInstanceUID": "2.25.1234567890"}])
        check(rep.get("Status") == "Failure" and len(rep.get("Success", [])) == 2 and len(rep.get("Failures", [])) == 1,
              "storage commitment with an instance never stored: two committed, one failed (no such object)")
        for i in ids:
            http(ohttp, "DELETE", "/instances/" + i)
        check(http(ohttp, "GET", "/statistics")["CountInstances"] == 0, "(Orthanc emptied)")
        # movescu has no TLS: it reaches serve through stunnel with the clinician's certificate
        lport = free_port()
        sconf = os.path.join(root, "stunnel.conf")
        with open(sconf, "w") as f:
            f.write("foreground = yes\npid =\n[d]\nclient = yes\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                    "cert = %s/dr.crt\nkey = %s/dr.key\nCAfile = %s/ca.crt\nverifyChain = yes\ncheckIP = 127.0.0.1\n"
                    % (lport, pport, pki, pki, pki))
        st = subprocess.Popen(["stunnel4", sconf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(lport)
        study = [r_["StudyInstanceUID"] for r_ in
                 json.loads(run([PV, "find", "--json", "StudyInstanceUID="] + va).stdout.decode())]
        for u in study:
            run(["movescu", "-aec", "PACSVAULT", "-aem", "ORTHANC", "-S", "-k", "QueryRetrieveLevel=STUDY",
                 "-k", "StudyInstanceUID=" + u, "127.0.0.1", str(lport)], ok=None)
        st.terminate()
        st.wait()
        n = http(ohttp, "GET", "/statistics")["CountInstances"]
        check(n == 2, "pacsvault C-MOVEs both studies to Orthanc, a configured peer, over DICOM TLS (%d received)" % n)
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=60)
        orth.terminate()
        orth.wait(timeout=60)
    slog.seek(0)
    log = slog.read().decode(errors="replace")
    check("C-MOVE STUDY of 1 UIDs to ORTHANC (TLS)" in log, "serve's log shows the C-MOVEs over TLS")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
