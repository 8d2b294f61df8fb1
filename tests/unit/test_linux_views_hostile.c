/*
 * The Linux views on a corrupted guest: a real snapshot's RAM is copied
 * into the synthetic guest (tests/support/memdrv), the kernel found in it,
 * then one structure at a time is broken the way a hostile or racing guest
 * could: task and module list links looping back, pointing nowhere, or
 * non-canonical; a thread list loop; a list far too long; a module name
 * without its NUL; printk ring sizes, ids and text positions out of range.
 *
 * Each call must return quickly, never crash, and either fail with a clear
 * message or give a result marked partial that still holds everything
 * that could be reached: one bad entry never loses the whole listing.
 * One snapshot per kernel release in the corpus (their layouts differ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <tinyvmi/linux.h>
#include "corpus.h"
#include "memdrv.h"
#include "snapguest.h"

#define MAX_SECONDS 1.0
#define CHAIN_NODES 70000 /* more than the views' bound of 65536 tasks */

static struct snapguest cur;
/* What the snapshot held before any corruption. */
static struct {
    tvmi_linux_task_t *tasks;
    size_t ntasks;
    size_t nrecords;
    addr_t dmap;                /* page_offset_base */
} base;

/* ---- the guest ------------------------------------------------------------ */

static void take_baseline(void)
{
    tvmi_linux_log_record_t *r;
    int partial;

    free(base.tasks);
    memset(&base, 0, sizeof(base));
    assert_int_equal(tvmi_linux_tasks(cur.vmi, &base.tasks, &base.ntasks, &partial),
                     VMI_SUCCESS);
    assert_int_equal(partial, 0);
    assert_int_equal(tvmi_linux_log(cur.vmi, &r, &base.nrecords, &partial),
                     VMI_SUCCESS);
    free(r);
    assert_int_equal(vmi_read_64_ksym(cur.vmi, "page_offset_base", &base.dmap),
                     VMI_SUCCESS);
}

static int setup(void **state)
{
    if (snapguest_load(&cur, *state))
        take_baseline();
    return 0;
}

/* Undoes every poke and hole of the test, even a failed one. */
static int teardown(void **state)
{
    (void)state;
    snapguest_undo(&cur);
    return 0;
}

static void poke(addr_t va, uint64_t v)
{
    assert_int_equal(va & 7, 0); /* so is the PA: same page offset */
    snapguest_patch(&cur, va, &v, 8);
}

static uint64_t peek(addr_t va)
{
    return memguest_peek64(cur.g, snapguest_pa(&cur, va));
}

static size_t off(const char *st, const char *member)
{
    size_t o;

    assert_int_equal(tvmi_linux_struct_offset(cur.vmi, st, member, &o), VMI_SUCCESS);
    return o;
}

/* Index of a process (a leader) in the baseline listing. */
static size_t find_comm(const char *comm)
{
    for (size_t i = 0; i < base.ntasks; i++)
        if (!strcmp(base.tasks[i].comm, comm) && base.tasks[i].pid == base.tasks[i].tgid)
            return i;
    fail_msg("no task '%s' in %s", comm, cur.snap->dir);
    return 0;
}

static addr_t tasks_node(size_t i)
{
    return base.tasks[i].task + off("task_struct", "tasks");
}

/* ---- checks ------------------------------------------------------------------ */

/* Lists the tasks, quickly, and checks it is partial with the message. */
static tvmi_linux_task_t *list_partial(size_t *n, const char *why)
{
    tvmi_linux_task_t *t = NULL;
    int partial = -1;
    double t0 = test_now(), secs;

    assert_int_equal(tvmi_linux_tasks(cur.vmi, &t, n, &partial), VMI_SUCCESS);
    secs = test_now() - t0;
    print_message("    %.1f ms, %zu tasks: %s\n", secs * 1e3, *n,
                  tvmi_last_error(cur.vmi));
    assert_true(secs < MAX_SECONDS);
    assert_int_equal(partial, 1);
    if (!strstr(tvmi_last_error(cur.vmi), why))
        fail_msg("expected '%s' in: %s", why, tvmi_last_error(cur.vmi));
    return t;
}

