/*
 * Finding kallsyms_token_table in raw RAM.
 *
 * Every kernel symbol table uses the ten digits, so the compressor never
 * reuses their codes: tokens 0x30..0x39 are the one-character strings
 * "0".."9", and the table holds the 20 bytes "0\0" "1\0" ... "9\0". A hit
 * is only a candidate: it becomes a token table when the tokens around it
 * are sane and kallsyms_token_index, which follows the table, gives exactly
 * their offsets. Each token table is then handed to the caller, which runs
 * every other step on it and says whether it is the kernel.
 *
 * Reading all of RAM costs more than everything else together (a 512 MiB
 * snapshot is 8k page faults of the mapping before a byte is compared), so
 * the search goes in three rounds, each only when the one before found no
 * kernel:
 *   1. the image the low page tables point at (image.c), .rodata first;
 *   2. the RAM around samples (128 bytes every 256 KiB) that look like a
 *      piece of kallsyms_offsets or kallsyms_addresses, sorted arrays of 4n
 *      or 8n bytes that no distribution kernel's sampling misses;
 *   3. all of RAM.
 * The rounds choose the order, never the answer: every token table found is
 * validated in full by the caller.
 */
#include "lx.h"

#define MAX_HITS 4096           /* digit patterns examined per pass */
#define SCAN_CHUNK (2ull << 20) /* scanned before its patterns are examined */
#define MAX_TRIED 16            /* token tables taken through validation */
#define WIN_BEFORE 8192u        /* token table bytes before "0" */
#define WIN_AFTER 24576u        /* ... and after, index included */

#define MAX_SPANS 64
#define HINT_STRIDE (256u << 10)
#define HINT_BYTES 128u
/* kallsyms_offsets lies before the token table (<= 6.1: up to 4n + names
 * + markers + seqs, ~21 bytes a symbol) or right after it (6.x: < 4n). */
#define HINT_BEFORE (4u << 20)
#define HINT_AFTER (16u << 20)
#define MAX_HINTS 32

static const uint8_t digit_tokens[20] = {
    '0', 0, '1', 0, '2', 0, '3', 0, '4', 0,
    '5', 0, '6', 0, '7', 0, '8', 0, '9', 0,
};
#define NINE_AT 18 /* the pattern's only '9' */

/* ---- dense scan ------------------------------------------------------------ */

struct hits {
    addr_t pa[MAX_HITS];
    size_t n;
    size_t seen;
};

/* Every "0\0...9\0" in the frame, found by its '9' with memchr (the fastest
 * loop the libc has); a match may start in the previous frame. */
static void scan_frame(vmi_instance_t vmi, const uint8_t *frame, addr_t base,
                       struct hits *h)
{
    const uint8_t *p = frame, *end = frame + TVMI_PAGE_SIZE;

    while ((p = memchr(p, '9', (size_t)(end - p)))) {
        addr_t at = base + (addr_t)(p - frame);
        uint8_t buf[sizeof(digit_tokens)];

        p++;
        if (at < NINE_AT)
            continue;
        lx_read_zfill(vmi, at - NINE_AT, buf, sizeof(buf));
        if (memcmp(buf, digit_tokens, sizeof(buf)))
            continue;
        h->seen++;
        if (h->n < MAX_HITS)
            h->pa[h->n++] = at - NINE_AT;
    }
}

static void scan_span(vmi_instance_t vmi, addr_t start, addr_t end,
                      struct hits *h)
{
    for (addr_t gfn = tvmi_gfn(start); gfn < tvmi_gfn(end + TVMI_PAGE_SIZE - 1); gfn++) {
        const uint8_t *frame = tvmi_frame(vmi, gfn, false);

        if (frame)
            scan_frame(vmi, frame, gfn << TVMI_PAGE_SHIFT, h);
    }
}

/* The backed ranges from the driver, or [0, max_pa) as one (a driver
 * that could not list them says why in stats). */
