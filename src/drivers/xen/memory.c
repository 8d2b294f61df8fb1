/*
 * Guest frames. Every xenforeignmemory_map call is an ioctl, an mmap and
 * hypercalls (about a millisecond under nested TCG), so frames are mapped
 * in batches and handed to the core's page cache one by one; a batch is
 * unmapped when its last frame comes back. A reader going through memory
 * in order gets a readahead window that doubles up to XEN_BATCH_MAX frames
 * (4 MiB): a dump then costs one map call per 4 MiB, not one per page.
 * A random access maps the small aligned run around it (XEN_CLUSTER), and
 * every frame mapped is found again through a gfn table, so a list walk
 * hopping between neighbouring structures pays one call per run.
 *
 * Which frames exist is asked of Xen with getpageframeinfo3 (up to 1024
 * gfns per call, holes cost nothing extra), never by mapping: a failed
 * frame in a map call costs a hypercall of its own in a PV dom0, and a
 * 256 MiB PVH guest spans a million gfns (its special pages sit near
 * 4 GiB). The scan stops as soon as it has found all tot_pages frames.
 */
#include "xen.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define RANGES_FRESH_MS 1000 /* get_ranges reuses a scan this young */

static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- the batch table ------------------------------------------------------ */

/* Index of the first batch whose base is above p. */
static size_t batch_upper(const struct xen *x, const void *p)
{
    size_t lo = 0, hi = x->nbatches;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((const unsigned char *)p >= x->batches[mid]->base)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct xen_batch *batch_of(const struct xen *x, const void *page)
{
    size_t i = batch_upper(x, page);
    struct xen_batch *b;

    if (!i)
        return NULL;
    b = x->batches[i - 1];
    if ((size_t)((const unsigned char *)page - b->base) >= b->n * TVMI_PAGE_SIZE)
        return NULL;
    return b;
}

static bool batch_insert(struct xen *x, struct xen_batch *b)
{
    size_t i;

    if (x->nbatches == x->batches_cap) {
        size_t cap = x->batches_cap ? 2 * x->batches_cap : 64;
        struct xen_batch **t = realloc(x->batches, cap * sizeof *t);
        if (!t)
            return false;
        x->batches = t;
        x->batches_cap = cap;
    }
    i = batch_upper(x, b->base);
    memmove(x->batches + i + 1, x->batches + i,
            (x->nbatches - i) * sizeof *x->batches);
    x->batches[i] = b;
    x->nbatches++;
    if (b->contiguous)
        for (size_t k = 0; k < b->n; k++)
            if (!b->err[k])
                x->by_gfn[(b->first_gfn + k) % XEN_GFN_SLOTS] = b;
    return true;
}

static void batch_drop(struct xen *x, struct xen_batch *b)
{
    size_t i = batch_upper(x, b->base);

    if (i && x->batches[i - 1] == b) {
        memmove(x->batches + i - 1, x->batches + i,
                (x->nbatches - i) * sizeof *x->batches);
        x->nbatches--;
    }
    if (b->contiguous)
        for (size_t k = 0; k < b->n && k < XEN_GFN_SLOTS; k++)
            if (x->by_gfn[(b->first_gfn + k) % XEN_GFN_SLOTS] == b)
                x->by_gfn[(b->first_gfn + k) % XEN_GFN_SLOTS] = NULL;
    xenforeignmemory_unmap(x->fmem, b->base, b->n);
    free(b);
}

void xen_unmap_all(struct xen *x)
{
    while (x->nbatches)
        batch_drop(x, x->batches[x->nbatches - 1]);
    free(x->batches);
    x->batches = NULL;
    x->batches_cap = 0;
}

/* ---- mapping ------------------------------------------------------------------ */

/* Per-frame errors come back negative from privcmd, errno positive. */
static const char *map_refusal(int e)
{
    if (e < 0)
        e = -e;
    return e == EPERM ? "permission denied (EPERM): tinyvmi must run as root "
                        "in dom0"
                      : xen_strerror(e);
}

/* Maps n frames (gfns[i], or first + i when gfns is NULL) in one call.
 * Per-frame failures are in err[]; NULL only when the whole call failed. */
static struct xen_batch *batch_map(vmi_instance_t vmi, struct xen *x,
                                   const addr_t *gfns, addr_t first, size_t n,
                                   bool write)
{
    struct xen_batch *b = calloc(1, sizeof *b + n * sizeof b->err[0]);
    xen_pfn_t *arr = malloc(n * sizeof *arr);
    int e;

    if (!b || !arr) {
        free(b);
        free(arr);
        tvmi_fail(vmi, "mapping %zu frames of domain %u: out of memory", n,
                  x->domid);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        arr[i] = (xen_pfn_t)(gfns ? gfns[i] : first + i);
    b->n = n;
    b->first_gfn = first;
    b->contiguous = !gfns;
    b->writable = write;
    x->map_calls++;
    x->frames_mapped += n;
    b->base = xenforeignmemory_map(x->fmem, x->domid,
                                   write ? PROT_READ | PROT_WRITE : PROT_READ,
                                   n, arr, b->err);
    e = errno;
    free(arr);
    if (!b->base) {
        free(b);
        tvmi_fail(vmi, "mapping %zu frames of domain %u from gfn 0x%llx: %s",
                  n, x->domid, (unsigned long long)(gfns ? gfns[0] : first),
                  map_refusal(e));
        return NULL;
    }
    if (!batch_insert(x, b)) {
        xenforeignmemory_unmap(x->fmem, b->base, n);
        free(b);
        tvmi_fail(vmi, "mapping frames of domain %u: out of memory", x->domid);
        return NULL;
    }
    return b;
}

/* The populated range holding gfn in the last scan, if any. */
static const struct tvmi_mem_range *range_of(const struct xen *x, addr_t gfn)
{
    addr_t pa = gfn << TVMI_PAGE_SHIFT;
    size_t lo = 0, hi = x->nranges;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->ranges[mid].end <= pa)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < x->nranges && x->ranges[lo].start <= pa)
        return &x->ranges[lo];
    return NULL;
}

