/*
 * The Linux OS layer: zero-configuration discovery of the running kernel
 * from physical memory alone, and the symbol and info calls on top of it.
 *
 * Registers, where the source has them, are a cross-check and never a
 * requirement. Every token table the scan finds is taken through all the
 * steps; the first that passes them all is the kernel (others that pass are
 * counted: a second complete kernel image in RAM is worth knowing about).
 */
#include "lx.h"
#include "profile.h"

extern const struct tvmi_os_ops tvmi_os_linux;

struct lx_state *lx_state_of(vmi_instance_t vmi)
{
    if (!vmi)
        return NULL;
    if (vmi->os_ops != &tvmi_os_linux || !vmi->os_data) {
        tvmi_fail(vmi, "no Linux kernel is initialised on this instance (use "
                       "vmi_init_complete or vmi_init_os)");
        return NULL;
    }
    return vmi->os_data;
}

static void state_free(struct lx_state *st)
{
    if (!st)
        return;
    lx_syms_free(&st->syms);
    lx_btf_free(st->btf);
    lx_profile_free(st->profile);
    lx_views_free(st->views);
    free(st);
}

/* ---- the kallsyms layout, for the info ------------------------------------ */

struct place {
    addr_t pa;
    const char *name;
};

static void describe_layout(const struct lx_tables *t, char *out, size_t len)
{
    bool rel = t->addr_layout != LX_ADDR_ABS_BEFORE;  /* offsets, not addresses */
    struct place p[8] = {
        { t->num_syms_pa, "num_syms" }, { t->names_pa, "names" },
        { t->markers_pa, "markers" }, { t->tok.table_pa, "token_table" },
        { t->tok.index_pa, "token_index" },
        { t->addrs_pa, rel ? "offsets" : "addresses" },
        { t->relative_base_pa, "relative_base" }, { t->seqs_pa, "seqs_of_names" },
    };
    size_t n = 8, used = 0;

    for (size_t i = 1; i < n; i++) /* insertion sort by address */
        for (size_t j = i; j > 0 && p[j].pa < p[j - 1].pa; j--) {
            struct place tmp = p[j];
            p[j] = p[j - 1];
            p[j - 1] = tmp;
        }
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        if (p[i].pa)
            used += (size_t)snprintf(out + used, len - used, "%s%s",
                                     used ? " " : "", p[i].name);
}

static void fill_table_info(struct lx_state *st)
{
    tvmi_linux_info_t *info = &st->info;
    const struct lx_tables *t = &st->tab;

    info->num_syms = st->syms.count;
    info->token_table_pa = t->tok.table_pa;
    info->names_pa = t->names_pa;
    info->base_relative = t->addr_layout == LX_ADDR_REL_BEFORE ||
                          t->addr_layout == LX_ADDR_REL_AFTER;
    info->pc_relative = t->addr_layout == LX_ADDR_PCREL_AFTER;
    info->absolute_percpu = info->base_relative && t->absolute_percpu;
    snprintf(info->sym_source, sizeof(info->sym_source),
             "kallsyms tables in guest memory (token table at PA 0x%llx)",
             (unsigned long long)t->tok.table_pa);
    describe_layout(t, info->kallsyms_layout, sizeof(info->kallsyms_layout));
}

/* ---- discovery -------------------------------------------------------------- */

static struct lx_state *state_new(vmi_instance_t vmi)
{
    struct lx_state *st = calloc(1, sizeof(*st));

    if (!st)
        return NULL;
    st->info.regs_present = vmi->kdtb && vmi->page_mode != VMI_PM_UNKNOWN;
    if (st->info.regs_present) {
        st->info.regs_dtb = vmi->kdtb & 0x000ffffffffff000ull;
        st->info.regs_page_mode = vmi->page_mode;
    }
    return st;
}

/* One candidate through every step. The returned stage says how far it
 * got (for the error of the best failure): 1 kallsyms, 2 kernel, 3 done. */
