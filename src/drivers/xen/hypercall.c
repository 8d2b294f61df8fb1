/*
 * The hypercalls the driver makes itself, through libxencall: domctls and
 * one memory op. Arguments travel in buffers from xencall_alloc_buffer,
 * which Xen may read and write at any time (locked, never swapped).
 */
#include "xen.h"

#include <errno.h>
#include <string.h>

#if XEN_DOMCTL_INTERFACE_VERSION < XEN_DOMCTL_OLDEST || \
    XEN_DOMCTL_INTERFACE_VERSION > XEN_DOMCTL_NEWEST
#error "these Xen headers speak a domctl version tinyvmi has not checked: \
compare the structures listed in docs/xen-driver.md, then widen the range"
#endif

const char *xen_strerror(int err)
{
    switch (err) {
    case EPERM:
        return "Xen refused (EPERM): tinyvmi must run as root in dom0";
    case EACCES:
        return "access denied (EACCES): not root, or XSM forbids it";
    case ESRCH:
        return "no such domain (ESRCH)";
    case ENOENT:
        return "not running on Xen: /dev/xen/privcmd does not exist (ENOENT)";
    default:
        return strerror(err);
    }
}

int xen_domctl(vmi_instance_t vmi, struct xen *x, struct xen_domctl *d,
               const char *what)
{
    int e;

    d->interface_version = x->domctl_version;
    memcpy(x->dc, d, sizeof *d);
    if (xencall1(x->call, __HYPERVISOR_domctl, (uintptr_t)x->dc) >= 0) {
        memcpy(d, x->dc, sizeof *d);
        return 0;
    }
    e = errno ? errno : EIO;
    tvmi_fail(vmi, "%s of domain %u: %s", what, x->domid, xen_strerror(e));
    return -e;
}

int xen_domain_info(vmi_instance_t vmi, struct xen *x,
                    struct xen_domctl_getdomaininfo *info)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_getdomaininfo,
                            .domain = (domid_t)x->domid };
    int rc = xen_domctl(vmi, x, &d, "getting the info");

    if (rc == -ESRCH)
        tvmi_fail(vmi, "no Xen domain with id %u", x->domid);
    if (rc)
        return rc;
    /* Xen before 4.18 answered with the next domain when this one was
     * gone: that is "no such domain" too. */
    if (d.u.getdomaininfo.domain != x->domid) {
        tvmi_fail(vmi, "no Xen domain with id %u", x->domid);
        return -ESRCH;
    }
    *info = d.u.getdomaininfo;
    return 0;
}

static size_t add_unique(uint32_t *list, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return n;
    list[n] = v;
    return n + 1;
}

/* Xen checks the version before anything else and answers EACCES when it
 * is not its own, so one cheap call per candidate finds it. The version
 * that answered is tried first by the next instance. */
int xen_probe_domctl(vmi_instance_t vmi, struct xen *x, uint32_t domid,
                     struct xen_domctl_getdomaininfo *info)
{
    static uint32_t known;
    uint32_t order[XEN_DOMCTL_NEWEST - XEN_DOMCTL_OLDEST + 3];
    size_t n = 0;
    int rc = -EACCES;

    if (known)
        n = add_unique(order, n, known);
    n = add_unique(order, n, XEN_DOMCTL_INTERFACE_VERSION);
    for (uint32_t v = XEN_DOMCTL_NEWEST; v >= XEN_DOMCTL_OLDEST; v--)
        n = add_unique(order, n, v);
    x->domid = domid;
    for (size_t i = 0; i < n && rc == -EACCES; i++) {
        x->domctl_version = order[i];
        rc = xen_domain_info(vmi, x, info);
        if (rc == 0 || rc == -ESRCH)
            known = order[i];
    }
    if (rc == -EACCES)
        tvmi_fail(vmi, "Xen refused every domctl interface version tinyvmi "
                  "knows (0x%x to 0x%x, Xen 4.17 to 4.20) with EACCES: a "
                  "Xen of another release, or an XSM policy that denies dom0",
                  XEN_DOMCTL_OLDEST, XEN_DOMCTL_NEWEST);
    return rc;
}

/* XENMEM_maximum_gpfn is a memory op, not a domctl: it has no version.
 * Its argument is the domid, in a hypercall buffer. */
int xen_max_gfn(vmi_instance_t vmi, struct xen *x, addr_t *gfn)
{
    domid_t *arg = (domid_t *)((unsigned char *)x->dc + sizeof *x->dc);
    long rc;

    *arg = (domid_t)x->domid;
    rc = xencall2L(x->call, __HYPERVISOR_memory_op, XENMEM_maximum_gpfn,
                   (uintptr_t)arg);
    if (rc < 0) {
        int e = errno ? errno : EIO;
        tvmi_fail(vmi, "asking Xen for the highest gfn of domain %u: %s",
                  x->domid, xen_strerror(e));
        return -e;
    }
    *gfn = (addr_t)rc;
    return 0;
}
