/* arena: a bump allocator over one caller-owned block of memory. Pieces
 * are 64-byte aligned. With base NULL it only counts bytes, so a layout
 * function can run twice: once to size the arena, once to assign it. */
#ifndef AURL_ARENA_H
#define AURL_ARENA_H

#include <stddef.h>

#define ARENA_ALIGN 64

/* Cursor into an arena: base (NULL: count only) and bytes handed out so far. */
typedef struct {
    char *base;
    size_t off;
} arena_bump;

/* The next `bytes` of the arena, aligned to ARENA_ALIGN (NULL in count-only
 * mode); advances b->off past them. */
void *arena_take(arena_bump *b, size_t bytes);

/* A new ARENA_ALIGN-aligned block (release with free()) of *bytes rounded up
 * to a multiple of ARENA_ALIGN (*bytes is updated), zeroed when `zero`.
 * NULL when out of memory. */
void *arena_alloc(size_t *bytes, int zero);
#endif
