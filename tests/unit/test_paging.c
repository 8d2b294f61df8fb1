/*
 * x86 page walks on a synthetic guest (tests/support/memdrv): every mode and
 * page size, hostile tables, the public translation API, and a property
 * test of random 4-level mappings. The expected entries come from the table
 * builder (memguest->path), never from the walker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memdrv.h"
#include "private.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PS (1ull << 7)

static uint64_t rng = 0x2545f4914f6cdd1dull;

/* xorshift64*: reproducible "random" numbers. */
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

struct env {
    struct memguest *g;
    vmi_instance_t vmi;
    page_mode_t pm;
    addr_t dtb;
};

static struct env env_new(page_mode_t pm, size_t bytes)
{
    struct env e = { memguest_new(bytes), NULL, pm, 0 };

    e.dtb = memguest_alloc_page(e.g);
    e.vmi = memguest_open(e.g, pm, e.dtb);
    assert_non_null(e.vmi);
    return e;
}

static void env_free(struct env *e)
{
    vmi_destroy(e->vmi);
    memguest_free(e->g);
}

static status_t walk(const struct env *e, addr_t va, page_info_t *info)
{
    return tvmi_x86_walk(e->vmi, e->pm, e->dtb, va, info);
}

static void expect_error(const struct env *e, const char *what)
{
    const char *msg = tvmi_last_error(e->vmi);

    if (!strstr(msg, what))
        fail_msg("error \"%s\" does not contain \"%s\"", msg, what);
}

/* Walks va, expecting failure with a message naming each of what[]. */
static void expect_walk_fails(const struct env *e, addr_t va, const char *what1,
                              const char *what2)
{
    page_info_t info;

    assert_int_equal(walk(e, va, &info), VMI_FAILURE);
    expect_error(e, what1);
    if (what2)
        expect_error(e, what2);
}

/* The mode-specific view of the entry at level, as LibVMI callers read it. */
static void view(const page_info_t *info, int level, addr_t *loc, addr_t *val)
{
    const addr_t *f = NULL;

    switch (info->pm) {
    case VMI_PM_LEGACY:
        f = level == 1 ? &info->x86_legacy.pte_location : &info->x86_legacy.pgd_location;
        break;
    case VMI_PM_PAE:
        f = level == 1 ? &info->x86_pae.pte_location :
            level == 2 ? &info->x86_pae.pgd_location : &info->x86_pae.pdpe_location;
        break;
    default:
        f = level == 1 ? &info->x86_ia32e.pte_location :
            level == 2 ? &info->x86_ia32e.pgd_location :
            level == 3 ? &info->x86_ia32e.pdpte_location :
            level == 4 ? &info->x86_ia32e.pml4e_location : &info->x86_ia32e.pml5e_location;
    }
    *loc = f[0];
    *val = f[1];
}

/* info lists exactly the entries the builder wrote for the last mapping. */
static void expect_path(const page_info_t *info, const struct memguest *g)
{
    assert_int_equal(info->nentries, g->path_len);
    for (int i = 0; i < g->path_len; i++) {
        addr_t loc, val;

        assert_int_equal(info->entries[i].level, g->path[i].level);
        assert_int_equal(info->entries[i].location, g->path[i].location);
        assert_int_equal(info->entries[i].value, g->path[i].value);
        view(info, g->path[i].level, &loc, &val);
        assert_int_equal(loc, g->path[i].location);
        assert_int_equal(val, g->path[i].value);
    }
}

/* va..va+size-1 translates to pa..pa+size-1: first and last byte, the
 * middle, and random offsets, through the walker and the public API. */
static void expect_page(const struct env *e, addr_t va, addr_t pa, page_size_t size)
{
    addr_t offs[8] = { 0, 1, size / 2, size - 1 };

    for (int i = 4; i < 8; i++)
        offs[i] = rnd() % size;
    for (int i = 0; i < 8; i++) {
        page_info_t info;
        addr_t got;

        if (walk(e, va + offs[i], &info) != VMI_SUCCESS)
            fail_msg("VA 0x%llx: %s", (unsigned long long)(va + offs[i]),
                     tvmi_last_error(e->vmi));
        assert_int_equal(info.paddr, pa + offs[i]);
        assert_int_equal(info.size, size);
        assert_int_equal(info.vaddr, va + offs[i]);
        assert_int_equal(info.dtb, e->dtb);
        assert_int_equal(info.pm, e->pm);
        expect_path(&info, e->g);
        assert_int_equal(vmi_pagetable_lookup(e->vmi, e->dtb, va + offs[i], &got), VMI_SUCCESS);
        assert_int_equal(got, pa + offs[i]);
    }
}

