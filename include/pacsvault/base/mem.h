/*
 * mem.h: checked allocation and arenas.
 *
 * pv_mallocarray() and friends return NULL on size overflow as well as on
 * exhaustion. An arena owns every allocation made from it; pv_arena_free()
 * releases them all at once, so a parser's error path cannot leak. Arena
 * memory is never freed one piece at a time.
 */
#ifndef PV_BASE_MEM_H
#define PV_BASE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* a * b, or SIZE_MAX when the product overflows. */
static inline size_t
pv_size_mul(size_t a, size_t b)
{
	size_t r;
	if (__builtin_mul_overflow(a, b, &r))
		return SIZE_MAX;
	return r;
}

/* a + b, or SIZE_MAX when the sum overflows. */
static inline size_t
pv_size_add(size_t a, size_t b)
{
	size_t r;
	if (__builtin_add_overflow(a, b, &r))
		return SIZE_MAX;
	return r;
}

/* malloc(n * size); NULL on overflow or exhaustion. Caller frees with free(). */
void *pv_mallocarray(size_t n, size_t size) __attribute__((warn_unused_result));
/* calloc with the same contract. */
void *pv_calloc(size_t n, size_t size) __attribute__((warn_unused_result));
/* realloc(p, n * size); on failure p is untouched and NULL is returned. */
void *pv_reallocarray(void *p, size_t n, size_t size) __attribute__((warn_unused_result));
/* strdup; NULL on exhaustion. */
char *pv_strdup(const char *s) __attribute__((warn_unused_result));

struct pv_arena_block;

struct pv_arena {
	struct pv_arena_block *head; /* current block */
	size_t used;                 /* bytes used in head */
	size_t total;                /* bytes handed out, for limits */
	size_t cap;                  /* maximum total, 0 = no cap */
};

/* Initialises a (no allocation yet). cap limits the total bytes (0 = none). */
void pv_arena_init(struct pv_arena *a, size_t cap);

/*
 * Returns n bytes aligned for any type, owned by a; NULL when n is over the
 * cap or memory is exhausted. n == 0 returns a valid unique pointer.
 */
void *pv_arena_alloc(struct pv_arena *a, size_t n) __attribute__((warn_unused_result));

/* pv_arena_alloc + zero fill. */
void *pv_arena_zalloc(struct pv_arena *a, size_t n) __attribute__((warn_unused_result));

/* Copies n bytes of p into the arena and NUL-terminates the copy. */
char *pv_arena_memdup(struct pv_arena *a, const void *p, size_t n)
	__attribute__((warn_unused_result));

/* Releases everything a owns; a may be reused after pv_arena_init(). NULL-safe. */
void pv_arena_free(struct pv_arena *a);

#endif
