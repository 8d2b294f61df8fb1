/*
 * seedgen_kallsyms SNAPSHOT OUT [--layout real|6.1|6.12|5.10|abs]
 *                  [--syms N] [--paging 4|5] [--no-regs]
 *
 * Writes a fuzz_kallsyms input (see minikernel.h) cut down from the kernel
 * that zero-config discovery finds in SNAPSHOT: its own token table and
 * token index, the encoded names of N of its symbols (the ones discovery
 * needs, a few per-CPU ones, then those after _text), re-laid out in the
 * order a real kernel of the chosen layout emits (default: this kernel's),
 * with offsets, markers and kallsyms_seqs_of_names computed for that
 * subset, page tables that map the image, and linux_banner's text.
 * Addresses are the real _text plus small offsets so that the image fits
 * in a fuzzer input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minikernel.h"
#include "os/linux/lx.h"

enum layout { L_REAL, L_61, L_612, L_510, L_ABS };

/* Symbols whose address or contents discovery checks: they are placed at
 * the minikernel's fixed offsets. */
static const struct {
    const char *name;
    uint32_t at;
} placed[] = {
    { "_text", 0 }, { "startup_64", 0 }, { "linux_banner", MK_BANNER },
    { "phys_base", MK_PHYS_BASE }, { "__pgtable_l5_enabled", MK_L5 },
    { "init_task", MK_INIT_TASK }, { "init_top_pgt", MK_PGT },
    { "_end", MK_IMAGE_SIZE }, { "kallsyms_token_table", ~0u /* the table */ },
};
#define NPLACED (sizeof(placed) / sizeof(placed[0]))
#define MAX_PERCPU 8

struct kernel {
    vmi_instance_t vmi;
    struct lx_state *st;    /* for the tables' places (st->tab) */
    tvmi_linux_sym_t *sym;  /* [count], by the public calls; names copied */
    uint32_t count;
    uint8_t *names;
    size_t *entry;          /* [count + 1]: offsets of each encoded name */
    uint8_t *tokens;        /* token table and index, as in memory */
    size_t tokens_len;
};

struct pick {
    uint32_t idx;           /* in the real table */
    uint64_t addr;          /* in the minikernel */
};

struct plan {
    enum layout layout;
    enum lx_addr_kind kind;
    bool l5, regs;
    struct pick *p;
    uint32_t n;
    size_t names_len;
    /* positions (PA) of each table; 0 = absent */
    size_t offs, rb, ns, names, markers, seqs, tokens, index, end;
};

static void die(const char *what)
{
    fprintf(stderr, "seedgen_kallsyms: %s\n", what);
    exit(1);
}

static size_t al8(size_t v) { return (v + 7) & ~(size_t)7; }

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

static void read_pa(vmi_instance_t vmi, addr_t pa, void *buf, size_t len)
{
    if (vmi_read_pa(vmi, pa, len, buf, NULL) != VMI_SUCCESS)
        die(tvmi_last_error(vmi));
}

static void load_kernel(const char *path, struct kernel *k)
{
    const struct lx_tables *t;
    size_t len, pos = 0;

    if (vmi_init_complete(&k->vmi, path, VMI_INIT_DOMAINNAME, NULL,
                          TVMI_CONFIG_NONE, NULL, NULL) != VMI_SUCCESS)
        die(tvmi_init_error_message());
    k->st = lx_state_of(k->vmi);
    t = &k->st->tab;
    k->count = (uint32_t)tvmi_linux_sym_count(k->vmi);
    k->sym = xcalloc(k->count, sizeof(*k->sym));
    for (uint32_t i = 0; i < k->count; i++) {
        if (tvmi_linux_sym_at(k->vmi, i, &k->sym[i]) != VMI_SUCCESS)
            die(tvmi_last_error(k->vmi));
        if (!(k->sym[i].name = strdup(k->sym[i].name)))
            die("out of memory");
    }
    len = (size_t)(t->names_end_pa - t->names_pa);
    k->names = xcalloc(len, 1);
    read_pa(k->vmi, t->names_pa, k->names, len);
    k->entry = xcalloc(k->count + 1, sizeof(*k->entry));
    for (uint32_t i = 0; i < k->count; i++) {
        size_t l = k->names[pos], hdr = 1;
        if (l & 0x80) /* big symbol: a second length byte */
            l = (l & 0x7f) | (size_t)k->names[pos + 1] << 7, hdr = 2;
        k->entry[i] = pos;
        pos += hdr + l;
        if (pos > len)
            die("the names table does not parse");
    }
    k->entry[k->count] = pos;
    k->tokens_len = (size_t)(t->tok.index_pa + 512 - t->tok.table_pa);
    k->tokens = xcalloc(k->tokens_len, 1);
    read_pa(k->vmi, t->tok.table_pa, k->tokens, k->tokens_len);
}

