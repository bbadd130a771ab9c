/* main.c: the pacsvault command: subcommand dispatch, help, version. */
#include "app.h"
#include "pacsvault/base/sandbox.h"
#include "pacsvault/codec/codec.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/svc/svc.h"
#include "pacsvault/dicom/dict.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <signal.h>
#include <string.h>

static const char help_text[] =
"usage: pacsvault COMMAND [OPTIONS] [ARGS...]\n"
"\n"
"pacsvault is a DICOM archive and de-identification system.\n"
"\n"
"Commands:\n"
"  dump FILE...            list the elements of DICOM files (text or --json)\n"
"  convert IN -o OUT       rewrite a file in another uncompressed transfer syntax\n"
"  deid --key K IN... -o D de-identify files and folders (PS3.15 Annex E)\n"
"  reid --key K.pem IN... -o D  restore originals kept by deid --reid-cert\n"
"  scan PATH...            look for residual identifiers (attributes, text, UIDs,\n"
"                          private tags, file meta, burned-in text); --against\n"
"  risk PATH...            re-identification risk: k-anonymity by quasi-identifiers\n"
"  ledger CMD DIR ...      the audit log: init, append, checkpoint, verify, prove,\n"
"                          verify-proof (RFC 9162 Merkle tree, C2SP checkpoints)\n"
"  vault init|rotate-key|fsck|quarantine|checkpoint-copy\n"
"                          the encrypted vault: create, re-key, check\n"
"  import PATH...|-        seal DICOM files (or one from stdin) into the vault\n"
"  find [KEY=VALUE]...     C-FIND style query of the vault's index\n"
"  get UID -o PATH         the exact imported bytes of an instance, series, study\n"
"  export UID... -o DIR [--deid ...]  identified, or through the deid engine\n"
"  rm UID...               crypto-shred instances, series or studies\n"
"  serve --config FILE     the DICOM server (DIMSE over TLS) on the vault\n"
"  user add|list|rm|passwd the server's users: roles, certificates, secrets\n"
"  token issue|list|revoke bearer tokens for the DICOMweb listener\n"
"  project add|list        de-identification projects for research users\n"
"  doctor [--config FILE]  what is unsafe in the server's set-up, item by item\n"
"  keygen -o FILE          write a new key file (project or master, 0600)\n"
"  help [COMMAND]          this text, or a command's own help\n"
"  version                 the version and the data dictionary edition\n"
"\n"
"Run 'pacsvault COMMAND --help' for the options of a command.\n"
"\n"
"Exit status:\n"
"  0   success\n"
"  1   an input, key, recipe or vault could not be used or processed (each is\n"
"      reported on stderr), or an output could not be written (a full disk, a\n"
"      closed pipe, a file -o names that exists: --force replaces it)\n"
"  2   bad command line\n"
"  3   scan: something identifying was found; risk: patients below the target k\n"
"  70  internal error, or a library pacsvault loads (OpenSSL, SQLite, libjpeg) is\n"
"      missing: the message names it\n"
"\n"
"Error messages name the file, the byte offset and the tag path; they never\n"
"print element values, so they cannot leak patient data.\n";

