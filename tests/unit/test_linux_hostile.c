/*
 * Linux discovery on synthetic guests (tests/support/memdrv): a small
 * kernel image written from the kallsyms format alone, in each table order
 * the releases used, with 4- and 5-level page tables, with and without
 * registers. Then the same image broken one way at a time: discovery must
 * fail with a message naming the step, quickly, and never crash or hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <tinyvmi/linux.h>
#include "memdrv.h"

#define MEM (64ull << 20)
#define TEXT_VA 0xffffffff81000000ull
#define RODATA 0x200000ull       /* offsets in the image */
#define DATA 0x400000ull
#define IMAGE 0x600000ull
#define NFUNC 900
#define NDATA 300
#define MAX_SECONDS 5.0          /* any failure must be this quick */

enum layout { L510, L61, L612, LABS, L7 };

struct sym {
    char name[48];
    char type;
    uint64_t addr;
};

struct kernel {
    struct memguest *g;
    enum layout layout;
    page_mode_t pm;
    addr_t text_pa;
    uint64_t text_va;
    struct sym *sym;
    size_t n;
    char tokens[256][8];
    /* where things went (PA), to break them */
    addr_t root, banner, token_table, token_index, names, markers, num_syms,
           offsets, relbase, seqs, tramp;
};

/* ---- building the image ------------------------------------------------------ */

