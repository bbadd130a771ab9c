"""e2e.py: what the Python end-to-end scripts share: PASS:/FAIL: lines,
their count, and the closing "N passed, N failed" line of tests/run.sh."""
import socket
import subprocess

_counts = {"passed": 0, "failed": 0}


def check(cond, what):
    """Prints PASS: or FAIL: and counts it."""
    if cond:
        _counts["passed"] += 1
        print("PASS: " + what)
    else:
        _counts["failed"] += 1
        print("FAIL: " + what)


def finish():
    """Prints the count; the exit status for sys.exit()."""
    print("%d passed, %d failed" % (_counts["passed"], _counts["failed"]))
    return 1 if _counts["failed"] else 0


def run(args, ok=(0,), inp=None):
    """Runs a command; raises with the end of its stderr when it exits outside ok."""
    p = subprocess.run(args, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[:3]), p.returncode,
                                               p.stderr.decode(errors="replace")[-600:]))
    return p


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
