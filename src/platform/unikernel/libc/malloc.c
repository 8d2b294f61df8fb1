/*
 * The heap: first fit over one free list kept in address order, so a freed
 * block merges with free neighbours at once and the list never holds two
 * adjacent blocks. Every block starts with a 16-byte header (next, units),
 * sizes count 16-byte units including it, so every pointer we return is
 * 16-byte aligned (the x86-64 ABI's max_align_t). An allocated block's
 * next holds a non-canonical magic value: free() of anything else (a wild
 * pointer, a double free) panics instead of corrupting the list.
 *
 * The heap grows through uk_heap_morecore() in chunks of at least 64 KiB
 * and never gives memory back: the appliance's working set only grows to
 * its caches' fixed sizes. Exhaustion returns NULL.
 */
#include "libc.h"
#include "heap.h"

#define UNIT 16u
#define GROW_MIN (64u * 1024)
#define PAGE 4096u
#define ALLOCATED ((struct block *)(uintptr_t)0xa110c8ed0b10c000ull)

struct block {
    struct block *next; /* free: the next free block (higher address) */
    size_t units;       /* whole block, header included */
};

_Static_assert(sizeof(struct block) == UNIT, "header is one unit");

static struct block *free_list;
static size_t arena_bytes, used_units;

static uintptr_t addr(const struct block *b) { return (uintptr_t)b; }
static uintptr_t end_of(const struct block *b) { return addr(b) + b->units * UNIT; }

/* Puts b on the free list at its address, merging with neighbours. */
static void insert(struct block *b)
{
    struct block *prev = NULL, *next = free_list;

    while (next && addr(next) < addr(b))
        prev = next, next = next->next;
    if ((prev && end_of(prev) > addr(b)) || (next && end_of(b) > addr(next)))
        uk_panic("heap: block %p overlaps the free list", (void *)b);
    b->next = next;
    if (next && end_of(b) == addr(next)) {
        b->units += next->units;
        b->next = next->next;
    }
    if (!prev) {
        free_list = b;
    } else if (end_of(prev) == addr(b)) {
        prev->units += b->units;
        prev->next = b->next;
    } else {
        prev->next = b;
    }
}

static bool grow(size_t units)
{
    size_t bytes;
    struct block *b;

    if (units > (SIZE_MAX - PAGE) / UNIT)
        return false;
    bytes = units * UNIT < GROW_MIN ? GROW_MIN : units * UNIT;
    bytes = (bytes + PAGE - 1) / PAGE * PAGE;
    b = uk_heap_morecore(bytes);
    if (!b)
        return false;
    arena_bytes += bytes;
    b->units = bytes / UNIT;
    insert(b);
    return true;
}

/* First fit; a bigger block gives its tail so the list keeps its order. */
static struct block *take(size_t units)
{
    struct block **link = &free_list, *b;

    for (b = free_list; b; link = &b->next, b = b->next) {
        if (b->units < units)
            continue;
        if (b->units - units >= 2) { /* the rest can still hold a byte */
            b->units -= units;
            b = (struct block *)(end_of(b));
            b->units = units;
        } else {
            *link = b->next;
        }
        return b;
    }
    return NULL;
}

void *malloc(size_t n)
{
    size_t units;
    struct block *b;

    if (n > SIZE_MAX / 2)
        return NULL;
    if (!n) /* a unique pointer with a byte behind it */
        n = 1;
    units = (n + UNIT - 1) / UNIT + 1;
    b = take(units);
    if (!b && grow(units))
        b = take(units);
    if (!b)
        return NULL;
    b->next = ALLOCATED;
    used_units += b->units;
    return b + 1;
}

static struct block *block_of(void *p, const char *who)
{
    struct block *b = (struct block *)p - 1;

    if ((uintptr_t)p % UNIT || b->next != ALLOCATED)
        uk_panic("%s(%p): not an allocated block (double free?)", who, p);
    return b;
}

void free(void *p)
{
    struct block *b;

    if (!p)
        return;
    b = block_of(p, "free");
    used_units -= b->units;
    insert(b);
}

void *calloc(size_t nmemb, size_t n)
{
    void *p;

    if (n && nmemb > SIZE_MAX / n)
        return NULL;
    p = malloc(nmemb * n);
    return p ? memset(p, 0, nmemb * n) : NULL;
}

void *realloc(void *p, size_t n)
{
    struct block *b;
    size_t have;
    void *q;

    if (!p)
        return malloc(n);
    if (!n) {
        free(p);
        return NULL;
    }
    b = block_of(p, "realloc");
    have = (b->units - 1) * UNIT;
    if (n <= have)
        return p; /* shrinking keeps the block: simple, and rare here */
    q = malloc(n);
    if (q) {
        memcpy(q, p, have);
        free(p);
    }
    return q;
}

void uk_heap_stats(struct uk_heap_stats *st)
{
    st->arena = arena_bytes;
    st->in_use = used_units * UNIT;
    st->free_blocks = 0;
    for (struct block *b = free_list; b; b = b->next)
        st->free_blocks++;
}

bool uk_heap_check(void)
{
    size_t free_units = 0;

    for (struct block *b = free_list; b; b = b->next) {
        if (!b->units || addr(b) % UNIT ||
            (b->next && end_of(b) >= addr(b->next)))
            return false; /* empty, misaligned, overlapping or unmerged */
        free_units += b->units;
    }
    return (free_units + used_units) * UNIT == arena_bytes;
}