static bool has_task(const tvmi_linux_task_t *t, size_t n, addr_t task)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].task == task)
            return true;
    return false;
}

/* The baseline tasks [from, to) are all in the listing. */
static void all_listed(const tvmi_linux_task_t *t, size_t n, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!has_task(t, n, base.tasks[i].task))
            fail_msg("pid %d (%s) was lost", base.tasks[i].pid, base.tasks[i].comm);
}

/* ---- task list --------------------------------------------------------------- */

static void test_task_loop(void **state)
{
    size_t k = find_comm("target-gamma"), j = find_comm("kthreadd") + 5, n;
    tvmi_linux_task_t *t;

    poke(tasks_node(k), tasks_node(j)); /* back into the middle */
    t = list_partial(&n, "loops");
    all_listed(t, n, 0, base.ntasks); /* the rest is found walking back */
    assert_int_equal(n, base.ntasks);
    free(t);
}

static void test_task_self_loop(void **state)
{
    size_t k = find_comm("target-alpha"), n;
    tvmi_linux_task_t *t;

    poke(tasks_node(k), tasks_node(k));
    t = list_partial(&n, "loops");
    all_listed(t, n, 0, base.ntasks);
    free(t);
}

static void test_task_nowhere(void **state)
{
    static const uint64_t bad[] = {
        0xffffc90000123000ull,      /* vmalloc space: not where tasks live */
        0x8000dead00000000ull,      /* not canonical */
        0x0000000000001000ull,      /* user space */
        0,                          /* NULL */
    };
    size_t k = find_comm("target-beta"), n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tvmi_linux_task_t *t;
        poke(tasks_node(k), bad[i]);
        t = list_partial(&n, "not in the kernel's memory");
        all_listed(t, n, 0, base.ntasks);
        free(t);
    }
    /* past the end of RAM in the direct map */
    poke(tasks_node(k), base.dmap + cur.g->size + 0x10000);
    free(list_partial(&n, "not in the kernel's memory"));
}

/* A pointer into the direct map whose frame cannot be read. */
static void test_task_unreadable(void **state)
{
    size_t k = find_comm("target-beta"), n;
    addr_t gfn = cur.g->size / 4096 - 3;
    tvmi_linux_task_t *t;

    memguest_hole(cur.g, gfn);
    poke(tasks_node(k), base.dmap + gfn * 4096 + 0x100);
    t = list_partial(&n, "unreadable");
    all_listed(t, n, 0, base.ntasks);
    free(t);
}

/* Both ways broken: what comes before the break is kept. */
static void test_task_broken_both_ways(void **state)
{
    size_t k = find_comm("target-alpha"), n;
    addr_t head;
    tvmi_linux_task_t *t;

    assert_int_equal(vmi_translate_ksym2v(cur.vmi, "init_task", &head), VMI_SUCCESS);
    head += off("task_struct", "tasks");
    poke(tasks_node(k), 0x8000dead00000000ull);
    poke(head + 8, 0x8000beef00000000ull); /* init_task.tasks.prev */
    t = list_partial(&n, "not in the kernel's memory");
    all_listed(t, n, 0, k + 1);
    assert_true(n < base.ntasks);
    free(t);
}

/* A task half-linked (as while the list is being changed): prev wrong. */
static void test_task_prev_mismatch(void **state)
{
    size_t k = find_comm("target-alpha"), n;
    tvmi_linux_task_t *t;

    poke(tasks_node(k) + 8, tasks_node(0) + 0x40);
    t = list_partial(&n, "prev");
    all_listed(t, n, 0, base.ntasks);
    assert_int_equal(n, base.ntasks);
    free(t);
}

/* A task caught while copy_process fills it in: its parent, credentials
 * and mm not set yet (zero, junk, or not in memory). It is listed with what
 * could be read, each missing part noted; the others are untouched. */
