/*
 * libFuzzer target: zero-config Linux discovery end to end (scan.c and
 * image.c find the token table, kallsyms.c decodes the tables, symbols.c
 * indexes them, kernel.c locates the image and its page tables) on a small
 * guest the fuzzer writes: see minikernel.h for the input, and
 * seedgen_kallsyms (fuzz/seed-kallsyms) for seeds cut down from the real
 * snapshot corpus, whose layouts (5.10, 6.1, 6.12, absolute addresses) and
 * paging depths it covers.
 *
 * Discovery must succeed or fail with a message. When it succeeds, what it
 * found must hold together: every symbol is found again by its name at an
 * address no lower than the first one of that name, and symbolises back to
 * a symbol at that address.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minikernel.h"
#include "os/linux/lx.h"

static struct guest {
    uint8_t *mem;       /* MK_MAX_IMAGE bytes */
    size_t len;         /* backed bytes: whole frames from PA 0 */
    size_t max_pa;
    uint32_t flags;
    uint64_t cr3;
} guest;

static status_t mk_open(vmi_instance_t vmi, const void *domain, uint64_t flags,
                        vmi_init_error_t *err)
{
    vmi->drv_data = (void *)domain;
    vmi->drv_name = "minikernel";
    vmi->memsize = guest.len;
    vmi->max_pa = guest.max_pa;
    vmi->num_vcpus = 1;
    return VMI_SUCCESS;
}

static void *mk_map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    if (gfn >= guest.len / 4096) {
        tvmi_fail(vmi, "frame 0x%llx is a hole", (unsigned long long)gfn);
        return NULL;
    }
    return guest.mem + gfn * 4096;
}

static size_t mk_get_ranges(vmi_instance_t vmi, struct tvmi_mem_range *out,
                            size_t max)
{
    if (!guest.len)
        return 0;
    if (max)
        out[0] = (struct tvmi_mem_range){ 0, guest.len };
    return 1;
}

static status_t mk_get_vcpureg(vmi_instance_t vmi, uint64_t *value, reg_t reg,
                               unsigned long vcpu)
{
    bool la57 = guest.flags & MK_LA57;

    if (!(guest.flags & MK_REGS) || vcpu)
        return tvmi_fail(vmi, "minikernel: no registers");
    switch (reg) {
    case CR0: *value = 0x80000011ull; return VMI_SUCCESS;         /* PG PE ET */
    case CR3: *value = guest.cr3; return VMI_SUCCESS;
    case CR4: *value = 0x20 | (la57 ? 1ull << 12 : 0); return VMI_SUCCESS; /* PAE, LA57 */
    case MSR_EFER: *value = 0xd00; return VMI_SUCCESS;            /* LME LMA NXE */
    default: return tvmi_fail(vmi, "minikernel: register %d", (int)reg);
    }
}

static const struct tvmi_driver_ops mk_ops = {
    .name = "minikernel",
    .mode = VMI_FILE,
    .flags = TVMI_DRV_STABLE_MAPS,
    .open = mk_open,
    .map_frame = mk_map_frame,
    .get_ranges = mk_get_ranges,
    .get_vcpureg = mk_get_vcpureg,
};

static void load(const uint8_t *data, size_t size)
{
    size_t n = size - MK_HEADER < MK_MAX_IMAGE ? size - MK_HEADER : MK_MAX_IMAGE;
    uint32_t pages;

    if (!guest.mem && !(guest.mem = calloc(MK_MAX_IMAGE, 1)))
        __builtin_trap();
    memset(guest.mem, 0, guest.len); /* only what the last input used */
    memcpy(&guest.flags, data, 4);
    memcpy(&pages, data + 4, 4);
    memcpy(&guest.cr3, data + 8, 8);
    memcpy(guest.mem, data + MK_HEADER, n);
    guest.len = (n + 4095) & ~(size_t)4095;
    guest.max_pa = (size_t)(pages < MK_MAX_PAGES ? pages : MK_MAX_PAGES) * 4096;
    if (guest.max_pa < guest.len)
        guest.max_pa = guest.len;
}

