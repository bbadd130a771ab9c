/* cmd_ledger.c: `pacsvault ledger`: the tamper-evident audit log. */
#include "app.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/ledger/log.h"
#include "pacsvault/ledger/note.h"
#include "pacsvault/ledger/witness.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char ledger_help[] =
"usage: pacsvault ledger COMMAND DIR [OPTIONS]\n"
"\n"
"The audit log: an append-only RFC 9162 Merkle tree in the folder DIR, with\n"
"signed C2SP checkpoints (Ed25519) anyone holding the log's verifier key can\n"
"check. Entries are opaque records (audit events; never patient data).\n"
"\n"
"Commands:\n"
"  init DIR [--origin NAME]    create a log and its signing key (0600); prints\n"
"                              the verifier key (vkey) to publish\n"
"  vkey DIR                    the verifier key\n"
"  append DIR [FILE] [--batch N]  every line of FILE (or standard input) is an\n"
"                              entry; a batch of N (default 1000) is made\n"
"                              durable at once (group commit) and acknowledged\n"
"                              on standard output: \"committed SIZE\"\n"
"  entry DIR --index N         entry N, byte for byte as it was appended (a\n"
"                              newline after it only on a terminal)\n"
"  checkpoint DIR [--policy FILE [--witness URL...] [--witness-ca FILE]]\n"
"                              sign a checkpoint of the committed size, after\n"
"                              checking it is consistent with the last one\n"
"                              (a vault's ledger signs one with every commit;\n"
"                              its key is sealed and this refuses). With\n"
"                              --policy, each witness of it that has a URL\n"
"                              (or only those --witness names) is asked to\n"
"                              cosign it (C2SP tlog-witness add-checkpoint,\n"
"                              over HTTPS verified with --witness-ca or the\n"
"                              system's CAs); cosignatures that verify with\n"
"                              the policy's keys are kept; exit 1 unless the\n"
"                              policy's quorum is met\n"
"  verify DIR [--vkey VKEY|FILE] [--checkpoint FILE]...\n"
"                              recompute every hash, check every checkpoint's\n"
"                              signature, root and consistency; the first\n"
"                              problem is named (exit status 1). With --vkey\n"
"                              (the published verifier key) the signing seed\n"
"                              is not needed: an auditor's copy verifies.\n"
"                              --checkpoint FILE: checkpoints kept outside\n"
"                              the log (a vault's checkpoint copy, a\n"
"                              witness's, a bundle's): each must verify, be\n"
"                              of a prefix of the log with its root, and be\n"
"                              stored in the log; so a cut tail, a rewritten\n"
"                              entry, a replaced key or a dropped checkpoint\n"
"                              is named. A vault's ledger (its key sealed)\n"
"                              must have every entry under a checkpoint\n"
"  prove DIR --index N         a c2sp.org/tlog-proof@v1 bundle: the inclusion\n"
"                              proof of entry N in the last checkpoint\n"
"  prove DIR --from M --to N   a consistency proof between sizes M and N\n"
"  verify-proof BUNDLE --vkey VKEY|FILE [--policy FILE] (--entry FILE | --leaf-hash HEX)\n"
"                              check a tlog-proof offline: the checkpoint's\n"
"                              signature by VKEY (the key, or a file holding\n"
"                              it), with --policy the witnesses'\n"
"                              cosignatures against its quorum, and the\n"
"                              inclusion proof\n"
"  witness init|add-checkpoint, witness-request, cosignature\n"
"                              witnessing ('ledger witness --help')\n"
"  show [DIR] [--vault V] [--patient ID] [--since T] [--until T] [--event CODE]\n"
"              [--user NAME] [--json]\n"
"                              the audit events, filtered ('ledger show --help')\n"
"  atna [DIR] --index N        entry N as a DICOM audit message (PS3.15 A.5.1)\n"
"  export [DIR] --to HOST:PORT --ca CA.pem [--cert C --key K] [--follow S]\n"
"                              every audit event not yet delivered, as DICOM\n"
"                              audit messages in RFC 5424 syslog over TLS\n"
"                              (RFC 5425), in order, nothing lost while the\n"
"                              collector is down ('ledger export --help')\n"
"  time-proofs DIR             time 1,000 random proofs on the log (make bench)\n"
"\n"
"Exit status: 0 success, 1 verification failed or an operation failed, 2 bad usage.\n";

