/*
 * cmd_witness.c: witnessing the ledger: `ledger witness init|add-checkpoint`
 * (a C2SP tlog-witness, run by someone other than the log's operator),
 * `ledger witness-request` (the log's request to a witness) and `ledger
 * cosignature` (a witness's answer, checked and kept with the checkpoint so
 * that `ledger prove` bundles carry it).
 */
#include "app.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/ledger/log.h"
#include "pacsvault/ledger/note.h"
#include "pacsvault/ledger/witness.h"
#include "pacsvault/base/ini.h"
#include "pacsvault/net/httpd.h"
#include "pacsvault/net/tls.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOG_KEYS 16

static const char witness_help[] =
"usage: pacsvault ledger witness init WDIR --name NAME\n"
"       pacsvault ledger witness add-checkpoint WDIR --log-vkey VKEY... [REQUEST|-]\n"
"       pacsvault ledger witness serve WDIR --config FILE [--log-vkey VKEY...]\n"
"       pacsvault ledger witness-request DIR --old N\n"
"       pacsvault ledger cosignature DIR --witness-vkey VKEY [FILE|-]\n"
"\n"
"A witness (C2SP tlog-witness) cosigns a log's checkpoint only after checking\n"
"the log's signature and a consistency proof from the size it cosigned last,\n"
"which it stores before answering: two inconsistent views of one log never\n"
"both get its cosignature. Run it apart from the log (another machine and\n"
"operator). Checkpoints that a quorum of witnesses cosigned cannot be\n"
"rewritten by the log's operator alone.\n"
"\n"
"  witness init WDIR --name NAME   a witness folder and key; prints its\n"
"                                  cosignature/v1 verifier key (type 0x04)\n"
"  witness add-checkpoint WDIR --log-vkey VKEY [REQUEST]\n"
"                                  handles one add-checkpoint request body\n"
"                                  ('old N', proof lines, blank line, the signed\n"
"                                  checkpoint) for the logs given; prints the\n"
"                                  cosignature line, or the HTTP status of the\n"
"                                  protocol (400 403 404 409 422) and why; for\n"
"                                  409 the witness's size on standard output\n"
"  witness serve WDIR --config FILE\n"
"                                  answers POST .../add-checkpoint over HTTPS\n"
"                                  (C2SP tlog-witness) until SIGTERM; the file's\n"
"                                  [witness] section: listen = HOST:PORT,\n"
"                                  tls_cert, tls_key (plain HTTP on loopback\n"
"                                  only without them), logs = VKEY[, VKEY...],\n"
"                                  timeout = 10 (seconds for a whole request)\n"
"  witness-request DIR --old N     the request for the log's last checkpoint\n"
"                                  from size N (the witness's size)\n"
"  cosignature DIR --witness-vkey VKEY [FILE]\n"
"                                  checks the witness's cosignature lines\n"
"                                  against the last checkpoint and keeps them:\n"
"                                  'ledger prove' bundles then carry them for\n"
"                                  'ledger verify-proof --policy'\n"
"\n"
"Exit status: 0 done, 1 refused or failed, 2 bad usage.\n";

