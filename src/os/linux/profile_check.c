/*
 * A profile against memory. The usual way a profile goes wrong is that it
 * belongs to another kernel build (or to the right one with another
 * KASLR slide), and then every answer it gives is garbage that looks
 * plausible. So before it is used:
 *
 *   - linux_banner at the profile's address (+ slide) must read the banner
 *     of the kernel found in memory (and an ISF's own copy of the banner
 *     must be that banner);
 *   - its symbols must be where the kallsyms tables in memory put them;
 *   - its structure layouts must be the BTF's, where memory (or a BTF
 *     file) has BTF.
 *
 * Any disagreement fails with both values.
 */
#include "profile.h"

/* ---- banner --------------------------------------------------------------------- */

static void printable(char *s)
{
    for (; *s; s++)
        if (*s < ' ' || *s >= 0x7f)
            *s = '?';
}

static void read_banner_at(vmi_instance_t vmi, addr_t va, char *out, size_t n)
{
    size_t got = 0;
    char *nl;

    memset(out, 0, n);
    tvmi_read_dtb(vmi, va, tvmi_get_kernel_dtb(vmi), n - 1, out, &got);
    out[got < n ? got : n - 1] = '\0';
    if ((nl = strchr(out, '\n')))
        *nl = '\0';
}

status_t lx_check_banner(vmi_instance_t vmi, struct lx_state *st,
                         const struct lx_psyms *ps, int64_t slide,
                         const char *what)
{
    tvmi_linux_info_t *info = &st->info;
    char got[sizeof(info->banner)], sb[24];
    uint64_t link;
    addr_t va;

    if (!lx_psyms_find(ps, "linux_banner", &link)) {
        lx_profile_note(info, "%s has no linux_banner: banner not checked", what);
        return VMI_SUCCESS;
    }
    va = lx_profile_slid(slide, link);
    read_banner_at(vmi, va, got, sizeof(got));
    if (strcmp(got, info->banner)) {
        printable(got);
        return tvmi_fail(vmi, "%s disagrees with memory: linux_banner at "
                         "0x%llx (0x%llx + slide %s) reads \"%.70s\", but the "
                         "kernel in memory is \"%.70s\"", what,
                         (unsigned long long)va, (unsigned long long)link,
                         lx_signed_hex(slide, sb), got, info->banner);
    }
    info->profile_banner_check = TVMI_CHECK_OK;
    return VMI_SUCCESS;
}

/* ---- symbols -------------------------------------------------------------------- */

