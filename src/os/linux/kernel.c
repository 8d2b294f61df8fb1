/*
 * From symbols (virtual) to the running kernel (physical): where _text is
 * in RAM, which page tables map it, and with how many levels.
 *
 * The kernel image is physically contiguous and starts PHYSICAL_ALIGN
 * (>= 2 MiB) aligned, so _text's PA is one of a few aligned addresses at or
 * below the token table we found. The right one has "Linux version " at
 * linux_banner's place; its phys_base variable (x86-64: __pa() of an image
 * address is va - __START_KERNEL_map + phys_base) must agree, and
 * init_top_pgt at its place must map the image onto itself. The paging
 * depth is the one whose walk does that: a 4-level walk through a 5-level
 * root (or the reverse) lands in the wrong tables.
 */
#include "lx.h"

#define BANNER "Linux version "

void lx_note(tvmi_linux_info_t *info, const char *fmt, ...)
{
    size_t used = strnlen(info->notes, sizeof(info->notes));
    va_list ap;

    if (used && used + 2 < sizeof(info->notes)) {
        memcpy(info->notes + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(info->notes + used, sizeof(info->notes) - used, fmt, ap);
    va_end(ap);
}

static status_t need(vmi_instance_t vmi, struct lx_syms *s,
                     const char *name, addr_t *va)
{
    if (lx_sym_lookup(s, name, va))
        return VMI_SUCCESS;
    return tvmi_fail(vmi, "step 5 (kernel symbols): '%s' is not in the "
                     "%u kallsyms symbols", name, s->count);
}

/* The image the symbols describe is plausible. */
static status_t ksyms_sane(vmi_instance_t vmi, const struct lx_ksyms *k)
{
    if (k->text < LX_KMAP_BASE || k->end <= k->text ||
        k->end - k->text > LX_IMAGE_MAX)
        return tvmi_fail(vmi, "step 5 (kernel symbols): _text 0x%llx .. _end "
                         "0x%llx is no kernel image", (unsigned long long)k->text,
                         (unsigned long long)k->end);
    if (k->banner < k->text || k->banner >= k->end ||
        k->pgt < k->text || k->pgt >= k->end)
        return tvmi_fail(vmi, "step 5 (kernel symbols): linux_banner or "
                         "init_top_pgt lies outside _text.._end");
    return VMI_SUCCESS;
}

static status_t find_ksyms(vmi_instance_t vmi, struct lx_syms *s,
                           struct lx_ksyms *k)
{
    if (!lx_sym_lookup(s, "_text", &k->text) &&
        need(vmi, s, "startup_64", &k->text) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (need(vmi, s, "_end", &k->end) != VMI_SUCCESS ||
        need(vmi, s, "linux_banner", &k->banner) != VMI_SUCCESS ||
        need(vmi, s, "init_top_pgt", &k->pgt) != VMI_SUCCESS)
        return VMI_FAILURE;
    k->has_phys_base = lx_sym_lookup(s, "phys_base", &k->phys_base);
    k->has_l5 = lx_sym_lookup(s, "__pgtable_l5_enabled", &k->l5);
    k->has_token_table = lx_sym_lookup(s, "kallsyms_token_table", &k->token_table);
    k->has_init_task = lx_sym_lookup(s, "init_task", &k->init_task);
    return ksyms_sane(vmi, k);
}

static addr_t image_pa(const struct lx_ksyms *k, addr_t text_pa, addr_t va)
{
    return text_pa + (va - k->text);
}

static bool has_banner(vmi_instance_t vmi, addr_t pa)
{
    char buf[sizeof(BANNER) - 1];

    lx_read_zfill(vmi, pa, buf, sizeof(buf));
    return memcmp(buf, BANNER, sizeof(buf)) == 0;
}

/* phys_base, where the image has one: 1 agrees, 0 disagrees, -1 none. */
static int phys_base_agrees(vmi_instance_t vmi, const struct lx_ksyms *k,
                            addr_t text_pa)
{
    uint8_t b[8];

    if (!k->has_phys_base || k->phys_base < k->text || k->phys_base >= k->end)
        return -1;
    lx_read_zfill(vmi, image_pa(k, text_pa, k->phys_base), b, 8);
    return lx_get_u64(b) == text_pa - (k->text - LX_KMAP_BASE);
}

/* Does a walk in mode pm from root map every probe onto the image? */
static bool maps_image(vmi_instance_t vmi, const struct lx_ksyms *k,
                       addr_t text_pa, page_mode_t pm, addr_t root,
                       addr_t token_va)
{
    const addr_t probes[] = {
        k->text, k->banner, k->pgt, token_va,
        k->has_init_task ? k->init_task : k->text,
    };

    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        page_info_t info;
        if (tvmi_x86_walk(vmi, pm, root, probes[i], &info) != VMI_SUCCESS ||
            info.paddr != image_pa(k, text_pa, probes[i]))
            return false;
    }
    return true;
}

struct found {
    addr_t text_pa;
    addr_t root;
    page_mode_t pm;
};

static bool paging_for(vmi_instance_t vmi, const struct lx_ksyms *k,
                       addr_t text_pa, addr_t token_va, struct found *f)
{
    static const page_mode_t modes[] = { VMI_PM_IA32E, VMI_PM_LA57 };

    f->text_pa = text_pa;
    f->root = image_pa(k, text_pa, k->pgt);
    for (size_t i = 0; i < 2; i++) {
        if (maps_image(vmi, k, text_pa, modes[i], f->root, token_va)) {
            f->pm = modes[i];
            return true;
        }
    }
    return false;
}

/* 7.x kallsyms give symbols relative to the table only; the image is
 * physically contiguous, so each symbol's PA is the table's plus the
 * distance, and phys_base (__pa(va) = va - __START_KERNEL_map + phys_base)
 * then gives _text's VA. Everything found so far moves there; steps 6 and 7
 * check the result as for any kernel (banner, phys_base, page tables). */
static status_t place_pc_relative(vmi_instance_t vmi, struct lx_state *st,
                                  struct lx_ksyms *k)
{
    addr_t text_pa = st->tab.addrs_pa + (k->text - st->syms.base);
    addr_t pb_pa = st->tab.addrs_pa + (k->phys_base - st->syms.base);
    addr_t text_va;
    int64_t delta;
    uint8_t b[8];

    if (!k->has_phys_base || k->phys_base < k->text || k->phys_base >= k->end)
        return tvmi_fail(vmi, "step 5 (kernel symbols): the PC-relative "
                         "kallsyms of this kernel give no VA without "
                         "phys_base inside the image");
    lx_read_zfill(vmi, pb_pa, b, 8);
    text_va = text_pa - lx_get_u64(b) + LX_KMAP_BASE;
    if (text_va < LX_KMAP_BASE || text_va % LX_PHYS_ALIGN ||
        text_va + (k->end - k->text) < text_va)
        return tvmi_fail(vmi, "step 5 (kernel symbols): phys_base at PA 0x%llx "
                         "(0x%llx) puts _text at 0x%llx, no kernel address",
                         (unsigned long long)pb_pa, (unsigned long long)lx_get_u64(b),
                         (unsigned long long)text_va);
    delta = (int64_t)(text_va - k->text);
    lx_syms_shift(&st->syms, delta);
    st->tab.relative_base = st->syms.base;
    k->text += delta;
    k->end += delta;
    k->banner += delta;
    k->pgt += delta;
    k->phys_base += delta;
    k->l5 += delta;
    k->token_table += delta;
    k->init_task += delta;
    return VMI_SUCCESS;
}

/* Tries every aligned _text PA whose image would hold the token table. */
static status_t find_text_pa(vmi_instance_t vmi, struct lx_state *st,
                             const struct lx_ksyms *k, struct found *f)
{
    addr_t t = st->tab.tok.table_pa, size = k->end - k->text;
    addr_t c = t & ~(LX_PHYS_ALIGN - 1);
    unsigned banners = 0;

    for (;; c -= LX_PHYS_ALIGN) {
        addr_t token_va = k->text + (t - c);
        if (c + size > t && has_banner(vmi, image_pa(k, c, k->banner))) {
            banners++;
            if (phys_base_agrees(vmi, k, c) != 0 &&
                paging_for(vmi, k, c, token_va, f))
                return VMI_SUCCESS;
        }
        if (c < LX_PHYS_ALIGN || c + size <= t)
            break;
    }
    if (!banners)
        return tvmi_fail(vmi, "step 6 (physical _text): no %llu MiB-aligned "
                         "address below the token table at PA 0x%llx has "
                         "\"" BANNER "\" at linux_banner's offset 0x%llx",
                         (unsigned long long)(LX_PHYS_ALIGN >> 20),
                         (unsigned long long)t,
                         (unsigned long long)(k->banner - k->text));
    return tvmi_fail(vmi, "step 7 (page tables): %u place(s) for _text have "
                     "the banner, but at none do phys_base and init_top_pgt "
                     "(4- or 5-level) map the image onto itself", banners);
}

/* ---- the info ------------------------------------------------------------ */

static void read_banner(vmi_instance_t vmi, tvmi_linux_info_t *info,
                        addr_t pa)
{
    const char *p;
    char *nl;

    lx_read_zfill(vmi, pa, info->banner, sizeof(info->banner) - 1);
    info->banner[sizeof(info->banner) - 1] = '\0';
    nl = strchr(info->banner, '\n');
    if (nl)
        *nl = '\0';
    p = info->banner + strlen(BANNER);
    for (size_t i = 0; i < sizeof(info->release) - 1 && p[i] > ' ' && p[i] < 0x7f; i++)
        info->release[i] = p[i];
    for (int i = 0; i < 3 && *p >= '0' && *p <= '9'; i++) {
        char *end;
        info->version[i] = (unsigned)strtoull(p, &end, 10);
        p = *end == '.' ? end + 1 : end;
    }
}

static void check_l5(vmi_instance_t vmi, const struct lx_ksyms *k,
                     const struct found *f, tvmi_linux_info_t *info)
{
    uint8_t b[4];
    bool l5;

    if (!k->has_l5 || k->l5 < k->text || k->l5 >= k->end)
        return;
    lx_read_zfill(vmi, image_pa(k, f->text_pa, k->l5), b, 4);
    l5 = lx_get_u32(b) != 0;
    info->l5_check = l5 == (f->pm == VMI_PM_LA57) ? TVMI_CHECK_OK
                                                    : TVMI_CHECK_MISMATCH;
    if (info->l5_check == TVMI_CHECK_MISMATCH)
        lx_note(info, "__pgtable_l5_enabled is %d but the %d-level walk maps "
                "the kernel", l5, f->pm == VMI_PM_LA57 ? 5 : 4);
}

/* The registers' view, when the source has them (linux.c put them in the
 * info). They stay in use unless their tables do not map the kernel (CR3
 * of a PTI user page table, say): then st->use_root says to replace them. */
static void check_registers(vmi_instance_t vmi, struct lx_state *st,
                            const struct lx_ksyms *k, const struct found *f)
{
    tvmi_linux_info_t *info = &st->info;
    addr_t dtb = info->regs_dtb;
    page_info_t pi;
    bool maps;

    st->use_root = !info->regs_present;
    if (!info->regs_present)
        return;
    maps = tvmi_x86_walk(vmi, info->regs_page_mode, dtb, k->text, &pi) == VMI_SUCCESS &&
           pi.paddr == f->text_pa;
    info->regs_check = maps && info->regs_page_mode == f->pm ? TVMI_CHECK_OK
                                                             : TVMI_CHECK_MISMATCH;
    if (info->regs_page_mode != f->pm)
        lx_note(info, "the registers say %s paging, memory says %s",
                tvmi_page_mode_name(info->regs_page_mode),
                tvmi_page_mode_name(f->pm));
    if (dtb != f->root)
        lx_note(info, "CR3 0x%llx is not init_top_pgt (0x%llx)%s",
                (unsigned long long)dtb, (unsigned long long)f->root,
                maps ? " but maps the kernel the same way" : "");
    if (!maps) {
        lx_note(info, "CR3 does not map _text to 0x%llx: using init_top_pgt",
                (unsigned long long)f->text_pa);
        st->use_root = true;
    }
}

static void fill_info(vmi_instance_t vmi, struct lx_state *st,
                      const struct lx_ksyms *k, const struct found *f)
{
    tvmi_linux_info_t *info = &st->info;
    int pb = phys_base_agrees(vmi, k, f->text_pa);

    read_banner(vmi, info, image_pa(k, f->text_pa, k->banner));
    info->text_va = k->text;
    info->text_pa = f->text_pa;
    info->end_va = k->end;
    info->virt_slide = (int64_t)(k->text - LX_DEFAULT_TEXT);
    info->phys_slide = (int64_t)(f->text_pa - LX_DEFAULT_PHYS);
    info->kdtb = f->root;
    info->page_mode = f->pm;
    info->paging_levels = f->pm == VMI_PM_LA57 ? 5 : 4;
    info->phys_base_check = pb < 0 ? TVMI_CHECK_NOT_DONE : TVMI_CHECK_OK;
    if (k->has_token_table) {
        bool same = image_pa(k, f->text_pa, k->token_table) == st->tab.tok.table_pa;
        info->symbol_check = same ? TVMI_CHECK_OK : TVMI_CHECK_MISMATCH;
        if (!same)
            lx_note(info, "the kallsyms_token_table symbol is not where the "
                    "table was found");
    }
    check_l5(vmi, k, f, info);
    check_registers(vmi, st, k, f);
}

status_t lx_kernel_locate(vmi_instance_t vmi, struct lx_state *st)
{
    struct lx_ksyms *k = &st->ksyms;
    struct found f = { 0 };

    memset(k, 0, sizeof(*k));
    if (find_ksyms(vmi, &st->syms, k) != VMI_SUCCESS ||
        (st->syms.kind == LX_ADDR_PC_RELATIVE && st->tab.relative_base == 0 &&
         place_pc_relative(vmi, st, k) != VMI_SUCCESS) ||
        find_text_pa(vmi, st, k, &f) != VMI_SUCCESS)
        return VMI_FAILURE;
    st->syms.text_lo = k->text;
    st->syms.text_hi = k->end;
    fill_info(vmi, st, k, &f);
    return VMI_SUCCESS;
}

/* Steps 6 and 7 for the one place a hint gives, with its messages. */
status_t lx_kernel_check(vmi_instance_t vmi, struct lx_state *st,
                         addr_t text_pa, page_mode_t pm)
{
    const struct lx_ksyms *k = &st->ksyms;
    addr_t t = st->tab.tok.table_pa;
    struct found f = { .text_pa = text_pa, .pm = pm };

    if (ksyms_sane(vmi, k) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (text_pa % LX_PHYS_ALIGN || t < text_pa || t - text_pa >= k->end - k->text)
        return tvmi_fail(vmi, "_text at PA 0x%llx: not %llu MiB-aligned or "
                         "not holding the token table",
                         (unsigned long long)text_pa,
                         (unsigned long long)(LX_PHYS_ALIGN >> 20));
    if (!has_banner(vmi, image_pa(k, text_pa, k->banner)))
        return tvmi_fail(vmi, "step 6 (physical _text): no \"" BANNER "\" at "
                         "PA 0x%llx", (unsigned long long)image_pa(k, text_pa,
                                                                   k->banner));
    f.root = image_pa(k, text_pa, k->pgt);
    if (phys_base_agrees(vmi, k, text_pa) == 0 ||
        !maps_image(vmi, k, text_pa, pm, f.root, k->text + (t - text_pa)))
        return tvmi_fail(vmi, "step 7 (page tables): phys_base or the %d-level "
                         "init_top_pgt at PA 0x%llx does not map the image "
                         "onto itself", pm == VMI_PM_LA57 ? 5 : 4,
                         (unsigned long long)f.root);
    st->syms.text_lo = k->text;
    st->syms.text_hi = k->end;
    fill_info(vmi, st, k, &f);
    return VMI_SUCCESS;
}
