/* note.c: C2SP signed notes and tlog-checkpoint bodies (see note.h). */
#include "pacsvault/ledger/note.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
lg_b64_decode(const char *s, size_t n, uint8_t *out, size_t max)
{
	size_t o = 0;
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			const char *p;
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || s[i + k] == '\0' || (p = strchr(b64chars, s[i + k])) == NULL)
				return -1;
			v[k] = (int)(p - b64chars);
		}
		if (pad == 1 && s[i + 2] == '=')
			return -1;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* canonical: the bits padding leaves unused are zero */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -1;
		for (int k = 0; k < 3 - pad; k++) {
			if (o == max)
				return -1;
			out[o++] = (uint8_t)(w >> (16 - 8 * k));
		}
	}
	return (int)o;
}

static int
b64_encode(const uint8_t *p, size_t n, struct pv_buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { b64chars[(v >> 18) & 63], b64chars[(v >> 12) & 63], i + 1 < n ? b64chars[(v >> 6) & 63] : '=',
			i + 2 < n ? b64chars[v & 63] : '=' };
		rc = pv_buf_append(out, q, 4);
	}
	return rc;
}

/* Decodes one UTF-8 character at s (n bytes left); its length, or 0 when invalid. */
static size_t
utf8_char(const uint8_t *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	uint32_t c = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int
is_space(uint32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

int
lg_name_valid(const char *name, size_t n)
{
	if (n == 0 || n >= LG_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t l = utf8_char((const uint8_t *)name + i, n - i, &c);
		if (l == 0 || c < 0x20 || c == 0x7f || c == '+' || is_space(c))
			return 0;
		i += l;
	}
	return 1;
}

int
lg_key_id(const char *name, const uint8_t pub[32], uint32_t *id)
{
	return lg_key_id_typed(name, LG_SIG_ED25519, pub, id);
}

int
lg_key_id_typed(const char *name, uint8_t type, const uint8_t pub[32], uint32_t *id)
{
	uint8_t pre[LG_NAME_MAX + 2 + 32], h[32];
	size_t n = strlen(name);
	int rc;
	if (n >= LG_NAME_MAX)
		return PV_EINVAL;
	memcpy(pre, name, n);
	pre[n] = '\n';
	pre[n + 1] = type;
	memcpy(pre + n + 2, pub, 32);
	if ((rc = pv_sha256(pre, n + 34, h)) != 0)
		return rc;
	*id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	return 0;
}

int
lg_vkey_parse(const char *vkey, struct lg_verifier *v)
{
	const char *p1 = strchr(vkey, '+'), *p2;
	uint8_t key[64];
	uint32_t id = 0, want;
	int kn;

	memset(v, 0, sizeof(*v));
	if (p1 == NULL || (p2 = strchr(p1 + 1, '+')) == NULL || p2 - p1 - 1 != 8 || !lg_name_valid(vkey, (size_t)(p1 - vkey)))
		return PV_EPARSE;
	for (const char *h = p1 + 1; h < p2; h++) {
		int d = *h >= '0' && *h <= '9' ? *h - '0' : *h >= 'a' && *h <= 'f' ? *h - 'a' + 10 : -1;
		if (d < 0)
			return PV_EPARSE;
		id = id << 4 | (uint32_t)d;
	}
	if ((kn = lg_b64_decode(p2 + 1, strlen(p2 + 1), key, sizeof(key))) != 33 ||
	    (key[0] != LG_SIG_ED25519 && key[0] != LG_SIG_COSIGNATURE))
		return PV_EPARSE;
	memcpy(v->name, vkey, (size_t)(p1 - vkey));
	memcpy(v->pub, key + 1, 32);
	if (lg_key_id_typed(v->name, key[0], v->pub, &want) != 0 || want != id)
		return PV_EPARSE;
	v->key_id = id;
	v->type = key[0];
	return 0;
}

int
lg_vkey_format(const char *name, const uint8_t pub[32], struct pv_buf *out)
{
	return lg_vkey_format_typed(name, LG_SIG_ED25519, pub, out);
}

int
lg_vkey_format_typed(const char *name, uint8_t type, const uint8_t pub[32], struct pv_buf *out)
{
	uint8_t key[33];
	uint32_t id;
	int rc;
	if (!lg_name_valid(name, strlen(name)))
		return PV_EINVAL;
	if ((rc = lg_key_id_typed(name, type, pub, &id)) != 0)
		return rc;
	key[0] = type;
	memcpy(key + 1, pub, 32);
	if ((rc = pv_buf_printf(out, "%s+%08x+", name, (unsigned)id)) != 0)
		return rc;
	return b64_encode(key, sizeof(key), out);
}

int
lg_note_sign(const char *text, size_t n, const char *name, const uint8_t seed[32], struct pv_buf *out)
{
	uint8_t pub[32], sig[68];
	uint32_t id;
	int rc;

	if (n == 0 || text[n - 1] != '\n' || !lg_name_valid(name, strlen(name)))
		return PV_EINVAL;
	if ((rc = pv_ed25519_public(seed, pub)) != 0 || (rc = lg_key_id(name, pub, &id)) != 0 ||
	    (rc = pv_ed25519_sign(seed, text, n, sig + 4)) != 0)
		return rc;
	sig[0] = (uint8_t)(id >> 24);
	sig[1] = (uint8_t)(id >> 16);
	sig[2] = (uint8_t)(id >> 8);
	sig[3] = (uint8_t)id;
	if ((rc = pv_buf_append(out, text, n)) != 0 || (rc = pv_buf_printf(out, "\n\xe2\x80\x94 %s ", name)) != 0 ||
	    (rc = b64_encode(sig, sizeof(sig), out)) != 0)
		return rc;
	return pv_buf_putc(out, '\n');
}

/* The message a cosignature/v1 signs: "cosignature/v1\ntime T\n" || text (C2SP tlog-cosignature). */
static int
cosig_message(const uint8_t *text, size_t n, uint64_t ts, struct pv_buf *out)
{
	int rc;

	if ((rc = pv_buf_printf(out, "cosignature/v1\ntime %llu\n", (unsigned long long)ts)) != 0)
		return rc;
	return pv_buf_append(out, text, n);
}

int
lg_cosign(const char *text, size_t n, const char *name, const uint8_t seed[32], uint64_t timestamp,
    struct pv_buf *out)
{
	struct pv_buf msg;
	uint8_t pub[32], blob[76];
	uint32_t id;
	int rc;

	if (n == 0 || text[n - 1] != '\n' || !lg_name_valid(name, strlen(name)))
		return PV_EINVAL;
	pv_buf_init(&msg, n + 64);
	if ((rc = pv_ed25519_public(seed, pub)) != 0 || (rc = lg_key_id_typed(name, LG_SIG_COSIGNATURE, pub, &id)) != 0 ||
	    (rc = cosig_message((const uint8_t *)text, n, timestamp, &msg)) != 0 ||
	    (rc = pv_ed25519_sign(seed, msg.data, msg.len, blob + 12)) != 0) {
		pv_buf_free(&msg);
		return rc;
	}
	pv_buf_free(&msg);
	for (int i = 0; i < 4; i++)
		blob[i] = (uint8_t)(id >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		blob[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
	if ((rc = pv_buf_printf(out, "\xe2\x80\x94 %s ", name)) != 0 || (rc = b64_encode(blob, sizeof(blob), out)) != 0)
		return rc;
	return pv_buf_putc(out, '\n');
}

int
lg_note_open(const uint8_t *note, size_t n, const struct lg_verifier *v, size_t nv, size_t *text_len, int *verified,
    struct pv_diag *d)
{
	return lg_note_open_ts(note, n, v, nv, text_len, verified, NULL, d);
}

int
lg_note_open_ts(const uint8_t *note, size_t n, const struct lg_verifier *v, size_t nv, size_t *text_len,
    int *verified, uint64_t *timestamps, struct pv_diag *d)
{
	size_t split = SIZE_MAX, pos, nsig = 0, good = 0;

	for (size_t i = 0; i < nv; i++)
		verified[i] = 0;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t l = utf8_char(note + i, n - i, &c);
		if (l == 0 || (c < 0x20 && c != '\n'))
			return pv_diag_set(d, PV_EPARSE, (int64_t)i, "the note is not UTF-8 text without control characters");
		i += l;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (note[i] == '\n' && note[i + 1] == '\n')
			split = i;  /* the last blank line */
	if (split == SIZE_MAX || split + 2 >= n || note[n - 1] != '\n')
		return pv_diag_set(d, PV_EPARSE, -1, "the note has no signature block");
	*text_len = split + 1;
	pos = split + 2;
	while (pos < n) {
		const uint8_t *line = note + pos, *eol = memchr(line, '\n', n - pos);
		size_t ll = (size_t)(eol - line);
		const uint8_t *sp;
		uint8_t sig[128];
		int sl;
		pos += ll + 1;
		if (ll < 4 || memcmp(line, "\xe2\x80\x94 ", 4) != 0)
			return pv_diag_set(d, PV_EPARSE, (int64_t)(line - note), "a signature line does not start with an em dash");
		line += 4;
		ll -= 4;
		if ((sp = memchr(line, ' ', ll)) == NULL || !lg_name_valid((const char *)line, (size_t)(sp - line)))
			return pv_diag_set(d, PV_EPARSE, (int64_t)(line - note), "a signature line has no valid key name");
		size_t nl = (size_t)(sp - line), bl = ll - nl - 1;
		if (bl == 0 || (sl = lg_b64_decode((const char *)sp + 1, bl, sig, sizeof(sig))) < 5)
			return pv_diag_set(d, PV_EPARSE, (int64_t)(sp + 1 - note), "a signature is not base64 of a key id and a signature");
		if (++nsig > 100)
			return pv_diag_set(d, PV_ELIMIT, -1, "more than 100 signatures");
		uint32_t id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 | sig[3];
		for (size_t k = 0; k < nv; k++) {
			if (v[k].key_id != id || strlen(v[k].name) != nl || memcmp(v[k].name, line, nl) != 0)
				continue;
			if (verified[k])
				break;  /* a repeated signature by one key counts once */
			if (v[k].type == LG_SIG_COSIGNATURE) {
				struct pv_buf msg;
				uint64_t ts = 0;
				int bad;

				if (sl != 76)
					return pv_diag_set(d, PV_EINTEGRITY, -1, "the cosignature of %.*s is not "
					    "cosignature/v1", (int)nl, line);
				for (int b = 0; b < 8; b++)
					ts = ts << 8 | sig[4 + b];
				pv_buf_init(&msg, *text_len + 64);
				bad = cosig_message(note, *text_len, ts, &msg) != 0 ||
				    pv_ed25519_verify(v[k].pub, msg.data, msg.len, sig + 12) != 0;
				pv_buf_free(&msg);
				if (bad)
					return pv_diag_set(d, PV_EINTEGRITY, -1, "the cosignature of %.*s does not verify",
					    (int)nl, line);
				if (timestamps != NULL)
					timestamps[k] = ts;
			} else if (sl != 68 || pv_ed25519_verify(v[k].pub, note, *text_len, sig + 4) != 0) {
				return pv_diag_set(d, PV_EINTEGRITY, -1, "the signature of %.*s does not verify", (int)nl, line);
			}
			verified[k] = 1;
			good++;
			break;
		}
	}
	if (good == 0)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "the note has no signature by a known key");
	return 0;
}

int
lg_checkpoint_parse(const char *text, size_t n, struct lg_checkpoint *c, struct pv_diag *d)
{
	const char *p = text, *end = text + n, *eol;
	size_t line = 0;
	static const uint8_t empty_root[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 };

	memset(c, 0, sizeof(*c));
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return pv_diag_set(d, PV_EPARSE, p - text, "checkpoint line %zu has no final newline", line + 1);
		size_t ll = (size_t)(eol - p);
		if (ll == 0)
			return pv_diag_set(d, PV_EPARSE, p - text, "checkpoint line %zu is empty", line + 1);
		if (line == 0) {
			if (ll >= sizeof(c->origin) || memchr(p, '\0', ll) != NULL)
				return pv_diag_set(d, PV_EPARSE, 0, "checkpoint origin is too long");
			memcpy(c->origin, p, ll);
		} else if (line == 1) {
			uint64_t v = 0;
			if (ll > 20 || (ll > 1 && p[0] == '0'))
				return pv_diag_set(d, PV_EPARSE, p - text, "checkpoint size is not a canonical decimal");
			for (size_t i = 0; i < ll; i++) {
				if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
					return pv_diag_set(d, PV_EPARSE, p - text, "checkpoint size is not a 64-bit decimal");
				v = v * 10 + (uint64_t)(p[i] - '0');
			}
			c->size = v;
		} else if (line == 2) {
			if (lg_b64_decode(p, ll, c->root, sizeof(c->root)) != 32)
				return pv_diag_set(d, PV_EPARSE, p - text, "checkpoint root is not the base64 of 32 bytes");
		}
		line++;
		p = eol + 1;
	}
	if (line < 3)
		return pv_diag_set(d, PV_EPARSE, -1, "a checkpoint has at least three lines");
	if (c->size == 0 && memcmp(c->root, empty_root, 32) != 0)
		return pv_diag_set(d, PV_EPARSE, -1, "an empty tree has the root SHA-256(\"\")");
	return 0;
}

int
lg_checkpoint_format(const struct lg_checkpoint *c, struct pv_buf *out)
{
	int rc;
	if ((rc = pv_buf_printf(out, "%s\n%llu\n", c->origin, (unsigned long long)c->size)) != 0 ||
	    (rc = b64_encode(c->root, 32, out)) != 0)
		return rc;
	return pv_buf_putc(out, '\n');
}

int
lg_proof_parse(const uint8_t *b, size_t n, uint64_t *index, uint8_t proof[][32], size_t *plen, size_t *note_off)
{
	const char *s = (const char *)b;
	size_t pos = 23;
	int have_index = 0, have_extra = 0;

	*plen = 0;
	*index = 0;
	if (n <= 23 || memcmp(s, "c2sp.org/tlog-proof@v1\n", 23) != 0)
		return PV_EPARSE;
	while (pos < n && s[pos] != '\n') {
		const char *eol = memchr(s + pos, '\n', n - pos);
		size_t ll;
		if (eol == NULL)
			return PV_EPARSE;
		ll = (size_t)(eol - (s + pos));
		if (!have_index && !have_extra && ll > 6 && memcmp(s + pos, "extra ", 6) == 0) {
			have_extra = 1;  /* opaque application data, not interpreted */
		} else if (!have_index && ll > 6 && memcmp(s + pos, "index ", 6) == 0) {
			uint64_t v = 0;
			if (ll - 6 > 20 || (ll - 6 > 1 && s[pos + 6] == '0'))
				return PV_EPARSE;
			for (size_t i = pos + 6; i < pos + ll; i++) {
				if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
					return PV_EPARSE;
				v = v * 10 + (uint64_t)(s[i] - '0');
			}
			*index = v;
			have_index = 1;
		} else if (have_index && *plen < 64 && lg_b64_decode(s + pos, ll, proof[*plen], 32) == 32) {
			(*plen)++;
		} else {
			return PV_EPARSE;
		}
		pos += ll + 1;
	}
	if (!have_index || pos + 1 >= n)
		return PV_EPARSE;
	*note_off = pos + 1;
	return 0;
}
