/*
 * The appliance's Xen driver (VMI_XEN inside the unikernel): the target's
 * frames are mapped into a window of our own physical address space with
 * XENMEM_add_to_physmap_batch (XENMAPSPACE_gmfn_foreign) and unmapped with
 * XENMEM_remove_from_physmap. Xen allows this once dom0 has made us the
 * target's "device model" (XEN_DOMCTL_set_target), from Xen 4.19 on for a
 * PVH caller; it refuses every other domain.
 *
 * The window is a hole of our physical map (nothing of our RAM, Xen's
 * special pages or ACPI lives at 1 GiB) that boot.S already identity-maps
 * with 2 MiB pages, so a frame mapped at window gfn w is read at virtual
 * address w << 12 with no page-table work of ours. Its slots form a
 * bounded cache: a frame stays mapped after the core's page cache lets go
 * of it, until a clock sweep needs the slot. Frames come in batches: a
 * reader going through memory in order gets a readahead window doubling
 * up to AX_BATCH frames per hypercall.
 *
 * What the appliance may not do on stock Xen (pause the target, read its
 * registers) this driver does not offer: it is memory only, and the
 * layers above re-read and validate instead of pausing.
 */
#define __XEN_TOOLS__ 1 /* domctl.h: getdomaininfo */

#include "private.h"
#include "appliance.h"
#include "xen.h"

#include <xen/domctl.h>

#define AX_WINDOW_GFN 0x40000u /* 1 GiB */
#define AX_SLOTS      4096u    /* 16 MiB of window: the cache's bound */
#define AX_BATCH      512u     /* frames per add_to_physmap_batch */
#define AX_RA_FIRST   8u       /* first readahead after a sequential miss */
#define AX_NIL        UINT32_MAX

/* The domctl interface versions whose getdomaininfo we checked: Xen 4.17
 * (0x15) to 4.20 (0x17); the layout of what we read did not change. */
#define AX_DOMCTL_OLDEST 0x15u
#define AX_DOMCTL_NEWEST 0x17u

struct ax_slot {
    addr_t gfn;     /* target frame, or ~0 when free */
    uint32_t refs;  /* pointers the core holds */
    uint32_t next;  /* hash chain */
    bool hot;       /* used since the clock hand last passed */
};

struct ax {
    uint32_t domid;
    uint32_t domctl_version;
    struct ax_slot slot[AX_SLOTS];
    uint32_t bucket[AX_SLOTS];  /* hash of gfn -> first slot */
    uint32_t free_list[AX_SLOTS];
    uint32_t nfree;
    uint32_t hand;              /* clock hand */
    addr_t ra_next;             /* the gfn a sequential reader wants next */
    unsigned ra;                /* its readahead window */
    /* Arguments Xen reads and writes: our memory, identity-mapped. */
    xen_ulong_t idx[AX_BATCH];
    xen_pfn_t gpfn[AX_BATCH];
    int err[AX_BATCH];
    uint32_t pending[AX_BATCH]; /* slots of the batch being mapped */
    struct tvmi_mem_range ranges[AX_MAX_RANGES];
    size_t nranges;
    bool gone;                  /* the target was destroyed under us */
};

struct ax_stats ax_stats;

static struct ax *ax_of(vmi_instance_t vmi) { return vmi->drv_data; }
static addr_t slot_gfn(uint32_t s) { return AX_WINDOW_GFN + s; }
static void *slot_ptr(uint32_t s) { return (void *)(uintptr_t)(slot_gfn(s) << 12); }
static uint32_t hash(addr_t gfn) { return (uint32_t)(gfn * 0x9e3779b1u) % AX_SLOTS; }

/* ---- Xen's answers in words ---------------------------------------------- */

const char *ax_strerror(long rc)
{
    switch (-rc) {
    case 1:  return "not permitted (EPERM): the target was not given to "
                    "this appliance (XEN_DOMCTL_set_target), or it is not "
                    "the target";
    case 2:  return "no such frame (ENOENT)";
    case 3:  return "no such domain (ESRCH): the target is gone";
    case 12: return "out of memory in Xen (ENOMEM)";
    case 13: return "access denied (EACCES)";
    case 14: return "bad address (EFAULT)";
    case 16: return "busy (EBUSY)";
    case 22: return "invalid (EINVAL): not RAM of the target, or a Xen "
                    "older than 4.19, which refuses foreign mappings to "
                    "PVH domains";
    case 38: return "not implemented by this Xen (ENOSYS)";
    case 95: return "not supported (EOPNOTSUPP)";
    default: return "Xen error";
    }
}

/* ---- domain information -------------------------------------------------- */

