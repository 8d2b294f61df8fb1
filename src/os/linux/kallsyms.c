/*
 * From a validated kallsyms_token_table to the whole symbol table.
 *
 * scripts/kallsyms.c emits its tables in an order that changed over the
 * releases (see docs/linux-discovery.md):
 *
 *   5.10      offsets relative_base num_syms names markers token_table token_index
 *   6.1 deb   offsets relative_base num_syms names markers seqs token_table token_index
 *   6.12      num_syms names markers token_table token_index offsets relative_base seqs
 *
 * Two things held in every release: kallsyms_num_syms is followed by
 * kallsyms_names, and kallsyms_markers (u32) ends just before the token
 * table, or before kallsyms_seqs_of_names (3 bytes a symbol) which then ends
 * there. So we look backwards from the token table for a count n whose n
 * names decode exactly up to markers that agree with them, then try each
 * place the addresses may be, keeping the one that sorts. Nothing is taken
 * on position alone.
 */
#include "lx.h"

#define MAX_FULL_WALKS 32 /* candidates decoded in full per window */

struct win {
    addr_t base;
    size_t len;
    const uint8_t *buf;
};

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Reads the entry length at names[*pos]: one byte, or two when bit 7 of
 * the first is set (the "big symbol" encoding of 6.1+; older kernels never
 * set it as their names are shorter than 128). 0 when out of bounds. */
static size_t entry_len(const uint8_t *names, size_t len, size_t *pos)
{
    size_t l;

    if (*pos >= len)
        return 0;
    l = names[(*pos)++];
    if (l & 0x80) {
        if (*pos >= len)
            return 0;
        l = (l & 0x7f) | (size_t)names[(*pos)++] << 7;
    }
    return l <= len - *pos ? l : 0;
}

/* Pass 1: do n entries fit in names[0, len), with each 256th at the offset
 * kallsyms_markers says, and decoded names of sane length? */
static bool names_walk(const uint8_t *names, size_t len, uint32_t n,
                       const struct lx_tokens *tk, const uint8_t *markers,
                       size_t *end, size_t *decoded)
{
    size_t pos = 0, total = 0;

    for (uint32_t i = 0; i < n; i++) {
        size_t l, dl = 0;

        if ((i & 255) == 0 && lx_get_u32(markers + 4 * (i >> 8)) != pos)
            return false;
        l = entry_len(names, len, &pos);
        if (l == 0)
            return false;
        for (size_t k = 0; k < l; k++)
            dl += tk->len[names[pos + k]];
        if (dl < 2 || dl >= LX_NAME_MAX)
            return false;
        total += dl + 1;
        pos += l;
    }
    *end = pos;
    *decoded = total;
    return true;
}

/* Cheap tests of a markers candidate at w->buf[m] before a full walk. */
static bool markers_plausible(const struct win *w, size_t names, size_t m,
                              uint32_t n)
{
    size_t count = (n + 255) / 256;

    if (m < names + 2 * (size_t)n || m + 4 * count > w->len)
        return false;
    if (lx_get_u32(w->buf + m) != 0)
        return false;
    if (count > 1 && lx_get_u32(w->buf + m + 4) < 2 * 256)
        return false;
    return lx_get_u32(w->buf + m + 4 * (count - 1)) < m - names;
}

/* Has the names table of n entries at w->buf[names] its markers at m? */
static bool layout_fits(vmi_instance_t vmi, const struct win *w, size_t names,
                        size_t m, uint32_t n, struct lx_tables *tab,
                        int *walks)
{
    size_t end, decoded;

    if (!markers_plausible(w, names, m, n) || (*walks)++ >= MAX_FULL_WALKS)
        return false;
    if (!names_walk(w->buf + names, m - names, n, &tab->tok, w->buf + m,
                    &end, &decoded))
        return false;
    if (m - (names + end) >= 8) /* only alignment may separate them */
        return false;
    tab->num_syms = n;
    tab->names_pa = w->base + names;
    tab->names_end_pa = w->base + names + end;
    tab->markers_pa = w->base + m;
    return true;
}