/* The frames to map for gfn, as [*first, *first + return): twice the last
 * window from gfn for the next frame of a sequential reader, else the
 * aligned cluster holding gfn (gfn alone for a write). Never past max_gfn
 * nor, when a scan found them, out of the populated run holding gfn. */
static size_t window(struct xen *x, addr_t gfn, bool write, addr_t *first)
{
    const struct tvmi_mem_range *r = x->ranges_ms ? range_of(x, gfn) : NULL;
    addr_t lo = gfn, end;

    /* A PV guest's addresses are machine frames: its neighbours are
     * anybody's, and Xen would refuse them one by one. */
    if (!x->hvm) {
        *first = gfn;
        return 1;
    }

    if (!write && gfn == x->ra_next && x->ra_window)
        end = gfn + (x->ra_window < XEN_BATCH_MAX / 2 ? 2 * x->ra_window
                                                      : XEN_BATCH_MAX);
    else if (!write)
        lo = gfn - gfn % XEN_CLUSTER, end = lo + XEN_CLUSTER;
    else
        end = gfn + 1;
    /* The last scan says gfn is a hole: try it alone. */
    if (x->ranges_ms && !r)
        lo = gfn, end = gfn + 1;
    if (end > x->max_gfn + 1)
        end = x->max_gfn + 1;
    if (r && lo < r->start >> TVMI_PAGE_SHIFT)
        lo = r->start >> TVMI_PAGE_SHIFT;
    if (r && end > r->end >> TVMI_PAGE_SHIFT)
        end = r->end >> TVMI_PAGE_SHIFT;
    if (end <= gfn)
        end = gfn + 1;
    x->ra_window = (unsigned)(end - gfn);
    *first = lo;
    return (size_t)(end - lo);
}

