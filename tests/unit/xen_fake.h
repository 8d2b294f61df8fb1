/*
 * A fake Xen for the Xen driver's unit tests: the library functions the
 * driver calls (libxencall, libxenforeignmemory, libxenstore), defined
 * here so that the test program's own definitions are the ones linked.
 *
 * One HVM/PVH domain: RAM frames [0, FAKE_RAM_FRAMES) and a few special
 * frames just below 4 GiB, like a small PVH guest; two vCPUs with
 * registers; a pause count; a domctl interface version it insists on.
 * Guest memory is a memfd, so mappings alias it (writes are seen) the way
 * foreign mappings alias the guest. The state lives in shared memory: a
 * forked child's pauses and unpauses are seen by the parent.
 *
 * Include from exactly one file per test program, which defines
 * _GNU_SOURCE before any header (memfd_create).
 */
#ifndef TVMI_TEST_XEN_FAKE_H
#define TVMI_TEST_XEN_FAKE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/xen/xen.h"
#include <xen/sched.h>
#include <xenstore.h>
#include <xentoollog.h>

#define FAKE_RAM_FRAMES 4096u                 /* 16 MiB */
#define FAKE_SPECIAL_GFN 0xfeffcull           /* 4 frames up to 4 GiB */
#define FAKE_SPECIAL_FRAMES 4u
#define FAKE_MAX_GFN (FAKE_SPECIAL_GFN + FAKE_SPECIAL_FRAMES - 1)
#define FAKE_FRAMES (FAKE_RAM_FRAMES + FAKE_SPECIAL_FRAMES)
#define FAKE_VCPUS 2

struct fake_xen {
    uint32_t version;          /* the domctl interface version it speaks */
    bool eperm;                /* every domctl: EPERM (not the control domain) */
    bool next_domain;          /* getdomaininfo of a missing domain answers
                                  with the next one, as Xen < 4.18 did */
    bool map_eperm;            /* whole map calls fail with EPERM */
    uint32_t domid;
    char name[32];
    uint32_t flags;            /* XEN_DOMINF_* besides paused */
    uint8_t uuid0;             /* first byte of the domain's handle */
    uint32_t emulation;        /* arch_config.emulation_flags */
    int64_t tot_pages_delta;   /* lie about tot_pages by this much */
    uint64_t xenheap_gfn;      /* not 0: a RAM frame Xen calls its own (like
                                  shared_info): maps, but listed as a hole
                                  and not in tot_pages */
    int pauses;
    struct hvm_hw_cpu cpu[FAKE_VCPUS];
    /* counters */
    unsigned eacces, domctls, pfinfo_calls, map_calls, set_contexts;
    unsigned set_cpu_records;  /* CPU records in the last sethvmcontext */
    long mapped;               /* frames mapped and not unmapped */
    int memfd;
};

static struct fake_xen *fx;

static long fake_frame_index(uint64_t gfn)
{
    if (gfn < FAKE_RAM_FRAMES)
        return (long)gfn;
    if (gfn >= FAKE_SPECIAL_GFN && gfn <= FAKE_MAX_GFN)
        return (long)(FAKE_RAM_FRAMES + gfn - FAKE_SPECIAL_GFN);
    return -1;
}

/* Fills every frame with bytes that say where they are. */
static uint8_t fake_byte(uint64_t pa) { return (uint8_t)(pa ^ pa >> 8 ^ pa >> 15); }

