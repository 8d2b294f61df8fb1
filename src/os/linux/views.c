/*
 * What the process, module and log views share (see views.h): layouts
 * from BTF (or an ISF profile's types), the kernel's address ranges, and
 * the hostile-proof list walk.
 */
#include "profile.h"
#include "views.h"

/* ---- where layouts come from ------------------------------------------------ */

/* The kernel's BTF (memory's, or a BTF file's that replaced it), else the
 * user_types of an ISF profile: a kernel without BTF (or whose BTF does
 * not index) is read with the profile given for it. What the views look
 * up is the same either way. */
struct layouts {
    struct lx_btf *btf;
    const struct lx_isf *isf;
    char name[160];
};

static status_t layouts_of(vmi_instance_t vmi, struct lx_state *st,
                           struct layouts *L)
{
    const struct lx_profile *p = st->profile;
    const char *why = st->info.type_source;
    char bad[TVMI_ERR_MAX];

    memset(L, 0, sizeof(*L));
    if (st->btf && !lx_btf_type_count(vmi, st->btf)) { /* it says why */
        snprintf(bad, sizeof(bad), "%s", vmi->err);
        why = bad;
    } else if (st->btf) {
        L->btf = st->btf;
        if (p && p->btf_path[0])
            snprintf(L->name, sizeof(L->name), "BTF file %.140s", p->btf_path);
        else
            snprintf(L->name, sizeof(L->name), "BTF in memory");
        return VMI_SUCCESS;
    }
    if (p && p->has_isf && p->isf.types.ntypes) {
        L->isf = &p->isf;
        snprintf(L->name, sizeof(L->name), "ISF %.150s", p->isf_path);
        return VMI_SUCCESS;
    }
    if (!strncmp(why, "none: ", 6))
        why += 6;
    return tvmi_fail(vmi, "no structure layouts: no BTF (%.200s) and no ISF "
                     "profile with user_types; give an ISF (VMI_CONFIG_JSON_PATH,"
                     " volatility_ist, tinyvmi --profile) or a BTF file (btf = "
                     "in the config, tinyvmi --btf)", why);
}

static status_t layout_field(vmi_instance_t vmi, const struct layouts *L,
                             const char *st, const char *member,
                             struct lx_field *f)
{
    char why[200];

    if (L->btf)
        return lx_btf_field(vmi, L->btf, st, member, f);
    if (lx_isf_field(L->isf, st, member, f, why, sizeof(why)))
        return VMI_SUCCESS;
    return tvmi_fail(vmi, "%s", why);
}

static status_t layout_size(vmi_instance_t vmi, const struct layouts *L,
                            const char *st, size_t *size)
{
    if (L->btf)
        return lx_btf_struct_size(vmi, L->btf, st, size);
    if (lx_isf_struct_size(L->isf, st, size))
        return VMI_SUCCESS;
    return tvmi_fail(vmi, "ISF: no struct or union '%.64s'", st);
}

/* ---- layouts --------------------------------------------------------------- */

/* Every member a view reads. Entries sharing a field are alternatives
 * (the first found wins): which exist is the kernel's version, told by
 * its own BTF (or profile) rather than guessed from the version number. */