static void add(struct kernel *k, const char *name, char type, uint64_t addr)
{
    struct sym *s = &k->sym[k->n++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->type = type;
    s->addr = addr;
}

static int by_addr(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    return (x->addr > y->addr) - (x->addr < y->addr);
}

static void make_symbols(struct kernel *k)
{
    char name[48];
    uint64_t t = k->text_va;

    k->sym = calloc(NFUNC + NDATA + 32, sizeof(*k->sym));
    if (k->layout != L7) { /* 7.x x86-64: per-CPU symbols are not zero-based */
        add(k, "fixed_percpu_data", 'A', 0);
        add(k, "__per_cpu_start", 'A', 0);
        add(k, "cpu_tss_rw", 'A', 0x6000);
    } else { /* placed once the tables are (build) */
        add(k, "kallsyms_token_table", 'D', t + RODATA + 0x10);
        add(k, "kallsyms_offsets", 'D', t + RODATA + 0x20);
    }
    add(k, "startup_64", 'T', t);
    add(k, "_text", 'T', t);
    for (int i = 0; i < NFUNC; i++) {
        snprintf(name, sizeof(name), "sym_func_%04d", i);
        add(k, name, i % 3 ? 't' : 'T', t + 0x1000 + 0x40ull * i);
    }
    add(k, "dup_static", 't', t + 0x1000 + 0x40ull * NFUNC);
    add(k, "dup_static", 't', t + 0x1000 + 0x40ull * NFUNC + 0x20);
    add(k, "linux_banner", 'D', t + RODATA);
    add(k, "init_top_pgt", 'D', t + DATA);
    add(k, "phys_base", 'D', t + DATA + 0x1000);
    add(k, "__pgtable_l5_enabled", 'D', t + DATA + 0x1008);
    add(k, "init_task", 'D', t + DATA + 0x2000);
    for (int i = 0; i < NDATA; i++) {
        snprintf(name, sizeof(name), "sym_data_%04d", i);
        add(k, name, i % 2 ? 'd' : 'D', t + DATA + 0x3000 + 0x100ull * i);
    }
    add(k, "_end", 'B', t + IMAGE);
    qsort(k->sym, k->n, sizeof(*k->sym), by_addr); /* stable enough: distinct */
}

/* Printable codes are their own character; the others are longer tokens,
 * a few of them useful, so decoding is exercised. */
static void make_tokens(struct kernel *k)
{
    static const char *useful[] = { "sym_", "func_", "data_", "Tsym_func_",
                                    "tsym_func_", "per_cpu", "_pgt", "init_" };
    size_t u = 0;

    for (int c = 0; c < 256; c++) {
        if (c > 0x20 && c < 0x7f)
            snprintf(k->tokens[c], sizeof(k->tokens[c]), "%c", c);
        else if (u < sizeof(useful) / sizeof(useful[0]))
            snprintf(k->tokens[c], sizeof(k->tokens[c]), "%s", useful[u++]);
        else
            snprintf(k->tokens[c], sizeof(k->tokens[c]), "~%02x", c);
    }
}

/* Greedy: the longest token that matches, else the character itself. */
static size_t encode(const struct kernel *k, const char *s, uint8_t *out)
{
    size_t n = 0;

    while (*s) {
        int best = (uint8_t)*s;
        size_t blen = 1;
        for (int c = 0; c < 256; c++) {
            size_t l = strlen(k->tokens[c]);
            if (l > blen && !strncmp(s, k->tokens[c], l)) {
                best = c;
                blen = l;
            }
        }
        out[n++] = (uint8_t)best;
        s += blen;
    }
    return n;
}

static addr_t align8(addr_t a) { return (a + 7) & ~7ull; }

static void poke(struct kernel *k, addr_t pa, const void *p, size_t len)
{
    memcpy(k->g->mem + pa, p, len);
}

static void poke32(struct kernel *k, addr_t pa, uint32_t v) { poke(k, pa, &v, 4); }
static void poke64(struct kernel *k, addr_t pa, uint64_t v) { poke(k, pa, &v, 8); }

static addr_t put_names(struct kernel *k, addr_t at)
{
    uint8_t buf[128];

    k->names = at;
    for (size_t i = 0; i < k->n; i++) {
        char full[64];
        size_t len;
        snprintf(full, sizeof(full), "%c%s", k->sym[i].type, k->sym[i].name);
        len = encode(k, full, buf);
        k->g->mem[at] = (uint8_t)len;
        poke(k, at + 1, buf, len);
        at += 1 + len;
    }
    return at;
}

static addr_t put_markers(struct kernel *k, addr_t at)
{
    addr_t p = k->names;

    k->markers = at;
    for (size_t i = 0; i < k->n; i++) {
        if (i % 256 == 0)
            poke32(k, at + 4 * (i / 256), (uint32_t)(p - k->names));
        p += 1 + k->g->mem[p];
    }
    return at + 4 * ((k->n + 255) / 256);
}

static const struct kernel *cmp_k;

static int by_name(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(cmp_k->sym[x].name, cmp_k->sym[y].name);
    return c ? c : (x > y) - (x < y);
}

static addr_t put_seqs(struct kernel *k, addr_t at)
{
    uint32_t *idx = malloc(k->n * sizeof(*idx));

    for (size_t i = 0; i < k->n; i++)
        idx[i] = (uint32_t)i;
    cmp_k = k;
    qsort(idx, k->n, sizeof(*idx), by_name);
    k->seqs = at;
    for (size_t i = 0; i < k->n; i++) {
        uint8_t b[3] = { (uint8_t)(idx[i] >> 16), (uint8_t)(idx[i] >> 8), (uint8_t)idx[i] };
        poke(k, at + 3 * i, b, 3);
    }
    free(idx);
    return at + 3 * k->n;
}

static addr_t put_tokens(struct kernel *k, addr_t at)
{
    uint16_t off[256];
    addr_t p;

    k->token_table = at = align8(at);
    p = at;
    for (int c = 0; c < 256; c++) {
        size_t l = strlen(k->tokens[c]) + 1;
        off[c] = (uint16_t)(p - at);
        poke(k, p, k->tokens[c], l);
        p += l;
    }
    k->token_index = align8(p);
    poke(k, k->token_index, off, sizeof(off));
    return k->token_index + sizeof(off);
}

/* kallsyms_offsets with the ABSOLUTE_PERCPU rule, then relative_base. */
static addr_t put_offsets(struct kernel *k, addr_t at)
{
    k->offsets = at = align8(at);
    for (size_t i = 0; i < k->n; i++) {
        uint64_t a = k->sym[i].addr;
        int32_t off = a < k->text_va ? (int32_t)a : (int32_t)(k->text_va - 1 - a);
        poke32(k, at + 4 * i, (uint32_t)off);
    }
    k->relbase = align8(at + 4 * k->n);
    poke64(k, k->relbase, k->text_va);
    return k->relbase + 8;
}

/* 7.x: each offset counts from its own place; no relative_base. */
static addr_t put_pc_offsets(struct kernel *k, addr_t at)
{
    k->offsets = at = align8(at);
    for (size_t i = 0; i < k->n; i++) {
        uint64_t self = k->text_va + (at + 4 * i - k->text_pa);
        poke32(k, at + 4 * i, (uint32_t)(int32_t)(int64_t)(k->sym[i].addr - self));
    }
    return at + 4 * k->n;
}

static void set_sym(struct kernel *k, const char *name, uint64_t addr)
{
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(k->sym[i].name, name))
            k->sym[i].addr = addr;
}

