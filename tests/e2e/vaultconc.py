"""vaultconc.py: vault commands side by side, what an interrupted import
leaves, and the quarantine's release and purge (issue #15, items 10, 13, 15).

1. An import is held open (its last input is a FIFO nobody writes, so it
   waits there holding the vault with committed and staged objects): find,
   get, rm --dry-run, ledger show and quarantine list run beside it and
   succeed; a second import with PACSVAULT_WAIT=0 fails at once naming the
   writer's pid; fsck (which wants a still vault) gives up after its wait;
   a second import with a wait blocks until the first is gone, then runs.
2. The held import is interrupted (SIGINT; in a second round SIGKILL).
   Before anything else opens the vault, objects/ holds only objects the
   index names (fsck: 0 orphans) and what was never acknowledged sits in
   tmp/. The next writer places what committed, shreds the rest and says
   so; then no file anywhere in the vault opens with the master key unless
   the index names it, and after rm of every study none opens at all.
3. quarantine release writes the quarantined file back byte for byte and
   shreds it (a hard link kept to the sealed file no longer opens); it
   never overwrites; purge shreds one or all; a wrong id is named.
"""
import glob
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import check, finish  # noqa: E402
from vaultcheck import gen_set, pv, read_key, unseal  # noqa: E402

PV = os.environ["PV"]
DATA = os.environ.get("PYDICOM_DATA", "/usr/lib/python3/dist-packages/pydicom/data")


def indexed(vault):
    """The object ids the index names (instances and quarantine)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(vault, "index.db"), uri=True)
    try:
        return {r[0] for r in db.execute("SELECT objid FROM instance UNION SELECT objid FROM quarantine")}
    finally:
        db.close()


def opening(vault, master):
    """Every file under objects/, quarantine/ and tmp/ that opens with the master key: {objid: path}."""
    got = {}
    for sub in ("objects/*/*", "quarantine/*", "tmp/*"):
        for p in glob.glob(os.path.join(vault, sub)):
            try:
                unseal(p, master)
            except Exception:
                continue
            got[os.path.basename(p)[:32]] = p
    return got


def image_count(vault, env):
    p = subprocess.run([PV, "find", "--vault", vault, "--level", "IMAGE", "--json"], capture_output=True, env=env)
    return len(json.loads(p.stdout.decode())) if p.returncode == 0 else -1


def default_sigint():
    """A child started from a background job inherits SIGINT ignored (POSIX): give it back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def held_import(root, vault, files, env):
    """Starts an import of files and then a FIFO: returns (process, fifo) once its first batches are in."""
    fifo = os.path.join(root, "fifo-%d" % len(os.listdir(root)))
    os.mkfifo(fifo)
    proc = subprocess.Popen([PV, "import", "--vault", vault, "--jobs", "1", "--batch", "8", "--verbose"] +
                            files + [fifo], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=default_sigint)
    want = len(files) // 8 * 8
    for _ in range(400):
        if image_count(vault, env) >= want or proc.poll() is not None:
            break
        time.sleep(0.05)
    return proc, fifo


