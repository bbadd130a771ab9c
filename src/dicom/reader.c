/*
 * reader.c: the streaming Part 10 reader.
 *
 * The stream is read through a window (pread into a 256 KiB buffer); a
 * value that is not loaded is skipped by moving the position, so pixel data
 * is never read. Containers (data set, sequence, item, pixel sequence) sit on
 * a stack with their end offset; every length is checked against the
 * innermost defined end and the stream size before use.
 */
#include "pacsvault/dicom/reader.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/mem.h"

#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define WIN_SIZE (64u * 1024u)    /* under malloc's mmap threshold: reused, no page faults */
#define WIN_FIRST (16u * 1024u)   /* the first read: most headers fit */
#define META_MAX (1u << 20)       /* File Meta Information larger than this is hostile */
#define NO_END UINT64_MAX
#define RD_AGAIN 2                /* next_in_dataset_step: moved on, no event yet */

enum frame_kind { FR_DATASET, FR_SEQ, FR_ITEM, FR_PIXSEQ };

struct frame {
	uint8_t kind;
	uint8_t implicit;    /* elements inside use Implicit VR LE */
	uint64_t end;        /* absolute end, NO_END when undefined */
	uint32_t tag;        /* for FR_SEQ/FR_PIXSEQ: the sequence's tag */
	uint32_t count;      /* items or fragments seen */
};

enum phase { PH_START, PH_META, PH_DATA, PH_DONE };

struct dcm_reader {
	struct dcm_reader_opts o;
	/* stream */
	int fd;
	uint64_t fd_base;        /* file offset of stream offset 0 */
	const uint8_t *mem;      /* memory stream (borrowed or inflated) */
	uint8_t *inflated;       /* owned inflated data */
	uint64_t inflate_held;   /* bytes of the process's inflate budget this reader holds */
	int inflate_large;       /* holds the one token to inflate past INFLATE_SMALL */
	uint64_t size;           /* stream size */
	uint64_t pos;
	uint8_t *win;
	uint64_t win_off;
	size_t win_len;
	size_t read_size;        /* next refill size: grows from WIN_FIRST to WIN_SIZE */
	/* state */
	enum phase phase;
	int err;                 /* sticky error */
	struct pv_diag err_diag;
	const struct dcm_ts *ts;
	char ts_uid[68];
	int big;                 /* data set is big endian */
	int explicit_vr;
	int has_preamble, has_meta, ts_detected, is_inflated;
	uint64_t meta_start;
	uint64_t meta_end;       /* from (0002,0000) when given and plausible, else 0 */
	unsigned warnings;
	struct pv_diag warn[8];  /* pending warnings, oldest first */
	unsigned nwarn;
	uint8_t *pixrep;         /* PixelRepresentation per depth: 0, 1, or 0xff unknown */
	struct frame *stack;
	unsigned sp, stack_cap;
	unsigned depth;          /* FR_ITEM frames on the stack */
	struct pv_buf val;       /* loaded value */
};

void
dcm_reader_opts_default(struct dcm_reader_opts *o)
{
	o->max_depth = 64;
	o->inline_max = 256;
	o->text_max = 16u << 20;
	o->max_inflated = (uint64_t)1 << 30;
	o->load_all = 0;
	o->strict = 0;
}