static long domctl(struct ax *a, struct xen_domctl *d)
{
    d->interface_version = a->domctl_version;
    return hypercall2(__HYPERVISOR_domctl, (unsigned long)d, 0);
}

/* getdomaininfo on the target: allowed to its device model. */
static long target_info(struct ax *a, struct xen_domctl_getdomaininfo *info)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_getdomaininfo,
                            .domain = (domid_t)a->domid };
    long rc = domctl(a, &d);

    if (rc)
        return rc;
    if (d.u.getdomaininfo.domain != a->domid)
        return -3; /* older Xen answers with the next domain: gone */
    *info = d.u.getdomaininfo;
    return 0;
}

/* Xen rejects a domctl of another interface version with EACCES. */
static long probe_domctl(struct ax *a, struct xen_domctl_getdomaininfo *info)
{
    long rc = -13;

    for (uint32_t v = AX_DOMCTL_NEWEST; v >= AX_DOMCTL_OLDEST; v--) {
        a->domctl_version = v;
        rc = target_info(a, info);
        if (rc != -13)
            return rc;
    }
    return rc;
}

bool ax_target_alive(vmi_instance_t vmi, char *why, size_t len)
{
    struct ax *a = ax_of(vmi);
    struct xen_domctl_getdomaininfo info;
    long rc = target_info(a, &info);

    if (rc) {
        snprintf(why, len, "domain %u: %s", a->domid, ax_strerror(rc));
        a->gone = rc == -3;
        return false;
    }
    if (info.flags & XEN_DOMINF_dying) {
        snprintf(why, len, "domain %u is dying (being destroyed)", a->domid);
        a->gone = true;
        return false;
    }
    if (info.flags & XEN_DOMINF_shutdown) {
        snprintf(why, len, "domain %u has shut down (reason %u)", a->domid,
                 (info.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask);
        return false;
    }
    return true;
}

/* ---- the slot cache -------------------------------------------------------- */

static uint32_t find_slot(const struct ax *a, addr_t gfn)
{
    for (uint32_t s = a->bucket[hash(gfn)]; s != AX_NIL; s = a->slot[s].next)
        if (a->slot[s].gfn == gfn)
            return s;
    return AX_NIL;
}

static void hash_insert(struct ax *a, uint32_t s, addr_t gfn)
{
    uint32_t *head = &a->bucket[hash(gfn)];

    a->slot[s].gfn = gfn;
    a->slot[s].next = *head;
    *head = s;
}

static void hash_remove(struct ax *a, uint32_t s)
{
    uint32_t *p = &a->bucket[hash(a->slot[s].gfn)];

    while (*p != AX_NIL && *p != s)
        p = &a->slot[*p].next;
    if (*p == s)
        *p = a->slot[s].next;
    a->slot[s].gfn = ~0ull;
}

static long unmap_slot(uint32_t s)
{
    struct xen_remove_from_physmap r = { .domid = DOMID_SELF, .gpfn = slot_gfn(s) };

    ax_stats.unmap_calls++;
    return xen_memory_op(XENMEM_remove_from_physmap, &r);
}

/* Frees at least want slots (and an eighth of the window, so sweeps are
 * rare), oldest unreferenced first. Returns how many are free. */
static uint32_t evict(struct ax *a, uint32_t want)
{
    uint32_t goal = want > AX_SLOTS / 8 ? want : AX_SLOTS / 8;

    for (uint32_t steps = 0; a->nfree < goal && steps < 2 * AX_SLOTS; steps++) {
        uint32_t s = a->hand;
        struct ax_slot *sl = &a->slot[s];

        a->hand = (a->hand + 1) % AX_SLOTS;
        if (sl->gfn == ~0ull || sl->refs)
            continue;
        if (sl->hot) {
            sl->hot = false;
            continue;
        }
        /* A slot Xen would not unmap is lost to the cache, not reused:
         * mapping over it could leave the old frame's reference. */
        hash_remove(a, s);
        if (unmap_slot(s) == 0)
            a->free_list[a->nfree++] = s;
        else
            ax_stats.unmap_failures++;
    }
    return a->nfree;
}

/* Maps gfns[0..n) into free slots with one hypercall; err[i] per frame.
 * Returns 0, or Xen's error for the whole call. */
static long map_batch(struct ax *a, const addr_t *gfns, uint32_t n)
{
    struct xen_add_to_physmap_batch b = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_gmfn_foreign,
        .size = (uint16_t)n,
        .u.foreign_domid = (domid_t)a->domid,
    };
    long rc;

    for (uint32_t i = 0; i < n; i++) {
        a->pending[i] = a->free_list[--a->nfree];
        a->idx[i] = gfns[i];
        a->gpfn[i] = slot_gfn(a->pending[i]);
        a->err[i] = 0;
    }
    set_xen_guest_handle(b.idxs, a->idx);
    set_xen_guest_handle(b.gpfns, a->gpfn);
    set_xen_guest_handle(b.errs, a->err);
    ax_stats.map_calls++;
    rc = xen_memory_op(XENMEM_add_to_physmap_batch, &b);
    for (uint32_t i = 0; i < n; i++) {
        if (rc == 0 && a->err[i] == 0) {
            hash_insert(a, a->pending[i], gfns[i]);
            a->slot[a->pending[i]].hot = true;
            ax_stats.frames_mapped++;
        } else {
            a->free_list[a->nfree++] = a->pending[i];
            if (rc)
                a->err[i] = (int)rc;
        }
    }
    if (rc == -3)
        a->gone = true;
    return rc;
}