/* Tries markers right before the token table, then before a
 * kallsyms_seqs_of_names that ends there. */
static bool try_count(vmi_instance_t vmi, const struct win *w, size_t names,
                      uint32_t n, struct lx_tables *tab, int *walks)
{
    size_t t = (size_t)(tab->tok.table_pa - w->base);
    size_t mlen = 4 * (size_t)((n + 255) / 256), s;

    for (size_t pad = 0; pad < 8; pad += 4) {
        size_t m = t - mlen - pad;
        if (t >= mlen + pad && align_up(m + mlen, 8) == t &&
            layout_fits(vmi, w, names, m, n, tab, walks)) {
            tab->seqs_pa = 0;
            return true;
        }
    }
    if (t < 3 * (size_t)n + mlen + 8)
        return false;
    s = (t - 3 * (size_t)n) & ~(size_t)7;
    if (align_up(s + 3 * (size_t)n, 8) != t)
        return false;
    for (size_t pad = 0; pad < 8; pad += 4) {
        size_t m = s - mlen - pad;
        if (s >= mlen + pad && align_up(m + mlen, 8) == s &&
            layout_fits(vmi, w, names, m, n, tab, walks)) {
            tab->seqs_pa = w->base + s;
            tab->seqs_before_tokens = true;
            return true;
        }
    }
    return false;
}

static bool search_window(vmi_instance_t vmi, const struct win *w,
                          struct lx_tables *tab)
{
    size_t t = (size_t)(tab->tok.table_pa - w->base);
    int walks = 0;

    for (size_t q = (t - 4) & ~(size_t)3; q >= 4 && q < t; q -= 4) {
        uint32_t n = lx_get_u32(w->buf + q);

        if (n < LX_MIN_SYMS || n > LX_MAX_SYMS)
            continue;
        if (try_count(vmi, w, align_up(q + 4, 8), n, tab, &walks) ||
            ((q & 7) == 0 && try_count(vmi, w, q + 4, n, tab, &walks))) {
            tab->num_syms_pa = w->base + q;
            return true;
        }
        if (walks >= MAX_FULL_WALKS)
            return false;
    }
    return false;
}

/* kallsyms_num_syms, _names and _markers: windows of growing size below
 * the token table. */
static status_t find_names(vmi_instance_t vmi, struct lx_tables *tab)
{
    static const size_t spans[] = { 4u << 20, 32u << 20 };
    addr_t t = tab->tok.table_pa;

    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        struct lx_view view;
        struct win w;
        bool found;

        /* Page-aligned, so alignment in the window is alignment in RAM. */
        w.base = (t > spans[i] ? t - spans[i] : 0) & TVMI_PAGE_MASK;
        w.len = (size_t)(t - w.base);
        if (!lx_view_map(vmi, w.base, w.len, &view))
            return tvmi_fail(vmi, "out of memory");
        w.buf = view.p;
        found = search_window(vmi, &w, tab);
        lx_view_unmap(&view);
        if (found)
            return VMI_SUCCESS;
        if (w.base == 0)
            break;
    }
    return tvmi_fail(vmi, "step 2 (kallsyms_num_syms/names/markers): no "
                     "symbol count within 32 MiB below the token table at PA "
                     "0x%llx whose names decode up to matching markers",
                     (unsigned long long)t);
}

/* ---- addresses ---------------------------------------------------------- */

/* kallsyms keeps its table sorted by address, and only the right reading
 * of the offsets gives a sorted table that reaches kernel text. With
 * KALLSYMS_ABSOLUTE_PERCPU a non-negative offset is an absolute (per-CPU)
 * value and a negative one counts down from relative_base - 1; without,
 * all are relative_base + offset. A relative table must also hold the base
 * itself (it is _text, the lowest relative symbol). */