static long find_name(const struct kernel *k, const char *name)
{
    for (uint32_t i = 0; i < k->count; i++)
        if (!strcmp(k->sym[i].name, name))
            return i;
    return -1;
}

static bool picked(const struct plan *pl, uint32_t idx)
{
    for (uint32_t i = 0; i < pl->n; i++)
        if (pl->p[i].idx == idx)
            return true;
    return false;
}

static void add(struct plan *pl, uint32_t idx, uint64_t addr)
{
    if (!picked(pl, idx))
        pl->p[pl->n++] = (struct pick){ idx, addr };
}

/* Which symbols, at which addresses (the token table's is set later). */
static void choose(const struct kernel *k, struct plan *pl, uint32_t want)
{
    uint64_t text = k->st->info.text_va, filler = text + MK_FILLER;
    long first = find_name(k, "_text");

    pl->p = xcalloc(want + NPLACED + MAX_PERCPU, sizeof(*pl->p));
    for (size_t i = 0; i < NPLACED; i++) {
        long idx = find_name(k, placed[i].name);
        if (idx >= 0)
            add(pl, (uint32_t)idx, text + placed[i].at);
    }
    /* Per-CPU symbols hold small absolute values below _text. */
    for (uint32_t i = 0, np = 0; pl->kind != LX_ADDR_RELATIVE &&
                                 i < k->count && np < MAX_PERCPU; i++)
        if (k->sym[i].addr < LX_KMAP_BASE && !picked(pl, i)) {
            add(pl, i, k->sym[i].addr);
            np++;
        }
    for (uint32_t i = first < 0 ? 0 : (uint32_t)first; i < k->count && pl->n < want; i++)
        if (k->sym[i].addr >= LX_KMAP_BASE && !picked(pl, i)) {
            add(pl, i, filler);
            filler += 0x40;
        }
    for (uint32_t i = 0; i < pl->n; i++)
        pl->names_len += k->entry[pl->p[i].idx + 1] - k->entry[pl->p[i].idx];
}

/* Table positions in the order kernels of each layout emit them. */
static void lay_out(const struct kernel *k, struct plan *pl)
{
    size_t n = pl->n, mlen = 4 * ((n + 255) / 256), at = MK_TABLES;
    size_t tlen = k->tokens_len - 512;

    if (pl->layout == L_612) {
        pl->ns = at;
    } else if (pl->layout == L_ABS) {
        pl->offs = at;
        pl->ns = al8(at + 8 * n);
    } else {
        pl->offs = at;
        pl->rb = al8(at + 4 * n);
        pl->ns = pl->rb + 8;
    }
    pl->names = pl->ns + 8;
    pl->markers = al8(pl->names + pl->names_len);
    pl->tokens = al8(pl->markers + mlen);
    if (pl->layout == L_61) {
        pl->seqs = pl->tokens;
        pl->tokens = al8(pl->seqs + 3 * n);
    }
    pl->index = al8(pl->tokens + tlen);
    pl->end = pl->index + 512;
    if (pl->layout == L_612) {
        pl->offs = al8(pl->end);
        pl->rb = al8(pl->offs + 4 * n);
        pl->seqs = pl->rb + 8;
        pl->end = pl->seqs + 3 * n;
    }
    if (al8(pl->end) > MK_MAX_IMAGE)
        die("too many symbols for a fuzzer input");
}