/* The frames to map with gfn: itself, plus the ones after it when the
 * reader is going through memory in order and they are not mapped yet. */
static uint32_t plan_batch(struct ax *a, addr_t gfn, addr_t *gfns)
{
    uint32_t n = 1;

    if (gfn == a->ra_next && a->ra)
        a->ra = a->ra * 2 > AX_BATCH ? AX_BATCH : a->ra * 2;
    else
        a->ra = gfn == a->ra_next ? AX_RA_FIRST : 1;
    gfns[0] = gfn;
    while (n < a->ra && gfn + n < (addr_t)1 << 40 && find_slot(a, gfn + n) == AX_NIL)
        gfns[n] = gfn + n, n++;
    a->ra_next = gfn + n;
    return n;
}

static void *ax_map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    struct ax *a = ax_of(vmi);
    addr_t gfns[AX_BATCH];
    uint32_t s = find_slot(a, gfn), n;
    long rc;

    (void)write; /* foreign mappings are writable; the core asks first */
    if (s != AX_NIL) {
        a->slot[s].refs++;
        a->slot[s].hot = true;
        if (gfn + 1 == a->ra_next || gfn == a->ra_next)
            a->ra_next = gfn + 1;
        return slot_ptr(s);
    }
    if (a->gone) {
        tvmi_fail(vmi, "frame %#llx of domain %u: the target is gone",
                  (unsigned long long)gfn, a->domid);
        return NULL;
    }
    n = plan_batch(a, gfn, gfns);
    if (evict(a, n) < n) {
        n = a->nfree;
        if (!n) {
            tvmi_fail(vmi, "frame %#llx of domain %u: every one of the %u "
                      "window slots is in use", (unsigned long long)gfn,
                      a->domid, AX_SLOTS);
            return NULL;
        }
    }
    rc = map_batch(a, gfns, n);
    s = find_slot(a, gfn);
    if (s == AX_NIL) {
        tvmi_fail(vmi, "mapping frame %#llx of domain %u: %s",
                  (unsigned long long)gfn, a->domid,
                  ax_strerror(rc ? rc : a->err[0]));
        return NULL;
    }
    a->slot[s].refs++;
    return slot_ptr(s);
}

static void ax_unmap_frame(vmi_instance_t vmi, void *page)
{
    struct ax *a = ax_of(vmi);
    uintptr_t g = (uintptr_t)page >> 12;

    if (g >= AX_WINDOW_GFN && g < AX_WINDOW_GFN + AX_SLOTS &&
        a->slot[g - AX_WINDOW_GFN].refs)
        a->slot[g - AX_WINDOW_GFN].refs--;
}

static size_t ax_get_ranges(vmi_instance_t vmi, struct tvmi_mem_range *out,
                            size_t max)
{
    struct ax *a = ax_of(vmi);
    struct tvmi_mem_range all = { 0, vmi->max_pa };

    if (!a->nranges) {
        if (max)
            out[0] = all;
        return 1;
    }
    for (size_t i = 0; i < a->nranges && i < max; i++)
        out[i] = a->ranges[i];
    return a->nranges;
}

/* ---- open and close ------------------------------------------------------- */

struct ax_hint ax_hint;