static void
report(const struct pv_diag *d)
{
	fprintf(stderr, "pacsvault: ledger: %s\n", d->msg);
}

static const char b64c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
put_b64(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		fputc(b64c[(v >> 18) & 63], f);
		fputc(b64c[(v >> 12) & 63], f);
		fputc(i + 1 < n ? b64c[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? b64c[v & 63] : '=', f);
	}
}

static int
cmd_append(struct lg_log *l, const char *path, unsigned long batch)
{
	FILE *in = path ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, pending = 0, total = 0;
	ssize_t n;
	struct pv_diag d;

	if (in == NULL) {
		fprintf(stderr, "pacsvault: ledger: %s: cannot read\n", path);
		return PV_EXIT_FAIL;
	}
	pv_diag_clear(&d);
	while ((n = getline(&line, &cap, in)) >= 0) {
		uint64_t idx;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (lg_log_append(l, line, (size_t)n, &idx, &d) != 0)
			break;
		total++;
		if (++pending == batch) {
			if (lg_log_commit(l, &d) != 0)
				break;
			printf("committed %llu\n", (unsigned long long)lg_log_size(l));
			fflush(stdout);
			pending = 0;
		}
	}
	free(line);
	if (path)
		fclose(in);
	if (d.code == 0 && pending > 0) {
		if (lg_log_commit(l, &d) == 0) {
			printf("committed %llu\n", (unsigned long long)lg_log_size(l));
			fflush(stdout);
		}
	}
	if (d.code != 0) {
		report(&d);
		return PV_EXIT_FAIL;
	}
	fprintf(stderr, "pacsvault: ledger: %zu entries appended, size %llu\n", total, (unsigned long long)lg_log_size(l));
	return PV_EXIT_OK;
}

