/*
 * Zero-configuration Linux discovery on a real snapshot, and symbol lookups.
 *
 *   linux_init_ms         vmi_init_complete(TVMI_CONFIG_NONE): open + discovery
 *   linux_init_first_ms   the same, first run of the process (cold caches)
 *   linux_discovery_ms    vmi_init_os alone on an opened snapshot
 *   ksym2v                vmi_translate_ksym2v, every symbol name, shuffled
 *   v2ksym                tvmi_linux_v2ksym, random addresses in the image
 *
 * Usage: bench_linux [SNAPSHOT]  (default: the first mem.raw of the corpus,
 * ${TINYVMI_CACHE:-$HOME/.cache/tinyvmi}/corpus/). Times are medians of 5;
 * one "name value unit" line per figure.
 */
#include <tinyvmi/linux.h>

#include "common.h"

#define RUNS 5
#define RUN_SECONDS 0.2

static vmi_instance_t init_complete(const char *path, double *ms)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    double t = bench_now();

    if (vmi_init_complete(&vmi, path, VMI_INIT_DOMAINNAME, NULL, TVMI_CONFIG_NONE,
                          NULL, &err) != VMI_SUCCESS) {
        fprintf(stderr, "bench_linux: %s: %s\n", path, tvmi_init_error_message());
        exit(1);
    }
    *ms = (bench_now() - t) * 1e3;
    return vmi;
}

static double discovery_ms(const char *path)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    double t;

    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, &err) != VMI_SUCCESS)
        exit(1);
    t = bench_now();
    if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err) != VMI_OS_LINUX) {
        fprintf(stderr, "bench_linux: %s\n", tvmi_last_error(vmi));
        exit(1);
    }
    t = (bench_now() - t) * 1e3;
    vmi_destroy(vmi);
    return t;
}

struct lookups {
    vmi_instance_t vmi;
    const char **names;
    addr_t *addrs;
    size_t n;
};

static uint64_t run_ksym2v(void *ctx, size_t iters)
{
    struct lookups *l = ctx;
    uint64_t sum = 0;
    addr_t va;

    for (size_t i = 0; i < iters; i++) {
        if (vmi_translate_ksym2v(l->vmi, l->names[i % l->n], &va) != VMI_SUCCESS)
            abort();
        sum += va;
    }
    return sum;
}

static uint64_t run_v2ksym(void *ctx, size_t iters)
{
    struct lookups *l = ctx;
    uint64_t sum = 0;
    addr_t off;

    for (size_t i = 0; i < iters; i++) {
        const char *s = tvmi_linux_v2ksym(l->vmi, l->addrs[i % l->n], &off);
        if (!s)
            abort();
        sum += off + (uint8_t)s[0];
    }
    return sum;
}

static void setup_lookups(struct lookups *l, vmi_instance_t vmi)
{
    tvmi_linux_info_t info;
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    tvmi_linux_get_info(vmi, &info);
    l->vmi = vmi;
    l->n = tvmi_linux_sym_count(vmi);
    l->names = malloc(l->n * sizeof(*l->names));
    l->addrs = malloc(l->n * sizeof(*l->addrs));
    if (!l->names || !l->addrs)
        exit(1);
    for (size_t i = 0; i < l->n; i++) {
        tvmi_linux_sym_t s;
        tvmi_linux_sym_at(vmi, i, &s);
        l->names[i] = s.name;
        l->addrs[i] = info.text_va + bench_xorshift(&seed) % (info.end_va - info.text_va);
    }
    for (size_t i = l->n - 1; i > 0; i--) { /* shuffle: no cache-friendly order */
        size_t j = bench_xorshift(&seed) % (i + 1);
        const char *t = l->names[i];
        l->names[i] = l->names[j];
        l->names[j] = t;
    }
}

int main(int argc, char **argv)
{
    const char *path = bench_snapshot(argc, argv, "bench_linux");
    double ms[RUNS], first;
    struct lookups l;
    vmi_instance_t vmi;

    vmi_destroy(init_complete(path, &first));
    for (int i = 0; i < RUNS; i++)
        vmi_destroy(init_complete(path, &ms[i]));
    printf("linux_init_first_ms %.1f ms\n", first);
    printf("linux_init_ms %.1f ms\n", bench_median(ms, RUNS));
    for (int i = 0; i < RUNS; i++)
        ms[i] = discovery_ms(path);
    printf("linux_discovery_ms %.1f ms\n", bench_median(ms, RUNS));

    vmi = init_complete(path, &first);
    setup_lookups(&l, vmi);
    printf("ksym2v %.0f lookups/s\n", bench_rate(run_ksym2v, &l, RUNS, RUN_SECONDS));
    printf("v2ksym %.0f lookups/s\n", bench_rate(run_v2ksym, &l, RUNS, RUN_SECONDS));
    free(l.names);
    free(l.addrs);
    vmi_destroy(vmi);
    return 0;
}
