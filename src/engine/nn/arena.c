/* arena: 64-byte aligned bump allocation (see arena.h). */
#include "engine/nn/arena.h"

#include <stdlib.h>
#include <string.h>

static size_t round_up(size_t n) { return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

void *arena_take(arena_bump *b, size_t bytes)
{
    b->off = round_up(b->off);
    void *p = b->base ? b->base + b->off : NULL;
    b->off += bytes;
    return p;
}

void *arena_alloc(size_t *bytes, int zero)
{
    *bytes = round_up(*bytes);
    void *p = aligned_alloc(ARENA_ALIGN, *bytes);
    if (p && zero) memset(p, 0, *bytes);
    return p;
}
