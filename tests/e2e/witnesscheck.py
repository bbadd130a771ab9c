"""witnesscheck.py: witnesses of the ledger.

1. The witness (`ledger witness add-checkpoint`) follows C2SP tlog-witness
   on the stateful sequence of tests/vectors/witness_add_checkpoint.json
   (from FiloSottile/torchwood's litewitness tests): the status of every
   step (200 403 404 409 422), the size it keeps, the size a 409 reports, and
   200 answers that verify as cosignature/v1 under the vector's witness key
   with an independent Python implementation of C2SP tlog-cosignature.
2. A log cosigned by two witnesses: `ledger prove` bundles carry the
   cosignatures; `verify-proof --policy` accepts when the quorum is met and
   refuses when it is not, when a cosignature is forged or belongs to
   another checkpoint; a witness refuses a forked log (same size, another
   root) and a rollback.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ["PV"]
HERE = os.path.dirname(os.path.abspath(__file__))


def run(args, ok=(0,), inp=None):
    p = subprocess.run([PV] + args, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode, p.stderr.decode()[-400:]))
    return p


def parse_vkey(vkey):
    name, kid, b = vkey.split("+", 2)
    raw = base64.b64decode(b)
    return name, bytes.fromhex(kid), raw[0], raw[1:]


def cosig_ok(line, vkey, text):
    """C2SP tlog-cosignature: '— NAME base64(keyid || u64be(ts) || sig)' over
    'cosignature/v1\\ntime TS\\n' || the checkpoint text."""
    name, kid, typ, pub = parse_vkey(vkey)
    if typ != 4 or not line.startswith("\u2014 " + name + " "):
        return False
    blob = base64.b64decode(line.split(" ")[2])
    want_kid = hashlib.sha256(name.encode() + b"\n" + bytes([4]) + pub).digest()[:4]
    if len(blob) != 76 or blob[:4] != kid or kid != want_kid:
        return False
    ts = int.from_bytes(blob[4:12], "big")
    msg = b"cosignature/v1\ntime %d\n" % ts + text
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(blob[12:], msg)
        return abs(ts - time.time()) < 600
    except Exception:
        return False


def vector_sequence(root):
    v = json.load(open(os.path.join(HERE, "..", "vectors", "witness_add_checkpoint.json")))
    w = os.path.join(root, "vector-witness")
    os.makedirs(os.path.join(w, "logs"))
    with open(os.path.join(w, "key"), "wb") as f:
        f.write(bytes.fromhex(v["witness_ed25519_seed_hex"]))
    os.chmod(os.path.join(w, "key"), 0o600)
    with open(os.path.join(w, "name"), "w") as f:
        f.write(v["witness_name"])
    state = os.path.join(w, "logs", hashlib.sha256(v["log_origin"].encode()).hexdigest())
    bad = []
    for s in v["steps"]:
        req = os.path.join(root, "req-%d" % s["step"])
        with open(req, "w", encoding="utf-8") as f:
            f.write(s["request_body"])
        p = run(["ledger", "witness", "add-checkpoint", w, "--log-vkey", v["log_vkey"], req], ok=(0, 1))
        want = s["expect_status_c2sp"]
        err = p.stderr.decode()
        got = 200 if p.returncode == 0 else int(err.split("witness: ")[1][:3]) if "witness: " in err else -1
        size = int(open(state).read().split()[1]) if os.path.exists(state) else 0
        ok = got == want and size == s["witness_state_after"]
        if want == 200:
            text = s["request_body"].split("\n\n", 1)[1].split("\n\n")[0].encode() + b"\n"
            ok = ok and cosig_ok(p.stdout.decode().rstrip("\n"), v["witness_vkey"], text)
        if want == 409:
            ok = ok and p.stdout.decode() == "%d\n" % s["witness_state_after"]
        if not ok:
            bad.append((s["step"], want, got, size, err.strip()[-120:]))
    check(not bad, "the tlog-witness sequence of %d steps (torchwood litewitness): every status, size "
          "and cosignature as C2SP requires%s" % (len(v["steps"]), (": " + str(bad)) if bad else ""))
    # The witness's key as the vector's vkey.
    p = run(["ledger", "witness", "init", os.path.join(root, "w-fresh"), "--name", "example.com/witness"])
    name, kid, typ, pub = parse_vkey(p.stdout.decode().strip())
    check(typ == 4 and kid == hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4],
          "witness init prints a cosignature/v1 vkey (type 0x04, key id per C2SP)")


def policy_flow(root):
    log = os.path.join(root, "log")
    vk = run(["ledger", "init", log, "--origin", "pacsvault.test/witnessed"]).stdout.decode().strip()
    run(["ledger", "append", log], inp=b"".join(b"event %d\n" % i for i in range(20)))
    run(["ledger", "checkpoint", log])
    wk = {}
    for w in ("w1", "w2", "w3"):
        wk[w] = run(["ledger", "witness", "init", os.path.join(root, w), "--name", w + ".example"]).stdout.decode().strip()

    def witness(w, old):
        req = run(["ledger", "witness-request", log, "--old", str(old)]).stdout
        p = run(["ledger", "witness", "add-checkpoint", os.path.join(root, w), "--log-vkey", vk, "-"], ok=(0, 1), inp=req)
        return p

    for w in ("w1", "w2"):
        p = witness(w, 0)
        run(["ledger", "cosignature", log, "--witness-vkey", wk[w], "-"], inp=p.stdout)
    pol = os.path.join(root, "policy")
    with open(pol, "w") as f:
        f.write("# two of three witnesses\nlog %s\nwitness a %s\nwitness b %s\nwitness c %s\n"
                "group two 2 a b c\nquorum two\n" % (vk, wk["w1"], wk["w2"], wk["w3"]))
    bundle = os.path.join(root, "bundle")
    with open(bundle, "wb") as f:
        f.write(run(["ledger", "prove", log, "--index", "7"]).stdout)
    entry = os.path.join(root, "e7")
    with open(entry, "wb") as f:
        f.write(b"event 7")
    p = run(["ledger", "verify-proof", bundle, "--policy", pol, "--entry", entry], ok=(0, 1))
    check(p.returncode == 0 and b"quorum met" in p.stdout, "two of three witnesses cosigned: the policy's quorum "
          "is met (%s)" % p.stdout.decode().strip()[-80:])
    pol3 = os.path.join(root, "policy-all")
    with open(pol3, "w") as f:
        f.write("log %s\nwitness a %s\nwitness b %s\nwitness c %s\ngroup all3 all a b c\nquorum all3\n"
                % (vk, wk["w1"], wk["w2"], wk["w3"]))
    p = run(["ledger", "verify-proof", bundle, "--policy", pol3, "--entry", entry], ok=(1,))
    check(b"quorum of the policy is not met" in p.stderr, "a quorum of all three is not met by two")
    # A forged cosignature (one bit of w2's signature flipped).
    raw = open(bundle, "rb").read().decode()
    lines = raw.split("\n")
    k = next(i for i, l in enumerate(lines) if l.startswith("\u2014 w2.example "))
    b = bytearray(base64.b64decode(lines[k].split(" ")[2]))
    b[40] ^= 1
    lines[k] = "\u2014 w2.example " + base64.b64encode(bytes(b)).decode()
    forged = os.path.join(root, "bundle-forged")
    with open(forged, "w") as f:
        f.write("\n".join(lines))
    p = run(["ledger", "verify-proof", forged, "--policy", pol, "--entry", entry], ok=(1,))
    check(b"cosignature of w2.example does not verify" in p.stderr, "a forged cosignature is refused")
    # The independent check of the kept cosignatures.
    note = raw[raw.index("pacsvault.test/witnessed\n"):]
    body = note.split("\n\n")[0].encode() + b"\n"
    cos = [l for l in note.split("\n") if l.startswith("\u2014 w")]
    check(len(cos) == 2 and all(cosig_ok(l, wk["w%s" % l[3]], body) for l in cos),
          "the bundle's cosignatures verify with an independent implementation of C2SP tlog-cosignature")
    # The log grows: the witnesses follow with consistency proofs; a fork and a rollback are refused.
    run(["ledger", "append", log], inp=b"".join(b"event %d\n" % i for i in range(20, 35)))
    run(["ledger", "checkpoint", log])
    p = witness("w1", 20)
    check(p.returncode == 0 and p.stdout.startswith("\u2014 w1.example ".encode()),
          "a witness cosigns the grown log with the consistency proof from 20 to 35")
    fork = os.path.join(root, "fork")
    run(["ledger", "init", fork, "--origin", "pacsvault.test/witnessed"])
    os.replace(os.path.join(fork, "key"), os.path.join(fork, "key.own"))
    import shutil
    shutil.copy(os.path.join(log, "key"), os.path.join(fork, "key"))
    os.chmod(os.path.join(fork, "key"), 0o600)
    run(["ledger", "append", fork], inp=b"".join(b"other %d\n" % i for i in range(35)))
    run(["ledger", "checkpoint", fork])
    req = run(["ledger", "witness-request", fork, "--old", "35"]).stdout
    p = run(["ledger", "witness", "add-checkpoint", os.path.join(root, "w1"), "--log-vkey", vk, "-"], ok=(1,), inp=req)
    check(b": 422:" in p.stderr or b" 422: " in p.stderr,
          "a forked log (same key and size, another root) is refused (%s)" % p.stderr.decode().strip()[-60:])
    req = run(["ledger", "witness-request", fork, "--old", "0"]).stdout
    p = run(["ledger", "witness", "add-checkpoint", os.path.join(root, "w1"), "--log-vkey", vk, "-"], ok=(1,), inp=req)
    check(b"409" in p.stderr and p.stdout == b"35\n", "asked from size 0 after 35: 409 and the witness's size")
    p = run(["ledger", "verify-proof", bundle, "--vkey", vk, "--entry", entry])
    check(p.returncode == 0, "without a policy the bundle still verifies against the log's key alone")


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    vector_sequence(root)
    policy_flow(root)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
