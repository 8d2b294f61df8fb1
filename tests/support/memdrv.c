/*
 * The synthetic guest (see memdrv.h). The table builders follow the Intel
 * SDM's formats directly and share nothing with src/arch/x86/paging.c:
 * they are what the walker is checked against.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memdrv.h"

#define FRAME 4096ull
#define PS (1ull << 7)
#define ADDR52 0x000ffffffffff000ull /* bits 51:12 */

static void die(const char *what, unsigned long long a)
{
    fprintf(stderr, "memguest: %s (0x%llx)\n", what, a);
    abort();
}

/* ---- the driver ------------------------------------------------------------ */

static status_t memdrv_open(vmi_instance_t vmi, const void *domain,
                            uint64_t flags, vmi_init_error_t *err)
{
    struct memguest *g = (struct memguest *)domain;

    vmi->drv_data = g;
    vmi->drv_name = "memguest";
    vmi->memsize = g->size;
    vmi->max_pa = g->size;
    vmi->num_vcpus = 1;
    return VMI_SUCCESS;
}

static void *memdrv_map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    struct memguest *g = vmi->drv_data;

    if (gfn >= g->size / FRAME) {
        tvmi_fail(vmi, "frame 0x%llx is past the end of memory (0x%zx bytes)",
                  (unsigned long long)gfn, g->size);
        return NULL;
    }
    if (g->hole[gfn]) {
        tvmi_fail(vmi, "frame 0x%llx is a hole", (unsigned long long)gfn);
        return NULL;
    }
    return g->mem + gfn * FRAME;
}

static size_t memdrv_get_ranges(vmi_instance_t vmi, struct tvmi_mem_range *out,
                                size_t max)
{
    struct memguest *g = vmi->drv_data;
    size_t frames = g->size / FRAME, n = 0, f = 0;

    while (f < frames) {
        size_t start;

        if (g->hole[f]) {
            f++;
            continue;
        }
        for (start = f; f < frames && !g->hole[f]; f++)
            ;
        if (n < max)
            out[n] = (struct tvmi_mem_range){ start * FRAME, f * FRAME };
        n++;
    }
    return n;
}

/* Control registers consistent with the mode memguest_open was given, so
 * the core's own paging detection finds the same thing. */
static status_t memdrv_get_vcpureg(vmi_instance_t vmi, uint64_t *value,
                                   reg_t reg, unsigned long vcpu)
{
    struct memguest *g = vmi->drv_data;
    bool paging = g->pm != VMI_PM_NONE;
    bool pae = g->pm == VMI_PM_PAE || g->pm == VMI_PM_IA32E || g->pm == VMI_PM_LA57;
    bool lm = g->pm == VMI_PM_IA32E || g->pm == VMI_PM_LA57;

    if (vcpu != 0 || g->pm == VMI_PM_UNKNOWN)
        return tvmi_fail(vmi, "memguest: no registers for vCPU %lu", vcpu);
    switch (reg) {
    case CR0:
        *value = 0x11 | (paging ? 1ull << 31 : 0);               /* PE|ET, PG */
        return VMI_SUCCESS;
    case CR3:
        *value = g->dtb;
        return VMI_SUCCESS;
    case CR4:
        *value = 1ull << 4 | (pae ? 1ull << 5 : 0) |               /* PSE, PAE */
                 (g->pm == VMI_PM_LA57 ? 1ull << 12 : 0);          /* LA57 */
        return VMI_SUCCESS;
    case MSR_EFER:
        *value = lm ? (1ull << 8 | 1ull << 10 | 1ull << 11) : 0; /* LME|LMA|NXE */
        return VMI_SUCCESS;
    default:
        return tvmi_fail(vmi, "memguest: register %d is not modelled", (int)reg);
    }
}

const struct tvmi_driver_ops memdrv_ops = {
    .name = "memguest",
    .mode = VMI_FILE,
    .flags = TVMI_DRV_STABLE_MAPS,
    .open = memdrv_open,
    .map_frame = memdrv_map_frame,
    .get_ranges = memdrv_get_ranges,
    .get_vcpureg = memdrv_get_vcpureg,
};

/* ---- memory ------------------------------------------------------------------ */

struct memguest *memguest_new(size_t bytes)
{
    struct memguest *g = calloc(1, sizeof(*g));

    bytes &= ~(size_t)(FRAME - 1);
    if (!g || !bytes || !(g->mem = calloc(1, bytes)) ||
        !(g->hole = calloc(1, bytes / FRAME)))
        die("out of memory for a guest of this size", bytes);
    g->size = bytes;
    g->next_frame = 1;
    return g;
}

void memguest_free(struct memguest *g)
{
    if (!g)
        return;
    free(g->mem);
    free(g->hole);
    free(g);
}

void memguest_hole(struct memguest *g, addr_t gfn)
{
    if (gfn >= g->size / FRAME)
        die("hole past the end of memory", gfn);
    g->hole[gfn] = 1;
}

addr_t memguest_alloc_page(struct memguest *g)
{
    while (g->next_frame < g->size / FRAME && g->hole[g->next_frame])
        g->next_frame++;
    if (g->next_frame >= g->size / FRAME)
        die("out of free frames", g->size);
    memset(g->mem + g->next_frame * FRAME, 0, FRAME);
    return g->next_frame++ * FRAME;
}

static uint8_t *at(const struct memguest *g, addr_t pa, size_t len)
{
    if (pa > g->size || g->size - pa < len)
        die("access past the end of memory", pa);
    return g->mem + pa;
}

void memguest_poke64(struct memguest *g, addr_t pa, uint64_t v) { memcpy(at(g, pa, 8), &v, 8); }
void memguest_poke32(struct memguest *g, addr_t pa, uint32_t v) { memcpy(at(g, pa, 4), &v, 4); }