/* One mapping in a fresh guest: it translates, and its neighbour in the
 * same table does not. */
static void map_and_check(page_mode_t pm, addr_t va, addr_t pa, page_size_t size)
{
    struct env e = env_new(pm, 4 * MiB);

    memguest_map(e.g, pm, e.dtb, va, pa, size, 0);
    expect_page(&e, va, pa, size);
    expect_walk_fails(&e, va ^ size, "not present", NULL);
    env_free(&e);
}

/* ---- modes and page sizes ---------------------------------------------------- */

static void test_none(void **state)
{
    struct env e = env_new(VMI_PM_NONE, 1 * MiB);
    page_info_t info;

    assert_int_equal(walk(&e, 0x12345, &info), VMI_SUCCESS);
    assert_int_equal(info.paddr, 0x12345);
    assert_int_equal(info.size, VMI_PS_4KB);
    assert_int_equal(info.nentries, 0);
    env_free(&e);
}

static void test_legacy(void **state)
{
    map_and_check(VMI_PM_LEGACY, 0xc0001000, 0x00123000, VMI_PS_4KB);
    map_and_check(VMI_PM_LEGACY, 0xfffff000, 0xfffff000, VMI_PS_4KB);
    map_and_check(VMI_PM_LEGACY, 0xc0400000, 0x00800000, VMI_PS_4MB);
    map_and_check(VMI_PM_LEGACY, 0x00000000, 0xffc00000, VMI_PS_4MB);
}

/* PSE-36: PDE bits 20:13 give PA bits 39:32. */
static void test_legacy_pse36(void **state)
{
    map_and_check(VMI_PM_LEGACY, 0x80c00000, 0x1234400000ull, VMI_PS_4MB);
    map_and_check(VMI_PM_LEGACY, 0xffc00000, 0xffffc00000ull, VMI_PS_4MB);
}

static void test_pae(void **state)
{
    map_and_check(VMI_PM_PAE, 0xc0123000, 0x00345000, VMI_PS_4KB);
    map_and_check(VMI_PM_PAE, 0x00001000, 0x123456000ull, VMI_PS_4KB);
    map_and_check(VMI_PM_PAE, 0xbfe00000, 0x400200000ull, VMI_PS_2MB);
    map_and_check(VMI_PM_PAE, 0xffe00000, 0x000fffffffe00000ull, VMI_PS_2MB);
}

static void test_ia32e(void **state)
{
    map_and_check(VMI_PM_IA32E, 0xffffffff81234000ull, 0x1234000, VMI_PS_4KB);
    map_and_check(VMI_PM_IA32E, 0x00007ffffffff000ull, 0x000ffffffffff000ull, VMI_PS_4KB);
    map_and_check(VMI_PM_IA32E, 0xffff888000200000ull, 0x40200000, VMI_PS_2MB);
    map_and_check(VMI_PM_IA32E, 0xffff888040000000ull, 0x000fffffc0000000ull, VMI_PS_1GB);
    map_and_check(VMI_PM_IA32E, 0, 0, VMI_PS_1GB);
}

static void test_la57(void **state)
{
    map_and_check(VMI_PM_LA57, 0xff11000000001000ull, 0x5000, VMI_PS_4KB);
    map_and_check(VMI_PM_LA57, 0x00fffffffffff000ull, 0x000ffffffffff000ull, VMI_PS_4KB);
    map_and_check(VMI_PM_LA57, 0xff11000000200000ull, 0x7fe00000, VMI_PS_2MB);
    map_and_check(VMI_PM_LA57, 0xffa0000040000000ull, 0x0008000040000000ull, VMI_PS_1GB);
}

/* CR3 carries more than the root: PWT/PCD, a PCID, LAM and no-flush bits.
 * The PAE PDPT is only 32-byte aligned. */
