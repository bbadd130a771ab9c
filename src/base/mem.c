/* mem.c: checked allocation and arenas. */
#include "pacsvault/base/mem.h"

#include <stdlib.h>
#include <string.h>

void *
pv_mallocarray(size_t n, size_t size)
{
	size_t t = pv_size_mul(n, size);
	if (t == SIZE_MAX)
		return NULL;
	return malloc(t == 0 ? 1 : t);
}

void *
pv_calloc(size_t n, size_t size)
{
	if (pv_size_mul(n, size) == SIZE_MAX)
		return NULL;
	return calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
}

void *
pv_reallocarray(void *p, size_t n, size_t size)
{
	size_t t = pv_size_mul(n, size);
	if (t == SIZE_MAX)
		return NULL;
	return realloc(p, t == 0 ? 1 : t);
}

char *
pv_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* Blocks grow geometrically from 4 KiB; a large request gets its own block. */
#define ARENA_MIN_BLOCK 4096
#define ARENA_ALIGN 16

struct pv_arena_block {
	struct pv_arena_block *next;
	size_t size;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void
pv_arena_init(struct pv_arena *a, size_t cap)
{
	a->head = NULL;
	a->used = 0;
	a->total = 0;
	a->cap = cap;
}

void *
pv_arena_alloc(struct pv_arena *a, size_t n)
{
	size_t need = (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
	struct pv_arena_block *b;
	size_t bsize;

	if (need < n)
		return NULL;
	if (a->cap != 0 && (need > a->cap || a->total > a->cap - need))
		return NULL;
	if (a->head == NULL || a->head->size - a->used < need) {
		bsize = a->head != NULL ? a->head->size * 2 : ARENA_MIN_BLOCK;
		if (bsize > 1u << 20)
			bsize = 1u << 20;
		if (bsize < need)
			bsize = need;
		if (pv_size_add(bsize, sizeof(*b)) == SIZE_MAX)
			return NULL;
		b = malloc(sizeof(*b) + bsize);
		if (b == NULL)
			return NULL;
		b->size = bsize;
		/* A big private block goes behind the head so the head keeps its room. */
		if (a->head != NULL && need > a->head->size / 2 &&
		    a->head->size - a->used >= ARENA_ALIGN) {
			b->next = a->head->next;
			a->head->next = b;
			a->total += need;
			return b->data;
		}
		b->next = a->head;
		a->head = b;
		a->used = 0;
	}
	a->used += need;
	a->total += need;
	return a->head->data + a->used - need;
}

void *
pv_arena_zalloc(struct pv_arena *a, size_t n)
{
	void *p = pv_arena_alloc(a, n);
	if (p != NULL)
		memset(p, 0, n);
	return p;
}

char *
pv_arena_memdup(struct pv_arena *a, const void *p, size_t n)
{
	char *q;
	if (n == SIZE_MAX)
		return NULL;
	q = pv_arena_alloc(a, n + 1);
	if (q == NULL)
		return NULL;
	if (n > 0)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

void
pv_arena_free(struct pv_arena *a)
{
	struct pv_arena_block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used = 0;
	a->total = 0;
}
