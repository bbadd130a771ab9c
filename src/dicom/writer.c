/* writer.c: the Part 10 writer. */
#include "pacsvault/dicom/writer.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/dicom/value.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/*
 * Deflate level 1 (zlib's fastest): level 6 spent 7x the CPU of writing
 * the same small file uncompressed, for about 10% smaller output
 * (issue #14, docs/FORMATS.md). Any level is valid PS3.5 A.5 raw deflate.
 */
#define DEFLATE_LEVEL 1

/*
 * Native pixel data is mostly noise to LZ77 matching: run-length matching
 * only (Z_RLE) halves the CPU again for about 6% more bytes on CT slices;
 * text-heavy data sets (SR, the usual Deflated files) keep full matching.
 */
static int
deflate_strategy(const struct dcm_file *f)
{
	const struct dcm_elem *e = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
	return e != NULL && e->seq == NULL && e->length > 16384 ? Z_RLE : Z_DEFAULT_STRATEGY;
}

#define SINK_BUF (256u * 1024u)

struct sink {
	int fd;
	struct pv_buf *mem;   /* write here instead of fd */
	z_stream *z;
	uint8_t *buf;
	size_t len;
	int err;
};

struct wctx {
	struct dcm_file *f;
	struct sink *s;
	int implicit, big;
	struct pv_diag *d;
};

static int
sink_raw_write(struct sink *s, const uint8_t *p, size_t n)
{
	if (s->z == NULL && s->mem != NULL)
		return pv_buf_append(s->mem, p, n);
	if (s->z == NULL)
		return pv_write_all(s->fd, p, n);
	s->z->next_in = (Bytef *)p;
	s->z->avail_in = (uInt)n;
	while (s->z->avail_in > 0) {
		uint8_t out[65536];
		s->z->next_out = out;
		s->z->avail_out = sizeof(out);
		if (deflate(s->z, Z_NO_FLUSH) == Z_STREAM_ERROR)
			return PV_EINTERNAL;
		int rc = pv_write_all(s->fd, out, sizeof(out) - s->z->avail_out);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
sink_flush(struct sink *s)
{
	int rc;
	if (s->err != 0 || s->len == 0)
		return s->err;
	rc = sink_raw_write(s, s->buf, s->len);
	s->len = 0;
	if (rc != 0)
		s->err = rc;
	return rc;
}

static int
sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->err != 0)
		return s->err;
	if (n == 0)
		return 0;
	if (n > SINK_BUF - s->len) {
		if (sink_flush(s) != 0)
			return s->err;
		if (n > SINK_BUF) {
			int rc = sink_raw_write(s, p, n);
			if (rc != 0)
				s->err = rc;
			return rc;
		}
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static void put16(struct wctx *w, uint8_t *p, uint16_t v)
{
	if (w->big) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
	else { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
}

static void put32(struct wctx *w, uint8_t *p, uint32_t v)
{
	if (w->big) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
	else { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }
}

/* The VR and header form an element is written with in explicit VR. */
static enum dcm_vr
write_vr(const struct wctx *w, const struct dcm_elem *e, uint32_t padded)
{
	enum dcm_vr vr = (enum dcm_vr)e->vr;
	(void)w;
	if (e->seq != NULL && !(e->flags & DCM_EF_ENCAPS))
		return DCM_VR_SQ;  /* UN sequences (CP-246) are written as SQ */
	/* PS3.5 6.2.2: a value too long for a 16-bit length is written as UN. */
	if (!dcm_vr_info(vr)->long_header && padded > 0xfffe)
		return DCM_VR_UN;
	return vr;
}

static uint64_t ds_encoded_len(struct wctx *w, const struct dcm_dataset *ds);

/*
 * In Implicit VR a reader knows a sequence only from the dictionary, or
 * from an undefined length (PS3.5 7.5.1, as dcmtk reads it): a sequence
 * whose tag the dictionary does not call SQ is written with undefined length.
 */
static int
seq_undefined(const struct wctx *w, const struct dcm_elem *e)
{
	if (e->flags & DCM_EF_UNDEF)
		return 1;
	return w->implicit && dcm_dict_vr(e->tag) != DCM_VR_SQ;
}

static uint64_t
header_len(const struct wctx *w, enum dcm_vr vr)
{
	if (w->implicit)
		return 8;
	return dcm_vr_info(vr)->long_header ? 12 : 8;
}

/* The bytes element e takes when written, header included. */
static uint64_t
elem_encoded_len(struct wctx *w, const struct dcm_elem *e)
{
	uint32_t padded = e->length + (e->length & 1);
	enum dcm_vr vr = write_vr(w, e, padded);
	uint64_t n = header_len(w, vr);

	if (e->flags & DCM_EF_ENCAPS) {
		for (uint32_t i = 0; i < e->seq->nfrags; i++)
			n += 8 + e->seq->frags[i].length + (e->seq->frags[i].length & 1);
		return n + 8;
	}
	if (e->seq != NULL) {
		for (uint32_t i = 0; i < e->seq->nitems; i++) {
			n += 8 + ds_encoded_len(w, e->seq->items[i]);
			if (e->seq->items[i]->undef)
				n += 8;
		}
		if (seq_undefined(w, e))
			n += 8;
		return n;
	}
	return n + padded;
}

static uint64_t
ds_encoded_len(struct wctx *w, const struct dcm_dataset *ds)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < ds->n; i++)
		n += elem_encoded_len(w, &ds->e[i]);
	return n;
}

static int
put_header(struct wctx *w, uint32_t tag, enum dcm_vr vr, uint32_t len, int item)
{
	uint8_t h[12];
	size_t n;

	put16(w, h, DCM_GROUP(tag));
	put16(w, h + 2, DCM_ELEM(tag));
	if (item || w->implicit) {
		put32(w, h + 4, len);
		n = 8;
	} else if (dcm_vr_info(vr)->long_header) {
		memcpy(h + 4, dcm_vr_name(vr), 2);
		h[6] = h[7] = 0;
		put32(w, h + 8, len);
		n = 12;
	} else {
		memcpy(h + 4, dcm_vr_name(vr), 2);
		put16(w, h + 6, (uint16_t)len);
		n = 8;
	}
	return sink_put(w->s, h, n);
}

/* Writes len bytes of value data with byte swapping by unit (0/1 = none). */
static int
put_swapped(struct wctx *w, const uint8_t *p, size_t len, unsigned unit)
{
	uint8_t tmp[8192];

	if (unit <= 1)
		return sink_put(w->s, p, len);
	while (len > 0) {
		size_t chunk = len < sizeof(tmp) ? len : sizeof(tmp);
		chunk -= chunk % unit;
		if (chunk == 0) {
			/* a stray tail shorter than the unit stays as is */
			return sink_put(w->s, p, len);
		}
		memcpy(tmp, p, chunk);
		dcm_swap_units(tmp, chunk, unit);
		int rc = sink_put(w->s, tmp, chunk);
		if (rc != 0)
			return rc;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

/* Streams a referenced value from the source. */
static int
put_ref(struct wctx *w, uint64_t off, uint32_t len, unsigned unit)
{
	uint64_t base;
	int fd = dcm_reader_fd(w->f->src, &base);
	uint8_t *buf;
	int rc = 0;

	if (w->f->src == NULL)
		return PV_EINTERNAL;
	if (fd >= 0 && unit <= 1 && w->s->z == NULL && w->s->mem == NULL) {
		if ((rc = sink_flush(w->s)) != 0)
			return rc;
		return pv_copy_range(fd, base + off, w->s->fd, len);
	}
	buf = malloc(65536);
	if (buf == NULL)
		return PV_ENOMEM;
	while (len > 0 && rc == 0) {
		uint32_t chunk = len < 65536 ? len : 65536;
		rc = dcm_reader_pread(w->f->src, off, buf, chunk);
		if (rc == 0)
			rc = put_swapped(w, buf, chunk, unit);
		off += chunk;
		len -= chunk;
	}
	free(buf);
	return rc;
}

static int write_ds(struct wctx *w, const struct dcm_dataset *ds);

struct pixfix_put {
	struct wctx *w;
	uint64_t changed;
};

static int
pixfix_chunk(void *arg, uint8_t *buf, size_t whole, size_t chunk)
{
	struct pixfix_put *p = arg;

	p->changed += dcm_pixfix_apply(&p->w->f->pixfix, buf, whole);
	if (p->w->big)
		dcm_swap_units(buf, whole, p->w->f->pixfix.unit);
	return sink_put(p->w->s, buf, chunk);  /* a stray tail shorter than a sample stays as is */
}

/*
 * Native Pixel Data with its unused bits rewritten (struct dcm_pixfix):
 * the value in chunks, in little-endian order while the samples are
 * fixed, then in the output's order.
 */
static int
put_pixfix(struct wctx *w, const struct dcm_elem *e, unsigned vr_unit)
{
	struct dcm_pixfix *fx = &w->f->pixfix;
	const int src_big = (e->flags & DCM_EF_REF) && e->swap > 1;
	struct pixfix_put p = { w, 0 };
	int rc;

	/* Samples in a byte order this can tell: little endian, or swapped by
	 * whole samples (OW in a big-endian syntax); OB in one is ambiguous. */
	if ((src_big || w->big) && vr_unit != fx->unit && fx->unit > 1)
		return pv_diag_set(w->d, PV_EUNSUPPORTED, -1,
		    "cannot clear the unused bits of %u-bit Pixel Data of VR OB in a big-endian syntax", 8u * fx->unit);
	rc = dcm_pixel_chunks(w->f, e, fx->unit, pixfix_chunk, &p);
	fx->changed += p.changed;
	return rc;
}

static int
write_elem(struct wctx *w, const struct dcm_dataset *ds, uint32_t idx)
{
	const struct dcm_elem *e = &ds->e[idx];
	uint32_t padded = e->length + (e->length & 1);
	enum dcm_vr vr = write_vr(w, e, padded);
	const struct dcm_vr_info *vi = dcm_vr_info((enum dcm_vr)e->vr);
	const int pixfix = e->tag == 0x7fe00010u && ds == &w->f->ds && w->f->pixfix.unit != 0 &&
	    !(e->flags & DCM_EF_ENCAPS) && e->seq == NULL;
	int rc;

	if (e->flags & DCM_EF_ENCAPS) {
		static const uint8_t zero = 0;
		if ((rc = put_header(w, e->tag, vr == DCM_VR_SQ ? DCM_VR_OB : vr, DCM_UNDEFINED_LENGTH, 0)) != 0)
			return rc;
		for (uint32_t i = 0; i < e->seq->nfrags && rc == 0; i++) {
			const struct dcm_frag *fr = &e->seq->frags[i];
			rc = put_header(w, DCM_TAG_ITEM, DCM_VR__, fr->length + (fr->length & 1), 1);
			if (rc == 0)
				rc = fr->ref ? put_ref(w, fr->v.off, fr->length, 0) :
				    sink_put(w->s, fr->v.bytes, fr->length);
			if (rc == 0 && (fr->length & 1))
				rc = sink_put(w->s, &zero, 1);
		}
		if (rc == 0)
			rc = put_header(w, DCM_TAG_SEQ_DELIM, DCM_VR__, 0, 1);
		return rc;
	}
	if (e->seq != NULL) {
		uint64_t len = DCM_UNDEFINED_LENGTH;
		int undef = seq_undefined(w, e);
		if (!undef) {
			len = elem_encoded_len(w, e) - header_len(w, DCM_VR_SQ);
			if (len >= DCM_UNDEFINED_LENGTH)
				return pv_diag_set(w->d, PV_ELIMIT, -1,
				    "(%04x,%04x) sequence too long for a defined length",
				    DCM_GROUP(e->tag), DCM_ELEM(e->tag));
		}
		if ((rc = put_header(w, e->tag, DCM_VR_SQ, (uint32_t)len, 0)) != 0)
			return rc;
		for (uint32_t i = 0; i < e->seq->nitems; i++) {
			const struct dcm_dataset *item = e->seq->items[i];
			uint64_t ilen = item->undef ? DCM_UNDEFINED_LENGTH : ds_encoded_len(w, item);
			if (ilen >= DCM_UNDEFINED_LENGTH && !item->undef)
				return pv_diag_set(w->d, PV_ELIMIT, -1, "item too long for a defined length");
			if ((rc = put_header(w, DCM_TAG_ITEM, DCM_VR__, (uint32_t)ilen, 1)) != 0)
				return rc;
			if ((rc = write_ds(w, item)) != 0)
				return rc;
			if (item->undef && (rc = put_header(w, DCM_TAG_ITEM_DELIM, DCM_VR__, 0, 1)) != 0)
				return rc;
		}
		if (undef)
			return put_header(w, DCM_TAG_SEQ_DELIM, DCM_VR__, 0, 1);
		return 0;
	}
	if (DCM_ELEM(e->tag) == 0 && DCM_GROUP(e->tag) != 0x0002 && e->length == 4) {
		/* Group length (retired, PS3.5 7.2): recomputed for the new encoding. */
		uint64_t glen = 0;
		uint8_t v[4];
		for (uint32_t k = idx + 1; k < ds->n && DCM_GROUP(ds->e[k].tag) == DCM_GROUP(e->tag); k++)
			glen += elem_encoded_len(w, &ds->e[k]);
		if (glen > UINT32_MAX)
			glen = UINT32_MAX;
		if ((rc = put_header(w, e->tag, DCM_VR_UL, 4, 0)) != 0)
			return rc;
		put32(w, v, (uint32_t)glen);
		return sink_put(w->s, v, 4);
	}
	if ((rc = put_header(w, e->tag, vr, padded, 0)) != 0)
		return rc;
	if ((e->length & 1) && w->big && vi->swap > 1 && !pixfix) {
		/* An odd length (a defect) with byte swapping: swap the padded value
		 * as whole units, so the pad byte lands where a reader expects it. */
		const uint8_t *v;
		uint8_t *tmp;
		if ((rc = dcm_file_value(w->f, (struct dcm_elem *)e, &v)) != 0)
			return rc;
		if ((tmp = malloc((size_t)padded)) == NULL)
			return PV_ENOMEM;
		memcpy(tmp, v, e->length);
		tmp[e->length] = (uint8_t)vi->pad;
		rc = put_swapped(w, tmp, padded, vi->swap);
		free(tmp);
		return rc;
	}
	if (pixfix)
		rc = put_pixfix(w, e, vi->swap);
	else {
		unsigned unit = vi->swap;
		int src_big = (e->flags & DCM_EF_REF) && e->swap > 1;
		unit = (w->big != src_big) ? unit : 0;
		if (e->flags & DCM_EF_REF)
			rc = put_ref(w, e->v.off, e->length, unit);
		else
			rc = put_swapped(w, e->v.bytes, e->length, unit);
	}
	if (rc == 0 && (e->length & 1)) {
		uint8_t pad = (uint8_t)vi->pad;
		rc = sink_put(w->s, &pad, 1);
	}
	return rc;
}

static int
write_ds(struct wctx *w, const struct dcm_dataset *ds)
{
	int rc;
	for (uint32_t i = 0; i < ds->n; i++)
		if ((rc = write_elem(w, ds, i)) != 0)
			return rc;
	return 0;
}

/* Builds the new File Meta Information (PS3.10 7.1) into meta. */
static int
build_meta(struct dcm_file *f, const struct dcm_ts *ts, struct dcm_dataset *meta)
{
	static const uint8_t version[2] = { 0x00, 0x01 };
	static const uint32_t keep[] = {
		0x00020016, 0x00020017, 0x00020018, 0x00020026, 0x00020027, 0x00020028,
		0x00020031, 0x00020032, 0x00020033, 0x00020035, 0x00020100, 0x00020102,
	};
	char uid[68];
	uint32_t zero = 0;
	int rc;

	memset(meta, 0, sizeof(*meta));
	if ((rc = dcm_ds_set(f, meta, DCM_TAG_META_GROUP_LENGTH, DCM_VR_UL, &zero, 4, NULL)) != 0)
		return rc;
	if ((rc = dcm_ds_set(f, meta, DCM_TAG_META_VERSION, DCM_VR_OB, version, 2, NULL)) != 0)
		return rc;
	if (dcm_ds_get_str(f, &f->meta, DCM_TAG_MEDIA_SOP_CLASS, uid, sizeof(uid)) != 0 || !uid[0])
		(void)dcm_ds_get_str(f, &f->ds, DCM_TAG_SOP_CLASS_UID, uid, sizeof(uid));
	/* Type 1 in PS3.10, but an empty value would be worse than none. */
	if (uid[0] != '\0' && (rc = dcm_ds_set_str(f, meta, DCM_TAG_MEDIA_SOP_CLASS, DCM_VR_UI, uid)) != 0)
		return rc;
	if (dcm_ds_get_str(f, &f->meta, DCM_TAG_MEDIA_SOP_INSTANCE, uid, sizeof(uid)) != 0 || !uid[0])
		(void)dcm_ds_get_str(f, &f->ds, DCM_TAG_SOP_INSTANCE_UID, uid, sizeof(uid));
	if (uid[0] != '\0' && (rc = dcm_ds_set_str(f, meta, DCM_TAG_MEDIA_SOP_INSTANCE, DCM_VR_UI, uid)) != 0)
		return rc;
	if ((rc = dcm_ds_set_str(f, meta, DCM_TAG_TRANSFER_SYNTAX, DCM_VR_UI, ts->uid)) != 0)
		return rc;
	if ((rc = dcm_ds_set_str(f, meta, DCM_TAG_IMPL_CLASS_UID, DCM_VR_UI, DCM_IMPL_CLASS_UID)) != 0)
		return rc;
	if ((rc = dcm_ds_set_str(f, meta, DCM_TAG_IMPL_VERSION_NAME, DCM_VR_SH, DCM_IMPL_VERSION_NAME)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		struct dcm_elem *e = dcm_ds_find(&f->meta, keep[i]), *n;
		const uint8_t *v;
		if (e == NULL || e->seq != NULL)
			continue;
		if ((rc = dcm_file_value(f, e, &v)) != 0)
			return rc;
		if ((rc = dcm_ds_set(f, meta, e->tag, (enum dcm_vr)e->vr, v, e->length, &n)) != 0)
			return rc;
	}
	return 0;
}

/* Does any pixel data (at any depth) need a codec to go from the file's syntax to ts? */
static int
check_pixels(const struct dcm_dataset *ds, const struct dcm_ts *ts, uint32_t *bad_tag)
{
	for (uint32_t i = 0; i < ds->n; i++) {
		const struct dcm_elem *e = &ds->e[i];
		if ((e->flags & DCM_EF_ENCAPS) && !ts->encapsulated) {
			*bad_tag = e->tag;
			return 1;
		}
		if (e->seq != NULL && !(e->flags & DCM_EF_ENCAPS))
			for (uint32_t k = 0; k < e->seq->nitems; k++)
				if (check_pixels(e->seq->items[k], ts, bad_tag))
					return 1;
	}
	return 0;
}

/*
 * Implicit VR cannot carry an element whose kind the dictionary contradicts:
 * a value where the dictionary says SQ, or a sequence where it says OB/OW
 * (both would be read back as something else). Finds the first such tag.
 */
static int
check_implicit(const struct dcm_dataset *ds, uint32_t *bad_tag)
{
	for (uint32_t i = 0; i < ds->n; i++) {
		const struct dcm_elem *e = &ds->e[i];
		enum dcm_vr dv = dcm_dict_vr(e->tag);
		int is_seq = e->seq != NULL && !(e->flags & DCM_EF_ENCAPS);
		if ((!is_seq && dv == DCM_VR_SQ && !(e->flags & DCM_EF_ENCAPS)) ||
		    (is_seq && (dv == DCM_VR_OB || dv == DCM_VR_OW || e->tag == DCM_TAG_PIXEL_DATA))) {
			*bad_tag = e->tag;
			return 1;
		}
		if (is_seq)
			for (uint32_t k = 0; k < e->seq->nitems; k++)
				if (check_implicit(e->seq->items[k], bad_tag))
					return 1;
	}
	return 0;
}

int
dcm_write_fd(struct dcm_file *f, const struct dcm_ts *ts, int fd, struct pv_diag *d)
{
	struct dcm_dataset meta;
	struct sink s = { fd, NULL, NULL, NULL, 0, 0 };
	z_stream zs;
	struct wctx w = { f, &s, 0, 0, d };
	uint8_t pre[132];
	uint32_t bad_tag = 0;
	int rc;

	if (ts == NULL)
		ts = f->ts;
	if (ts->encapsulated && ts != f->ts)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1,
		    "writing %s needs a codec; only the file's own encapsulated syntax can be kept", ts->name);
	if (!ts->known)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "cannot write an unknown transfer syntax");
	if (check_pixels(&f->ds, ts, &bad_tag))
		return pv_diag_set(d, PV_EUNSUPPORTED, -1,
		    "(%04x,%04x) is compressed; converting it to %s needs a codec",
		    DCM_GROUP(bad_tag), DCM_ELEM(bad_tag), ts->name);
	if (!ts->explicit_vr && check_implicit(&f->ds, &bad_tag))
		return pv_diag_set(d, PV_EUNSUPPORTED, -1,
		    "(%04x,%04x) is encoded against its dictionary VR; Implicit VR cannot carry it",
		    DCM_GROUP(bad_tag), DCM_ELEM(bad_tag));
	if ((rc = build_meta(f, ts, &meta)) != 0)
		return pv_diag_set(d, rc, -1, "cannot build the File Meta Information");
	s.buf = malloc(SINK_BUF);
	if (s.buf == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	/* Meta: Explicit VR Little Endian, group length first (PS3.10 7.1). */
	{
		uint64_t glen;
		uint8_t v[4];
		w.implicit = 0;
		w.big = 0;
		glen = ds_encoded_len(&w, &meta) - 12;
		put32(&w, v, (uint32_t)glen);
		memcpy(meta.e[0].v.bytes, v, 4);
		memset(pre, 0, 128);
		memcpy(pre + 128, "DICM", 4);
		rc = sink_put(&s, pre, sizeof(pre));
		if (rc == 0)
			rc = write_ds(&w, &meta);
		if (rc == 0 && ts->deflated)
			rc = sink_flush(&s);  /* the deflate stream starts after the meta */
	}
	if (rc == 0 && ts->deflated) {
		memset(&zs, 0, sizeof(zs));
		if (deflateInit2(&zs, DEFLATE_LEVEL, Z_DEFLATED, -15, 8, deflate_strategy(f)) != Z_OK)
			rc = PV_ENOMEM;
		else
			s.z = &zs;
	}
	if (rc == 0) {
		w.implicit = !ts->explicit_vr;
		w.big = ts->big_endian;
		/* Group 0002 belongs to the meta only (PS3.10 7.1); stray ones in
		 * the data set would be read back as meta. */
		for (uint32_t i = 0; i < f->ds.n && rc == 0; i++)
			if (DCM_GROUP(f->ds.e[i].tag) != 0x0002)
				rc = write_elem(&w, &f->ds, i);
		if (rc == 0)
			rc = sink_flush(&s);
	}
	if (s.z != NULL) {
		while (rc == 0) {
			uint8_t out[65536];
			int zr;
			zs.next_in = NULL;
			zs.avail_in = 0;
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			zr = deflate(&zs, Z_FINISH);
			rc = pv_write_all(fd, out, sizeof(out) - zs.avail_out);
			if (zr == Z_STREAM_END)
				break;
			if (zr != Z_OK && zr != Z_BUF_ERROR)
				rc = PV_EINTERNAL;
		}
		deflateEnd(&zs);
	}
	free(s.buf);
	if (rc != 0 && (d == NULL || d->code == 0))
		pv_diag_set(d, rc, -1, "write failed");
	return rc;
}

int
dcm_write_path(struct dcm_file *f, const struct dcm_ts *ts, const char *path, mode_t mode,
    unsigned flags, struct pv_diag *d)
{
	struct pv_atomic af;
	int rc;

	if ((rc = (flags & DCM_WRITE_NEW) ? pv_atomic_open_new(&af, path, mode, d) :
	    pv_atomic_open(&af, path, mode, d)) != 0)
		return rc;
	if ((rc = dcm_write_fd(f, ts, af.fd, d)) != 0) {
		pv_atomic_abort(&af);
		return rc;
	}
	return (flags & DCM_WRITE_DURABLE) ? pv_atomic_commit(&af, d) : pv_atomic_commit_nosync(&af, d);
}

int
dcm_encode_dataset(struct dcm_file *f, const struct dcm_dataset *ds, const struct dcm_ts *ts,
    struct pv_buf *out, struct pv_diag *d)
{
	struct sink s = { -1, out, NULL, NULL, 0, 0 };
	struct wctx w = { f, &s, !ts->explicit_vr, ts->big_endian, d };
	int rc;

	if (ts->deflated || ts->encapsulated)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "encode a data set in a native, undeflated syntax");
	if (!ts->explicit_vr && check_implicit(ds, &(uint32_t){ 0 }))
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "Implicit VR cannot carry this data set");
	s.buf = malloc(SINK_BUF);
	if (s.buf == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	rc = write_ds(&w, ds);
	if (rc == 0)
		rc = sink_flush(&s);
	free(s.buf);
	if (rc != 0 && (d == NULL || d->code == 0))
		pv_diag_set(d, rc, -1, "cannot encode the data set");
	return rc;
}