static int try_candidate(vmi_instance_t vmi, struct lx_state *st,
                         const struct lx_tokens *tk)
{
    st->tab.tok = *tk;
    if (lx_kallsyms_load(vmi, &st->tab, &st->syms) != VMI_SUCCESS)
        return 1;
    if (lx_kernel_locate(vmi, st) != VMI_SUCCESS)
        return 2;
    fill_table_info(st);
    st->info.seqs_of_names = lx_syms_seqs_usable(&st->syms);
    return 3;
}

/* The kernels that passed every step: the first is kept unless the
 * registers disagree with it and a later one agrees. */
struct pick {
    struct lx_state *best;
    int images;
    int best_stage;
    char why[TVMI_ERR_MAX];
};

static bool accept_candidate(vmi_instance_t vmi, const struct lx_tokens *tk,
                             void *arg)
{
    struct pick *p = arg;
    struct lx_state *st = state_new(vmi);
    int stage;

    if (!st)
        return false;
    stage = try_candidate(vmi, st, tk);
    if (stage < 3) {
        if (stage > p->best_stage) {
            p->best_stage = stage;
            snprintf(p->why, sizeof(p->why), "%s", vmi->err);
        }
        state_free(st);
        return false;
    }
    p->images++;
    if (!p->best || (p->best->info.regs_check == TVMI_CHECK_MISMATCH &&
                     st->info.regs_check == TVMI_CHECK_OK)) {
        state_free(p->best);
        p->best = st;
    } else {
        state_free(st);
    }
    return p->best->info.regs_check != TVMI_CHECK_MISMATCH;
}

static status_t find_kernel(vmi_instance_t vmi, struct lx_state **out)
{
    struct pick p = { 0 };
    struct lx_scan_stats stats;

    lx_find_token_tables(vmi, accept_candidate, &p, &stats);
    *out = p.best;
    if (p.best) {
        static const char *const rounds[] = {
            "?", "the image the low page tables map (trampoline)",
            "RAM around sampled kallsyms_offsets", "a scan of all RAM",
        };
        snprintf(p.best->info.found_by, sizeof(p.best->info.found_by), "%s",
                 rounds[stats.round >= 0 && stats.round <= 3 ? stats.round : 0]);
        snprintf(p.best->found_first, sizeof(p.best->found_first), "%s",
                 p.best->info.found_by);
        p.best->info.kernel_images = p.images;
        if (p.images > 1)
            lx_note(&p.best->info, "%d complete kernel images in RAM: using "
                    "the one at PA 0x%llx", p.images,
                    (unsigned long long)p.best->info.text_pa);
        return VMI_SUCCESS;
    }
    if (p.why[0])
        return tvmi_fail(vmi, "%s", p.why);
    if (stats.ranges_error[0])
        return tvmi_fail(vmi, "step 1 (kallsyms_token_table): not found, and "
                         "the guest's RAM could not be listed to search it "
                         "(%s); zero-configuration discovery needs it",
                         stats.ranges_error);
    return tvmi_fail(vmi, "step 1 (kallsyms_token_table): none of the %zu "
                     "digit-token patterns in %llu MiB of RAM is a token "
                     "table followed by its kallsyms_token_index (not Linux, "
                     "or a kernel without CONFIG_KALLSYMS)", stats.patterns,
                     (unsigned long long)(vmi->max_pa >> 20));
}

/* A hint record given to the instance, checked (hints.c); NULL when
 * there is none or it does not hold, with the reason in status. */
static struct lx_state *from_hints(vmi_instance_t vmi, char *status, size_t len)
{
    struct lx_state *st;
    char why[sizeof(((tvmi_linux_info_t *)0)->hints) - 16];

    snprintf(status, len, "none given");
    if (!vmi->os_hints_len)
        return NULL;
    st = state_new(vmi);
    if (st && lx_hints_try(vmi, st, why, sizeof(why)) == VMI_SUCCESS) {
        fill_table_info(st);
        snprintf(status, len, "accepted");
        return st;
    }
    state_free(st);
    snprintf(status, len, "rejected: %s", st ? why : "out of memory");
    return NULL;
}

