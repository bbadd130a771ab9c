/* main.c: the pacsvault command: subcommand dispatch, help, version. */
#include "app.h"
#include "pacsvault/base/sandbox.h"
#include "pacsvault/codec/codec.h"
#include "pacsvault/dicom/dict.h"

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
"  keygen -o FILE          write a new project key file (0600)\n"
"  help [COMMAND]          this text, or a command's own help\n"
"  version                 the version and the data dictionary edition\n"
"\n"
"Run 'pacsvault COMMAND --help' for the options of a command.\n"
"\n"
"Exit status:\n"
"  0   success\n"
"  1   one or more inputs could not be processed (each is reported on stderr);\n"
"      scan: something identifying was found; risk: patients below the target k\n"
"  2   bad command line; scan: a file could not be read\n"
"  70  internal error\n"
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

int
main(int argc, char **argv)
{
	const char *cmd;

	/* A helper process for a third-party decoder (not a user command). */
	if (argc == 3 && strcmp(argv[1], "__codec-helper") == 0 && strcmp(argv[2], "frames") == 0)
		return pix_helper_main();
	if (argc == 3 && strcmp(argv[1], "__codec-helper") == 0 && strcmp(argv[2], "sandbox-check") == 0)
		return pv_sandbox_selftest();
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
			if (strcmp(argv[2], "dump") == 0)
				return cmd_dump(2, sub);
			if (strcmp(argv[2], "convert") == 0)
				return cmd_convert(2, sub);
			if (strcmp(argv[2], "keygen") == 0)
				return cmd_keygen(2, sub);
			if (strcmp(argv[2], "deid") == 0)
				return cmd_deid(2, sub);
			if (strcmp(argv[2], "scan") == 0)
				return cmd_scan(2, sub);
			if (strcmp(argv[2], "risk") == 0)
				return cmd_risk(2, sub);
			if (strcmp(argv[2], "ledger") == 0)
				return cmd_ledger(2, sub);
			if (strcmp(argv[2], "reid") == 0)
				return cmd_reid(2, sub);
			fprintf(stderr, "pacsvault: help: no command '%s'\n", argv[2]);
			return PV_EXIT_USAGE;
		}
		fputs(help_text, stdout);
		return PV_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		print_version();
		return PV_EXIT_OK;
	}
	if (strcmp(cmd, "dump") == 0)
		return cmd_dump(argc - 1, argv + 1);
	if (strcmp(cmd, "convert") == 0)
		return cmd_convert(argc - 1, argv + 1);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(cmd, "deid") == 0)
		return cmd_deid(argc - 1, argv + 1);
	if (strcmp(cmd, "reid") == 0)
		return cmd_reid(argc - 1, argv + 1);
	if (strcmp(cmd, "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	if (strcmp(cmd, "risk") == 0)
		return cmd_risk(argc - 1, argv + 1);
	if (strcmp(cmd, "ledger") == 0)
		return cmd_ledger(argc - 1, argv + 1);
	fprintf(stderr, "pacsvault: unknown command '%s'\nTry 'pacsvault help'.\n", cmd);
	return PV_EXIT_USAGE;
}