static addr_t put_count(struct kernel *k, addr_t at)
{
    k->num_syms = at = align8(at);
    poke32(k, at, (uint32_t)k->n);
    return at + 8;
}

static void put_tables(struct kernel *k, addr_t at)
{
    switch (k->layout) {
    case L510:
    case L61:
        at = put_count(k, put_offsets(k, at));
        at = put_markers(k, (put_names(k, at) + 3) & ~3ull);
        if (k->layout == L61)
            at = put_seqs(k, align8(at));
        put_tokens(k, at);
        break;
    case L612:
        at = put_markers(k, (put_names(k, put_count(k, at)) + 3) & ~3ull);
        at = put_offsets(k, put_tokens(k, at));
        put_seqs(k, at);
        break;
    case L7:
        at = put_markers(k, (put_names(k, put_count(k, at)) + 3) & ~3ull);
        put_seqs(k, put_pc_offsets(k, put_tokens(k, at)));
        break;
    case LABS:
        k->offsets = at = align8(at);
        for (size_t i = 0; i < k->n; i++)
            poke64(k, at + 8 * i, k->sym[i].addr);
        at = put_markers(k, (put_names(k, put_count(k, at + 8 * k->n)) + 3) & ~3ull);
        put_tokens(k, at);
        break;
    }
}

static void map_image(struct kernel *k, bool trampoline)
{
    k->root = k->text_pa + DATA; /* init_top_pgt */
    for (uint64_t off = 0; off < IMAGE; off += 0x200000)
        memguest_map(k->g, k->pm, k->root, k->text_va + off, k->text_pa + off,
                     VMI_PS_2MB, 0);
    if (!trampoline)
        return;
    k->tramp = memguest_alloc_page(k->g); /* below 1 MiB, like the real one */
    for (int i = 256; i < 512; i++)
        memguest_poke64(k->g, k->tramp + 8 * i, memguest_peek64(k->g, k->root + 8 * i));
}

static void build(struct kernel *k, enum layout layout, page_mode_t pm,
                  unsigned slide, bool trampoline)
{
    static const char banner[] = "Linux version 9.8.7-synthetic (tinyvmi@test) #1 SMP\n";

    memset(k, 0, sizeof(*k));
    k->g = memguest_new(MEM);
    k->layout = layout;
    k->pm = pm;
    k->text_pa = 0x1000000ull + 0x200000ull * (slide % 20);
    k->text_va = TEXT_VA + 0x200000ull * (slide % 37);
    make_symbols(k);
    make_tokens(k);
    k->banner = k->text_pa + RODATA;
    poke(k, k->banner, banner, sizeof(banner));
    put_tables(k, k->banner + 0x1000);
    if (layout == L7) { /* the tables name themselves: sizes do not move */
        set_sym(k, "kallsyms_token_table", k->text_va + (k->token_table - k->text_pa));
        set_sym(k, "kallsyms_offsets", k->text_va + (k->offsets - k->text_pa));
        qsort(k->sym, k->n, sizeof(*k->sym), by_addr);
        put_tables(k, k->banner + 0x1000);
    }
    poke64(k, k->text_pa + DATA + 0x1000, k->text_pa - (k->text_va - 0xffffffff80000000ull));
    poke32(k, k->text_pa + DATA + 0x1008, pm == VMI_PM_LA57);
    map_image(k, trampoline);
}

