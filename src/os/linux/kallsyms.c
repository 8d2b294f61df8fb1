/*
 * From a validated kallsyms_token_table to the whole symbol table.
 *
 * scripts/kallsyms.c emits its tables in an order that changed over the
 * releases (see docs/linux-discovery.md):
 *
 *   5.10      offsets relative_base num_syms names markers token_table token_index
 *   6.1 deb   offsets relative_base num_syms names markers seqs token_table token_index
 *   6.12      num_syms names markers token_table token_index offsets relative_base seqs
 *   7.x       num_syms names markers token_table token_index offsets seqs
 *             (no relative_base: each offset counts from its own place)
 *
 * Two things held in every release: kallsyms_num_syms is followed by
 * kallsyms_names, and kallsyms_markers (u32) ends just before the token
 * table, or before kallsyms_seqs_of_names (3 bytes a symbol) which then ends
 * there. So we look backwards from the token table for a count n whose n
 * names decode exactly up to markers that agree with them, then try each
 * place the addresses may be, keeping the one that sorts. Nothing is taken
 * on position alone.
 *
 * Validation walks the names' lengths and markers only (cheap); decoding
 * (lx_names_cmp, lx_names_find, lx_names_decode at the end) is done when
 * symbols.c asks: the few names a lookup compares, or all of them when a
 * caller wants names by index.
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

static bool type_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '?';
}

/* Do n entries fit in names[0, len), with each 256th at the offset
 * kallsyms_markers says, and decoded names (type letter first) of sane
 * length? The decoded length is only summed when the entry's length
 * times the longest token could exceed the bound: that is rare, and
 * summing every entry costs more than the rest of the walk. */