static void *frame_in(struct xen_batch *b, size_t i)
{
    b->refs++;
    return b->base + i * TVMI_PAGE_SIZE;
}

void *xen_map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    struct xen *x = xen_of(vmi);
    struct xen_batch *b = x->by_gfn[gfn % XEN_GFN_SLOTS];
    addr_t first;
    size_t n;
    int e;

    /* Only frames that mapped are served from an old batch: a hole may
     * have been populated since, so it is asked again. */
    if (b && gfn - b->first_gfn < b->n && !b->err[gfn - b->first_gfn] &&
        (b->writable || !write)) {
        x->ra_next = gfn + 1;
        return frame_in(b, (size_t)(gfn - b->first_gfn));
    }
    /* (a PV guest's machine frames are not bounded by its max gfn) */
    if (x->hvm && gfn > x->max_gfn &&
        (xen_max_gfn(vmi, x, &x->max_gfn) || gfn > x->max_gfn)) {
        tvmi_fail(vmi, "PA 0x%llx is beyond the highest gfn of domain %u "
                  "(0x%llx)", (unsigned long long)(gfn << TVMI_PAGE_SHIFT),
                  x->domid, (unsigned long long)x->max_gfn);
        return NULL;
    }
    n = window(x, gfn, write, &first);
    b = batch_map(vmi, x, NULL, first, n, write);
    if (!b)
        return NULL;
    x->ra_next = gfn + 1;
    if ((e = b->err[gfn - first])) {
        batch_drop(x, b);
        tvmi_fail(vmi, "PA 0x%llx is not mapped in domain %u (a hole, or "
                  "refused: %s)", (unsigned long long)(gfn << TVMI_PAGE_SHIFT),
                  x->domid, map_refusal(e));
        return NULL;
    }
    return frame_in(b, (size_t)(gfn - first));
}

status_t xen_map_frames(vmi_instance_t vmi, const addr_t *gfns, size_t n,
                        bool write, void **out)
{
    struct xen *x = xen_of(vmi);

    memset(out, 0, n * sizeof *out);
    for (size_t done = 0; done < n;) {
        size_t len = n - done < XEN_BATCH_MAX ? n - done : XEN_BATCH_MAX;
        struct xen_batch *b = batch_map(vmi, x, gfns + done, 0, len, write);
        if (!b) {
            for (size_t i = 0; i < done; i++)
                if (out[i])
                    xen_unmap_frame(vmi, out[i]);
            memset(out, 0, n * sizeof *out);
            return VMI_FAILURE;
        }
        for (size_t i = 0; i < len; i++)
            if (!b->err[i])
                out[done + i] = frame_in(b, i);
        if (!b->refs)
            batch_drop(x, b);
        done += len;
    }
    return VMI_SUCCESS;
}

void xen_unmap_frame(vmi_instance_t vmi, void *page)
{
    struct xen *x = xen_of(vmi);
    struct xen_batch *b = batch_of(x, page);

    if (b && b->refs && !--b->refs)
        batch_drop(x, b);
}

/* ---- which frames exist ------------------------------------------------------- */

struct scan {
    vmi_instance_t vmi;
    struct xen *x;
    xen_pfn_t *arr;            /* hypercall buffer, XEN_BATCH_MAX entries */
    struct tvmi_mem_range *r;
    size_t n, cap;
    uint64_t found;
    uint64_t shared;           /* frames found by probe_gaps */
};

static bool add_frames(struct scan *s, addr_t gfn, addr_t count)
{
    addr_t start = gfn << TVMI_PAGE_SHIFT, end = (gfn + count) << TVMI_PAGE_SHIFT;

    if (s->n && s->r[s->n - 1].end == start) {
        s->r[s->n - 1].end = end;
        return true;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct tvmi_mem_range *t = realloc(s->r, cap * sizeof *t);
        if (!t)
            return false;
        s->r = t;
        s->cap = cap;
    }
    s->r[s->n++] = (struct tvmi_mem_range){ start, end };
    return true;
}