static void destroy(struct kernel *k)
{
    memguest_free(k->g);
    free(k->sym);
}

/* ---- running discovery ---------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct tvmi_driver_ops unstable_ops; /* memdrv without STABLE_MAPS */

/* An instance on the guest: registers (CR3 = init_top_pgt) or none. */
static vmi_instance_t open_guest(struct kernel *k, bool regs, bool stable)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;

    unstable_ops = memdrv_ops;
    unstable_ops.flags &= ~TVMI_DRV_STABLE_MAPS;
    k->g->pm = regs ? k->pm : VMI_PM_UNKNOWN;
    k->g->dtb = k->root;
    assert_int_equal(tvmi_init_with_driver(&vmi, stable ? &memdrv_ops : &unstable_ops,
                                           k->g, 0, &err), VMI_SUCCESS);
    if (regs)
        assert_int_equal(tvmi_set_kernel_dtb(vmi, k->root, k->pm), VMI_SUCCESS);
    return vmi;
}

/* Discovery must fail, in time, with a message containing want. */
static void expect_failure(struct kernel *k, const char *want)
{
    vmi_instance_t vmi = open_guest(k, false, true);
    vmi_init_error_t err = VMI_INIT_ERROR_NONE;
    double t = now();

    assert_int_equal(vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err), VMI_OS_UNKNOWN);
    t = now() - t;
    assert_int_equal(err, VMI_INIT_ERROR_OS);
    print_message("  %.1f ms: %s\n", t * 1e3, tvmi_last_error(vmi));
    if (!strstr(tvmi_last_error(vmi), want))
        fail_msg("error '%s' does not contain '%s'", tvmi_last_error(vmi), want);
    if (t > MAX_SECONDS)
        fail_msg("failing took %.1f s", t);
    assert_null(tvmi_linux_v2ksym(vmi, k->text_va, NULL));
    vmi_destroy(vmi);
}

static void check_symbols(vmi_instance_t vmi, const struct kernel *k)
{
    assert_int_equal(tvmi_linux_sym_count(vmi), k->n);
    for (size_t i = 0; i < k->n; i++) {
        tvmi_linux_sym_t s;
        addr_t va, off;
        const char *name;

        assert_int_equal(tvmi_linux_sym_at(vmi, i, &s), VMI_SUCCESS);
        assert_string_equal(s.name, k->sym[i].name);
        assert_int_equal(s.type, k->sym[i].type);
        assert_int_equal(s.addr, k->sym[i].addr);
        assert_int_equal(vmi_translate_ksym2v(vmi, s.name, &va), VMI_SUCCESS);
        if (strcmp(s.name, "dup_static"))
            assert_int_equal(va, s.addr);
        if (s.addr < k->text_va || s.addr >= k->text_va + IMAGE)
            continue;
        name = tvmi_linux_v2ksym(vmi, s.addr + 3, &off);
        assert_non_null(name);
        assert_int_equal(off, 3);
    }
}

