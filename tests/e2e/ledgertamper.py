#!/usr/bin/env python3
"""ledgertamper.py ROOT: the audit trail of a vault against someone who can
write the vault folder but does not hold the master key (issue 16, Must show 5).

The attacker's tools are written here, independently of the C code: an RFC
6962 tree, C2SP checkpoints signed as signed notes with Ed25519
(python3-cryptography). Each trial copies a vault whose ledger signs every
commit with a seed sealed under the master key, and whose checkpoints are
copied to a file outside the vault folder, then:

  1. cuts the ledger's tail at a checkpoint and rewrites HEAD, the tree and
     the checkpoints to match (a consistent, shorter log);
  2. rewrites one entry, rebuilds the tree and re-signs every checkpoint with
     a key of its own, replacing the verifier key in the folder;
  3. drops the last checkpoint; drops one in the middle;
  4. appends an entry of its own without a checkpoint;
  7. removes the checkpoint copy;
and each must be detected and named by `ledger verify` (with the published
verifier key or the checkpoint copy), by `vault fsck`, and by the next
writer, which refuses to sign over it. An auditor's copy of the ledger
verifies with only the verifier key and the outside checkpoints. A vault made
before the seed was sealed (its seed in clear in ledger/key) is converted by
its next writer. The seed never lies in clear in the vault folder.
"""
import base64
import glob
import hashlib
import os
import shutil
import struct
import subprocess
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402
from vaultcheck import read_key, unseal  # noqa: E402

PV = os.environ["PV"]
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")


def pv(args, ok=(0,)):
    p = subprocess.run([PV] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:2]), p.returncode, p.stderr.decode()[-800:]))
    return p


# ---- the attacker's log tools: RFC 6962 / 9162 and C2SP signed notes ----

def leaf_hash(e):
    return hashlib.sha256(b"\x00" + e).digest()