/* First name-order position of name in kallsyms, or count. */
static uint32_t name_lower_bound(const struct lx_syms *s, const char *name)
{
    uint32_t lo = 0, hi = s->count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (strcmp(lx_sym_name(s, lx_by_name(s, mid)), name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Does kallsyms have name (0 no, 1 yes) and is one of them at addr (2)?
 * *first is the first one's address. */
static int kallsyms_has(const struct lx_syms *s, const char *name,
                        uint64_t addr, uint64_t *first)
{
    uint32_t i = name_lower_bound(s, name);
    int found = 0;

    for (; i < s->count && !strcmp(lx_sym_name(s, lx_by_name(s, i)), name); i++) {
        uint64_t a = lx_sym_addr(s, lx_by_name(s, i));
        if (!found++)
            *first = a;
        if (a == addr)
            return 2;
    }
    return found ? 1 : 0;
}

/* Symbols every kernel has, checked whatever the sample. */
static const char *const core_syms[] = {
    "_text", "_stext", "_etext", "_end", "linux_banner", "init_task",
    "init_top_pgt", "swapper_pg_dir", "phys_base", "__start_BTF",
    "kallsyms_token_table", "modules", "init_mm", "jiffies", "startup_64",
};

struct sym_tally {
    size_t checked, wrong;
    const char *name;        /* the first that is wrong */
    uint64_t profile, memory;
};

static void check_one(const struct lx_syms *mem, const struct lx_psyms *ps,
                      uint32_t i, int64_t slide, struct sym_tally *t)
{
    const char *name = lx_psym_name(ps, i);
    uint64_t va = lx_profile_slid(slide, ps->addr[i]), first = 0;
    int r = kallsyms_has(mem, name, va, &first);

    if (!r)
        return;
    t->checked++;
    if (r == 2)
        return;
    if (!t->wrong++) {
        t->name = name;
        t->profile = va;
        t->memory = first;
    }
}

static bool is_core(const char *name)
{
    for (size_t k = 0; k < sizeof(core_syms) / sizeof(core_syms[0]); k++)
        if (!strcmp(name, core_syms[k]))
            return true;
    return false;
}

status_t lx_check_symbols(vmi_instance_t vmi, struct lx_state *st,
                          const struct lx_psyms *ps, int64_t slide,
                          const char *what)
{
    tvmi_linux_info_t *info = &st->info;
    uint32_t stride = ps->n / 8192 + 1;
    struct sym_tally t = { 0 };
    char sb[24];

    /* A sample spread over the table, and the core symbols: a profile of
     * another build differs nearly everywhere. */
    for (uint32_t i = 0; i < ps->n; i++)
        if (i % stride == 0 || is_core(lx_psym_name(ps, i)))
            check_one(&st->syms, ps, i, slide, &t);
    info->profile_symbols_checked += t.checked;
    if (t.wrong)
        return tvmi_fail(vmi, "%s disagrees with memory: %zu of the %zu "
                         "symbols compared are elsewhere in the kallsyms "
                         "tables, e.g. %.64s at 0x%llx (slide %s applied), "
                         "but at 0x%llx in memory", what, t.wrong, t.checked,
                         t.name, (unsigned long long)t.profile,
                         lx_signed_hex(slide, sb),
                         (unsigned long long)t.memory);
    if (t.checked)
        info->profile_symbol_check = TVMI_CHECK_OK;
    else
        lx_profile_note(info, "%s has no symbol in common with the kallsyms tables: "
                "symbols not checked", what);
    return VMI_SUCCESS;
}

/* ---- layouts -------------------------------------------------------------------- */

/* One source of layouts: BTF, ISF types or libvmi.conf offsets. */
struct layouts {
    const char *name;
    struct lx_btf *btf;
    const struct lx_ptypes *types;
    const struct lx_conf *conf;
};

/* 1 with *off when src knows st.member as a byte offset, else 0. */
static int offset_in(vmi_instance_t vmi, const struct layouts *src,
                     const char *st, const char *member, uint64_t *off)
{
    size_t o;

    if (src->btf) {
        if (lx_btf_member_offset(vmi, src->btf, st, member, &o) != VMI_SUCCESS)
            return 0;
        *off = o;
        return 1;
    }
    if (src->types)
        return lx_ptypes_offset(src->types, st, member, off) == 1;
    for (int i = 0; i < LX_CONF_OFFSETS; i++)
        if ((src->conf->has_offset & (1u << i)) &&
            !strcmp(lx_conf_keys[i].st, st) && !strcmp(lx_conf_keys[i].member, member)) {
            *off = src->conf->offset[i];
            return 1;
        }
    return 0;
}

static int size_in(vmi_instance_t vmi, const struct layouts *src,
                   const char *st, uint64_t *size)
{
    const struct lx_ptype *t;
    size_t s;

    if (src->btf) {
        if (lx_btf_struct_size(vmi, src->btf, st, &s) != VMI_SUCCESS)
            return 0;
        *size = s;
        return 1;
    }
    if (src->types && (t = lx_ptypes_find(src->types, st))) {
        *size = t->size;
        return 1;
    }
    return 0;
}

struct compare {
    vmi_instance_t vmi;
    const struct layouts *a, *b;
    const char *st;
    size_t checked, wrong;
    char first[320];  /* the first disagreement, in words */
};

static void differ(struct compare *c, const char *what, uint64_t va,
                   uint64_t vb)
{
    if (c->wrong++)
        return;
    snprintf(c->first, sizeof(c->first), "%s%s%s is %llu (0x%llx) in %.120s but "
             "%llu (0x%llx) in %.120s", c->st, what[0] ? "." : " size", what,
             (unsigned long long)va, (unsigned long long)va, c->a->name,
             (unsigned long long)vb, (unsigned long long)vb, c->b->name);
}

static void compare_member(struct compare *c, const char *member)
{
    uint64_t x, y;

    if (!offset_in(c->vmi, c->a, c->st, member, &x) ||
        !offset_in(c->vmi, c->b, c->st, member, &y))
        return;
    c->checked++;
    if (x != y)
        differ(c, member, x, y);
}

static void isf_field(const char *member, uint64_t off, uint32_t flags,
                      void *arg)
{
    (void)off;
    if (!(flags & LX_PF_BITFIELD))
        compare_member(arg, member);
}

/* The structures compared, and the members named for sources that cannot
 * list theirs (BTF, conf). */
static const struct {
    const char *st;
    const char *members[12];
} key_layouts[] = {
    { "task_struct", { "tasks", "mm", "active_mm", "pid", "tgid", "real_parent",
                       "parent", "comm", "cred", "real_cred", "flags", "stack" } },
    { "mm_struct", { "pgd", "mmap_base", "start_code", "arg_start", "env_start" } },
    { "list_head", { "next", "prev" } },
    { "module", { "list", "name", "state" } },
    { "cred", { "uid", "gid", "euid", "egid" } },
};

static void compare_struct(struct compare *c, size_t k)
{
    uint64_t x, y;

    c->st = key_layouts[k].st;
    if (size_in(c->vmi, c->a, c->st, &x) && size_in(c->vmi, c->b, c->st, &y)) {
        c->checked++;
        if (x != y)
            differ(c, "", x, y);
    }
    for (size_t m = 0; m < 12 && key_layouts[k].members[m]; m++)
        compare_member(c, key_layouts[k].members[m]);
    if (c->a->types)
        lx_ptypes_each(c->a->types, c->st, isf_field, c);
}

static status_t compare(vmi_instance_t vmi, struct lx_state *st,
                        const struct layouts *a, const struct layouts *b)
{
    struct compare c = { .vmi = vmi, .a = a, .b = b };

    if (a->conf) { /* exactly the offsets it gives */
        for (int i = 0; i < LX_CONF_OFFSETS; i++) {
            c.st = lx_conf_keys[i].st;
            compare_member(&c, lx_conf_keys[i].member);
        }
    } else {
        for (size_t k = 0; k < sizeof(key_layouts) / sizeof(key_layouts[0]); k++)
            compare_struct(&c, k);
    }
    st->info.profile_fields_checked += c.checked;
    if (c.wrong)
        return tvmi_fail(vmi, "%s disagrees with %s on %zu of %zu structure "
                         "layout facts: %s", a->name, b->name, c.wrong,
                         c.checked, c.first);
    if (c.checked)
        st->info.profile_type_check = TVMI_CHECK_OK;
    return VMI_SUCCESS;
}

status_t lx_check_layouts(vmi_instance_t vmi, struct lx_state *st,
                          struct lx_profile *p)
{
    char conf_name[200], isf_name[160], btf_name[160];
    struct layouts mem = { "BTF in memory", st->btf, NULL, NULL };
    struct layouts file = { btf_name, p->btf, NULL, NULL };
    struct layouts isf = { isf_name, NULL, &p->isf.types, NULL };
    struct layouts conf = { conf_name, NULL, NULL, &p->conf };
    const struct layouts *others[3];
    size_t n = 0;

    snprintf(conf_name, sizeof(conf_name), "%s", p->conf_where);
    snprintf(isf_name, sizeof(isf_name), "ISF %.140s", p->isf_path);
    snprintf(btf_name, sizeof(btf_name), "BTF file %.140s", p->btf_path);
    if (st->btf)
        others[n++] = &mem;
    if (p->btf)
        others[n++] = &file;
    if (p->has_isf && p->isf.types.ntypes)
        others[n++] = &isf;
    if (p->has_conf && p->conf.has_offset) /* against every other source */
        for (size_t i = 0; i < n; i++)
            if (compare(vmi, st, &conf, others[i]) != VMI_SUCCESS)
                return VMI_FAILURE;
    /* the profile's own layouts against memory's (or the BTF file's) */
    if (n >= 2 && others[n - 1] != &mem &&
        compare(vmi, st, others[n - 1], others[0]) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (n == 3 && compare(vmi, st, others[1], others[0]) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (st->info.profile_type_check != TVMI_CHECK_OK &&
        (p->btf || p->conf.has_offset || isf.types->ntypes))
        lx_profile_note(&st->info, "no BTF in memory to check the profile's structure "
                "layouts against");
    return VMI_SUCCESS;
}
