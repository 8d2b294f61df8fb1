/*
 * The symbol table and its two indexes: addresses are already sorted
 * (kallsyms keeps them so), names get an index sorted by (name, table
 * index). Kernels since 6.2 (and Debian's 6.1) ship that very index as
 * kallsyms_seqs_of_names; we use it after checking it, which saves the sort.
 *
 * Decoding every name (~3 MB for 170k symbols) and checking the kernel's
 * index costs more than all the rest of discovery, and most users need a
 * dozen symbols. So the table starts lazy: a lookup binary-searches
 * kallsyms_seqs_of_names decoding only the ~18 names it compares. That
 * index is not checked then; it need not be: an answer is a name that
 * compared equal, and a miss is confirmed by a linear pass over all names
 * before it is believed. Whatever needs names by index or address
 * (v2ksym, iteration, profiles) decodes the whole table once
 * (lx_syms_full), as do kernels without seqs_of_names and heavy users.
 */
#include "lx.h"

#define FULL_AFTER_SEARCHES 256 /* binary searches before decoding it all */
#define FULL_AFTER_SCANS 8      /* linear passes (misses) before the same */

void lx_syms_free(struct lx_syms *syms)
{
    lx_view_unmap(&syms->addrs);
    lx_view_unmap(&syms->seqs);
    free(syms->name);
    free(syms->by_name);
    free(syms->pool);
    if (syms->lazy) {
        lx_view_unmap(&syms->lazy->win);
        lx_view_unmap(&syms->lazy->seqs);
        free(syms->lazy);
    }
    memset(syms, 0, sizeof(*syms));
}

/* (name, index) order: equal names (static functions) keep table order,
 * so the first match of a lookup is the lowest address, as in the kernel. */
static int name_order(const struct lx_syms *s, uint32_t a, uint32_t b)
{
    int c = strcmp(lx_sym_name(s, a), lx_sym_name(s, b));
    return c ? c : (a > b) - (a < b);
}

/* kallsyms_seqs_of_names: 3 bytes a symbol, big-endian. Used only if it is
 * a permutation that really sorts the names. */
static bool seqs_sort_names(const struct lx_syms *s)
{
    uint8_t *seen = calloc(s->count / 8 + 1, 1);
    bool ok = seen != NULL;

    for (uint32_t i = 0; ok && i < s->count; i++) {
        uint32_t v = lx_by_name(s, i);

        ok = v < s->count && !(seen[v / 8] & (1u << (v % 8)));
        if (ok)
            seen[v / 8] |= (uint8_t)(1u << (v % 8));
        if (ok && i)
            ok = name_order(s, lx_by_name(s, i - 1), v) < 0;
    }
    free(seen);
    return ok;
}

struct sort_ent {
    const char *name;
    uint32_t index;
};