static bool addresses_valid(enum lx_addr_kind kind, uint64_t base,
                            const uint8_t *t, uint32_t n)
{
    uint64_t prev = lx_addr_decode(kind, base, t, 0);
    bool has_base = kind == LX_ADDR_ABSOLUTE || prev == base;

    for (uint32_t i = 1; i < n; i++) {
        uint64_t a = lx_addr_decode(kind, base, t, i);
        if (a < prev)
            return false;
        has_base |= a == base;
        prev = a;
    }
    return has_base && prev >= LX_KMAP_BASE;
}

static bool try_relative(vmi_instance_t vmi, struct lx_tables *tab,
                         addr_t offs, addr_t base_pa, struct lx_syms *syms)
{
    static const enum lx_addr_kind kinds[] = { LX_ADDR_ABS_PERCPU, LX_ADDR_RELATIVE };
    uint8_t b[8];

    lx_read_zfill(vmi, base_pa, b, 8);
    syms->base = lx_get_u64(b);
    if (syms->base < LX_KMAP_BASE ||
        !lx_view_map(vmi, offs, 4 * (size_t)tab->num_syms, &syms->addrs))
        return false;
    for (size_t i = 0; i < 2; i++) {
        if (addresses_valid(kinds[i], syms->base, syms->addrs.p, tab->num_syms)) {
            syms->kind = kinds[i];
            tab->absolute_percpu = kinds[i] == LX_ADDR_ABS_PERCPU;
            tab->relative_base = syms->base;
            tab->addrs_pa = offs;
            tab->relative_base_pa = base_pa;
            return true;
        }
    }
    lx_view_unmap(&syms->addrs);
    return false;
}

static bool try_absolute(vmi_instance_t vmi, struct lx_tables *tab,
                         struct lx_syms *syms)
{
    size_t len = 8 * (size_t)tab->num_syms;

    if (tab->num_syms_pa < len)
        return false;
    tab->addrs_pa = (tab->num_syms_pa - len) & ~7ull;
    if (!lx_view_map(vmi, tab->addrs_pa, len, &syms->addrs))
        return false;
    syms->kind = LX_ADDR_ABSOLUTE;
    if (addresses_valid(LX_ADDR_ABSOLUTE, 0, syms->addrs.p, tab->num_syms))
        return true;
    lx_view_unmap(&syms->addrs);
    return false;
}

/* Places the addresses may be, oldest layouts first. */
static status_t find_addresses(vmi_instance_t vmi, struct lx_tables *tab,
                               struct lx_syms *syms)
{
    size_t len = 4 * (size_t)tab->num_syms;
    addr_t rb = (tab->num_syms_pa & ~7ull) - 8;
    addr_t after = align_up(tab->tok.index_pa + 512, 8);

    if (rb >= len && try_relative(vmi, tab, (rb - len) & ~7ull, rb, syms)) {
        tab->addr_layout = LX_ADDR_REL_BEFORE;
        return VMI_SUCCESS;
    }
    if (try_relative(vmi, tab, after, align_up(after + len, 8), syms)) {
        tab->addr_layout = LX_ADDR_REL_AFTER;
        return VMI_SUCCESS;
    }
    if (try_absolute(vmi, tab, syms)) {
        tab->addr_layout = LX_ADDR_ABS_BEFORE;
        tab->relative_base_pa = 0;
        return VMI_SUCCESS;
    }
    return tvmi_fail(vmi, "step 3 (kallsyms_offsets/relative_base): the %u "
                     "names at PA 0x%llx have no sorted address table before "
                     "kallsyms_num_syms or after kallsyms_token_index",
                     tab->num_syms, (unsigned long long)tab->names_pa);
}

/* ---- decoding ------------------------------------------------------------ */

static bool type_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '?';
}

/* Pass 2: every name into the pool as "<type><name>\0". Tokens are short:
 * copying a fixed 16 bytes and advancing by the length is much faster than
 * a copy of the exact length (the token text and the pool have 16 bytes of
 * slack for it). */
