/* test_base.c: unit tests of src/base. */
#include "harness.h"
#include "tests.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/log.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/pool.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
test_err_strings(void)
{
	for (int c = 0; c > -PV_ERR_COUNT; c--) {
		T_ASSERT(pv_strerror(c) != NULL && pv_strerror(c)[0] != '\0');
		T_ASSERT(strncmp(pv_errname(c), "PV_", 3) == 0);
	}
	T_EQ_STR(pv_strerror(PV_EPARSE), "malformed input");
	T_EQ_STR(pv_strerror(-999), "unknown error");
	T_EQ_STR(pv_strerror(7), "unknown error");
}

void
test_diag_sticky_and_format(void)
{
	struct pv_diag d;
	char out[512];

	pv_diag_clear(&d);
	T_EQ_INT(pv_diag_set(&d, PV_EPARSE, 1234, "bad %s", "thing"), PV_EPARSE);
	T_EQ_INT(pv_diag_set(&d, PV_EIO, 5, "second"), PV_EIO);  /* returns code, keeps first */
	T_EQ_INT(d.code, PV_EPARSE);
	pv_diag_set_path(&d, "(0008,1115)[0].(0020,000e)");
	pv_diag_set_path(&d, "other");
	pv_diag_format(&d, "a.dcm", out, sizeof(out));
	T_EQ_STR(out, "a.dcm: offset 1234: (0008,1115)[0].(0020,000e): bad thing");
	pv_diag_format(&d, NULL, out, 10);
	T_EQ_INT(strlen(out) < 10, 1);
	T_EQ_INT(pv_diag_set(NULL, PV_EIO, 0, "x"), PV_EIO);
}

void
test_arena(void)
{
	struct pv_arena a;
	char *p[1000];

	pv_arena_init(&a, 0);
	for (int i = 0; i < 1000; i++) {
		p[i] = pv_arena_alloc(&a, (size_t)i * 7 + 1);
		T_ASSERT(p[i] != NULL);
		T_ASSERT(((uintptr_t)p[i] & 15) == 0);
		memset(p[i], i & 0xff, (size_t)i * 7 + 1);
	}
	for (int i = 0; i < 1000; i++)
		T_EQ_INT((unsigned char)p[i][(size_t)i * 7], i & 0xff);
	T_ASSERT(pv_arena_alloc(&a, SIZE_MAX - 4) == NULL);
	char *big = pv_arena_alloc(&a, 5 << 20);
	T_ASSERT(big != NULL);
	char *s = pv_arena_memdup(&a, "abc", 3);
	T_EQ_STR(s, "abc");
	pv_arena_free(&a);
	pv_arena_free(&a);

	pv_arena_init(&a, 1000);
	T_ASSERT(pv_arena_alloc(&a, 900) != NULL);
	T_ASSERT(pv_arena_alloc(&a, 200) == NULL);   /* over the cap */
	pv_arena_free(&a);
	pv_arena_free(NULL);
}

void
test_checked_sizes(void)
{
	T_EQ_U64(pv_size_mul(SIZE_MAX / 2 + 1, 2), SIZE_MAX);
	T_EQ_U64(pv_size_add(SIZE_MAX, 1), SIZE_MAX);
	T_EQ_U64(pv_size_mul(3, 5), 15);
	T_ASSERT(pv_mallocarray(SIZE_MAX / 8, 16) == NULL);
	void *q = pv_reallocarray(NULL, 4, 4);
	T_ASSERT(q != NULL);
	T_ASSERT(pv_reallocarray(q, SIZE_MAX, 2) == NULL);
	free(q);
}

void
test_buf_bounded(void)
{
	struct pv_buf b;

	pv_buf_init(&b, 10);
	T_EQ_INT(pv_buf_puts(&b, "hello"), 0);
	T_EQ_INT(pv_buf_printf(&b, "%d", 12345), 0);
	T_EQ_STR(b.data, "hello12345");
	T_EQ_INT(pv_buf_putc(&b, 'x'), PV_ELIMIT);
	T_EQ_STR(b.data, "hello12345"); /* unchanged on failure */
	T_EQ_INT(pv_buf_printf(&b, "%s", "y"), PV_ELIMIT);
	pv_buf_reset(&b);
	T_EQ_INT(b.len, 0);
	T_EQ_STR(b.data, "");
	pv_buf_free_scrub(&b);
	pv_buf_free(&b);
	T_ASSERT(b.data == NULL);
}