#define AT(field) offsetof(struct lx_views, field)
static const struct want {
    enum lx_group group;
    const char *st, *member;
    size_t at;
    bool optional;
} wants[] = {
    { LX_GROUP_TASKS, "task_struct", "tasks", AT(task.tasks), false },
    { LX_GROUP_TASKS, "task_struct", "pid", AT(task.pid), false },
    { LX_GROUP_TASKS, "task_struct", "tgid", AT(task.tgid), false },
    { LX_GROUP_TASKS, "task_struct", "real_parent", AT(task.real_parent), false },
    { LX_GROUP_TASKS, "task_struct", "comm", AT(task.comm), false },
    { LX_GROUP_TASKS, "task_struct", "mm", AT(task.mm), false },
    { LX_GROUP_TASKS, "task_struct", "flags", AT(task.flags), false },
    { LX_GROUP_TASKS, "task_struct", "__state", AT(task.state), true },  /* 5.14+ */
    { LX_GROUP_TASKS, "task_struct", "state", AT(task.state), true },
    { LX_GROUP_TASKS, "task_struct", "exit_state", AT(task.exit_state), true },
    { LX_GROUP_TASKS, "task_struct", "real_cred", AT(task.real_cred), false },
    { LX_GROUP_TASKS, "task_struct", "signal", AT(task.signal), false },
    { LX_GROUP_TASKS, "task_struct", "thread_node", AT(task.thread_node), true },
    { LX_GROUP_TASKS, "signal_struct", "thread_head", AT(task.thread_head), true },
    { LX_GROUP_TASKS, "task_struct", "thread_group", AT(task.thread_group), true },
    { LX_GROUP_TASKS, "cred", "uid", AT(task.uid), false },
    { LX_GROUP_TASKS, "mm_struct", "pgd", AT(task.pgd), false },

    { LX_GROUP_MODULES, "module", "list", AT(mod.list), false },
    { LX_GROUP_MODULES, "module", "name", AT(mod.name), false },
    { LX_GROUP_MODULES, "module", "state", AT(mod.state), false },
    { LX_GROUP_MODULES, "module", "mem", AT(mod.mem), true },       /* 6.4+ */
    { LX_GROUP_MODULES, "module_memory", "base", AT(mod.mem_base), true },
    { LX_GROUP_MODULES, "module_memory", "size", AT(mod.mem_size), true },
    { LX_GROUP_MODULES, "module", "core_layout", AT(mod.core_layout), true },
    { LX_GROUP_MODULES, "module", "init_layout", AT(mod.init_layout), true },
    { LX_GROUP_MODULES, "module_layout", "base", AT(mod.layout_base), true },
    { LX_GROUP_MODULES, "module_layout", "size", AT(mod.layout_size), true },

    { LX_GROUP_LOG, "printk_ringbuffer", "desc_ring", AT(log.desc_ring), false },
    { LX_GROUP_LOG, "printk_ringbuffer", "text_data_ring", AT(log.text_data_ring), false },
    { LX_GROUP_LOG, "prb_desc_ring", "count_bits", AT(log.count_bits), false },
    { LX_GROUP_LOG, "prb_desc_ring", "descs", AT(log.descs), false },
    { LX_GROUP_LOG, "prb_desc_ring", "infos", AT(log.infos), false },
    { LX_GROUP_LOG, "prb_desc_ring", "head_id", AT(log.head_id), false },
    { LX_GROUP_LOG, "prb_desc_ring", "tail_id", AT(log.tail_id), false },
    { LX_GROUP_LOG, "prb_data_ring", "size_bits", AT(log.size_bits), false },
    { LX_GROUP_LOG, "prb_data_ring", "data", AT(log.data), false },
    { LX_GROUP_LOG, "prb_desc", "state_var", AT(log.state_var), false },
    { LX_GROUP_LOG, "prb_desc", "text_blk_lpos", AT(log.text_blk_lpos), false },
    { LX_GROUP_LOG, "prb_data_blk_lpos", "begin", AT(log.begin), false },
    { LX_GROUP_LOG, "prb_data_blk_lpos", "next", AT(log.next), false },
    { LX_GROUP_LOG, "printk_info", "seq", AT(log.seq), false },
    { LX_GROUP_LOG, "printk_info", "ts_nsec", AT(log.ts_nsec), false },
    { LX_GROUP_LOG, "printk_info", "text_len", AT(log.text_len), false },
    { LX_GROUP_LOG, "printk_info", "facility", AT(log.facility), false },
    { LX_GROUP_LOG, "printk_info", "level", AT(log.level), false },
};
#define NWANTS (sizeof(wants) / sizeof(wants[0]))
_Static_assert(NWANTS <= sizeof(((struct lx_views *)0)->found), "found[] too small");