static void test_dtb_flag_bits(void **state)
{
    static const struct { page_mode_t pm; addr_t va; uint64_t flags; } c[] = {
        { VMI_PM_LEGACY, 0xc0001000, 0x18 },
        { VMI_PM_PAE, 0xc0001000, 0x60 | 0x18 },
        { VMI_PM_IA32E, 0xffffffff81000000ull, 0xe000000000000fffull },
        { VMI_PM_LA57, 0xff11000000001000ull, 0xe000000000000fffull },
    };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct memguest *g = memguest_new(1 * MiB);
        addr_t dtb = memguest_alloc_page(g) | c[i].flags;
        vmi_instance_t vmi = memguest_open(g, c[i].pm, dtb);
        struct env e = { g, vmi, c[i].pm, dtb };

        memguest_map(g, c[i].pm, dtb, c[i].va, 0x42000, VMI_PS_4KB, 0);
        expect_page(&e, c[i].va, 0x42000, VMI_PS_4KB);
        env_free(&e);
    }
}

/* Ignored and non-address bits never leak into the address: XD, bits 62:52
 * (ignored / protection key in IA-32e), A, D, G, PAT. */
static void test_ignored_bits(void **state)
{
    static const page_size_t sizes[] = { VMI_PS_4KB, VMI_PS_2MB, VMI_PS_1GB };

    for (size_t i = 0; i < 3; i++) {
        struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
        addr_t va = 0xffff800000000000ull, pa = 0x000f000000000000ull;
        uint64_t leaf = 0xfff0000000000160ull | (sizes[i] > VMI_PS_4KB ? 0x1000 : 0x80);

        memguest_map(e.g, e.pm, e.dtb, va, pa, sizes[i], leaf);
        for (int j = 0; j < e.g->path_len - 1; j++) {
            e.g->path[j].value |= 0xfff0000000000160ull;
            memguest_poke64(e.g, e.g->path[j].location, e.g->path[j].value);
        }
        expect_page(&e, va, pa, sizes[i]);
        env_free(&e);
    }
}

/* ---- hostile tables ------------------------------------------------------------ */

static const char *level_entry(int level)
{
    static const char *const names[] = { "", ": PT entry", ": PD entry",
                                         ": PDPT entry", ": PML4 entry", ": PML5 entry" };
    return names[level];
}

static void poke_entry(struct env *e, addr_t loc, uint64_t v)
{
    if (e->pm == VMI_PM_LEGACY)
        memguest_poke32(e->g, loc, (uint32_t)v);
    else
        memguest_poke64(e->g, loc, v);
}

/* Clearing P at any level stops the walk there, whatever the other bits say. */
static void test_not_present_each_level(void **state)
{
    static const struct { page_mode_t pm; addr_t va; } c[] = {
        { VMI_PM_LEGACY, 0xc0001000 },
        { VMI_PM_PAE, 0xc0001000 },
        { VMI_PM_IA32E, 0xffffffff81000000ull },
        { VMI_PM_LA57, 0xff11000000001000ull },
    };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct env e = env_new(c[i].pm, 1 * MiB);
        tvmi_pt_entry_t path[TVMI_MAX_LEVELS];
        int n;

        memguest_map(e.g, e.pm, e.dtb, c[i].va, 0x42000, VMI_PS_4KB, 0);
        n = e.g->path_len;
        memcpy(path, e.g->path, sizeof(path));
        for (int j = 0; j < n; j++) {
            page_info_t info;
            uint64_t bad = ~1ull & (e.pm == VMI_PM_LEGACY ? 0xffffffffu : ~0ull);

            poke_entry(&e, path[j].location, bad);
            assert_int_equal(walk(&e, c[i].va, &info), VMI_FAILURE);
            expect_error(&e, "not present");
            expect_error(&e, level_entry(path[j].level));
            assert_int_equal(info.nentries, j + 1);
            assert_int_equal(info.entries[j].value, bad);
            poke_entry(&e, path[j].location, path[j].value);
        }
        expect_page(&e, c[i].va, 0x42000, VMI_PS_4KB);
        env_free(&e);
    }
}

/* Sets bits in entry idx of the last mapping's path and expects a
 * reserved-bit failure at that level (or success when reserved is false). */
static void poke_and_expect(struct env *e, addr_t va, int idx, uint64_t bits,
                            bool reserved)
{
    tvmi_pt_entry_t ent = e->g->path[idx];
    page_info_t info;
    char why[64];

    poke_entry(e, ent.location, ent.value | bits);
    if (reserved) {
        snprintf(why, sizeof(why), "reserved bits 0x%llx", (unsigned long long)bits);
        expect_walk_fails(e, va, why, level_entry(ent.level));
    } else {
        if (walk(e, va, &info) != VMI_SUCCESS)
            fail_msg("bits 0x%llx: %s", (unsigned long long)bits,
                     tvmi_last_error(e->vmi));
    }
    poke_entry(e, ent.location, ent.value);
}