void
test_siphash_vector(void)
{
	/* SipHash-2-4 reference vector: key 00..0f, message 00..0e (15 bytes). */
	unsigned char key[16], msg[15];
	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	T_EQ_U64(pv_siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
	T_EQ_U64(pv_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
}

void
test_log_no_control_chars(void)
{
	char path[300], line[512];
	FILE *f;
	char fp1[19], fp2[19], fp3[19];

	snprintf(path, sizeof(path), "%s/log.txt", t_tmpdir());
	f = fopen(path, "w+");
	T_ASSERT(f != NULL);
	if (f == NULL)
		return;
	pv_log_set_stream(f);
	pv_log(PV_LOG_ERROR, "test", "forged\nline %d", 1);
	pv_log(PV_LOG_DEBUG, "test", "dropped below level");
	pv_log_set_stream(NULL);
	rewind(f);
	T_ASSERT(fgets(line, sizeof(line), f) != NULL);
	T_EQ_STR(line, "pacsvault: error: test: forged?line 1\n");
	T_ASSERT(fgets(line, sizeof(line), f) == NULL);
	fclose(f);
	pv_log_fingerprint("value", 5, fp1);
	pv_log_fingerprint("value", 5, fp2);
	pv_log_fingerprint("other", 5, fp3);
	T_EQ_STR(fp1, fp2);
	T_ASSERT(strcmp(fp1, fp3) != 0);
	T_EQ_INT(strlen(fp1), 18);
}

static void
atomic_write_cases(const char *name, int named)
{
	char path[300];
	struct pv_atomic af;
	struct pv_diag d;
	unsigned char *data;
	size_t len;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
	pv_diag_clear(&d);
	T_EQ_INT(pv_atomic_open(&af, path, 0600, &d), 0);
	T_EQ_INT(pv_write_all(af.fd, "first", 5), 0);
	T_EQ_INT(access(path, F_OK), -1);          /* nothing visible before commit */
	T_EQ_INT(pv_atomic_commit(&af, &d), 0);
	T_EQ_INT(pv_read_file(path, 100, &data, &len, &d), 0);
	T_EQ_INT(len, 5);
	T_EQ_MEM(data, "first", 5);
	free(data);
	T_EQ_INT(stat(path, &st), 0);
	T_EQ_INT(st.st_mode & 0777, 0600);

	/* An aborted write leaves the old file and no temporary. */
	T_EQ_INT(pv_atomic_open(&af, path, 0600, &d), 0);
	T_EQ_INT(pv_write_all(af.fd, "second!", 7), 0);
	pv_atomic_abort(&af);
	T_EQ_INT(pv_read_file(path, 100, &data, &len, &d), 0);
	T_EQ_INT(len, 5);
	free(data);
	pv_atomic_abort(&af);  /* twice is harmless */

	/* A batch commit: renamed into place now, durable at the sync. */
	T_EQ_INT(pv_atomic_open(&af, path, 0600, &d), 0);
	T_EQ_INT(pv_write_all(af.fd, "third", 5), 0);
	T_EQ_INT(pv_atomic_commit_nosync(&af, &d), 0);
	T_EQ_INT(pv_sync_fs(t_tmpdir()), 0);
	T_EQ_INT(pv_read_file(path, 100, &data, &len, &d), 0);
	T_EQ_MEM(data, "third", 5);
	free(data);

	/* Two writers of the same path at once get distinct temporaries. */
	{
		struct pv_atomic a2;
		T_EQ_INT(pv_atomic_open(&af, path, 0600, &d), 0);
		T_EQ_INT(pv_atomic_open(&a2, path, 0600, &d), 0);
		T_ASSERT(af.fd != a2.fd);
		if (named)
			T_ASSERT(af.tmp != NULL && a2.tmp != NULL);
		if (af.tmp != NULL && a2.tmp != NULL) {   /* named temporaries */
			T_ASSERT(strcmp(af.tmp, a2.tmp) != 0);
			T_ASSERT(strncmp(af.tmp, path, strlen(path)) == 0);
		}
		T_EQ_INT(pv_write_all(af.fd, "one", 3), 0);
		T_EQ_INT(pv_write_all(a2.fd, "two", 3), 0);
		/* both commit: the last one wins whole, nothing else is left in the folder */
		T_EQ_INT(pv_atomic_commit_nosync(&af, &d), 0);
		T_EQ_INT(pv_atomic_commit(&a2, &d), 0);
		T_EQ_INT(pv_read_file(path, 100, &data, &len, &d), 0);
		T_EQ_INT(len, 3);
		T_EQ_MEM(data, "two", 3);
		free(data);
		{
			DIR *dir = opendir(t_tmpdir());
			struct dirent *de;
			int others = 0;
			T_ASSERT(dir != NULL);
			while (dir != NULL && (de = readdir(dir)) != NULL)
				others += strncmp(de->d_name, name, strlen(name)) == 0 && de->d_name[strlen(name)] == '.';
			if (dir != NULL)
				closedir(dir);
			T_EQ_INT(others, 0);
		}
		/* an aborted one leaves nothing */
		T_EQ_INT(pv_atomic_open(&af, path, 0600, &d), 0);
		T_EQ_INT(pv_write_all(af.fd, "three", 5), 0);
		pv_atomic_abort(&af);
		T_EQ_INT(pv_read_file(path, 100, &data, &len, &d), 0);
		T_EQ_MEM(data, "two", 3);
		free(data);
	}

	/* A file that must be new: refused at once when it exists; and when one appears between
	 * open and commit, the commit fails and leaves what is there (link() never replaces). */
	{
		char fresh[400];
		int fd;

		pv_diag_clear(&d);
		T_EQ_INT(pv_atomic_open_new(&af, path, 0600, &d), PV_EEXIST);
		snprintf(fresh, sizeof(fresh), "%s.new", path);
		(void)unlink(fresh);
		T_EQ_INT(pv_atomic_open_new(&af, fresh, 0600, &d), 0);
		T_EQ_INT(pv_write_all(af.fd, "mine", 4), 0);
		fd = open(fresh, O_WRONLY | O_CREAT | O_EXCL, 0600);
		T_ASSERT(fd >= 0);
		T_EQ_INT(pv_write_all(fd, "theirs", 6), 0);
		close(fd);
		pv_diag_clear(&d);
		T_EQ_INT(pv_atomic_commit(&af, &d), PV_EEXIST);
		T_EQ_INT(pv_read_file(fresh, 100, &data, &len, &d), 0);
		T_EQ_INT(len, 6);
		T_EQ_MEM(data, "theirs", 6);
		free(data);
		T_EQ_INT(unlink(fresh), 0);
		T_EQ_INT(pv_atomic_open_new(&af, fresh, 0600, &d), 0);
		T_EQ_INT(pv_write_all(af.fd, "mine", 4), 0);
		T_EQ_INT(pv_atomic_commit(&af, &d), 0);
		T_EQ_INT(pv_read_file(fresh, 100, &data, &len, &d), 0);
		T_EQ_MEM(data, "mine", 4);
		free(data);
		T_EQ_INT(unlink(fresh), 0);
	}

	pv_diag_clear(&d);
	T_EQ_INT(pv_read_file(path, 2, &data, &len, &d), PV_ELIMIT);
	pv_diag_clear(&d);
	T_EQ_INT(pv_read_file("/nonexistent/x", 3, &data, &len, &d), PV_ENOTFOUND);
}

/* Atomic files: unnamed (O_TMPFILE) where the file system has them, and the
 * named-temporary fallback, both. */
void
test_atomic_write(void)
{
	atomic_write_cases("atomic.bin", 0);
	pv_atomic_named_only(1);
	atomic_write_cases("atomic-named.bin", 1);
	pv_atomic_named_only(0);
}

void
test_mkdir_p(void)
{
	char path[400], file[400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/mk/a/b/c", t_tmpdir());
	T_EQ_INT(pv_mkdir_p(path, 0700), 0);
	T_EQ_INT(stat(path, &st), 0);
	T_ASSERT(S_ISDIR(st.st_mode));
	T_EQ_INT(pv_mkdir_p(path, 0700), 0);  /* there already */
	/* A file in the way is an error, as the folder or as a parent. */
	snprintf(file, sizeof(file), "%s/mk/file", t_tmpdir());
	{
		FILE *fp = fopen(file, "w");
		T_ASSERT(fp != NULL);
		if (fp != NULL)
			fclose(fp);
	}
	T_ASSERT(pv_mkdir_p(file, 0700) != 0);
	snprintf(path, sizeof(path), "%s/mk/file/sub", t_tmpdir());
	T_ASSERT(pv_mkdir_p(path, 0700) != 0);
}

static void
pool_job(void *ctx, size_t i, unsigned worker)
{
	atomic_int *hits = ctx;
	(void)worker;
	atomic_fetch_add(&hits[i], 1);
}

void
test_pool_runs_each_job_once(void)
{
	static atomic_int hits[1000];
	T_EQ_INT(pv_pool_for(4, 1000, pool_job, hits), 0);
	for (int i = 0; i < 1000; i++)
		T_EQ_INT(atomic_load(&hits[i]), 1);
	T_EQ_INT(pv_pool_for(0, 0, pool_job, hits), 0);
	T_ASSERT(pv_ncpu() >= 1);
	T_EQ_INT(pv_pool_threads(8, 3), 3);
}

void
test_json_writer(void)
{
	struct pv_buf b;
	struct pv_jw w;

	pv_buf_init(&b, 1 << 20);
	pv_jw_init(&w, &b, 0);
	pv_jw_begin_object(&w);
	pv_jw_key(&w, "a", 1);
	pv_jw_string(&w, "x\"y\\\n\x01\xff", 7);
	pv_jw_key(&w, "b", 1);
	pv_jw_begin_array(&w);
	pv_jw_raw(&w, "1", 1);
	pv_jw_raw(&w, "2", 1);
	pv_jw_begin_object(&w);
	pv_jw_end_object(&w);
	pv_jw_end_array(&w);
	pv_jw_key(&w, "c", 1);
	pv_jw_base64(&w, (const uint8_t *)"foobar", 6);
	pv_jw_key(&w, "d", 1);
	pv_jw_base64(&w, (const uint8_t *)"fo", 2);
	pv_jw_end_object(&w);
	T_EQ_INT(w.err, 0);
	T_EQ_STR(b.data, "{\"a\":\"x\\\"y\\\\\\n\\u0001\xef\xbf\xbd\",\"b\":[1,2,{}],\"c\":\"Zm9vYmFy\",\"d\":\"Zm8=\"}");
	pv_jw_end_object(&w); /* misuse is sticky */
	T_EQ_INT(w.err, PV_EINTERNAL);
	pv_buf_free(&b);
}
