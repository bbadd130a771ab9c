/* cmd_keygen.c: `pacsvault keygen`: write a new key file. */
#include "app.h"
#include "pacsvault/crypto/keyfile.h"

#include <getopt.h>
#include <string.h>

static const char keygen_help[] =
"usage: pacsvault keygen [--type TYPE] -o FILE\n"
"\n"
"Writes a new random 32-byte key to FILE, mode 0600, and prints its key id.\n"
"An existing file is never overwritten. Keep the file outside any folder\n"
"you share: whoever holds a project key can recompute the pseudonyms it\n"
"makes.\n"
"\n"
"Options:\n"
"  -o, --output FILE   the key file to create (required)\n"
"  --type TYPE         project (default): pseudonyms and date shifts for\n"
"                      'pacsvault deid --key FILE'; master: a vault's master\n"
"                      key kept outside the vault ('pacsvault vault init\n"
"                      --master-key FILE')\n"
"  -h, --help          this text\n"
"\n"
"Exit status: 0 when written, 1 when the file exists or cannot be written,\n"
"2 on bad usage.\n";

int
cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	enum pv_key_type type = PV_KEY_PROJECT;
	struct pv_key k;
	struct pv_diag d;
	char id[9];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 't':
			if (strcmp(optarg, "project") == 0)
				type = PV_KEY_PROJECT;
			else if (strcmp(optarg, "master") == 0)
				type = PV_KEY_MASTER;
			else
				return app_usage_error("keygen", "unknown key type '%s' (project, master)", optarg);
			break;
		case 'h':
			fputs(keygen_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("keygen", "unknown option");
		}
	}
	if (out == NULL || optind != argc)
		return app_usage_error("keygen", "-o FILE is required, and nothing else");
	pv_diag_clear(&d);
	if (pv_key_generate(&k, type) != 0) {
		fprintf(stderr, "pacsvault: keygen: no randomness available\n");
		return PV_EXIT_FAIL;
	}
	if (pv_key_write(out, &k, &d) != 0) {
		pv_key_clear(&k);
		app_report("keygen", out, &d);
		return PV_EXIT_FAIL;
	}
	pv_key_id_hex(&k, id);
	pv_key_clear(&k);
	printf("wrote %s key %s to %s (mode 0600)\n", pv_key_type_name(type), id, out);
	return PV_EXIT_OK;
}