static status_t linux_init(vmi_instance_t vmi, vmi_config_t mode, void *config)
{
    char hints[sizeof(((tvmi_linux_info_t *)0)->hints)];
    struct lx_state *st = from_hints(vmi, hints, sizeof(hints));
    bool hinted = st != NULL;

    /* The kernel is found in memory whatever the config; a profile it
     * names is checked against that, then used (profile.c). */
    if (!st && find_kernel(vmi, &st) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "Linux kernel discovery%s%s",
                             vmi->os_hints_len ? " (hints " : "",
                             vmi->os_hints_len ? "rejected)" : "");
    snprintf(st->info.hints, sizeof(st->info.hints), "%s", hints);
    if (st->use_root &&
        tvmi_set_kernel_dtb(vmi, st->info.kdtb, st->info.page_mode) != VMI_SUCCESS) {
        state_free(st);
        return VMI_FAILURE;
    }
    if (!hinted && lx_btf_load(vmi, st) != VMI_SUCCESS)
        snprintf(st->info.type_source, sizeof(st->info.type_source),
                 "none: %.120s", vmi->err);
    else if (hinted && !st->btf)
        snprintf(st->info.type_source, sizeof(st->info.type_source),
                 "none (as when the hints were made)");
    /* profiles are compared with the whole decoded table */
    if (mode != TVMI_CONFIG_NONE && config &&
        lx_syms_full(vmi, &st->syms) != VMI_SUCCESS) {
        state_free(st);
        return tvmi_fail_ctx(vmi, "Linux kernel symbols");
    }
    if (lx_profile_attach(vmi, st, mode, config) != VMI_SUCCESS) {
        state_free(st);
        return tvmi_fail_ctx(vmi, "Linux profile");
    }
    vmi->os = VMI_OS_LINUX;
    vmi->os_data = st;
    vmi->err[0] = '\0';
    return VMI_SUCCESS;
}

static void linux_destroy(vmi_instance_t vmi)
{
    if (vmi->os_ops != &tvmi_os_linux && vmi->os_ops)
        return;
    state_free(vmi->os_data);
    vmi->os_data = NULL;
    vmi->os = VMI_OS_UNKNOWN;
}

static status_t linux_ksym2v(vmi_instance_t vmi, const char *sym, addr_t *va)
{
    return vmi_translate_ksym2v(vmi, sym, va);
}

const struct tvmi_os_ops tvmi_os_linux = {
    .name = "linux",
    .init = linux_init,
    .pid_to_dtb = lx_pid_to_dtb,
    .dtb_to_pid = lx_dtb_to_pid,
    .ksym2v = linux_ksym2v,
    .destroy = linux_destroy,
};

/* ---- public calls -------------------------------------------------------------- */

status_t tvmi_linux_get_info(vmi_instance_t vmi, tvmi_linux_info_t *info)
{
    struct lx_state *st = lx_state_of(vmi);

    if (!st || !info)
        return VMI_FAILURE;
    st->info.btf_types = lx_btf_type_count(vmi, st->btf);
    if (st->syms.lazy && st->syms.lazy->full == 1)
        st->info.seqs_of_names = st->syms.seqs.p != NULL; /* now checked to sort */
    *info = st->info;
    return VMI_SUCCESS;
}

/* ---- hints ------------------------------------------------------------------- */

status_t tvmi_linux_set_hints(vmi_instance_t vmi, const char *record, size_t len)
{
    if (!vmi)
        return VMI_FAILURE;
    vmi->os_hints_len = 0;
    if (!record || !len)
        return VMI_SUCCESS;
    if (len > sizeof(vmi->os_hints))
        return tvmi_fail(vmi, "discovery hints: %zu bytes is more than a record "
                         "can be (%zu)", len, sizeof(vmi->os_hints));
    memcpy(vmi->os_hints, record, len);
    vmi->os_hints_len = len;
    return VMI_SUCCESS;
}