/* What a successful discovery must satisfy. */
static void check(vmi_instance_t vmi)
{
    size_t n = tvmi_linux_sym_count(vmi);
    tvmi_linux_info_t info;

    uint64_t v;

    if (tvmi_linux_get_info(vmi, &info) != VMI_SUCCESS || n < LX_MIN_SYMS ||
        info.num_syms != n)
        __builtin_trap();
    /* reads through the kernel page tables discovery chose */
    if (vmi_read_64_ksym(vmi, "phys_base", &v) != VMI_SUCCESS &&
        !tvmi_last_error(vmi)[0])
        __builtin_trap();
    vmi_translate_v2ksym(vmi, NULL, info.text_va);
    for (size_t i = 0; i < n; i++) {
        tvmi_linux_sym_t s, first;
        addr_t va, off;
        const char *name;

        if (tvmi_linux_sym_at(vmi, i, &s) != VMI_SUCCESS ||
            vmi_translate_ksym2v(vmi, s.name, &va) != VMI_SUCCESS || va > s.addr)
            __builtin_trap();
        name = tvmi_linux_v2ksym(vmi, s.addr, &off);
        if (s.addr >= info.text_va && s.addr < info.end_va) {
            /* the first symbol at that address, in table order */
            long j = (long)i;
            while (j > 0 && tvmi_linux_sym_at(vmi, (size_t)j - 1, &first) ==
                                VMI_SUCCESS && first.addr == s.addr)
                j--;
            tvmi_linux_sym_at(vmi, (size_t)j, &first);
            if (!name || off != 0 || strcmp(name, first.name))
                __builtin_trap();
        }
    }
}

/* TVMI_FUZZ_VERBOSE=1: what discovery made of each input (seeds must
 * pass: fuzz/seed-kallsyms checks that they do). */
static void tell(vmi_instance_t vmi, bool found)
{
    static int verbose = -1;
    tvmi_linux_info_t info;

    if (verbose < 0)
        verbose = getenv("TVMI_FUZZ_VERBOSE") != NULL;
    if (!verbose)
        return;
    if (found && tvmi_linux_get_info(vmi, &info) == VMI_SUCCESS)
        fprintf(stderr, "fuzz_kallsyms: Linux %s, %zu symbols, %d-level, layout "
                "%s, found by %s%s%s\n", info.release, info.num_syms,
                info.paging_levels, info.kallsyms_layout, info.found_by,
                info.notes[0] ? "; " : "", info.notes);
    else
        fprintf(stderr, "fuzz_kallsyms: no kernel: %s\n", tvmi_last_error(vmi));
}

/* One instance for the whole run (a new one per input costs more than
 * discovery): each input gets what opening it would give, the registers'
 * paging mode and root, and an empty translation cache. */
static vmi_instance_t instance(void)
{
    static vmi_instance_t vmi;
    uint64_t cr0, cr3, cr4, efer;

    if (!vmi && tvmi_init_with_driver(&vmi, &mk_ops, &guest, 0, NULL) != VMI_SUCCESS)
        __builtin_trap();
    vmi->memsize = guest.len;
    vmi->max_pa = guest.max_pa;
    vmi->page_mode = VMI_PM_UNKNOWN;
    vmi->kdtb = 0;
    if (mk_get_vcpureg(vmi, &cr0, CR0, 0) == VMI_SUCCESS &&
        mk_get_vcpureg(vmi, &cr3, CR3, 0) == VMI_SUCCESS &&
        mk_get_vcpureg(vmi, &cr4, CR4, 0) == VMI_SUCCESS &&
        mk_get_vcpureg(vmi, &efer, MSR_EFER, 0) == VMI_SUCCESS) {
        vmi->page_mode = tvmi_page_mode_from_regs(cr0, cr4, efer);
        vmi->kdtb = cr3;
    }
    vmi_v2pcache_flush(vmi, ~0ull);
    vmi->err[0] = '\0';
    return vmi;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmi_instance_t vmi;
    bool found;

    if (size < MK_HEADER)
        return 0;
    load(data, size);
    vmi = instance();
    found = vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, NULL) == VMI_OS_LINUX;
    tell(vmi, found);
    if (found)
        check(vmi);
    else if (!tvmi_last_error(vmi)[0])
        __builtin_trap(); /* a failure must say why */
    if (vmi->os_ops && vmi->os_ops->destroy)
        vmi->os_ops->destroy(vmi);
    vmi->os_ops = NULL;
    return 0;
}