static void test_reserved_bits(void **state)
{
    struct env e;
    addr_t va = 0xffffffff81000000ull, va32 = 0xc0000000;

    /* PS in a PML4 / PML5 entry. */
    e = env_new(VMI_PM_IA32E, 1 * MiB);
    memguest_map(e.g, e.pm, e.dtb, va, 0x42000, VMI_PS_4KB, 0);
    poke_and_expect(&e, va, 0, PS, true);
    env_free(&e);
    e = env_new(VMI_PM_LA57, 1 * MiB);
    memguest_map(e.g, e.pm, e.dtb, va, 0x42000, VMI_PS_4KB, 0);
    poke_and_expect(&e, va, 0, PS, true);
    poke_and_expect(&e, va, 1, PS, true);
    env_free(&e);

    /* PAE: PDPTE bits 1, 2, 5..8 and 63:52; PDE/PTE bits 62:52, not XD. */
    e = env_new(VMI_PM_PAE, 1 * MiB);
    memguest_map(e.g, e.pm, e.dtb, va32, 0x42000, VMI_PS_4KB, 0);
    for (int b = 0; b < 64; b++) {
        bool rsvd = b == 1 || b == 2 || (b >= 5 && b <= 8) || b >= 52;
        if (b >= 12 && b < 52)
            continue; /* address bits */
        poke_and_expect(&e, va32, 0, 1ull << b, rsvd);
    }
    poke_and_expect(&e, va32, 1, 1ull << 52, true);
    poke_and_expect(&e, va32, 2, 1ull << 62, true);
    poke_and_expect(&e, va32, 2, 1ull << 63, false);
    poke_and_expect(&e, va32, 2, 0x1e6, false); /* RW US A D PAT G in a PTE */
    env_free(&e);

    /* Bits between PAT (12) and the large page's alignment. */
    e = env_new(VMI_PM_IA32E, 1 * MiB);
    memguest_map(e.g, e.pm, e.dtb, va, 0x40000000, VMI_PS_2MB, 0);
    poke_and_expect(&e, va, 2, 1ull << 13, true);
    poke_and_expect(&e, va, 2, 1ull << 20, true);
    poke_and_expect(&e, va, 2, 1ull << 12, false);
    memguest_map(e.g, e.pm, e.dtb, 0x40000000, 0x40000000, VMI_PS_1GB, 0);
    poke_and_expect(&e, 0x40000000, 1, 1ull << 29, true);
    poke_and_expect(&e, 0x40000000, 1, 1ull << 12, false);
    env_free(&e);

    /* 32-bit 4 MiB page: bit 21 is reserved. */
    e = env_new(VMI_PM_LEGACY, 1 * MiB);
    memguest_map(e.g, e.pm, e.dtb, va32, 0x400000, VMI_PS_4MB, 0);
    poke_and_expect(&e, va32, 0, 1u << 21, true);
    poke_and_expect(&e, va32, 0, 1u << 12, false);
    env_free(&e);
}

/* A table pointer past the end of memory fails the read, with the
 * driver's reason and the entry that was being read. */
static void test_table_past_end_of_memory(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    addr_t va = 0xffffffff81000000ull;

    memguest_map(e.g, e.pm, e.dtb, va, 0x42000, VMI_PS_4KB, 0);
    memguest_poke64(e.g, e.g->path[1].location, 0x80000000 | 7);
    expect_walk_fails(&e, va, "reading PD entry", "past the end of memory");
    memguest_poke64(e.g, e.g->path[1].location, 0x000ffffffffff000ull | 7);
    expect_walk_fails(&e, va, "reading PD entry", "past the end of memory");
    env_free(&e);

    e = env_new(VMI_PM_LEGACY, 1 * MiB);
    memguest_map(e.g, e.pm, e.dtb, 0xc0001000, 0x42000, VMI_PS_4KB, 0);
    memguest_poke32(e.g, e.g->path[0].location, 0xfffff000u | 7);
    expect_walk_fails(&e, 0xc0001000, "reading PT entry", "past the end of memory");
    env_free(&e);
}

/* A leaf past the end of memory is a valid translation (it may be MMIO);
 * reading through it is what fails. */