static void expect_success(struct kernel *k, bool regs, bool stable)
{
    vmi_instance_t vmi = open_guest(k, regs, stable);
    vmi_init_error_t err;
    tvmi_linux_info_t info;
    addr_t va;

    if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err) != VMI_OS_LINUX)
        fail_msg("discovery failed: %s", tvmi_last_error(vmi));
    assert_int_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
    assert_string_equal(info.release, "9.8.7-synthetic");
    assert_int_equal(info.version[0], 9);
    assert_int_equal(info.version[2], 7);
    assert_int_equal(info.text_va, k->text_va);
    assert_int_equal(info.text_pa, k->text_pa);
    assert_int_equal(info.kdtb, k->root);
    assert_int_equal(info.page_mode, k->pm);
    assert_int_equal(tvmi_get_kernel_dtb(vmi), k->root);
    assert_int_equal(vmi_get_page_mode(vmi, 0), k->pm);
    assert_int_equal(info.phys_base_check, TVMI_CHECK_OK);
    assert_int_equal(info.l5_check, TVMI_CHECK_OK);
    assert_int_equal(info.regs_check, regs ? TVMI_CHECK_OK : TVMI_CHECK_NOT_DONE);
    assert_int_equal(info.num_syms, k->n);
    assert_int_equal(info.base_relative, k->layout != LABS && k->layout != L7);
    assert_int_equal(info.pc_relative, k->layout == L7);
    assert_int_equal(info.seqs_of_names, k->layout == L61 || k->layout == L612 ||
                                         k->layout == L7);
    check_symbols(vmi, k);
    assert_int_equal(vmi_translate_ksym2v(vmi, "dup_static", &va), VMI_SUCCESS);
    assert_int_equal(va, k->text_va + 0x1000 + 0x40ull * NFUNC);
    assert_int_not_equal(vmi_translate_ksym2v(vmi, "no_such_symbol", &va), VMI_SUCCESS);
    assert_non_null(strstr(tvmi_last_error(vmi), "no_such_symbol"));
    assert_null(tvmi_linux_v2ksym(vmi, k->text_va - 1, NULL));
    assert_null(tvmi_linux_v2ksym(vmi, k->text_va + IMAGE, NULL));
    vmi_destroy(vmi);
}

/* ---- the tests -------------------------------------------------------------------- */

static void test_layouts(void **state)
{
    static const enum layout layouts[] = { L510, L61, L612, LABS, L7 };
    static const page_mode_t modes[] = { VMI_PM_IA32E, VMI_PM_LA57 };
    unsigned slide = 3;

    (void)state;
    for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++)
        for (size_t m = 0; m < 2; m++)
            for (int tramp = 0; tramp < 2; tramp++) {
                struct kernel k;
                build(&k, layouts[l], modes[m], slide += 7, tramp);
                expect_success(&k, false, true);
                expect_success(&k, true, true);
                destroy(&k);
            }
}

static void test_copying_driver(void **state)
{
    struct kernel k;

    (void)state;
    build(&k, L612, VMI_PM_LA57, 5, true);
    expect_success(&k, false, false);
    destroy(&k);
}

static void test_no_kernel(void **state)
{
    struct memguest *g = memguest_new(MEM);
    struct kernel k = { .g = g };

    (void)state;
    expect_failure(&k, "step 1 (kallsyms_token_table)");
    memguest_free(g);
}

static void test_broken_token_table(void **state)
{
    struct kernel k;

    (void)state;
    build(&k, L61, VMI_PM_IA32E, 1, true);
    k.g->mem[k.token_table + 1] = 0x01;  /* token 0 loses its NUL */
    expect_failure(&k, "step 1");
    destroy(&k);
    build(&k, L612, VMI_PM_IA32E, 1, true);
    poke32(&k, k.token_index + 2 * 0x41, 0x7777); /* index disagrees */
    expect_failure(&k, "step 1");
    destroy(&k);
}

static void test_broken_names(void **state)
{
    struct kernel k;

    (void)state;
    build(&k, L61, VMI_PM_IA32E, 2, false);
    k.g->mem[k.names + 1 + k.g->mem[k.names]] = 0x7f;  /* entry 1 too long */
    expect_failure(&k, "step 2");
    destroy(&k);
    build(&k, L612, VMI_PM_LA57, 2, false);
    k.g->mem[k.names] = 0;                              /* empty entry */
    expect_failure(&k, "step 2");
    destroy(&k);
}

static void test_broken_markers(void **state)
{
    struct kernel k;

    (void)state;
    build(&k, L510, VMI_PM_IA32E, 4, true);
    poke32(&k, k.markers + 8, 12345);
    expect_failure(&k, "step 2");
    destroy(&k);
}

