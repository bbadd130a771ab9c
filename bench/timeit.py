#!/usr/bin/python3
"""timeit.py OUT CMD...: runs CMD (stdout and stderr to /dev/null) and writes
"WALL USER SYS" in seconds, to the microsecond, to the file OUT: the wall
time from a monotonic clock, user and system time from the child's own
resource usage (wait4), not the 10 ms steps of /usr/bin/time."""
import os
import sys
import time


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    with open(out, "w") as f:
        f.write("%.6f %.6f %.6f\n" % (wall, ru.ru_utime, ru.ru_stime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
