/*
 * The kernel log: the lockless printk ringbuffer (5.10+), found through
 * the `prb` pointer (printk_rb_static at boot, printk_rb_dynamic once a
 * log_buf_len= buffer is allocated).
 *
 * Format (facts of kernel/printk/printk_ringbuffer.h):
 *   - desc_ring: 2^count_bits descriptors and as many printk_info, both
 *     indexed by id & (count - 1). A descriptor's state_var holds its id
 *     in the low 62 bits and its state in the top 2: 0 reserved,
 *     1 committed, 2 finalized, 3 reusable. Records from tail_id to
 *     head_id are in sequence order.
 *   - text_data_ring: 2^size_bits bytes. A record's text_blk_lpos
 *     [begin, next) are logical positions: index = lpos & (size - 1),
 *     wraps = lpos >> size_bits. A block that would cross the end is put at
 *     the start instead (then begin's wrap count is one less than next's).
 *     Odd positions mean "no data". A block starts with the unsigned long
 *     id of the descriptor that owns it, then the text (info.text_len).
 *
 * Every index and length is checked against the ring sizes; a record that
 * fails is skipped and noted. Records whose block belongs to a newer id
 * (overwritten) or in state reserved/reusable are skipped silently, as
 * the kernel skips them.
 */
#include "views.h"

#define ID_MASK      (~(3ull << 62))
#define STATE_OF(sv) ((unsigned)((sv) >> 62))
#define COMMITTED    1
#define FINALIZED    2
#define MAX_COUNT_BITS 24 /* 16 Mi records; LOG_BUF_SHIFT <= 25 gives 2^20 */
#define MAX_SIZE_BITS  28 /* 256 MiB of text */

struct ring {
    addr_t descs, infos, data;
    uint64_t count, size;       /* descriptors, text bytes */
    uint64_t head_id, tail_id;
    unsigned size_bits;
};

struct records {
    tvmi_linux_log_record_t *r;
    size_t n, cap;
    char *pool;                 /* texts; r[i].text is an offset until done */
    size_t used, pool_cap;
    struct lx_report rep;
    /* descriptors, infos and texts are read in ascending order */
    struct lx_stream *desc, *info, *text;
};

/* A field of up to 8 bytes at va. */
static status_t read_field(vmi_instance_t vmi, addr_t va, const struct lx_field *f,
                           uint64_t *out)
{
    uint8_t b[8] = { 0 };

    *out = 0;
    if (lx_kread(vmi, va + f->off, b, f->size > 8 ? 8 : f->size) != VMI_SUCCESS)
        return VMI_FAILURE;
    for (size_t i = 0; i < 8; i++)
        *out |= (uint64_t)b[i] << (8 * i);
    return VMI_SUCCESS;
}

/* prb, when it points at one of the two rings the kernel has. */
static status_t find_prb(vmi_instance_t vmi, struct lx_state *st, addr_t *rb)
{
    addr_t p, stat = 0, dyn = 0;
    uint64_t v = 0;

    lx_sym_lookup(&st->syms, "printk_rb_static", &stat);
    lx_sym_lookup(&st->syms, "printk_rb_dynamic", &dyn);
    if (lx_sym_lookup(&st->syms, "prb", &p) &&
        lx_kread(vmi, p, &v, 8) == VMI_SUCCESS && v && (v == stat || v == dyn)) {
        *rb = v;
        return VMI_SUCCESS;
    }
    if (stat) { /* prb unreadable or corrupt: the boot ring is a fair guess */
        *rb = stat;
        return VMI_SUCCESS;
    }
    return tvmi_fail(vmi, "no printk ringbuffer: no usable 'prb' symbol "
                     "(kernels before 5.10 have the old log_buf)");
}

/* [va, va + len) inside one kind of kernel memory. */
static bool span_ok(const struct lx_kspace *ks, addr_t va, uint64_t len)
{
    return len && va + len > va && lx_kaddr_ok(ks, LX_AREA_DATA, va) &&
           lx_kaddr_ok(ks, LX_AREA_DATA, va + len - 1);
}