static void fake_reset(void)
{
    unsigned char *mem;

    if (!fx) {
        fx = mmap(NULL, sizeof *fx, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (fx == MAP_FAILED)
            abort();
        fx->memfd = -1;
    }
    if (fx->memfd >= 0)
        close(fx->memfd);
    memset(fx, 0, sizeof *fx);
    fx->version = XEN_DOMCTL_INTERFACE_VERSION;
    fx->domid = 7;
    snprintf(fx->name, sizeof fx->name, "target");
    fx->flags = XEN_DOMINF_hvm_guest | XEN_DOMINF_running;
    fx->emulation = XEN_X86_EMU_LAPIC;
    for (int i = 0; i < FAKE_VCPUS; i++) {
        fx->cpu[i].cr0 = 0x80050033;
        fx->cpu[i].cr3 = 0x1000000 + 0x1000 * (uint64_t)i;
        fx->cpu[i].cr4 = 0x3606e0;
        fx->cpu[i].msr_efer = 0xd01;
        fx->cpu[i].rip = 0xffffffff81000000ull + (uint64_t)i;
        fx->cpu[i].r15 = 0x1515;
        fx->cpu[i].cs_sel = 0x10;
    }
    fx->memfd = memfd_create("fake-xen-guest", 0);
    if (fx->memfd < 0 || ftruncate(fx->memfd, FAKE_FRAMES * 4096L) < 0)
        abort();
    mem = mmap(NULL, FAKE_FRAMES * 4096L, PROT_READ | PROT_WRITE, MAP_SHARED,
               fx->memfd, 0);
    if (mem == MAP_FAILED)
        abort();
    for (uint64_t gfn = 0; gfn <= FAKE_MAX_GFN; gfn++) {
        long i = fake_frame_index(gfn);
        if (i < 0)
            continue;
        for (unsigned b = 0; b < 4096; b++)
            mem[i * 4096 + b] = fake_byte(gfn * 4096 + b);
    }
    munmap(mem, FAKE_FRAMES * 4096L);
}

/* The guest's byte at pa as it is now (through a fresh mapping). */
static uint8_t fake_peek(uint64_t pa)
{
    long i = fake_frame_index(pa >> 12);
    uint8_t v;

    if (i < 0 || pread(fx->memfd, &v, 1, i * 4096 + (long)(pa & 4095)) != 1)
        abort();
    return v;
}

/* ---- libxencall ---------------------------------------------------------- */

static int fake_handle;

xencall_handle *xencall_open(struct xentoollog_logger *l, unsigned f)
{
    (void)l, (void)f;
    return (xencall_handle *)&fake_handle;
}
int xencall_close(xencall_handle *h) { (void)h; return 0; }
void *xencall_alloc_buffer(xencall_handle *h, size_t n) { (void)h; return calloc(1, n); }
void xencall_free_buffer(xencall_handle *h, void *p) { (void)h; free(p); }
void *xencall_alloc_buffer_pages(xencall_handle *h, size_t n)
{
    (void)h;
    return calloc(n, 4096);
}
void xencall_free_buffer_pages(xencall_handle *h, void *p, size_t n)
{
    (void)h, (void)n;
    free(p);
}

static int fail_with(int e)
{
    errno = e;
    return -1;
}

static int fake_info(struct xen_domctl *d)
{
    struct xen_domctl_getdomaininfo *i = &d->u.getdomaininfo;

    if (d->domain != fx->domid) {
        if (!fx->next_domain || d->domain > fx->domid)
            return fail_with(ESRCH);
        d->domain = (domid_t)fx->domid; /* the next one */
    }
    memset(i, 0, sizeof *i);
    i->domain = (domid_t)fx->domid;
    i->handle[0] = fx->uuid0;
    i->flags = fx->flags | (fx->pauses ? XEN_DOMINF_paused : 0);
    i->tot_pages = (uint64_t)((int64_t)FAKE_FRAMES + fx->tot_pages_delta -
                              (fx->xenheap_gfn != 0));
    i->max_vcpu_id = FAKE_VCPUS - 1;
    i->nr_online_vcpus = FAKE_VCPUS;
    i->arch_config.emulation_flags = fx->emulation;
    return 0;
}

static int fake_pfinfo(struct xen_domctl *d)
{
    xen_pfn_t *a = d->u.getpageframeinfo3.array.p;

    fx->pfinfo_calls++;
    if (d->u.getpageframeinfo3.num > 1024)
        return fail_with(E2BIG);
    for (uint64_t i = 0; i < d->u.getpageframeinfo3.num; i++)
        a[i] = fake_frame_index(a[i]) < 0 || (fx->xenheap_gfn && a[i] == fx->xenheap_gfn)
                   ? XEN_DOMCTL_PFINFO_XTAB : 0;
    return 0;
}

static size_t fake_context_size(void)
{
    return 2 * sizeof(struct hvm_save_descriptor) + sizeof(struct hvm_save_header) +
           FAKE_VCPUS * (sizeof(struct hvm_save_descriptor) + sizeof(struct hvm_hw_cpu));
}

static unsigned char *put_record(unsigned char *p, unsigned code,
                                 unsigned instance, const void *data,
                                 uint32_t len)
{
    struct hvm_save_descriptor h = { (uint16_t)code, (uint16_t)instance, len };
    memcpy(p, &h, sizeof h);
    if (len)
        memcpy(p + sizeof h, data, len);
    return p + sizeof h + len;
}

static int fake_get_context(struct xen_domctl *d)
{
    struct hvm_save_header hdr = { .magic = 0x54381286, .version = 1 };
    unsigned char *p = d->u.hvmcontext.buffer.p;

    if (!p) {
        d->u.hvmcontext.size = (uint32_t)fake_context_size();
        return 0;
    }
    if (d->u.hvmcontext.size < fake_context_size())
        return fail_with(ENOSPC);
    p = put_record(p, HVM_SAVE_CODE(HEADER), 0, &hdr, sizeof hdr);
    for (unsigned i = 0; i < FAKE_VCPUS; i++)
        p = put_record(p, HVM_SAVE_CODE(CPU), i, &fx->cpu[i], sizeof fx->cpu[i]);
    put_record(p, HVM_SAVE_CODE(END), 0, NULL, 0);
    d->u.hvmcontext.size = (uint32_t)fake_context_size();
    return 0;
}

/* Like Xen: a header first, records, the end marker; CPU records load. */
static int fake_set_context(struct xen_domctl *d)
{
    const unsigned char *p = d->u.hvmcontext.buffer.p;
    uint32_t len = d->u.hvmcontext.size, off = 0;
    struct hvm_save_descriptor h;
    bool first = true;

    fx->set_contexts++;
    fx->set_cpu_records = 0;
    while (len - off >= sizeof h) {
        memcpy(&h, p + off, sizeof h);
        off += sizeof h;
        if (h.length > len - off)
            return fail_with(EINVAL);
        if (first && h.typecode != HVM_SAVE_CODE(HEADER))
            return fail_with(EINVAL);
        first = false;
        if (h.typecode == HVM_SAVE_CODE(END))
            return 0;
        if (h.typecode == HVM_SAVE_CODE(CPU)) {
            if (h.instance >= FAKE_VCPUS || h.length != sizeof(struct hvm_hw_cpu))
                return fail_with(EINVAL);
            memcpy(&fx->cpu[h.instance], p + off, h.length);
            fx->set_cpu_records++;
        }
        off += h.length;
    }
    return fail_with(EINVAL); /* no end marker */
}

static int fake_domctl(struct xen_domctl *d)
{
    fx->domctls++;
    if (d->interface_version != fx->version) {
        fx->eacces++;
        return fail_with(EACCES);
    }
    if (fx->eperm)
        return fail_with(EPERM);
    if (d->cmd != XEN_DOMCTL_getdomaininfo && d->domain != fx->domid)
        return fail_with(ESRCH);
    switch (d->cmd) {
    case XEN_DOMCTL_getdomaininfo:
        return fake_info(d);
    case XEN_DOMCTL_pausedomain:
        fx->pauses++;
        return 0;
    case XEN_DOMCTL_unpausedomain:
        if (!fx->pauses)
            return fail_with(EINVAL);
        fx->pauses--;
        return 0;
    case XEN_DOMCTL_getpageframeinfo3:
        return fake_pfinfo(d);
    case XEN_DOMCTL_gethvmcontext_partial:
        if (d->u.hvmcontext_partial.type != HVM_SAVE_CODE(CPU) ||
            d->u.hvmcontext_partial.instance >= FAKE_VCPUS ||
            d->u.hvmcontext_partial.bufsz < sizeof(struct hvm_hw_cpu))
            return fail_with(EINVAL);
        memcpy(d->u.hvmcontext_partial.buffer.p,
               &fx->cpu[d->u.hvmcontext_partial.instance], sizeof fx->cpu[0]);
        return 0;
    case XEN_DOMCTL_gethvmcontext:
        return fake_get_context(d);
    case XEN_DOMCTL_sethvmcontext:
        return fake_set_context(d);
    default:
        return fail_with(ENOSYS);
    }
}

int xencall1(xencall_handle *h, unsigned int op, uint64_t arg1)
{
    (void)h;
    if (op != __HYPERVISOR_domctl)
        return fail_with(ENOSYS);
    return fake_domctl((struct xen_domctl *)(uintptr_t)arg1);
}

long xencall2L(xencall_handle *h, unsigned int op, uint64_t arg1, uint64_t arg2)
{
    (void)h;
    if (op != __HYPERVISOR_memory_op || arg1 != XENMEM_maximum_gpfn)
        return fail_with(ENOSYS);
    if (*(domid_t *)(uintptr_t)arg2 != fx->domid)
        return fail_with(ESRCH);
    return (long)FAKE_MAX_GFN;
}

/* ---- libxenforeignmemory ------------------------------------------------------ */

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *l,
                                               unsigned f)
{
    (void)l, (void)f;
    return (xenforeignmemory_handle *)&fake_handle;
}
int xenforeignmemory_close(xenforeignmemory_handle *h) { (void)h; return 0; }

