/*
 * Where to look first: the kernel image, as page tables in low memory map it.
 *
 * Reading RAM is what discovery pays for (each 64 KiB of a snapshot first
 * touched is a page fault), so before any scan we ask the page tables. x86
 * Linux keeps the real-mode trampoline below 1 MiB, and its top-level table
 * (trampoline_pgd) carries init_top_pgt's kernel half. Any page there whose
 * last entry leads to tables that map 0xffffffff80000000.. onto one
 * physically contiguous run of 2 MiB slots shows us the image; its read-only,
 * no-execute part is .rodata, where the kallsyms tables are.
 *
 * This is a hint and nothing more: the spans only order the search, every
 * table found in them is validated like any other, and when they hold no
 * kernel the caller scans the rest of RAM.
 */
#include "lx.h"

#define LOW_END (1u << 20)     /* the trampoline lives below 1 MiB */
#define MAX_ROOTS 8            /* top-level tables tried */
#define SLOT (2ull << 20)      /* one PDE of the kernel image mapping */
#define SLOTS 512              /* 0xffffffff80000000 + 1 GiB */
#define MIN_RUN 2              /* slots: no kernel is smaller than 4 MiB */

#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull

static bool root_like(const uint8_t *page, addr_t max_pa)
{
    uint64_t last = lx_get_u64(page + 511 * 8);
    addr_t next = last & ADDR_MASK;

    return (last & PTE_P) && !(last & PTE_PS) && next && next < max_pa;
}

struct slot {
    addr_t pa;
    bool mapped;
    bool rodata;   /* leaf is read-only and no-execute */
};

static void map_slots(vmi_instance_t vmi, page_mode_t pm, addr_t root,
                      struct slot *s)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        page_info_t info;
        uint64_t leaf;

        s[i].mapped = tvmi_x86_walk(vmi, pm, root, LX_KMAP_BASE + i * SLOT,
                                    &info) == VMI_SUCCESS &&
                      info.nentries > 0 && info.paddr < vmi->max_pa;
        if (!s[i].mapped)
            continue;
        leaf = (uint64_t)info.entries[info.nentries - 1].value;
        s[i].pa = info.paddr;
        s[i].rodata = !(leaf & PTE_RW) && (leaf & PTE_NX);
    }
}

/* The first run of mapped slots whose PAs follow each other. */
static bool image_run(const struct slot *s, unsigned *first, unsigned *count)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        unsigned n = 1;

        if (!s[i].mapped || s[i].pa % SLOT)
            continue;
        while (i + n < SLOTS && s[i + n].mapped &&
               s[i + n].pa == s[i].pa + n * SLOT)
            n++;
        if (n >= MIN_RUN) {
            *first = i;
            *count = n;
            return true;
        }
        i += n - 1;
    }
    return false;
}

/* Appends [start, end), merging with the previous span when they touch. */
static size_t add_span(struct lx_span *out, size_t n, size_t max,
                       addr_t start, addr_t end)
{
    if (n && out[n - 1].end == start) {
        out[n - 1].end = end;
        return n;
    }
    if (n < max) {
        out[n].start = start;
        out[n].end = end;
        n++;
    }
    return n;
}

/* The run's read-only no-execute slots first, then the others. */
static size_t run_spans(const struct slot *s, unsigned first, unsigned count,
                        struct lx_span *out, size_t n, size_t max)
{
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = first; i < first + count; i++)
            if (s[i].rodata == (pass == 0))
                n = add_span(out, n, max, s[i].pa, s[i].pa + SLOT);
    return n;
}

static bool seen_run(const struct lx_span *out, size_t n, addr_t pa)
{
    for (size_t i = 0; i < n; i++)
        if (pa >= out[i].start && pa < out[i].end)
            return true;
    return false;
}

size_t lx_image_hints(vmi_instance_t vmi, struct lx_span *out, size_t max)
{
    static const page_mode_t modes[] = { VMI_PM_IA32E, VMI_PM_LA57 };
    struct slot *s = malloc(sizeof(*s) * SLOTS);
    size_t n = 0, roots = 0;

    if (!s)
        return 0;
    for (addr_t pa = TVMI_PAGE_SIZE; pa < LOW_END && roots < MAX_ROOTS;
         pa += TVMI_PAGE_SIZE) {
        const uint8_t *page = tvmi_frame(vmi, tvmi_gfn(pa), false);

        if (!page || !root_like(page, vmi->max_pa))
            continue;
        roots++;
        for (size_t m = 0; m < 2; m++) {
            unsigned first, count;
            map_slots(vmi, modes[m], pa, s);
            if (image_run(s, &first, &count) && !seen_run(out, n, s[first].pa))
                n = run_spans(s, first, count, out, n, max);
        }
    }
    free(s);
    return n;
}