/* Everything the views use is looked up first, so that it is in the
 * record: the next start needs neither the BTF index nor the names. */
char *tvmi_linux_get_hints(vmi_instance_t vmi, size_t *len)
{
    struct lx_state *st = lx_state_of(vmi);
    char *rec;

    if (!st)
        return NULL;
    if (!len) {
        tvmi_fail(vmi, "discovery hints: NULL argument");
        return NULL;
    }
    if (st->profile || !st->syms.lazy) {
        tvmi_fail(vmi, "discovery hints describe zero-configuration discovery; "
                       "this instance uses a profile");
        return NULL;
    }
    tvmi_linux_view_fields(vmi, NULL, 0);
    rec = lx_hints_make(vmi, st, len);
    if (rec)
        vmi->err[0] = '\0';
    return rec;
}

status_t vmi_translate_ksym2v(vmi_instance_t vmi, const char *symbol,
                              addr_t *vaddr)
{
    struct lx_state *st = lx_state_of(vmi);

    if (!st)
        return VMI_FAILURE;
    if (!symbol || !vaddr)
        return tvmi_fail(vmi, "looking up a kernel symbol: NULL argument");
    if (!lx_sym_lookup(&st->syms, symbol, vaddr))
        return tvmi_fail(vmi, "kernel symbol '%.128s' is not in the %u "
                         "symbols of %.100s", symbol, st->syms.count,
                         st->info.sym_source);
    return VMI_SUCCESS;
}

const char *tvmi_linux_v2ksym(vmi_instance_t vmi, addr_t va, addr_t *offset)
{
    struct lx_state *st = lx_state_of(vmi);
    const char *entry;
    long i;

    if (!st)
        return NULL;
    if (!lx_syms_addrs_ready(&st->syms)) {
        tvmi_fail(vmi, "symbols: the kallsyms address table cannot be read");
        return NULL;
    }
    i = lx_sym_at_or_below(&st->syms, va);
    if (i < 0) {
        tvmi_fail(vmi, "VA 0x%llx is outside the kernel image (0x%llx-0x%llx)",
                  (unsigned long long)va, (unsigned long long)st->syms.text_lo,
                  (unsigned long long)st->syms.text_hi);
        return NULL;
    }
    entry = lx_sym_entry(&st->syms, (uint32_t)i);
    if (!entry) {
        tvmi_fail(vmi, "symbols: kallsyms entry %ld cannot be decoded", i);
        return NULL;
    }
    if (offset)
        *offset = va - lx_sym_addr(&st->syms, (uint32_t)i);
    return entry + 1;
}

const char *vmi_translate_v2ksym(vmi_instance_t vmi, const access_context_t *ctx,
                                 addr_t va)
{
    (void)ctx;
    return tvmi_linux_v2ksym(vmi, va, NULL);
}

size_t tvmi_linux_sym_count(vmi_instance_t vmi)
{
    struct lx_state *st = lx_state_of(vmi);
    return st ? st->syms.count : 0;
}

status_t tvmi_linux_sym_at(vmi_instance_t vmi, size_t index,
                           tvmi_linux_sym_t *sym)
{
    struct lx_state *st = lx_state_of(vmi);

    if (!st || !sym)
        return VMI_FAILURE;
    if (index >= st->syms.count)
        return tvmi_fail(vmi, "symbol %zu: there are %u", index, st->syms.count);
    const char *entry = lx_syms_addrs_ready(&st->syms)
                            ? lx_sym_entry(&st->syms, (uint32_t)index) : NULL;

    if (!entry)
        return tvmi_fail(vmi, "symbol %zu: the kallsyms tables cannot be read",
                         index);
    sym->name = entry + 1;
    sym->type = entry[0];
    sym->addr = lx_sym_addr(&st->syms, (uint32_t)index);
    return VMI_SUCCESS;
}

/* ---- reads at symbols ---------------------------------------------------------- */

