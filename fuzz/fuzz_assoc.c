/*
 * fuzz_assoc.c: whole association transcripts against the DIMSE server
 * (src/net/server.c): the input is what a peer sends on one connection,
 * read by the real association code (upper layer states, timers, PDV
 * reassembly, command sets, Verification, the refusals) over a socket
 * pair, into a real vault and audit trail made once per process. The peer
 * is anonymous (C-ECHO only, as on a loopback listener without users), so
 * every other service must be refused. Must never crash, hang or leak; and
 * nothing may ever be stored.
 */
#include "fuzz.h"
#include "pacsvault/net/server.h"
#include "pacsvault/svc/admin.h"
#include "pacsvault/svc/svc.h"
#include "../src/net/server_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct svc *svc;
static struct net_server_cfg cfg;
static char root[256];
static unsigned runs;

static void
cleanup(void)
{
	char cmd[300];

	svc_close(svc);
	svc = NULL;
	if (root[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0) {
			/* left for the system's temporary cleaner */
		}
	}
}

static int
setup(void)
{
	const char *t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	char dir[300], id[9];
	struct pv_buf vk;
	struct pv_diag d;

	snprintf(root, sizeof(root), "%s/pv-fuzz-assoc-XXXXXX", t != NULL ? t : "/tmp");
	if (mkdtemp(root) == NULL) {
		root[0] = '\0';
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/vault", root);
	pv_diag_clear(&d);
	pv_buf_init(&vk, 4096);
	if (svc_vault_create(dir, NULL, NULL, id, &vk, &d) != 0 || svc_open(dir, NULL, VAULT_WRITE, &svc, &d) != 0) {
		fprintf(stderr, "fuzz_assoc: cannot make a vault in %s: %s\n", dir, d.msg);
		abort();
	}
	pv_buf_free(&vk);
	net_server_cfg_init(&cfg);
	cfg.artim_timeout_s = 1;
	cfg.idle_timeout_s = 1;
	cfg.max_dataset = (uint64_t)4 << 20;
	atexit(cleanup);
	return 0;
}

/* The peer's side: what the server answers is read and dropped, so it never blocks on a full socket. */
static void *
drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static int
count_stored(void *ctx, const struct vault_match *m)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

int
fuzz_assoc_one(const uint8_t *data, size_t size)
{
	int sv[2], stored = 0;
	pthread_t th;
	size_t off = 0;

	if (svc == NULL && setup() != 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	if (pthread_create(&th, NULL, drain, &sv[0]) != 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	/* the whole transcript, then the end of the peer's writing: the server reads to its end */
	{
		int big = 8 << 20;

		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	}
	while (off < size) {
		ssize_t w = write(sv[0], data + off, size - off > 65536 ? 65536 : size - off);

		if (w <= 0)
			break;
		off += (size_t)w;
		if (off < size && size > (4u << 20))
			break;   /* more than the socket holds: the rest would only wait */
	}
	shutdown(sv[0], SHUT_WR);
	(void)net__serve_fd(svc, &cfg, sv[1]);
	pthread_join(th, NULL);
	close(sv[0]);
	/* an anonymous peer stores nothing (asked every 256 runs: a query is an audited, synced event) */
	if ((++runs & 255) == 1) {
		struct query_key k;
		struct pv_diag d;
		static const struct svc_principal op = { "fuzz", SVC_OPERATOR, "os-user", "localhost", NULL, NULL,
			"fuzz_assoc" };

		pv_diag_clear(&d);
		if (query_key_parse("SOPInstanceUID", &k, &d) == 0) {
			if (svc_query(svc, &op, QUERY_IMAGE, &k, 1, count_stored, &stored, &d) == 0 && stored != 0)
				abort();
			query_key_free(&k);
		}
	}
	return 0;
}

PV_FUZZ_ENTRY(fuzz_assoc_one)