def node_hash(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def mth(leaves):
    if len(leaves) == 0:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def read_entries(d):
    idx = open(os.path.join(d, "entries.idx"), "rb").read()
    dat = open(os.path.join(d, "entries.dat"), "rb").read()
    n = int(open(os.path.join(d, "HEAD")).read().split("size ")[1].split("\n")[0])
    out = []
    for i in range(n):
        off = struct.unpack(">Q", idx[8 * i:8 * i + 8])[0]
        ln = struct.unpack(">I", dat[off:off + 4])[0]
        out.append(dat[off + 4:off + 4 + ln])
    return out


def read_checkpoints(d):
    b = open(os.path.join(d, "checkpoints"), "rb").read()
    out, pos = [], 0
    while pos + 4 <= len(b):
        ln = struct.unpack(">I", b[pos:pos + 4])[0]
        out.append(b[pos + 4:pos + 4 + ln])
        pos += 4 + ln
    return out


def cp_size(note):
    return int(note.split(b"\n")[1])


def write_log(d, entries, cp_notes):
    """Writes entries, every tree level, the checkpoints and HEAD as the C code lays them out."""
    dat, idx = bytearray(), bytearray()
    for e in entries:
        idx += struct.pack(">Q", len(dat))
        dat += struct.pack(">I", len(e)) + e
    open(os.path.join(d, "entries.dat"), "wb").write(dat)
    open(os.path.join(d, "entries.idx"), "wb").write(idx)
    level = [leaf_hash(e) for e in entries]
    for f in glob.glob(os.path.join(d, "tree.*")):
        os.unlink(f)
    k = 0
    while level:
        open(os.path.join(d, "tree.%d" % k), "wb").write(b"".join(level))
        level = [node_hash(level[2 * i], level[2 * i + 1]) for i in range(len(level) // 2)]
        k += 1
    open(os.path.join(d, "checkpoints"), "wb").write(b"".join(struct.pack(">I", len(n)) + n for n in cp_notes))
    open(os.path.join(d, "HEAD"), "w").write("pacsvault-ledger 1\nsize %d\n" % len(entries))


def key_id(name, pub):
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + pub).digest()[:4]


def sign_checkpoint(origin, entries, size, priv, pub):
    body = ("%s\n%d\n%s\n" % (origin, size, base64.b64encode(mth([leaf_hash(e) for e in entries[:size]])).decode())).encode()
    sig = priv.sign(body)
    return body + b"\n" + ("\u2014 %s " % origin).encode() + base64.b64encode(key_id(origin, pub) + sig) + b"\n"


def vkey_of(origin, pub):
    return "%s+%s+%s" % (origin, key_id(origin, pub).hex(), base64.b64encode(b"\x01" + pub).decode())


def fails(args, words):
    p = pv(args, ok=(0, 1))
    err = p.stderr.decode()
    return p.returncode == 1 and all(w in err for w in words), err.strip().splitlines()[-1:] if err else ""


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    mk = os.path.join(root, "master.key")
    pv(["keygen", "--type", "master", "-o", mk])
    base = os.path.join(root, "vault")
    copy = os.path.join(root, "outside", "checkpoints.txt")
    os.makedirs(os.path.dirname(copy))
    out = pv(["vault", "init", base, "--master-key", mk, "--checkpoint-copy", copy]).stdout.decode()
    vkey = out.split("verifier key: ")[1].split()[0]
    files = sorted(f for f in glob.glob(os.path.join(DATA, "test_files", "*.dcm"))
                   if os.path.getsize(f) < 400000)[:12]
    va = ["--vault", base, "--master-key", mk]
    pv(["import"] + va + files[:6], ok=(0, 1))
    pv(["import"] + va + files[6:], ok=(0, 1))
    pv(["find"] + va + ["--level", "IMAGE"])
    pv(["ledger", "show", "--vault", base, "--master-key", mk])
    led = os.path.join(base, "ledger")
    origin = open(os.path.join(led, "origin")).read()
    entries = read_entries(led)
    cps = read_checkpoints(led)

    # 0. The key: sealed, never in clear; every commit signed; the copy outside has them all.
    seed = unseal(os.path.join(base, "ledger.sign.pvo"), read_key(mk))
    found = [p for p in glob.glob(os.path.join(base, "**"), recursive=True)
             if os.path.isfile(p) and seed in open(p, "rb").read()]
    check(len(seed) == 32 and not os.path.exists(os.path.join(led, "key")) and not found,
          "the ledger's signing seed is sealed (ledger.sign.pvo): no ledger/key, in no vault file in clear")
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    check(vkey == vkey_of(origin, pub), "vault init prints the verifier key of the sealed seed")
    check(len(cps) >= 5 and cp_size(cps[-1]) == len(entries) and
          sorted(set(cp_size(c) for c in cps)) == [cp_size(c) for c in cps],
          "every commit signed a checkpoint (%d entries, %d checkpoints, the last of every entry)" %
          (len(entries), len(cps)))
    copied = open(copy, "rb").read()
    check(all(c in copied for c in cps), "every checkpoint was copied outside the vault folder")
    p = pv(["ledger", "verify", led, "--vkey", vkey, "--checkpoint", copy])
    check(b"are in the log" in p.stdout, "the untouched ledger verifies with the published key and the copy")
    p = pv(["vault", "fsck"] + va, ok=(0, 1))
    check(p.returncode == 0, "vault fsck is clean on the untouched vault")
    p = pv(["vault", "checkpoint-copy", os.path.join(base, "inside.txt")] + va, ok=(2,))
    check(b"outside the vault folder" in p.stderr, "a checkpoint copy inside the vault folder is refused")

    def trial(name):
        """A copy of the vault with a checkpoint copy of its own (set before any tampering)."""
        d = os.path.join(root, name)
        shutil.copytree(base, d)
        c = os.path.join(root, "outside", name + ".txt")
        shutil.copyfile(copy, c)
        pv(["vault", "checkpoint-copy", c, "--vault", d, "--master-key", mk])
        ld = os.path.join(d, "ledger")
        return d, ld, c, read_entries(ld), read_checkpoints(ld)

    # 1. The tail cut at a checkpoint, HEAD, tree and checkpoints made to match.
    v1, l1, c1, entries, cps = trial("cut")
    keep = cp_size(cps[-3])
    write_log(l1, entries[:keep], [c for c in cps if cp_size(c) <= keep])
    p = pv(["ledger", "verify", l1, "--vkey", vkey], ok=(0, 1))
    check(p.returncode == 0, "1. a tail cut consistently (%d of %d entries) is a valid shorter log by itself" %
          (keep, len(entries)))
    ok, err = fails(["ledger", "verify", l1, "--vkey", vkey, "--checkpoint", c1], ["tail was cut"])
    check(ok, "1. ... the checkpoint copy names the cut: %s" % err)
    p = pv(["vault", "fsck", "--vault", v1, "--master-key", mk], ok=(0, 1))
    check(p.returncode == 1 and b"tail was cut" in p.stdout, "1. ... vault fsck names it: %s" %
          p.stdout.decode().splitlines()[:1])
    ok, err = fails(["find", "--vault", v1, "--master-key", mk], ["tail was cut", "not signing"])
    check(ok, "1. ... the next writer refuses to sign on top of the cut: %s" % err)
    cut_ledger = os.path.join(root, "cut-ledger")
    shutil.copytree(l1, cut_ledger)

    # 2. One entry rewritten, the tree rebuilt, every checkpoint re-signed with another key.
    v2, l2, c2, entries, cps = trial("rewrite")
    forged = list(entries)
    k = len(forged) // 2
    forged[k] = forged[k].replace(b"outcome 0", b"outcome 4", 1) if b"outcome 0" in forged[k] else forged[k] + b" "
    atk = Ed25519PrivateKey.generate()
    apub = atk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    write_log(l2, forged, [sign_checkpoint(origin, forged, cp_size(c), atk, apub) for c in cps])
    open(os.path.join(l2, "vkey"), "w").write(vkey_of(origin, apub) + "\n")
    p = pv(["ledger", "verify", l2], ok=(0, 1))
    check(p.returncode == 0 and b"could replace" in p.stderr,
          "2. a rewritten and re-signed log passes only against its own (replaced) vkey, with a warning")
    ok, err = fails(["ledger", "verify", l2, "--vkey", vkey], ["checkpoint 1"])
    check(ok, "2. ... the published verifier key names it: %s" % err)
    ok, err = fails(["ledger", "verify", l2, "--checkpoint", c2], ["does not verify"])
    check(ok, "2. ... the checkpoint copy names it without the key: %s" % err)
    ok, err = fails(["vault", "fsck", "--vault", v2, "--master-key", mk], ["replaced"])
    check(ok, "2. ... vault fsck (the key the vault keeps sealed) names it: %s" % err)
    ok, err = fails(["find", "--vault", v2, "--master-key", mk], ["replaced"])
    check(ok, "2. ... the next writer of an audit event refuses to sign: %s" % err)
    # The same with the attacker's key file beside it (a log that keeps its own key).
    open(os.path.join(l2, "key"), "wb").write(atk.private_bytes(serialization.Encoding.Raw,
                                                                serialization.PrivateFormat.Raw,
                                                                serialization.NoEncryption()))
    os.chmod(os.path.join(l2, "key"), 0o600)
    ok, err = fails(["vault", "fsck", "--vault", v2, "--master-key", mk], ["another ledger signing key"])
    check(ok, "2. ... and with a key file of the attacker's put in the ledger: %s" % err)

    # 3. Checkpoints dropped: the last one; one in the middle.
    v3, l3, c3, entries, cps = trial("drop-last")
    write_log(l3, entries, cps[:-1])
    ok, err = fails(["ledger", "verify", l3, "--vkey", vkey], ["covered by no signed checkpoint"])
    check(ok, "3. the last checkpoint dropped: the uncovered entries are named: %s" % err)
    ok, err = fails(["find", "--vault", v3, "--master-key", mk], ["not signing over"])
    check(ok, "3. ... the next writer refuses to sign over them: %s" % err)
    v4, l4, c4, entries, cps = trial("drop-middle")
    write_log(l4, entries, cps[:2] + cps[3:])
    p = pv(["ledger", "verify", l4, "--vkey", vkey], ok=(0, 1))
    check(p.returncode == 0, "3. a checkpoint dropped in the middle leaves a log whose signatures still cover all")
    ok, err = fails(["ledger", "verify", l4, "--vkey", vkey, "--checkpoint", c4], ["dropped"])
    check(ok, "3. ... the checkpoint copy names the dropped one: %s" % err)
    p = pv(["vault", "fsck", "--vault", v4, "--master-key", mk], ok=(0, 1))
    check(p.returncode == 1 and b"dropped" in p.stdout, "3. ... and vault fsck: %s" %
          p.stdout.decode().splitlines()[:1])

    # 4. An entry appended without the key.
    v5, l5, c5, entries, cps = trial("append")
    write_log(l5, entries + [b"pacsvault-audit 1\nevent 110100\n"], cps)
    ok, err = fails(["ledger", "verify", l5, "--vkey", vkey], ["covered by no signed checkpoint"])
    check(ok, "4. an entry appended without the key is named: %s" % err)
    ok, err = fails(["find", "--vault", v5, "--master-key", mk], ["not signing over"])
    check(ok, "4. ... and never signed by the next writer: %s" % err)

    # 7. The checkpoint copy removed (to hide a cut from fsck and the next writer): named, refused.
    v7, l7, c7, entries, cps = trial("copy-removed")
    os.unlink(c7)
    p = pv(["vault", "fsck", "--vault", v7, "--master-key", mk], ok=(0, 1))
    check(p.returncode == 1 and b"missing" in p.stdout, "7. the checkpoint copy removed: vault fsck names it: %s" %
          p.stdout.decode().splitlines()[:1])
    ok, err = fails(["find", "--vault", v7, "--master-key", mk], ["missing", "not signing"])
    check(ok, "7. ... the next writer refuses: %s" % err)
    c7b = os.path.join(root, "outside", "copy-removed-new.txt")
    pv(["vault", "checkpoint-copy", c7b, "--vault", v7, "--master-key", mk])
    p = pv(["find", "--vault", v7, "--master-key", mk], ok=(0, 1))
    check(p.returncode == 0 and os.path.getsize(c7b) > 0,
          "7. ... a copy set anew (made at once, then every checkpoint) lets the vault go on")

    # 5. The auditor's copy: only the ledger, the verifier key and the outside checkpoints.
    aud = os.path.join(root, "auditor")
    shutil.copytree(led, aud)
    os.unlink(os.path.join(aud, "vkey"))
    p = pv(["ledger", "verify", aud, "--vkey", vkey, "--checkpoint", copy], ok=(0, 1))
    check(p.returncode == 0, "5. an auditor's copy (no vkey file, no seed) verifies with the published key "
          "and the copy: %s" % p.stdout.decode().strip())
    ok, err = fails(["ledger", "verify", cut_ledger, "--vkey", vkey, "--checkpoint", c1], ["tail was cut"])
    check(ok, "5. ... and a cut copy fails there too: %s" % err)

    # 6. A vault of the earlier layout (seed in clear in ledger/key) is converted by its next writer.
    v6, l6, c6, entries, cps = trial("legacy")
    pv(["vault", "checkpoint-copy", "none", "--vault", v6, "--master-key", mk])
    entries = read_entries(l6)
    os.unlink(os.path.join(v6, "ledger.sign.pvo"))
    os.unlink(os.path.join(l6, "vkey"))
    write_log(l6, entries, [])
    fd = os.open(os.path.join(l6, "key"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, seed)
    os.close(fd)
    pv(["find", "--vault", v6, "--master-key", mk])
    conv = unseal(os.path.join(v6, "ledger.sign.pvo"), read_key(mk)) if os.path.exists(
        os.path.join(v6, "ledger.sign.pvo")) else b""
    p = pv(["ledger", "verify", l6, "--vkey", vkey], ok=(0, 1))
    check(conv == seed and not os.path.exists(os.path.join(l6, "key")) and p.returncode == 0 and
          pv(["vault", "fsck", "--vault", v6, "--master-key", mk], ok=(0, 1)).returncode == 0,
          "6. a vault whose ledger kept its seed in clear: sealed and the clear key removed by the next "
          "writer, every earlier entry signed then (%s)" % p.stdout.decode().strip())
    p = pv(["ledger", "checkpoint", l6], ok=(1,))
    check(b"sealed" in p.stderr, "ledger checkpoint refuses a vault's ledger (its key sealed)")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