static const struct kernel *sort_kernel;

static int by_addr(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;

    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static const struct plan *sort_plan;

static int by_name(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(sort_kernel->sym[sort_plan->p[x].idx].name,
                   sort_kernel->sym[sort_plan->p[y].idx].name);
    return c ? c : (x > y) - (x < y);
}

static void put32(uint8_t *img, size_t at, uint32_t v) { memcpy(img + at, &v, 4); }
static void put64(uint8_t *img, size_t at, uint64_t v) { memcpy(img + at, &v, 8); }

static void emit_tables(const struct kernel *k, struct plan *pl, uint8_t *img)
{
    uint64_t base = k->st->info.text_va;
    uint32_t *order = xcalloc(pl->n, sizeof(*order));
    size_t pos = 0;

    for (uint32_t j = 0; j < pl->n; j++) {
        const struct pick *p = &pl->p[j];
        size_t from = k->entry[p->idx], len = k->entry[p->idx + 1] - from;

        if ((j & 255) == 0)
            put32(img, pl->markers + 4 * (j >> 8), (uint32_t)pos);
        memcpy(img + pl->names + pos, k->names + from, len);
        pos += len;
        if (pl->kind == LX_ADDR_ABSOLUTE)
            put64(img, pl->offs + 8 * (size_t)j, p->addr);
        else if (pl->kind == LX_ADDR_RELATIVE)
            put32(img, pl->offs + 4 * (size_t)j, (uint32_t)(p->addr - base));
        else if (p->addr < base) /* per-CPU: the absolute value */
            put32(img, pl->offs + 4 * (size_t)j, (uint32_t)p->addr);
        else /* base - 1 - offset */
            put32(img, pl->offs + 4 * (size_t)j, (uint32_t)(int32_t)(base - 1 - p->addr));
        order[j] = j;
    }
    put32(img, pl->ns, pl->n);
    if (pl->rb)
        put64(img, pl->rb, base);
    memcpy(img + pl->tokens, k->tokens, k->tokens_len);
    if (pl->seqs) {
        sort_kernel = k;
        sort_plan = pl;
        qsort(order, pl->n, sizeof(*order), by_name);
        for (uint32_t i = 0; i < pl->n; i++) {
            img[pl->seqs + 3 * i] = (uint8_t)(order[i] >> 16);
            img[pl->seqs + 3 * i + 1] = (uint8_t)(order[i] >> 8);
            img[pl->seqs + 3 * i + 2] = (uint8_t)order[i];
        }
    }
    free(order);
}

/* init_top_pgt at MK_PGT and the tables under it, mapping _text's VA and
 * the next 2 MiB onto PA 0: the first slot read-only and no-execute like
 * .rodata, the second writable. */
static void emit_page_tables(uint64_t text, bool l5, uint8_t *img)
{
    const uint64_t table = 0x63;                       /* P RW A D */
    const uint64_t leaf = 0x1a1 | 1ull << 63;          /* P A D PS G NX */
    const uint64_t leaf_rw = 0x1e3;                    /* P RW A D PS G */
    int levels = l5 ? 5 : 4;
    size_t page = MK_PGT;

    for (int lvl = levels; lvl > 2; lvl--) {
        unsigned idx = (unsigned)(text >> (12 + 9 * (lvl - 1))) & 511;
        put64(img, page + 8 * idx, (page + 0x1000) | table);
        page += 0x1000;
    }
    put64(img, page + 8 * ((text >> 21) & 511), 0 | leaf);
    put64(img, page + 8 * (((text >> 21) + 1) & 511), 0x200000 | leaf_rw);
}

static void emit_data(const struct kernel *k, const struct plan *pl, uint8_t *img)
{
    const tvmi_linux_info_t *info = &k->st->info;
    uint64_t text = info->text_va;

    snprintf((char *)img + MK_BANNER, MK_PHYS_BASE - MK_BANNER, "%s\n", info->banner);
    put64(img, MK_PHYS_BASE, 0 - (text - LX_KMAP_BASE)); /* _text at PA 0 */
    put32(img, MK_L5, pl->l5);
    emit_page_tables(text, pl->l5, img);
}

static void usage(void)
{
    die("usage: seedgen_kallsyms SNAPSHOT OUT [--layout real|6.1|6.12|5.10|abs] "
        "[--syms N] [--paging 4|5] [--no-regs]");
}

static enum layout real_layout(const struct lx_tables *t)
{
    if (t->addr_layout == LX_ADDR_ABS_BEFORE)
        return L_ABS;
    if (t->addr_layout == LX_ADDR_REL_AFTER)
        return L_612;
    return t->seqs_pa ? L_61 : L_510;
}

int main(int argc, char **argv)
{
    static const char *const lnames[] = { "real", "6.1", "6.12", "5.10", "abs" };
    struct kernel k = { 0 };
    struct plan pl = { .regs = true };
    uint32_t want = 300, hdr[2];
    int paging = 0;
    uint8_t *img;
    uint64_t cr3 = MK_PGT;
    FILE *f;

    if (argc < 3)
        usage();
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--layout") && i + 1 < argc) {
            size_t l = 0;
            while (l < 5 && strcmp(argv[i + 1], lnames[l]))
                l++;
            if (l == 5)
                usage();
            pl.layout = (enum layout)l;
            i++;
        } else if (!strcmp(argv[i], "--syms") && i + 1 < argc) {
            want = (uint32_t)strtoul(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--paging") && i + 1 < argc) {
            paging = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--no-regs")) {
            pl.regs = false;
        } else {
            usage();
        }
    }
    if (want < LX_MIN_SYMS)
        want = LX_MIN_SYMS;
    load_kernel(argv[1], &k);
    if (pl.layout == L_REAL)
        pl.layout = real_layout(&k.st->tab);
    pl.kind = pl.layout == L_ABS ? LX_ADDR_ABSOLUTE
              : k.st->tab.absolute_percpu ? LX_ADDR_ABS_PERCPU : LX_ADDR_RELATIVE;
    pl.l5 = paging ? paging == 5 : k.st->info.page_mode == VMI_PM_LA57;
    choose(&k, &pl, want);
    lay_out(&k, &pl);
    for (uint32_t i = 0; i < pl.n; i++) /* the table is where it landed */
        if (!strcmp(k.sym[pl.p[i].idx].name, "kallsyms_token_table"))
            pl.p[i].addr = k.st->info.text_va + pl.tokens;
    qsort(pl.p, pl.n, sizeof(*pl.p), by_addr);

    img = xcalloc(al8(pl.end), 1);
    emit_tables(&k, &pl, img);
    emit_data(&k, &pl, img);
    hdr[0] = (pl.regs ? MK_REGS : 0) | (pl.l5 ? MK_LA57 : 0);
    hdr[1] = MK_IMAGE_SIZE / 4096;
    f = fopen(argv[2], "wb");
    if (!f || fwrite(hdr, sizeof(hdr), 1, f) != 1 || fwrite(&cr3, 8, 1, f) != 1 ||
        fwrite(img, al8(pl.end), 1, f) != 1 || fclose(f))
        die("cannot write the output");
    printf("%s: %u symbols, layout %s, %d-level, %zu bytes\n", argv[2], pl.n,
           lnames[pl.layout], pl.l5 ? 5 : 4, MK_HEADER + al8(pl.end));
    free(img);
    free(pl.p);
    free(k.names);
    free(k.entry);
    free(k.tokens);
    for (uint32_t i = 0; i < k.count; i++)
        free((char *)k.sym[i].name);
    free(k.sym);
    vmi_destroy(k.vmi);
    return 0;
}