static void test_leaf_past_end_of_memory(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    addr_t va = 0xffffffff81000000ull, pa;
    uint64_t v;

    memguest_map(e.g, e.pm, e.dtb, va, 0x100000000ull, VMI_PS_4KB, 0);
    assert_int_equal(vmi_translate_kv2p(e.vmi, va + 8, &pa), VMI_SUCCESS);
    assert_int_equal(pa, 0x100000008ull);
    assert_int_equal(vmi_read_64_va(e.vmi, va + 8, 0, &v), VMI_FAILURE);
    expect_error(&e, "past the end of memory");
    env_free(&e);
}

static void test_dtb_outside_memory(void **state)
{
    static const page_mode_t modes[] = { VMI_PM_LEGACY, VMI_PM_PAE, VMI_PM_IA32E, VMI_PM_LA57 };
    static const char *const root[] = { "reading PD entry", "reading PDPT entry",
                                        "reading PML4 entry", "reading PML5 entry" };

    for (size_t i = 0; i < 4; i++) {
        struct memguest *g = memguest_new(1 * MiB);
        struct env e = { g, memguest_open(g, modes[i], 0x800000), modes[i], 0x800000 };

        assert_non_null(e.vmi);
        expect_walk_fails(&e, 0x1000, root[i], "past the end of memory");
        env_free(&e);
    }
}

static void test_hole_mid_walk(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    addr_t va = 0xffffffff81000000ull;

    memguest_map(e.g, e.pm, e.dtb, va, 0x42000, VMI_PS_4KB, 0);
    memguest_hole(e.g, e.g->path[2].location >> 12); /* the PD */
    expect_walk_fails(&e, va, "reading PD entry", "is a hole");
    expect_error(&e, "VA 0xffffffff81000000");
    env_free(&e);
}

/* A recursive slot (PML4[511] -> PML4) walks like on the CPU: the PML4
 * serves as every lower level, and the walk ends after four reads. */
static void test_self_reference(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    addr_t pdpt = memguest_alloc_page(e.g);
    page_info_t info;

    memguest_poke64(e.g, e.dtb + 511 * 8, e.dtb | 7);
    memguest_poke64(e.g, e.dtb, pdpt | 7);
    assert_int_equal(walk(&e, 0xfffffffffffff000ull, &info), VMI_SUCCESS);
    assert_int_equal(info.paddr, e.dtb);
    assert_int_equal(info.nentries, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(info.entries[i].location, e.dtb + 511 * 8);
    assert_int_equal(walk(&e, 0xffffffffffe00000ull, &info), VMI_SUCCESS); /* 511,511,511,0 */
    assert_int_equal(info.paddr, pdpt);

    /* Two tables pointing at each other: bounded too. */
    memguest_poke64(e.g, pdpt, e.dtb | 7);
    assert_int_equal(walk(&e, 0, &info), VMI_SUCCESS); /* 0 -> pdpt -> pml4 -> pdpt -> pml4 */
    assert_int_equal(info.paddr, e.dtb);
    assert_int_equal(info.nentries, 4);

    /* A self-reference with PS is a reserved bit, not a loop. */
    memguest_poke64(e.g, e.dtb + 511 * 8, e.dtb | 7 | PS);
    expect_walk_fails(&e, 0xfffffffffffff000ull, "reserved", ": PML4 entry 511");
    env_free(&e);
}

static void test_non_canonical(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    page_info_t info;

    expect_walk_fails(&e, 0x0000800000000000ull, "canonical", NULL);
    expect_walk_fails(&e, 0xffff7fffffffffffull, "canonical", NULL);
    expect_walk_fails(&e, 0x8000000000000000ull, "canonical", NULL);
    assert_int_equal(walk(&e, 0x0000800000000000ull, &info), VMI_FAILURE);
    assert_int_equal(info.nentries, 0);
    env_free(&e);

    e = env_new(VMI_PM_LA57, 1 * MiB);
    expect_walk_fails(&e, 0x0100000000000000ull, "canonical", NULL);
    expect_walk_fails(&e, 0xfeffffffffffffffull, "canonical", NULL);
    expect_walk_fails(&e, 0x0000800000000000ull, "not present", ": PML5 entry 0");
    env_free(&e);

    e = env_new(VMI_PM_LEGACY, 1 * MiB);
    expect_walk_fails(&e, 0x100000000ull, "32-bit", NULL);
    env_free(&e);
    e = env_new(VMI_PM_PAE, 1 * MiB);
    expect_walk_fails(&e, 0xffffffff80000000ull, "32-bit", NULL);
    env_free(&e);
}

static void test_unknown_mode(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    page_info_t info;

    assert_int_equal(tvmi_x86_walk(e.vmi, VMI_PM_UNKNOWN, e.dtb, 0x1000, &info), VMI_FAILURE);
    expect_error(&e, "paging mode");
    assert_int_equal(tvmi_x86_walk(e.vmi, VMI_PM_AARCH64, e.dtb, 0x1000, &info), VMI_FAILURE);
    expect_error(&e, "aarch64");
    assert_int_equal(tvmi_x86_walk(e.vmi, (page_mode_t)1234, e.dtb, 0x1000, &info), VMI_FAILURE);
    env_free(&e);
}

/* The message format promised to users. */
static void test_message_format(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    char want[200];

    snprintf(want, sizeof(want), "VA 0xffffffff81000000 (dtb 0x%llx, 4-level): "
             "PML4 entry 511 at PA 0x%llx = 0x0 is not present",
             (unsigned long long)e.dtb, (unsigned long long)(e.dtb + 511 * 8));
    expect_walk_fails(&e, 0xffffffff81000000ull, "not present", NULL);
    assert_string_equal(tvmi_last_error(e.vmi), want);
    env_free(&e);
}

/* ---- mode helpers ---------------------------------------------------------------- */

static void test_mode_from_regs(void **state)
{
    const uint64_t pg = 1ull << 31, pae = 1 << 5, la57 = 1 << 12, lma = 1 << 10;

    assert_int_equal(tvmi_page_mode_from_regs(0x11, pae, lma), VMI_PM_NONE);
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, 0x10, 0), VMI_PM_LEGACY);
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, 0x10, ~0ull), VMI_PM_LEGACY);
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, pae, 0), VMI_PM_PAE);
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, pae, 1 << 8), VMI_PM_PAE); /* LME, not yet LMA */
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, pae, lma | 0xd00), VMI_PM_IA32E);
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, pae, ~0ull), VMI_PM_IA32E);
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, pae | la57, lma), VMI_PM_LA57);
    assert_int_equal(tvmi_page_mode_from_regs(pg | 1, pae | la57, ~0ull), VMI_PM_LA57);
}

