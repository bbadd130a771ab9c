/*
 * sandbox.h: helper processes for risky work (third-party decoders).
 *
 * pv_helper_exchange() runs this same program again (/proc/self/exe) with
 * the given arguments, feeds it a request on stdin and collects its answer
 * from stdout, under a wall-clock timeout. The helper calls
 * pv_sandbox_enter() once it has read its request: resource limits
 * (address space, CPU time, no new files, no core dumps), no new
 * privileges, and on Linux x86-64 and AArch64 a seccomp filter that allows
 * only reading and writing its open descriptors, memory management and
 * exit: a decoder bug exploited by a hostile image can then do nothing but
 * return a wrong answer. (Builds with sanitizers skip the seccomp filter:
 * their runtimes need more system calls.)
 */
#ifndef PV_BASE_SANDBOX_H
#define PV_BASE_SANDBOX_H

#include <stddef.h>

#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

struct pv_sandbox_limits {
	size_t max_memory;     /* address space, bytes */
	unsigned max_cpu_s;    /* CPU seconds */
};

/*
 * Enters the sandbox (in the helper, after reading its input). Returns 0,
 * or PV_EINTERNAL when a limit cannot be set (the helper must then stop).
 */
int pv_sandbox_enter(const struct pv_sandbox_limits *lim);

/*
 * Runs "/proc/self/exe argv[1..]" with in (n bytes) on its stdin, reads at
 * most out->max bytes of its stdout into out, and waits for it, killing it
 * after timeout_s seconds. Returns 0 when it exited with status 0, else an
 * error in d that says how it ended (exit status, signal, timeout).
 */
int pv_helper_exchange(char *const argv[], const void *in, size_t n, struct pv_buf *out,
    unsigned timeout_s, struct pv_diag *d) __attribute__((warn_unused_result));

/* The same with another program and, when envp is not NULL, that environment. */
int pv_helper_exchange_exe(const char *exe, char *const argv[], char *const envp[], const void *in, size_t n,
    struct pv_buf *out, unsigned timeout_s, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Enters the sandbox and tries to open a file: returns only when the
 * filter failed to stop it (3), or there is no filter in this build (4).
 * A working sandbox kills the process with SIGSYS. For the tests.
 */
int pv_sandbox_selftest(void);

#endif
