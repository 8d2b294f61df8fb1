/*
 * What libc/malloc.c needs from its platform, and what it tells about the
 * heap. Kept apart from uk.h so the host unit test can compile the libc
 * with only these two hooks to provide.
 */
#ifndef UK_LIBC_HEAP_H
#define UK_LIBC_HEAP_H

#include <stdbool.h>
#include <stddef.h>

/* bytes (a multiple of 4096) of fresh memory for the heap, or NULL. */
void *uk_heap_morecore(size_t bytes);
_Noreturn void uk_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct uk_heap_stats {
    size_t arena;       /* bytes obtained from uk_heap_morecore */
    size_t in_use;      /* bytes in allocated blocks, headers included */
    size_t free_blocks; /* length of the free list */
};
void uk_heap_stats(struct uk_heap_stats *st);
/* Walks the free list: ascending, disjoint, coalesced, inside the arena's
 * accounting. false on any inconsistency. */
bool uk_heap_check(void);

#endif