static struct lx_field *field_at(struct lx_views *v, size_t at)
{
    return (struct lx_field *)((char *)v + at);
}

static bool have(const struct lx_field *f) { return f->size != 0; }

static status_t load_wants(vmi_instance_t vmi, const struct layouts *L,
                           struct lx_views *v, enum lx_group group)
{
    for (size_t i = 0; i < NWANTS; i++) {
        const struct want *w = &wants[i];
        struct lx_field *f = field_at(v, w->at);

        if (w->group != group || have(f))
            continue;
        if (layout_field(vmi, L, w->st, w->member, f) == VMI_SUCCESS)
            v->found[i] = true;
        else if (!w->optional)
            return VMI_FAILURE;
    }
    return VMI_SUCCESS;
}

/* The smallest window [lo, hi) of a struct holding every field given;
 * bounded, as the offsets come from the guest's BTF or a profile. */
static status_t window(vmi_instance_t vmi, const char *st,
                       const struct lx_field *const *f, size_t n, size_t *lo,
                       size_t *hi)
{
    *lo = ~(size_t)0;
    *hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!have(f[i]))
            continue;
        if (f[i]->off < *lo)
            *lo = f[i]->off;
        if (f[i]->off + f[i]->size > *hi)
            *hi = f[i]->off + f[i]->size;
    }
    if (*hi <= *lo || *hi - *lo > LX_WINDOW_MAX)
        return tvmi_fail(vmi, "the members read of struct %s span %zu..%zu",
                         st, *lo, *hi);
    return VMI_SUCCESS;
}

/* f lies inside a struct of size bytes. */
static status_t inside(vmi_instance_t vmi, const struct lx_field *f,
                       const char *name, size_t size)
{
    if (f->off <= size && f->size <= size - f->off)
        return VMI_SUCCESS;
    return tvmi_fail(vmi, "%s (offset %zu, %zu bytes) is outside its "
                     "%zu-byte struct", name, f->off, f->size, size);
}

/* Drops a member a kernel has but the views do not need. */
static void forget(struct lx_views *v, struct lx_field *f)
{
    for (size_t i = 0; i < NWANTS; i++)
        if (field_at(v, wants[i].at) == f)
            v->found[i] = false;
    memset(f, 0, sizeof(*f));
}

static status_t need_size(vmi_instance_t vmi, const struct lx_field *f,
                          const char *name, size_t min, size_t max)
{
    if (f->size >= min && f->size <= max && !f->width)
        return VMI_SUCCESS;
    return tvmi_fail(vmi, "%s is %zu bytes (%s%zu..%zu expected)", name,
                     f->size, f->width ? "a bitfield; " : "", min, max);
}

static status_t check_tasks(vmi_instance_t vmi, struct lx_views *v)
{
    struct lx_task_layout *t = &v->task;
    const struct lx_field *in_task[] = {
        &t->tasks, &t->pid, &t->tgid, &t->real_parent, &t->comm, &t->mm,
        &t->flags, &t->state, &t->exit_state, &t->real_cred, &t->signal,
        &t->thread_node, &t->thread_group,
    };

    if (!have(&t->state))
        return tvmi_fail(vmi, "task_struct has neither __state nor state");
    t->thread_head_list = have(&t->thread_node) && have(&t->thread_head);
    if (t->thread_head_list)
        forget(v, &t->thread_group);
    else if (!have(&t->thread_group))
        return tvmi_fail(vmi, "no thread list (task_struct.thread_node "
                         "with signal_struct.thread_head, or thread_group)");
    if (need_size(vmi, &t->pid, "task_struct.pid", 4, 4) ||
        need_size(vmi, &t->tgid, "task_struct.tgid", 4, 4) ||
        need_size(vmi, &t->comm, "task_struct.comm", 2, 64) ||
        need_size(vmi, &t->state, "task_struct.__state", 4, 8) ||
        need_size(vmi, &t->flags, "task_struct.flags", 4, 4) ||
        need_size(vmi, &t->uid, "cred.uid", 4, 4) ||
        need_size(vmi, &t->tasks, "task_struct.tasks", 16, 16))
        return VMI_FAILURE;
    return window(vmi, "task_struct", in_task, sizeof(in_task) / sizeof(in_task[0]),
                  &t->lo, &t->hi);
}