static void test_mode_names(void **state)
{
    static const page_mode_t modes[] = { VMI_PM_UNKNOWN, VMI_PM_NONE, VMI_PM_LEGACY,
        VMI_PM_PAE, VMI_PM_IA32E, VMI_PM_AARCH32, VMI_PM_AARCH64, VMI_PM_EPT_4L,
        VMI_PM_EPT_5L, VMI_PM_LA57 };

    assert_string_equal(tvmi_page_mode_name(VMI_PM_NONE), "none");
    assert_string_equal(tvmi_page_mode_name(VMI_PM_LEGACY), "legacy");
    assert_string_equal(tvmi_page_mode_name(VMI_PM_PAE), "pae");
    assert_string_equal(tvmi_page_mode_name(VMI_PM_IA32E), "ia32e");
    assert_string_equal(tvmi_page_mode_name(VMI_PM_LA57), "la57");
    assert_string_equal(tvmi_page_mode_name(VMI_PM_UNKNOWN), "unknown");
    assert_string_equal(tvmi_page_mode_name((page_mode_t)99), "unknown");
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        assert_int_equal(tvmi_page_mode_from_name(tvmi_page_mode_name(modes[i])), modes[i]);
    assert_int_equal(tvmi_page_mode_from_name("IA32E "), VMI_PM_UNKNOWN);
    assert_int_equal(tvmi_page_mode_from_name(""), VMI_PM_UNKNOWN);
    assert_int_equal(tvmi_page_mode_from_name(NULL), VMI_PM_UNKNOWN);
}

/* ---- the public API ------------------------------------------------------------- */

static void test_public_translate(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    addr_t va = 0xffffffff81000000ull, frame = memguest_alloc_page(e.g), pa;
    page_info_t info;

    assert_int_equal(vmi_get_page_mode(e.vmi, 0), VMI_PM_IA32E);
    memguest_map(e.g, e.pm, e.dtb, va, frame, VMI_PS_4KB, 0);
    assert_int_equal(vmi_translate_kv2p(e.vmi, va + 0x123, &pa), VMI_SUCCESS);
    assert_int_equal(pa, frame + 0x123);
    assert_int_equal(vmi_translate_kv2p(e.vmi, va + 0x123, &pa), VMI_SUCCESS); /* cached */
    assert_int_equal(pa, frame + 0x123);
    assert_int_equal(vmi_pagetable_lookup(e.vmi, e.dtb, va + 0xfff, &pa), VMI_SUCCESS);
    assert_int_equal(pa, frame + 0xfff);
    assert_int_equal(vmi_pagetable_lookup_extended(e.vmi, e.dtb, va + 8, &info), VMI_SUCCESS);
    assert_int_equal(info.paddr, frame + 8);
    assert_int_equal(info.size, VMI_PS_4KB);
    expect_path(&info, e.g);

    assert_int_equal(vmi_translate_kv2p(e.vmi, va + 0x1000, &pa), VMI_FAILURE);
    expect_error(&e, "not present");
    assert_int_equal(vmi_pagetable_lookup_extended(e.vmi, e.dtb, 1ull << 47, &info), VMI_FAILURE);
    expect_error(&e, "canonical");
    env_free(&e);
}