void
app_report(const char *cmd, const char *file, const struct pv_diag *d)
{
	char line[1024];

	pv_diag_format(d, file, line, sizeof(line));
	/* File names come from the user; still strip control characters. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	fprintf(stderr, "pacsvault: %s: %s\n", cmd, line);
}

int
app_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pacsvault: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pacsvault %s --help'.\n", cmd);
	return PV_EXIT_USAGE;
}

static void
print_version(void)
{
	printf("pacsvault %s (data dictionary: DICOM PS3.6 %s)\n", PV_VERSION, dcm_dict_edition());
}

/*
 * The libraries each command loads before it starts (they are not linked:
 * pacsvault/base/dynlib.h). dump and convert need none of them and start
 * faster; a command that does need one and cannot load it stops before it
 * reads or writes anything (exit 70), not half-way through a batch. deid
 * and export load libjpeg themselves when they clean pixel data.
 */
#define LIB_CRYPTO 1u
#define LIB_SQLITE 2u
#define LIB_JPEG 4u
static const struct {
	const char *name;
	int (*fn)(int, char **);
	unsigned libs;
} commands[] = {
	{ "dump", cmd_dump, 0 }, { "convert", cmd_convert, 0 }, { "keygen", cmd_keygen, LIB_CRYPTO },
	{ "deid", cmd_deid, LIB_CRYPTO }, { "reid", cmd_reid, LIB_CRYPTO },
	{ "scan", cmd_scan, LIB_CRYPTO | LIB_JPEG }, { "risk", cmd_risk, LIB_CRYPTO },
	{ "ledger", cmd_ledger, LIB_CRYPTO }, { "vault", cmd_vault, LIB_CRYPTO | LIB_SQLITE },
	{ "import", cmd_import, LIB_CRYPTO | LIB_SQLITE }, { "find", cmd_find, LIB_CRYPTO | LIB_SQLITE },
	{ "get", cmd_get, LIB_CRYPTO | LIB_SQLITE }, { "rm", cmd_rm, LIB_CRYPTO | LIB_SQLITE },
	{ "export", cmd_export, LIB_CRYPTO | LIB_SQLITE },
	{ "serve", cmd_serve, LIB_CRYPTO | LIB_SQLITE }, { "user", cmd_user, LIB_CRYPTO | LIB_SQLITE },
	{ "token", cmd_token, LIB_CRYPTO | LIB_SQLITE },
	{ "project", cmd_project, LIB_CRYPTO | LIB_SQLITE }, { "doctor", cmd_doctor, LIB_CRYPTO | LIB_SQLITE },
};

static void
load_libs(unsigned libs, int argc, char **argv)
{
	/* Help needs none of them (should one be missing, the help still prints). */
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return;
	if (libs & LIB_CRYPTO)
		pv_crypto_load();
	if (libs & LIB_SQLITE)
		svc_load_index();
	if (libs & LIB_JPEG)
		jpeg_load();
}

/*
 * Standard output is an output like any other: a full disk or a closed
 * pipe after the command's last line is a failure (exit 1) with the
 * reason, not a silent success with half a listing.
 */
static int
finish_stdout(const char *cmd, int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = errno;
		if (e != EPIPE)  /* a reader that stopped reading (| head) knows; others are told */
			fprintf(stderr, "pacsvault: %s: cannot write standard output: %s\n", cmd,
			    e != 0 ? strerror(e) : "write error");
		return rc == PV_EXIT_OK ? PV_EXIT_FAIL : rc;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	/* A helper process for a third-party decoder (not a user command). */
	if (argc == 3 && strcmp(argv[1], "__codec-helper") == 0 && strcmp(argv[2], "frames") == 0)
		return pix_helper_main();
	if (argc == 3 && strcmp(argv[1], "__codec-helper") == 0 && strcmp(argv[2], "sandbox-check") == 0)
		return pv_sandbox_selftest();
	/*
	 * Batches allocate and free the same buffers file after file, on several threads: keep freed
	 * memory in each arena (no trimming, no mmap for mid-sized buffers) instead of handing it back
	 * to the kernel and faulting it in again for the next file.
	 */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	/* make bench's synthetic index and find timing (bench/vault.sh). */
	if (argc >= 2 && strcmp(argv[1], "__vault-bench") == 0)
		return cmd_vault_bench(argc - 1, argv + 1);
	/* A helper that dies must not take us with it (EPIPE instead). */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fputs(help_text, stderr);
		return PV_EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			char *sub[] = { argv[2], (char *)"--help", NULL };

			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (strcmp(argv[2], commands[i].name) == 0)
					return finish_stdout(argv[2], commands[i].fn(2, sub));
			fprintf(stderr, "pacsvault: help: no command '%s'\n", argv[2]);
			return PV_EXIT_USAGE;
		}
		fputs(help_text, stdout);
		return finish_stdout("help", PV_EXIT_OK);
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		print_version();
		return finish_stdout("version", PV_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0) {
			load_libs(commands[i].libs, argc, argv);
			return finish_stdout(cmd, commands[i].fn(argc - 1, argv + 1));
		}
	fprintf(stderr, "pacsvault: unknown command '%s'\nTry 'pacsvault help'.\n", cmd);
	return PV_EXIT_USAGE;
}