static status_t read_ring(vmi_instance_t vmi, struct lx_views *v, addr_t rb,
                          struct ring *r)
{
    const struct lx_log_layout *L = &v->log;
    addr_t dr = rb + L->desc_ring.off, tr = rb + L->text_data_ring.off;
    uint64_t cbits, sbits;

    if (read_field(vmi, dr, &L->count_bits, &cbits) ||
        read_field(vmi, dr, &L->descs, &r->descs) ||
        read_field(vmi, dr, &L->infos, &r->infos) ||
        read_field(vmi, dr, &L->head_id, &r->head_id) ||
        read_field(vmi, dr, &L->tail_id, &r->tail_id) ||
        read_field(vmi, tr, &L->size_bits, &sbits) ||
        read_field(vmi, tr, &L->data, &r->data))
        return tvmi_fail_ctx(vmi, "printk ringbuffer at 0x%llx",
                             (unsigned long long)rb);
    if (!cbits || cbits > MAX_COUNT_BITS || !sbits || sbits > MAX_SIZE_BITS)
        return tvmi_fail(vmi, "printk ringbuffer at 0x%llx: count_bits %llu, "
                         "size_bits %llu out of range", (unsigned long long)rb,
                         (unsigned long long)cbits, (unsigned long long)sbits);
    r->count = 1ull << cbits;
    r->size = 1ull << sbits;
    r->size_bits = (unsigned)sbits;
    r->head_id &= ID_MASK;
    r->tail_id &= ID_MASK;
    if (!span_ok(&v->ks, r->descs, r->count * L->desc_size) ||
        !span_ok(&v->ks, r->infos, r->count * L->info_size) ||
        !span_ok(&v->ks, r->data, r->size))
        return tvmi_fail(vmi, "printk ringbuffer at 0x%llx: its arrays (descs "
                         "0x%llx, infos 0x%llx, data 0x%llx) are not in kernel "
                         "memory", (unsigned long long)rb,
                         (unsigned long long)r->descs, (unsigned long long)r->infos,
                         (unsigned long long)r->data);
    return VMI_SUCCESS;
}

/* Where a record's text block is in the data ring; false if the positions
 * do not describe a block of this ring. */
static bool block_at(const struct ring *r, uint64_t begin, uint64_t next,
                     uint64_t *off, uint64_t *len)
{
    if (begin >> r->size_bits == next >> r->size_bits) {
        *off = begin & (r->size - 1);
        *len = next - begin;
    } else if ((begin + r->size) >> r->size_bits == next >> r->size_bits) {
        *off = 0; /* wrapped to the start of the ring */
        *len = next & (r->size - 1);
    } else {
        return false;
    }
    return *len >= 8 && *len <= r->size && *off + *len <= r->size;
}

/* Room for len more bytes and a NUL in the pool. */
static bool pool_reserve(struct records *out, size_t len)
{
    size_t cap = out->pool_cap ? out->pool_cap : 65536;
    char *p;

    if (out->used + len + 1 <= out->pool_cap)
        return true;
    while (cap < out->used + len + 1)
        cap *= 2;
    if (!(p = realloc(out->pool, cap)))
        return false;
    out->pool = p;
    out->pool_cap = cap;
    return true;
}

static bool push(struct records *out, const tvmi_linux_log_record_t *rec)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 512;
        tvmi_linux_log_record_t *p = realloc(out->r, cap * sizeof(*p));
        if (!p)
            return false;
        out->r = p;
        out->cap = cap;
    }
    out->r[out->n++] = *rec;
    return true;
}

/* A u64 at off of a buffer the layout checks made big enough. */
static uint64_t u64_at(const uint8_t *b, size_t off)
{
    uint64_t x;

    memcpy(&x, b + off, 8); /* little-endian host and guest */
    return x;
}

/* The text of record id into the pool; false when its block is not (or no
 * longer) the record's. The block's owner id and the text come in one
 * read. */
