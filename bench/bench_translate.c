/*
 * Translation speed on a synthetic guest (tests/support/memdrv).
 *
 *   translate_cached_4level   vmi_translate_kv2p over 1024 warm pages (v2p hits)
 *   walk_uncached_4level      tvmi_x86_walk called directly: no v2p cache
 *   walk_uncached_5level      the same on an LA57 guest
 *
 * The 1024 pages each sit in their own page table (VAs 2 MiB + 4 KiB apart),
 * so a walk touches a different PT frame every time. Each figure is the
 * median of 5 runs of ~0.2 s; one "name value unit" line per figure.
 */
#include "common.h"
#include "memdrv.h"

#define NPAGES 1024
#define RUNS 5
#define RUN_SECONDS 0.2

struct bench {
    vmi_instance_t vmi;
    page_mode_t pm;
    addr_t dtb;
    addr_t va[NPAGES];
    addr_t pa[NPAGES];
};

static uint64_t run_walks(void *ctx, size_t iters)
{
    struct bench *b = ctx;
    uint64_t sum = 0;
    page_info_t info;

    for (size_t i = 0; i < iters; i++) {
        if (tvmi_x86_walk(b->vmi, b->pm, b->dtb, b->va[i % NPAGES], &info) != VMI_SUCCESS)
            abort();
        sum += info.paddr;
    }
    return sum;
}

static uint64_t run_translations(void *ctx, size_t iters)
{
    struct bench *b = ctx;
    uint64_t sum = 0;
    addr_t pa;

    for (size_t i = 0; i < iters; i++) {
        if (vmi_translate_kv2p(b->vmi, b->va[i % NPAGES], &pa) != VMI_SUCCESS)
            abort();
        sum += pa;
    }
    return sum;
}

/* Operations per second: median of RUNS runs, each sized to RUN_SECONDS. */
static double rate(bench_loop_fn fn, struct bench *b)
{
    return bench_rate(fn, b, RUNS, RUN_SECONDS);
}

static struct memguest *setup(struct bench *b, page_mode_t pm, addr_t base)
{
    struct memguest *g = memguest_new(64ull << 20);

    b->pm = pm;
    b->dtb = memguest_alloc_page(g);
    for (size_t i = 0; i < NPAGES; i++) {
        b->va[i] = base + i * (0x200000 + 0x1000);
        b->pa[i] = memguest_alloc_page(g);
        memguest_map(g, pm, b->dtb, b->va[i], b->pa[i], VMI_PS_4KB, 0);
    }
    b->vmi = memguest_open(g, pm, b->dtb);
    if (!b->vmi)
        exit(1);
    for (size_t i = 0; i < NPAGES; i++) { /* measure translations, not failures */
        addr_t pa;
        if (vmi_translate_kv2p(b->vmi, b->va[i] + 8, &pa) != VMI_SUCCESS ||
            pa != b->pa[i] + 8) {
            fprintf(stderr, "bad translation of 0x%llx: %s\n",
                    (unsigned long long)b->va[i], tvmi_last_error(b->vmi));
            exit(1);
        }
    }
    return g;
}

int main(void)
{
    static struct bench b4, b5;
    struct memguest *g4 = setup(&b4, VMI_PM_IA32E, 0xffff888000000000ull);
    struct memguest *g5 = setup(&b5, VMI_PM_LA57, 0xff11000000000000ull);

    printf("translate_cached_4level %.0f translations/s\n", rate(run_translations, &b4));
    printf("walk_uncached_4level %.0f walks/s\n", rate(run_walks, &b4));
    printf("walk_uncached_5level %.0f walks/s\n", rate(run_walks, &b5));
    vmi_destroy(b4.vmi);
    vmi_destroy(b5.vmi);
    memguest_free(g4);
    memguest_free(g5);
    return 0;
}