static status_t check_modules(vmi_instance_t vmi, const struct layouts *L,
                              struct lx_module_layout *m)
{
    const struct lx_field *in_mod[] = {
        &m->list, &m->name, &m->state, &m->mem, &m->core_layout, &m->init_layout,
    };
    size_t msize = 0;

    m->has_mem = have(&m->mem) && have(&m->mem_base) && have(&m->mem_size);
    if (m->has_mem) {
        if (layout_size(vmi, L, "module_memory", &msize) ||
            !m->mem.nelems || msize * m->mem.nelems != m->mem.size)
            return tvmi_fail(vmi, "module.mem is not an array of "
                             "struct module_memory");
        m->mem_stride = msize;
        if (inside(vmi, &m->mem_base, "module_memory.base", msize) ||
            inside(vmi, &m->mem_size, "module_memory.size", msize))
            return VMI_FAILURE;
    } else if (!have(&m->core_layout) || !have(&m->layout_base) ||
               !have(&m->layout_size)) {
        return tvmi_fail(vmi, "struct module has neither mem[] (6.4+) "
                         "nor core_layout");
    } else {
        size_t lsize = m->core_layout.size; /* sizeof(struct module_layout) */
        if (inside(vmi, &m->layout_base, "module_layout.base", lsize) ||
            inside(vmi, &m->layout_size, "module_layout.size", lsize))
            return VMI_FAILURE;
        if (have(&m->init_layout) && m->init_layout.size != lsize)
            return tvmi_fail(vmi, "module.init_layout is not a module_layout");
    }
    if (need_size(vmi, &m->list, "module.list", 16, 16) ||
        need_size(vmi, &m->name, "module.name", 2, 256) ||
        need_size(vmi, &m->state, "module.state", 4, 4))
        return VMI_FAILURE;
    return window(vmi, "module", in_mod, sizeof(in_mod) / sizeof(in_mod[0]),
                  &m->lo, &m->hi);
}

static status_t check_log(vmi_instance_t vmi, const struct layouts *L,
                          struct lx_log_layout *l)
{
    if (layout_size(vmi, L, "prb_desc", &l->desc_size) ||
        layout_size(vmi, L, "printk_info", &l->info_size))
        return VMI_FAILURE;
    if (!l->level.width || l->level.size != 1)
        return tvmi_fail(vmi, "printk_info.level is not a bitfield in one byte");
    if (need_size(vmi, &l->seq, "printk_info.seq", 8, 8) ||
        need_size(vmi, &l->ts_nsec, "printk_info.ts_nsec", 8, 8) ||
        need_size(vmi, &l->text_len, "printk_info.text_len", 2, 4) ||
        need_size(vmi, &l->state_var, "prb_desc.state_var", 8, 8) ||
        need_size(vmi, &l->begin, "prb_data_blk_lpos.begin", 8, 8) ||
        need_size(vmi, &l->next, "prb_data_blk_lpos.next", 8, 8) ||
        need_size(vmi, &l->count_bits, "prb_desc_ring.count_bits", 4, 4) ||
        need_size(vmi, &l->size_bits, "prb_data_ring.size_bits", 4, 4) ||
        l->desc_size < 24 || l->desc_size > 4096 || l->info_size < 24 ||
        l->info_size > 4096)
        return tvmi_fail(vmi, "printk ringbuffer layout not understood");
    /* printk_info is read whole, then taken apart */
    if (inside(vmi, &l->seq, "printk_info.seq", l->info_size) ||
        inside(vmi, &l->ts_nsec, "printk_info.ts_nsec", l->info_size) ||
        inside(vmi, &l->text_len, "printk_info.text_len", l->info_size) ||
        inside(vmi, &l->facility, "printk_info.facility", l->info_size) ||
        inside(vmi, &l->level, "printk_info.level", l->info_size))
        return VMI_FAILURE;
    /* so is the front of a descriptor: state_var and text_blk_lpos */
    l->desc_read = l->state_var.off + 8;
    if (l->text_blk_lpos.off + l->begin.off + 8 > l->desc_read)
        l->desc_read = l->text_blk_lpos.off + l->begin.off + 8;
    if (l->text_blk_lpos.off + l->next.off + 8 > l->desc_read)
        l->desc_read = l->text_blk_lpos.off + l->next.off + 8;
    if (l->desc_read > l->desc_size || l->desc_read > LX_DESC_READ_MAX)
        return tvmi_fail(vmi, "prb_desc: state_var and text_blk_lpos are not "
                         "within its first %u bytes", LX_DESC_READ_MAX);
    return VMI_SUCCESS;
}

