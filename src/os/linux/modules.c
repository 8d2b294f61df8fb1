/*
 * The module list: the `modules` head links each struct module by its
 * list member, newest first, which is the order /proc/modules prints.
 *
 * Where a module lives changed in 6.4: mem[MOD_MEM_NUM_TYPES] (text
 * first) replaced core_layout and init_layout. /proc/modules prints the
 * text base and the sum of every region's size (init regions are emptied
 * once the module is live); so do we.
 */
#include "views.h"

#define REGION_MAX (1ull << 30) /* the whole module area is 1 GiB */
#define STATE_MAX 3             /* MODULE_STATE_UNFORMED */

/* A member of a member, e.g. mem[2].size, as a field of struct module. */
static struct lx_field inner(const struct lx_field *outer, size_t at,
                             const struct lx_field *f)
{
    struct lx_field r = *f;

    r.off = outer->off + at + f->off;
    return r;
}

static void read_regions(struct lx_views *v, tvmi_linux_module_t *m,
                         uint64_t *largest)
{
    const struct lx_module_layout *L = &v->mod;
    struct lx_field f;

    *largest = 0;
    if (!L->has_mem) {
        const struct lx_field *lay[] = { &L->core_layout, &L->init_layout };
        for (size_t i = 0; i < 2; i++) {
            uint64_t size;
            if (!lay[i]->size)
                continue;
            f = inner(lay[i], 0, &L->layout_size);
            size = lx_get(v, L->lo, &f);
            m->size += size;
            *largest = size > *largest ? size : *largest;
        }
        f = inner(&L->core_layout, 0, &L->layout_base);
        m->base = lx_get(v, L->lo, &f);
        return;
    }
    for (uint32_t i = 0; i < L->mem.nelems; i++) {
        uint64_t size;
        f = inner(&L->mem, i * L->mem_stride, &L->mem_size);
        size = lx_get(v, L->lo, &f);
        m->size += size;
        *largest = size > *largest ? size : *largest;
    }
    f = inner(&L->mem, 0, &L->mem_base); /* MOD_TEXT */
    m->base = lx_get(v, L->lo, &f);
}

static void read_name(struct lx_views *v, tvmi_linux_module_t *m,
                      struct lx_report *rep)
{
    const struct lx_module_layout *L = &v->mod;
    const char *p = (const char *)v->buf + (L->name.off - L->lo);
    size_t max = L->name.size < sizeof(m->name) ? L->name.size : sizeof(m->name);
    size_t len = strnlen(p, max);

    if (len == max) {
        lx_report_note(rep, "module at 0x%llx: its name is not terminated "
                       "within %zu bytes", (unsigned long long)m->module,
                       L->name.size);
        len = max - 1;
    }
    memcpy(m->name, p, len);
    m->name[len] = '\0';
}

/* The module at va; false (noted) when it cannot be read. An entry with
 * odd values is kept, and noted. */
static bool read_module(vmi_instance_t vmi, struct lx_views *v, addr_t va,
                        tvmi_linux_module_t *m, struct lx_report *rep)
{
    uint64_t largest;

    memset(m, 0, sizeof(*m));
    m->module = va;
    if (lx_read_window(vmi, v, va, v->mod.lo, v->mod.hi) != VMI_SUCCESS) {
        lx_report_note(rep, "struct module at 0x%llx cannot be read",
                       (unsigned long long)va);
        return false;
    }
    m->state = (int)lx_get(v, v->mod.lo, &v->mod.state);
    read_name(v, m, rep);
    read_regions(v, m, &largest);
    if (m->state < 0 || m->state > STATE_MAX)
        lx_report_note(rep, "module %s: state %d is not one the kernel has",
                       m->name, m->state);
    if (largest > REGION_MAX || (m->base &&
        !lx_kaddr_ok(&v->ks, LX_AREA_MODULE, m->base)))
        lx_report_note(rep, "module %s: base 0x%llx, size %llu: not in the "
                       "module area", m->name, (unsigned long long)m->base,
                       (unsigned long long)m->size);
    return true;
}

status_t tvmi_linux_modules(vmi_instance_t vmi, tvmi_linux_module_t **modules,
                            size_t *count, int *partial)
{
    struct lx_state *st;
    struct lx_views *v;
    struct lx_report rep = { 0 };
    struct lx_list l = { .what = "the module list", .area = LX_AREA_MODULE,
                         .max = LX_MAX_MODULES, .rep = &rep };
    tvmi_linux_module_t *out;
    size_t n = 0;

    if (!vmi || !modules || !count)
        return vmi ? tvmi_fail(vmi, "listing modules: NULL argument") : VMI_FAILURE;
    *modules = NULL;
    *count = 0;
    if (!(v = lx_views_get(vmi, &st, LX_GROUP_MODULES)))
        return tvmi_fail_ctx(vmi, "listing modules");
    if (!lx_sym_lookup(&st->syms, "modules", &l.head))
        return tvmi_fail(vmi, "listing modules: no 'modules' symbol (a kernel "
                         "without CONFIG_MODULES?)");
    if (lx_list_walk(vmi, v, &l) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "listing modules");
    out = malloc((l.n ? l.n : 1) * sizeof(*out));
    if (!out) {
        lx_list_free(&l);
        return tvmi_fail(vmi, "listing modules: out of memory");
    }
    for (size_t i = 0; i < l.n; i++)
        if (read_module(vmi, v, l.node[i] - v->mod.list.off, &out[n], &rep))
            n++;
    lx_list_free(&l);
    lx_report_done(vmi, &rep, partial);
    *modules = out;
    *count = n;
    return VMI_SUCCESS;
}
