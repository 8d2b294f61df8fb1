/*
 * The decoded symbol table and its two indexes: addresses are already
 * sorted (kallsyms keeps them so), names get an index sorted by (name,
 * table index). Kernels since 6.2 (and Debian's 6.1) ship that very index as
 * kallsyms_seqs_of_names; we use it after checking it, which saves the sort.
 */
#include "lx.h"

void lx_syms_free(struct lx_syms *syms)
{
    lx_view_unmap(&syms->addrs);
    lx_view_unmap(&syms->seqs);
    free(syms->name);
    free(syms->by_name);
    free(syms->pool);
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

bool lx_sym_lookup(const struct lx_syms *s, const char *name, addr_t *va)
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

    if (va < s->text_lo || va >= s->text_hi)
        return -1;
    i = addr_bound(s, va, true);
    if (i == 0)
        return -1;
    return (long)addr_bound(s, lx_sym_addr(s, i - 1), false);
}