def round_trip(root, files, sig, name):
    vault = os.path.join(root, name)
    env = dict(os.environ, PACSVAULT_WAIT="0")
    env.pop("PACSVAULT_MASTER_KEY", None)
    pv(["vault", "init", vault])
    master = read_key(os.path.join(vault, "master.key"))
    first, rest = files[:20], files[20:]
    proc, fifo = held_import(root, vault, first, env)
    running = proc.poll() is None
    n = image_count(vault, env)
    # a batch is at most 8 files (--batch; what is queued meanwhile waits): 2 batches, the rest staged
    check(running and 16 <= n < 20, "%s: an import held open, %d instances committed, %d staged" %
          (name, n, 20 - n))
    if sig == signal.SIGINT:
        # Readers beside the writer.
        p = pv(["find", "--vault", vault, "--level", "IMAGE", "--json"], ok=(0, 1), env=env)
        rows = json.loads(p.stdout.decode()) if p.returncode == 0 else []
        check(p.returncode == 0 and len(rows) == n, "%s: find runs beside the import (%d rows)" % (name, len(rows)))
        out = os.path.join(root, name + "-get.dcm")
        uid = rows[0]["SOPInstanceUID"] if rows else "2.25.1"
        p = pv(["get", "--vault", vault, uid, "-o", out], ok=(0, 1), env=env)
        same = p.returncode == 0 and any(open(f, "rb").read() == open(out, "rb").read() for f in first)
        check(same, "%s: get runs beside the import and gives the imported bytes" % name)
        p = pv(["rm", "--vault", vault, "--dry-run", uid], ok=(0, 1), env=env)
        check(p.returncode == 0, "%s: rm --dry-run runs beside the import" % name)
        p = pv(["ledger", "show", "--vault", vault], ok=(0, 1), env=env)
        check(p.returncode == 0 and p.stdout.count(b"\n") > n, "%s: ledger show runs beside the import" % name)
        p = pv(["vault", "quarantine", "--vault", vault], ok=(0, 1), env=env)
        check(p.returncode == 0, "%s: quarantine list runs beside the import" % name)
        # Writers do not.
        p = pv(["import", "--vault", vault, rest[0]], ok=(0, 1), env=env)
        err = p.stderr.decode()
        check(p.returncode == 1 and ("pid %d" % proc.pid) in err and "PACSVAULT_WAIT" in err,
              "%s: a second import with PACSVAULT_WAIT=0 fails at once, naming the writer's pid (%s)" %
              (name, err.strip()[:160]))
        t0 = time.time()
        p = pv(["vault", "fsck", "--vault", vault], ok=(0, 1), env=dict(env, PACSVAULT_WAIT="1"))
        check(p.returncode == 1 and time.time() - t0 >= 0.9 and b"waited 1 s" in p.stderr,
              "%s: fsck waits for a still vault, then gives up and says so" % name)
    # What the interrupted import leaves, before anything opens the vault again.
    waiter = None
    if sig == signal.SIGINT:
        waiter = subprocess.Popen([PV, "import", "--vault", vault, "--json"] + rest, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=dict(env, PACSVAULT_WAIT="60"))
        time.sleep(0.5)
        check(waiter.poll() is None, "%s: an import with a wait set waits while the other writes" % name)
        # the waiter must not run before the state is looked at: it is let go below
        os.kill(waiter.pid, signal.SIGSTOP)
    proc.send_signal(sig)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        check(False, "%s: the import ends on %s" % (name, signal.Signals(sig).name))
        proc.kill()
        proc.communicate()
    names = indexed(vault)
    objs = {os.path.basename(p)[:32] for p in glob.glob(os.path.join(vault, "objects/*/*.pvo"))}
    staged = glob.glob(os.path.join(vault, "tmp", "*"))
    check(objs <= names and len(objs) == n,
          "%s: interrupted (%s): objects/ holds only the %d objects the index names, no orphan" %
          (name, signal.Signals(sig).name, len(objs)))
    check(len(staged) == 20 - n, "%s: the %d never acknowledged are staged in tmp/" % (name, len(staged)))
    if waiter is not None:
        os.kill(waiter.pid, signal.SIGCONT)
        out, err = waiter.communicate(timeout=120)
        s = json.loads(out.decode())
        check(waiter.returncode == 0 and s["stored"] == len(rest),
              "%s: the waiting import runs once the first is gone (%d stored)" % (name, s["stored"]))
    else:
        p = pv(["import", "--vault", vault, "--json"] + rest, env=env)
        err = p.stderr
    check(("%d never acknowledged and shredded" % (20 - n)).encode() in err,
          "%s: the next writer shreds what the interrupted import left, and says so" % name)
    opens = opening(vault, master)
    names = indexed(vault)
    check(set(opens) <= names and len(opens) == n + len(rest) and not os.listdir(os.path.join(vault, "tmp")),
          "%s: no file in the vault opens with the master key unless the index names it (%d open)" %
          (name, len(opens)))
    r = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"], env=env).stdout.decode())
    check(r["orphans"] == 0 and r["temporaries"] == 0 and r["bad"] == 0 and r["missing"] == 0,
          "%s: fsck clean without --repair" % name)
    studies = {r["StudyInstanceUID"] for r in
               json.loads(pv(["find", "--vault", vault, "--json"], env=env).stdout.decode())}
    pv(["rm", "--vault", vault] + sorted(studies), env=env)
    left = opening(vault, master)
    check(not left, "%s: after rm of every study nothing in the vault opens with the master key (%d)" %
          (name, len(left)))