status_t vmi_read_ksym(vmi_instance_t vmi, const char *sym, size_t count,
                       void *buf, size_t *bytes_read)
{
    access_context_t ctx = { .translate_mechanism = VMI_TM_KERNEL_SYMBOL,
                             .ksym = sym };
    return vmi_read(vmi, &ctx, count, buf, bytes_read);
}

static status_t read_fixed(vmi_instance_t vmi, const char *sym, size_t n, void *v)
{
    return vmi_read_ksym(vmi, sym, n, v, NULL);
}

status_t vmi_read_8_ksym(vmi_instance_t vmi, const char *sym, uint8_t *value)
{
    return read_fixed(vmi, sym, 1, value);
}

status_t vmi_read_16_ksym(vmi_instance_t vmi, const char *sym, uint16_t *value)
{
    return read_fixed(vmi, sym, 2, value);
}

status_t vmi_read_32_ksym(vmi_instance_t vmi, const char *sym, uint32_t *value)
{
    return read_fixed(vmi, sym, 4, value);
}

status_t vmi_read_64_ksym(vmi_instance_t vmi, const char *sym, uint64_t *value)
{
    return read_fixed(vmi, sym, 8, value);
}

status_t vmi_read_addr_ksym(vmi_instance_t vmi, const char *sym, addr_t *value)
{
    if (!value)
        return VMI_FAILURE;
    *value = 0;
    return read_fixed(vmi, sym, vmi_get_address_width(vmi), value);
}

char *vmi_read_str_ksym(vmi_instance_t vmi, const char *sym)
{
    addr_t va;

    if (vmi_translate_ksym2v(vmi, sym, &va) != VMI_SUCCESS)
        return NULL;
    return vmi_read_str_va(vmi, va, 0);
}

/* ---- structure layouts ------------------------------------------------------------ */

status_t tvmi_linux_struct_offset(vmi_instance_t vmi, const char *struct_name,
                                  const char *member, size_t *offset)
{
    struct lx_state *st = lx_state_of(vmi);

    if (!st)
        return VMI_FAILURE;
    if (!struct_name || !member || !offset)
        return tvmi_fail(vmi, "structure offset: NULL argument");
    if (lx_profile_offset(st->profile, struct_name, member, offset))
        return VMI_SUCCESS;
    return lx_btf_member_offset(vmi, st->btf, struct_name, member, offset);
}

status_t tvmi_linux_struct_size(vmi_instance_t vmi, const char *struct_name,
                                size_t *size)
{
    struct lx_state *st = lx_state_of(vmi);

    if (!st)
        return VMI_FAILURE;
    if (!struct_name || !size)
        return tvmi_fail(vmi, "structure size: NULL argument");
    if (lx_profile_size(st->profile, struct_name, size))
        return VMI_SUCCESS;
    return lx_btf_struct_size(vmi, st->btf, struct_name, size);
}

status_t vmi_get_kernel_struct_offset(vmi_instance_t vmi, const char *symbol,
                                      const char *member, addr_t *addr)
{
    size_t off;

    if (!addr)
        return VMI_FAILURE;
    if (tvmi_linux_struct_offset(vmi, symbol, member, &off) != VMI_SUCCESS)
        return VMI_FAILURE;
    *addr = off;
    return VMI_SUCCESS;
}

status_t vmi_get_offset(vmi_instance_t vmi, const char *offset_name,
                        addr_t *offset)
{
    if (!vmi || !offset_name || !offset)
        return VMI_FAILURE;
    for (size_t i = 0; i < LX_CONF_OFFSETS; i++)
        if (!strcmp(offset_name, lx_conf_keys[i].key))
            return vmi_get_kernel_struct_offset(vmi, lx_conf_keys[i].st,
                                                lx_conf_keys[i].member, offset);
    return tvmi_fail(vmi, "offset '%.64s' is not one tinyvmi knows (linux_tasks, "
                     "linux_mm, linux_pid, linux_name, linux_pgd, linux_tgid, "
                     "linux_real_parent, linux_active_mm)", offset_name);
}