/* ---- kernel address ranges ----------------------------------------------- */

static bool aligned_kernel(addr_t va, int levels)
{
    addr_t lowest = levels == 5 ? 0xff00000000000000ull : 0xffff800000000000ull;
    return va >= lowest && !(va & ((1ull << 30) - 1));
}

/* page_offset_base (randomised with KASLR, a variable since 4.x), checked by
 * translating the image's first page through it. */
static status_t find_dmap(vmi_instance_t vmi, struct lx_state *st,
                          struct lx_kspace *ks)
{
    int levels = st->info.paging_levels;
    addr_t va, base = levels == 5 ? LX_DMAP_L5 : LX_DMAP_L4, pa;
    uint64_t v;

    if (lx_sym_lookup(&st->syms, "page_offset_base", &va) &&
        lx_kread(vmi, va, &v, 8) == VMI_SUCCESS && aligned_kernel(v, levels))
        base = v;
    if (vmi_translate_kv2p(vmi, base + st->info.text_pa, &pa) != VMI_SUCCESS ||
        pa != st->info.text_pa)
        return tvmi_fail(vmi, "the direct map of RAM is not at 0x%llx "
                         "(page_offset_base): it does not map _text's PA",
                         (unsigned long long)base);
    ks->dmap_lo = base;
    ks->dmap_hi = base + vmi->max_pa;
    return VMI_SUCCESS;
}

static status_t kspace_init(vmi_instance_t vmi, struct lx_state *st,
                            struct lx_kspace *ks)
{
    if (find_dmap(vmi, st, ks) != VMI_SUCCESS)
        return VMI_FAILURE;
    ks->img_lo = st->info.text_va;
    ks->img_hi = st->info.end_va;
    ks->mod_lo = ks->img_hi > LX_MODULES_LO ? ks->img_hi : LX_MODULES_LO;
    ks->mod_hi = LX_MODULES_HI;
    return VMI_SUCCESS;
}

bool lx_kaddr_ok(const struct lx_kspace *ks, enum lx_area area, addr_t va)
{
    if (va >= ks->img_lo && va < ks->img_hi)
        return true;
    if (area == LX_AREA_MODULE)
        return va >= ks->mod_lo && va < ks->mod_hi;
    return va >= ks->dmap_lo && va < ks->dmap_hi;
}

/* ---- the views' state ------------------------------------------------------ */

void lx_views_free(struct lx_views *v)
{
    if (!v)
        return;
    free(v->buf);
    free(v->walk.key);
    free(v->walk.gen);
    free(v->listed.key);
    free(v->listed.gen);
    free(v);
}

static status_t load_group(vmi_instance_t vmi, struct lx_state *st,
                           struct lx_views *v, enum lx_group group)
{
    static const char *const names[] = { "tasks", "modules", "kernel log" };
    struct layouts L;
    status_t rc;