static status_t decode_names(vmi_instance_t vmi, const struct lx_tables *tab,
                             const uint8_t *names, size_t len,
                             struct lx_syms *syms)
{
    const struct lx_tokens *tk = &tab->tok;
    size_t pos = 0, out = 0;
    char *pool = syms->pool;

    for (uint32_t i = 0; i < tab->num_syms; i++) {
        size_t l = entry_len(names, len, &pos), start = out;

        syms->name[i] = (uint32_t)out;
        for (size_t k = 0; k < l; k++) {
            uint8_t b = names[pos + k];
            const char *src = tk->text + tk->off[b];

            if (out + tk->len[b] >= syms->pool_len)
                return tvmi_fail(vmi, "step 4 (kallsyms_names): symbol %u "
                                 "decodes past its size", i);
            if (tk->len[b] <= 16)
                memcpy(pool + out, src, 16);
            else
                memcpy(pool + out, src, tk->len[b]);
            out += tk->len[b];
        }
        pool[out++] = '\0';
        pos += l;
        if (!type_letter(pool[start]))
            return tvmi_fail(vmi, "step 4 (kallsyms_names): symbol %u ('%.40s') "
                             "has no type letter", i, pool + start);
    }
    return VMI_SUCCESS;
}

static status_t decode_all(vmi_instance_t vmi, const struct lx_tables *tab,
                           struct lx_syms *syms)
{
    size_t len = (size_t)(tab->names_end_pa - tab->names_pa), end, total;
    size_t nmark = 4 * (size_t)((tab->num_syms + 255) / 256);
    struct lx_view nv = { 0 }, mv = { 0 };
    const uint8_t *names, *markers;
    status_t rc = VMI_FAILURE;

    if (!lx_view_map(vmi, tab->names_pa, len, &nv) ||
        !lx_view_map(vmi, tab->markers_pa, nmark, &mv)) {
        rc = tvmi_fail(vmi, "out of memory");
        goto out;
    }
    names = nv.p;
    markers = mv.p;
    /* Checked once more: this is the view we decode (a copy, for a live
     * guest's memory, may differ from what the search saw). */
    if (!names_walk(names, len, tab->num_syms, &tab->tok, markers, &end, &total) ||
        total >= (1u << 31)) {
        rc = tvmi_fail(vmi, "step 4 (kallsyms_names): the table changed or "
                       "is too big");
        goto out;
    }
    syms->pool_len = total;
    syms->pool = malloc(total + 16);
    syms->name = malloc(sizeof(*syms->name) * tab->num_syms);
    if (!syms->pool || !syms->name)
        rc = tvmi_fail(vmi, "out of memory");
    else
        rc = decode_names(vmi, tab, names, len, syms);
out:
    lx_view_unmap(&nv);
    lx_view_unmap(&mv);
    return rc;
}

status_t lx_kallsyms_load(vmi_instance_t vmi, struct lx_tables *tab,
                          struct lx_syms *syms)
{
    struct lx_view seqs = { 0 };

    memset(syms, 0, sizeof(*syms));
    if (find_names(vmi, tab) != VMI_SUCCESS)
        return VMI_FAILURE;
    syms->count = tab->num_syms;
    if (find_addresses(vmi, tab, syms) != VMI_SUCCESS ||
        decode_all(vmi, tab, syms) != VMI_SUCCESS)
        goto fail;
    if (!tab->seqs_pa && tab->addr_layout == LX_ADDR_REL_AFTER)
        tab->seqs_pa = tab->relative_base_pa + 8; /* 6.x: after the base */
    if (tab->seqs_pa &&
        !lx_view_map(vmi, tab->seqs_pa, 3 * (size_t)tab->num_syms, &seqs))
        seqs.p = NULL;
    if (lx_syms_index(vmi, syms, &seqs) != VMI_SUCCESS)
        goto fail;
    if (!syms->seqs.p)
        tab->seqs_pa = 0;
    return VMI_SUCCESS;
fail:
    lx_syms_free(syms);
    return VMI_FAILURE;
}
