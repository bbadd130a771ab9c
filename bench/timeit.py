#!/usr/bin/python3
"""timeit.py OUT CMD...: runs CMD (stdout and stderr to /dev/null) and writes
"WALL USER SYS" in seconds, to the microsecond, to the file OUT: the wall
time from a monotonic clock, user and system time from the child's own
resource usage (wait4), not the 10 ms steps of /usr/bin/time. The child is
started with posix_spawn."""
import os
import sys
import time


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    null = os.open(os.devnull, os.O_WRONLY)
    acts = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
    # posix_spawn (vfork): forking the Python interpreter would copy its
    # page tables inside the timed interval, a millisecond or more here.
    t0 = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=acts)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    with open(out, "w") as f:
        f.write("%.6f %.6f %.6f\n" % (wall, ru.ru_utime, ru.ru_stime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
