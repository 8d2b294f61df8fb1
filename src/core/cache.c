/*
 * The two bounded caches: mapped frames (for drivers whose mappings cost a
 * hypercall) and virtual-to-physical translations. Both are direct-mapped
 * arrays: a lookup is one hash and one compare, an insert evicts whatever
 * sat in the slot, and a flush empties them so nothing stale is served.
 */
#include "private.h"

#define EMPTY (~(addr_t)0)

static size_t pcache_slot(addr_t gfn)
{
    return (size_t)((gfn ^ (gfn >> 11)) & (TVMI_PCACHE_SLOTS - 1));
}

static size_t v2p_slot(addr_t dtb, addr_t vpage)
{
    uint64_t h = (vpage >> TVMI_PAGE_SHIFT) ^ (dtb >> 5) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return (size_t)(h & (TVMI_V2P_SLOTS - 1));
}

/* The translation cache starts at generation 1, so its zeroed slots
 * (generation 0) are empty without a pass over them: calloc's fresh pages
 * are not even touched until used, which matters to short commands. */
status_t tvmi_caches_init(vmi_instance_t vmi)
{
    vmi->v2p = calloc(TVMI_V2P_SLOTS, sizeof(*vmi->v2p));
    vmi->v2p_gen = 1;
    if (!vmi->v2p)
        return tvmi_fail(vmi, "allocating the translation cache: out of memory");
    if (!(vmi->drv->flags & TVMI_DRV_STABLE_MAPS)) {
        vmi->pcache = malloc(sizeof(*vmi->pcache) * TVMI_PCACHE_SLOTS);
        if (!vmi->pcache)
            return tvmi_fail(vmi, "allocating the page cache: out of memory");
        for (size_t i = 0; i < TVMI_PCACHE_SLOTS; i++)
            vmi->pcache[i].gfn = EMPTY;
    }
    return VMI_SUCCESS;
}

void tvmi_caches_free(vmi_instance_t vmi)
{
    if (vmi->pcache)
        vmi_pagecache_flush(vmi);
    free(vmi->pcache);
    free(vmi->v2p);
    vmi->pcache = NULL;
    vmi->v2p = NULL;
}

static void pcache_evict(vmi_instance_t vmi, struct tvmi_pcache_entry *e)
{
    if (e->gfn == EMPTY)
        return;
    if (vmi->drv->unmap_frame)
        vmi->drv->unmap_frame(vmi, e->page);
    e->gfn = EMPTY;
    e->page = NULL;
}

void *tvmi_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    struct tvmi_pcache_entry *e;
    void *page;

    if (write && !vmi->writable) {
        tvmi_fail(vmi, "the target was opened read-only (snapshots need "
                       "TVMI_INIT_WRITE, or --write in the CLI)");
        return NULL;
    }
    if (!vmi->pcache)
        return vmi->drv->map_frame(vmi, gfn, write);

    e = &vmi->pcache[pcache_slot(gfn)];
    if (e->gfn == gfn && (e->writable || !write))
        return e->page;
    page = vmi->drv->map_frame(vmi, gfn, write);
    if (!page)
        return NULL;
    pcache_evict(vmi, e);
    e->gfn = gfn;
    e->page = page;
    e->writable = write;
    return page;
}

void vmi_pagecache_flush(vmi_instance_t vmi)
{
    if (!vmi || !vmi->pcache)
        return;
    for (size_t i = 0; i < TVMI_PCACHE_SLOTS; i++)
        pcache_evict(vmi, &vmi->pcache[i]);
}

bool tvmi_v2p_lookup(vmi_instance_t vmi, addr_t dtb, addr_t va, addr_t *pa)
{
    addr_t vpage = va & TVMI_PAGE_MASK;
    const struct tvmi_v2p_entry *e = &vmi->v2p[v2p_slot(dtb, vpage)];

    if (e->dtb != dtb || e->vpage != vpage || e->gen != vmi->v2p_gen)
        return false;
    *pa = e->ppage | (va & ~TVMI_PAGE_MASK);
    return true;
}

void vmi_v2pcache_add(vmi_instance_t vmi, addr_t va, addr_t dtb, addr_t pa)
{
    addr_t vpage = va & TVMI_PAGE_MASK;
    struct tvmi_v2p_entry *e;

    if (!vmi || !vmi->v2p || dtb == EMPTY)
        return;
    e = &vmi->v2p[v2p_slot(dtb, vpage)];
    e->dtb = dtb;
    e->vpage = vpage;
    e->ppage = pa & TVMI_PAGE_MASK;
    e->gen = vmi->v2p_gen;
}

/* A full flush is O(1): entries of older generations no longer match.
 * Only when the counter wraps are the slots really emptied (and the
 * generation moves past 0, which means "never filled"). */
void vmi_v2pcache_flush(vmi_instance_t vmi, addr_t dtb)
{
    if (!vmi || !vmi->v2p)
        return;
    if (dtb == EMPTY && ++vmi->v2p_gen > 1)
        return;
    if (dtb == EMPTY)
        vmi->v2p_gen = 1;
    for (size_t i = 0; i < TVMI_V2P_SLOTS; i++)
        if (dtb == EMPTY || vmi->v2p[i].dtb == dtb)
            vmi->v2p[i].dtb = EMPTY;
}
