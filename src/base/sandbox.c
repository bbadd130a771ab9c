/* sandbox.c: helper processes under resource limits and a seccomp filter. */
#include "pacsvault/base/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define PV_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define PV_SANITIZED 1
#endif
#endif

#if defined(__linux__) && !defined(PV_SANITIZED) && (defined(__x86_64__) || defined(__aarch64__))
#define PV_HAVE_SECCOMP 1
#if defined(__x86_64__)
#define PV_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define PV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int
install_seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PV_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(__NR_read),
		ALLOW(__NR_write),
		ALLOW(__NR_close),
		ALLOW(__NR_fstat),
		ALLOW(__NR_newfstatat),
		ALLOW(__NR_lseek),
		ALLOW(__NR_brk),
		ALLOW(__NR_mmap),
		ALLOW(__NR_munmap),
		ALLOW(__NR_mremap),
		ALLOW(__NR_mprotect),
		ALLOW(__NR_madvise),
		ALLOW(__NR_futex),
		ALLOW(__NR_rt_sigreturn),
		ALLOW(__NR_rt_sigprocmask),
		ALLOW(__NR_rt_sigaction),  /* glibc installs its internal signal handlers lazily */
		ALLOW(__NR_sigaltstack),
		ALLOW(__NR_clock_gettime),
		ALLOW(__NR_getpid),
		ALLOW(__NR_gettid),
		ALLOW(__NR_tgkill),
		ALLOW(__NR_exit),
		ALLOW(__NR_exit_group),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
#endif

int
pv_sandbox_enter(const struct pv_sandbox_limits *lim)
{
	struct rlimit r;

	r.rlim_cur = r.rlim_max = lim->max_cpu_s;
	if (setrlimit(RLIMIT_CPU, &r) != 0)
		return PV_EINTERNAL;
	r.rlim_cur = r.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &r) != 0 || setrlimit(RLIMIT_FSIZE, &r) != 0)
		return PV_EINTERNAL;
#if !defined(PV_SANITIZED)
	/* ASan reserves terabytes of address space: no cap under it. */
	r.rlim_cur = r.rlim_max = lim->max_memory;
	if (setrlimit(RLIMIT_AS, &r) != 0)
		return PV_EINTERNAL;
	r.rlim_cur = r.rlim_max = 3;  /* stdin, stdout, stderr only */
	if (setrlimit(RLIMIT_NOFILE, &r) != 0)
		return PV_EINTERNAL;
#endif
#if defined(__linux__)
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return PV_EINTERNAL;
#endif
#if defined(PV_HAVE_SECCOMP)
	if (install_seccomp() != 0)
		return PV_EINTERNAL;
#endif
	return 0;
}

static double
now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
pv_helper_exchange(char *const argv[], const void *in, size_t n, struct pv_buf *out, unsigned timeout_s,
    struct pv_diag *d)
{
	return pv_helper_exchange_exe("/proc/self/exe", argv, NULL, in, n, out, timeout_s, d);
}

int
pv_helper_exchange_exe(const char *exe, char *const argv[], char *const envp[], const void *in, size_t n,
    struct pv_buf *out, unsigned timeout_s, struct pv_diag *d)
{
	int pin[2], pout[2], status = 0, rc = 0;
	size_t off = 0;
	pid_t pid;
	double deadline = now_s() + timeout_s;
	char chunk[65536];

	if (pipe2(pin, O_CLOEXEC) != 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot create a pipe for the helper");
	if (pipe2(pout, O_CLOEXEC) != 0) {
		close(pin[0]);
		close(pin[1]);
		return pv_diag_set(d, PV_EIO, -1, "cannot create a pipe for the helper");
	}
	pid = fork();
	if (pid < 0) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		return pv_diag_set(d, PV_EIO, -1, "cannot start the helper");
	}
	if (pid == 0) {
		/* Only async-signal-safe calls until exec. */
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0)
			_exit(127);
		if (envp != NULL)
			execve(exe, argv, envp);
		else
			execv(exe, argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	(void)fcntl(pin[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(pout[0], F_SETFL, O_NONBLOCK);
	{
		int in_open = 1, out_open = 1;
		if (n == 0) {
			close(pin[1]);
			in_open = 0;
		}
		while (out_open && rc == 0) {
			struct pollfd p[2];
			int np = 0, left = (int)((deadline - now_s()) * 1000);
			if (left <= 0) {
				rc = pv_diag_set(d, PV_ELIMIT, -1, "the helper took over %u s: stopped", timeout_s);
				break;
			}
			p[np++] = (struct pollfd){ pout[0], POLLIN, 0 };
			if (in_open)
				p[np++] = (struct pollfd){ pin[1], POLLOUT, 0 };
			if (poll(p, (nfds_t)np, left) < 0) {
				if (errno == EINTR)
					continue;
				rc = pv_diag_set(d, PV_EIO, -1, "poll on the helper failed");
				break;
			}
			if (in_open && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
				ssize_t w = write(pin[1], (const char *)in + off, n - off > 65536 ? 65536 : n - off);
				if (w > 0)
					off += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == n) {
					close(pin[1]);
					in_open = 0;
				}
			}
			if (p[0].revents & (POLLIN | POLLERR | POLLHUP)) {
				ssize_t r = read(pout[0], chunk, sizeof(chunk));
				if (r > 0) {
					if (pv_buf_append(out, chunk, (size_t)r) != 0)
						rc = pv_diag_set(d, PV_ELIMIT, -1, "the helper's answer is over %zu bytes", out->max);
				} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					out_open = 0;
				}
			}
		}
		if (in_open)
			close(pin[1]);
	}
	close(pout[0]);
	if (rc != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc != 0)
		return rc;
	if (WIFSIGNALED(status))
		return pv_diag_set(d, PV_EINTERNAL, -1, "the helper was killed by signal %d%s", WTERMSIG(status),
		    WTERMSIG(status) == SIGSYS ? " (a system call outside its sandbox)" :
		    WTERMSIG(status) == SIGXCPU ? " (CPU time limit)" : "");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return pv_diag_set(d, PV_EINTERNAL, -1, "the helper failed (exit status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

int
pv_sandbox_selftest(void)
{
	static const struct pv_sandbox_limits lim = { (size_t)1 << 30, 5 };
	if (pv_sandbox_enter(&lim) != 0)
		return 2;
#if !defined(PV_HAVE_SECCOMP)
	return 4;  /* no seccomp filter in this build */
#else
	(void)syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
	return 3;  /* still alive: the filter did not stop it */
#endif
}