/* Populated frames are the memfd's pages mapped in place; holes stay
 * PROT_NONE and report -EINVAL, as privcmd does. */
void *xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom, int prot,
                           size_t pages, const xen_pfn_t arr[], int err[])
{
    unsigned char *base;

    (void)h;
    fx->map_calls++;
    if (fx->map_eperm || dom != fx->domid)
        return errno = EPERM, NULL;
    base = mmap(NULL, pages * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    for (size_t i = 0; i < pages; i++) {
        long f = fake_frame_index(arr[i]);
        err[i] = -EINVAL;
        if (f >= 0 && mmap(base + i * 4096, 4096, prot, MAP_SHARED | MAP_FIXED,
                           fx->memfd, f * 4096) != MAP_FAILED)
            err[i] = 0;
    }
    fx->mapped += (long)pages;
    return base;
}

int xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr, size_t pages)
{
    (void)h;
    fx->mapped -= (long)pages;
    return munmap(addr, pages * 4096);
}

/* ---- libxenstore ---------------------------------------------------------------- */

struct xs_handle *xs_open(unsigned long flags)
{
    (void)flags;
    return (struct xs_handle *)&fake_handle;
}
void xs_close(struct xs_handle *h) { (void)h; }

/* One allocation, pointers then strings, as libxenstore returns it. */
char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
                    unsigned int *num)
{
    char **v;

    (void)h, (void)t;
    if (strcmp(path, "/local/domain"))
        return errno = ENOENT, NULL;
    v = malloc(2 * sizeof *v + 2 * 12);
    v[0] = (char *)(v + 2);
    v[1] = v[0] + 12;
    snprintf(v[0], 12, "0");
    snprintf(v[1], 12, "%u", fx->domid);
    *num = 2;
    return v;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
              unsigned int *len)
{
    char want[64];
    const char *name = NULL;

    (void)h, (void)t;
    snprintf(want, sizeof want, "/local/domain/%u/name", fx->domid);
    if (!strcmp(path, "/local/domain/0/name"))
        name = "Domain-0";
    else if (!strcmp(path, want))
        name = fx->name;
    if (!name)
        return errno = ENOENT, NULL;
    *len = (unsigned)strlen(name);
    return strdup(name);
}

#endif