/* Two adjacent virtual pages on frames in the opposite order, a frame apart. */
static void test_read_across_pages(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    addr_t va = 0xffffffff81000000ull;
    addr_t lo = memguest_alloc_page(e.g), gap = memguest_alloc_page(e.g);
    addr_t hi = memguest_alloc_page(e.g);
    uint8_t buf[16], want[16];
    size_t n = 0;
    uint64_t v;

    assert_true(hi - lo > 4096 && gap);
    memguest_map(e.g, e.pm, e.dtb, va, hi, VMI_PS_4KB, 0);
    memguest_map(e.g, e.pm, e.dtb, va + 4096, lo, VMI_PS_4KB, 0);
    for (int i = 0; i < 8; i++) {
        e.g->mem[hi + 4088 + i] = (uint8_t)(0xa0 + i);
        e.g->mem[lo + i] = (uint8_t)(0xb0 + i);
        want[i] = (uint8_t)(0xa0 + i);
        want[8 + i] = (uint8_t)(0xb0 + i);
    }
    assert_int_equal(vmi_read_va(e.vmi, va + 4088, 0, 16, buf, &n), VMI_SUCCESS);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, want, 16);
    assert_int_equal(vmi_read_64_va(e.vmi, va + 4092, 0, &v), VMI_SUCCESS);
    assert_int_equal(v, 0xb3b2b1b0a7a6a5a4ull);

    /* The second page unmapped: a short read that says where it stopped. */
    memguest_poke64(e.g, e.g->path[3].location, 0);
    vmi_v2pcache_flush(e.vmi, ~0ull);
    assert_int_equal(vmi_read_va(e.vmi, va + 4088, 0, 16, buf, &n), VMI_FAILURE);
    assert_int_equal(n, 8);
    expect_error(&e, "not present");
    env_free(&e);
}

/* After a flush, a changed PTE is seen. (Before it, the cache may serve
 * the old translation: not asserted either way.) */
static void test_v2pcache_flush(void **state)
{
    struct env e = env_new(VMI_PM_IA32E, 1 * MiB);
    addr_t va = 0xffffffff81000000ull, a = memguest_alloc_page(e.g);
    addr_t b = memguest_alloc_page(e.g), c = memguest_alloc_page(e.g), pa;
    addr_t pte;

    memguest_map(e.g, e.pm, e.dtb, va, a, VMI_PS_4KB, 0);
    pte = e.g->path[3].location;
    assert_int_equal(vmi_translate_kv2p(e.vmi, va, &pa), VMI_SUCCESS);
    assert_int_equal(pa, a);

    memguest_poke64(e.g, pte, b | 7);
    (void)vmi_translate_kv2p(e.vmi, va, &pa); /* old or new: either is fine */
    vmi_v2pcache_flush(e.vmi, ~0ull);
    assert_int_equal(vmi_translate_kv2p(e.vmi, va, &pa), VMI_SUCCESS);
    assert_int_equal(pa, b);

    memguest_poke64(e.g, pte, c | 7);
    vmi_v2pcache_flush(e.vmi, e.dtb);
    assert_int_equal(vmi_translate_kv2p(e.vmi, va, &pa), VMI_SUCCESS);
    assert_int_equal(pa, c);

    memguest_poke64(e.g, pte, 0);
    vmi_v2pcache_flush(e.vmi, ~0ull);
    assert_int_equal(vmi_translate_kv2p(e.vmi, va, &pa), VMI_FAILURE);
    env_free(&e);
}

/* ---- property: random 4-level mappings ---------------------------------------- */

struct mapping {
    addr_t va, pa;
    page_size_t size;
    uint64_t leaf; /* the entry the builder wrote */
};