static void test_huge_counts(void **state)
{
    static const uint32_t counts[] = { 0xffffffffu, 0x7fffffffu, 1u << 22, 255 };
    struct kernel k;

    (void)state;
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        build(&k, i % 2 ? L612 : L61, VMI_PM_IA32E, 6, true);
        poke32(&k, k.num_syms, counts[i]);
        expect_failure(&k, "step 2");
        destroy(&k);
    }
}

static void test_broken_addresses(void **state)
{
    struct kernel k;
    uint32_t a, b;

    (void)state;
    build(&k, L61, VMI_PM_IA32E, 8, true);
    a = memguest_peek32(k.g, k.offsets + 4 * 500);
    b = memguest_peek32(k.g, k.offsets + 4 * 501);
    poke32(&k, k.offsets + 4 * 500, b);     /* two addresses swapped */
    poke32(&k, k.offsets + 4 * 501, a);
    expect_failure(&k, "step 3");
    destroy(&k);
    build(&k, L612, VMI_PM_IA32E, 8, true);
    poke64(&k, k.relbase, 0x1234);           /* no kernel base */
    expect_failure(&k, "step 3");
    destroy(&k);
    build(&k, L7, VMI_PM_IA32E, 8, true);
    a = memguest_peek32(k.g, k.offsets + 4 * 500);
    b = memguest_peek32(k.g, k.offsets + 4 * 501);
    poke32(&k, k.offsets + 4 * 500, b + 4);  /* swapped, each from its place */
    poke32(&k, k.offsets + 4 * 501, a - 4);
    expect_failure(&k, "step 3");
    destroy(&k);
    build(&k, L7, VMI_PM_IA32E, 8, true);
    memset(k.g->mem + k.offsets, 0, 4 * k.n); /* zeros "sort" PC-relative */
    expect_failure(&k, "step 3");
    destroy(&k);
    build(&k, L7, VMI_PM_IA32E, 8, true);    /* phys_base: the only VA source */
    poke64(&k, k.text_pa + DATA + 0x1000, 0x123);
    expect_failure(&k, "step 5 (kernel symbols): phys_base");
    destroy(&k);
}

static void test_broken_image(void **state)
{
    struct kernel k;

    (void)state;
    build(&k, L612, VMI_PM_IA32E, 9, true);
    memcpy(k.g->mem + k.banner, "Linux versiom", 13);
    expect_failure(&k, "step 6 (physical _text)");
    destroy(&k);
    build(&k, L61, VMI_PM_LA57, 9, true);
    memset(k.g->mem + k.root, 0, 4096);      /* init_top_pgt maps nothing */
    expect_failure(&k, "step 7 (page tables)");
    destroy(&k);
    build(&k, L61, VMI_PM_IA32E, 9, true);
    poke64(&k, k.text_pa + DATA + 0x1000, 0x4000); /* phys_base disagrees */
    expect_failure(&k, "step 7 (page tables)");
    destroy(&k);
}

/* Registers are a cross-check, not a requirement: a CR3 that maps nothing
 * (a junk or user root) or a paging mode that is wrong is reported as a
 * mismatch, and memory's own page tables are used instead. */
static void test_registers_disagree(void **state)
{
    static const struct {
        bool junk_root;
        page_mode_t pm;
        const char *note;
    } cases[] = {
        { true, VMI_PM_IA32E, "CR3 does not map _text" },
        { false, VMI_PM_LA57, "the registers say" },
    };
    struct kernel k;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vmi_instance_t vmi;
        vmi_init_error_t err;
        tvmi_linux_info_t info;
        addr_t root;

        build(&k, L612, VMI_PM_IA32E, 11, true);
        root = cases[i].junk_root ? memguest_alloc_page(k.g) : k.root;
        vmi = open_guest(&k, false, true);
        assert_int_equal(tvmi_set_kernel_dtb(vmi, root, cases[i].pm), VMI_SUCCESS);
        if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err) != VMI_OS_LINUX)
            fail_msg("discovery failed: %s", tvmi_last_error(vmi));
        assert_int_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
        print_message("  notes: %s\n", info.notes);
        assert_int_equal(info.regs_check, TVMI_CHECK_MISMATCH);
        assert_non_null(strstr(info.notes, cases[i].note));
        assert_int_equal(info.kdtb, k.root);
        assert_int_equal(info.page_mode, VMI_PM_IA32E);
        assert_int_equal(tvmi_get_kernel_dtb(vmi), k.root);
        assert_int_equal(vmi_get_page_mode(vmi, 0), VMI_PM_IA32E);
        check_symbols(vmi, &k);
        vmi_destroy(vmi);
        destroy(&k);
    }
}

