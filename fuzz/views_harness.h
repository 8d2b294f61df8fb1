/*
 * Shared by the fuzz targets of the Linux views (fuzz_linux_tasks,
 * fuzz_linux_modules, fuzz_linux_dmesg): one view listed on a real
 * snapshot whose memory the fuzzer corrupts.
 *
 * The snapshot (TVMI_FUZZ_SNAPSHOT, else the corpus's 6.1 4-level KASLR
 * ELF core) is opened and the Linux layer initialised once. The view is
 * then listed once with every frame it reads recorded: those "touched"
 * frames are what an input may change. An input is a list of patches
 * applied, copy-on-write, to private copies of those frames; the next
 * input starts from pristine memory again:
 *
 *   u8 op, u16 page, u16 offset       page: index among the touched frames
 *   op % 4 < 2:  u8 n, n bytes        written at offset (cut at the frame's end)
 *   op % 4 == 2: u16 page, u16 offset 8 bytes copied from there (a pointer
 *                                     moved elsewhere: loops, cross-links)
 *   op % 4 == 3: u8 delta             the u64 at offset += delta - 128
 *                                     (a pointer nudged off its struct)
 *
 * The view must succeed, possibly "partial" with a message, or fail with
 * one; its entries must be well-formed; and with no patch at all it must
 * give exactly what it gave the first time (nothing leaks from one input
 * into the next). Without a snapshot every input is a no-op: the target
 * says so once on stderr.
 */
#ifndef TVMI_FUZZ_VIEWS_HARNESS_H
#define TVMI_FUZZ_VIEWS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/linux/views.h"

#define MAX_OVERLAY 64          /* frames one input may change */
#define PAGE 4096u

static struct {
    vmi_instance_t vmi;
    const struct tvmi_driver_ops *real;
    struct tvmi_driver_ops ops;     /* real's, with map_frame wrapped */
    uint8_t *mark;                  /* per frame: 1 touched, 2 overlaid */
    size_t frames;
    addr_t *touched;                /* in the order first read */
    size_t ntouched, cap;
    bool recording;
    struct {
        addr_t gfn;
        uint8_t *page;
    } over[MAX_OVERLAY];
    size_t nover;
    size_t base;                    /* the pristine answer's size */
} F;

/* ---- the driver wrapper ------------------------------------------------------ */

static void record(addr_t gfn)
{
    if (F.mark[gfn])
        return;
    if (F.ntouched == F.cap) {
        size_t cap = F.cap ? 2 * F.cap : 1024;
        addr_t *t = realloc(F.touched, cap * sizeof(*t));
        if (!t)
            __builtin_trap();
        F.touched = t;
        F.cap = cap;
    }
    F.touched[F.ntouched++] = gfn;
    F.mark[gfn] = 1;
}

static void *map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    void *p;

    if (gfn < F.frames && F.mark[gfn] == 2)
        for (size_t i = 0; i < F.nover; i++)
            if (F.over[i].gfn == gfn)
                return F.over[i].page;
    p = F.real->map_frame(vmi, gfn, write);
    if (p && F.recording && gfn < F.frames)
        record(gfn);
    return p;
}

/* The private copy of touched frame i, made on first write. */
static uint8_t *overlay(size_t i)
{
    addr_t gfn = F.touched[i];
    const uint8_t *src;

    if (F.mark[gfn] == 2)
        for (size_t k = 0; k < F.nover; k++)
            if (F.over[k].gfn == gfn)
                return F.over[k].page;
    if (F.nover == MAX_OVERLAY || !(src = F.real->map_frame(F.vmi, gfn, false)))
        return NULL;
    if (!F.over[F.nover].page && !(F.over[F.nover].page = malloc(PAGE)))
        __builtin_trap();
    memcpy(F.over[F.nover].page, src, PAGE);
    F.over[F.nover].gfn = gfn;
    F.mark[gfn] = 2;
    return F.over[F.nover++].page;
}

static void pristine(void)
{
    for (size_t i = 0; i < F.nover; i++)
        F.mark[F.over[i].gfn] = 1;
    F.nover = 0;
}

/* ---- the input ---------------------------------------------------------------- */

struct in {
    const uint8_t *p;
    size_t n;
};

static bool take(struct in *in, void *out, size_t len)
{
    if (in->n < len)
        return false;
    memcpy(out, in->p, len);
    in->p += len;
    in->n -= len;
    return true;
}