static bool names_walk(const uint8_t *names, size_t len, uint32_t n,
                       const struct lx_tokens *tk, const uint8_t *markers,
                       size_t *end)
{
    size_t pos = 0, longest = 1;

    for (unsigned t = 0; t < 256; t++)
        if (tk->len[t] > longest)
            longest = tk->len[t];
    for (uint32_t i = 0; i < n; i++) {
        size_t l, dl = 0;
        uint8_t first;

        if ((i & 255) == 0 && lx_get_u32(markers + 4 * (i >> 8)) != pos)
            return false;
        l = entry_len(names, len, &pos);
        if (l == 0)
            return false;
        first = names[pos];
        if (!type_letter(tk->text[tk->off[first]]) ||
            (l == 1 && tk->len[first] < 2))
            return false;
        if (l * longest >= LX_NAME_MAX) {
            for (size_t k = 0; k < l; k++)
                dl += tk->len[names[pos + k]];
            if (dl >= LX_NAME_MAX)
                return false;
        }
        pos += l;
    }
    *end = pos;
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
    size_t end;

    if (!markers_plausible(w, names, m, n) || (*walks)++ >= MAX_FULL_WALKS)
        return false;
    if (!names_walk(w->buf + names, m - names, n, &tab->tok, w->buf + m, &end))
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
 * the token table. The window that held them is handed back (*win): the
 * names are decoded from it later without mapping them again. */
static status_t find_names(vmi_instance_t vmi, struct lx_tables *tab,
                           struct lx_view *win, addr_t *win_pa, size_t *win_len)
{
    static const size_t spans[] = { 4u << 20, 32u << 20 };
    addr_t t = tab->tok.table_pa;

    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        struct lx_view view;
        struct win w;

        /* Page-aligned, so alignment in the window is alignment in RAM. */
        w.base = (t > spans[i] ? t - spans[i] : 0) & TVMI_PAGE_MASK;
        w.len = (size_t)(t - w.base);
        if (!lx_view_map(vmi, w.base, w.len, &view))
            return tvmi_fail(vmi, "out of memory");
        w.buf = view.p;
        if (search_window(vmi, &w, tab)) {
            *win = view;
            *win_pa = w.base;
            *win_len = w.len;
            return VMI_SUCCESS;
        }
        lx_view_unmap(&view);
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
bool lx_addresses_sorted(enum lx_addr_kind kind, uint64_t base,
                         const uint8_t *t, uint32_t n)
{
    uint64_t prev = lx_addr_decode(kind, base, t, 0);
    bool has_base = kind == LX_ADDR_ABSOLUTE || kind == LX_ADDR_PC_RELATIVE ||
                    prev == base;

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
        if (lx_addresses_sorted(kinds[i], syms->base, syms->addrs.p, tab->num_syms)) {
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

/* A zero-filled page "sorts" too (each entry 4 bytes past the last): a
 * real table has symbols at its own place (kallsyms_offsets) and at the
 * token table's (KALLSYMS_ALL, which discovery needs anyway). */
static bool names_itself(const struct lx_syms *syms, const struct lx_tables *tab,
                         addr_t offs)
{
    uint64_t self = syms->base, tok = syms->base + (tab->tok.table_pa - offs);
    bool has_self = false, has_tok = false;

    for (uint32_t i = 0; i < tab->num_syms && !(has_self && has_tok); i++) {
        uint64_t a = lx_sym_addr(syms, i);
        has_self |= a == self;
        has_tok |= a == tok;
    }
    return has_self && has_tok;
}

/* 7.x: an entry holds the distance from itself to its symbol, so the table
 * gives every symbol's place relative to the table, not its VA. It must
 * sort and span no more than a kernel image. Until lx_kernel_locate knows
 * the table's VA, it is put where the lowest symbol lands on the
 * unrandomized _text, so names and sizes work meanwhile. */
static bool try_pc_relative(vmi_instance_t vmi, struct lx_tables *tab,
                            addr_t offs, struct lx_syms *syms)
{
    uint64_t lo, hi;

    if (!lx_view_map(vmi, offs, 4 * (size_t)tab->num_syms, &syms->addrs))
        return false;
    syms->kind = LX_ADDR_PC_RELATIVE;
    syms->base = LX_DEFAULT_TEXT - (uint64_t)(int64_t)(int32_t)lx_get_u32(syms->addrs.p);
    lo = lx_sym_addr(syms, 0);
    hi = lx_sym_addr(syms, tab->num_syms - 1);
    if (hi - lo <= LX_IMAGE_MAX && names_itself(syms, tab, offs) &&
        lx_addresses_sorted(LX_ADDR_PC_RELATIVE, syms->base, syms->addrs.p,
                            tab->num_syms)) {
        tab->addrs_pa = offs;
        tab->relative_base_pa = 0;
        tab->relative_base = 0; /* not placed yet */
        tab->absolute_percpu = false;
        return true;
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
    if (lx_addresses_sorted(LX_ADDR_ABSOLUTE, 0, syms->addrs.p, tab->num_syms))
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
    if (try_pc_relative(vmi, tab, after, syms)) {
        tab->addr_layout = LX_ADDR_PCREL_AFTER;
        return VMI_SUCCESS;
    }
    if (try_absolute(vmi, tab, syms)) {
        tab->addr_layout = LX_ADDR_ABS_BEFORE;
        tab->relative_base_pa = 0;
        return VMI_SUCCESS;
    }
    return tvmi_fail(vmi, "step 3 (kallsyms_offsets/relative_base): the %u "
                     "names at PA 0x%llx have no sorted address table (base-"
                     "relative, PC-relative or absolute) before "
                     "kallsyms_num_syms or after kallsyms_token_index",
                     tab->num_syms, (unsigned long long)tab->names_pa);
}

/* ---- decoding ------------------------------------------------------------ */

/* Where entry i starts (*pos, after its length) and its length: from the
 * marker of its group of 256, walking the lengths of the ones before. */
static bool entry_at(const struct lx_names *n, uint32_t i, size_t *pos,
                     size_t *len)
{
    size_t p;

    if (i >= n->count)
        return false;
    p = lx_get_u32(n->markers + 4 * (size_t)(i >> 8));
    for (uint32_t k = i & ~255u;; k++) {
        size_t l = entry_len(n->names, n->len, &p);

        if (l == 0)
            return false;
        if (k == i) {
            *pos = p;
            *len = l;
            return true;
        }
        p += l;
    }
}

/* strcmp of the entry at names[pos, pos + l) (type letter excluded) with
 * name; 2 when it decodes too long. */
static int entry_cmp(const struct lx_tokens *tk, const uint8_t *e, size_t l,
                     const unsigned char *want)
{
    size_t out = 0;

    for (size_t k = 0; k < l; k++) {
        const unsigned char *t = (const unsigned char *)tk->text + tk->off[e[k]];

        for (size_t j = 0; j < tk->len[e[k]]; j++, out++) {
            if (out == 0) /* the type letter */
                continue;
            if (out >= LX_NAME_MAX)
                return 2;
            if (t[j] != *want)
                return t[j] < *want ? -1 : 1;
            want++;
        }
    }
    return *want ? -1 : 0;
}

int lx_names_cmp(const struct lx_names *n, uint32_t i, const char *name)
{
    size_t pos, l;

    if (!entry_at(n, i, &pos, &l))
        return 2;
    return entry_cmp(n->tok, n->names + pos, l, (const unsigned char *)name);
}

bool lx_names_get(const struct lx_names *n, uint32_t i, char *buf, size_t len)
{
    size_t pos, l, out = 0;

    if (!len || !entry_at(n, i, &pos, &l))
        return false;
    for (size_t k = 0; k < l; k++) {
        uint8_t t = n->names[pos + k];
        const char *text = n->tok->text + n->tok->off[t];

        for (size_t j = 0; j < n->tok->len[t]; j++) {
            if (out + 1 >= len)
                return false;
            buf[out++] = text[j];
        }
    }
    buf[out] = '\0';
    return out >= 2; /* a type letter and a name */
}

bool lx_names_find(const struct lx_names *n, const char *name, uint32_t *idx)
{
    size_t pos = 0;

    for (uint32_t i = 0; i < n->count; i++) {
        size_t l = entry_len(n->names, n->len, &pos);

        if (l == 0)
            return false;
        if (entry_cmp(n->tok, n->names + pos, l, (const unsigned char *)name) == 0) {
            *idx = i;
            return true;
        }
        pos += l;
    }
    return false;
}

/* Bytes the decoded names take ("<type><name>\0" each), checking every
 * entry and marker once more: this may be another mapping than the one
 * validated (a copy of a live guest's memory), or a hint's. */
static status_t names_size(vmi_instance_t vmi, const struct lx_names *n,
                           size_t *total)
{
    const struct lx_tokens *tk = n->tok;
    size_t pos = 0, sum = 0;

    for (uint32_t i = 0; i < n->count; i++) {
        size_t l, dl = 0;

        if ((i & 255) == 0 && lx_get_u32(n->markers + 4 * (i >> 8)) != pos)
            return tvmi_fail(vmi, "step 4 (kallsyms_names): marker %u does "
                             "not match the names", i >> 8);
        l = entry_len(n->names, n->len, &pos);
        if (l == 0)
            return tvmi_fail(vmi, "step 4 (kallsyms_names): entry %u is "
                             "empty or runs past the table", i);
        for (size_t k = 0; k < l; k++)
            dl += tk->len[n->names[pos + k]];
        if (dl < 2 || dl >= LX_NAME_MAX)
            return tvmi_fail(vmi, "step 4 (kallsyms_names): symbol %u "
                             "decodes to %zu bytes", i, dl);
        sum += dl + 1;
        pos += l;
    }
    if (sum >= (1u << 31))
        return tvmi_fail(vmi, "step 4 (kallsyms_names): the table is too big");
    *total = sum;
    return VMI_SUCCESS;
}

/* Every name into the pool as "<type><name>\0". Tokens are short: copying
 * a fixed 16 bytes and advancing by the length is much faster than a copy
 * of the exact length (the token text and the pool have 16 bytes of slack
 * for it). */
static status_t decode_names(vmi_instance_t vmi, const struct lx_names *n,
                             struct lx_syms *syms)
{
    const struct lx_tokens *tk = n->tok;
    size_t pos = 0, out = 0;
    char *pool = syms->pool;

    for (uint32_t i = 0; i < n->count; i++) {
        size_t l = entry_len(n->names, n->len, &pos), start = out;

        syms->name[i] = (uint32_t)out;
        for (size_t k = 0; k < l; k++) {
            uint8_t b = n->names[pos + k];
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

status_t lx_names_decode(vmi_instance_t vmi, const struct lx_names *n,
                         struct lx_syms *syms)
{
    size_t total = 0;

    if (names_size(vmi, n, &total) != VMI_SUCCESS)
        return VMI_FAILURE;
    syms->pool_len = total;
    syms->pool = malloc(total + 16);
    syms->name = malloc(sizeof(*syms->name) * n->count);
    if (!syms->pool || !syms->name) {
        free(syms->pool);
        free(syms->name);
        syms->pool = NULL;
        syms->name = NULL;
        return tvmi_fail(vmi, "decoding kallsyms_names: out of memory");
    }
    if (decode_names(vmi, n, syms) == VMI_SUCCESS)
        return VMI_SUCCESS;
    free(syms->pool);
    free(syms->name);
    syms->pool = NULL;
    syms->name = NULL;
    return VMI_FAILURE;
}

static enum lx_addr_kind addr_kind(const struct lx_tables *tab)
{
    if (tab->addr_layout == LX_ADDR_ABS_BEFORE)
        return LX_ADDR_ABSOLUTE;
    if (tab->addr_layout == LX_ADDR_PCREL_AFTER)
        return LX_ADDR_PC_RELATIVE;
    return tab->absolute_percpu ? LX_ADDR_ABS_PERCPU : LX_ADDR_RELATIVE;
}

status_t lx_kallsyms_load(vmi_instance_t vmi, struct lx_tables *tab,
                          struct lx_syms *syms)
{
    struct lx_view win = { 0 };
    addr_t win_pa = 0;
    size_t win_len = 0;

    memset(syms, 0, sizeof(*syms));
    if (find_names(vmi, tab, &win, &win_pa, &win_len) != VMI_SUCCESS)
        return VMI_FAILURE;
    syms->count = tab->num_syms;
    if (find_addresses(vmi, tab, syms) != VMI_SUCCESS) {
        lx_view_unmap(&win);
        lx_syms_free(syms);
        return VMI_FAILURE;
    }
    if (!tab->seqs_pa && tab->addr_layout == LX_ADDR_REL_AFTER)
        tab->seqs_pa = tab->relative_base_pa + 8; /* 6.x: after the base */
    if (!tab->seqs_pa && tab->addr_layout == LX_ADDR_PCREL_AFTER)
        tab->seqs_pa = tab->addrs_pa + 4 * (addr_t)tab->num_syms;
    if (lx_syms_lazy(vmi, syms, tab, &win, win_pa, win_len) != VMI_SUCCESS) {
        lx_syms_free(syms);
        return VMI_FAILURE;
    }
    syms->lazy->addrs_ready = true; /* mapped and sorted (step 3) */
    return VMI_SUCCESS;
}

/* Hinted tables: what costs a read or two is checked now; the names and
 * addresses when first used (symbols.c). */
status_t lx_kallsyms_hinted(vmi_instance_t vmi, struct lx_tables *tab,
                            struct lx_syms *syms)
{
    uint8_t b[8];

    memset(syms, 0, sizeof(*syms));
    lx_read_zfill(vmi, tab->num_syms_pa, b, 4);
    if (lx_get_u32(b) != tab->num_syms)
        return tvmi_fail(vmi, "kallsyms_num_syms at PA 0x%llx is %u, not %u",
                         (unsigned long long)tab->num_syms_pa, lx_get_u32(b),
                         tab->num_syms);
    lx_read_zfill(vmi, tab->markers_pa, b, 4);
    if (lx_get_u32(b) != 0)
        return tvmi_fail(vmi, "kallsyms_markers at PA 0x%llx does not start "
                         "with 0", (unsigned long long)tab->markers_pa);
    if (tab->addr_layout == LX_ADDR_PCREL_AFTER && tab->relative_base < LX_KMAP_BASE)
        return tvmi_fail(vmi, "hinted kallsyms_offsets VA 0x%llx is no "
                         "kernel address", (unsigned long long)tab->relative_base);
    if (tab->addr_layout == LX_ADDR_REL_BEFORE || tab->addr_layout == LX_ADDR_REL_AFTER) {
        lx_read_zfill(vmi, tab->relative_base_pa, b, 8);
        if (lx_get_u64(b) != tab->relative_base)
            return tvmi_fail(vmi, "kallsyms_relative_base at PA 0x%llx "
                             "changed", (unsigned long long)tab->relative_base_pa);
    }
    syms->count = tab->num_syms;
    syms->kind = addr_kind(tab);
    syms->base = tab->relative_base;
    if (lx_syms_lazy(vmi, syms, tab, NULL, 0, 0) != VMI_SUCCESS) {
        lx_syms_free(syms);
        return VMI_FAILURE;
    }
    return VMI_SUCCESS;
}
