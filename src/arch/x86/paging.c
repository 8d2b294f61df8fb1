/*
 * x86 page walks: 32-bit ("legacy"), PAE, and 4- and 5-level IA-32e paging,
 * done the way the MMU does them, so a translation here is the one the
 * guest's CPU would make.
 *
 * Where the CPU would consult state we do not have, we assume what every
 * paging OS runs with: CR4.PSE = 1, PSE-36 and 1 GiB pages supported, and
 * MAXPHYADDR = 52 (so no address bit of an entry is reserved). EFER.NXE is
 * unknown, so bit 63 (XD) is never taken as reserved, except in a PAE PDPTE
 * where it always is. Bits 62:52 of IA-32e entries are ignored or protection
 * keys, not reserved; in PAE entries they are reserved.
 *
 * A walk reads one entry per level, at most five, so it ends even when the
 * tables point at themselves or at each other: a self-referencing entry just
 * makes a table serve as the next level (as on the CPU; Windows' recursive
 * PML4 slot relies on it) and the walk stops at level 1 with whatever entry
 * it finds there.
 *
 * The walk does not check that the final frame is backed: a translation is a
 * fact about the tables (pages may map MMIO), and a read of an unbacked frame
 * fails later with the driver's reason.
 *
 * On failure, info holds the entries visited up to the one that failed.
 */
#include "private.h"

#define ULL(x) ((unsigned long long)(x))

#define PTE_P  (1ull << 0)
#define PTE_PS (1ull << 7)

/* Bits 51:12 of an IA-32e or PAE entry, or of CR3 in IA-32e mode, hold a
 * frame address. CR3's low bits are PCID or PWT/PCD, its top bits LAM and
 * no-flush: none belong to the address. */
#define ADDR_MASK 0x000ffffffffff000ull

/* Reserved bits of a present entry, indexed by level. */
#define PAE_RSVD       0x7ff0000000000000ull            /* 62:52 (63 is XD) */
#define PAE_PDPTE_RSVD (0xfff0000000000000ull | 0x1e6ull) /* 63:52, 8:5, 2:1 */
static const uint64_t pae_rsvd[4] = { 0, PAE_RSVD, PAE_RSVD, PAE_PDPTE_RSVD };
/* PS in a PML4 or PML5 entry would mean a 512 GiB or 256 TiB page: the CPU
 * has none, and faults with the reserved-bit error code. */
static const uint64_t long_rsvd[6] = { 0, 0, 0, 0, PTE_PS, PTE_PS };

struct walk {
    vmi_instance_t vmi;
    page_info_t *info;
    page_mode_t pm;
    addr_t dtb;
    addr_t va;
    unsigned idx; /* index of the entry read last, for messages */
};

static const char *level_name(int level)
{
    static const char *const names[] = { "?", "PT", "PD", "PDPT", "PML4", "PML5" };
    return level >= 1 && level <= 5 ? names[level] : names[0];
}

static const char *mode_desc(page_mode_t pm)
{
    switch (pm) {
    case VMI_PM_LEGACY: return "32-bit";
    case VMI_PM_PAE:    return "PAE";
    case VMI_PM_IA32E:  return "4-level";
    case VMI_PM_LA57:   return "5-level";
    default:            return tvmi_page_mode_name(pm);
    }
}

/* Errors start with what was being translated: "VA 0x.. (dtb 0x.., 4-level)". */
static status_t fail_va(const struct walk *w, const char *why)
{
    return tvmi_fail(w->vmi, "VA 0x%llx (dtb 0x%llx, %s): %s", ULL(w->va),
                     ULL(w->dtb), mode_desc(w->pm), why);
}

/* ... and for a bad entry, which one it is and what it holds. */
static status_t fail_entry(const struct walk *w, const char *why)
{
    const tvmi_pt_entry_t *e = &w->info->entries[w->info->nentries - 1];
    char what[TVMI_ERR_MAX];

    snprintf(what, sizeof(what), "%s entry %u at PA 0x%llx = 0x%llx %s",
             level_name(e->level), w->idx, ULL(e->location), ULL(e->value), why);
    return fail_va(w, what);
}