def quarantine(root):
    vault = os.path.join(root, "qvault")
    pv(["vault", "init", vault])
    master = read_key(os.path.join(vault, "master.key"))
    src = open(os.path.join(DATA, "test_files", "CT_small.dcm"), "rb").read()
    bad = []
    for i, n in enumerate((3000, 1500, 900)):
        p = os.path.join(root, "broken%d.dcm" % i)
        with open(p, "wb") as f:
            f.write(src[:n])
        bad.append(p)
    pv(["import", "--vault", vault] + bad, ok=(1,))
    q = json.loads(pv(["vault", "quarantine", "--vault", vault, "--json"]).stdout.decode())
    check(len(q) == 3, "quarantine: three truncated files quarantined (%d)" % len(q))
    by_path = {e["path"]: e["object"] for e in q}
    obj = by_path[bad[0]]
    sealed = os.path.join(vault, "quarantine", obj + ".pvo")
    link = os.path.join(root, "kept-link.pvo")
    os.link(sealed, link)
    out = os.path.join(root, "released.dcm")
    p = pv(["vault", "quarantine", "release", "--vault", vault, obj, "-o", out], ok=(0, 1))
    check(p.returncode == 0 and open(out, "rb").read() == src[:3000],
          "quarantine release writes the file back byte for byte")
    try:
        unseal(link, master)
        opened = True
    except Exception:
        opened = False
    check(not opened and not os.path.exists(sealed), "  and shreds it (a hard link kept to it does not open)")
    p = pv(["vault", "quarantine", "release", "--vault", vault, obj, "-o", out + ".2"], ok=(1,))
    check(b"not in the quarantine" in p.stderr and not os.path.exists(out + ".2"),
          "  released twice: not in the quarantine, nothing written")
    p = pv(["vault", "quarantine", "release", "--vault", vault, by_path[bad[1]], "-o", out], ok=(1,))
    check(b"exists; not replaced" in p.stderr and open(out, "rb").read() == src[:3000],
          "  release never overwrites an existing file")
    p = pv(["vault", "quarantine", "purge", "--vault", vault, "0123"], ok=(1,))
    check(b"0123: not an object id" in p.stderr, "purge names a malformed object id")
    pv(["vault", "quarantine", "purge", "--vault", vault, by_path[bad[1]]])
    q = json.loads(pv(["vault", "quarantine", "--vault", vault, "--json"]).stdout.decode())
    check([e["object"] for e in q] == [by_path[bad[2]]], "purge shreds one (one left)")
    pv(["vault", "quarantine", "purge", "--vault", vault, "--all"])
    q = json.loads(pv(["vault", "quarantine", "--vault", vault, "--json"]).stdout.decode())
    check(q == [] and not opening(vault, master), "purge --all: the quarantine is empty, nothing opens")
    r = json.loads(pv(["vault", "fsck", "--vault", vault, "--json"]).stdout.decode())
    check(r["orphans"] == 0 and r["quarantined"] == 0 and not r["problems"], "  fsck clean after purge")
    p = pv(["ledger", "show", "--vault", vault]).stdout.decode()
    check("released to a file" in p and p.count("purged") == 2, "release and purge are in the audit ledger")
    p = pv(["vault", "quarantine", "purge", "--vault", vault], ok=(2,))
    check(p.returncode == 2, "purge without ids or --all is a usage error")


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    gen = os.path.join(root, "gen")
    _, meta, _ = gen_set(gen, n_total=60, n_patients=3, seed=11)
    files = sorted(m["inst"]["path"] for m in meta)
    round_trip(root, files, signal.SIGINT, "sigint")
    round_trip(root, files, signal.SIGKILL, "sigkill")
    quarantine(root)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