static status_t ax_open(vmi_instance_t vmi, const void *domain, uint64_t flags,
                        vmi_init_error_t *err)
{
    struct xen_domctl_getdomaininfo info;
    struct xen_memory_domain md;
    struct ax *a;
    char *end;
    unsigned long id;
    long rc, top;

    if (!uk_xen.present) {
        *err = VMI_INIT_ERROR_DRIVER_NOT_DETECTED;
        return tvmi_fail(vmi, "not running on Xen");
    }
    id = flags & VMI_INIT_DOMAINID ? (unsigned long)*(const uint64_t *)domain
                                   : (unsigned long)strtoull(domain, &end, 10);
    if (!(flags & VMI_INIT_DOMAINID) && (end == domain || *end)) {
        *err = VMI_INIT_ERROR_VM_NOT_FOUND;
        return tvmi_fail(vmi, "the appliance names its target by domain id, "
                         "not '%s'", (const char *)domain);
    }
    if (id >= DOMID_FIRST_RESERVED) {
        *err = VMI_INIT_ERROR_VM_NOT_FOUND;
        return tvmi_fail(vmi, "domain %lu cannot be a target", id);
    }
    a = calloc(1, sizeof *a);
    if (!a)
        return tvmi_fail(vmi, "no memory for the driver's state");
    a->domid = (uint32_t)id;
    for (uint32_t s = 0; s < AX_SLOTS; s++) {
        a->slot[s].gfn = ~0ull;
        a->bucket[s] = AX_NIL;
        a->free_list[a->nfree++] = AX_SLOTS - 1 - s;
    }
    vmi->drv_data = a;
    rc = probe_domctl(a, &info);
    if (rc == -1) {
        /* Not our target. Say how Xen answers a mapping too: that is the
         * isolation that matters. */
        addr_t first = 0;
        long m = map_batch(a, &first, 1);

        *err = VMI_INIT_ERROR_DRIVER;
        return tvmi_fail(vmi, "domain %u: getting its info: %s; mapping its "
                         "frame 0: %s", a->domid, ax_strerror(rc),
                         m ? ax_strerror(m) : a->err[0] ? ax_strerror(a->err[0])
                           : "MAPPED (isolation is broken)");
    }
    if (rc) {
        *err = rc == -3 ? VMI_INIT_ERROR_VM_NOT_FOUND : VMI_INIT_ERROR_DRIVER;
        return tvmi_fail(vmi, "getting the info of domain %u: %s", a->domid,
                         ax_strerror(rc));
    }
    if (info.flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown)) {
        *err = VMI_INIT_ERROR_VM_NOT_FOUND;
        return tvmi_fail(vmi, "domain %u is %s", a->domid,
                         info.flags & XEN_DOMINF_dying ? "dying" : "shut down");
    }
    md.domid = (domid_t)a->domid;
    top = xen_memory_op(XENMEM_maximum_gpfn, &md);
    if (top < 0)
        return tvmi_fail(vmi, "asking Xen for the highest frame of domain %u: %s",
                         a->domid, ax_strerror(top));
    vmi->memsize = info.tot_pages << 12;
    vmi->max_pa = ((addr_t)top + 1) << 12;
    vmi->num_vcpus = info.max_vcpu_id + 1;
    /* The launcher knows the populated ranges (dom0 may ask Xen); they
     * only steer scans: every frame is still checked when mapped. */
    for (size_t i = 0; i < ax_hint.nranges && i < AX_MAX_RANGES; i++)
        if (ax_hint.ranges[i].start < ax_hint.ranges[i].end &&
            ax_hint.ranges[i].end <= vmi->max_pa)
            a->ranges[a->nranges++] = ax_hint.ranges[i];
    return VMI_SUCCESS;
}

static void ax_close(vmi_instance_t vmi)
{
    struct ax *a = ax_of(vmi);

    if (!a)
        return;
    /* Give every frame back: a destroyed target's memory is only freed
     * once nobody maps it. */
    for (uint32_t s = 0; s < AX_SLOTS; s++)
        if (a->slot[s].gfn != ~0ull && unmap_slot(s) != 0)
            ax_stats.unmap_failures++;
    free(a);
    vmi->drv_data = NULL;
}

static status_t ax_check_alive(vmi_instance_t vmi)
{
    char why[160];

    return ax_target_alive(vmi, why, sizeof why) ? VMI_SUCCESS
                                                  : tvmi_fail(vmi, "%s", why);
}

/* The appliance has no xenstore to name its target, only the id. */
static uint64_t ax_get_vmid(vmi_instance_t vmi)
{
    return ax_of(vmi)->domid;
}

const struct tvmi_driver_ops tvmi_driver_appliance_xen = {
    .name = "appliance-xen",
    .mode = VMI_XEN,
    .flags = TVMI_DRV_LIVE,
    .open = ax_open,
    .close = ax_close,
    .map_frame = ax_map_frame,
    .unmap_frame = ax_unmap_frame,
    .get_ranges = ax_get_ranges,
    .check_alive = ax_check_alive,
    .get_vmid = ax_get_vmid,
};