/* A seqs table that does not sort the names is not used: the index is
 * built by sorting instead, and everything still works. */
static void test_broken_seqs(void **state)
{
    struct kernel k;
    vmi_instance_t vmi;
    vmi_init_error_t err;
    tvmi_linux_info_t info;

    (void)state;
    build(&k, L612, VMI_PM_IA32E, 10, true);
    k.g->mem[k.seqs + 3 * 100] ^= 0x01;
    vmi = open_guest(&k, false, true);
    assert_int_equal(vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err), VMI_OS_LINUX);
    assert_int_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
    assert_false(info.seqs_of_names);
    check_symbols(vmi, &k);
    vmi_destroy(vmi);
    destroy(&k);
}

/* RAM full of digit patterns and fake token tables: bounded work. */
static void test_decoys(void **state)
{
    struct kernel k;
    addr_t len;

    (void)state;
    build(&k, L612, VMI_PM_IA32E, 12, false);
    len = k.token_index + 512 - k.token_table;
    memset(k.g->mem + k.names, 0x41, k.token_table - k.names); /* no names */
    for (addr_t at = 0x100000; at + len < k.text_pa; at += 0x2000)
        memcpy(k.g->mem + at, k.g->mem + k.token_table, len);
    for (addr_t at = k.text_pa + IMAGE; at + 32 < MEM; at += 64)
        memcpy(k.g->mem + at, "0\0" "1\0" "2\0" "3\0" "4\0" "5\0" "6\0" "7\0" "8\0" "9\0", 20);
    expect_failure(&k, "step 2");
    destroy(&k);
}

static void test_api_without_linux(void **state)
{
    struct memguest *g = memguest_new(1 << 20);
    vmi_instance_t vmi = memguest_open(g, VMI_PM_IA32E, memguest_alloc_page(g));
    tvmi_linux_info_t info;
    addr_t va;

    (void)state;
    assert_int_not_equal(vmi_translate_ksym2v(vmi, "x", &va), VMI_SUCCESS);
    assert_non_null(strstr(tvmi_last_error(vmi), "no Linux kernel"));
    assert_null(vmi_translate_v2ksym(vmi, NULL, TEXT_VA));
    assert_int_not_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
    assert_int_equal(tvmi_linux_sym_count(vmi), 0);
    assert_null(vmi_read_str_ksym(vmi, "linux_banner"));
    assert_int_not_equal(vmi_get_offset(vmi, "linux_tasks", &va), VMI_SUCCESS);
    assert_null(tvmi_linux_v2ksym(NULL, 0, NULL));
    assert_int_equal(vmi_init_os(NULL, TVMI_CONFIG_NONE, NULL, NULL), VMI_OS_UNKNOWN);
    vmi_destroy(vmi);
    memguest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_copying_driver),
        cmocka_unit_test(test_no_kernel),
        cmocka_unit_test(test_broken_token_table),
        cmocka_unit_test(test_broken_names),
        cmocka_unit_test(test_broken_markers),
        cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_broken_addresses),
        cmocka_unit_test(test_broken_image),
        cmocka_unit_test(test_broken_seqs),
        cmocka_unit_test(test_registers_disagree),
        cmocka_unit_test(test_decoys),
        cmocka_unit_test(test_api_without_linux),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