static int sort_cmp(const void *a, const void *b)
{
    const struct sort_ent *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static status_t index_by_sorting(vmi_instance_t vmi, struct lx_syms *s)
{
    struct sort_ent *e = malloc(sizeof(*e) * s->count);

    s->by_name = malloc(sizeof(*s->by_name) * s->count);
    if (!e || !s->by_name) {
        free(e);
        free(s->by_name);
        s->by_name = NULL;
        return tvmi_fail(vmi, "indexing symbols: out of memory");
    }
    for (uint32_t i = 0; i < s->count; i++) {
        e[i].name = lx_sym_name(s, i);
        e[i].index = i;
    }
    qsort(e, s->count, sizeof(*e), sort_cmp);
    for (uint32_t i = 0; i < s->count; i++)
        s->by_name[i] = e[i].index;
    free(e);
    return VMI_SUCCESS;
}

status_t lx_syms_index(vmi_instance_t vmi, struct lx_syms *s,
                       struct lx_view *seqs)
{
    s->seqs = *seqs;
    if (s->seqs.p && seqs_sort_names(s))
        return VMI_SUCCESS;
    lx_view_unmap(&s->seqs);
    return index_by_sorting(vmi, s);
}

/* ---- the tables in memory, mapped when first needed ------------------------ */

status_t lx_syms_lazy(vmi_instance_t vmi, struct lx_syms *s,
                      const struct lx_tables *tab, struct lx_view *win,
                      addr_t win_pa, size_t win_len)
{
    struct lx_lazy *z = calloc(1, sizeof(*z));

    if (!z) {
        if (win)
            lx_view_unmap(win);
        return tvmi_fail(vmi, "symbols: out of memory");
    }
    z->vmi = vmi;
    z->tab = tab;
    if (win && win->p) {
        z->win = *win;
        z->win_pa = win_pa;
        z->win_len = win_len;
        z->win_tried = true;
    }
    s->lazy = z;
    return VMI_SUCCESS;
}

static size_t markers_len(const struct lx_tables *t)
{
    return 4 * (size_t)((t->num_syms + 255) / 256);
}

static bool in_win(const struct lx_lazy *z, addr_t pa, size_t len)
{
    return z->win.p && pa >= z->win_pa && pa - z->win_pa <= z->win_len &&
           len <= z->win_len - (pa - z->win_pa);
}

/* names .. end of markers as one mapping (hinted tables have none yet). */
static bool names_of(struct lx_lazy *z, struct lx_names *n)
{
    const struct lx_tables *t = z->tab;
    size_t mlen = markers_len(t);

    if (!z->win_tried) {
        z->win_tried = true;
        z->win_pa = t->names_pa;
        z->win_len = (size_t)(t->markers_pa - t->names_pa) + mlen;
        if (t->markers_pa < t->names_pa || z->win_len > LX_NAMES_MAX ||
            !lx_view_map(z->vmi, z->win_pa, z->win_len, &z->win))
            memset(&z->win, 0, sizeof(z->win));
    }
    if (!in_win(z, t->names_pa, (size_t)(t->names_end_pa - t->names_pa)) ||
        !in_win(z, t->markers_pa, mlen))
        return false;
    n->names = z->win.p + (t->names_pa - z->win_pa);
    n->len = (size_t)(t->names_end_pa - t->names_pa);
    n->markers = z->win.p + (t->markers_pa - z->win_pa);
    n->tok = &t->tok;
    n->count = t->num_syms;
    return true;
}

static uint32_t seq_at(const uint8_t *seqs, uint32_t i)
{
    const uint8_t *p = seqs + 3 * (size_t)i;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Each index once: cheap (no names), and what is left to trust of an
 * index a search only samples (that it sorts is checked by the full
 * decode). */
static bool is_permutation(const uint8_t *seqs, uint32_t n)
{
    uint8_t *seen = calloc(n / 8 + 1, 1);
    bool ok = seen != NULL;

    for (uint32_t i = 0; ok && i < n; i++) {
        uint32_t v = seq_at(seqs, i);

        ok = v < n && !(seen[v / 8] & (1u << (v % 8)));
        if (ok)
            seen[v / 8] |= (uint8_t)(1u << (v % 8));
    }
    free(seen);
    return ok;
}

static const uint8_t *seqs_of(struct lx_lazy *z)
{
    const struct lx_tables *t = z->tab;
    size_t len = 3 * (size_t)t->num_syms;

    if (z->seqs_tried || !t->seqs_pa)
        return z->seqs_p;
    z->seqs_tried = true;
    if (in_win(z, t->seqs_pa, len))
        z->seqs_p = z->win.p + (t->seqs_pa - z->win_pa);
    else if (lx_view_map(z->vmi, t->seqs_pa, len, &z->seqs))
        z->seqs_p = z->seqs.p;
    if (z->seqs_p && !is_permutation(z->seqs_p, t->num_syms)) {
        z->seqs_p = NULL;
        lx_view_unmap(&z->seqs);
    }
    return z->seqs_p;
}

bool lx_syms_seqs_usable(struct lx_syms *s)
{
    if (!s->lazy || s->lazy->full == 1)
        return s->seqs.p != NULL;
    return seqs_of(s->lazy) != NULL;
}

/* The address table; a hinted one is checked to sort before first use. */
static bool addrs_of(struct lx_syms *s)
{
    struct lx_lazy *z = s->lazy;
    size_t width = s->kind == LX_ADDR_ABSOLUTE ? 8 : 4;

    if (z->addrs_ready)
        return s->addrs.p != NULL;
    z->addrs_ready = true;
    if (!lx_view_map(z->vmi, z->tab->addrs_pa, width * s->count, &s->addrs))
        return false;
    if (!lx_addresses_sorted(s->kind, s->base, s->addrs.p, s->count))
        lx_view_unmap(&s->addrs);
    return s->addrs.p != NULL;
}

status_t lx_syms_full(vmi_instance_t vmi, struct lx_syms *s)
{
    struct lx_lazy *z = s->lazy;
    struct lx_view seqs = { 0 };
    struct lx_names n;

    if (!z || z->full == 1)
        return VMI_SUCCESS;
    if (z->full < 0)
        return tvmi_fail(vmi, "%s", z->why);
    if (!names_of(z, &n))
        snprintf(z->why, sizeof(z->why), "kallsyms_names at PA 0x%llx: cannot "
                 "be read", (unsigned long long)z->tab->names_pa);
    else if (!addrs_of(s))
        snprintf(z->why, sizeof(z->why), "kallsyms addresses at PA 0x%llx: not "
                 "sorted or not readable", (unsigned long long)z->tab->addrs_pa);
    else if (lx_names_decode(vmi, &n, s) != VMI_SUCCESS)
        snprintf(z->why, sizeof(z->why), "%.200s", vmi->err);
    if (z->why[0]) {
        z->full = -1;
        return tvmi_fail(vmi, "%s", z->why);
    }
    /* the index takes a view of seqs; it stays in z's mappings */
    seqs.p = seqs_of(z);
    if (lx_syms_index(vmi, s, &seqs) != VMI_SUCCESS) {
        snprintf(z->why, sizeof(z->why), "%.200s", vmi->err);
        z->full = -1;
        return VMI_FAILURE;
    }
    z->full = 1;
    return VMI_SUCCESS;
}

/* ---- lookups ----------------------------------------------------------------- */

static bool index_lookup(const struct lx_syms *s, const char *name, addr_t *va)
{
    uint32_t lo = 0, hi = s->count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (strcmp(lx_sym_name(s, lx_by_name(s, mid)), name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->count || strcmp(lx_sym_name(s, lx_by_name(s, lo)), name))
        return false;
    *va = lx_sym_addr(s, lx_by_name(s, lo));
    return true;
}

static const struct lx_known *known_find(const struct lx_lazy *z,
                                         const char *name)
{
    for (size_t i = 0; i < z->nknown; i++)
        if (!strcmp(z->known[i].name, name))
            return &z->known[i];
    return NULL;
}

void lx_syms_shift(struct lx_syms *s, int64_t delta)
{
    s->base += (uint64_t)delta;
    if (s->lazy)
        for (size_t i = 0; i < s->lazy->nknown; i++)
            s->lazy->known[i].va += (uint64_t)delta;
}

void lx_syms_know(struct lx_syms *s, const char *name, bool found, addr_t va)
{
    struct lx_lazy *z = s->lazy;
    struct lx_known *k;

    if (!z || z->nknown >= LX_KNOWN_MAX || strlen(name) >= LX_KNOWN_NAME ||
        known_find(z, name))
        return;
    k = &z->known[z->nknown++];
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->found = found;
    k->va = va;
}

/* Lower bound of name through seqs_of_names; 1 found (*idx), 0 not
 * there if the index is right, -1 the index is unusable. */
static int seqs_search(const struct lx_names *n, const uint8_t *seqs,
                       const char *name, uint32_t *idx)
{
    uint32_t lo = 0, hi = n->count, at;
    int c;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        at = seq_at(seqs, mid);
        c = lx_names_cmp(n, at, name);
        if (c == 2)
            return -1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n->count || (c = lx_names_cmp(n, (at = seq_at(seqs, lo)), name)) == 2)
        return lo == n->count ? 0 : -1;
    if (c)
        return 0;
    /* Names repeat (static functions): the answer is the first in table
     * order, as the full index gives, whatever order the kernel's index
     * put the equal names in. Bounded by the count. */
    for (uint32_t k = lo + 1; k < n->count; k++) {
        uint32_t other = seq_at(seqs, k);

        if (lx_names_cmp(n, other, name) != 0)
            break;
        if (other < at)
            at = other;
    }
    *idx = at;
    return 1;
}

static bool lazy_lookup(struct lx_syms *s, const char *name, addr_t *va)
{
    struct lx_lazy *z = s->lazy;
    const uint8_t *seqs = seqs_of(z);
    struct lx_names n;
    uint32_t idx;
    int r = -1;

    if (!names_of(z, &n) || !addrs_of(s))
        return false;
    if (seqs) {
        z->searches++;
        r = seqs_search(&n, seqs, name, &idx);
    }
    if (r != 1) {
        z->scans++;
        r = lx_names_find(&n, name, &idx);
    }
    if (r == 1)
        *va = lx_sym_addr(s, idx);
    return r == 1;
}

static bool go_full(const struct lx_syms *s)
{
    struct lx_lazy *z = s->lazy;

    return !seqs_of(z) || z->searches >= FULL_AFTER_SEARCHES ||
           z->scans >= FULL_AFTER_SCANS;
}

bool lx_sym_lookup(struct lx_syms *s, const char *name, addr_t *va)
{
    struct lx_lazy *z = s->lazy;
    const struct lx_known *k;
    addr_t a = 0;
    bool found;

    if (!z || z->full == 1)
        return index_lookup(s, name, va);
    if ((k = known_find(z, name))) {
        if (k->found)
            *va = k->va;
        return k->found;
    }
    if (z->full == 0 && go_full(s) && lx_syms_full(z->vmi, s) == VMI_SUCCESS)
        return index_lookup(s, name, va);
    found = lazy_lookup(s, name, &a);
    lx_syms_know(s, name, found, a);
    if (found)
        *va = a;
    return found;
}

/* ---- single entries, without decoding the whole table ------------------------ */

bool lx_syms_addrs_ready(struct lx_syms *s)
{
    if (!s->lazy || s->lazy->full == 1)
        return s->addrs.p != NULL;
    return addrs_of(s);
}

/* By index or address, names come from the whole table when it can be
 * decoded (their pointers then live as long as the instance). Only when it
 * cannot, for want of memory in the appliance, is each entry decoded alone
 * into the ring. */
const char *lx_sym_entry(struct lx_syms *s, uint32_t i)
{
    struct lx_lazy *z = s->lazy;
    struct lx_names n;
    char *buf;

    if (i >= s->count)
        return NULL;
    if (!z || z->full == 1 ||
        (z->full == 0 && lx_syms_full(z->vmi, s) == VMI_SUCCESS))
        return s->pool + s->name[i];
    if (!names_of(z, &n))
        return NULL;
    buf = z->ring[z->ring_next++ % LX_NAME_RING];
    return lx_names_get(&n, i, buf, LX_NAME_MAX) ? buf : NULL;
}

/* First index whose address is >= va (or > va when after). */
static uint32_t addr_bound(const struct lx_syms *s, addr_t va, bool after)
{
    uint32_t lo = 0, hi = s->count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t a = lx_sym_addr(s, mid);
        if (a < va || (after && a == va))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long lx_sym_at_or_below(const struct lx_syms *s, addr_t va)
{
    uint32_t i;

    if (!s->addrs.p || va < s->text_lo || va >= s->text_hi)
        return -1;
    i = addr_bound(s, va, true);
    if (i == 0)
        return -1;
    return (long)addr_bound(s, lx_sym_addr(s, i - 1), false);
}