/* Asks Xen about [first, first + n); returns how many exist, -1 on error.
 * For a translated guest (HVM, PVH) a hole answers XTAB. */
static long scan_chunk(struct scan *s, addr_t first, size_t n)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_getpageframeinfo3,
                            .domain = (domid_t)s->x->domid };
    long found = 0;
    addr_t run = 0;

    for (size_t i = 0; i < n; i++)
        s->arr[i] = (xen_pfn_t)(first + i);
    d.u.getpageframeinfo3.num = n;
    set_xen_guest_handle(d.u.getpageframeinfo3.array, s->arr);
    if (xen_domctl(s->vmi, s->x, &d, "listing the frames"))
        return -1;
    for (size_t i = 0; i <= n; i++) {
        uint64_t type = i < n ? s->arr[i] & XEN_DOMCTL_PFINFO_LTAB_MASK : 0;
        bool hole = i == n || type == XEN_DOMCTL_PFINFO_XTAB ||
                    type == XEN_DOMCTL_PFINFO_BROKEN;
        if (!hole) {
            run++;
            continue;
        }
        if (run && !add_frames(s, first + i - run, run)) {
            tvmi_fail(s->vmi, "listing the frames: out of memory");
            return -1;
        }
        found += (long)run;
        run = 0;
    }
    s->found += (uint64_t)found;
    return found;
}