static status_t fail_reserved(const struct walk *w, uint64_t bits)
{
    char why[64];

    snprintf(why, sizeof(why), "sets reserved bits 0x%llx", ULL(bits));
    return fail_entry(w, why);
}

/* The legacy and PAE views of page_info begin with the same fields as the
 * IA-32e one (pte, pgd, pdpe: a common initial sequence), so filling
 * x86_ia32e fills whichever view the caller reads. */
static void note_entry(page_info_t *info, int level, addr_t loc, uint64_t val)
{
    info->entries[info->nentries++] = (tvmi_pt_entry_t){ level, loc, val };
    switch (level) {
    case 1:
        info->x86_ia32e.pte_location = loc;
        info->x86_ia32e.pte_value = val;
        break;
    case 2:
        info->x86_ia32e.pgd_location = loc;
        info->x86_ia32e.pgd_value = val;
        break;
    case 3:
        info->x86_ia32e.pdpte_location = loc;
        info->x86_ia32e.pdpte_value = val;
        break;
    case 4:
        info->x86_ia32e.pml4e_location = loc;
        info->x86_ia32e.pml4e_value = val;
        break;
    case 5:
        info->x86_ia32e.pml5e_location = loc;
        info->x86_ia32e.pml5e_value = val;
        break;
    }
}

/* Reads entry idx (width 4 or 8 bytes) of the table at PA table. Tables are
 * aligned to at least 32 bytes, so an entry never straddles two frames. */
static status_t read_entry(struct walk *w, int level, addr_t table,
                           unsigned idx, unsigned width, uint64_t *e)
{
    addr_t loc = table + (addr_t)idx * width;
    const uint8_t *frame = tvmi_frame(w->vmi, tvmi_gfn(loc), false);
    uint32_t e32;

    w->idx = idx;
    if (!frame)
        return tvmi_fail_ctx(w->vmi, "VA 0x%llx (dtb 0x%llx, %s): reading %s "
                             "entry %u at PA 0x%llx", ULL(w->va), ULL(w->dtb),
                             mode_desc(w->pm), level_name(level), idx, ULL(loc));
    if (width == 8) {
        memcpy(e, frame + tvmi_page_off(loc), 8);
    } else {
        memcpy(&e32, frame + tvmi_page_off(loc), 4);
        *e = e32;
    }
    note_entry(w->info, level, loc, *e);
    return VMI_SUCCESS;
}

static status_t found(struct walk *w, addr_t base, addr_t size)
{
    w->info->paddr = base | (w->va & (size - 1));
    w->info->size = (page_size_t)size;
    return VMI_SUCCESS;
}

/* A 2 MiB or 1 GiB page: bit 12 is PAT, and the bits from 13 up to the
 * page's alignment are reserved. */
static status_t large_page(struct walk *w, uint64_t e, addr_t size)
{
    uint64_t rsvd = e & (size - 1) & ~0x1fffull;

    if (rsvd)
        return fail_reserved(w, rsvd);
    return found(w, e & ADDR_MASK & ~(size - 1), size);
}

/* PAE and IA-32e: 512 8-byte entries per table (the PAE PDPT has only 4,
 * but a 32-bit VA cannot index past them), 9 VA bits per level. */
static status_t walk_tables(struct walk *w, addr_t table, int top,
                            const uint64_t *rsvd)
{
    for (int level = top;; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t e = 0;

        if (read_entry(w, level, table, (w->va >> shift) & 511, 8, &e) != VMI_SUCCESS)
            return VMI_FAILURE;
        if (!(e & PTE_P))
            return fail_entry(w, "is not present");
        if (e & rsvd[level])
            return fail_reserved(w, e & rsvd[level]);
        if (level == 1) /* bit 7 of a PTE is PAT, not PS */
            return found(w, e & ADDR_MASK, VMI_PS_4KB);
        if (e & PTE_PS)
            return large_page(w, e, (addr_t)1 << shift);
        table = e & ADDR_MASK;
    }
}

/* 32-bit paging: 1024 4-byte entries per table, CR3 bits 31:12. A 4 MiB
 * PDE holds PA bits 39:32 in its bits 20:13 (PSE-36); its bit 21 is
 * reserved. */
