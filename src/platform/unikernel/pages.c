/*
 * Physical pages: one bit per page between the lowest and highest usable
 * RAM page (1 = in use or not RAM), first fit. The bitmap itself lives in
 * the first usable stretch big enough for it. We use RAM from 1 MiB (below
 * is firmware and loader data) to 4 GiB (what boot.S mapped), minus our
 * image. A 16 MiB appliance needs a 512-byte bitmap.
 */
#include "uk.h"
#include <xen/arch-x86/hvm/start_info.h>

#define LOW_LIMIT (1ull << 20)
#define HIGH_LIMIT (4ull << 30)

static uint8_t *bitmap;
static uint64_t first_pfn, npages, nfree;

static bool used(uint64_t i) { return bitmap[i / 8] & (1u << (i % 8)); }
static void set_used(uint64_t i) { bitmap[i / 8] |= (uint8_t)(1u << (i % 8)); }
static void set_free(uint64_t i) { bitmap[i / 8] &= (uint8_t)~(1u << (i % 8)); }

/* Calls fn(first, end) in page numbers for each usable stretch of RAM. */
static void for_each_usable(void (*fn)(uint64_t, uint64_t, void *), void *arg)
{
    uint64_t img_s = (uintptr_t)_start, img_e = (uintptr_t)_end;

    for (unsigned i = 0; i < uk_boot.nmem; i++) {
        const struct uk_mem_range *r = &uk_boot.mem[i];
        uint64_t s = r->start > LOW_LIMIT ? r->start : LOW_LIMIT;
        uint64_t e = r->end < HIGH_LIMIT ? r->end : HIGH_LIMIT;
        uint64_t piece[2][2] = {
            { s, e < img_s ? e : img_s },  /* below the image */
            { s > img_e ? s : img_e, e },  /* above the image */
        };

        if (r->type != XEN_HVM_MEMMAP_TYPE_RAM)
            continue;
        for (int k = 0; k < 2; k++) {
            uint64_t ps = (piece[k][0] + UK_PAGE_SIZE - 1) / UK_PAGE_SIZE;
            uint64_t pe = piece[k][1] / UK_PAGE_SIZE;

            if (piece[k][0] < piece[k][1] && ps < pe)
                fn(ps, pe, arg);
        }
    }
}

static void span(uint64_t s, uint64_t e, void *arg)
{
    uint64_t *lim = arg;

    if (s < lim[0])
        lim[0] = s;
    if (e > lim[1])
        lim[1] = e;
}

static void place_bitmap(uint64_t s, uint64_t e, void *arg)
{
    uint64_t need = *(uint64_t *)arg;

    if (!bitmap && e - s >= need)
        bitmap = (uint8_t *)(uintptr_t)(s * UK_PAGE_SIZE);
}

static void release(uint64_t s, uint64_t e, void *arg)
{
    (void)arg;
    for (uint64_t p = s; p < e; p++) {
        if (used(p - first_pfn)) { /* ranges may overlap: count once */
            set_free(p - first_pfn);
            nfree++;
        }
    }
}

void uk_pages_init(void)
{
    uint64_t lim[2] = { UINT64_MAX, 0 }, need, bytes, pfn;

    for_each_usable(span, lim);
    if (lim[1] <= lim[0])
        return; /* no usable RAM: every allocation fails */
    first_pfn = lim[0];
    npages = lim[1] - lim[0];
    bytes = (npages + 7) / 8;
    need = (bytes + UK_PAGE_SIZE - 1) / UK_PAGE_SIZE;
    for_each_usable(place_bitmap, &need);
    if (!bitmap) {
        npages = 0;
        return;
    }
    memset(bitmap, 0xff, bytes);
    for_each_usable(release, NULL);
    pfn = (uintptr_t)bitmap / UK_PAGE_SIZE;
    for (uint64_t i = 0; i < need; i++) {
        set_used(pfn + i - first_pfn);
        nfree--;
    }
}

void *uk_pages_alloc(size_t n)
{
    uint64_t run = 0;

    if (!n || n > nfree)
        return NULL;
    for (uint64_t i = 0; i < npages; i++) {
        run = used(i) ? 0 : run + 1;
        if (run == n) {
            uint64_t first = i + 1 - n;
            void *p = (void *)(uintptr_t)((first_pfn + first) * UK_PAGE_SIZE);

            for (uint64_t k = first; k <= i; k++)
                set_used(k);
            nfree -= n;
            return memset(p, 0, n * UK_PAGE_SIZE);
        }
    }
    return NULL;
}

void uk_pages_free(void *p, size_t n)
{
    uint64_t first = (uintptr_t)p / UK_PAGE_SIZE - first_pfn;

    if ((uintptr_t)p % UK_PAGE_SIZE || (uintptr_t)p / UK_PAGE_SIZE < first_pfn ||
        first + n > npages)
        uk_panic("pages_free(%p, %zu): not an allocated range", p, n);
    for (uint64_t k = first; k < first + n; k++) {
        if (!used(k))
            uk_panic("pages_free(%p, %zu): page %llu already free", p, n,
                     (unsigned long long)(first_pfn + k));
        set_free(k);
    }
    nfree += n;
}

size_t uk_pages_free_count(void) { return (size_t)nfree; }

/* The heap grows by whole pages (libc/malloc.c). */
void *uk_heap_morecore(size_t bytes)
{
    return uk_pages_alloc(bytes / UK_PAGE_SIZE);
}
