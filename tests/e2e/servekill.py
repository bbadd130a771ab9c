"""servekill.py: SIGKILLs of `pacsvault serve` during multi-association C-STORE (issue #17 must-show 4).

300 synthetic instances (each its own SOP Instance UID, made from
python3-pydicom's CT_small) are sent by four storescu processes at a
time; the server is killed at a random moment in each of 50 rounds and
started again. storescu -v says which instances got a successful
C-STORE-RSP: each of those must be in the vault with exactly the data set
sent, and the vault and its ledger must check clean.
"""
import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish, free_port  # noqa: E402

PV = os.environ.get("PV_RELEASE") or os.environ["PV"]
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")
ROUNDS = int(os.environ.get("SERVEKILL_ROUNDS", "50"))


def run(args, ok=(0,), **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, **kw)
    if ok is not None and p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode, p.stderr.decode()[-800:]))
    return p


def dataset_bytes(path):
    b = open(path, "rb").read()
    return b[144 + int.from_bytes(b[140:144], "little"):]


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    rnd = random.Random(17)
    src = os.path.join(root, "src")
    os.makedirs(src)
    base = pydicom.dcmread(os.path.join(DATA, "test_files", "CT_small.dcm"))
    if 0xFFFCFFFC in base:
        del base[0xFFFCFFFC]   # storescu does not send a file's trailing padding
    study = "2.25.%d" % rnd.getrandbits(100)
    files = []
    for i in range(300):
        ds = base.copy()
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = "2.25.%d" % rnd.getrandbits(100)
        ds.SOPInstanceUID = "2.25.%d" % rnd.getrandbits(100)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PatientID = "KILL%04d" % (i % 7)
        ds.InstanceNumber = i + 1
        p = os.path.join(src, "f%03d.dcm" % i)
        ds.save_as(p, write_like_original=False)
        files.append(p)
    uid_of = {p: str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in files}
    mk = os.path.join(root, "master.key")
    vault = os.path.join(root, "vault")
    run([PV, "keygen", "--type", "master", "-o", mk])
    run([PV, "vault", "init", vault, "--master-key", mk])
    va = ["--vault", vault, "--master-key", mk]
    run([PV, "user", "add", "ct-kill", "--role", "modality"] + va, input=b"synthetic-kill-pass\n")
    port = free_port()
    conf = os.path.join(root, "serve.ini")
    with open(conf, "w") as f:
        f.write("[server]\ndimse = 127.0.0.1:%d\n" % port)
    acked = set()
    kills = 0
    journaled = 0
    for r in range(ROUNDS):
        log = open(os.path.join(root, "serve-%02d.log" % r), "wb")
        srv = subprocess.Popen([PV, "serve", "--config", conf] + va, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if b"listening on" in open(log.name, "rb").read():
                break
            time.sleep(0.02)
        batch = rnd.sample(files, 60)
        clients = []
        for k in range(4):
            part = batch[k::4]
            clients.append(subprocess.Popen(
                ["storescu", "-v", "-aec", "PACSVAULT", "-usr", "ct-kill", "-pwd", "synthetic-kill-pass",
                 "127.0.0.1", str(port)] + part, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        time.sleep(rnd.uniform(0.2, 1.6))
        srv.send_signal(signal.SIGKILL)
        srv.wait()
        kills += 1
        jp = os.path.join(vault, "ledger", "journal")
        if os.path.exists(jp) and os.path.getsize(jp) > 0:
            journaled += 1   # batches only in the ledger's journal: the next open replays them
        for c in clients:
            out = c.communicate(timeout=120)[0].decode(errors="replace")
            sending = None
            for line in out.splitlines():
                m = re.search(r"Sending file: (\S+)", line)
                if m:
                    sending = m.group(1)
                elif "Received Store Response (Success)" in line and sending is not None:
                    acked.add(sending)
                    sending = None
        log.close()
    check(kills == ROUNDS and len(acked) > 0, "serve killed %d times during 4-association stores; %d distinct "
          "instances acknowledged" % (kills, len(acked)))
    check(journaled > 0, "%d of the kills left acknowledged audit events in the ledger's journal only "
          "(replayed by the next open)" % journaled)
    # started once more after the last kill, as an operator would: its open settles what that kill left in tmp/
    log = open(os.path.join(root, "serve-last.log"), "wb")
    srv = subprocess.Popen([PV, "serve", "--config", conf] + va, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline and b"listening on" not in open(log.name, "rb").read():
        time.sleep(0.02)
    srv.send_signal(signal.SIGTERM)
    check(srv.wait(timeout=60) == 0, "serve starts again after the last kill and stops cleanly")
    log.close()
    p = run([PV, "vault", "fsck"] + va, ok=None)
    check(p.returncode == 0, "vault fsck is clean after the kills (%s)" % p.stdout.decode().strip()[-120:])
    got = os.path.join(root, "got")
    run([PV, "get", study, "-o", got] + va)
    have = {}
    for f in glob.glob(os.path.join(got, "**", "*.dcm"), recursive=True):
        have[str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)] = f
    missing = [p for p in acked if uid_of[p] not in have]
    differ = [p for p in acked if uid_of[p] in have and dataset_bytes(have[uid_of[p]]) != dataset_bytes(p)]
    check(not missing and not differ, "every acknowledged instance is in the vault with the data set sent "
          "(%d acknowledged, %d missing, %d differ)" % (len(acked), len(missing), len(differ)))
    ev = json.loads(run([PV, "ledger", "show", "--json"] + va).stdout.decode())
    imported = {o["id"] for e in ev if e["event"] == 110107 for o in e["objects"] if o["type"] == "instance"}
    check(len(imported) >= len(acked), "the ledger holds an Import event for every acknowledged instance "
          "(%d events, %d acknowledged)" % (len(imported), len(acked)))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