static status_t walk_legacy(struct walk *w)
{
    uint64_t e = 0;

    if (read_entry(w, 2, w->dtb & 0xfffff000u, (unsigned)(w->va >> 22), 4, &e) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (!(e & PTE_P))
        return fail_entry(w, "is not present");
    if (e & PTE_PS) {
        if (e & (1u << 21))
            return fail_reserved(w, 1u << 21);
        return found(w, (e & 0xffc00000u) | ((e >> 13) & 0xff) << 32, VMI_PS_4MB);
    }
    if (read_entry(w, 1, e & 0xfffff000u, (w->va >> 12) & 1023, 4, &e) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (!(e & PTE_P))
        return fail_entry(w, "is not present");
    return found(w, e & 0xfffff000u, VMI_PS_4KB);
}

/* IA-32e addresses sign-extend their top implemented bit (47, or 56). */
static bool is_canonical(addr_t va, unsigned bits)
{
    addr_t top = va >> (bits - 1);

    return top == 0 || top == ~0ull >> (bits - 1);
}

status_t tvmi_x86_walk(vmi_instance_t vmi, page_mode_t pm, addr_t dtb,
                       addr_t va, page_info_t *info)
{
    struct walk w = { vmi, info, pm, dtb, va, 0 };

    memset(info, 0, sizeof(*info));
    info->vaddr = va;
    info->dtb = dtb;
    info->pm = pm;
    switch (pm) {
    case VMI_PM_NONE:
        return found(&w, va & TVMI_PAGE_MASK, VMI_PS_4KB);
    case VMI_PM_LEGACY:
        if (va >> 32)
            return fail_va(&w, "is not a 32-bit address");
        return walk_legacy(&w);
    case VMI_PM_PAE:
        if (va >> 32)
            return fail_va(&w, "is not a 32-bit address");
        /* The PDPT is 32-byte aligned: CR3 bits 31:5. */
        return walk_tables(&w, dtb & 0xffffffe0u, 3, pae_rsvd);
    case VMI_PM_IA32E:
        if (!is_canonical(va, 48))
            return fail_va(&w, "is not canonical (bits 63:48 must copy bit 47)");
        return walk_tables(&w, dtb & ADDR_MASK, 4, long_rsvd);
    case VMI_PM_LA57:
        if (!is_canonical(va, 57))
            return fail_va(&w, "is not canonical (bits 63:57 must copy bit 56)");
        return walk_tables(&w, dtb & ADDR_MASK, 5, long_rsvd);
    default:
        return fail_va(&w, "no page walk for this paging mode");
    }
}

#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)

page_mode_t tvmi_page_mode_from_regs(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    if (!(cr0 & CR0_PG))
        return VMI_PM_NONE;
    if (!(cr4 & CR4_PAE))
        return VMI_PM_LEGACY;
    /* Some sources have no EFER and pass ~0, which has LMA set: fine, as a
     * guest with PAE on is far more likely 64-bit than 32-bit PAE. */
    if (efer & EFER_LMA)
        return cr4 & CR4_LA57 ? VMI_PM_LA57 : VMI_PM_IA32E;
    return VMI_PM_PAE;
}

static const char *const mode_names[] = {
    [VMI_PM_UNKNOWN] = "unknown",
    [VMI_PM_NONE]    = "none",
    [VMI_PM_LEGACY]  = "legacy",
    [VMI_PM_PAE]     = "pae",
    [VMI_PM_IA32E]   = "ia32e",
    [VMI_PM_AARCH32] = "aarch32",
    [VMI_PM_AARCH64] = "aarch64",
    [VMI_PM_EPT_4L]  = "ept-4l",
    [VMI_PM_EPT_5L]  = "ept-5l",
    [VMI_PM_LA57]    = "la57",
};
#define NMODES (sizeof(mode_names) / sizeof(mode_names[0]))

const char *tvmi_page_mode_name(page_mode_t pm)
{
    if ((unsigned)pm >= NMODES || !mode_names[pm])
        return "unknown";
    return mode_names[pm];
}

page_mode_t tvmi_page_mode_from_name(const char *name)
{
    for (size_t i = 0; name && i < NMODES; i++)
        if (mode_names[i] && !strcmp(name, mode_names[i]))
            return (page_mode_t)i;
    return VMI_PM_UNKNOWN;
}
