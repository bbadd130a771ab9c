"""ledgercheck.py: the audit log end to end.

Tampering (a changed byte in an entry, a deleted tail, two swapped entries,
a rewritten tree, a replaced checkpoint, a forged signature) is detected by
`ledger verify`, which names where; 50 SIGKILLs at random moments during
heavy appends: after each, the log verifies, holds every acknowledged
entry, and the next checkpoint is consistent with the previous one;
inclusion proofs verify offline with only the verifier key, and not for
another entry. Prints PASS:/FAIL: lines.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402

PV = os.environ["PV"]
PVR = os.environ.get("PV_RELEASE", PV)



def run(args, inp=None, ok=(0,), exe=None):
    p = subprocess.run([exe or PV, "ledger"] + args, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in ok:
        raise RuntimeError("ledger %s: exit %d: %s" % (args[0], p.returncode, p.stderr.decode()[-300:]))
    return p


def verify(d, exe=None):
    p = run(["verify", d], ok=(0, 1), exe=exe)
    return p.returncode, (p.stdout + p.stderr).decode()


def entry_offsets(d):
    idx = open(os.path.join(d, "entries.idx"), "rb").read()
    return [int.from_bytes(idx[i:i + 8], "big") for i in range(0, len(idx), 8)]


def auditor(root):
    """An auditor holds a copy of the ledger and its published verifier key, not
    the signing seed: `verify --vkey` checks it; a forger who rebuilds the log
    under the same name and re-signs it with a seed of his own passes a plain
    verify of his copy, and is caught by the published key."""
    orig = os.path.join(root, "aud-orig")
    vkey = run(["init", orig, "--origin", "pacsvault.test/audited"]).stdout.decode().strip()
    run(["append", orig], inp="".join("access %03d\n" % i for i in range(40)).encode())
    run(["checkpoint", orig])
    vf = os.path.join(root, "aud-vkey.txt")
    with open(vf, "w") as f:
        f.write(vkey + "\n")
    copy = os.path.join(root, "aud-copy")
    shutil.copytree(orig, copy)
    os.remove(os.path.join(copy, "key"))
    rc, out = verify(copy)
    check(rc == 0 and "could replace" in out, "an auditor's copy without the signing seed: a plain verify "
          "uses the folder's own vkey and says whoever writes the folder could replace it")
    os.remove(os.path.join(copy, "vkey"))
    rc, out = verify(copy)
    check(rc == 1 and "neither its key nor its verifier key" in out,
          "  without vkey either, a plain verify cannot: %s" % out.strip()[-100:])
    p = run(["verify", copy, "--vkey", vf], ok=(0, 1))
    check(p.returncode == 0 and b"40 entries and 1 checkpoints" in p.stdout,
          "  verify --vkey FILE (the published verifier key) checks it: %s" % (p.stdout + p.stderr).decode().strip())
    forged = os.path.join(root, "aud-forged")
    run(["init", forged, "--origin", "pacsvault.test/audited"])
    run(["append", forged], inp="".join("access %03d\n" % i for i in range(39)).encode())
    run(["checkpoint", forged])
    rc, out = verify(forged)
    p = run(["verify", forged, "--vkey", vf], ok=(0, 1))
    err = p.stderr.decode()
    check(rc == 0 and p.returncode == 1 and "checkpoint 1" in err,
          "  a log rebuilt and re-signed with another seed: verifies by itself, fails with the published key (%s)" %
          err.strip()[-120:])
    other = run(["init", os.path.join(root, "aud-other"), "--origin", "pacsvault.test/other"]).stdout.decode().strip()
    p = run(["verify", copy, "--vkey", other], ok=(0, 1))
    check(p.returncode == 1 and b"not this log" in p.stderr, "  another log's verifier key is refused, named")


def main():
    root = sys.argv[1]
    auditor(root)
    base = os.path.join(root, "base")
    vkey = run(["init", base, "--origin", "pacsvault.test/ledger"]).stdout.decode().strip()
    run(["append", base, "--batch", "64"], inp="".join("event %03d\n" % i for i in range(100)).encode())
    run(["checkpoint", base])
    run(["append", base], inp="".join("event %03d\n" % i for i in range(100, 250)).encode())
    run(["checkpoint", base])
    run(["append", base], inp="".join("event %03d\n" % i for i in range(250, 300)).encode())
    run(["checkpoint", base])
    rc, out = verify(base)
    check(rc == 0 and "300 entries and 3 checkpoints" in out, "a clean log verifies (%s)" % out.strip())

    def case(name, mutate, want):
        d = os.path.join(root, name)
        shutil.copytree(base, d)
        mutate(d)
        rc, out = verify(d)
        check(rc == 1 and want in out, "%s is detected: %s" % (name, out.strip().split("failed: ")[-1]))

    def change_byte(d):
        off = entry_offsets(d)[41] + 4 + 7
        with open(os.path.join(d, "entries.dat"), "r+b") as f:
            f.seek(off)
            c = f.read(1)
            f.seek(off)
            f.write(bytes([c[0] ^ 1]))
    case("changed-entry", change_byte, "entry 41:")

    def delete_tail(d):
        # cut the last 40 entries everywhere, as a careful intruder would, HEAD included
        offs = entry_offsets(d)
        n = len(offs) - 40
        os.truncate(os.path.join(d, "entries.dat"), offs[n])
        os.truncate(os.path.join(d, "entries.idx"), n * 8)
        k = 0
        while os.path.exists(os.path.join(d, "tree.%d" % k)):
            os.truncate(os.path.join(d, "tree.%d" % k), (n >> k) * 32)
            k += 1
        open(os.path.join(d, "HEAD"), "w").write("pacsvault-ledger 1\nsize %d\n" % n)
    case("deleted-tail", delete_tail, "checkpoint 3: size 300 is beyond the log's 260 entries")

    def cut_entries(d):
        offs = entry_offsets(d)
        os.truncate(os.path.join(d, "entries.dat"), offs[290] + 2)
    case("cut-entries-file", cut_entries, "entry 290:")

    def swap(d):
        offs = entry_offsets(d)
        p = os.path.join(d, "entries.dat")
        b = bytearray(open(p, "rb").read())
        a, c = offs[10], offs[11]
        ln = c - a
        b[a:a + ln], b[c:c + ln] = b[c:c + ln], b[a:a + ln]
        open(p, "wb").write(bytes(b))
    case("swapped-entries", swap, "entry 10:")

    def rewrite_tree(d):
        # change an entry and rebuild the whole tree to match: only the checkpoints can tell
        change_byte(d)
        lines = [run(["entry", base, "--index", str(i)]).stdout.decode().rstrip("\n") for i in range(300)]
        lines[41] = run(["entry", d, "--index", "41"], ok=(0,)).stdout.decode().rstrip("\n")
        fresh = os.path.join(root, "rebuilt")
        run(["init", fresh, "--origin", "pacsvault.test/ledger"])
        run(["append", fresh], inp=("\n".join(lines) + "\n").encode())
        for f in os.listdir(fresh):
            if f.startswith("tree.") or f.startswith("entries"):
                shutil.copy(os.path.join(fresh, f), os.path.join(d, f))
    case("rewritten-tree", rewrite_tree, "checkpoint 1: its root is not the root")

    def replace_checkpoint(d):
        other = os.path.join(root, "otherkey")
        run(["init", other, "--origin", "pacsvault.test/ledger"])
        run(["append", other], inp=b"x\n")
        note = run(["checkpoint", other]).stdout
        p = os.path.join(d, "checkpoints")
        b = open(p, "rb").read()
        n1 = int.from_bytes(b[0:4], "big")
        n2 = int.from_bytes(b[4 + n1:8 + n1], "big")
        rest = b[8 + n1 + n2:]
        open(p, "wb").write(b[:4 + n1] + len(note).to_bytes(4, "big") + note + rest)
    case("replaced-checkpoint", replace_checkpoint, "checkpoint 2:")

    def forge_signature(d):
        p = os.path.join(d, "checkpoints")
        b = bytearray(open(p, "rb").read())
        n1 = int.from_bytes(b[0:4], "big")
        i = 4 + n1 - 10  # inside the base64 signature of checkpoint 1
        b[i] = ord("A") if b[i] != ord("A") else ord("B")
        open(p, "wb").write(bytes(b))
    case("forged-signature", forge_signature, "checkpoint 1:")

    # Offline proofs with only the vkey.
    proof = os.path.join(root, "p.tlog-proof")
    open(proof, "wb").write(run(["prove", base, "--index", "123"]).stdout)
    ent = os.path.join(root, "e.txt")
    open(ent, "w").write("event 123")
    p = run(["verify-proof", proof, "--vkey", vkey, "--entry", ent], ok=(0, 1))
    check(p.returncode == 0, "an inclusion proof verifies offline with the vkey alone")
    open(ent, "w").write("event 124")
    p = run(["verify-proof", proof, "--vkey", vkey, "--entry", ent], ok=(0, 1))
    check(p.returncode == 1, "... and not for another entry")
    # issue #15: `ledger entry N > f` then `verify-proof --entry f` (no newline added off a terminal),
    # and --vkey given a file, as every other option takes one
    open(ent, "wb").write(run(["entry", base, "--index", "123"]).stdout)
    vkf = os.path.join(root, "vkey.txt")
    open(vkf, "wb").write(run(["vkey", base]).stdout)
    p = run(["verify-proof", proof, "--vkey", vkf, "--entry", ent], ok=(0, 1, 2))
    check(p.returncode == 0, "ledger entry's output file verifies, with --vkey FILE (%s)" %
          p.stderr.decode("utf-8", "replace").strip()[-200:])
    other_vkey = run(["vkey", os.path.join(root, "otherkey")]).stdout.decode().strip()
    open(ent, "w").write("event 123")
    p = run(["verify-proof", proof, "--vkey", other_vkey, "--entry", ent], ok=(0, 1))
    check(p.returncode == 1, "... nor with another log's key")

    # One process at a time: an open log is locked (opening cuts uncommitted tails).
    holder = subprocess.Popen([PV, "ledger", "append", base], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    holder.stdin.write(b"held 1\n")
    holder.stdin.flush()
    time.sleep(0.5)
    p = run(["entry", base, "--index", "0"], ok=(0, 1))
    p2 = run(["verify", base], ok=(0, 1))
    holder.stdin.close()
    holder.wait()
    rc, out = verify(base)
    check(p.returncode == 1 and b"in use" in p.stderr and p2.returncode == 1 and b"in use" in p2.stderr and
          rc == 0 and "301 entries" in out,
          "while one process appends, others are refused (\"in use\"), and its batch lands whole (%s)" % out.strip())

    # Crash safety: SIGKILL during heavy appends, 50 times.
    crash = os.path.join(root, "crash")
    run(["init", crash, "--origin", "pacsvault.test/crash"])
    run(["checkpoint", crash])
    rnd = random.Random(7)
    expected = []  # every line ever sent, in order
    bad = []
    total_acked = 0
    for trial in range(50):
        start = len(expected)
        lines = ["t%02d-%06d" % (trial, i) for i in range(4000)]
        proc = subprocess.Popen([PVR, "ledger", "append", crash, "--batch", "50"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        proc.stdin.write(("\n".join(lines) + "\n").encode())
        proc.stdin.flush()
        time.sleep(rnd.uniform(0.002, 0.08))
        proc.send_signal(signal.SIGKILL)
        out = proc.communicate()[0].decode()
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        acked = max([int(l.split()[1]) for l in out.splitlines() if l.startswith("committed ")] or [start])
        rc, vout = verify(crash, PVR)
        size = int(vout.split("ok: ")[1].split()[0]) if rc == 0 else -1
        if rc != 0 or size < acked:
            bad.append((trial, rc, size, acked, vout.strip()[-120:]))
            break
        # the log now holds the acknowledged entries, then perhaps some more of this trial's (committed, not yet acknowledged)
        expected = expected[:start] + lines[:size - start]
        for i in (start, acked - 1, size - 1):
            if 0 <= i < size:
                got = run(["entry", crash, "--index", str(i)], exe=PVR).stdout.decode().rstrip("\n")
                if got != expected[i]:
                    bad.append((trial, "entry", i, got, expected[i]))
        p = run(["checkpoint", crash], ok=(0, 1), exe=PVR)
        if p.returncode != 0:
            bad.append((trial, "checkpoint", p.stderr.decode()[-100:]))
        total_acked = acked
    rc, vout = verify(crash)
    check(not bad and rc == 0, "50 SIGKILLs during appends: every time the log verifies, keeps every acknowledged "
          "entry and the next checkpoint is consistent (%d entries, %s)" % (total_acked, bad[:2] or vout.strip()))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
