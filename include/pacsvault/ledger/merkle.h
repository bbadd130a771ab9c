/*
 * merkle.h: the RFC 9162 (RFC 6962) Merkle tree of the audit log.
 *
 * Leaves are hashed SHA-256(0x00 || entry), interior nodes
 * SHA-256(0x01 || left || right); the tree of n leaves splits at the
 * largest power of two below n (RFC 9162 2.1.1). The tree is kept as
 * levels: level 0 holds the leaf hashes, level k the hashes of the
 * complete, aligned subtrees of 2^k leaves. Any subtree hash a proof needs
 * is then a lookup or a combination of O(log n) lookups, so a proof costs
 * O(log^2 n) reads and appending a leaf O(log n) hashes. Sizes are 64-bit.
 */
#ifndef PV_LEDGER_MERKLE_H
#define PV_LEDGER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define LG_HASH 32
#define LG_MAX_PROOF 64   /* hashes in a proof of a 64-bit tree */

struct pv_hasher;

struct lg_tree {
	/*
	 * level[k] holds hashes base[k] .. count[k] - 1 of level k in memory;
	 * those below base[k] are read through fetch (the log's level files),
	 * so opening a log of any size reads nothing and a proof reads
	 * O(log^2 n) hashes. A tree built in memory has base 0 everywhere.
	 */
	uint8_t *level[LG_MAX_PROOF];
	uint64_t base[LG_MAX_PROOF];
	uint64_t count[LG_MAX_PROOF];  /* how many at each level */
	uint64_t cap[LG_MAX_PROOF];    /* room in level[k] (from base[k]) */
	uint64_t size;                 /* leaves */
	struct pv_hasher *h;
	int (*fetch)(void *ctx, int k, uint64_t i, uint8_t out[LG_HASH]);
	void *fetch_ctx;
};

/* Hash i of level k (i < count[k]), from memory or through fetch. */
int lg_tree_node(struct lg_tree *t, int k, uint64_t i, uint8_t out[LG_HASH]) __attribute__((warn_unused_result));

/* Drops the in-memory hashes (after they were written): base[k] = count[k]. Needs fetch. */
void lg_tree_spill(struct lg_tree *t);

int lg_tree_init(struct lg_tree *t) __attribute__((warn_unused_result));
void lg_tree_free(struct lg_tree *t);

/* SHA-256(0x00 || data), SHA-256(0x01 || l || r). */
int lg_leaf_hash(struct pv_hasher *h, const void *data, size_t n, uint8_t out[LG_HASH])
	__attribute__((warn_unused_result));
int lg_node_hash(struct pv_hasher *h, const uint8_t l[LG_HASH], const uint8_t r[LG_HASH], uint8_t out[LG_HASH])
	__attribute__((warn_unused_result));

/* Appends a leaf (its hash) and completes the subtrees it closes. */
int lg_tree_append(struct lg_tree *t, const uint8_t leaf[LG_HASH]) __attribute__((warn_unused_result));

/* The root of the first size leaves (size <= t->size); size 0 gives SHA-256(""). */
int lg_tree_root(struct lg_tree *t, uint64_t size, uint8_t out[LG_HASH]) __attribute__((warn_unused_result));

/* The inclusion proof of leaf index in the tree of size leaves (RFC 9162 2.1.3.1). */
int lg_tree_inclusion(struct lg_tree *t, uint64_t index, uint64_t size, uint8_t proof[][LG_HASH], size_t *len)
	__attribute__((warn_unused_result));

/* The consistency proof between sizes m <= n (RFC 9162 2.1.4.1). */
int lg_tree_consistency(struct lg_tree *t, uint64_t m, uint64_t n, uint8_t proof[][LG_HASH], size_t *len)
	__attribute__((warn_unused_result));

/* RFC 9162 2.1.3.2: 0 when the proof shows leaf at index in the tree of size with root; else PV_EINTEGRITY. */
int lg_verify_inclusion(struct pv_hasher *h, uint64_t index, uint64_t size, const uint8_t leaf[LG_HASH],
    const uint8_t proof[][LG_HASH], size_t len, const uint8_t root[LG_HASH]);

/* RFC 9162 2.1.4.2: 0 when the proof shows the tree of size m (root1) is a prefix of size n (root2). */
int lg_verify_consistency(struct pv_hasher *h, uint64_t m, uint64_t n, const uint8_t root1[LG_HASH],
    const uint8_t root2[LG_HASH], const uint8_t proof[][LG_HASH], size_t len);

#endif