static int
read_input(const char *path, unsigned char **out, size_t *n)
{
	struct pv_diag d;
	struct pv_buf b;
	char chunk[65536];
	size_t r;

	if (path != NULL && strcmp(path, "-") != 0) {
		pv_diag_clear(&d);
		return pv_read_file(path, 1 << 20, out, n, &d);
	}
	pv_buf_init(&b, 1 << 20);
	while ((r = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (pv_buf_append(&b, chunk, r) != 0) {
			pv_buf_free(&b);
			return PV_ELIMIT;
		}
	*out = (unsigned char *)b.data;
	*n = b.len;
	if (*out == NULL && (*out = malloc(1)) == NULL)
		return PV_ENOMEM;
	return 0;
}

static int witness_serve(const char *dir, const char *conf, const struct lg_verifier *logs, size_t nlogs);

static int
witness_cmd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "log-vkey", required_argument, NULL, 'L' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg_verifier logs[MAX_LOG_KEYS];
	size_t nlogs = 0;
	const char *name = NULL, *sub, *dir, *conf = NULL;
	struct pv_diag d;
	int c;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(witness_help, stdout);
		return PV_EXIT_OK;
	}
	if (argc < 3)
		return app_usage_error("ledger witness", "init WDIR --name NAME | add-checkpoint WDIR --log-vkey VKEY");
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'N': name = optarg; break;
		case 'c': conf = optarg; break;
		case 'L':
			if (nlogs == MAX_LOG_KEYS || lg_vkey_parse(optarg, &logs[nlogs]) != 0 ||
			    logs[nlogs].type != LG_SIG_ED25519)
				return app_usage_error("ledger witness", "--log-vkey: not a log verifier key (at most %d)",
				    MAX_LOG_KEYS);
			nlogs++;
			break;
		case 'h':
			fputs(witness_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("ledger witness", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("ledger witness", "which witness folder?");
	dir = argv[optind];
	pv_diag_clear(&d);
	if (strcmp(sub, "serve") == 0) {
		if (conf == NULL)
			return app_usage_error("ledger witness", "serve WDIR --config FILE");
		return witness_serve(dir, conf, logs, nlogs);
	}
	if (strcmp(sub, "init") == 0) {
		struct lg_witness *w = NULL;
		struct pv_buf vk;

		if (name == NULL)
			return app_usage_error("ledger witness", "init wants --name NAME");
		pv_buf_init(&vk, 1024);
		if (lg_witness_create(dir, name, &d) != 0 || lg_witness_open(dir, &w, &d) != 0 ||
		    lg_witness_vkey(w, &vk) != 0) {
			app_report("ledger witness", dir, &d);
			lg_witness_close(w);
			pv_buf_free(&vk);
			return PV_EXIT_FAIL;
		}
		printf("%s\n", vk.data);
		lg_witness_close(w);
		pv_buf_free(&vk);
		return PV_EXIT_OK;
	}
	if (strcmp(sub, "add-checkpoint") == 0) {
		struct lg_witness *w = NULL;
		unsigned char *body = NULL;
		size_t n = 0;
		struct pv_buf out;
		uint64_t cur = 0;
		int status;

		if (nlogs == 0)
			return app_usage_error("ledger witness", "add-checkpoint wants the log's --log-vkey");
		if (read_input(optind + 1 < argc ? argv[optind + 1] : NULL, &body, &n) != 0) {
			fprintf(stderr, "pacsvault: ledger witness: cannot read the request (at most 1 MiB)\n");
			return PV_EXIT_USAGE;
		}
		if (lg_witness_open(dir, &w, &d) != 0) {
			free(body);
			app_report("ledger witness", dir, &d);
			return PV_EXIT_FAIL;
		}
		pv_buf_init(&out, 4096);
		status = lg_witness_add_checkpoint(w, logs, nlogs, body, n, (uint64_t)time(NULL), &out, &cur, &d);
		if (status == 200)
			fwrite(out.data, 1, out.len, stdout);
		else {
			if (status == 409)
				printf("%llu\n", (unsigned long long)cur);
			fprintf(stderr, "pacsvault: ledger witness: %d: %s\n", status, d.msg);
		}
		pv_buf_free(&out);
		lg_witness_close(w);
		free(body);
		return status == 200 ? PV_EXIT_OK : PV_EXIT_FAIL;
	}
	return app_usage_error("ledger witness", "unknown subcommand '%s' (init, add-checkpoint)", sub);
}

/* The log's last checkpoint note and its parsed body; 0 or an exit status. */
static int
last_checkpoint(struct lg_log *l, struct pv_buf *note, struct lg_checkpoint *cp, size_t *tl)
{
	struct pv_diag d;
	struct pv_buf vk;
	struct lg_verifier v;
	int verified = 0, rc = PV_EXIT_OK;

	pv_diag_clear(&d);
	pv_buf_init(&vk, 1024);
	if (lg_log_last_checkpoint(l, note, &d) != 0 || note->len == 0 || lg_log_vkey(l, &vk) != 0 ||
	    lg_vkey_parse(vk.data, &v) != 0 ||
	    lg_note_open((const uint8_t *)note->data, note->len, &v, 1, tl, &verified, &d) != 0 ||
	    lg_checkpoint_parse(note->data, *tl, cp, &d) != 0) {
		fprintf(stderr, "pacsvault: ledger: no valid checkpoint (make one: ledger checkpoint)\n");
		rc = PV_EXIT_FAIL;
	}
	pv_buf_free(&vk);
	return rc;
}

/* The add-checkpoint request for the log's last checkpoint from the witness's size old. */
static int
build_request(struct lg_log *l, const struct pv_buf *note, const struct lg_checkpoint *cp, uint64_t old,
    struct pv_buf *out)
{
	uint8_t proof[LG_MAX_PROOF][LG_HASH];
	size_t plen = 0;
	int rc;

	if (old > cp->size) {
		fprintf(stderr, "pacsvault: ledger: the witness is at %llu, past the last checkpoint (%llu): "
		    "another view of this log?\n", (unsigned long long)old, (unsigned long long)cp->size);
		return PV_EXIT_FAIL;
	}
	if (old > 0 && old < cp->size && lg_tree_consistency(lg_log_tree(l), old, cp->size, proof, &plen) != 0)
		return PV_EXIT_FAIL;
	rc = pv_buf_printf(out, "old %llu\n", (unsigned long long)old);
	for (size_t i = 0; i < plen && rc == 0; i++)
		if ((rc = pv_base64_append(out, proof[i], LG_HASH)) == 0)
			rc = pv_buf_putc(out, '\n');
	if (rc == 0)
		rc = pv_buf_putc(out, '\n');
	if (rc == 0)
		rc = pv_buf_append(out, note->data, note->len);
	return rc == 0 ? PV_EXIT_OK : PV_EXIT_INTERNAL;
}

/* Checks each line of in as wv's cosignature of the last checkpoint and appends them to DIR/cosignatures. */
static int
keep_cosignatures(const char *dir, const struct pv_buf *note, size_t tl, const struct lg_checkpoint *cp,
    const struct lg_verifier *wv, const unsigned char *in, size_t n, size_t *added)
{
	struct pv_buf keep, test;
	struct pv_diag d;
	int verified = 0, rc = PV_EXIT_OK;

	*added = 0;
	pv_buf_init(&keep, 65536);
	pv_buf_init(&test, 65536);
	pv_diag_clear(&d);
	/* Each line must verify as this witness's cosignature of the last checkpoint. */
	for (size_t pos = 0; pos < n;) {
		const unsigned char *nl = memchr(in + pos, '\n', n - pos);
		size_t ll = nl != NULL ? (size_t)(nl - in - pos) + 1 : n - pos;
		size_t t2;

		pv_buf_reset(&test);
		if (pv_buf_append(&test, note->data, tl) != 0 || pv_buf_putc(&test, '\n') != 0 ||
		    pv_buf_append(&test, in + pos, ll) != 0 || (nl == NULL && pv_buf_putc(&test, '\n') != 0) ||
		    lg_note_open((const uint8_t *)test.data, test.len, wv, 1, &t2, &verified, &d) != 0 || !verified) {
			fprintf(stderr, "pacsvault: ledger: line %zu is not %s's cosignature of the last checkpoint: %s\n",
			    *added + 1, wv->name, d.msg);
			rc = PV_EXIT_FAIL;
			break;
		}
		if (pv_buf_printf(&keep, "%llu\t", (unsigned long long)cp->size) != 0 ||
		    pv_buf_append(&keep, in + pos, ll) != 0 || (nl == NULL && pv_buf_putc(&keep, '\n') != 0)) {
			rc = PV_EXIT_INTERNAL;
			break;
		}
		(*added)++;
		pos += ll;
	}
	if (rc == PV_EXIT_OK && *added > 0) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/cosignatures", dir);
		if ((f = fopen(path, "a")) == NULL || fwrite(keep.data, 1, keep.len, f) != keep.len ||
		    fflush(f) != 0 || fsync(fileno(f)) != 0) {
			fprintf(stderr, "pacsvault: ledger: cannot write %s\n", path);
			rc = PV_EXIT_FAIL;
		}
		if (f != NULL)
			fclose(f);
	}
	pv_buf_free(&keep);
	pv_buf_free(&test);
	return rc;
}

int
ledger_ask_witnesses(struct lg_log *l, const char *dir, const char *policy_file, const char *const *urls, size_t nurls,
    const char *ca)
{
	struct lg_policy *pol = calloc(1, sizeof(*pol));
	struct lg_checkpoint cp;
	struct pv_buf note;
	struct pv_diag d;
	unsigned char *text = NULL;
	size_t tn = 0, tl = 0, asked = 0;
	int cosigned[LG_POLICY_MAX] = { 0 }, rc;

	pv_diag_clear(&d);
	if (pol == NULL)
		return PV_EXIT_INTERNAL;
	if (policy_file == NULL) {
		fprintf(stderr, "pacsvault: ledger checkpoint: --witness needs --policy FILE, which names each witness's "
		    "key (a cosignature is kept only once it verifies)\n");
		free(pol);
		return PV_EXIT_USAGE;
	}
	if (pv_read_file(policy_file, 1 << 20, &text, &tn, &d) != 0 || lg_policy_parse((const char *)text, tn, pol, &d) != 0) {
		app_report("ledger checkpoint", policy_file, &d);
		free(text);
		free(pol);
		return PV_EXIT_FAIL;
	}
	free(text);
	/* --witness URL: those witnesses of the policy only; each must be in it */
	for (size_t u = 0; u < nurls; u++) {
		int found = 0;
		for (size_t w = 0; w < pol->nwit; w++)
			found |= strcmp(pol->wit_url[w], urls[u]) == 0;
		if (!found) {
			fprintf(stderr, "pacsvault: ledger checkpoint: %s is no witness of the policy (witness NAME VKEY URL)\n",
			    urls[u]);
			free(pol);
			return PV_EXIT_USAGE;
		}
	}
	if (nurls > 0)
		for (size_t w = 0; w < pol->nwit; w++) {
			int given = 0;
			for (size_t u = 0; u < nurls; u++)
				given |= strcmp(pol->wit_url[w], urls[u]) == 0;
			if (!given)
				pol->wit_url[w][0] = '\0';
		}
	pv_buf_init(&note, 65536);
	if ((rc = last_checkpoint(l, &note, &cp, &tl)) != PV_EXIT_OK) {
		pv_buf_free(&note);
		free(pol);
		return rc;
	}
	for (size_t w = 0; w < pol->nwit; w++) {
		char url[320];
		uint64_t old = 0;
		int tries;

		if (pol->wit_url[w][0] == '\0')
			continue;
		asked++;
		snprintf(url, sizeof(url), "%s%sadd-checkpoint", pol->wit_url[w],
		    pol->wit_url[w][strlen(pol->wit_url[w]) - 1] == '/' ? "" : "/");
		/* from size 0 first; a 409 says the witness's size, and the request is made again from there */
		for (tries = 0; tries < 2; tries++) {
			struct pv_buf req, ans;
			int status = 0;

			pv_buf_init(&req, 1 << 20);
			pv_buf_init(&ans, 1 << 20);
			pv_diag_clear(&d);
			if (build_request(l, &note, &cp, old, &req) != PV_EXIT_OK) {
				pv_buf_free(&req);
				pv_buf_free(&ans);
				break;
			}
			rc = net_http_post(url, ca, "text/plain; charset=utf-8", req.data, req.len, 1 << 16, 30, &status, &ans,
			    &d);
			pv_buf_free(&req);
			if (rc != 0) {
				fprintf(stderr, "pacsvault: ledger checkpoint: witness %s: %s\n", pol->wit_name[w], d.msg);
				pv_buf_free(&ans);
				break;
			}
			if (status == 409 && tries == 0) {
				char sz[32];
				char *end;
				snprintf(sz, sizeof(sz), "%.*s", (int)(ans.len < 30 ? ans.len : 30), ans.data ? ans.data : "");
				unsigned long long v = strtoull(sz, &end, 10);
				pv_buf_free(&ans);
				if (end == sz || (*end != '\n' && *end != '\0')) {
					fprintf(stderr, "pacsvault: ledger checkpoint: witness %s: 409 without a size\n",
					    pol->wit_name[w]);
					break;
				}
				old = v;
				continue;
			}
			if (status == 200) {
				size_t added = 0;
				if (keep_cosignatures(dir, &note, tl, &cp, &pol->wit[w], (const unsigned char *)ans.data, ans.len,
				    &added) == PV_EXIT_OK && added > 0) {
					cosigned[w] = 1;
					printf("%s cosigned the checkpoint at size %llu\n", pol->wit_name[w],
					    (unsigned long long)cp.size);
				}
			} else {
				fprintf(stderr, "pacsvault: ledger checkpoint: witness %s refused (%d): %.*s\n", pol->wit_name[w],
				    status, (int)(ans.len < 200 ? ans.len : 200), ans.data ? ans.data : "");
			}
			pv_buf_free(&ans);
			break;
		}
	}
	pv_buf_free(&note);
	if (asked == 0) {
		fprintf(stderr, "pacsvault: ledger checkpoint: the policy names no witness URL\n");
		free(pol);
		return PV_EXIT_FAIL;
	}
	rc = lg_policy_satisfied(pol, cosigned) ? PV_EXIT_OK : PV_EXIT_FAIL;
	printf("quorum %s\n", rc == PV_EXIT_OK ? "met" : "NOT met");
	free(pol);
	return rc;
}

/* ---- ledger witness serve ---- */

struct wsrv {
	struct lg_witness *w;
	struct lg_verifier logs[MAX_LOG_KEYS];
	size_t nlogs;
	pthread_mutex_t mu;
	char dir[4096];
	char listen[300], cert[4096], key[4096];
	int timeout_s;
};

static void
witness_handle(void *ctx, const struct http_req *r, const char *addr, const char *body, size_t n, int *status,
    char ctype[64], struct pv_buf *out)
{
	struct wsrv *ws = ctx;
	struct pv_diag d;
	uint64_t cur = 0;
	size_t pl = strlen(r->path);

	(void)addr;
	ctype[0] = '\0';
	if (pl < 15 || strcmp(r->path + pl - 15, "/add-checkpoint") != 0) {
		*status = 404;
		return;
	}
	if (strcmp(r->method, "POST") != 0) {
		*status = 405;
		return;
	}
	pv_diag_clear(&d);
	pthread_mutex_lock(&ws->mu);
	*status = lg_witness_add_checkpoint(ws->w, ws->logs, ws->nlogs, (const uint8_t *)body, n, (uint64_t)time(NULL),
	    out, &cur, &d);
	pthread_mutex_unlock(&ws->mu);
	if (*status == 409) {
		pv_buf_reset(out);
		snprintf(ctype, 64, "text/x.tlog.size");
		if (pv_buf_printf(out, "%llu\n", (unsigned long long)cur) != 0)
			*status = 500;
	} else if (*status == 200) {
		snprintf(ctype, 64, "text/plain; charset=utf-8");
	} else {
		pv_buf_reset(out);
		snprintf(ctype, 64, "text/plain; charset=utf-8");
		if (pv_buf_printf(out, "%s\n", d.msg) != 0)
			*status = 500;
	}
}

struct wconf {
	struct wsrv *ws;
	char dir[4096];
};

static int
wconf_key(void *ctx, const char *section, const char *name, const char *key, const char *v, unsigned line,
    struct pv_diag *d)
{
	struct wconf *c = ctx;
	struct wsrv *ws = c->ws;

	if (strcmp(section, "witness") != 0 || name[0] != '\0')
		return pv_diag_set(d, PV_EINVAL, -1, "line %u: only a [witness] section is read here", line);
	if (strcmp(key, "listen") == 0) {
		snprintf(ws->listen, sizeof(ws->listen), "%s", v);
	} else if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
		char *dst = key[4] == 'c' ? ws->cert : ws->key;
		if ((size_t)snprintf(dst, 4096, "%s%s%s", v[0] == '/' ? "" : c->dir, v[0] == '/' ? "" : "/", v) >= 4096)
			return pv_diag_set(d, PV_ELIMIT, -1, "line %u: %s: path too long", line, key);
	} else if (strcmp(key, "logs") == 0) {
		char list[8192], *save = NULL, *tok;
		snprintf(list, sizeof(list), "%s", v);
		for (tok = strtok_r(list, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
			if (ws->nlogs == MAX_LOG_KEYS || lg_vkey_parse(tok, &ws->logs[ws->nlogs]) != 0 ||
			    ws->logs[ws->nlogs].type != LG_SIG_ED25519)
				return pv_diag_set(d, PV_EINVAL, -1, "line %u: logs: not a log verifier key (at most %d)", line,
				    MAX_LOG_KEYS);
			ws->nlogs++;
		}
	} else if (strcmp(key, "timeout") == 0) {
		char *end;
		long t = strtol(v, &end, 10);
		if (*end != '\0' || t < 1 || t > 3600)
			return pv_diag_set(d, PV_EINVAL, -1, "line %u: timeout: seconds from 1 to 3600", line);
		ws->timeout_s = (int)t;
	} else {
		return pv_diag_set(d, PV_EINVAL, -1, "line %u: unknown key '%s' in [witness]", line, key);
	}
	return 0;
}

static volatile sig_atomic_t witness_stop;

static void
on_witness_signal(int sig)
{
	(void)sig;
	witness_stop = 1;
}

static int
witness_serve(const char *dir, const char *conf, const struct lg_verifier *logs, size_t nlogs)
{
	struct wsrv *ws = calloc(1, sizeof(*ws));
	struct wconf wc;
	struct net_httpd_cfg hc;
	struct pv_diag d;
	unsigned char *text = NULL;
	size_t tn = 0;
	char host[256], port[8];
	int rc;

	if (ws == NULL)
		return PV_EXIT_INTERNAL;
	pv_diag_clear(&d);
	ws->timeout_s = 10;
	memcpy(ws->logs, logs, nlogs * sizeof(*logs));
	ws->nlogs = nlogs;
	memset(&wc, 0, sizeof(wc));
	wc.ws = ws;
	snprintf(wc.dir, sizeof(wc.dir), "%s", conf);
	{
		char *slash = strrchr(wc.dir, '/');
		if (slash != NULL)
			*slash = '\0';
		else
			snprintf(wc.dir, sizeof(wc.dir), ".");
	}
	if (pv_read_file(conf, 1 << 20, &text, &tn, &d) != 0 || pv_ini_parse((const char *)text, tn, wconf_key, &wc, &d) != 0) {
		app_report("ledger witness serve", conf, &d);
		free(text);
		free(ws);
		return PV_EXIT_FAIL;
	}
	free(text);
	{
		const char *colon = strrchr(ws->listen, ':');
		if (colon == NULL || colon == ws->listen || (size_t)(colon - ws->listen) >= sizeof(host) || strlen(colon + 1) == 0 ||
		    strlen(colon + 1) >= sizeof(port) || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
			fprintf(stderr, "pacsvault: ledger witness serve: %s: listen = HOST:PORT is missing or malformed\n", conf);
			free(ws);
			return PV_EXIT_FAIL;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - ws->listen), ws->listen);
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		snprintf(port, sizeof(port), "%s", colon + 1);
	}
	if (ws->nlogs == 0) {
		fprintf(stderr, "pacsvault: ledger witness serve: no log to witness: logs = VKEY[, VKEY...] in [witness] "
		    "(or --log-vkey)\n");
		free(ws);
		return PV_EXIT_FAIL;
	}
	if ((rc = lg_witness_open(dir, &ws->w, &d)) != 0) {
		app_report("ledger witness serve", dir, &d);
		free(ws);
		return PV_EXIT_FAIL;
	}
	pthread_mutex_init(&ws->mu, NULL);
	memset(&hc, 0, sizeof(hc));
	hc.host = host;
	hc.port = port;
	hc.cert = ws->cert[0] ? ws->cert : NULL;
	hc.key = ws->key[0] ? ws->key : NULL;
	hc.max_body = 1 << 20;
	hc.timeout_s = ws->timeout_s;
	hc.name = "witness";
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_witness_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	net_tls_load();
	rc = net_httpd_run(&hc, witness_handle, ws, &witness_stop, &d);
	if (rc != 0)
		app_report("ledger witness serve", conf, &d);
	lg_witness_close(ws->w);
	pthread_mutex_destroy(&ws->mu);
	free(ws);
	return rc == 0 ? PV_EXIT_OK : PV_EXIT_FAIL;
}