static bool read_text(vmi_instance_t vmi, const struct ring *r, uint64_t id,
                      uint64_t begin, uint64_t next, size_t want,
                      struct records *out, tvmi_linux_log_record_t *rec)
{
    uint64_t off = 0, len;
    char *text;

    if ((begin & 1) || (next & 1)) { /* a record without text */
        want = 0;
    } else if (!block_at(r, begin, next, &off, &len)) {
        lx_report_note(&out->rep, "log record %llu: text positions 0x%llx..0x%llx "
                       "do not fit the %llu-byte ring", (unsigned long long)rec->seq,
                       (unsigned long long)begin, (unsigned long long)next,
                       (unsigned long long)r->size);
        return false;
    } else if (want > len - 8) {
        want = (size_t)(len - 8);
    }
    if (!pool_reserve(out, want + 8))
        return false;
    text = out->pool + out->used;
    if (!((begin & 1) || (next & 1))) {
        if (lx_stream_read(vmi, out->text, r->data + off, text, want + 8)) {
            lx_report_note(&out->rep, "log record %llu: its text at 0x%llx "
                           "cannot be read", (unsigned long long)rec->seq,
                           (unsigned long long)(r->data + off));
            return false;
        }
        if ((u64_at((const uint8_t *)text, 0) & ID_MASK) != id)
            return false; /* overwritten by a newer record */
        memmove(text, text + 8, want);
    }
    text[want] = '\0';
    rec->text_len = strnlen(text, want);
    rec->text = (const char *)(uintptr_t)out->used;
    out->used += rec->text_len + 1;
    text[rec->text_len] = '\0';
    return true;
}

static void read_record(vmi_instance_t vmi, struct lx_views *v,
                        const struct ring *r, uint64_t id, struct records *out)
{
    const struct lx_log_layout *L = &v->log;
    uint64_t idx = id & (r->count - 1), sv, begin, next, text_len;
    tvmi_linux_log_record_t rec = { 0 };
    uint8_t d[LX_DESC_READ_MAX];

    if (lx_stream_read(vmi, out->desc, r->descs + idx * L->desc_size, d,
                       L->desc_read) ||
        lx_buf_reserve(vmi, v, L->info_size) ||
        lx_stream_read(vmi, out->info, r->infos + idx * L->info_size, v->buf,
                       L->info_size)) {
        lx_report_note(&out->rep, "log descriptor %llu cannot be read",
                       (unsigned long long)idx);
        return;
    }
    sv = u64_at(d, L->state_var.off);
    begin = u64_at(d, L->text_blk_lpos.off + L->begin.off);
    next = u64_at(d, L->text_blk_lpos.off + L->next.off);
    if ((sv & ID_MASK) != id || (STATE_OF(sv) != COMMITTED &&
                                 STATE_OF(sv) != FINALIZED))
        return; /* not written yet, or already given up */
    rec.seq = lx_get(v, 0, &L->seq);
    rec.ts_nsec = lx_get(v, 0, &L->ts_nsec);
    rec.level = (int)lx_get(v, 0, &L->level);
    rec.facility = (int)lx_get(v, 0, &L->facility);
    text_len = lx_get(v, 0, &L->text_len);
    if (read_text(vmi, r, id, begin, next, (size_t)(text_len & 0xffff), out, &rec) &&
        !push(out, &rec))
        lx_report_note(&out->rep, "out of memory");
}