    if (layouts_of(vmi, st, &L) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "layouts for the %s", names[group]);
    if (load_wants(vmi, &L, v, group) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "layouts for the %s (%s)", names[group], L.name);
    if (group == LX_GROUP_TASKS)
        rc = check_tasks(vmi, v);
    else if (group == LX_GROUP_MODULES)
        rc = check_modules(vmi, &L, &v->mod);
    else
        rc = check_log(vmi, &L, &v->log);
    return rc ? tvmi_fail_ctx(vmi, "layouts for the %s (%s)", names[group], L.name)
              : rc;
}

struct lx_views *lx_views_get(vmi_instance_t vmi, struct lx_state **stp,
                              enum lx_group group)
{
    struct lx_state *st = lx_state_of(vmi);
    struct lx_views *v;
    bool *ready;

    if (!st)
        return NULL;
    *stp = st;
    if (!st->views && !(st->views = calloc(1, sizeof(*st->views)))) {
        tvmi_fail(vmi, "out of memory");
        return NULL;
    }
    v = st->views;
    if (!v->ks_ready && kspace_init(vmi, st, &v->ks) != VMI_SUCCESS)
        return NULL;
    v->ks_ready = true;
    ready = group == LX_GROUP_TASKS ? &v->task_ready :
            group == LX_GROUP_MODULES ? &v->mod_ready : &v->log_ready;
    if (!*ready && load_group(vmi, st, v, group) != VMI_SUCCESS)
        return NULL;
    *ready = true;
    return v;
}

size_t lx_view_fields(vmi_instance_t vmi, struct lx_views *v,
                      tvmi_linux_field_t *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < NWANTS; i++) {
        const struct lx_field *f = field_at(v, wants[i].at);

        if (!v->found[i])
            continue;
        if (n < max)
            out[n] = (tvmi_linux_field_t){ wants[i].st, wants[i].member,
                                           f->off, f->size };
        n++;
    }
    return n;
}

size_t tvmi_linux_view_fields(vmi_instance_t vmi, tvmi_linux_field_t *out,
                              size_t max)
{
    struct lx_state *st;
    struct lx_views *v = NULL;

    /* each group that loads adds its fields; one that fails adds none */
    for (int g = LX_GROUP_TASKS; g <= LX_GROUP_LOG; g++) {
        struct lx_views *got = lx_views_get(vmi, &st, (enum lx_group)g);
        if (got)
            v = got;
    }
    if (!v && vmi && lx_state_of(vmi))
        v = lx_state_of(vmi)->views;
    return v ? lx_view_fields(vmi, v, out, max) : 0;
}

/* ---- reading --------------------------------------------------------------- */

status_t lx_kread(vmi_instance_t vmi, addr_t va, void *buf, size_t len)
{
    return vmi_read_va(vmi, va, 0, len, buf, NULL);
}

status_t lx_buf_reserve(vmi_instance_t vmi, struct lx_views *v, size_t len)
{
    uint8_t *b;

    if (len <= v->buf_len)
        return VMI_SUCCESS;
    if (!(b = realloc(v->buf, len)))
        return tvmi_fail(vmi, "out of memory");
    v->buf = b;
    v->buf_len = len;
    return VMI_SUCCESS;
}

status_t lx_read_window(vmi_instance_t vmi, struct lx_views *v, addr_t va,
                        size_t lo, size_t hi)
{
    if (lx_buf_reserve(vmi, v, hi - lo))
        return VMI_FAILURE;
    if (va + lo < va)
        return tvmi_fail(vmi, "struct at 0x%llx wraps around", (unsigned long long)va);
    return lx_kread(vmi, va + lo, v->buf, hi - lo);
}