static void test_task_half_created(void **state)
{
    size_t k = find_comm("target-alpha"), n;
    addr_t task = base.tasks[k].task;
    tvmi_linux_task_t *t;
    addr_t dtb;

    poke(task + off("task_struct", "real_parent"), 0);
    poke(task + off("task_struct", "real_cred"), 0xdead000000000100ull);
    poke(task + off("task_struct", "mm"), base.dmap + (cur.g->size + (64ull << 20)));
    t = list_partial(&n, "real_parent 0x0 cannot be read");
    assert_int_equal(n, base.ntasks);
    all_listed(t, n, 0, base.ntasks);
    for (size_t i = 0; i < n; i++) {
        const tvmi_linux_task_t *b = NULL;

        for (size_t j = 0; j < base.ntasks; j++)
            if (base.tasks[j].task == t[i].task)
                b = &base.tasks[j];
        assert_non_null(b);
        assert_int_equal(t[i].pid, b->pid);
        assert_string_equal(t[i].comm, b->comm);
        if (t[i].task != task) {
            assert_int_equal(t[i].ppid, b->ppid);
            assert_int_equal(t[i].uid, b->uid);
            assert_int_equal(t[i].dtb, b->dtb);
            continue;
        }
        assert_int_equal(t[i].ppid, -1);
        assert_int_equal(t[i].uid, ~0u);
        assert_int_equal(t[i].dtb, 0);
    }
    /* the first problem is told, the others counted: cred and mm */
    assert_non_null(strstr(tvmi_last_error(cur.vmi), "(and 2 more problems)"));
    free(t);
    /* its root cannot be named; the question fails with the reason */
    assert_int_not_equal(vmi_pid_to_dtb(cur.vmi, base.tasks[k].pid, &dtb), VMI_SUCCESS);
    assert_non_null(strstr(tvmi_last_error(cur.vmi), "page-table root cannot be read"));
    print_message("    pid -> dtb: %s\n", tvmi_last_error(cur.vmi));
}

/* A fresh discovery on the (patched) guest, then a process list: it must
 * end quickly, with the tasks or a failure that names want. */
static void ps_after_rediscovery(const char *want)
{
    vmi_instance_t vmi = memguest_open(cur.g, cur.snap->paging == 5 ? VMI_PM_LA57
                                                                    : VMI_PM_IA32E,
                                       cur.snap->cr3 & ~0xfffull);
    vmi_init_error_t err;
    tvmi_linux_task_t *t = NULL;
    size_t n = 0;
    int partial;
    double t0 = test_now();
    status_t rc;

    assert_non_null(vmi);
    assert_int_equal(vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err), VMI_OS_LINUX);
    rc = tvmi_linux_tasks(vmi, &t, &n, &partial);
    print_message("    %.1f ms: %s\n", (test_now() - t0) * 1e3,
                  rc == VMI_SUCCESS ? "listed" : tvmi_last_error(vmi));
    assert_true(test_now() - t0 < MAX_SECONDS);
    if (!want) {
        assert_int_equal(rc, VMI_SUCCESS);
        assert_int_equal(n, base.ntasks);
    } else {
        assert_int_not_equal(rc, VMI_SUCCESS);
        if (!strstr(tvmi_last_error(vmi), want))
            fail_msg("expected '%s' in: %s", want, tvmi_last_error(vmi));
    }
    free(t);
    vmi_destroy(vmi);
}

/* The kernel's BTF broken in memory before discovery: a header that lies,
 * sections out of the blob, types that overrun it. No layouts, said so. */
static void test_btf_corrupt(void **state)
{
    tvmi_linux_info_t info;
    addr_t va;
    uint64_t v;

    assert_int_equal(tvmi_linux_get_info(cur.vmi, &info), VMI_SUCCESS);
    assert_true(info.btf_pa != 0);
    va = info.text_va + (info.btf_pa - info.text_pa);
    ps_after_rediscovery(NULL); /* untouched: the same list */

    v = peek(va) ^ 0xffff;                /* magic */
    snapguest_patch(&cur, va, &v, 8);
    ps_after_rediscovery("no structure layouts");
    snapguest_undo(&cur);

    v = peek(va + 8) | 0x7fffffff00000000ull; /* type_len past the end */
    snapguest_patch(&cur, va + 8, &v, 8);
    ps_after_rediscovery("no structure layouts");
    snapguest_undo(&cur);

    /* a type record in the middle whose vlen runs past the type section */
    for (addr_t at = (va + info.btf_size / 3) & ~7ull, i = 0; i < 4; i++, at += 8) {
        v = 0x0fff00040fff0004ull;
        snapguest_patch(&cur, at, &v, 8);
    }
    ps_after_rediscovery("BTF");
}

