#!/usr/bin/python3
"""fuzz/pdu_seeds.py DIR: seeds for fuzz_pdu, what real dcmtk clients send.

A loopback acceptor answers each client's A-ASSOCIATE-RQ with an
A-ASSOCIATE-AC that accepts every context (its first transfer syntax),
records every byte the client sends until it stops (a second), and keeps
the transcript as one seed: echoscu, storescu (with a user name and
passcode), findscu and getscu (SCP role selection)."""
import os
import socket
import struct
import subprocess
import sys
import threading

out = sys.argv[1]


def ac_for(rq):
    body = rq[6:]
    called, calling = body[4:20], body[20:36]
    items, i, pcs = body[68:], 0, []
    while i + 4 <= len(items):
        t, l = items[i], struct.unpack(">H", items[i + 2:i + 4])[0]
        v = items[i + 4:i + 4 + l]
        if t == 0x20:
            j, ts = 4, None
            while j + 4 <= len(v):
                st, sl = v[j], struct.unpack(">H", v[j + 2:j + 4])[0]
                if st == 0x40 and ts is None:
                    ts = v[j + 4:j + 4 + sl]
                j += 4 + sl
            pcs.append((v[0], ts or b"1.2.840.10008.1.2"))
        i += 4 + l
    it = b"\x10\x00" + struct.pack(">H", 21) + b"1.2.840.10008.3.1.1.1"
    for cid, ts in pcs:
        sub = b"\x40\x00" + struct.pack(">H", len(ts)) + ts
        it += b"\x21\x00" + struct.pack(">H", 4 + len(sub)) + bytes([cid, 0, 0, 0]) + sub
    ui = b"\x51\x00\x00\x04" + struct.pack(">I", 16384)
    it += b"\x50\x00" + struct.pack(">H", len(ui)) + ui
    b = struct.pack(">HH", 1, 0) + called + calling + bytes(32) + it
    return b"\x02\x00" + struct.pack(">I", len(b)) + b


def serve(sock, name):
    c, _ = sock.accept()
    c.settimeout(1.0)
    data = b""
    try:
        while len(data) < 6 or len(data) < 6 + struct.unpack(">I", data[2:6])[0]:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.sendall(ac_for(data))
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, OSError):
        pass
    c.close()
    open(os.path.join(out, "seed-" + name), "wb").write(data)


ct = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"
clients = {
    "echoscu": ["echoscu", "-to", "2"],
    "storescu-identity": ["storescu", "-to", "2", "-usr", "someone", "-pwd", "secret", "-xs"],
    "findscu": ["findscu", "-to", "2", "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=PLANT1"],
    "getscu": ["getscu", "-to", "2", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3"],
}
os.makedirs(out, exist_ok=True)
for name, argv in clients.items():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    t = threading.Thread(target=serve, args=(s, name))
    t.start()
    args = argv + ["127.0.0.1", str(port)]
    if name.startswith("storescu"):
        args.append(ct)
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    t.join(10)
    s.close()
