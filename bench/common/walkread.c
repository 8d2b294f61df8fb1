/*
 * The same measurement in the appliance and in the dom0 tool, so the two
 * can be compared in one lab run: a kernel virtual address translated with
 * the core's caches flushed (a full page walk), then 4 KiB read there.
 *
 *   cached frames: pages of the kernel image, read once before, so the
 *                  driver still has them mapped (the appliance's window,
 *                  dom0's batches): walk + read cost only
 *   new frames:    pages of the direct map at 3/4 of RAM that nothing read
 *                  before: every one costs the driver a mapping hypercall
 *
 * Freestanding: public API only, the caller's clock.
 */
#include "walkread.h"

#if __STDC_HOSTED__
#include <stdbool.h>
#include <stdlib.h>
#else
#include "libc.h" /* the appliance: the core's declared subset */
#endif

#include <tinyvmi/linux.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t one(vmi_instance_t vmi, addr_t va, uint64_t (*now_ns)(void),
                    unsigned char *buf, bool *ok)
{
    uint64_t t0;
    addr_t pa = 0;
    size_t got = 0;

    vmi_v2pcache_flush(vmi, ~0ull);
    vmi_pagecache_flush(vmi);
    t0 = now_ns();
    *ok = vmi_translate_kv2p(vmi, va, &pa) == VMI_SUCCESS &&
          vmi_read_pa(vmi, pa, 4096, buf, &got) == VMI_SUCCESS && got == 4096;
    return now_ns() - t0;
}

int walkread_run(vmi_instance_t vmi, unsigned n, uint64_t (*now_ns)(void),
                 struct walkread_result *r)
{
    static unsigned char buf[4096];
    uint64_t *t = calloc(n ? n : 1, sizeof *t);
    addr_t text = 0, dmap = 0;
    unsigned done = 0;
    bool ok;

    if (!t || !n)
        return free(t), -1;
    r->n = 0;
    if (vmi_translate_ksym2v(vmi, "_text", &text) != VMI_SUCCESS ||
        vmi_read_addr_ksym(vmi, "page_offset_base", &dmap) != VMI_SUCCESS)
        return free(t), -1;
    /* Cached frames: touch each page once, then measure. */
    for (unsigned i = 0; i < n; i++)
        one(vmi, text + 4096ull * i, now_ns, buf, &ok);
    for (unsigned i = 0; i < n; i++) {
        t[done] = one(vmi, text + 4096ull * i, now_ns, buf, &ok);
        done += ok;
    }
    qsort(t, done, sizeof *t, cmp_u64);
    r->cached_median_ns = done ? t[done / 2] : 0;
    r->n = done;
    /* New frames: from 3/4 of RAM up, every 17th page (never adjacent:
     * no readahead can serve the next). */
    done = 0;
    for (unsigned i = 0; i < n; i++) {
        addr_t pa = (vmi_get_memsize(vmi) / 4 * 3 & ~0xfffull) +
                    4096ull * 17 * i;

        t[done] = one(vmi, dmap + pa, now_ns, buf, &ok);
        done += ok;
    }
    qsort(t, done, sizeof *t, cmp_u64);
    r->new_median_ns = done ? t[done / 2] : 0;
    r->new_n = done;
    free(t);
    return 0;
}