static int cmp_range(const void *a, const void *b)
{
    const struct tvmi_mem_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The scan goes in three legs: up from gfn 0 while chunks hold frames (low
 * RAM), down from max_gfn until SCAN_EMPTY_RUN chunks in a row are empty
 * (special pages, ACPI tables, high RAM), then the middle. It stops when
 * it has found exactly tot_pages frames; finding more means the count
 * cannot be trusted, and it goes on to the end. */
#define SCAN_EMPTY_RUN 64 /* chunks: 256 MiB of gfns */

static status_t scan_all(struct scan *s, bool full)
{
    addr_t lo = 0, hi = s->x->max_gfn + 1;
    unsigned empty = 0;
    long c = 1;

#define ENOUGH (!full && s->found == s->x->tot_pages)
#define CHUNK (hi - lo < XEN_BATCH_MAX ? (size_t)(hi - lo) : XEN_BATCH_MAX)
    while (lo < hi && c > 0 && !ENOUGH) {
        size_t n = CHUNK;
        c = scan_chunk(s, lo, n);
        lo += n;
    }
    for (c = c < 0 ? c : 0; lo < hi && c >= 0 && empty < SCAN_EMPTY_RUN && !ENOUGH;) {
        size_t n = CHUNK;
        c = scan_chunk(s, hi - n, n);
        empty = c ? 0 : empty + 1;
        hi -= n;
    }
    while (lo < hi && c >= 0 && !ENOUGH) {
        size_t n = CHUNK;
        c = scan_chunk(s, lo, n);
        lo += n;
    }
#undef CHUNK
#undef ENOUGH
    return c < 0 ? VMI_FAILURE : VMI_SUCCESS;
}

/* Sorted, with neighbours merged (the legs meet in any order). */
static void tidy(struct scan *s)
{
    size_t n = 0;

    if (!s->n)
        return;
    qsort(s->r, s->n, sizeof *s->r, cmp_range);
    for (size_t i = 1; i < s->n; i++) {
        if (s->r[n].end == s->r[i].start)
            s->r[n].end = s->r[i].end;
        else
            s->r[++n] = s->r[i];
    }
    s->n = n + 1;
}

static status_t refresh_counts(vmi_instance_t vmi, struct xen *x)
{
    struct xen_domctl_getdomaininfo info;

    if (xen_domain_info(vmi, x, &info) || xen_max_gfn(vmi, x, &x->max_gfn))
        return VMI_FAILURE;
    x->tot_pages = info.tot_pages;
    vmi->memsize = x->tot_pages << TVMI_PAGE_SHIFT;
    vmi->max_pa = (x->max_gfn + 1) << TVMI_PAGE_SHIFT;
    return VMI_SUCCESS;
}

/* Frames Xen shares with the guest (shared_info, grant table frames) sit
 * in its physical map but are Xen's pages: getpageframeinfo3 calls them
 * holes and tot_pages does not count them, yet they map and the guest
 * reads them like RAM. They show up as short gaps between ranges; each
 * short gap is tried with one map call. */
#define GAP_PROBE_MAX 64 /* frames */

static bool probe_gap(vmi_instance_t vmi, struct scan *s, addr_t first, size_t n)
{
    struct xen_batch *b = batch_map(vmi, s->x, NULL, first, n, false);
    bool ok = true;

    if (!b)
        return true; /* nothing gained, nothing lost */
    for (size_t i = 0; i < n && ok; i++) {
        if (b->err[i])
            continue;
        ok = add_frames(s, first + i, 1);
        s->shared++;
    }
    batch_drop(s->x, b);
    return ok;
}

static status_t probe_gaps(vmi_instance_t vmi, struct scan *s)
{
    size_t n = s->n;

    for (size_t i = 0; i < n; i++) {
        addr_t end = s->r[i].start >> TVMI_PAGE_SHIFT;
        addr_t start = i ? s->r[i - 1].end >> TVMI_PAGE_SHIFT : 0;
        if (end > start && end - start <= GAP_PROBE_MAX &&
            !probe_gap(vmi, s, start, (size_t)(end - start)))
            return tvmi_fail(vmi, "listing the frames: out of memory");
    }
    if (s->n != n)
        tidy(s);
    return VMI_SUCCESS;
}

status_t xen_scan_ranges(vmi_instance_t vmi, bool full)
{
    struct xen *x = xen_of(vmi);
    struct scan s = { .vmi = vmi, .x = x };
    uint64_t before;
    status_t rc;

    if (!x->hvm)
        return tvmi_fail(vmi, "listing the frames of domain %u: a PV guest's "
                         "frames are machine frames, not listed", x->domid);
    if (refresh_counts(vmi, x))
        return VMI_FAILURE;
    s.arr = xencall_alloc_buffer(x->call, XEN_BATCH_MAX * sizeof *s.arr);
    if (!s.arr)
        return tvmi_fail(vmi, "listing the frames: no hypercall buffer: %s",
                         strerror(errno));
    before = x->tot_pages;
    rc = scan_all(&s, full);
    /* Memory came or went during a scan that trusted the count. */
    if (!rc && !full && (refresh_counts(vmi, x) || x->tot_pages != before)) {
        s.n = 0;
        s.found = 0;
        rc = scan_all(&s, true);
    }
    xencall_free_buffer(x->call, s.arr);
    if (rc) {
        free(s.r);
        return VMI_FAILURE;
    }
    tidy(&s);
    if (probe_gaps(vmi, &s)) {
        free(s.r);
        return VMI_FAILURE;
    }
    free(x->ranges);
    x->ranges = s.r;
    x->nranges = s.n;
    x->shared_frames = s.shared;
    x->ranges_ms = now_ms();
    return VMI_SUCCESS;
}

/* A call with room for nothing asks how many there are: it scans, and the
 * call that follows with room for them gets that same answer. */
size_t xen_get_ranges(vmi_instance_t vmi, struct tvmi_mem_range *out,
                      size_t max)
{
    struct xen *x = xen_of(vmi);

    if ((!max || !x->ranges_ms || now_ms() - x->ranges_ms > RANGES_FRESH_MS) &&
        xen_scan_ranges(vmi, false))
        return 0;
    for (size_t i = 0; i < x->nranges && i < max; i++)
        out[i] = x->ranges[i];
    return x->nranges;
}