static int by_seq(const void *a, const void *b)
{
    const tvmi_linux_log_record_t *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Records and texts in one block, so that free() is all a caller needs. */
static tvmi_linux_log_record_t *pack(struct records *out)
{
    size_t head = out->n * sizeof(*out->r);
    tvmi_linux_log_record_t *all = malloc(head + out->used + 1);
    char *texts = (char *)all + head;

    if (!all)
        return NULL;
    if (out->n)
        memcpy(all, out->r, head);
    if (out->used)
        memcpy(texts, out->pool, out->used);
    for (size_t i = 0; i < out->n; i++)
        all[i].text = texts + (uintptr_t)all[i].text;
    qsort(all, out->n, sizeof(*all), by_seq);
    return all;
}

static status_t collect(vmi_instance_t vmi, struct records *out)
{
    struct lx_state *st;
    struct lx_views *v = lx_views_get(vmi, &st, LX_GROUP_LOG);
    struct ring r = { 0 };
    addr_t rb = 0;
    uint64_t n;

    if (!v || find_prb(vmi, st, &rb) || read_ring(vmi, v, rb, &r))
        return tvmi_fail_ctx(vmi, "reading the kernel log");
    if (!(out->desc = calloc(3, sizeof(struct lx_stream))))
        return tvmi_fail(vmi, "reading the kernel log: out of memory");
    out->info = out->desc + 1;
    out->text = out->desc + 2;
    n = ((r.head_id - r.tail_id) & ID_MASK) + 1;
    if (n > r.count) {
        lx_report_note(&out->rep, "log tail id %llu and head id %llu are more "
                       "than the %llu descriptors apart: reading the last ones",
                       (unsigned long long)r.tail_id, (unsigned long long)r.head_id,
                       (unsigned long long)r.count);
        n = r.count;
    }
    for (uint64_t i = 0; i < n; i++)
        read_record(vmi, v, &r, (r.head_id - (n - 1) + i) & ID_MASK, out);
    return VMI_SUCCESS;
}

status_t tvmi_linux_log(vmi_instance_t vmi, tvmi_linux_log_record_t **records,
                        size_t *count, int *partial)
{
    struct records out = { 0 };
    status_t rc = VMI_FAILURE;

    if (!vmi || !records || !count)
        return vmi ? tvmi_fail(vmi, "reading the kernel log: NULL argument")
                   : VMI_FAILURE;
    *records = NULL;
    *count = 0;
    if (collect(vmi, &out) == VMI_SUCCESS) {
        *records = pack(&out);
        if (*records) {
            *count = out.n;
            lx_report_done(vmi, &out.rep, partial);
            rc = VMI_SUCCESS;
        } else {
            tvmi_fail(vmi, "reading the kernel log: out of memory");
        }
    }
    free(out.r);
    free(out.pool);
    free(out.desc);
    return rc;
}

/* ---- as dmesg prints it ------------------------------------------------------- */

struct text {
    char *p;
    size_t len, cap;
    bool oom;
};

static void append(struct text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 65536;
        char *p;
        while (cap < t->len + n + 1)
            cap *= 2;
        if (!(p = realloc(t->p, cap))) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

/* "[seconds.micros] line\n" for each line of the record. */
static void format_record(struct text *t, const tvmi_linux_log_record_t *r)
{
    char prefix[48];
    int plen = snprintf(prefix, sizeof(prefix), "[%5llu.%06llu] ",
                        (unsigned long long)(r->ts_nsec / 1000000000u),
                        (unsigned long long)(r->ts_nsec % 1000000000u / 1000u));
    const char *line = r->text, *end = r->text + r->text_len;

    do {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *stop = nl ? nl : end;

        append(t, prefix, (size_t)plen);
        append(t, line, (size_t)(stop - line));
        append(t, "\n", 1);
        line = nl ? nl + 1 : end;
    } while (line < end);
}

char *tvmi_linux_dmesg(vmi_instance_t vmi, size_t *len, int *partial)
{
    tvmi_linux_log_record_t *r;
    struct text t = { 0 };
    size_t n;
    int part = 0;

    if (tvmi_linux_log(vmi, &r, &n, &part) != VMI_SUCCESS)
        return NULL;
    append(&t, "", 0);
    for (size_t i = 0; i < n; i++)
        format_record(&t, &r[i]);
    free(r);
    if (t.oom) {
        free(t.p);
        tvmi_fail(vmi, "formatting the kernel log: out of memory");
        return NULL;
    }
    if (len)
        *len = t.len;
    if (partial)
        *partial = part;
    return t.p;
}
