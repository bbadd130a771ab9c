/* dcmbuild.c: synthetic DICOM byte streams for tests. */
#include "dcmbuild.h"
#include "pacsvault/dicom/vr.h"

#include <stdlib.h>
#include <string.h>

static void
put(struct tb *t, const void *p, size_t n)
{
	if (pv_buf_append(&t->b, p, n) != 0)
		abort();
}

static void
put16(struct tb *t, uint16_t v, int big)
{
	uint8_t b[2] = { (uint8_t)(big ? v >> 8 : v), (uint8_t)(big ? v : v >> 8) };
	put(t, b, 2);
}

static void
put32(struct tb *t, uint32_t v, int big)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
	put(t, b, 4);
}

void
tb_init(struct tb *t, int implicit, int big)
{
	memset(t, 0, sizeof(*t));
	pv_buf_init(&t->b, 1u << 30);
	t->implicit = implicit;
	t->big = big;
}

void
tb_free(struct tb *t)
{
	pv_buf_free(&t->b);
}

static void
header(struct tb *t, uint32_t tag, const char *vr, uint32_t len, int implicit, int big)
{
	put16(t, (uint16_t)(tag >> 16), big);
	put16(t, (uint16_t)tag, big);
	if (implicit || vr == NULL) {
		put32(t, len, big);
		return;
	}
	put(t, vr, 2);
	if (dcm_vr_info(dcm_vr_parse((unsigned char)vr[0], (unsigned char)vr[1]))->long_header) {
		put16(t, 0, big);
		put32(t, len, big);
	} else {
		put16(t, (uint16_t)len, big);
	}
}

void
tb_meta(struct tb *t, const char *ts_uid)
{
	struct tb m;
	size_t n = strlen(ts_uid);
	static const uint8_t ver[2] = { 0, 1 };
	static const uint8_t zero[128];

	tb_init(&m, 0, 0);
	header(&m, 0x00020001, "OB", 2, 0, 0);
	put(&m, ver, 2);
	header(&m, 0x00020010, "UI", (uint32_t)(n + (n & 1)), 0, 0);
	put(&m, ts_uid, n);
	if (n & 1)
		put(&m, "", 1);
	put(t, zero, 128);
	put(t, "DICM", 4);
	header(t, 0x00020000, "UL", 4, 0, 0);
	put32(t, (uint32_t)m.b.len, 0);
	put(t, m.b.data, m.b.len);
	tb_free(&m);
}

void
tb_elem(struct tb *t, uint32_t tag, const char *vr, const void *v, uint32_t len)
{
	header(t, tag, vr, len, t->implicit, t->big);
	if (len > 0)
		put(t, v, len);
}

void
tb_str(struct tb *t, uint32_t tag, const char *vr, const char *s)
{
	size_t n = strlen(s);
	char pad = vr[0] == 'U' && vr[1] == 'I' ? '\0' : ' ';
	header(t, tag, vr, (uint32_t)(n + (n & 1)), t->implicit, t->big);
	put(t, s, n);
	if (n & 1)
		put(t, &pad, 1);
}

void
tb_u16(struct tb *t, uint32_t tag, uint16_t v)
{
	header(t, tag, "US", 2, t->implicit, t->big);
	put16(t, v, t->big);
}

static void
open_container(struct tb *t, int undefined)
{
	t->undef[t->sp] = undefined;
	t->open[t->sp] = t->b.len - 4;
	t->sp++;
}

void
tb_seq(struct tb *t, uint32_t tag, int undefined)
{
	header(t, tag, "SQ", 0xffffffffu, t->implicit, t->big);
	open_container(t, undefined);
}

void
tb_item(struct tb *t, int undefined)
{
	header(t, 0xfffee000u, NULL, 0xffffffffu, 0, t->big);
	open_container(t, undefined);
	t->undef[t->sp - 1] |= 2; /* an item */
}

void
tb_end(struct tb *t)
{
	int item, undefined;
	size_t at;

	t->sp--;
	item = t->undef[t->sp] & 2;
	undefined = t->undef[t->sp] & 1;
	at = t->open[t->sp];
	if (undefined) {
		header(t, item ? 0xfffee00du : 0xfffee0ddu, NULL, 0, 0, t->big);
		return;
	}
	{
		uint32_t len = (uint32_t)(t->b.len - at - 4);
		uint8_t *p = (uint8_t *)t->b.data + at;
		for (int i = 0; i < 4; i++)
			p[t->big ? 3 - i : i] = (uint8_t)(len >> (8 * i));
	}
}
