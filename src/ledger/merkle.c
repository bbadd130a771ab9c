/* merkle.c: RFC 9162 Merkle tree hashing, proofs and their verification (see merkle.h). */
#include "pacsvault/ledger/merkle.h"
#include "pacsvault/base/err.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"

#include <stdlib.h>
#include <string.h>

int
lg_leaf_hash(struct pv_hasher *h, const void *data, size_t n, uint8_t out[LG_HASH])
{
	static const uint8_t zero = 0x00;
	return pv_hasher_sha256(h, &zero, 1, data, n, NULL, 0, out);
}

int
lg_node_hash(struct pv_hasher *h, const uint8_t l[LG_HASH], const uint8_t r[LG_HASH], uint8_t out[LG_HASH])
{
	static const uint8_t one = 0x01;
	uint8_t lr[2 * LG_HASH];
	memcpy(lr, l, LG_HASH);
	memcpy(lr + LG_HASH, r, LG_HASH);
	return pv_hasher_sha256(h, &one, 1, lr, sizeof(lr), NULL, 0, out);
}

int
lg_tree_init(struct lg_tree *t)
{
	memset(t, 0, sizeof(*t));
	return (t->h = pv_hasher_new()) != NULL ? 0 : PV_ENOMEM;
}

void
lg_tree_free(struct lg_tree *t)
{
	for (int k = 0; k < LG_MAX_PROOF; k++)
		free(t->level[k]);
	pv_hasher_free(t->h);
	memset(t, 0, sizeof(*t));
}

int
lg_tree_node(struct lg_tree *t, int k, uint64_t i, uint8_t out[LG_HASH])
{
	if (k < 0 || k >= LG_MAX_PROOF || i >= t->count[k])
		return PV_EINVAL;
	if (i >= t->base[k]) {
		memcpy(out, t->level[k] + (i - t->base[k]) * LG_HASH, LG_HASH);
		return 0;
	}
	if (t->fetch == NULL)
		return PV_EINTERNAL;
	return t->fetch(t->fetch_ctx, k, i, out);
}

void
lg_tree_spill(struct lg_tree *t)
{
	if (t->fetch == NULL)
		return;
	for (int k = 0; k < LG_MAX_PROOF; k++) {
		free(t->level[k]);
		t->level[k] = NULL;
		t->cap[k] = 0;
		t->base[k] = t->count[k];
	}
}

static int
level_push(struct lg_tree *t, int k, const uint8_t hsh[LG_HASH])
{
	uint64_t at = t->count[k] - t->base[k];

	if (at == t->cap[k]) {
		uint64_t nc = t->cap[k] ? t->cap[k] * 2 : 64;
		uint8_t *n = pv_reallocarray(t->level[k], (size_t)nc, LG_HASH);
		if (n == NULL)
			return PV_ENOMEM;
		t->level[k] = n;
		t->cap[k] = nc;
	}
	memcpy(t->level[k] + at * LG_HASH, hsh, LG_HASH);
	t->count[k]++;
	return 0;
}

int
lg_tree_append(struct lg_tree *t, const uint8_t leaf[LG_HASH])
{
	uint8_t cur[LG_HASH];
	int rc;

	if ((rc = level_push(t, 0, leaf)) != 0)
		return rc;
	t->size++;
	memcpy(cur, leaf, LG_HASH);
	/* each trailing one bit of the new size closes a subtree one level up */
	for (int k = 0; k + 1 < LG_MAX_PROOF && (t->count[k] & 1) == 0; k++) {
		uint8_t left[LG_HASH];

		if ((rc = lg_tree_node(t, k, t->count[k] - 2, left)) != 0 ||
		    (rc = lg_node_hash(t->h, left, cur, cur)) != 0 || (rc = level_push(t, k + 1, cur)) != 0)
			return rc;
	}
	return 0;
}

/* MTH(D[start : start + n]) for 0 < n, start + n <= size. */
static int
subtree(struct lg_tree *t, uint64_t start, uint64_t n, uint8_t out[LG_HASH])
{
	uint8_t l[LG_HASH], r[LG_HASH];
	uint64_t k = 1;
	int lvl = 0, rc;

	if ((n & (n - 1)) == 0) {
		while ((1ull << lvl) < n)
			lvl++;
		if (start % n == 0 && start / n < t->count[lvl])
			return lg_tree_node(t, lvl, start / n, out);
	}
	while (k << 1 < n)
		k <<= 1;  /* the largest power of two smaller than n */
	if ((rc = subtree(t, start, k, l)) != 0 || (rc = subtree(t, start + k, n - k, r)) != 0)
		return rc;
	return lg_node_hash(t->h, l, r, out);
}

int
lg_tree_root(struct lg_tree *t, uint64_t size, uint8_t out[LG_HASH])
{
	if (size > t->size)
		return PV_EINVAL;
	if (size == 0)
		return pv_hasher_sha256(t->h, NULL, 0, NULL, 0, NULL, 0, out);
	return subtree(t, 0, size, out);
}

