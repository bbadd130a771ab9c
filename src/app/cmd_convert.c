/* cmd_convert.c: `pacsvault convert`: rewrite a file in another transfer syntax. */
#include "app.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/writer.h"

#include <getopt.h>
#include <string.h>

static const char convert_help[] =
"usage: pacsvault convert [OPTIONS] INPUT -o OUTPUT\n"
"\n"
"Reads a DICOM file and writes it again, atomically, as valid Part 10: File\n"
"Meta Information regenerated, values padded to even length, group lengths\n"
"recomputed. Pixel data is streamed, never decoded.\n"
"\n"
"Options:\n"
"  -o, --output FILE       where to write (required; written atomically, and\n"
"                          never over an existing file unless --force)\n"
"  -f, --force             replace FILE when it exists\n"
"  -t, --transfer-syntax TS\n"
"                          implicit-le, explicit-le, explicit-be, deflated-le,\n"
"                          or a transfer syntax UID; default: the input's own.\n"
"                          Compressed pixel data can only be kept in its own\n"
"                          syntax (no codec is involved).\n"
"  -h, --help              this text\n"
"\n"
"Exit status: 0 on success, 1 when the input cannot be read or converted\n"
"(nothing is written then), 2 on bad usage.\n";

int
cmd_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "transfer-syntax", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *outpath = NULL, *tsname = NULL;
	const struct dcm_ts *ts = NULL;
	struct dcm_file *f = NULL;
	struct pv_diag d;
	int c, rc, force = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:t:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': outpath = optarg; break;
		case 'f': force = 1; break;
		case 't': tsname = optarg; break;
		case 'h':
			fputs(convert_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("convert", "unknown option");
		}
	}
	if (optind != argc - 1)
		return app_usage_error("convert", "exactly one input file is needed");
	if (outpath == NULL)
		return app_usage_error("convert", "-o OUTPUT is required");
	if (tsname != NULL) {
		ts = dcm_ts_by_keyword(tsname);
		if (ts == NULL)
			ts = dcm_ts_lookup(tsname, strlen(tsname));
		if (ts == NULL)
			return app_usage_error("convert", "unknown transfer syntax '%s'", tsname);
	}
	pv_diag_clear(&d);
	rc = dcm_file_open(argv[optind], NULL, &f, &d);
	if (rc != 0) {
		app_report("convert", argv[optind], &d);
		return PV_EXIT_FAIL;
	}
	rc = dcm_write_path(f, ts, outpath, 0644, DCM_WRITE_DURABLE | (force ? 0 : DCM_WRITE_NEW), &d);
	dcm_file_free(f);
	if (rc == PV_EEXIST) {
		fprintf(stderr, "pacsvault: convert: %s: exists; not replaced (--force replaces it)\n", outpath);
		return PV_EXIT_FAIL;
	}
	if (rc != 0) {
		/* A refusal is about the input; an I/O failure about the output. */
		app_report("convert", rc == PV_EUNSUPPORTED ? argv[optind] : outpath, &d);
		return PV_EXIT_FAIL;
	}
	return PV_EXIT_OK;
}