uint64_t memguest_peek64(const struct memguest *g, addr_t pa)
{
    uint64_t v;

    memcpy(&v, at(g, pa, 8), 8);
    return v;
}

uint32_t memguest_peek32(const struct memguest *g, addr_t pa)
{
    uint32_t v;

    memcpy(&v, at(g, pa, 4), 4);
    return v;
}

/* ---- page tables ------------------------------------------------------------- */

static void note(struct memguest *g, int level, addr_t loc, uint64_t val)
{
    g->path[g->path_len++] = (tvmi_pt_entry_t){ level, loc, val };
}

/* The table an entry points to, creating it when the entry is not present. */
static addr_t table_below(struct memguest *g, int level, addr_t loc,
                          unsigned width, uint64_t flags)
{
    uint64_t e = width == 8 ? memguest_peek64(g, loc) : memguest_peek32(g, loc);

    if (!(e & 1)) {
        e = memguest_alloc_page(g) | flags;
        if (width == 8)
            memguest_poke64(g, loc, e);
        else
            memguest_poke32(g, loc, (uint32_t)e);
    } else if (e & PS) {
        die("mapping through a large page at entry", loc);
    }
    note(g, level, loc, e);
    return e & (width == 8 ? ADDR52 : 0xfffff000u);
}

/* 32-bit paging: PD index = VA 31:22, PT index = VA 21:12, 4-byte entries;
 * a 4 MiB PDE holds PA 31:22 in place and PA 39:32 in bits 20:13. */
static void map_legacy(struct memguest *g, addr_t dtb, addr_t va, addr_t pa,
                       page_size_t size, uint64_t extra)
{
    addr_t pde = (dtb & 0xfffff000u) + 4 * ((va >> 22) & 1023);
    addr_t pt, pte;
    uint64_t e;

    if (va >> 32 || (size == VMI_PS_4MB ? pa >> 40 : pa >> 32))
        die("address too wide for 32-bit paging", va);
    if (size == VMI_PS_4MB) {
        e = (pa & 0xffc00000u) | ((pa >> 32) & 0xff) << 13 | PS | MEMGUEST_TABLE_FLAGS | extra;
        memguest_poke32(g, pde, (uint32_t)e);
        note(g, 2, pde, (uint32_t)e);
        return;
    }
    if (size != VMI_PS_4KB)
        die("no such page size in 32-bit paging", size);
    pt = table_below(g, 2, pde, 4, MEMGUEST_TABLE_FLAGS);
    pte = pt + 4 * ((va >> 12) & 1023);
    e = pa | MEMGUEST_TABLE_FLAGS | extra;
    memguest_poke32(g, pte, (uint32_t)e);
    note(g, 1, pte, (uint32_t)e);
}

/* PAE and IA-32e: 8-byte entries, 9 VA bits per level starting at bit 12
 * (the PAE PDPT is indexed by VA 31:30 and sits at CR3 bits 31:5). */
static void map_long(struct memguest *g, page_mode_t pm, addr_t root, int top,
                     addr_t va, addr_t pa, page_size_t size, uint64_t extra)
{
    int leaf = size == VMI_PS_4KB ? 1 : size == VMI_PS_2MB ? 2 :
               size == VMI_PS_1GB ? 3 : 0;
    addr_t table = root, loc;
    uint64_t e;

    if (!leaf || (pm == VMI_PM_PAE && leaf == 3))
        die("no such page size in this mode", size);
    if (pm == VMI_PM_PAE && va >> 32)
        die("address too wide for PAE paging", va);
    for (int level = top; level > leaf; level--) {
        bool pdpte = pm == VMI_PM_PAE && level == 3;

        loc = table + 8 * ((va >> (12 + 9 * (level - 1))) & 511);
        table = table_below(g, level, loc, 8, pdpte ? 1 : MEMGUEST_TABLE_FLAGS);
    }
    loc = table + 8 * ((va >> (12 + 9 * (leaf - 1))) & 511);
    e = pa | MEMGUEST_TABLE_FLAGS | (leaf > 1 ? PS : 0) | extra;
    memguest_poke64(g, loc, e);
    note(g, leaf, loc, e);
}

void memguest_map(struct memguest *g, page_mode_t pm, addr_t dtb, addr_t va,
                  addr_t pa, page_size_t size, uint64_t extra_flags)
{
    if (!size || (pa | va) & ((addr_t)size - 1))
        die("unaligned mapping of VA", va);
    g->path_len = 0;
    switch (pm) {
    case VMI_PM_LEGACY:
        map_legacy(g, dtb, va, pa, size, extra_flags);
        break;
    case VMI_PM_PAE:
        map_long(g, pm, dtb & 0xffffffe0u, 3, va, pa, size, extra_flags);
        break;
    case VMI_PM_IA32E:
        map_long(g, pm, dtb & ADDR52, 4, va, pa, size, extra_flags);
        break;
    case VMI_PM_LA57:
        map_long(g, pm, dtb & ADDR52, 5, va, pa, size, extra_flags);
        break;
    default:
        die("cannot build tables for page mode", pm);
    }
}

vmi_instance_t memguest_open(struct memguest *g, page_mode_t pm, addr_t dtb)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;

    g->pm = pm;
    g->dtb = dtb;
    if (tvmi_init_with_driver(&vmi, &memdrv_ops, g, 0, &err) != VMI_SUCCESS) {
        fprintf(stderr, "memguest_open: %s\n", tvmi_init_error_message());
        return NULL;
    }
    if (tvmi_set_kernel_dtb(vmi, dtb, pm) != VMI_SUCCESS) {
        fprintf(stderr, "memguest_open: %s\n", tvmi_last_error(vmi));
        vmi_destroy(vmi);
        return NULL;
    }
    return vmi;
}