/* Applies the patches; returns how many changed something. */
static size_t apply(struct in *in)
{
    size_t applied = 0;
    uint8_t op;
    uint16_t page, off;

    while (take(in, &op, 1) && take(in, &page, 2) && take(in, &off, 2)) {
        uint8_t *dst = overlay(page % F.ntouched);
        uint8_t n, delta, buf[255];
        uint16_t spage, soff;
        uint64_t v;

        off %= PAGE;
        if ((op & 3) < 2) {
            if (!take(in, &n, 1) || !take(in, buf, n))
                break;
            if (dst && n) {
                memcpy(dst + off, buf, n < PAGE - off ? n : PAGE - off);
                applied++;
            }
        } else if ((op & 3) == 2) {
            const uint8_t *src;
            if (!take(in, &spage, 2) || !take(in, &soff, 2))
                break;
            src = F.real->map_frame(F.vmi, F.touched[spage % F.ntouched], false);
            soff %= PAGE - 7;
            if (dst && src && off <= PAGE - 8) {
                memcpy(dst + off, src + soff, 8);
                applied++;
            }
        } else {
            if (!take(in, &delta, 1))
                break;
            if (dst && off <= PAGE - 8) {
                memcpy(&v, dst + off, 8);
                v += (uint64_t)delta - 128;
                memcpy(dst + off, &v, 8);
                applied++;
            }
        }
    }
    return applied;
}

/* ---- the views -------------------------------------------------------------- */

/* A view's lister: lists, checks what it got, returns the count (0 when
 * it failed). */
typedef size_t (*view_fn)(vmi_instance_t vmi);

static void must_say_why(vmi_instance_t vmi, status_t rc, int partial)
{
    if ((rc != VMI_SUCCESS || partial) && !tvmi_last_error(vmi)[0])
        __builtin_trap();
}

/* What the views keep between calls and read from memory (the direct
 * map's place, the pid cache) is found again for each input. Layouts stay:
 * they come from the BTF, indexed once and never re-read. */
static void forget_views(vmi_instance_t vmi)
{
    struct lx_state *st = lx_state_of(vmi);

    if (st->views) {
        st->views->ks_ready = false;
        memset(st->views->pids, 0, sizeof(st->views->pids));
    }
    vmi_v2pcache_flush(vmi, ~0ull);
}

/* ---- setup -------------------------------------------------------------------- */

static const char *snapshot_path(void)
{
    static char path[1024];
    const char *env = getenv("TVMI_FUZZ_SNAPSHOT"), *cache = getenv("TINYVMI_CACHE");
    const char *home = getenv("HOME");
    FILE *f;

    if (env && *env)
        return env;
    if (cache && *cache)
        snprintf(path, sizeof(path), "%s/corpus/6.1.0-56-amd64-l4-kaslr/mem.elf", cache);
    else
        snprintf(path, sizeof(path), "%s/.cache/tinyvmi/corpus/6.1.0-56-amd64-l4-kaslr/mem.elf",
                 home ? home : "");
    if (!(f = fopen(path, "rb")))
        return NULL;
    fclose(f);
    return path;
}

static bool setup(const char *name, view_fn view)
{
    const char *path = snapshot_path();
    vmi_instance_t vmi;

    if (!path) {
        fprintf(stderr, "fuzz_%s: no snapshot (set TVMI_FUZZ_SNAPSHOT, or "
                "build the corpus with tests/corpus/make-corpus): every input "
                "is a no-op\n", name);
        return false;
    }
    if (vmi_init_complete(&vmi, path, VMI_INIT_DOMAINNAME, NULL,
                          TVMI_CONFIG_NONE, NULL, NULL) != VMI_SUCCESS) {
        fprintf(stderr, "fuzz_%s: %s: %s\n", name, path, tvmi_init_error_message());
        __builtin_trap();
    }
    F.vmi = vmi;
    F.real = vmi->drv;
    F.ops = *vmi->drv;
    F.ops.map_frame = map_frame;
    vmi->drv = &F.ops;
    F.frames = (size_t)((vmi->max_pa + PAGE - 1) / PAGE);
    if (!(F.mark = calloc(F.frames, 1)))
        __builtin_trap();
    /* A first listing indexes the guest's BTF and loads the layouts
     * (kept): only what the view reads on every call is worth corrupting. */
    forget_views(vmi);
    view(vmi);
    forget_views(vmi);
    F.recording = true;
    F.base = view(vmi);
    F.recording = false;
    if (!F.base || !F.ntouched) {
        fprintf(stderr, "fuzz_%s: %s: the view of pristine memory is empty: %s\n",
                name, path, tvmi_last_error(vmi));
        __builtin_trap();
    }
    fprintf(stderr, "fuzz_%s: %s: %zu entries, %zu frames read\n", name, path,
            F.base, F.ntouched);
    return true;
}

static int fuzz_view(const char *name, view_fn view, const uint8_t *data,
                     size_t size)
{
    static int ready = -1;
    struct in in = { data, size };
    size_t n, applied;

    if (ready < 0)
        ready = setup(name, view);
    if (!ready)
        return 0;
    applied = apply(&in);
    forget_views(F.vmi);
    n = view(F.vmi);
    if (!applied && n != F.base)
        __builtin_trap(); /* pristine memory, another answer */
    pristine();
    return 0;
}

#define FUZZ_VIEW(name, view)                                              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)           \
    {                                                                      \
        return fuzz_view(name, view, data, size);                          \
    }

#endif
