/*
 * A synthetic guest for tests and fuzzing: "physical memory" is a calloc'd
 * buffer, served by a tinyvmi driver (memdrv_ops), with helpers that build
 * x86 page tables in it straight from the architecture's definition.
 *
 * Misuse (mapping over a large page, running out of frames, poking outside
 * memory) is a bug in the test: it aborts with a message.
 */
#ifndef TVMI_TEST_MEMDRV_H
#define TVMI_TEST_MEMDRV_H

#include "private.h"

struct memguest {
    uint8_t *mem;
    size_t size;           /* bytes, whole frames */
    uint8_t *hole;         /* per frame: 1 = map_frame refuses it */
    addr_t next_frame;     /* bump allocator */
    page_mode_t pm;        /* what get_vcpureg reports (set by memguest_open) */
    addr_t dtb;
    /* The entries the last memguest_map() went through, root first. */
    int path_len;
    tvmi_pt_entry_t path[TVMI_MAX_LEVELS];
};

/* Intermediate tables get P|RW|US (a PAE PDPTE only P: its RW/US bits are
 * reserved); leaves get P|RW|US, PS for large pages, and extra_flags. */
#define MEMGUEST_TABLE_FLAGS 0x7ull

extern const struct tvmi_driver_ops memdrv_ops;

struct memguest *memguest_new(size_t bytes);
void memguest_free(struct memguest *g);
void memguest_hole(struct memguest *g, addr_t gfn);
/* A zeroed frame's PA, skipping holes; frame 0 is never handed out, so no
 * table lands at PA 0 (a dtb of 0 means "unknown" to the core). */
addr_t memguest_alloc_page(struct memguest *g);
/* Maps va -> pa with a page of the given size in the tables rooted at dtb,
 * creating intermediate tables as needed. */
void memguest_map(struct memguest *g, page_mode_t pm, addr_t dtb, addr_t va,
                  addr_t pa, page_size_t size, uint64_t extra_flags);
void memguest_poke64(struct memguest *g, addr_t pa, uint64_t v);
void memguest_poke32(struct memguest *g, addr_t pa, uint32_t v);
uint64_t memguest_peek64(const struct memguest *g, addr_t pa);
uint32_t memguest_peek32(const struct memguest *g, addr_t pa);
/* An instance on g with kernel root dtb in mode pm; NULL (and a message on
 * stderr) on failure. Destroy it with vmi_destroy before memguest_free. */
vmi_instance_t memguest_open(struct memguest *g, page_mode_t pm, addr_t dtb);

#endif