static void test_thread_loop(void **state)
{
    size_t k = find_comm("target-threads"), n;
    size_t node = off("task_struct", "thread_node");
    tvmi_linux_task_t *t;

    assert_int_equal(base.tasks[k + 2].tgid, base.tasks[k].tgid);
    /* the third thread's next goes back to the second */
    poke(base.tasks[k + 2].task + node, base.tasks[k + 1].task + node);
    t = list_partial(&n, "loops");
    all_listed(t, n, 0, base.ntasks);
    free(t);
}

/* 2 MiB of zeros in the guest, high up: room for made-up structures. */
static addr_t zero_region(void)
{
    static const uint8_t zero[4096];

    for (addr_t pa = (cur.g->size - (4ull << 20)) & ~0x1fffffull; pa > (64ull << 20);
         pa -= 0x200000) {
        bool clean = true;
        for (addr_t p = pa; clean && p < pa + 0x200000; p += 4096)
            clean = !memcmp(cur.g->mem + p, zero, 4096);
        if (clean)
            return pa;
    }
    fail_msg("no 2 MiB of zeros in the guest");
    return 0;
}

/* A list far longer than any real one, of distinct nodes: the bound ends it. */
static void test_task_chain_too_long(void **state)
{
    size_t k = find_comm("target-beta"), n;
    addr_t pa = zero_region(), va = base.dmap + pa;
    uint8_t *mem = cur.g->mem + pa;

    assert_true((size_t)CHAIN_NODES * 16 + 16 <= 0x200000);
    for (size_t i = 0; i < CHAIN_NODES; i++) {
        uint64_t links[2] = { va + 16 * (i + 1), i ? va + 16 * (i - 1) : tasks_node(k) };
        memcpy(mem + 16 * i, links, 16);
    }
    poke(tasks_node(k), va);
    free(list_partial(&n, "more than 65536"));
    memset(mem, 0, (size_t)CHAIN_NODES * 16);
}

/* ---- modules ------------------------------------------------------------------ */

static tvmi_linux_module_t *modules(size_t *n, int want_partial, const char *why)
{
    tvmi_linux_module_t *m = NULL;
    int partial = -1;
    double t0 = test_now();

    assert_int_equal(tvmi_linux_modules(cur.vmi, &m, n, &partial), VMI_SUCCESS);
    assert_true(test_now() - t0 < MAX_SECONDS);
    print_message("    %zu modules: %s\n", *n, tvmi_last_error(cur.vmi));
    assert_int_equal(partial, want_partial);
    if (why && !strstr(tvmi_last_error(cur.vmi), why))
        fail_msg("expected '%s' in: %s", why, tvmi_last_error(cur.vmi));
    return m;
}

static void test_module_name_unterminated(void **state)
{
    size_t n, n0;
    tvmi_linux_module_t *m0 = modules(&n0, 0, NULL), *m;
    addr_t name = m0[0].module + off("module", "name");

    for (size_t i = 0; i < 64; i += 8) /* the name and what follows it */
        poke(name + i, 0x4141414141414141ull);
    m = modules(&n, 1, "not terminated");
    assert_int_equal(n, n0);
    assert_int_equal(strlen(m[0].name), 55);
    assert_int_equal(m[0].base, m0[0].base);
    free(m);
    free(m0);
}

static void test_module_loop(void **state)
{
    size_t n, n0;
    tvmi_linux_module_t *m0 = modules(&n0, 0, NULL), *m;
    addr_t node = m0[0].module + off("module", "list");

    poke(node, node); /* next = itself */
    m = modules(&n, 1, "loops");
    assert_int_equal(n, n0);
    assert_string_equal(m[0].name, m0[0].name);
    free(m);
    free(m0);
}

static void test_module_nowhere(void **state)
{
    size_t n, n0;
    tvmi_linux_module_t *m0 = modules(&n0, 0, NULL), *m;
    addr_t head;

    assert_int_equal(vmi_translate_ksym2v(cur.vmi, "modules", &head), VMI_SUCCESS);
    poke(head, 0xdead000000000000ull); /* the head's next */
    m = modules(&n, 1, "not in the module area");
    assert_int_equal(n, n0); /* found walking back */
    free(m);
    poke(head + 8, 0xffff888000001000ull); /* and its prev */
    m = modules(&n, 1, "not in the module area");
    assert_int_equal(n, 0);
    free(m);
    free(m0);
}