static size_t ram_ranges(vmi_instance_t vmi, struct tvmi_mem_range **out,
                         struct lx_scan_stats *stats)
{
    size_t n = 1;
    struct tvmi_mem_range *r;

    vmi->err[0] = '\0'; /* so that a message below is this call's */
    if (vmi->drv->get_ranges)
        n = vmi->drv->get_ranges(vmi, NULL, 0);
    if (vmi->drv->get_ranges && n == 0 && vmi->err[0])
        snprintf(stats->ranges_error, sizeof(stats->ranges_error), "%s",
                 tvmi_last_error(vmi));
    if (n == 0 || n > 65536)
        n = 1;
    r = calloc(n, sizeof(*r));
    if (!r)
        return 0;
    if (!vmi->drv->get_ranges || vmi->drv->get_ranges(vmi, r, n) != n) {
        n = 1;
        r[0].start = 0;
        r[0].end = vmi->max_pa;
    }
    *out = r;
    return n;
}

/* ---- token table validation -------------------------------------------------- */

static bool token_char(uint8_t c)
{
    return c > 0x20 && c < 0x7f;
}

/* Walks count NUL-terminated tokens from buf[pos]; returns the position
 * after the last NUL, or 0 when a token is empty, too long, not printable
 * or runs past len. offs (if not NULL) gets each token's start. */
static size_t walk_tokens(const uint8_t *buf, size_t len, size_t pos,
                          unsigned count, size_t *offs)
{
    for (unsigned t = 0; t < count; t++) {
        size_t start = pos;

        if (offs)
            offs[t] = pos;
        while (pos < len && token_char(buf[pos]) && pos - start <= LX_TOKEN_MAX)
            pos++;
        if (pos >= len || buf[pos] != 0 || pos == start || pos - start > LX_TOKEN_MAX)
            return 0;
        pos++;
    }
    return pos;
}

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Does kallsyms_token_index sit at buf[ix] and describe the tokens whose
 * entry 0x30 starts at buf[p]? Fills tk when it does. */
static bool index_matches(const uint8_t *buf, size_t len, size_t p, size_t ix,
                          const size_t *high, struct lx_tokens *tk)
{
    size_t low[0x30], start, off30;

    if (ix + 512 > len)
        return false;
    off30 = buf[ix + 2 * 0x30] | (size_t)buf[ix + 2 * 0x30 + 1] << 8;
    if (buf[ix] | buf[ix + 1] || off30 > p)
        return false;
    start = p - off30;
    if (walk_tokens(buf, len, start, 0x30, low) != p)
        return false;
    for (unsigned t = 0; t < 256; t++) {
        size_t want = (t < 0x30 ? low[t] : high[t - 0x30]) - start;
        size_t got = buf[ix + 2 * t] | (size_t)buf[ix + 2 * t + 1] << 8;
        if (got != want)
            return false;
    }
    tk->table_pa = start;   /* still window-relative: the caller rebases */
    tk->index_pa = ix;
    return true;
}

static void copy_tokens(const uint8_t *buf, size_t start, struct lx_tokens *tk)
{
    size_t pos = start, used = 0;

    for (unsigned t = 0; t < 256; t++) {
        size_t n = strnlen((const char *)buf + pos, LX_TOKEN_MAX);
        tk->off[t] = (uint16_t)used;
        tk->len[t] = (uint8_t)n;
        memcpy(tk->text + used, buf + pos, n);
        tk->text[used + n] = '\0';
        used += n + 1;
        pos += n + 1;
    }
}

