/*
 * Finding Xen and talking to it.
 *
 * Xen announces itself in CPUID leaves 0x40000000 + n * 0x100 (it moves up
 * when it also emulates Hyper-V). Leaf base+2 gives the MSR that tells Xen
 * where to write the hypercall page: after that, hypercall n is a call to
 * hypercall_page + n * 32, whatever the CPU vendor (vmcall vs vmmcall).
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"

struct uk_xen uk_xen;

/* The shared info page replaces this page of our RAM once mapped: it must
 * be a whole page of its own, or our neighbours would vanish with it. */
static union {
    shared_info_t info;
    char page[4096];
} shared_page __attribute__((aligned(4096)));

static bool find_leaves(void)
{
    for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
        struct cpuid r = cpuid(base, 0);

        /* "XenVMMXenVMM" in ebx, ecx, edx; eax = the highest leaf. */
        if (r.b == 0x566e6558 && r.c == 0x65584d4d && r.d == 0x4d4d566e &&
            r.a >= base + 2) {
            uk_xen.cpuid_base = base;
            return true;
        }
    }
    return false;
}

bool uk_xen_init(void)
{
    struct cpuid r;

    if (!find_leaves())
        return false;
    r = cpuid(uk_xen.cpuid_base + 1, 0);
    uk_xen.major = r.a >> 16;
    uk_xen.minor = r.a & 0xffff;
    r = cpuid(uk_xen.cpuid_base + 2, 0);
    if (r.a < 1) /* no hypercall pages offered */
        return false;
    /* Identity mapping: the virtual address is the physical one. */
    wrmsr(r.b, (uint64_t)(uintptr_t)hypercall_page);
    uk_xen.present = true;
    return true;
}

long uk_xen_get_param(uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long rc = xen_hvm_op(HVMOP_get_param, &p);

    if (rc == 0)
        *value = p.value;
    return rc;
}

int uk_xen_map_shared_info(void)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = (uintptr_t)&shared_page >> 12,
    };
    long rc = xen_memory_op(XENMEM_add_to_physmap, &xatp);

    if (rc == 0)
        uk_xen.shared = &shared_page.info;
    return (int)rc;
}

/* Xen also answers XENMEM_memory_map with the e820 the toolstack set:
 * our fallback when the loader gave no map. Returns the entry count. */
unsigned uk_xen_memory_map(struct uk_mem_range *out, unsigned max)
{
    struct __attribute__((packed)) { uint64_t addr, size; uint32_t type; } e[64];
    struct xen_memory_map map = { .nr_entries = max < 64 ? max : 64 };
    unsigned n = 0;

    set_xen_guest_handle(map.buffer, (void *)e);
    if (xen_memory_op(XENMEM_memory_map, &map) != 0)
        return 0;
    for (unsigned i = 0; i < map.nr_entries && i < max && i < 64; i++)
        if (e[i].size && e[i].addr + e[i].size > e[i].addr)
            out[n++] = (struct uk_mem_range){ e[i].addr, e[i].addr + e[i].size,
                                              e[i].type };
    return n;
}