static void test_module_sizes(void **state)
{
    size_t n, at;
    tvmi_linux_module_t *m0 = modules(&n, 0, NULL), *m;

    /* the text base: mem[0].base (6.4+) or core_layout.base, both first */
    if (tvmi_linux_struct_offset(cur.vmi, "module", "mem", &at) != VMI_SUCCESS)
        at = off("module", "core_layout");

    poke(m0[0].module + at, 0x8000000000000000ull); /* base: nowhere */
    m = modules(&n, 1, "not in the module area");
    assert_int_equal(n, 1);
    free(m);
    free(m0);
}

/* ---- kernel log ------------------------------------------------------------------- */

struct ring {
    addr_t rb, desc_ring, data_ring, descs;
    uint32_t count_bits;
    uint64_t head_id, tail_id;
};

static void ring(struct ring *r)
{
    assert_int_equal(vmi_read_addr_ksym(cur.vmi, "prb", &r->rb), VMI_SUCCESS);
    r->desc_ring = r->rb + off("printk_ringbuffer", "desc_ring");
    r->data_ring = r->rb + off("printk_ringbuffer", "text_data_ring");
    assert_int_equal(off("prb_desc_ring", "count_bits"), 0);
    r->count_bits = (uint32_t)peek(r->desc_ring);
    r->descs = peek(r->desc_ring + off("prb_desc_ring", "descs"));
    r->head_id = peek(r->desc_ring + off("prb_desc_ring", "head_id"));
    r->tail_id = peek(r->desc_ring + off("prb_desc_ring", "tail_id"));
}

static void log_fails(const char *why)
{
    tvmi_linux_log_record_t *r = NULL;
    size_t n;
    double t0 = test_now();

    assert_int_not_equal(tvmi_linux_log(cur.vmi, &r, &n, NULL), VMI_SUCCESS);
    assert_true(test_now() - t0 < MAX_SECONDS);
    assert_null(r);
    print_message("    %s\n", tvmi_last_error(cur.vmi));
    if (!strstr(tvmi_last_error(cur.vmi), why))
        fail_msg("expected '%s' in: %s", why, tvmi_last_error(cur.vmi));
    assert_null(tvmi_linux_dmesg(cur.vmi, &n, NULL));
}

static size_t log_partial(const char *why)
{
    tvmi_linux_log_record_t *r = NULL;
    size_t n;
    int partial = -1;
    double t0 = test_now();

    assert_int_equal(tvmi_linux_log(cur.vmi, &r, &n, &partial), VMI_SUCCESS);
    assert_true(test_now() - t0 < MAX_SECONDS);
    free(r);
    print_message("    %zu records: %s\n", n, tvmi_last_error(cur.vmi));
    assert_int_equal(partial, 1);
    if (!strstr(tvmi_last_error(cur.vmi), why))
        fail_msg("expected '%s' in: %s", why, tvmi_last_error(cur.vmi));
    return n;
}

static void test_log_sizes(void **state)
{
    struct ring r;
    addr_t cbits, sbits;

    ring(&r);
    cbits = r.desc_ring + off("prb_desc_ring", "count_bits");
    sbits = r.data_ring + off("prb_data_ring", "size_bits");
    assert_int_equal(cbits % 8, 0);
    assert_int_equal(sbits % 8, 0);
    poke(cbits, (peek(cbits) & ~0xffffffffull) | 63);
    log_fails("out of range");
    teardown(NULL);
    poke(cbits, peek(cbits) & ~0xffffffffull);
    log_fails("out of range");
    teardown(NULL);
    poke(sbits, (peek(sbits) & ~0xffffffffull) | 40);
    log_fails("out of range");
    teardown(NULL);
    poke(sbits, (peek(sbits) & ~0xffffffffull) | 4); /* a ring smaller than its descs */
    log_partial("");
}