static int
parse_hex32(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/*
 * The text of a verifier key given as --vkey: a file holding it (as `ledger
 * vkey DIR > FILE` writes it, as other options take files) or the key
 * itself. NULL (said) when the file cannot be read.
 */
static const char *
vkey_text_of(const char *vkey, char *text, size_t tn)
{
	unsigned char *kt = NULL;
	size_t kn = 0;
	struct pv_diag d;

	if (access(vkey, F_OK) != 0)
		return vkey;
	pv_diag_clear(&d);
	if (pv_read_file(vkey, 4096, &kt, &kn, &d) != 0) {
		fprintf(stderr, "pacsvault: ledger: %s: cannot read the verifier key\n", vkey);
		return NULL;
	}
	while (kn > 0 && (kt[kn - 1] == '\n' || kt[kn - 1] == '\r' || kt[kn - 1] == ' '))
		kn--;
	if (kn >= tn)
		kn = tn - 1;
	memcpy(text, kt != NULL ? (const char *)kt : "", kn);
	text[kn] = '\0';
	free(kt);
	return text;
}

/* Offline verification of a c2sp.org/tlog-proof@v1 bundle. */
static int
verify_proof(const char *bundle_path, const char *vkey, const char *policy_path, const char *entry_path,
    const char *leaf_hex)
{
	unsigned char *b = NULL;
	size_t n = 0, pos, tl, nv = 0, nlog = 0;
	struct pv_diag d;
	static struct lg_policy pol;
	static struct lg_verifier vs[8 + LG_POLICY_MAX];
	struct lg_checkpoint c;
	uint8_t leaf[LG_HASH], proof[LG_MAX_PROOF][LG_HASH];
	size_t plen = 0;
	uint64_t index = 0, ts[8 + LG_POLICY_MAX];
	int verified[8 + LG_POLICY_MAX], cosigned[LG_POLICY_MAX], logok = 0;
	static char vkey_text[4096];
	struct pv_hasher *h = pv_hasher_new();

	pv_diag_clear(&d);
	if (h == NULL)
		return PV_EXIT_INTERNAL;
	memset(&pol, 0, sizeof(pol));
	if (policy_path != NULL) {
		unsigned char *pt = NULL;
		size_t pn = 0;

		if (pv_read_file(policy_path, 1 << 20, &pt, &pn, &d) != 0 ||
		    lg_policy_parse(pt != NULL ? (const char *)pt : "", pn, &pol, &d) != 0) {
			free(pt);
			pv_hasher_free(h);
			fprintf(stderr, "pacsvault: ledger: %s: %s\n", policy_path, d.msg[0] ? d.msg : "cannot read");
			return PV_EXIT_USAGE;
		}
		free(pt);
		for (size_t i = 0; i < pol.nlogs; i++)
			vs[nv++] = pol.logs[i];
	}
	if (vkey != NULL && (vkey = vkey_text_of(vkey, vkey_text, sizeof(vkey_text))) == NULL) {
		pv_hasher_free(h);
		return PV_EXIT_USAGE;
	}
	if (vkey != NULL) {
		if (lg_vkey_parse(vkey, &vs[nv]) != 0 || vs[nv].type != LG_SIG_ED25519) {
			pv_hasher_free(h);
			return app_usage_error("ledger", "--vkey is not a log verifier key (NAME+KEYID+BASE64)");
		}
		nv++;
	}
	if (nv == 0) {
		pv_hasher_free(h);
		return app_usage_error("ledger", "verify-proof wants the log's key: --vkey, or a 'log' line in --policy");
	}
	nlog = nv;
	for (size_t i = 0; i < pol.nwit; i++)
		vs[nv++] = pol.wit[i];
	if (entry_path != NULL) {
		unsigned char *e = NULL;
		size_t en = 0;
		if (pv_read_file(entry_path, LG_ENTRY_MAX, &e, &en, &d) != 0 || lg_leaf_hash(h, e, en, leaf) != 0) {
			free(e);
			pv_hasher_free(h);
			fprintf(stderr, "pacsvault: ledger: %s: cannot read the entry\n", entry_path);
			return PV_EXIT_USAGE;
		}
		free(e);
	} else if (leaf_hex == NULL || parse_hex32(leaf_hex, leaf) != 0) {
		pv_hasher_free(h);
		return app_usage_error("ledger", "--leaf-hash wants 64 hex digits (or give --entry FILE)");
	}
	if (pv_read_file(bundle_path, 1 << 20, &b, &n, &d) != 0) {
		pv_hasher_free(h);
		fprintf(stderr, "pacsvault: ledger: %s: cannot read the proof\n", bundle_path);
		return PV_EXIT_USAGE;
	}
	if (lg_proof_parse(b, n, &index, proof, &plen, &pos) != 0) {
		free(b);
		pv_hasher_free(h);
		fprintf(stderr, "pacsvault: ledger: %s: not a c2sp.org/tlog-proof@v1 bundle\n", bundle_path);
		return PV_EXIT_FAIL;
	}
	if (lg_note_open_ts(b + pos, n - pos, vs, nv, &tl, verified, ts, &d) != 0 ||
	    lg_checkpoint_parse((const char *)b + pos, tl, &c, &d) != 0) {
		free(b);
		pv_hasher_free(h);
		fprintf(stderr, "pacsvault: ledger: the checkpoint does not verify: %s\n", d.msg);
		return PV_EXIT_FAIL;
	}
	/* The log's own signature, by a log key whose name is the checkpoint's origin. */
	for (size_t i = 0; i < nlog; i++)
		logok |= verified[i] && strcmp(vs[i].name, c.origin) == 0;
	if (!logok) {
		free(b);
		pv_hasher_free(h);
		fprintf(stderr, "pacsvault: ledger: the checkpoint is not signed by the log's key\n");
		return PV_EXIT_FAIL;
	}
	for (size_t i = 0; i < pol.nwit; i++)
		cosigned[i] = verified[nlog + i];
	if (policy_path != NULL && !lg_policy_satisfied(&pol, cosigned)) {
		size_t got = 0;

		for (size_t i = 0; i < pol.nwit; i++)
			got += cosigned[i] != 0;
		free(b);
		pv_hasher_free(h);
		fprintf(stderr, "pacsvault: ledger: the witness quorum of the policy is not met (%zu of its %zu "
		    "witnesses cosigned)\n", got, pol.nwit);
		return PV_EXIT_FAIL;
	}
	if (
	    lg_verify_inclusion(h, index, c.size, leaf, (const uint8_t (*)[LG_HASH])proof, plen, c.root) != 0) {
		free(b);
		pv_hasher_free(h);
		fprintf(stderr, "pacsvault: ledger: the inclusion proof does not verify\n");
		return PV_EXIT_FAIL;
	}
	printf("ok: entry %llu is in %s at size %llu, signed by its key", (unsigned long long)index, c.origin,
	    (unsigned long long)c.size);
	if (policy_path != NULL) {
		printf("; witness quorum met:");
		for (size_t i = 0; i < pol.nwit; i++)
			if (cosigned[i])
				printf(" %s (at %llu)", pol.wit_name[i], (unsigned long long)ts[nlog + i]);
	}
	putchar('\n');
	free(b);
	pv_hasher_free(h);
	return PV_EXIT_OK;
}

int
cmd_ledger(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "origin", required_argument, NULL, 'O' },
		{ "batch", required_argument, NULL, 'B' },
		{ "index", required_argument, NULL, 'I' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "vkey", required_argument, NULL, 'V' },
		{ "entry", required_argument, NULL, 'E' },
		{ "leaf-hash", required_argument, NULL, 'L' },
		{ "policy", required_argument, NULL, 'P' },
		{ "checkpoint", required_argument, NULL, 'C' },
		{ "witness", required_argument, NULL, 'W' },
		{ "witness-ca", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *origin = NULL, *vkey = NULL, *entry = NULL, *leaf = NULL, *policy = NULL, *sub, *dir;
	const char *anchor_files[16], *wurls[16], *wca = NULL;
	size_t nanchor_files = 0, nwurls = 0;
	unsigned long batch = 1000;
	long long index = -1, from = -1, to = -1;
	int c, rc = PV_EXIT_OK;
	char *end;
	struct pv_diag d;
	struct lg_log *l = NULL;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(ledger_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? PV_EXIT_USAGE : PV_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "show") == 0)
		return cmd_ledger_show(argc - 1, argv + 1);
	if (strcmp(sub, "atna") == 0 || strcmp(sub, "export") == 0)
		return cmd_ledger_atna(argc - 1, argv + 1);
	if (strcmp(sub, "witness") == 0 || strcmp(sub, "witness-request") == 0 || strcmp(sub, "cosignature") == 0)
		return cmd_ledger_witness(argc - 1, argv + 1);
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'O': origin = optarg; break;
		case 'V': vkey = optarg; break;
		case 'C':
			if (nanchor_files == sizeof(anchor_files) / sizeof(anchor_files[0]))
				return app_usage_error("ledger", "--checkpoint at most 16 times");
			anchor_files[nanchor_files++] = optarg;
			break;
		case 'W':
			if (nwurls == sizeof(wurls) / sizeof(wurls[0]))
				return app_usage_error("ledger", "--witness at most 16 times");
			wurls[nwurls++] = optarg;
			break;
		case 'A': wca = optarg; break;
		case 'E': entry = optarg; break;
		case 'L': leaf = optarg; break;
		case 'P': policy = optarg; break;
		case 'B':
			batch = strtoul(optarg, &end, 10);
			if (*end || batch == 0 || batch > 1000000)
				return app_usage_error("ledger", "--batch wants 1 to 1000000");
			break;
		case 'I': case 'F': case 'T': {
			long long v = strtoll(optarg, &end, 10);
			if (*end || v < 0)
				return app_usage_error("ledger", "--index, --from and --to want a number");
			if (c == 'I') index = v; else if (c == 'F') from = v; else to = v;
			break;
		}
		case 'h':
			fputs(ledger_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("ledger", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("ledger", "%s wants a folder (or, for verify-proof, a bundle)", sub);
	dir = argv[optind];
	pv_diag_clear(&d);
	if (strcmp(sub, "verify-proof") == 0) {
		if ((vkey == NULL && policy == NULL) || (entry == NULL) == (leaf == NULL))
			return app_usage_error("ledger", "verify-proof wants --vkey (or --policy) and one of --entry, "
			    "--leaf-hash");
		return verify_proof(dir, vkey, policy, entry, leaf);
	}
	if (strcmp(sub, "init") == 0) {
		struct pv_buf vk;
		if (lg_log_create(dir, origin ? origin : "pacsvault.local/ledger", &d) != 0 || lg_log_open(dir, &l, &d) != 0) {
			report(&d);
			return d.code == PV_EEXIST || d.code == PV_EINVAL ? PV_EXIT_USAGE : PV_EXIT_FAIL;
		}
		pv_buf_init(&vk, 1024);
		if (lg_log_vkey(l, &vk) == 0)
			printf("%s\n", vk.data);
		pv_buf_free(&vk);
		lg_log_close(l);
		return PV_EXIT_OK;
	}
	if (strcmp(sub, "verify") == 0) {
		uint64_t ne, nc;
		static char vt[4096];
		struct lg_verifier vk;

		if (vkey != NULL) {
			/* an auditor's copy: the published verifier key, no signing seed */
			if ((vkey = vkey_text_of(vkey, vt, sizeof(vt))) == NULL)
				return PV_EXIT_USAGE;
			if (lg_vkey_parse(vkey, &vk) != 0 || vk.type != LG_SIG_ED25519)
				return app_usage_error("ledger", "--vkey is not a log verifier key (NAME+KEYID+BASE64)");
		}
		struct lg_verify_opts vo;
		struct lg_verify_result vr;
		struct pv_buf anchors;

		(void)ne;
		(void)nc;
		memset(&vo, 0, sizeof(vo));
		vo.vk = vkey != NULL ? &vk : NULL;
		vo.wait_ms = 2000;  /* a server holding the log lets go when it sees a waiter */
		pv_buf_init(&anchors, (size_t)64 << 20);
		for (size_t i = 0; i < nanchor_files; i++) {
			unsigned char *t = NULL;
			size_t tn = 0;

			if (pv_read_file(anchor_files[i], (size_t)64 << 20, &t, &tn, &d) != 0 ||
			    pv_buf_append(&anchors, t, tn) != 0 || pv_buf_append(&anchors, "\n", 1) != 0) {
				free(t);
				pv_buf_free(&anchors);
				fprintf(stderr, "pacsvault: ledger: %s: cannot read the checkpoint file\n", anchor_files[i]);
				return PV_EXIT_FAIL;
			}
			free(t);
		}
		vo.anchors = (const uint8_t *)anchors.data;
		vo.anchors_len = anchors.len;
		rc = lg_log_verify_ex(dir, &vo, &vr, &d);
		pv_buf_free(&anchors);
		if (rc != 0) {
			fprintf(stderr, "pacsvault: ledger: %s: verification failed: %s\n", dir, d.msg);
			return PV_EXIT_FAIL;
		}
		printf("ok: %llu entries and %llu checkpoints verified", (unsigned long long)vr.entries,
		    (unsigned long long)vr.checkpoints);
		if (nanchor_files > 0)
			printf("; %llu checkpoints held outside are in the log", (unsigned long long)vr.anchors);
		if (vr.uncovered > 0)
			printf("; the last %llu entries are not yet covered by a checkpoint", (unsigned long long)vr.uncovered);
		putchar('\n');
		if (vr.key_source == LG_KEY_VKEY_FILE && nanchor_files == 0)
			fprintf(stderr, "pacsvault: ledger: note: checked with the folder's own verifier key (DIR/vkey), "
			    "which whoever writes the folder could replace; give --vkey (the published key) or "
			    "--checkpoint FILE (a checkpoint kept outside) to check against what was published\n");
		return PV_EXIT_OK;
	}
	if (lg_log_open(dir, &l, &d) != 0) {
		report(&d);
		return PV_EXIT_FAIL;
	}
	if (strcmp(sub, "vkey") == 0) {
		struct pv_buf vk;
		pv_buf_init(&vk, 1024);
		if (lg_log_vkey(l, &vk) == 0)
			printf("%s\n", vk.data);
		pv_buf_free(&vk);
	} else if (strcmp(sub, "append") == 0) {
		rc = cmd_append(l, optind + 1 < argc ? argv[optind + 1] : NULL, batch);
	} else if (strcmp(sub, "entry") == 0) {
		struct pv_buf e;
		pv_buf_init(&e, LG_ENTRY_MAX + 16);
		if (index < 0)
			rc = app_usage_error("ledger", "entry wants --index N");
		else if (lg_log_entry(l, (uint64_t)index, &e, &d) != 0) {
			report(&d);
			rc = PV_EXIT_FAIL;
		} else {
			/* The exact bytes, so that `ledger entry ... > f` is what --entry f
			 * hashes; a newline only for a person at a terminal. */
			fwrite(e.data ? e.data : "", 1, e.len, stdout);
			if (isatty(STDOUT_FILENO))
				putchar('\n');
		}
		pv_buf_free(&e);
	} else if (strcmp(sub, "checkpoint") == 0) {
		struct pv_buf note;
		pv_buf_init(&note, 65536);
		if (lg_log_checkpoint(l, &note, &d) != 0) {
			report(&d);
			rc = PV_EXIT_FAIL;
		} else {
			fwrite(note.data, 1, note.len, stdout);
			fflush(stdout);
			/* then the witnesses: the policy's (or those --witness names), their cosignatures kept */
			if (nwurls > 0 || policy != NULL)
				rc = ledger_ask_witnesses(l, dir, policy, wurls, nwurls, wca);
		}
		pv_buf_free(&note);
	} else if (strcmp(sub, "prove") == 0) {
		uint8_t proof[LG_MAX_PROOF][LG_HASH];
		size_t plen = 0;
		if (index >= 0 && from < 0 && to < 0) {
			struct pv_buf note;
			struct lg_verifier v;
			struct lg_checkpoint cp;
			size_t tl;
			int verified;
			struct pv_buf vk;
			pv_buf_init(&note, 65536);
			pv_buf_init(&vk, 1024);
			if (lg_log_last_checkpoint(l, &note, &d) != 0 || note.len == 0 || lg_log_vkey(l, &vk) != 0 ||
			    lg_vkey_parse(vk.data, &v) != 0 ||
			    lg_note_open((const uint8_t *)note.data, note.len, &v, 1, &tl, &verified, &d) != 0 ||
			    lg_checkpoint_parse(note.data, tl, &cp, &d) != 0) {
				fprintf(stderr, "pacsvault: ledger: no valid checkpoint to prove against (make one: ledger checkpoint)\n");
				rc = PV_EXIT_FAIL;
			} else if ((uint64_t)index >= cp.size) {
				fprintf(stderr, "pacsvault: ledger: entry %lld is not in the last checkpoint (size %llu): make a new one\n",
				    index, (unsigned long long)cp.size);
				rc = PV_EXIT_FAIL;
			} else if (lg_tree_inclusion(lg_log_tree(l), (uint64_t)index, cp.size, proof, &plen) != 0) {
				rc = PV_EXIT_FAIL;
			} else {
				printf("c2sp.org/tlog-proof@v1\nindex %lld\n", index);
				for (size_t i = 0; i < plen; i++) {
					put_b64(stdout, proof[i], LG_HASH);
					putchar('\n');
				}
				putchar('\n');
				/* The witnesses' cosignatures kept for this checkpoint follow the log's signature. */
				if (ledger_cosignatures(dir, cp.size, &note) != 0)
					rc = PV_EXIT_INTERNAL;
				fwrite(note.data, 1, note.len, stdout);
			}
			pv_buf_free(&note);
			pv_buf_free(&vk);
		} else if (from >= 0 && to >= 0 && index < 0) {
			if (lg_tree_consistency(lg_log_tree(l), (uint64_t)from, (uint64_t)to, proof, &plen) != 0 ||
			    (uint64_t)to > lg_log_size(l)) {
				fprintf(stderr, "pacsvault: ledger: no consistency proof from %lld to %lld (size %llu)\n", from, to,
				    (unsigned long long)lg_log_size(l));
				rc = PV_EXIT_FAIL;
			} else {
				uint8_t r1[LG_HASH], r2[LG_HASH];
				if (lg_tree_root(lg_log_tree(l), (uint64_t)from, r1) == 0 && lg_tree_root(lg_log_tree(l), (uint64_t)to, r2) == 0) {
					printf("pacsvault.ledger/consistency-proof@v1\nfrom %lld ", from);
					put_b64(stdout, r1, LG_HASH);
					printf("\nto %lld ", to);
					put_b64(stdout, r2, LG_HASH);
					putchar('\n');
					for (size_t i = 0; i < plen; i++) {
						put_b64(stdout, proof[i], LG_HASH);
						putchar('\n');
					}
				}
			}
		} else {
			rc = app_usage_error("ledger", "prove wants --index N, or --from M --to N");
		}
	} else if (strcmp(sub, "time-proofs") == 0) {
		/* for make bench: the cost of proofs on this log, in process */
		struct lg_tree *t = lg_log_tree(l);
		uint64_t size = lg_log_size(l), seed = 88172645463325252ull;
		uint8_t proof[LG_MAX_PROOF][LG_HASH], root[LG_HASH], r1[LG_HASH], lh[LG_HASH];
		size_t plen;
		struct timespec t0, t1;
		double gen = 0, ver = 0, cgen = 0;
		int bad = 0, rounds = 1000;
		if (size < 2 || lg_tree_root(t, size, root) != 0) {
			fprintf(stderr, "pacsvault: ledger: the log is too small to time proofs\n");
			rc = PV_EXIT_FAIL;
		} else {
			for (int i = 0; i < rounds; i++) {
				seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
				uint64_t idx = seed % size, m = 1 + seed % (size - 1);
				bad |= lg_tree_node(t, 0, idx, lh) != 0;
				clock_gettime(CLOCK_MONOTONIC, &t0);
				bad |= lg_tree_inclusion(t, idx, size, proof, &plen) != 0;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				gen += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
				clock_gettime(CLOCK_MONOTONIC, &t0);
				bad |= lg_verify_inclusion(t->h, idx, size, lh, (const uint8_t (*)[LG_HASH])proof, plen, root) != 0;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				ver += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
				clock_gettime(CLOCK_MONOTONIC, &t0);
				bad |= lg_tree_root(t, m, r1) != 0 || lg_tree_consistency(t, m, size, proof, &plen) != 0;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				cgen += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
				bad |= lg_verify_consistency(t->h, m, size, r1, root, (const uint8_t (*)[LG_HASH])proof, plen) != 0;
			}
			printf("size %llu: inclusion proof %.1f us, its verification %.1f us, consistency proof (with the old root) %.1f us%s\n",
			    (unsigned long long)size, gen * 1e6 / rounds, ver * 1e6 / rounds, cgen * 1e6 / rounds,
			    bad ? " (A PROOF FAILED)" : "");
			rc = bad ? PV_EXIT_FAIL : PV_EXIT_OK;
		}
	} else {
		rc = app_usage_error("ledger", "unknown command '%s' (see pacsvault ledger --help)", sub);
	}
	lg_log_close(l);
	return rc;
}
