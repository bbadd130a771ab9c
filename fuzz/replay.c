/*
 * replay.c: runs every fuzz target on every file under the given paths
 * (tests/regress/ in `make test`), under ASan and UBSan. A crash, a leak or
 * an abort fails the run. Ends with "N passed, N failed".
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int passed;

static void
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	fuzz_reader_one(buf, (size_t)n);
	fuzz_roundtrip_one(buf, (size_t)n);
	fuzz_deid_one(buf, (size_t)n);
	fuzz_recipe_one(buf, (size_t)n);
	fuzz_rle_one(buf, (size_t)n);
	fuzz_jpegll_one(buf, (size_t)n);
	fuzz_jpeg_one(buf, (size_t)n);
	fuzz_jpegdct_one(buf, (size_t)n);
	fuzz_jpegls_one(buf, (size_t)n);
	fuzz_pixrules_one(buf, (size_t)n);
	fuzz_j2k_one(buf, (size_t)n);
	fuzz_note_one(buf, (size_t)n);
	fuzz_scan_one(buf, (size_t)n);
	fuzz_vault_one(buf, (size_t)n);
	fuzz_event_one(buf, (size_t)n);
	fuzz_jpegmeta_one(buf, (size_t)n);
	fuzz_textclean_one(buf, (size_t)n);
	fuzz_ingest_one(buf, (size_t)n);
	fuzz_pdu_one(buf, (size_t)n);
	fuzz_ini_one(buf, (size_t)n);
	fuzz_assoc_one(buf, (size_t)n);
	fuzz_http_one(buf, (size_t)n);
	free(buf);
	printf("PASS: replay %s\n", path);
	passed++;
}

static void
walk(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[4096];

	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		walk(sub);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		walk(argv[i]);
	/* A failure aborts before this line; reaching it means all passed. */
	printf("%d passed, 0 failed\n", passed);
	return 0;
}