static void test_log_arrays_nowhere(void **state)
{
    struct ring r;

    ring(&r);
    poke(r.desc_ring + off("prb_desc_ring", "descs"), 0x1000);
    log_fails("not in kernel memory");
    teardown(NULL);
    poke(r.data_ring + off("prb_data_ring", "data"), 0xffffffffffff0000ull);
    log_fails("not in kernel memory");
}

/* The last frames of RAM made unreadable, and their first address in the
 * direct map: a place for an array that cannot be read. */
static addr_t unreadable_frames(size_t frames)
{
    addr_t first = cur.g->size / 4096 - frames;

    for (addr_t gfn = first; gfn < first + frames; gfn++)
        memguest_hole(cur.g, gfn);
    return base.dmap + first * 4096;
}

/* Descriptors, then texts, in memory that cannot be read: every record is
 * lost and the losses are noted. */
static void test_log_arrays_unreadable(void **state)
{
    struct ring r;
    size_t desc_size, frames;
    uint32_t size_bits;

    ring(&r);
    assert_int_equal(tvmi_linux_struct_size(cur.vmi, "prb_desc", &desc_size),
                     VMI_SUCCESS);
    frames = (desc_size << r.count_bits) / 4096 + 1;
    poke(r.desc_ring + off("prb_desc_ring", "descs"), unreadable_frames(frames));
    assert_int_equal(log_partial("cannot be read"), 0);
    teardown(NULL);
    size_bits = (uint32_t)peek(r.data_ring + off("prb_data_ring", "size_bits"));
    frames = (1ull << size_bits) / 4096 + 1;
    poke(r.data_ring + off("prb_data_ring", "data"), unreadable_frames(frames));
    assert_true(log_partial("text at") < base.nrecords / 10);
}

static void test_log_ids(void **state)
{
    struct ring r;
    size_t n;

    ring(&r);
    poke(r.desc_ring + off("prb_desc_ring", "tail_id"), r.head_id - (1ull << 40));
    n = log_partial("descriptors apart");
    assert_true(n > 0 && n <= base.nrecords);
}

/* One record's text positions out of the ring: only it is lost. */
static void test_log_record_positions(void **state)
{
    struct ring r;
    uint64_t id, idx;
    size_t desc_size, n;
    addr_t lpos;

    ring(&r);
    assert_int_equal(tvmi_linux_struct_size(cur.vmi, "prb_desc", &desc_size),
                     VMI_SUCCESS);
    id = (r.tail_id & ~(3ull << 62)) + 10;
    idx = id & ((1ull << r.count_bits) - 1);
    lpos = r.descs + idx * desc_size + off("prb_desc", "text_blk_lpos");
    poke(lpos, 0x7ffffffffffff000ull);          /* begin */
    poke(lpos + 8, 0x7ffffffffffff000ull + 0x200000000ull); /* next */
    n = log_partial("do not fit");
    assert_int_equal(n, base.nrecords - 1);
}

/* ---- driver ------------------------------------------------------------------------- */

static const struct corpus_case cases[] = {
    { "task_loop", test_task_loop },
    { "task_self_loop", test_task_self_loop },
    { "task_nowhere", test_task_nowhere },
    { "task_unreadable", test_task_unreadable },
    { "task_broken_both_ways", test_task_broken_both_ways },
    { "task_prev_mismatch", test_task_prev_mismatch },
    { "task_half_created", test_task_half_created },
    { "btf_corrupt", test_btf_corrupt },
    { "thread_loop", test_thread_loop },
    { "task_chain_too_long", test_task_chain_too_long },
    { "module_name_unterminated", test_module_name_unterminated },
    { "module_loop", test_module_loop },
    { "module_nowhere", test_module_nowhere },
    { "module_sizes", test_module_sizes },
    { "log_sizes", test_log_sizes },
    { "log_arrays_nowhere", test_log_arrays_nowhere },
    { "log_arrays_unreadable", test_log_arrays_unreadable },
    { "log_ids", test_log_ids },
    { "log_record_positions", test_log_record_positions },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

int main(void)
{
    int rc = corpus_run_per_kernel("linux_views_hostile", cases, NCASES, setup, teardown);

    snapguest_unload(&cur);
    free(base.tasks);
    return rc;
}