status_t lx_stream_read(vmi_instance_t vmi, struct lx_stream *s, addr_t va,
                        void *out, size_t len)
{
    addr_t page = va & ~(addr_t)(LX_STREAM_BYTES - 1);

    if (!len || va + len < va || va + len - page > LX_STREAM_BYTES)
        return lx_kread(vmi, va, out, len); /* not within one page */
    if (s->state == LX_STREAM_EMPTY || s->page != page) {
        s->page = page;
        s->state = lx_kread(vmi, page, s->buf, LX_STREAM_BYTES) == VMI_SUCCESS
                       ? LX_STREAM_FULL : LX_STREAM_UNREADABLE;
    }
    if (s->state == LX_STREAM_UNREADABLE)
        return VMI_FAILURE;
    memcpy(out, s->buf + (va - page), len);
    return VMI_SUCCESS;
}

uint64_t lx_get(const struct lx_views *v, size_t lo, const struct lx_field *f)
{
    const uint8_t *p;
    uint64_t x = 0;
    size_t n = f->size > 8 ? 8 : f->size;

    if (!f->size) /* an optional member this kernel does not have */
        return 0;
    p = v->buf + (f->off - lo);
    memcpy(&x, p, n); /* little-endian host and guest, any alignment */
    if (f->width)
        x = (x >> f->bit) & ((1ull << f->width) - 1);
    return x;
}

/* ---- sets of addresses -------------------------------------------------- */

static size_t slot(addr_t a, size_t cap)
{
    uint64_t h = (a >> 3) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

static void put(struct lx_seen *s, addr_t a)
{
    size_t i = slot(a, s->cap);

    while (s->gen[i] == s->cur)
        i = (i + 1) & (s->cap - 1);
    s->key[i] = a;
    s->gen[i] = s->cur;
    s->used++;
}

static bool grow(struct lx_seen *s)
{
    size_t cap = s->cap ? 2 * s->cap : 256, old_cap = s->cap;
    addr_t *old_key = s->key;
    uint32_t *old_gen = s->gen;

    s->key = malloc(cap * sizeof(*s->key));
    s->gen = calloc(cap, sizeof(*s->gen));
    if (!s->key || !s->gen) {
        free(s->key);
        free(s->gen);
        s->key = old_key;
        s->gen = old_gen;
        return false;
    }
    s->cap = cap;
    s->used = 0;
    if (!s->cur)
        s->cur = 1;
    for (size_t i = 0; i < old_cap; i++)
        if (old_gen[i] == s->cur)
            put(s, old_key[i]);
    free(old_key);
    free(old_gen);
    return true;
}

bool lx_seen_has(const struct lx_seen *s, addr_t a)
{
    if (!s->cap)
        return false;
    for (size_t i = slot(a, s->cap); s->gen[i] == s->cur; i = (i + 1) & (s->cap - 1))
        if (s->key[i] == a)
            return true;
    return false;
}

int lx_seen_add(struct lx_seen *s, addr_t a)
{
    if (lx_seen_has(s, a))
        return 0;
    if (2 * (s->used + 1) > s->cap && !grow(s))
        return -1;
    put(s, a);
    return 1;
}

void lx_seen_clear(struct lx_seen *s)
{
    s->used = 0;
    if (++s->cur == 0) { /* generations wrapped: really empty it */
        if (s->gen)
            memset(s->gen, 0, s->cap * sizeof(*s->gen));
        s->cur = 1;
    }
}

/* ---- reports ---------------------------------------------------------------- */

void lx_report_note(struct lx_report *r, const char *fmt, ...)
{
    va_list ap;

    if (r->problems++)
        return;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

void lx_report_done(vmi_instance_t vmi, const struct lx_report *r, int *partial)
{
    if (partial)
        *partial = r->problems != 0;
    if (!r->problems)
        vmi->err[0] = '\0';
    else if (r->problems == 1)
        tvmi_fail(vmi, "partial result: %s", r->why);
    else
        tvmi_fail(vmi, "partial result: %s (and %zu more problems)", r->why,
                  r->problems - 1);
}

/* ---- list walks -------------------------------------------------------------- */

struct links {
    addr_t next, prev;
};

static bool read_links(vmi_instance_t vmi, addr_t node, struct links *l)
{
    uint64_t v[2];

    if (lx_kread(vmi, node, v, sizeof(v)) != VMI_SUCCESS)
        return false;
    l->next = v[0];
    l->prev = v[1];
    return true;
}

static bool push(struct lx_list *l, addr_t node)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        addr_t *p = realloc(l->node, cap * sizeof(*p));
        if (!p)
            return false;
        l->node = p;
        l->cap = cap;
    }
    l->node[l->n++] = node;
    return true;
}

