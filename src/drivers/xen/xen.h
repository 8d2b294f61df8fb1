/*
 * The Xen driver's private state. It runs as root in dom0 and talks to Xen
 * through its stable libraries only: libxencall (the few domctls and
 * memory ops), libxenforeignmemory (mapping guest frames) and libxenstore
 * (domain names). libxenctrl is left out on purpose: its soname changes
 * with every Xen release, so a binary linked to it runs on one Xen only.
 *
 * The domctl structures come from the build host's Xen headers. Only those
 * whose layout is the same from Xen 4.17 to 4.20 are used (docs/xen-driver.md
 * has the comparison); the interface version Xen wants is probed at open.
 */
#ifndef TVMI_XEN_H
#define TVMI_XEN_H

#define __XEN_TOOLS__ 1 /* domctl.h is for the toolstack only */

#include "private.h"

#include <signal.h>
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/memory.h>
#include <xen/hvm/save.h>
#include <xencall.h>
#include <xenforeignmemory.h>

/* The domctl interface versions whose structures (the ones used here) we
 * checked: 0x15 is Xen 4.17, 0x17 is Xen 4.19 and 4.20. */
#define XEN_DOMCTL_OLDEST 0x15u
#define XEN_DOMCTL_NEWEST 0x17u

/* getpageframeinfo3 takes at most this many frames per call (Xen's limit);
 * the readahead window and map_frames batches use the same bound. */
#define XEN_BATCH_MAX 1024u

/* A random access maps the aligned run of this many frames around it: the
 * structures a walk visits next often share the run (tasks from the same
 * slab, their mm and cred). Measured in the lab (xen-labtool ps, 59
 * tasks): the walk took 114 map calls and 36-44 ms one frame at a time,
 * 29 calls and 11-12 ms with runs of 8; 16 or 32 saved nothing more. A
 * call of 16 frames costs about what one of 1 does (0.44 vs 0.40 ms). */
#define XEN_CLUSTER 8u

/* Mapped frames are found again through a direct-mapped gfn table. */
#define XEN_GFN_SLOTS 4096u

/* A run of frames mapped with one xenforeignmemory_map call. Pointers into
 * it are handed out frame by frame; it is unmapped when the last one is
 * given back. */
struct xen_batch {
    unsigned char *base;
    size_t n;
    addr_t first_gfn;   /* contiguous batches only: base maps first_gfn + i */
    bool contiguous;
    bool writable;
    unsigned refs;      /* frames handed out and not yet unmapped */
    int err[];          /* per frame: 0 mapped, else an errno */
};

/* The signal-safe record of one paused domain (pause.c). */
struct xen_pause_slot;

struct xen {
    xencall_handle *call;
    xenforeignmemory_handle *fmem;
    struct xen_domctl *dc;     /* hypercall buffer for domctls */
    uint32_t domctl_version;
    uint32_t domid;
    uint8_t handle[16];        /* the domain's UUID (getdomaininfo) */
    char name[128];
    bool hvm;                  /* HVM or PVH: registers from the HVM context */

    addr_t max_gfn;
    uint64_t tot_pages;

    /* Mapped batches, sorted by base address, and the readahead state. */
    struct xen_batch **batches;
    size_t nbatches, batches_cap;
    struct xen_batch *by_gfn[XEN_GFN_SLOTS]; /* gfn -> contiguous batch */
    uint64_t map_calls, frames_mapped; /* for benchmarks */
    addr_t ra_next;            /* gfn a sequential reader asks for next */
    unsigned ra_window;

    /* The populated ranges found by the last scan (get_ranges). */
    struct tvmi_mem_range *ranges;
    size_t nranges;
    uint64_t ranges_ms;        /* when they were found; 0 = never */
    uint64_t shared_frames;    /* of them, Xen's pages found by probing gaps */

    /* Registers, cached while the domain is paused by us. */
    void *cpu_cache;           /* struct hvm_hw_cpu or vcpu_guest_context_t */
    long cpu_cached;           /* vCPU in cpu_cache, -1 = none */

    uint32_t pauses;           /* nesting count of vmi_pause_vm */
    struct xen_pause_slot *slot;
};

static inline struct xen *xen_of(vmi_instance_t vmi) { return vmi->drv_data; }

/* ---- hypercalls (hypercall.c) ------------------------------------------- */

/* Runs one domctl on the driver's domain with the probed interface
 * version: 0, or -errno after recording "what: why" in vmi. */
int xen_domctl(vmi_instance_t vmi, struct xen *x, struct xen_domctl *d,
               const char *what);
/* Finds the domctl interface version Xen speaks by asking for domain
 * domid's info with each version we know; fills info when found. */
int xen_probe_domctl(vmi_instance_t vmi, struct xen *x, uint32_t domid,
                     struct xen_domctl_getdomaininfo *info);
int xen_domain_info(vmi_instance_t vmi, struct xen *x,
                    struct xen_domctl_getdomaininfo *info);
/* Highest gfn the domain has had populated (XENMEM_maximum_gpfn). */
int xen_max_gfn(vmi_instance_t vmi, struct xen *x, addr_t *gfn);
/* Explains an errno from Xen or privcmd for people ("need root in dom0"). */
const char *xen_strerror(int err);

/* ---- memory (memory.c) --------------------------------------------------- */

void *xen_map_frame(vmi_instance_t vmi, addr_t gfn, bool write);
status_t xen_map_frames(vmi_instance_t vmi, const addr_t *gfns, size_t n,
                        bool write, void **out);
void xen_unmap_frame(vmi_instance_t vmi, void *page);
size_t xen_get_ranges(vmi_instance_t vmi, struct tvmi_mem_range *out,
                      size_t max);
/* Finds the populated ranges again: every gfn up to max_gfn when full,
 * else from both ends until tot_pages frames are found. */
status_t xen_scan_ranges(vmi_instance_t vmi, bool full);
void xen_unmap_all(struct xen *x);

/* ---- registers (regs.c) -------------------------------------------------- */

status_t xen_get_vcpureg(vmi_instance_t vmi, uint64_t *value, reg_t reg,
                         unsigned long vcpu);
status_t xen_set_vcpureg(vmi_instance_t vmi, uint64_t value, reg_t reg,
                         unsigned long vcpu);
void xen_forget_registers(struct xen *x);

/* ---- run control (pause.c) ------------------------------------------------ */

status_t xen_pause(vmi_instance_t vmi);
status_t xen_resume(vmi_instance_t vmi);
/* Lets go of the domain at close: resumes it if we still hold it paused. */
void xen_release(vmi_instance_t vmi);
/* Low level, without nesting: one Xen pause or unpause. */
int xen_pause_domain(vmi_instance_t vmi, struct xen *x, bool pause);

#endif
