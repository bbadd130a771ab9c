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

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOG_KEYS 16

static const char witness_help[] =
"usage: pacsvault ledger witness init WDIR --name NAME\n"
"       pacsvault ledger witness add-checkpoint WDIR --log-vkey VKEY... [REQUEST|-]\n"
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

static int
witness_cmd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "log-vkey", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg_verifier logs[MAX_LOG_KEYS];
	size_t nlogs = 0;
	const char *name = NULL, *sub, *dir;
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
		uint8_t proof[LG_MAX_PROOF][LG_HASH];
		size_t plen = 0;
		struct pv_buf out;

		if (old < 0) {
			rc = app_usage_error("ledger", "witness-request wants --old N (the witness's size; 0 at first)");
			goto done;
		}
		if ((uint64_t)old > cp.size) {
			fprintf(stderr, "pacsvault: ledger: the witness is at %lld, past the last checkpoint (%llu): "
			    "another view of this log?\n", old, (unsigned long long)cp.size);
			rc = PV_EXIT_FAIL;
			goto done;
		}
		if (old > 0 && (uint64_t)old < cp.size &&
		    lg_tree_consistency(lg_log_tree(l), (uint64_t)old, cp.size, proof, &plen) != 0) {
			rc = PV_EXIT_FAIL;
			goto done;
		}
		pv_buf_init(&out, 65536);
		rc = pv_buf_printf(&out, "old %lld\n", old);
		for (size_t i = 0; i < plen && rc == 0; i++)
			if ((rc = pv_base64_append(&out, proof[i], LG_HASH)) == 0)
				rc = pv_buf_putc(&out, '\n');
		if (rc == 0)
			rc = pv_buf_putc(&out, '\n');
		if (rc == 0)
			rc = pv_buf_append(&out, note.data, note.len);
		if (rc == 0)
			fwrite(out.data, 1, out.len, stdout);
		pv_buf_free(&out);
		rc = rc == 0 ? PV_EXIT_OK : PV_EXIT_INTERNAL;
		goto done;
	}
	if (strcmp(sub, "cosignature") == 0) {
		struct lg_verifier wv;
		unsigned char *in = NULL;
		size_t n = 0, added = 0;
		struct pv_buf keep, test;
		int verified = 0;

		if (wvkey == NULL || lg_vkey_parse(wvkey, &wv) != 0 || wv.type != LG_SIG_COSIGNATURE) {
			rc = app_usage_error("ledger", "cosignature wants the witness's --witness-vkey (type 0x04)");
			goto done;
		}
		if (read_input(optind + 1 < argc ? argv[optind + 1] : NULL, &in, &n) != 0) {
			rc = PV_EXIT_USAGE;
			goto done;
		}
		pv_buf_init(&keep, 65536);
		pv_buf_init(&test, 65536);
		/* Each line must verify as this witness's cosignature of the last checkpoint. */
		for (size_t pos = 0; pos < n;) {
			const unsigned char *nl = memchr(in + pos, '\n', n - pos);
			size_t ll = nl != NULL ? (size_t)(nl - in - pos) + 1 : n - pos;
			size_t t2;

			pv_buf_reset(&test);
			if (pv_buf_append(&test, note.data, tl) != 0 || pv_buf_putc(&test, '\n') != 0 ||
			    pv_buf_append(&test, in + pos, ll) != 0 || (nl == NULL && pv_buf_putc(&test, '\n') != 0) ||
			    lg_note_open((const uint8_t *)test.data, test.len, &wv, 1, &t2, &verified, &d) != 0 ||
			    !verified) {
				fprintf(stderr, "pacsvault: ledger: line %zu is not %s's cosignature of the last "
				    "checkpoint: %s\n", added + 1, wv.name, d.msg);
				rc = PV_EXIT_FAIL;
				break;
			}
			if (pv_buf_printf(&keep, "%llu\t", (unsigned long long)cp.size) != 0 ||
			    pv_buf_append(&keep, in + pos, ll) != 0 || (nl == NULL && pv_buf_putc(&keep, '\n') != 0)) {
				rc = PV_EXIT_INTERNAL;
				break;
			}
			added++;
			pos += ll;
		}
		if (rc == PV_EXIT_OK && added > 0) {
			char path[4096];
			FILE *f;

			snprintf(path, sizeof(path), "%s/cosignatures", argv[optind]);
			if ((f = fopen(path, "a")) == NULL || fwrite(keep.data, 1, keep.len, f) != keep.len ||
			    fflush(f) != 0 || fsync(fileno(f)) != 0) {
				fprintf(stderr, "pacsvault: ledger: cannot write %s\n", path);
				rc = PV_EXIT_FAIL;
			}
			if (f != NULL)
				fclose(f);
		}
		if (rc == PV_EXIT_OK)
			printf("kept %zu cosignature(s) by %s of the checkpoint at size %llu\n", added, wv.name,
			    (unsigned long long)cp.size);
		free(in);
		pv_buf_free(&keep);
		pv_buf_free(&test);
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