static uint16_t dcm_le16_(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t dcm_le32_(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint16_t rd16be(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint32_t rd32be(const uint8_t *p) { return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24; }

/* Sets the sticky error with the current tag path. */
static int
rd_fail(struct dcm_reader *r, struct pv_diag *d, int code, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
rd_fail(struct dcm_reader *r, struct pv_diag *d, int code, uint64_t off, const char *fmt, ...)
{
	char msg[PV_DIAG_MSG], path[PV_DIAG_PATH];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->err == 0) {
		r->err = code;
		pv_diag_clear(&r->err_diag);
		pv_diag_set(&r->err_diag, code, (int64_t)off, "%s%s", msg,
		    r->is_inflated && r->phase == PH_DATA ? " (offset in the inflated data set)" : "");
		dcm_reader_path(r, path, sizeof(path));
		pv_diag_set_path(&r->err_diag, path);
	}
	if (d != NULL && d->code == 0)
		*d = r->err_diag;
	return r->err;
}

static void
rd_warn(struct dcm_reader *r, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
rd_warn(struct dcm_reader *r, uint64_t off, const char *fmt, ...)
{
	char msg[PV_DIAG_MSG], path[PV_DIAG_PATH];
	struct pv_diag *w;
	va_list ap;

	r->warnings++;
	if (r->nwarn == sizeof(r->warn) / sizeof(r->warn[0]))
		return; /* the count still says how many */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w = &r->warn[r->nwarn++];
	pv_diag_clear(w);
	pv_diag_set(w, PV_EPARSE, (int64_t)off, "%s", msg);
	dcm_reader_path(r, path, sizeof(path));
	pv_diag_set_path(w, path);
}

int
dcm_reader_take_warning(struct dcm_reader *r, struct pv_diag *out)
{
	if (r->nwarn == 0)
		return 0;
	*out = r->warn[0];
	memmove(&r->warn[0], &r->warn[1], (r->nwarn - 1) * sizeof(r->warn[0]));
	r->nwarn--;
	return 1;
}

/* Returns a pointer to n bytes at off (n <= WIN_SIZE), or NULL past the end / on I/O error. */
static const uint8_t *
src_get(struct dcm_reader *r, uint64_t off, size_t n, int *ioerr)
{
	*ioerr = 0;
	if (off > r->size || n > r->size - off)
		return NULL;
	if (r->mem != NULL)
		return r->mem + off;
	if (off >= r->win_off && off - r->win_off + n <= r->win_len)
		return r->win + (off - r->win_off);
	{
		size_t want = r->read_size;
		if (want < n)
			want = n;
		if (r->read_size < WIN_SIZE)
			r->read_size *= 2;
		if ((uint64_t)want > r->size - off)
			want = (size_t)(r->size - off);
		size_t got = 0;
		while (got < want) {
			ssize_t k = pread(r->fd, r->win + got, want - got, (off_t)(r->fd_base + off + got));
			if (k < 0) {
				if (errno == EINTR)
					continue;
				*ioerr = 1;
				return NULL;
			}
			if (k == 0)
				break;
			got += (size_t)k;
		}
		r->win_off = off;
		r->win_len = got;
		if (got < n) {
			*ioerr = got < want;
			return NULL;
		}
		return r->win;
	}
}

int
dcm_reader_pread(struct dcm_reader *r, uint64_t off, void *buf, size_t n)
{
	if (off > r->size || n > r->size - off)
		return PV_ETRUNC;
	if (r->mem != NULL) {
		memcpy(buf, r->mem + off, n);
		return 0;
	}
	if (off >= r->win_off && off - r->win_off + n <= r->win_len) {
		/* already in the window (the first bytes of pixel data often are) */
		memcpy(buf, r->win + (off - r->win_off), n);
		return 0;
	}
	while (n > 0) {
		ssize_t k = pread(r->fd, buf, n, (off_t)(r->fd_base + off));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return PV_EIO;
		}
		if (k == 0)
			return PV_ETRUNC;
		buf = (uint8_t *)buf + k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int
reader_alloc(const struct dcm_reader_opts *opts, struct dcm_reader **out, struct pv_diag *d)
{
	struct dcm_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	if (opts != NULL)
		r->o = *opts;
	else
		dcm_reader_opts_default(&r->o);
	if (r->o.max_depth == 0 || r->o.max_depth > 1024)
		r->o.max_depth = 64;
	r->fd = -1;
	r->stack_cap = 2 * r->o.max_depth + 4;
	r->stack = pv_mallocarray(r->stack_cap, sizeof(*r->stack));
	r->pixrep = calloc(r->o.max_depth + 2, 1);
	pv_buf_init(&r->val, (size_t)UINT32_MAX + 1);
	if (r->stack == NULL || r->pixrep == NULL) {
		free(r->stack);
		free(r->pixrep);
		free(r);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	r->phase = PH_START;
	*out = r;
	return 0;
}

int
dcm_reader_open(const char *path, const struct dcm_reader_opts *opts,
    struct dcm_reader **out, struct pv_diag *d)
{
	struct dcm_reader *r;
	struct stat st;
	int rc;

	if ((rc = reader_alloc(opts, &r, d)) != 0)
		return rc;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = pv_diag_set(d, errno == ENOENT ? PV_ENOTFOUND : PV_EIO, -1, "cannot open");
		goto fail;
	}
	r->win = malloc(WIN_SIZE);
	r->read_size = WIN_FIRST;
	if (r->win == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto fail;
	}
	/* The first window straight away: a file shorter than it (most
	 * headers-only files) is then known whole, with no fstat (one system
	 * call less per file in a batch of thousands). A longer one, or
	 * anything that is not a regular file, is looked at by fstat. */
	{
		ssize_t k;
		do
			k = pread(r->fd, r->win, WIN_FIRST, 0);
		while (k < 0 && errno == EINTR);
		if (k < 0 && (errno == EISDIR || errno == ESPIPE || errno == EINVAL)) {
			rc = pv_diag_set(d, PV_EINVAL, -1, "not a regular file");
			goto fail;
		}
		if (k < 0) {
			rc = pv_diag_set(d, PV_EIO, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if ((size_t)k < WIN_FIRST) {
			r->size = (uint64_t)k;
		} else {
			if (fstat(r->fd, &st) != 0) {
				rc = pv_diag_set(d, PV_EIO, -1, "cannot stat");
				goto fail;
			}
			if (!S_ISREG(st.st_mode)) {
				rc = pv_diag_set(d, PV_EINVAL, -1, "not a regular file");
				goto fail;
			}
			r->size = (uint64_t)st.st_size;
			if (r->size < (uint64_t)k)
				k = (ssize_t)r->size;  /* shrunk meanwhile: the window holds no more than it */
		}
		r->win_off = 0;
		r->win_len = (size_t)k;
		r->read_size = WIN_FIRST * 2;
	}
	*out = r;
	return 0;
fail:
	dcm_reader_free(r);
	return rc;
}

int
dcm_reader_open_mem(const void *p, size_t n, const struct dcm_reader_opts *opts,
    struct dcm_reader **out, struct pv_diag *d)
{
	struct dcm_reader *r;
	int rc;

	if ((rc = reader_alloc(opts, &r, d)) != 0)
		return rc;
	r->mem = p != NULL ? p : (const uint8_t *)"";
	r->size = n;
	*out = r;
	return 0;
}

uint64_t
dcm_reader_size(const struct dcm_reader *r)
{
	return r->size;
}

/*
 * One inflate budget for the whole process (issue #14): every reader that
 * inflates a Deflated data set holds what it has allocated until it is
 * freed, so N workers cannot hold N times the per-file cap. Up to
 * INFLATE_SMALL bytes a reader takes its share of the budget; past that it
 * needs the one "large" token, so one large data set at a time grows while
 * small ones go on. Waits are bounded, and a reader that holds budget waits
 * only briefly, so readers never wait on each other for long: a reader
 * without a share waits up to 30 s for budget, the token is waited for up
 * to 60 s, a holder up to 2 s; then PV_ELIMIT.
 */
#define INFLATE_SMALL ((uint64_t)64 << 20)
static _Atomic uint64_t inflate_in_use;
static _Atomic uint64_t inflate_budget = (uint64_t)1 << 30;
static atomic_int inflate_large_taken;

void
dcm_reader_set_inflate_budget(uint64_t bytes)
{
	inflate_budget = bytes;
}

uint64_t
dcm_reader_inflate_in_use(void)
{
	return inflate_in_use;
}

static void
nap_10ms(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static int
inflate_reserve(struct dcm_reader *r, uint64_t more)
{
	int max_tries;

	if (!r->inflate_large && r->inflate_held + more > INFLATE_SMALL) {
		for (int tries = 0;; tries++) {
			int free_token = 0;
			if (atomic_compare_exchange_strong(&inflate_large_taken, &free_token, 1))
				break;
			if (tries >= 6000)
				return PV_ELIMIT;
			nap_10ms();
		}
		r->inflate_large = 1;
	}
	max_tries = r->inflate_held > 0 ? 200 : 3000;
	for (int tries = 0; tries < max_tries; tries++) {
		uint64_t cur = inflate_in_use;
		while (cur + more <= inflate_budget) {
			if (atomic_compare_exchange_weak(&inflate_in_use, &cur, cur + more)) {
				r->inflate_held += more;
				return 0;
			}
		}
		if (r->inflate_held + more > inflate_budget)
			break;  /* more than the whole budget: waiting cannot help */
		nap_10ms();
	}
	return PV_ELIMIT;
}

static void
inflate_release(struct dcm_reader *r)
{
	if (r->inflate_held > 0) {
		atomic_fetch_sub(&inflate_in_use, r->inflate_held);
		r->inflate_held = 0;
	}
	if (r->inflate_large) {
		atomic_store(&inflate_large_taken, 0);
		r->inflate_large = 0;
	}
}

void
dcm_reader_free(struct dcm_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->win);
	free(r->inflated);
	inflate_release(r);
	free(r->stack);
	free(r->pixrep);
	pv_buf_free(&r->val);
	free(r);
}

const struct dcm_ts *dcm_reader_ts(const struct dcm_reader *r) { return r->ts; }
const char *dcm_reader_ts_uid(const struct dcm_reader *r) { return r->ts_uid; }
int dcm_reader_has_preamble(const struct dcm_reader *r) { return r->has_preamble; }
int dcm_reader_has_meta(const struct dcm_reader *r) { return r->has_meta; }
int dcm_reader_inflated(const struct dcm_reader *r) { return r->is_inflated; }
int dcm_reader_ts_detected(const struct dcm_reader *r) { return r->ts_detected; }
unsigned dcm_reader_warnings(const struct dcm_reader *r) { return r->warnings; }

int
dcm_reader_fd(const struct dcm_reader *r, uint64_t *base)
{
	*base = r->fd_base;
	return r->mem != NULL ? -1 : r->fd;
}

const uint8_t *
dcm_reader_mem(const struct dcm_reader *r, uint64_t *size)
{
	*size = r->size;
	return r->mem;
}

void
dcm_reader_path(const struct dcm_reader *r, char *out, size_t n)
{
	size_t len = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	for (unsigned i = 0; i < r->sp; i++) {
		const struct frame *f = &r->stack[i];
		int w = 0;
		if (f->kind == FR_SEQ || f->kind == FR_PIXSEQ)
			w = snprintf(out + len, n - len, "%s(%04x,%04x)", len ? "." : "",
			    DCM_GROUP(f->tag), DCM_ELEM(f->tag));
		else if (f->kind == FR_ITEM)
			w = snprintf(out + len, n - len, "[%u]", r->stack[i - 1].count - 1);
		if (w < 0 || (size_t)w >= n - len)
			return;
		len += (size_t)w;
	}
}

static int
push(struct dcm_reader *r, struct pv_diag *d, uint8_t kind, uint8_t implicit, uint64_t end, uint32_t tag)
{
	if (kind == FR_ITEM && r->depth >= r->o.max_depth)
		return rd_fail(r, d, PV_ELIMIT, r->pos, "sequences nested deeper than %u", r->o.max_depth);
	if (r->sp >= r->stack_cap)
		return rd_fail(r, d, PV_ELIMIT, r->pos, "nesting too deep");
	r->stack[r->sp].kind = kind;
	r->stack[r->sp].implicit = implicit;
	r->stack[r->sp].end = end;
	r->stack[r->sp].tag = tag;
	r->stack[r->sp].count = 0;
	r->sp++;
	if (kind == FR_ITEM) {
		r->depth++;
		r->pixrep[r->depth] = r->pixrep[r->depth - 1];
	}
	return 0;
}

static void
pop(struct dcm_reader *r)
{
	r->sp--;
	if (r->stack[r->sp].kind == FR_ITEM)
		r->depth--;
}

/* The innermost defined end, or the stream size. */
static uint64_t
limit_end(const struct dcm_reader *r)
{
	for (unsigned i = r->sp; i > 0; i--)
		if (r->stack[i - 1].end != NO_END)
			return r->stack[i - 1].end;
	return r->size;
}

/* How well a tag read one way fits the dictionary (and the VR seen). */
static int
tag_score(uint32_t tag, enum dcm_vr explicit_vr)
{
	const struct dcm_dict_entry *de = DCM_IS_PRIVATE(tag) ? NULL : dcm_dict_lookup(tag);
	int score = 0;

	if (de != NULL) {
		score += 2;
		if (explicit_vr != DCM_VR__ && (enum dcm_vr)de->vr == explicit_vr)
			score += 2;
	}
	if (DCM_GROUP(tag) <= 0x00ff)
		score++;  /* data sets start with low groups */
	return score;
}

/* Detects the encoding of a data set from its first bytes (no or bad meta). */
static void
detect_encoding(struct dcm_reader *r, uint64_t off, int *big, int *explicit_vr)
{
	int ioerr;
	const uint8_t *p = src_get(r, off, 8, &ioerr);
	enum dcm_vr vr;
	uint32_t tle, tbe;

	*big = 0;
	*explicit_vr = 0;
	if (p == NULL)
		return;
	tle = (uint32_t)rd16le(p) << 16 | rd16le(p + 2);
	tbe = (uint32_t)rd16be(p) << 16 | rd16be(p + 2);
	vr = dcm_vr_parse(p[4], p[5]);
	*explicit_vr = vr != DCM_VR__;
	/* The byte order under which the first tag makes more sense wins;
	 * little endian on a tie (it is by far the most common). */
	*big = tag_score(tbe, vr) > tag_score(tle, vr);
}

/* Called at the first data set byte: settle the transfer syntax. */
static int
start_dataset(struct dcm_reader *r, struct pv_diag *d)
{
	int big, ex;

	r->phase = PH_DATA;
	if (r->ts_uid[0] != '\0') {
		r->ts = dcm_ts_lookup(r->ts_uid, strlen(r->ts_uid));
		if (r->ts == NULL) {
			r->ts = dcm_ts_unknown();
			rd_warn(r, r->pos, "unknown transfer syntax in the File Meta Information; read as Explicit VR Little Endian");
		}
	}
	if (r->ts == NULL) {
		detect_encoding(r, r->pos, &big, &ex);
		r->ts_detected = 1;
		const char *uid = big ? DCM_TS_EXPLICIT_BE : ex ? DCM_TS_EXPLICIT_LE : DCM_TS_IMPLICIT_LE;
		r->ts = dcm_ts_lookup(uid, strlen(uid));
		rd_warn(r, r->pos, "no transfer syntax given; detected %s", r->ts->name);
	}
	r->big = r->ts->big_endian;
	r->explicit_vr = r->ts->explicit_vr;
	if (!r->ts->deflated && r->pos < r->size) {
		/* The meta can lie about the encoding (PS3.10 gives no remedy; dcmtk detects too). */
		detect_encoding(r, r->pos, &big, &ex);
		if (big == r->big && ex != r->explicit_vr && r->size - r->pos >= 8) {
			r->explicit_vr = ex;
			r->ts_detected = 1;
			rd_warn(r, r->pos, "data set is in %s VR, not as the File Meta Information says",
			    ex ? "explicit" : "implicit");
		}
	}
	if (r->ts->deflated) {
		/* PS3.5 A.5: raw deflate of the data set after the meta. */
		z_stream zs;
		uint64_t cap = r->o.max_inflated, in_next = r->pos, fed_end = r->pos;
		size_t out_cap = 1u << 16, out_len = 0;
		uint8_t *out = malloc(out_cap);
		int zrc;

		if (out == NULL)
			return rd_fail(r, d, PV_ENOMEM, r->pos, "out of memory");
		if (inflate_reserve(r, out_cap) != 0) {
			free(out);
			return rd_fail(r, d, PV_ELIMIT, r->pos, "the process's inflate budget (%llu bytes) is taken",
			    (unsigned long long)inflate_budget);
		}
		memset(&zs, 0, sizeof(zs));
		if (inflateInit2(&zs, -15) != Z_OK) {
			free(out);
			return rd_fail(r, d, PV_ENOMEM, r->pos, "cannot start inflate");
		}
		for (;;) {
			if (zs.avail_in == 0 && in_next < r->size) {
				int ioerr;
				size_t chunk = r->size - in_next > 65536 ? 65536 : (size_t)(r->size - in_next);
				const uint8_t *in = src_get(r, in_next, chunk, &ioerr);
				if (in == NULL) {
					inflateEnd(&zs);
					free(out);
					return rd_fail(r, d, PV_EIO, in_next, "read failed");
				}
				zs.next_in = (Bytef *)in;
				zs.avail_in = (uInt)chunk;
				in_next += chunk;
				fed_end = in_next;
			}
			if (out_len == out_cap) {
				size_t ncap = out_cap * 2;
				uint8_t *n2;
				if (ncap > cap + 1)
					ncap = (size_t)cap + 1;
				if (ncap <= out_cap) {
					inflateEnd(&zs);
					free(out);
					return rd_fail(r, d, PV_ELIMIT, r->pos,
					    "deflated data set inflates past the %llu-byte limit",
					    (unsigned long long)cap);
				}
				if (inflate_reserve(r, ncap - out_cap) != 0) {
					inflateEnd(&zs);
					free(out);
					inflate_release(r);  /* its buffer is gone: so is its share */
					return rd_fail(r, d, PV_ELIMIT, r->pos,
					    "deflated data sets read at once inflate past the process's %llu-byte budget",
					    (unsigned long long)inflate_budget);
				}
				if ((n2 = realloc(out, ncap)) == NULL) {
					inflateEnd(&zs);
					free(out);
					return rd_fail(r, d, PV_ENOMEM, r->pos, "out of memory");
				}
				out = n2;
				out_cap = ncap;
			}
			zs.next_out = out + out_len;
			zs.avail_out = (uInt)(out_cap - out_len > UINT32_MAX ? UINT32_MAX : out_cap - out_len);
			size_t before = zs.avail_out;
			zrc = inflate(&zs, Z_NO_FLUSH);
			out_len += before - zs.avail_out;
			if (zrc == Z_STREAM_END)
				break;
			if (zrc == Z_BUF_ERROR || (zrc == Z_OK && before == zs.avail_out && zs.avail_in == 0)) {
				if (zs.avail_in == 0 && in_next >= r->size) {
					inflateEnd(&zs);
					free(out);
					return rd_fail(r, d, PV_ETRUNC, fed_end, "deflate stream ends early");
				}
				continue;
			}
			if (zrc != Z_OK) {
				uint64_t at = fed_end - zs.avail_in;
				inflateEnd(&zs);
				free(out);
				return rd_fail(r, d, PV_EPARSE, at, "deflate stream is corrupt");
			}
		}
		inflateEnd(&zs);
		if (out_len > cap) {
			free(out);
			return rd_fail(r, d, PV_ELIMIT, r->pos, "deflated data set inflates past the limit");
		}
		r->inflated = out;
		r->mem = out;
		r->size = out_len;
		r->pos = 0;
		r->is_inflated = 1;
	}
	return 0;
}

/* Reads preamble and decides whether a meta group follows. */
static int
start_file(struct dcm_reader *r, struct pv_diag *d)
{
	int ioerr;
	const uint8_t *p;

	r->sp = 0;
	if (push(r, d, FR_DATASET, 0, NO_END, 0) != 0)
		return r->err;
	p = src_get(r, 0, r->size < 132 ? (size_t)r->size : 132, &ioerr);
	if (p == NULL && ioerr)
		return rd_fail(r, d, PV_EIO, 0, "read failed");
	if (r->size >= 132 && memcmp(p + 128, "DICM", 4) == 0) {
		r->has_preamble = 1;
		r->pos = 132;
	} else if (r->size >= 4 && memcmp(p, "DICM", 4) == 0) {
		r->pos = 4;
	} else {
		r->pos = 0;
	}
	if (r->size == 0)
		return rd_fail(r, d, PV_ETRUNC, 0, "empty file");
	if (r->size - r->pos < 8) {
		if (r->pos == 0)
			return rd_fail(r, d, PV_ENOTDICOM, 0, "not a DICOM file (too short)");
		return rd_fail(r, d, PV_ETRUNC, r->pos, "file ends after the preamble");
	}
	p = src_get(r, r->pos, 8, &ioerr);
	if (p == NULL)
		return rd_fail(r, d, PV_EIO, r->pos, "read failed");
	if (rd16le(p) == 0x0002) {
		r->has_meta = 1;
		r->phase = PH_META;
		r->meta_start = r->pos;
	} else {
		if (r->pos == 0 && rd16le(p) != 0x0008 && rd16be(p) != 0x0008 &&
		    dcm_vr_parse(p[4], p[5]) == DCM_VR__ && rd16le(p) > 0x0100 && rd16be(p) > 0x0100)
			return rd_fail(r, d, PV_ENOTDICOM, 0,
			    "not a DICOM file (no \"DICM\" at offset 128, no recognisable data set)");
		return start_dataset(r, d);
	}
	return 0;
}

/* Loads a value of n bytes at off into r->val, swapping by unit when big endian. */
static int
load_value(struct dcm_reader *r, struct pv_diag *d, uint64_t off, uint32_t n, unsigned swap,
    const uint8_t **out)
{
	char *dst;

	pv_buf_reset(&r->val);
	if ((dst = pv_buf_reserve(&r->val, n)) == NULL)
		return rd_fail(r, d, PV_ENOMEM, off, "out of memory for a %u-byte value", n);
	if (n <= WIN_SIZE) {
		int ioerr;
		const uint8_t *p = src_get(r, off, n, &ioerr);
		if (p == NULL)
			return rd_fail(r, d, ioerr ? PV_EIO : PV_ETRUNC, off, "value cut short");
		memcpy(dst, p, n);
	} else if (dcm_reader_pread(r, off, dst, n) != 0) {
		return rd_fail(r, d, PV_EIO, off, "read failed");
	}
	r->val.len = n;
	dst[n] = 0;
	if (swap > 1) {
		uint8_t *b = (uint8_t *)dst;
		for (uint32_t i = 0; i + swap <= n; i += swap)
			for (unsigned j = 0; j < swap / 2; j++) {
				uint8_t t = b[i + j];
				b[i + j] = b[i + swap - 1 - j];
				b[i + swap - 1 - j] = t;
			}
	}
	*out = (const uint8_t *)dst;
	return 0;
}

/* Reads an item-level header (tag + 32-bit length), used for items and delimiters. */
static int
read_item_header(struct dcm_reader *r, struct pv_diag *d, int big, uint32_t *tag, uint32_t *len)
{
	int ioerr;
	const uint8_t *p = src_get(r, r->pos, 8, &ioerr);

	if (p == NULL || r->pos + 8 > limit_end(r))
		return rd_fail(r, d, ioerr ? PV_EIO : PV_ETRUNC, r->pos,
		    "data ends inside a sequence (expected an item or a delimiter)");
	if (big) {
		*tag = (uint32_t)rd16be(p) << 16 | rd16be(p + 2);
		*len = rd32be(p + 4);
	} else {
		*tag = (uint32_t)rd16le(p) << 16 | rd16le(p + 2);
		*len = rd32le(p + 4);
	}
	return 0;
}

static void
ev_init(struct dcm_reader *r, struct dcm_event *ev, enum dcm_ev_type t, uint32_t tag)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	ev->tag = tag;
	ev->offset = r->pos;
	ev->depth = r->depth;
	ev->meta = r->phase == PH_META;
}

/*
 * The VR to read an explicit UN element of defined length as (PS3.5 6.2.2:
 * a known attribute sent as UN, e.g. by a peer with an older dictionary,
 * is read by the dictionary's VR, as dcmtk does with --convert-un): the
 * dictionary VR of a standard tag or a private creator, when the value fits
 * that VR's header and, for binary VRs, the byte order is little endian;
 * SQ (CP-246) when the value is empty or starts with an Item tag. Anything
 * else stays UN.
 */
/*
 * 1 when the len bytes at pos are items of defined length holding Implicit
 * VR Little Endian elements of defined length, each inside its item: what
 * a sequence sent as UN must be to be read as one (CP-246). Anything else
 * (explicit VR inside, undefined lengths, more than 1 MiB) stays UN: a
 * reader must not fail on a file it read before, and deid removes a
 * sequence it cannot look into.
 */
static int
un_items_valid(struct dcm_reader *r, uint64_t pos, uint32_t len)
{
	uint64_t end = pos + len;
	const uint8_t *p;
	int ioerr;

	if (len > (1u << 20))
		return 0;
	while (pos < end) {
		uint32_t il;
		uint64_t item_end;
		if (end - pos < 8 || (p = src_get(r, pos, 8, &ioerr)) == NULL)
			return 0;
		il = rd32le(p + 4);
		if (rd16le(p) != 0xfffe || rd16le(p + 2) != 0xe000 || il == DCM_UNDEFINED_LENGTH || il > end - pos - 8)
			return 0;
		item_end = pos + 8 + il;
		for (pos += 8; pos < item_end;) {
			uint32_t el;
			if (item_end - pos < 8 || (p = src_get(r, pos, 8, &ioerr)) == NULL)
				return 0;
			el = rd32le(p + 4);
			if (rd16le(p) == 0xfffe || el == DCM_UNDEFINED_LENGTH || el > item_end - pos - 8)
				return 0;
			pos += 8 + el;
		}
	}
	return 1;
}

static enum dcm_vr
un_known_vr(struct dcm_reader *r, uint32_t tag, uint32_t len, int big)
{
	const struct dcm_dict_entry *de;
	enum dcm_vr dv;
	const uint8_t *p;
	int ioerr;

	if (DCM_ELEM(tag) == 0 || (DCM_IS_PRIVATE(tag) && !DCM_IS_PRIVATE_CREATOR(tag)))
		return DCM_VR_UN;
	if (DCM_IS_PRIVATE_CREATOR(tag))
		return len <= 0xffff ? DCM_VR_LO : DCM_VR_UN;
	if ((de = dcm_dict_lookup(tag)) == NULL)
		return DCM_VR_UN;
	dv = (enum dcm_vr)de->vr;
	if (dv == DCM_VR_UN || dv == DCM_VR__ || tag == DCM_TAG_PIXEL_DATA)
		return DCM_VR_UN;
	if (dv == DCM_VR_SQ) {
		if (len == 0)
			return DCM_VR_SQ;
		if (len < 8 || len > limit_end(r) - r->pos || (p = src_get(r, r->pos, 8, &ioerr)) == NULL)
			return DCM_VR_UN;
		return rd16le(p) == 0xfffe && rd16le(p + 2) == 0xe000 && un_items_valid(r, r->pos, len) ?
		    DCM_VR_SQ : DCM_VR_UN;
	}
	if (big && dcm_vr_info(dv)->kind != DCM_VRK_STRING)
		return DCM_VR_UN;  /* the bytes' order is not certain: no guess */
	if (!dcm_vr_info(dv)->long_header && len > 0xffff)
		return DCM_VR_UN;  /* cannot be written back with this VR */
	if (dv == DCM_VR_US && (de->flags & DCM_DICT_XS) && r->pixrep[r->depth] == 1)
		dv = DCM_VR_SS;
	return dv;
}

/*
 * In a data set or item: the end of the container, or one element; RD_AGAIN
 * when it only moved on (a stray delimiter skipped, the meta ended) and the
 * next step must be taken: next_in_dataset loops, so input cannot make it
 * recurse (100,000 stray delimiters overflowed the stack, issue #16).
 */
static int
next_in_dataset_step(struct dcm_reader *r, struct dcm_event *ev, struct pv_diag *d)
{
	struct frame *top = &r->stack[r->sp - 1];
	int implicit = top->implicit || (!r->explicit_vr && r->phase == PH_DATA);
	int big = r->big && r->phase == PH_DATA && !top->implicit;
	uint64_t end = limit_end(r), hdr = r->pos;
	const uint8_t *p;
	uint32_t tag, len;
	enum dcm_vr vr;
	unsigned hlen;
	int ioerr, vr_unknown = 0, un_as_sq = 0;

	if (top->end != NO_END && r->pos == top->end) {
		/* A defined-length item ends. */
		ev_init(r, ev, DCM_EV_ITEM_END, DCM_TAG_ITEM);
		ev->index = r->stack[r->sp - 2].count - 1;
		ev->defined_length = 1;
		pop(r);
		ev->depth = r->depth + 1;
		return 1;
	}
	if (r->pos >= r->size) {
		if (top->kind == FR_DATASET) {
			if (r->phase == PH_META) {
				/* A file that is nothing but meta. */
				int rc = start_dataset(r, d);
				if (rc != 0)
					return rc;
				if (r->pos < r->size)
					return RD_AGAIN;
			}
			r->phase = PH_DONE;
			return 0;
		}
		return rd_fail(r, d, PV_ETRUNC, r->pos, "data ends inside an item of undefined length");
	}
	if (r->phase == PH_META && r->size - r->pos < 8) {
		/* Too short for another meta element: what follows is the data set
		 * (for Deflate, a stream that may be only a few bytes). */
		int rc = start_dataset(r, d);
		if (rc != 0)
			return rc;
		return RD_AGAIN;
	}
	if (r->size - r->pos < 8 || end - r->pos < 8) {
		if (top->kind == FR_DATASET && r->phase == PH_DATA && r->size - r->pos < 8) {
			/* Trailing bytes too short for a header. dcmtk stops here too. */
			r->phase = PH_DONE;
			return rd_fail(r, d, PV_ETRUNC, r->pos, "%llu stray bytes at the end of the data set",
			    (unsigned long long)(r->size - r->pos));
		}
		return rd_fail(r, d, PV_ETRUNC, r->pos, "element header cut short");
	}
	p = src_get(r, r->pos, 12, &ioerr);
	if (p == NULL)
		p = src_get(r, r->pos, 8, &ioerr);
	if (p == NULL)
		return rd_fail(r, d, ioerr ? PV_EIO : PV_ETRUNC, r->pos, "element header cut short");

	if (r->phase == PH_META) {
		/* The meta ends where its group length says (as dcmtk reads it: a
		 * big-endian data set can start with bytes that look like group 2),
		 * or, without one, at the first tag of another group. */
		if ((r->meta_end != 0 && r->pos >= r->meta_end) || (r->meta_end == 0 && rd16le(p) != 0x0002)) {
			int rc = start_dataset(r, d);
			if (rc != 0)
				return rc;
			return RD_AGAIN;
		}
		if (r->pos - r->meta_start > META_MAX)
			return rd_fail(r, d, PV_ELIMIT, r->pos, "File Meta Information over %u bytes", META_MAX);
		implicit = dcm_vr_parse(p[4], p[5]) == DCM_VR__; /* tolerate implicit meta */
		big = 0;
	}
	tag = big ? (uint32_t)rd16be(p) << 16 | rd16be(p + 2) : (uint32_t)rd16le(p) << 16 | rd16le(p + 2);

	if (DCM_GROUP(tag) == 0xfffe) {
		len = big ? rd32be(p + 4) : rd32le(p + 4);
		if (tag == DCM_TAG_ITEM_DELIM && top->kind == FR_ITEM && top->end == NO_END) {
			if (len != 0)
				rd_warn(r, r->pos, "item delimiter with non-zero length %u", len);
			ev_init(r, ev, DCM_EV_ITEM_END, tag);
			ev->index = r->stack[r->sp - 2].count - 1;
			r->pos += 8;
			pop(r);
			ev->depth = r->depth + 1;
			return 1;
		}
		if (tag == DCM_TAG_SEQ_DELIM && top->kind == FR_DATASET && r->phase == PH_DATA) {
			/* A stray sequence delimiter at the top level: dcmtk skips it. */
			rd_warn(r, r->pos, "stray sequence delimiter at the top level skipped");
			r->pos += 8;
			return RD_AGAIN;
		}
		return rd_fail(r, d, PV_EPARSE, r->pos, "unexpected (%04x,%04x) %s",
		    DCM_GROUP(tag), DCM_ELEM(tag),
		    tag == DCM_TAG_ITEM ? "item outside a sequence" :
		    tag == DCM_TAG_ITEM_DELIM ? "item delimiter outside an item of undefined length" :
		    tag == DCM_TAG_SEQ_DELIM ? "sequence delimiter outside a sequence" : "delimiter tag");
	}

	if (implicit) {
		vr = dcm_dict_vr(tag);
		if (vr == DCM_VR_US && r->pixrep[r->depth] == 1) {
			/* US or SS by Pixel Representation (PS3.5 Annex A note; as dcmtk). */
			const struct dcm_dict_entry *de = dcm_dict_lookup(tag);
			if (de != NULL && (de->flags & DCM_DICT_XS))
				vr = DCM_VR_SS;
		}
		len = rd32le(p + 4);
		hlen = 8;
	} else {
		vr = dcm_vr_parse(p[4], p[5]);
		if (vr == DCM_VR__) {
			/* PS3.5 6.2: an unknown VR is read with the 32-bit length form. */
			vr_unknown = 1;
			rd_warn(r, r->pos, "(%04x,%04x) has an unknown VR; read as UN", DCM_GROUP(tag), DCM_ELEM(tag));
			vr = DCM_VR_UN;
			if (p[4] < 0x20 || p[4] > 0x7e || p[5] < 0x20 || p[5] > 0x7e) {
				/* Not even letters: dcmtk reads it as Implicit VR. */
				vr = dcm_dict_vr(tag);
				len = big ? rd32be(p + 4) : rd32le(p + 4);
				hlen = 8;
				goto have_header;
			}
		}
		if (dcm_vr_info(vr)->long_header || vr_unknown) {
			if (r->size - r->pos < 12 || end - r->pos < 12)
				return rd_fail(r, d, PV_ETRUNC, r->pos, "element header cut short");
			p = src_get(r, r->pos, 12, &ioerr);
			if (p == NULL)
				return rd_fail(r, d, ioerr ? PV_EIO : PV_ETRUNC, r->pos, "element header cut short");
			len = big ? rd32be(p + 8) : rd32le(p + 8);
			hlen = 12;
		} else {
			len = big ? rd16be(p + 6) : rd16le(p + 6);
			hlen = 8;
		}
	}
have_header:
	r->pos += hlen;
	if (vr == DCM_VR_UN && !implicit && !vr_unknown && r->phase == PH_DATA && len != DCM_UNDEFINED_LENGTH) {
		vr = un_known_vr(r, tag, len, big);
		un_as_sq = vr == DCM_VR_SQ;
	}

	if (len == DCM_UNDEFINED_LENGTH) {
		int pixseq = 0, seq_implicit = top->implicit || implicit;
		if (vr == DCM_VR_SQ) {
			/* an ordinary sequence */
		} else if (vr == DCM_VR_UN && !implicit) {
			seq_implicit = 1; /* CP-246 */
		} else if (vr == DCM_VR_OB || vr == DCM_VR_OW || tag == DCM_TAG_PIXEL_DATA) {
			pixseq = 1;
		} else if (implicit) {
			/* Implicit VR, undefined length: a sequence whatever the
			 * dictionary says (how dcmtk reads it; PS3.5 7.5.1). */
		} else {
			return rd_fail(r, d, PV_EPARSE, hdr, "(%04x,%04x) %s has undefined length",
			    DCM_GROUP(tag), DCM_ELEM(tag), dcm_vr_name(vr));
		}
		ev_init(r, ev, DCM_EV_SEQ_BEGIN, tag);
		ev->offset = hdr;
		ev->value_offset = r->pos;
		ev->length = len;
		ev->vr = pixseq ? vr : DCM_VR_SQ;
		ev->encapsulated = (unsigned)pixseq;
		ev->un_sequence = vr == DCM_VR_UN;
		ev->vr_from_dict = (unsigned)implicit;
		if (push(r, d, pixseq ? FR_PIXSEQ : FR_SEQ, (uint8_t)seq_implicit, NO_END, tag) != 0)
			return r->err;
		return 1;
	}
	if (vr == DCM_VR_SQ && len > end - r->pos && !r->o.strict) {
		/* dcmtk reads a sequence that overruns its parent up to the parent's end. */
		rd_warn(r, hdr, "(%04x,%04x) sequence length %u runs past the end of its %s; clamped",
		    DCM_GROUP(tag), DCM_ELEM(tag), len, r->sp > 1 ? "item" : "data set");
		len = (uint32_t)(end - r->pos);
	}
	if (len > end - r->pos) {
		uint64_t left = end - r->pos;
		r->pos = hdr;
		return rd_fail(r, d, PV_ETRUNC, hdr,
		    "(%04x,%04x) %s value of %u bytes runs past the end of its %s (%llu bytes left)",
		    DCM_GROUP(tag), DCM_ELEM(tag), dcm_vr_name(vr), len,
		    top->kind == FR_ITEM && top->end != NO_END ? "item" : "data",
		    (unsigned long long)left);
	}
	if (vr == DCM_VR_SQ) {
		/* A sequence sent as UN (CP-246) is encoded in Implicit VR Little Endian inside. */
		int from_un = un_as_sq;
		ev_init(r, ev, DCM_EV_SEQ_BEGIN, tag);
		ev->offset = hdr;
		ev->value_offset = r->pos;
		ev->length = len;
		ev->vr = DCM_VR_SQ;
		ev->vr_from_dict = (unsigned)implicit;
		ev->un_sequence = (unsigned)from_un;
		if (push(r, d, FR_SEQ, (uint8_t)(top->implicit || implicit || from_un), r->pos + len, tag) != 0)
			return r->err;
		return 1;
	}
	ev_init(r, ev, DCM_EV_ELEMENT, tag);
	ev->offset = hdr;
	ev->value_offset = r->pos;
	ev->length = len;
	ev->vr = vr;
	ev->vr_from_dict = (unsigned)implicit;
	ev->vr_unknown = (unsigned)vr_unknown;
	ev->odd_length = len & 1;
	if (ev->odd_length)
		rd_warn(r, hdr, "(%04x,%04x) has odd length %u (PS3.5 7.1.1)", DCM_GROUP(tag), DCM_ELEM(tag), len);
	{
		const struct dcm_vr_info *vi = dcm_vr_info(vr);
		unsigned swap = big ? vi->swap : 0;
		int load = r->o.load_all || r->phase == PH_META ||
		    (vi->kind == DCM_VRK_BULK ? len <= r->o.inline_max : len <= r->o.text_max);
		if (load) {
			int rc = load_value(r, d, r->pos, len, swap, &ev->value);
			if (rc != 0)
				return rc;
		} else {
			ev->swap = swap;
		}
	}
	if (ev->meta && tag == DCM_TAG_META_GROUP_LENGTH && len == 4 && ev->value != NULL) {
		uint64_t end_meta = r->pos + len + dcm_le32_(ev->value);
		if (end_meta <= r->size && end_meta > r->pos + len)
			r->meta_end = end_meta;
	}
	if (tag == 0x00280103u && ev->value != NULL && len >= 2)
		r->pixrep[r->depth] = (uint8_t)(dcm_le16_(ev->value) == 1);
	if (ev->meta && tag == DCM_TAG_TRANSFER_SYNTAX) {
		size_t n = len < sizeof(r->ts_uid) - 1 ? len : sizeof(r->ts_uid) - 1;
		memcpy(r->ts_uid, ev->value, n);
		r->ts_uid[n] = '\0';
		while (n > 0 && (r->ts_uid[n - 1] == ' ' || r->ts_uid[n - 1] == '\0'))
			r->ts_uid[--n] = '\0';
	}
	r->pos += len;
	return 1;
}

static int
next_in_dataset(struct dcm_reader *r, struct dcm_event *ev, struct pv_diag *d)
{
	int rc;

	while ((rc = next_in_dataset_step(r, ev, d)) == RD_AGAIN)
		;
	return rc;
}

static int
next_in_sequence(struct dcm_reader *r, struct dcm_event *ev, struct pv_diag *d)
{
	struct frame *top = &r->stack[r->sp - 1];
	int big = r->big && !top->implicit;
	uint32_t tag = 0, len = 0;
	int rc;

	if (top->end != NO_END && r->pos == top->end) {
		ev_init(r, ev, DCM_EV_SEQ_END, top->tag);
		ev->encapsulated = top->kind == FR_PIXSEQ;
		ev->defined_length = 1;
		pop(r);
		return 1;
	}
	if ((rc = read_item_header(r, d, big, &tag, &len)) != 0)
		return rc;
	if (tag == DCM_TAG_SEQ_DELIM) {
		if (top->end != NO_END)
			return rd_fail(r, d, PV_EPARSE, r->pos, "sequence delimiter in a sequence of defined length");
		ev_init(r, ev, DCM_EV_SEQ_END, top->tag);
		ev->encapsulated = top->kind == FR_PIXSEQ;
		r->pos += 8;
		pop(r);
		return 1;
	}
	if (tag != DCM_TAG_ITEM)
		return rd_fail(r, d, PV_EPARSE, r->pos, "expected an item, found (%04x,%04x)",
		    DCM_GROUP(tag), DCM_ELEM(tag));
	if (top->kind == FR_PIXSEQ) {
		uint64_t hdr = r->pos;
		if (len == DCM_UNDEFINED_LENGTH)
			return rd_fail(r, d, PV_EPARSE, hdr, "pixel data fragment of undefined length");
		if (len > limit_end(r) - (r->pos + 8))
			return rd_fail(r, d, PV_ETRUNC, hdr, "fragment of %u bytes runs past the end of the data", len);
		ev_init(r, ev, DCM_EV_FRAGMENT, tag);
		ev->offset = hdr;
		ev->value_offset = hdr + 8;
		ev->length = len;
		ev->vr = DCM_VR_OB;
		ev->index = top->count++;
		ev->depth = r->depth + 1;
		ev->odd_length = len & 1;
		r->pos += 8;
		if (r->o.load_all || len <= r->o.inline_max) {
			if ((rc = load_value(r, d, r->pos, len, 0, &ev->value)) != 0)
				return rc;
		}
		r->pos += len;
		return 1;
	}
	ev_init(r, ev, DCM_EV_ITEM_BEGIN, tag);
	ev->length = len;
	ev->index = top->count++;
	ev->value_offset = r->pos + 8;
	r->pos += 8;
	if (len != DCM_UNDEFINED_LENGTH && len > limit_end(r) - r->pos) {
		if (r->o.strict)
			return rd_fail(r, d, PV_ETRUNC, ev->offset,
			    "item of %u bytes runs past the end of its sequence", len);
		/* dcmtk reads such an item up to the end of its parent. */
		rd_warn(r, ev->offset, "item of %u bytes runs past the end of its sequence; clamped", len);
		len = (uint32_t)(limit_end(r) - r->pos);
	}
	if ((rc = push(r, d, FR_ITEM, top->implicit,
	    len == DCM_UNDEFINED_LENGTH ? NO_END : r->pos + len, 0)) != 0)
		return rc;
	ev->depth = r->depth;
	ev->defined_length = len != DCM_UNDEFINED_LENGTH;
	return 1;
}

int
dcm_reader_next(struct dcm_reader *r, struct dcm_event *ev, struct pv_diag *d)
{
	int rc;

	if (r->err != 0) {
		if (d != NULL && d->code == 0)
			*d = r->err_diag;
		return r->err;
	}
	if (r->phase == PH_DONE)
		return 0;
	if (r->phase == PH_START) {
		if ((rc = start_file(r, d)) != 0)
			return rc;
	}
	switch (r->stack[r->sp - 1].kind) {
	case FR_DATASET:
	case FR_ITEM:
		return next_in_dataset(r, ev, d);
	default:
		return next_in_sequence(r, ev, d);
	}
}
