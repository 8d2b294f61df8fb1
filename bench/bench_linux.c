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
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tinyvmi/linux.h>

#define RUNS 5
#define RUN_SECONDS 0.2

static volatile uint64_t sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, RUNS, sizeof(v[0]), cmp_double);
    return v[RUNS / 2];
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first corpus snapshot's mem.raw, in name order. */
static const char *default_snapshot(void)
{
    static char path[1024];
    const char *cache = getenv("TINYVMI_CACHE"), *home = getenv("HOME");
    char dir[768];
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    DIR *d;

    if (cache)
        snprintf(dir, sizeof(dir), "%s/corpus", cache);
    else
        snprintf(dir, sizeof(dir), "%s/.cache/tinyvmi/corpus", home ? home : ".");
    d = opendir(dir);
    if (!d)
        return NULL;
    while ((e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    if (!n)
        return NULL;
    qsort(names, n, sizeof(names[0]), cmp_str);
    snprintf(path, sizeof(path), "%s/%s/mem.raw", dir, names[0]);
    while (n)
        free(names[--n]);
    return path;
}

static vmi_instance_t init_complete(const char *path, double *ms)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    double t = now();

    if (vmi_init_complete(&vmi, path, VMI_INIT_DOMAINNAME, NULL, TVMI_CONFIG_NONE,
                          NULL, &err) != VMI_SUCCESS) {
        fprintf(stderr, "bench_linux: %s: %s\n", path, tvmi_init_error_message());
        exit(1);
    }
    *ms = (now() - t) * 1e3;
    return vmi;
}

static double discovery_ms(const char *path)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    double t;

    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, &err) != VMI_SUCCESS)
        exit(1);
    t = now();
    if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err) != VMI_OS_LINUX) {
        fprintf(stderr, "bench_linux: %s\n", tvmi_last_error(vmi));
        exit(1);
    }
    t = (now() - t) * 1e3;
    vmi_destroy(vmi);
    return t;
}

struct lookups {
    vmi_instance_t vmi;
    const char **names;
    addr_t *addrs;
    size_t n;
};

static uint64_t run_ksym2v(struct lookups *l, size_t iters)
{
    uint64_t sum = 0;
    addr_t va;

    for (size_t i = 0; i < iters; i++) {
        if (vmi_translate_ksym2v(l->vmi, l->names[i % l->n], &va) != VMI_SUCCESS)
            abort();
        sum += va;
    }
    return sum;
}

static uint64_t run_v2ksym(struct lookups *l, size_t iters)
{
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

typedef uint64_t (*bench_fn)(struct lookups *l, size_t iters);

static double rate(bench_fn fn, struct lookups *l)
{
    size_t iters = 1024;
    double t, r[RUNS];

    for (;;) {
        t = now();
        sink += fn(l, iters);
        t = now() - t;
        if (t >= 0.02)
            break;
        iters *= 2;
    }
    iters = (size_t)((double)iters * RUN_SECONDS / t);
    for (int i = 0; i < RUNS; i++) {
        t = now();
        sink += fn(l, iters);
        r[i] = (double)iters / (now() - t);
    }
    return median(r);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
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
        l->addrs[i] = info.text_va + rnd(&seed) % (info.end_va - info.text_va);
    }
    for (size_t i = l->n - 1; i > 0; i--) { /* shuffle: no cache-friendly order */
        size_t j = rnd(&seed) % (i + 1);
        const char *t = l->names[i];
        l->names[i] = l->names[j];
        l->names[j] = t;
    }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : default_snapshot();
    double ms[RUNS], first;
    struct lookups l;
    vmi_instance_t vmi;

    if (!path) {
        fprintf(stderr, "bench_linux: no snapshot given and no corpus found "
                        "(run tests/corpus/make-corpus)\n");
        return 1;
    }
    printf("# %s\n", path);
    vmi_destroy(init_complete(path, &first));
    for (int i = 0; i < RUNS; i++)
        vmi_destroy(init_complete(path, &ms[i]));
    printf("linux_init_first_ms %.1f ms\n", first);
    printf("linux_init_ms %.1f ms\n", median(ms));
    for (int i = 0; i < RUNS; i++)
        ms[i] = discovery_ms(path);
    printf("linux_discovery_ms %.1f ms\n", median(ms));

    vmi = init_complete(path, &first);
    setup_lookups(&l, vmi);
    printf("ksym2v %.0f lookups/s\n", rate(run_ksym2v, &l));
    printf("v2ksym %.0f lookups/s\n", rate(run_v2ksym, &l));
    free(l.names);
    free(l.addrs);
    vmi_destroy(vmi);
    return 0;
}
