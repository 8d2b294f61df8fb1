/*
 * What the benches share: the clock, medians, the sized-run rate loop, a
 * pseudo-random sequence and the default snapshot. Header-only (static
 * inline), so each bench stays one file; one "name value unit" line per
 * figure is each bench's own business.
 */
#ifndef TVMI_BENCH_COMMON_H
#define TVMI_BENCH_COMMON_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_RUNS 128

/* Keeps the measured loops from being optimised away. */
static volatile uint64_t bench_sink __attribute__((unused));

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(v[0]), bench_cmp_double);
    return v[n / 2];
}

/* A loop of iters operations on ctx, returning something to sink. */
typedef uint64_t (*bench_loop_fn)(void *ctx, size_t iters);

/* Operations per second: the median of runs runs (at most
 * BENCH_MAX_RUNS), each sized to about seconds (the size found by doubling
 * until one run takes 20 ms). */
static inline double bench_rate(bench_loop_fn fn, void *ctx, int runs,
                                double seconds)
{
    size_t iters = 1024;
    double t, r[BENCH_MAX_RUNS];

    if (runs > BENCH_MAX_RUNS)
        runs = BENCH_MAX_RUNS;
    for (;;) {
        t = bench_now();
        bench_sink += fn(ctx, iters);
        t = bench_now() - t;
        if (t >= 0.02)
            break;
        iters *= 2;
    }
    iters = (size_t)((double)iters * seconds / t);
    for (int i = 0; i < runs; i++) {
        t = bench_now();
        bench_sink += fn(ctx, iters);
        r[i] = (double)iters / (bench_now() - t);
    }
    return bench_median(r, (size_t)runs);
}

/* xorshift64: cheap, repeatable, good enough to defeat caches. */
static inline uint64_t bench_xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline int bench_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first corpus snapshot's mem.raw, in name order, from
 * ${TINYVMI_CACHE:-$HOME/.cache/tinyvmi}/corpus/; NULL if there is none. */
static inline const char *bench_default_snapshot(void)
{
    static char path[1024];
    const char *cache = getenv("TINYVMI_CACHE"), *home = getenv("HOME");
    char dir[768], *names[256];
    size_t n = 0;
    struct dirent *e;
    DIR *d;

    if (cache)
        snprintf(dir, sizeof(dir), "%s/corpus", cache);
    else
        snprintf(dir, sizeof(dir), "%s/.cache/tinyvmi/corpus", home ? home : ".");
    if (!(d = opendir(dir)))
        return NULL;
    while ((e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    if (!n)
        return NULL;
    qsort(names, n, sizeof(names[0]), bench_cmp_str);
    snprintf(path, sizeof(path), "%s/%s/mem.raw", dir, names[0]);
    while (n)
        free(names[--n]);
    return path;
}

/* The snapshot a bench runs on: argv[1], else the default one; printed
 * as a "# path" line. Exits when there is none. */
static inline const char *bench_snapshot(int argc, char **argv,
                                         const char *bench)
{
    const char *path = argc > 1 ? argv[1] : bench_default_snapshot();

    if (!path) {
        fprintf(stderr, "%s: no snapshot given and no corpus found (run "
                        "tests/corpus/make-corpus)\n", bench);
        exit(1);
    }
    printf("# %s\n", path);
    return path;
}

#endif