bool lx_token_table_at(vmi_instance_t vmi, addr_t pa, struct lx_tokens *tk)
{
    static const size_t aligns[] = { 8, 4, 2 };
    /* Page-aligned, so alignment in the window is alignment in RAM. */
    addr_t base = (pa > WIN_BEFORE ? pa - WIN_BEFORE : 0) & TVMI_PAGE_MASK;
    size_t p = (size_t)(pa - base), len = p + WIN_AFTER, high[256 - 0x30], end;
    struct lx_view v;
    bool ok = false;

    if (!lx_view_map(vmi, base, len, &v))
        return false;
    end = walk_tokens(v.p, len, p, 256 - 0x30, high);
    for (size_t i = 0; end && !ok && i < sizeof(aligns) / sizeof(aligns[0]); i++)
        ok = index_matches(v.p, len, p, align_up(end, aligns[i]), high, tk);
    if (ok) {
        copy_tokens(v.p, (size_t)tk->table_pa, tk);
        tk->table_pa += base;
        tk->index_pa += base;
        tk->table_end_pa = base + end;
    }
    lx_view_unmap(&v);
    return ok;
}

/* ---- the sparse pass -------------------------------------------------------- */

/* 32 int32 of kallsyms_offsets: all negative and non-increasing (with
 * ABSOLUTE_PERCPU addresses grow as offsets fall) or all non-negative and
 * non-decreasing; steps below 16 MiB and not all equal (tables of indexes
 * are arithmetic progressions, symbol addresses are not). */
static bool offsets_like(const uint8_t *p)
{
    int64_t prev = (int32_t)lx_get_u32(p), first = 0;
    bool neg = prev < 0, uneven = false;

    for (unsigned i = 1; i < HINT_BYTES / 4; i++) {
        int64_t v = (int32_t)lx_get_u32(p + 4 * i);
        int64_t step = neg ? prev - v : v - prev;

        if ((v < 0) != neg || step < 0 || step >= (1 << 24))
            return false;
        if (i == 1)
            first = step;
        uneven |= step != first;
        prev = v;
    }
    return uneven;
}

/* 16 u64 of kallsyms_addresses (kernels without KALLSYMS_BASE_RELATIVE). */
static bool addresses_like(const uint8_t *p)
{
    uint64_t prev = lx_get_u64(p), first = 0;
    bool uneven = false;

    for (unsigned i = 1; i < HINT_BYTES / 8; i++) {
        uint64_t v = lx_get_u64(p + 8 * i), step = v - prev;

        if (prev < LX_KMAP_BASE || v < prev || step >= (1 << 24))
            return false;
        if (i == 1)
            first = step;
        uneven |= step != first;
        prev = v;
    }
    return uneven;
}

/* Samples that look like kallsyms_offsets (or, when addresses is set,
 * kallsyms_addresses; arrays of sorted kernel pointers are common, so those
 * come last), ascending. */
static size_t find_hints(vmi_instance_t vmi, const struct tvmi_mem_range *r,
                         size_t nr, bool addresses, addr_t *hints, size_t n)
{
    for (size_t i = 0; i < nr && n < MAX_HINTS; i++) {
        addr_t pa = (r[i].start + HINT_STRIDE - 1) & ~(addr_t)(HINT_STRIDE - 1);

        for (; pa + HINT_BYTES <= r[i].end && n < MAX_HINTS; pa += HINT_STRIDE) {
            const uint8_t *frame = tvmi_frame(vmi, tvmi_gfn(pa), false);

            if (frame && (addresses ? addresses_like(frame) : offsets_like(frame)))
                hints[n++] = pa;
        }
    }
    return n;
}

/* ---- the search --------------------------------------------------------------- */

struct search {
    vmi_instance_t vmi;
    lx_accept_fn accept;
    void *arg;
    struct lx_scan_stats *stats;
    const struct tvmi_mem_range *ranges;
    size_t nranges;
    struct hits hits;
    struct lx_tokens tk;
    addr_t tried[MAX_TRIED];
    size_t ntried;
    bool done;
};

static bool tried_before(struct search *s, addr_t table)
{
    for (size_t i = 0; i < s->ntried; i++)
        if (s->tried[i] == table)
            return true;
    if (s->ntried < MAX_TRIED)
        s->tried[s->ntried++] = table;
    return false;
}