/* PATH(m, D[start : start + n]) of RFC 9162 2.1.3.1, appended bottom-up. */
static int
path(struct lg_tree *t, uint64_t m, uint64_t start, uint64_t n, uint8_t proof[][LG_HASH], size_t *len)
{
	uint64_t k = 1;
	int rc;
	if (n <= 1)
		return 0;
	while (k << 1 < n)
		k <<= 1;
	if (m < k) {
		if ((rc = path(t, m, start, k, proof, len)) != 0)
			return rc;
		return subtree(t, start + k, n - k, proof[(*len)++]);
	}
	if ((rc = path(t, m - k, start + k, n - k, proof, len)) != 0)
		return rc;
	return subtree(t, start, k, proof[(*len)++]);
}

int
lg_tree_inclusion(struct lg_tree *t, uint64_t index, uint64_t size, uint8_t proof[][LG_HASH], size_t *len)
{
	*len = 0;
	if (size > t->size || index >= size)
		return PV_EINVAL;
	return path(t, index, 0, size, proof, len);
}

/* SUBPROOF(m, D[start : start + n], b) of RFC 9162 2.1.4.1. */
static int
subproof(struct lg_tree *t, uint64_t m, uint64_t start, uint64_t n, int b, uint8_t proof[][LG_HASH], size_t *len)
{
	uint64_t k = 1;
	int rc;
	if (m == n) {
		if (b)
			return 0;
		return subtree(t, start, n, proof[(*len)++]);
	}
	while (k << 1 < n)
		k <<= 1;
	if (m <= k) {
		if ((rc = subproof(t, m, start, k, b, proof, len)) != 0)
			return rc;
		return subtree(t, start + k, n - k, proof[(*len)++]);
	}
	if ((rc = subproof(t, m - k, start + k, n - k, 0, proof, len)) != 0)
		return rc;
	return subtree(t, start, k, proof[(*len)++]);
}

int
lg_tree_consistency(struct lg_tree *t, uint64_t m, uint64_t n, uint8_t proof[][LG_HASH], size_t *len)
{
	*len = 0;
	if (n > t->size || m > n)
		return PV_EINVAL;
	if (m == 0 || m == n)
		return 0;
	return subproof(t, m, 0, n, 1, proof, len);
}

int
lg_verify_inclusion(struct pv_hasher *h, uint64_t index, uint64_t size, const uint8_t leaf[LG_HASH],
    const uint8_t proof[][LG_HASH], size_t len, const uint8_t root[LG_HASH])
{
	uint64_t fn = index, sn = size - 1;
	uint8_t r[LG_HASH];

	if (index >= size)
		return PV_EINTEGRITY;
	memcpy(r, leaf, LG_HASH);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return PV_EINTEGRITY;
		if ((fn & 1) || fn == sn) {
			if (lg_node_hash(h, proof[i], r, r) != 0)
				return PV_EINTERNAL;
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			if (lg_node_hash(h, r, proof[i], r) != 0)
				return PV_EINTERNAL;
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, LG_HASH) == 0 ? 0 : PV_EINTEGRITY;
}

int
lg_verify_consistency(struct pv_hasher *h, uint64_t m, uint64_t n, const uint8_t root1[LG_HASH],
    const uint8_t root2[LG_HASH], const uint8_t proof[][LG_HASH], size_t len)
{
	uint8_t fr[LG_HASH], sr[LG_HASH];
	uint64_t fn, sn;
	size_t i = 0;

	/* A proof from the empty tree proves nothing (as transparency-dev/merkle rules). */
	if (m == 0 || m > n)
		return PV_EINTEGRITY;
	if (m == n)
		return len == 0 && memcmp(root1, root2, LG_HASH) == 0 ? 0 : PV_EINTEGRITY;
	if (len == 0)
		return PV_EINTEGRITY;
	/* If m is a power of two, the proof starts with root1 (RFC 9162 2.1.4.2 step 2). */
	const uint8_t *first;
	uint8_t first_buf[LG_HASH];
	size_t plen = len;
	if ((m & (m - 1)) == 0) {
		memcpy(first_buf, root1, LG_HASH);
		first = first_buf;
	} else {
		first = proof[0];
		i = 1;
	}
	(void)plen;
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, first, LG_HASH);
	memcpy(sr, first, LG_HASH);
	for (; i < len; i++) {
		if (sn == 0)
			return PV_EINTEGRITY;
		if ((fn & 1) || fn == sn) {
			if (lg_node_hash(h, proof[i], fr, fr) != 0 || lg_node_hash(h, proof[i], sr, sr) != 0)
				return PV_EINTERNAL;
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			if (lg_node_hash(h, sr, proof[i], sr) != 0)
				return PV_EINTERNAL;
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(fr, root1, LG_HASH) == 0 && memcmp(sr, root2, LG_HASH) == 0 ? 0 : PV_EINTEGRITY;
}