/* Why node cannot be followed, or NULL; reads its links when it can. */
static const char *refuse(vmi_instance_t vmi, struct lx_views *v,
                          const struct lx_list *l, addr_t node, struct links *lk)
{
    int added;

    if (!lx_kaddr_ok(&v->ks, l->area, node))
        return l->area == LX_AREA_MODULE ? "not in the module area"
                                         : "not in the kernel's memory";
    added = lx_seen_add(&v->walk, node);
    if (added < 0)
        return "out of memory";
    if (added == 0)
        return "an entry seen before (the list loops)";
    if (!read_links(vmi, node, lk))
        return "unreadable";
    return NULL;
}

/* From the head's prev backwards until the part walked forwards. */
static void walk_back(vmi_instance_t vmi, struct lx_views *v, struct lx_list *l,
                      addr_t last)
{
    size_t first = l->n;
    addr_t next = l->head, cur = last;
    struct links lk;

    while (cur != l->head && l->n < l->max && !lx_seen_has(&v->walk, cur) &&
           !refuse(vmi, v, l, cur, &lk)) {
        if (lk.next != next)
            lx_report_note(l->rep, "%s: entry 0x%llx walking back: its next "
                           "(0x%llx) is not the entry after it (0x%llx)", l->what,
                           (unsigned long long)cur, (unsigned long long)lk.next,
                           (unsigned long long)next);
        if (!push(l, cur))
            break;
        next = cur;
        cur = lk.prev;
    }
    for (size_t i = first, j = l->n; i + 1 < j; i++, j--) {
        addr_t t = l->node[i];
        l->node[i] = l->node[j - 1];
        l->node[j - 1] = t;
    }
}

status_t lx_list_walk(vmi_instance_t vmi, struct lx_views *v, struct lx_list *l)
{
    struct links head, lk;
    addr_t prev = l->head, cur;
    const char *why;

    lx_seen_clear(&v->walk);
    if (!read_links(vmi, l->head, &head))
        return tvmi_fail_ctx(vmi, "%s: its head at 0x%llx", l->what,
                             (unsigned long long)l->head);
    for (cur = head.next; cur != l->head; prev = cur, cur = lk.next) {
        if (l->n >= l->max) {
            lx_report_note(l->rep, "%s: more than %zu entries: the rest is "
                           "not listed", l->what, l->max);
            return VMI_SUCCESS;
        }
        why = refuse(vmi, v, l, cur, &lk);
        if (why) {
            lx_report_note(l->rep, "%s: the next link of %s%zu (0x%llx) points "
                           "to 0x%llx: %s", l->what, l->n ? "entry " : "the head, "
                           "entry ", l->n, (unsigned long long)prev,
                           (unsigned long long)cur, why);
            walk_back(vmi, v, l, head.prev);
            if (l->n >= l->max)
                lx_report_note(l->rep, "%s: more than %zu entries", l->what,
                               l->max);
            return VMI_SUCCESS;
        }
        if (lk.prev != prev)
            lx_report_note(l->rep, "%s: entry %zu (0x%llx): its prev (0x%llx) "
                           "is not the entry before it (0x%llx)", l->what, l->n + 1,
                           (unsigned long long)cur, (unsigned long long)lk.prev,
                           (unsigned long long)prev);
        if (!push(l, cur))
            return tvmi_fail(vmi, "%s: out of memory", l->what);
    }
    return VMI_SUCCESS;
}

void lx_list_free(struct lx_list *l)
{
    free(l->node);
    l->node = NULL;
    l->n = l->cap = 0;
}