/* Scans [start, end) of RAM densely and offers each new token table, at
 * most budget patterns; returns how many it examined. */
static size_t search_chunk(struct search *s, addr_t start, addr_t end,
                           size_t budget)
{
    s->hits.n = s->hits.seen = 0;
    for (size_t i = 0; i < s->nranges; i++) {
        addr_t lo = start > s->ranges[i].start ? start : s->ranges[i].start;
        addr_t hi = end < s->ranges[i].end ? end : s->ranges[i].end;
        if (lo < hi)
            scan_span(s->vmi, lo, hi, &s->hits);
    }
    s->stats->patterns += s->hits.seen;
    if (s->hits.n > budget)
        s->hits.n = budget;
    for (size_t i = 0; i < s->hits.n && !s->done; i++) {
        if (s->ntried >= MAX_TRIED || !lx_token_table_at(s->vmi, s->hits.pa[i], &s->tk) ||
            tried_before(s, s->tk.table_pa))
            continue;
        s->stats->tables++;
        s->done = s->accept(s->vmi, &s->tk, s->arg);
    }
    return s->hits.n;
}

/* A span in chunks, in address order, each chunk's patterns examined
 * before the next is scanned: the search stops where the kernel is, not
 * at the end of the span (.rodata and BTF are 10+ MiB; the token table
 * is 2-4 MiB in). The order of the candidates is the same. */
static void search_span(struct search *s, addr_t start, addr_t end)
{
    size_t examined = 0;

    for (addr_t lo = start; lo < end && !s->done && examined < MAX_HITS;
         lo += SCAN_CHUNK) {
        addr_t hi = end - lo > SCAN_CHUNK ? lo + SCAN_CHUNK : end;
        examined += search_chunk(s, lo, hi, MAX_HITS - examined);
    }
}

static void search_image(struct search *s)
{
    struct lx_span spans[MAX_SPANS];
    size_t n = lx_image_hints(s->vmi, spans, MAX_SPANS);

    s->stats->image_spans = n;
    for (size_t i = 0; i < n && !s->done; i++)
        search_span(s, spans[i].start, spans[i].end);
}

static void search_hinted(struct search *s, bool addresses)
{
    addr_t hints[MAX_HINTS], done_to = 0;
    size_t n = find_hints(s->vmi, s->ranges, s->nranges, addresses, hints, 0);

    s->stats->hints += n;
    for (size_t i = 0; i < n && !s->done; i++) {
        addr_t lo = hints[i] > HINT_BEFORE ? hints[i] - HINT_BEFORE : 0;
        addr_t hi = hints[i] + HINT_AFTER;

        if (hi <= done_to)
            continue;
        search_span(s, lo > done_to ? lo : done_to, hi);
        done_to = hi;
    }
}

bool lx_find_token_tables(vmi_instance_t vmi, lx_accept_fn accept, void *arg,
                          struct lx_scan_stats *stats)
{
    struct search *s = calloc(1, sizeof(*s));
    struct tvmi_mem_range *r = NULL;
    bool done;

    memset(stats, 0, sizeof(*stats));
    if (!s)
        return false;
    s->vmi = vmi;
    s->accept = accept;
    s->arg = arg;
    s->stats = stats;
    s->nranges = ram_ranges(vmi, &r, stats);
    s->ranges = r;
    search_image(s);
    stats->round = 1;
    if (!s->done) {
        stats->round = 2;
        search_hinted(s, false);
    }
    if (!s->done)
        search_hinted(s, true);
    if (!s->done && s->nranges) {
        stats->round = 3;
        stats->full_scan = true;
        search_span(s, r[0].start, r[s->nranges - 1].end);
    }
    if (!s->done)
        stats->round = 0;
    done = s->done;
    free(r);
    free(s);
    return done;
}
