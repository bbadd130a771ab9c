/* dataset.c: the DOM built from reader events. */
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/value.h"
#include "pacsvault/base/mem.h"

#include <stdlib.h>
#include <string.h>

/* Grows an arena array (old storage stays in the arena: total <= 2x). */
static void *
arena_grow(struct pv_arena *a, void *old, uint32_t n, uint32_t *cap, size_t size)
{
	uint32_t ncap;
	void *p;

	if (n < *cap)
		return old;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < *cap)
		return NULL;
	p = pv_arena_alloc(a, pv_size_mul(ncap, size));
	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, old, (size_t)n * size);
	*cap = ncap;
	return p;
}

static struct dcm_elem *
ds_append(struct dcm_file *f, struct dcm_dataset *ds)
{
	struct dcm_elem *e = arena_grow(&f->arena, ds->e, ds->n, &ds->cap, sizeof(*e));
	if (e == NULL)
		return NULL;
	ds->e = e;
	memset(&ds->e[ds->n], 0, sizeof(ds->e[0]));
	return &ds->e[ds->n++];
}

/*
 * Sorts e[0..n) by tag, stably (a tag that occurs twice keeps its order of
 * appearance), in O(n log n): a bottom-up merge sort through tmp.
 */
static void
elems_merge_sort(struct dcm_elem *e, struct dcm_elem *tmp, uint32_t n)
{
	struct dcm_elem *src = e, *dst = tmp;

	for (uint64_t width = 1; width < n; width *= 2) {
		for (uint64_t lo = 0; lo < n; lo += 2 * width) {
			uint64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			uint64_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				dst[k++] = src[j].tag < src[i].tag ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		struct dcm_elem *t = src;
		src = dst;
		dst = t;
	}
	if (src != e)
		memcpy(e, src, (size_t)n * sizeof(*e));
}

/*
 * Data sets from real files are nearly always sorted: one pass says so.
 * Otherwise a stable O(n log n) sort (PS3.5 7.1): an insertion sort here
 * took 58 s of CPU for 1.6 MB of descending tags (issue #16). A tag that
 * occurs twice is a defect: the first one is kept, as dcmtk does, and the
 * count returned.
 */
static unsigned
ds_finish(struct dcm_dataset *ds)
{
	unsigned dropped = 0;
	uint32_t w, k;

	for (k = 1; k < ds->n && ds->e[k - 1].tag <= ds->e[k].tag; k++)
		;
	if (k < ds->n) {
		struct dcm_elem *tmp = pv_mallocarray(ds->n, sizeof(*tmp));

		if (tmp != NULL) {
			elems_merge_sort(ds->e, tmp, ds->n);
			free(tmp);
		} else {
			/* no memory for the buffer: sorted in place, slowly */
			for (k = 1; k < ds->n; k++) {
				struct dcm_elem t = ds->e[k];
				uint32_t j = k;
				while (j > 0 && ds->e[j - 1].tag > t.tag) {
					ds->e[j] = ds->e[j - 1];
					j--;
				}
				ds->e[j] = t;
			}
		}
	}
	for (uint32_t i = w = 0; i < ds->n; i++) {
		if (w > 0 && ds->e[w - 1].tag == ds->e[i].tag) {
			dropped++;
			continue;
		}
		ds->e[w++] = ds->e[i];
	}
	ds->n = w;
	return dropped;
}

struct build_frame {
	struct dcm_dataset *ds;   /* the data set being filled */
	struct dcm_seq *seq;      /* when inside a sequence (between items) */
};

int
dcm_file_new(struct dcm_file **out)
{
	struct dcm_file *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (f == NULL)
		return PV_ENOMEM;
	pv_arena_init(&f->arena, DCM_FILE_ARENA_CAP);
	f->ts = dcm_ts_lookup(DCM_TS_EXPLICIT_LE, sizeof(DCM_TS_EXPLICIT_LE) - 1);
	*out = f;
	return 0;
}

void
dcm_file_free(struct dcm_file *f)
{
	if (f == NULL)
		return;
	dcm_reader_free(f->src);
	pv_arena_free(&f->arena);
	free(f);
}

int
dcm_file_read(struct dcm_reader *r, struct dcm_file **out, struct pv_diag *d)
{
	struct dcm_file *f = NULL;
	struct build_frame *st = NULL;
	unsigned sp = 0, cap = 0;
	struct dcm_event ev;
	int rc;

	*out = NULL;
	if ((rc = dcm_file_new(&f)) != 0) {
		dcm_reader_free(r);
		return pv_diag_set(d, rc, -1, "out of memory");
	}
	f->src = r;
	cap = 2 * 1024 + 4;
	st = calloc(cap, sizeof(*st));
	if (st == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto fail;
	}
	st[0].ds = &f->ds;
	sp = 1;
	while ((rc = dcm_reader_next(r, &ev, d)) == 1) {
		struct build_frame *top = &st[sp - 1];
		struct dcm_elem *e;
		switch (ev.type) {
		case DCM_EV_ELEMENT:
			e = ds_append(f, ev.meta ? &f->meta : top->ds);
			if (e == NULL)
				goto nomem;
			e->tag = ev.tag;
			e->vr = (uint8_t)ev.vr;
			e->length = ev.length;
			e->flags = ev.odd_length ? DCM_EF_ODD : 0;
			if (ev.value != NULL) {
				e->v.bytes = (uint8_t *)pv_arena_memdup(&f->arena, ev.value, ev.length);
				if (e->v.bytes == NULL)
					goto nomem;
			} else {
				e->flags |= DCM_EF_REF;
				e->swap = (uint8_t)ev.swap;
				e->v.off = ev.value_offset;
			}
			break;
		case DCM_EV_SEQ_BEGIN:
			e = ds_append(f, top->ds);
			if (e == NULL)
				goto nomem;
			e->tag = ev.tag;
			e->vr = (uint8_t)ev.vr;
			e->length = ev.length;
			e->flags = (ev.length == DCM_UNDEFINED_LENGTH ? DCM_EF_UNDEF : 0) |
			    (ev.encapsulated ? DCM_EF_ENCAPS : 0) | (ev.un_sequence ? DCM_EF_UNSEQ : 0);
			e->seq = pv_arena_zalloc(&f->arena, sizeof(*e->seq));
			if (e->seq == NULL)
				goto nomem;
			if (sp >= cap) {
				rc = pv_diag_set(d, PV_ELIMIT, (int64_t)ev.offset, "nesting too deep");
				goto fail;
			}
			st[sp].ds = NULL;
			st[sp].seq = e->seq;
			sp++;
			break;
		case DCM_EV_ITEM_BEGIN: {
			struct dcm_seq *s = top->seq;
			struct dcm_dataset *item;
			struct dcm_dataset **items;
			if (s == NULL || sp >= cap) {
				rc = pv_diag_set(d, PV_EINTERNAL, (int64_t)ev.offset, "item outside a sequence");
				goto fail;
			}
			items = arena_grow(&f->arena, s->items, s->nitems, &s->cap, sizeof(*items));
			item = pv_arena_zalloc(&f->arena, sizeof(*item));
			if (items == NULL || item == NULL)
				goto nomem;
			s->items = items;
			item->undef = !ev.defined_length;
			s->items[s->nitems++] = item;
			st[sp].ds = item;
			st[sp].seq = NULL;
			sp++;
			break;
		}
		case DCM_EV_ITEM_END:
			f->duplicates += ds_finish(top->ds);
			sp--;
			break;
		case DCM_EV_SEQ_END:
			sp--;
			break;
		case DCM_EV_FRAGMENT: {
			struct dcm_seq *s = top->seq;
			struct dcm_frag *fr;
			if (s == NULL) {
				rc = pv_diag_set(d, PV_EINTERNAL, (int64_t)ev.offset, "fragment outside pixel data");
				goto fail;
			}
			fr = arena_grow(&f->arena, s->frags, s->nfrags, &s->fcap, sizeof(*fr));
			if (fr == NULL)
				goto nomem;
			s->frags = fr;
			fr = &s->frags[s->nfrags++];
			fr->length = ev.length;
			if (ev.value != NULL) {
				fr->ref = 0;
				fr->v.bytes = (uint8_t *)pv_arena_memdup(&f->arena, ev.value, ev.length);
				if (fr->v.bytes == NULL)
					goto nomem;
			} else {
				fr->ref = 1;
				fr->v.off = ev.value_offset;
			}
			break;
		}
		}
	}
	if (rc < 0)
		goto fail;
	f->duplicates += ds_finish(&f->meta);
	f->duplicates += ds_finish(&f->ds);
	f->ts = dcm_reader_ts(r);
	if (f->ts == NULL)
		f->ts = dcm_ts_lookup(DCM_TS_EXPLICIT_LE, sizeof(DCM_TS_EXPLICIT_LE) - 1);
	f->has_preamble = dcm_reader_has_preamble(r);
	f->has_meta = dcm_reader_has_meta(r);
	free(st);
	*out = f;
	return 0;
nomem:
	rc = pv_diag_set(d, PV_ENOMEM, (int64_t)ev.offset, "out of memory (or over the %zu-byte cap)",
	    (size_t)DCM_FILE_ARENA_CAP);
fail:
	free(st);
	dcm_file_free(f);
	return rc;
}

int
dcm_file_open(const char *path, const struct dcm_reader_opts *opts,
    struct dcm_file **out, struct pv_diag *d)
{
	struct dcm_reader *r;
	int rc = dcm_reader_open(path, opts, &r, d);

	*out = NULL;
	if (rc != 0)
		return rc;
	return dcm_file_read(r, out, d);
}

struct dcm_elem *
dcm_ds_find(const struct dcm_dataset *ds, uint32_t tag)
{
	uint32_t lo = 0, hi = ds->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ds->e[mid].tag == tag)
			return &ds->e[mid];
		if (ds->e[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
dcm_ds_set(struct dcm_file *f, struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
    const void *p, uint32_t len, struct dcm_elem **out)
{
	struct dcm_elem *e = dcm_ds_find(ds, tag);
	uint8_t *copy = (uint8_t *)pv_arena_memdup(&f->arena, p, len);

	if (copy == NULL)
		return PV_ENOMEM;
	if (e == NULL) {
		uint32_t pos = 0;
		if (ds_append(f, ds) == NULL)
			return PV_ENOMEM;
		while (pos < ds->n - 1 && ds->e[pos].tag < tag)
			pos++;
		memmove(&ds->e[pos + 1], &ds->e[pos], (size_t)(ds->n - 1 - pos) * sizeof(ds->e[0]));
		e = &ds->e[pos];
	}
	memset(e, 0, sizeof(*e));
	e->tag = tag;
	e->vr = (uint8_t)vr;
	e->length = len;
	e->v.bytes = copy;
	if (out != NULL)
		*out = e;
	return 0;
}

int
dcm_ds_set_str(struct dcm_file *f, struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
    const char *s)
{
	size_t n = strlen(s);
	if (n > UINT32_MAX - 2)
		return PV_ELIMIT;
	return dcm_ds_set(f, ds, tag, vr, s, (uint32_t)n, NULL);
}

int
dcm_ds_remove(struct dcm_dataset *ds, uint32_t tag)
{
	struct dcm_elem *e = dcm_ds_find(ds, tag);
	size_t i;

	if (e == NULL)
		return PV_ENOTFOUND;
	i = (size_t)(e - ds->e);
	memmove(e, e + 1, (ds->n - i - 1) * sizeof(*e));
	ds->n--;
	return 0;
}

int
dcm_file_value(struct dcm_file *f, struct dcm_elem *e, const uint8_t **p)
{
	uint8_t *buf;
	int rc;

	if (!(e->flags & DCM_EF_REF)) {
		*p = e->v.bytes != NULL ? e->v.bytes : (const uint8_t *)"";
		return 0;
	}
	if (f->src == NULL)
		return PV_EINTERNAL;
	buf = pv_arena_alloc(&f->arena, (size_t)e->length + 1);
	if (buf == NULL)
		return PV_ENOMEM;
	if ((rc = dcm_reader_pread(f->src, e->v.off, buf, e->length)) != 0)
		return rc;
	buf[e->length] = 0;
	if (e->swap > 1)
		for (uint32_t i = 0; i + e->swap <= e->length; i += e->swap)
			for (unsigned j = 0; j < e->swap / 2u; j++) {
				uint8_t t = buf[i + j];
				buf[i + j] = buf[i + e->swap - 1 - j];
				buf[i + e->swap - 1 - j] = t;
			}
	e->v.bytes = buf;
	e->flags &= (uint8_t)~DCM_EF_REF;
	e->swap = 0;
	*p = buf;
	return 0;
}

int
dcm_ds_get_str(struct dcm_file *f, const struct dcm_dataset *ds, uint32_t tag, char *out, size_t n)
{
	struct dcm_elem *e = dcm_ds_find(ds, tag);
	const uint8_t *v, *s;
	size_t len;

	if (n == 0)
		return PV_EINVAL;
	out[0] = '\0';
	if (e == NULL || e->seq != NULL || dcm_file_value(f, e, &v) != 0)
		return PV_ENOTFOUND;
	if (dcm_value_string_at((enum dcm_vr)e->vr, v, e->length, 0, &s, &len) != 0)
		return PV_ENOTFOUND;
	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

size_t
dcm_ds_count(const struct dcm_dataset *ds)
{
	size_t n = 0;

	for (uint32_t i = 0; i < ds->n; i++) {
		n++;
		if (ds->e[i].seq != NULL)
			for (uint32_t k = 0; k < ds->e[i].seq->nitems; k++)
				n += dcm_ds_count(ds->e[i].seq->items[k]);
	}
	return n;
}

int
dcm_ds_set_seq(struct dcm_file *f, struct dcm_dataset *ds, uint32_t tag, struct dcm_seq **out)
{
	struct dcm_elem *e;
	struct dcm_seq *seq = pv_arena_zalloc(&f->arena, sizeof(*seq));
	int rc;

	if (seq == NULL)
		return PV_ENOMEM;
	if ((rc = dcm_ds_set(f, ds, tag, DCM_VR_SQ, "", 0, &e)) != 0)
		return rc;
	e->seq = seq;
	*out = seq;
	return 0;
}

int
dcm_seq_add_item(struct dcm_file *f, struct dcm_seq *seq, struct dcm_dataset **out)
{
	struct dcm_dataset **items = arena_grow(&f->arena, seq->items, seq->nitems, &seq->cap, sizeof(*items));
	struct dcm_dataset *item = pv_arena_zalloc(&f->arena, sizeof(*item));

	if (items == NULL || item == NULL)
		return PV_ENOMEM;
	seq->items = items;
	seq->items[seq->nitems++] = item;
	*out = item;
	return 0;
}

/* Copies e (values loaded) into *to, allocating in dst's arena. */
static int
copy_elem_into(struct dcm_file *dst, struct dcm_file *src, struct dcm_elem *e, struct dcm_elem *to,
    unsigned depth)
{
	const uint8_t *v;
	int rc;

	if (depth > 1024)
		return PV_ELIMIT;
	*to = *e;
	to->seq = NULL;
	if (e->seq != NULL) {
		struct dcm_seq *s = pv_arena_zalloc(&dst->arena, sizeof(*s));
		if (s == NULL)
			return PV_ENOMEM;
		to->seq = s;
		if ((e->flags & DCM_EF_ENCAPS) && dst == src) {
			*s = *e->seq;  /* fragments are never changed in place: share them */
			return 0;
		}
		if (e->flags & DCM_EF_ENCAPS) {
			s->frags = pv_arena_alloc(&dst->arena, (size_t)e->seq->nfrags * sizeof(*s->frags) + 1);
			if (s->frags == NULL)
				return PV_ENOMEM;
			for (uint32_t i = 0; i < e->seq->nfrags; i++) {
				struct dcm_frag *fr = &e->seq->frags[i];
				s->frags[i] = *fr;
				if (fr->ref) {
					uint8_t *b = pv_arena_alloc(&dst->arena, (size_t)fr->length + 1);
					if (b == NULL)
						return PV_ENOMEM;
					if ((rc = dcm_reader_pread(src->src, fr->v.off, b, fr->length)) != 0)
						return rc;
					s->frags[i].ref = 0;
					s->frags[i].v.bytes = b;
				}
			}
			s->nfrags = s->fcap = e->seq->nfrags;
			return 0;
		}
		for (uint32_t k = 0; k < e->seq->nitems; k++) {
			struct dcm_dataset *item;
			const struct dcm_dataset *from = e->seq->items[k];
			if ((rc = dcm_seq_add_item(dst, s, &item)) != 0)
				return rc;
			item->undef = from->undef;
			if (from->n > 0) {
				item->e = pv_arena_alloc(&dst->arena, (size_t)from->n * sizeof(*item->e));
				if (item->e == NULL)
					return PV_ENOMEM;
				item->n = item->cap = from->n;
				for (uint32_t i = 0; i < from->n; i++)
					if ((rc = copy_elem_into(dst, src, &from->e[i], &item->e[i], depth + 1)) != 0)
						return rc;
			}
		}
		return 0;
	}
	if (dst == src)
		return 0;  /* values are never changed in place: share them (and references) */
	if ((rc = dcm_file_value(src, e, &v)) != 0)
		return rc;
	to->v.bytes = (uint8_t *)pv_arena_memdup(&dst->arena, v, e->length);
	if (to->v.bytes == NULL)
		return PV_ENOMEM;
	to->flags &= (uint8_t)~DCM_EF_REF;
	to->swap = 0;
	return 0;
}

int
dcm_ds_copy_elem(struct dcm_file *dst, struct dcm_dataset *ds, struct dcm_file *src, struct dcm_elem *e)
{
	struct dcm_elem copy, *slot;
	int rc;

	if ((rc = copy_elem_into(dst, src, e, &copy, 0)) != 0)
		return rc;
	if ((rc = dcm_ds_set(dst, ds, e->tag, (enum dcm_vr)e->vr, "", 0, &slot)) != 0)
		return rc;
	*slot = copy;
	return 0;
}

int
dcm_ds_clone(struct dcm_file *f, const struct dcm_dataset *src, struct dcm_dataset *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->undef = src->undef;
	if (src->n == 0)
		return 0;
	out->e = pv_arena_alloc(&f->arena, (size_t)src->n * sizeof(*out->e));
	if (out->e == NULL)
		return PV_ENOMEM;
	out->n = out->cap = src->n;
	for (uint32_t i = 0; i < src->n; i++)
		if ((rc = copy_elem_into(f, f, &src->e[i], &out->e[i], 0)) != 0)
			return rc;
	return 0;
}

int
dcm_elem_equal(struct dcm_file *fa, struct dcm_elem *a, struct dcm_file *fb, struct dcm_elem *b)
{
	const uint8_t *va, *vb;

	if (a->tag != b->tag || a->vr != b->vr || (a->seq == NULL) != (b->seq == NULL))
		return 0;
	if (a->seq != NULL) {
		if ((a->flags & DCM_EF_ENCAPS) != (b->flags & DCM_EF_ENCAPS) ||
		    a->seq->nitems != b->seq->nitems || a->seq->nfrags != b->seq->nfrags)
			return 0;
		for (uint32_t k = 0; k < a->seq->nitems; k++) {
			struct dcm_dataset *x = a->seq->items[k], *y = b->seq->items[k];
			if (x->n != y->n)
				return 0;
			for (uint32_t i = 0; i < x->n; i++)
				if (!dcm_elem_equal(fa, &x->e[i], fb, &y->e[i]))
					return 0;
		}
		return 1;  /* fragments are never modified in place */
	}
	if (a->length != b->length)
		return 0;
	if (dcm_file_value(fa, a, &va) != 0 || dcm_file_value(fb, b, &vb) != 0)
		return 0;
	return memcmp(va, vb, a->length) == 0;
}

int
dcm_ds_get_us(struct dcm_file *f, const struct dcm_dataset *ds, uint32_t tag, unsigned *out)
{
	struct dcm_elem *e = dcm_ds_find(ds, tag);
	const uint8_t *v;

	if (e == NULL || e->seq != NULL || e->length != 2 || dcm_file_value(f, e, &v) != 0)
		return -1;
	*out = (unsigned)(v[0] | v[1] << 8);
	return 0;
}

int
dcm_pixfix_setup(struct dcm_file *f)
{
	struct dcm_elem *px = dcm_ds_find(&f->ds, 0x7fe00010u);
	unsigned ba, bs, hb, rep;

	memset(&f->pixfix, 0, sizeof(f->pixfix));
	if (px == NULL || px->seq != NULL || (px->flags & DCM_EF_ENCAPS) || px->length == 0)
		return 0;
	if (dcm_ds_get_us(f, &f->ds, 0x00280100u, &ba) != 0 || dcm_ds_get_us(f, &f->ds, 0x00280101u, &bs) != 0 ||
	    dcm_ds_get_us(f, &f->ds, 0x00280102u, &hb) != 0)
		return 0;
	if (dcm_ds_get_us(f, &f->ds, 0x00280103u, &rep) != 0)
		rep = 0;
	if ((ba != 8 && ba != 16 && ba != 32) || bs < 1 || bs > ba || hb + 1 < bs || hb >= ba || rep > 1)
		return 0;
	if (bs == ba)
		return 0;
	f->pixfix.unit = (uint8_t)(ba / 8);
	f->pixfix.is_signed = (uint8_t)rep;
	f->pixfix.high_bit = (uint8_t)hb;
	f->pixfix.bits_stored = (uint8_t)bs;
	return 1;
}

static inline uint16_t
le16_host(uint16_t v)  /* a little-endian 16-bit value to the host's order, and back */
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

/*
 * The 16-bit case, branch-free and vectorised (it runs over every sample of
 * every CT and MR image de-identified): bits outside keep cleared, ext set
 * when the sign bit is and the pixels are signed. At most 2^31 samples.
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize")))  /* GCC before 12 vectorises at -O3 only; clang does at -O2 */
#endif
static uint32_t
fix16(uint8_t *p, size_t nsamp, uint16_t keep, uint16_t ext, unsigned hb, uint16_t sg)
{
	const uint16_t sm = sg ? (uint16_t)(1u << hb) : 0;  /* the sign bit, when signed */
	uint32_t ch = 0;

	for (size_t i = 0; i < nsamp; i++) {
		uint16_t v, o;
		memcpy(&v, p + 2 * i, 2);
		v = le16_host(v);
		o = (uint16_t)((v & keep) | ((v & sm) != 0 ? ext : 0));
		ch += o != v;
		o = le16_host(o);
		memcpy(p + 2 * i, &o, 2);
	}
	return ch;
}

/* count16: the samples with data in their unused bits (dcm_pixfix_count):
 * a low bit set, or high bits that are neither zero nor, for a negative
 * signed sample, its sign extension. Reads only. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize")))
#endif
static uint32_t
count16(const uint8_t *p, size_t nsamp, uint16_t low, uint16_t ext, uint16_t sm)
{
	uint32_t found = 0;

	for (size_t i = 0; i < nsamp; i++) {
		uint16_t v, high;
		memcpy(&v, p + 2 * i, 2);
		v = le16_host(v);
		high = v & ext;
		/* bitwise, not && and ||: no branch, so the loop vectorises */
		found += (uint32_t)((v & low) != 0) |
		    ((uint32_t)(high != 0) & ~((uint32_t)((v & sm) != 0) & (uint32_t)(high == ext)));
	}
	return found;
}

uint64_t
dcm_pixfix_apply(const struct dcm_pixfix *fx, uint8_t *p, size_t n)
{
	const unsigned unit = fx->unit;
	const uint32_t lo = (uint32_t)fx->high_bit + 1u - fx->bits_stored;
	const uint32_t keep = (uint32_t)(((1ull << fx->bits_stored) - 1) << lo);
	const uint32_t sign = 1u << fx->high_bit;
	const uint32_t ext = (uint32_t)(((1ull << (8 * unit)) - 1) & ~((2ull << fx->high_bit) - 1));
	uint64_t changed = 0;

	if (unit == 0)
		return 0;
	n -= n % unit;
	if (unit == 2) {
		(void)sign;
		for (size_t base = 0; base < n; base += (size_t)1 << 20) {
			size_t len = n - base < ((size_t)1 << 20) ? n - base : (size_t)1 << 20;
			changed += fix16(p + base, len / 2, (uint16_t)keep, (uint16_t)ext, fx->high_bit,
			    fx->is_signed ? 1 : 0);
		}
		return changed;
	}
	for (size_t i = 0; i < n; i += unit) {
		uint32_t v = 0, o;
		for (unsigned k = 0; k < unit; k++)
			v |= (uint32_t)p[i + k] << (8 * k);
		o = v & keep;
		if (fx->is_signed && (v & sign))
			o |= ext;
		changed += o != v;
		for (unsigned k = 0; k < unit; k++)
			p[i + k] = (uint8_t)(o >> (8 * k));
	}
	return changed;
}

uint64_t
dcm_pixfix_count(const struct dcm_pixfix *fx, const uint8_t *p, size_t n)
{
	const unsigned unit = fx->unit;
	const uint32_t lo = (uint32_t)fx->high_bit + 1u - fx->bits_stored;
	const uint32_t low = (uint32_t)((1ull << lo) - 1);
	const uint32_t ext = (uint32_t)(((1ull << (8 * unit)) - 1) & ~((2ull << fx->high_bit) - 1));
	const uint32_t sign = 1u << fx->high_bit;
	uint64_t found = 0;

	if (unit == 0)
		return 0;
	n -= n % unit;
	if (unit == 2) {
		for (size_t base = 0; base < n; base += (size_t)1 << 20) {
			size_t len = n - base < ((size_t)1 << 20) ? n - base : (size_t)1 << 20;
			found += count16(p + base, len / 2, (uint16_t)low, (uint16_t)ext,
			    fx->is_signed ? (uint16_t)sign : 0);
		}
		return found;
	}
	for (size_t i = 0; i < n; i += unit) {
		uint32_t v = 0, high;
		for (unsigned k = 0; k < unit; k++)
			v |= (uint32_t)p[i + k] << (8 * k);
		high = v & ext;
		found += (v & low) != 0 || (high != 0 && !(fx->is_signed && (v & sign) && high == ext));
	}
	return found;
}

void
dcm_swap_units(uint8_t *p, size_t n, unsigned unit)
{
	for (size_t i = 0; i + unit <= n; i += unit)
		for (unsigned j = 0; j < unit / 2; j++) {
			uint8_t t = p[i + j];
			p[i + j] = p[i + unit - 1 - j];
			p[i + unit - 1 - j] = t;
		}
}

#define PIXEL_CHUNK ((size_t)1 << 20)

int
dcm_pixel_chunks(struct dcm_file *f, const struct dcm_elem *px, unsigned unit,
    int (*fn)(void *arg, uint8_t *buf, size_t whole, size_t chunk), void *arg)
{
	const int src_big = (px->flags & DCM_EF_REF) && px->swap > 1;
	uint8_t *buf = malloc(PIXEL_CHUNK);
	uint64_t off = 0;
	int rc = 0;

	if (buf == NULL)
		return PV_ENOMEM;
	if (unit == 0)
		unit = 1;
	while (off < px->length && rc == 0) {
		size_t chunk = px->length - off < PIXEL_CHUNK ? (size_t)(px->length - off) : PIXEL_CHUNK;
		size_t whole = chunk - chunk % unit;
		if (px->flags & DCM_EF_REF)
			rc = dcm_reader_pread(f->src, px->v.off + off, buf, chunk);
		else
			memcpy(buf, px->v.bytes + off, chunk);
		if (rc != 0)
			break;
		if (src_big)
			dcm_swap_units(buf, whole, unit);
		rc = fn(arg, buf, whole, chunk);
		off += chunk;
	}
	free(buf);
	return rc;
}