/* VAs cluster in a few PML4 and PDPT slots so that tables are shared. */
static addr_t random_va(page_size_t size)
{
    static const unsigned pml4[] = { 0, 1, 255, 256, 273, 511 };
    addr_t va = (addr_t)pml4[rnd() % 6] << 39 | (rnd() % 16) << 30 |
                (rnd() % 8) << 21 | (rnd() % 512) << 12;

    if (va >> 47)
        va |= 0xffff000000000000ull; /* sign-extend */
    return va & ~((addr_t)size - 1);
}

static bool overlaps(const struct mapping *m, size_t n, addr_t va, addr_t size)
{
    for (size_t i = 0; i < n; i++)
        if (va < m[i].va + m[i].size && m[i].va < va + size)
            return true;
    return false;
}

static const struct mapping *find(const struct mapping *m, size_t n, addr_t va)
{
    for (size_t i = 0; i < n; i++)
        if (va - m[i].va < m[i].size)
            return &m[i];
    return NULL;
}

static void test_random_mappings(void **state)
{
    enum { N = 2000 };
    struct env e = env_new(VMI_PM_IA32E, 64 * MiB);
    struct mapping *m = calloc(N, sizeof(*m));
    size_t n = 0, unmapped = 0;

    assert_non_null(m);
    for (int tries = 0; n < N && tries < 100000; tries++) {
        uint64_t r = rnd() % 10;
        page_size_t size = r < 7 ? VMI_PS_4KB : r < 9 ? VMI_PS_2MB : VMI_PS_1GB;
        addr_t va = random_va(size);
        /* Any PA up to bit 51; the walk does not care that it is not RAM. */
        addr_t pa = rnd() & 0x000ffffffffff000ull & ~((addr_t)size - 1);
        /* Random XD, ignored, A, D, G bits. */
        uint64_t extra = rnd() & 0xfff0000000000160ull;

        if (overlaps(m, n, va, size))
            continue;
        memguest_map(e.g, e.pm, e.dtb, va, pa, size, extra);
        m[n++] = (struct mapping){ va, pa, size, e.g->path[e.g->path_len - 1].value };
    }
    assert_int_equal(n, N);

    for (size_t i = 0; i < n; i++) {
        addr_t off = rnd() % m[i].size, pa;
        page_info_t info;

        if (walk(&e, m[i].va + off, &info) != VMI_SUCCESS)
            fail_msg("mapping %zu: %s", i, tvmi_last_error(e.vmi));
        assert_int_equal(info.paddr, m[i].pa + off);
        assert_int_equal(info.size, m[i].size);
        assert_int_equal(info.entries[info.nentries - 1].value, m[i].leaf);
        assert_int_equal(vmi_translate_kv2p(e.vmi, m[i].va + off, &pa), VMI_SUCCESS);
        assert_int_equal(pa, m[i].pa + off);
    }

    for (int i = 0; i < 20000; i++) {
        addr_t va = random_va(VMI_PS_4KB) | (rnd() & 0xfff);
        page_info_t info;
        status_t s = walk(&e, va, &info);
        const struct mapping *hit = find(m, n, va);

        if (hit) {
            assert_int_equal(s, VMI_SUCCESS);
            assert_int_equal(info.paddr, hit->pa + (va - hit->va));
            continue;
        }
        assert_int_equal(s, VMI_FAILURE);
        expect_error(&e, "not present");
        unmapped++;
    }
    assert_true(unmapped > 1000);
    free(m);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_legacy_pse36),
        cmocka_unit_test(test_pae),
        cmocka_unit_test(test_ia32e),
        cmocka_unit_test(test_la57),
        cmocka_unit_test(test_dtb_flag_bits),
        cmocka_unit_test(test_ignored_bits),
        cmocka_unit_test(test_not_present_each_level),
        cmocka_unit_test(test_reserved_bits),
        cmocka_unit_test(test_table_past_end_of_memory),
        cmocka_unit_test(test_leaf_past_end_of_memory),
        cmocka_unit_test(test_dtb_outside_memory),
        cmocka_unit_test(test_hole_mid_walk),
        cmocka_unit_test(test_self_reference),
        cmocka_unit_test(test_non_canonical),
        cmocka_unit_test(test_unknown_mode),
        cmocka_unit_test(test_message_format),
        cmocka_unit_test(test_mode_from_regs),
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_public_translate),
        cmocka_unit_test(test_read_across_pages),
        cmocka_unit_test(test_v2pcache_flush),
        cmocka_unit_test(test_random_mappings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