int
cmd_ledger_witness(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "old", required_argument, NULL, 'O' },
		{ "witness-vkey", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *wvkey = NULL;
	long long old = -1;
	struct lg_log *l = NULL;
	struct pv_buf note;
	struct lg_checkpoint cp;
	struct pv_diag d;
	size_t tl = 0;
	char *end;
	int c, rc;

	if (strcmp(sub, "witness") == 0)
		return witness_cmd(argc, argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'O':
			old = strtoll(optarg, &end, 10);
			if (*end != '\0' || old < 0)
				return app_usage_error("ledger", "--old wants a size");
			break;
		case 'W': wvkey = optarg; break;
		case 'h':
			fputs(witness_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("ledger", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("ledger", "%s wants the ledger folder", sub);
	pv_diag_clear(&d);
	if (lg_log_open_wait(argv[optind], 30000, &l, &d) != 0) {
		app_report("ledger", argv[optind], &d);
		return PV_EXIT_FAIL;
	}
	pv_buf_init(&note, 65536);
	if ((rc = last_checkpoint(l, &note, &cp, &tl)) != PV_EXIT_OK)
		goto done;
	if (strcmp(sub, "witness-request") == 0) {
		struct pv_buf out;

		if (old < 0) {
			rc = app_usage_error("ledger", "witness-request wants --old N (the witness's size; 0 at first)");
			goto done;
		}
		pv_buf_init(&out, 65536);
		if ((rc = build_request(l, &note, &cp, (uint64_t)old, &out)) == PV_EXIT_OK)
			fwrite(out.data, 1, out.len, stdout);
		pv_buf_free(&out);
		goto done;
	}
	if (strcmp(sub, "cosignature") == 0) {
		struct lg_verifier wv;
		unsigned char *in = NULL;
		size_t n = 0, added = 0;

		if (wvkey == NULL || lg_vkey_parse(wvkey, &wv) != 0 || wv.type != LG_SIG_COSIGNATURE) {
			rc = app_usage_error("ledger", "cosignature wants the witness's --witness-vkey (type 0x04)");
			goto done;
		}
		if (read_input(optind + 1 < argc ? argv[optind + 1] : NULL, &in, &n) != 0) {
			rc = PV_EXIT_USAGE;
			goto done;
		}
		if ((rc = keep_cosignatures(argv[optind], &note, tl, &cp, &wv, in, n, &added)) == PV_EXIT_OK)
			printf("kept %zu cosignature(s) by %s of the checkpoint at size %llu\n", added, wv.name,
			    (unsigned long long)cp.size);
		free(in);
		goto done;
	}
	rc = app_usage_error("ledger", "unknown subcommand '%s'", sub);
done:
	pv_buf_free(&note);
	lg_log_close(l);
	return rc;
}

int
ledger_cosignatures(const char *dir, uint64_t size, struct pv_buf *out)
{
	char path[4096], line[4096];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/cosignatures", dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *tab = strchr(line, '\t'), *e;
		unsigned long long s = strtoull(line, &e, 10);

		if (tab == NULL || e != tab || s != size)
			continue;
		rc = pv_buf_puts(out, tab + 1);
	}
	fclose(f);
	return rc;
}
