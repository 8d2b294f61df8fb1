/*
 * Xen driver (VMI_XEN): a running domain, seen from dom0.
 *
 * Open finds the domain by name (xenstore) or id, finds the domctl
 * interface version this Xen speaks, and refuses domains that are dying
 * or shut down. Memory comes through libxenforeignmemory (memory.c),
 * registers from the domain's vCPU context (regs.c), pause and resume
 * nest and are undone on exit and on fatal signals (pause.c).
 */
#include "xen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xen/sched.h>
#include <xenstore.h>
#include <xentoollog.h>

/* Xen's libraries log failures to stderr unless given a logger; we report
 * every failure ourselves, with what we were doing. */
static void quiet_message(struct xentoollog_logger *l, xentoollog_level level,
                          int errnoval, const char *context,
                          const char *format, va_list al)
{
    (void)l, (void)level, (void)errnoval, (void)context, (void)format, (void)al;
}

static void quiet_progress(struct xentoollog_logger *l, const char *context,
                           const char *doing_what, int percent,
                           unsigned long done, unsigned long total)
{
    (void)l, (void)context, (void)doing_what, (void)percent, (void)done,
        (void)total;
}

static void quiet_destroy(struct xentoollog_logger *l) { (void)l; }

static struct xentoollog_logger quiet = {
    quiet_message, quiet_progress, quiet_destroy,
};

/* ---- finding the domain ------------------------------------------------- */

static status_t open_handles(vmi_instance_t vmi, struct xen *x,
                             vmi_init_error_t *err)
{
    x->call = xencall_open(&quiet, 0);
    if (!x->call) {
        int e = errno;
        if (e == ENOENT) {
            *err = VMI_INIT_ERROR_DRIVER_NOT_DETECTED;
            return tvmi_fail(vmi, "not running on Xen: /dev/xen/privcmd does "
                             "not exist (tinyvmi --xen runs in dom0, with the "
                             "xen-privcmd module loaded)");
        }
        return tvmi_fail(vmi, "opening /dev/xen/privcmd: %s%s", strerror(e),
                         e == EACCES || e == EPERM ? ": need root in dom0" : "");
    }
    x->dc = xencall_alloc_buffer_pages(x->call, 1);
    if (!x->dc)
        return tvmi_fail(vmi, "allocating a hypercall buffer: %s",
                         strerror(errno));
    x->fmem = xenforeignmemory_open(&quiet, 0);
    if (!x->fmem)
        return tvmi_fail(vmi, "opening Xen's foreign memory interface: %s",
                         strerror(errno));
    return VMI_SUCCESS;
}

/* /local/domain/<id>/name for each domain xenstore knows. */
static status_t domid_by_name(vmi_instance_t vmi, const char *name,
                              uint32_t *domid, vmi_init_error_t *err)
{
    struct xs_handle *xs = xs_open(0);
    char **ids;
    unsigned n = 0;
    bool found = false;

    if (!xs)
        return tvmi_fail(vmi, "looking up Xen domain '%s': cannot reach "
                         "xenstore (is xenstored running?): %s", name,
                         strerror(errno));
    ids = xs_directory(xs, XBT_NULL, "/local/domain", &n);
    for (unsigned i = 0; ids && i < n && !found; i++) {
        char path[64], *end;
        unsigned len = 0;
        char *v;
        snprintf(path, sizeof path, "/local/domain/%s/name", ids[i]);
        v = xs_read(xs, XBT_NULL, path, &len);
        if (v && len == strlen(name) && !memcmp(v, name, len)) {
            unsigned long id = strtoul(ids[i], &end, 10);
            found = !*end && id < DOMID_FIRST_RESERVED;
            *domid = (uint32_t)id;
        }
        free(v);
    }
    free(ids);
    xs_close(xs);
    if (!found) {
        *err = VMI_INIT_ERROR_VM_NOT_FOUND;
        return tvmi_fail(vmi, "no Xen domain named '%s'", name);
    }
    return VMI_SUCCESS;
}

static status_t domid_of(vmi_instance_t vmi, const void *domain,
                         uint64_t flags, uint32_t *domid,
                         vmi_init_error_t *err)
{
    if (flags & VMI_INIT_DOMAINID) {
        uint64_t id = *(const uint64_t *)domain;
        if (id >= DOMID_FIRST_RESERVED) {
            *err = VMI_INIT_ERROR_VM_NOT_FOUND;
            return tvmi_fail(vmi, "no Xen domain with id %llu (ids stop at "
                             "%u)", (unsigned long long)id,
                             DOMID_FIRST_RESERVED - 1);
        }
        *domid = (uint32_t)id;
        return VMI_SUCCESS;
    }
    if (!*(const char *)domain) {
        *err = VMI_INIT_ERROR_VM_NOT_FOUND;
        return tvmi_fail(vmi, "no Xen domain name given");
    }
    return domid_by_name(vmi, domain, domid, err);
}

static const char *shutdown_reason(unsigned code)
{
    static const char *const names[] = {
        [SHUTDOWN_poweroff] = "powered off", [SHUTDOWN_reboot] = "rebooting",
        [SHUTDOWN_suspend] = "suspended", [SHUTDOWN_crash] = "crashed",
        [SHUTDOWN_watchdog] = "stopped by its watchdog",
        [SHUTDOWN_soft_reset] = "soft-resetting",
    };
    return code < sizeof names / sizeof *names && names[code] ? names[code]
                                                             : "shut down";
}

static status_t check_alive(vmi_instance_t vmi, struct xen *x,
                            const struct xen_domctl_getdomaininfo *info)
{
    if (info->flags & XEN_DOMINF_dying)
        return tvmi_fail(vmi, "Xen domain %u (%s) is dying", x->domid, x->name);
    if (info->flags & XEN_DOMINF_shutdown)
        return tvmi_fail(vmi, "Xen domain %u (%s) has shut down: %s", x->domid,
                         x->name, shutdown_reason(info->flags >>
                                                  XEN_DOMINF_shutdownshift &
                                                  XEN_DOMINF_shutdownmask));
    if (info->max_vcpu_id == XEN_INVALID_MAX_VCPU_ID)
        return tvmi_fail(vmi, "Xen domain %u (%s) has no vCPUs", x->domid,
                         x->name);
    return VMI_SUCCESS;
}

/* PVH is an HVM container without the emulated PC platform. */
static const char *kind_of(const struct xen_domctl_getdomaininfo *info)
{
    if (!(info->flags & XEN_DOMINF_hvm_guest))
        return "xen-pv";
    return info->arch_config.emulation_flags & XEN_X86_EMU_PIC ? "xen-hvm"
                                                               : "xen-pvh";
}

/* ---- open and close ---------------------------------------------------------- */

static void xen_free(struct xen *x)
{
    xen_unmap_all(x);
    if (x->fmem)
        xenforeignmemory_close(x->fmem);
    if (x->dc)
        xencall_free_buffer_pages(x->call, x->dc, 1);
    if (x->call)
        xencall_close(x->call);
    free(x->ranges);
    free(x->cpu_cache);
    free(x);
}

static status_t open_domain(vmi_instance_t vmi, struct xen *x,
                            const void *domain, uint64_t flags,
                            vmi_init_error_t *err)
{
    struct xen_domctl_getdomaininfo info;
    uint32_t domid = 0;
    int rc;

    if (open_handles(vmi, x, err) || domid_of(vmi, domain, flags, &domid, err))
        return VMI_FAILURE;
    if (flags & VMI_INIT_DOMAINID)
        snprintf(x->name, sizeof x->name, "id %u", domid);
    else
        snprintf(x->name, sizeof x->name, "%s", (const char *)domain);
    rc = xen_probe_domctl(vmi, x, domid, &info);
    if (rc == -ESRCH) {
        *err = VMI_INIT_ERROR_VM_NOT_FOUND;
        return tvmi_fail(vmi, "no Xen domain with id %u", domid);
    }
    if (rc || check_alive(vmi, x, &info) || xen_max_gfn(vmi, x, &x->max_gfn))
        return VMI_FAILURE;
    x->hvm = info.flags & XEN_DOMINF_hvm_guest;
    memcpy(x->handle, info.handle, sizeof(x->handle));
    x->tot_pages = info.tot_pages;
    vmi->drv_name = kind_of(&info);
    vmi->num_vcpus = info.max_vcpu_id + 1;
    vmi->memsize = x->tot_pages << TVMI_PAGE_SHIFT;
    vmi->max_pa = (x->max_gfn + 1) << TVMI_PAGE_SHIFT;
    return VMI_SUCCESS;
}

static status_t xen_open(vmi_instance_t vmi, const void *domain,
                         uint64_t flags, vmi_init_error_t *err)
{
    struct xen *x;

    *err = VMI_INIT_ERROR_DRIVER;
    if (!domain)
        return tvmi_fail(vmi, "no Xen domain given");
    if (!(x = calloc(1, sizeof *x)))
        return tvmi_fail(vmi, "opening a Xen domain: out of memory");
    x->cpu_cached = -1;
    vmi->drv_data = x;
    if (open_domain(vmi, x, domain, flags, err)) {
        vmi->drv_data = NULL;
        vmi->drv_name = NULL;
        xen_free(x);
        return VMI_FAILURE;
    }
    *err = VMI_INIT_ERROR_NONE;
    return VMI_SUCCESS;
}

/* The core has given back every frame by now (its cache is flushed
 * first); a domain still paused by this instance runs again. */
static void xen_close(vmi_instance_t vmi)
{
    if (!vmi->drv_data)
        return;
    xen_release(vmi);
    xen_free(vmi->drv_data);
    vmi->drv_data = NULL;
}

/* UUID and domid: a domain restarted (new domid) or recreated (new UUID)
 * is another target for caches kept between runs. */
static bool xen_identity(vmi_instance_t vmi, char *buf, size_t len)
{
    const struct xen *x = xen_of(vmi);
    const uint8_t *u = x->handle;
    int n = snprintf(buf, len, "xen uuid %02x%02x%02x%02x-%02x%02x-%02x%02x-"
                     "%02x%02x-%02x%02x%02x%02x%02x%02x domid %u",
                     u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
                     u[10], u[11], u[12], u[13], u[14], u[15], x->domid);

    return n > 0 && (size_t)n < len;
}

/* The domain's name now (xl rename changes it), from xenstore as LibVMI
 * reads it; failing that, the name it was opened by. */
static char *xen_get_name(vmi_instance_t vmi)
{
    const struct xen *x = xen_of(vmi);
    struct xs_handle *xs = xs_open(0);
    char path[64], *v = NULL, *name;
    unsigned len = 0;
    int e = ENOENT;

    if (xs) {
        snprintf(path, sizeof path, "/local/domain/%u/name", x->domid);
        v = xs_read(xs, XBT_NULL, path, &len);
        e = errno;
        xs_close(xs);
    } else {
        e = errno;
    }
    if (v) {
        name = strndup(v, len);
        free(v);
    } else if (!(vmi->init_flags & VMI_INIT_DOMAINID)) {
        name = strdup(x->name);
    } else {
        tvmi_fail(vmi, "the name of Xen domain %u: not in xenstore: %s",
                  x->domid, strerror(e));
        return NULL;
    }
    if (!name)
        tvmi_fail(vmi, "the name of Xen domain %u: out of memory", x->domid);
    return name;
}

static uint64_t xen_get_vmid(vmi_instance_t vmi)
{
    return xen_of(vmi)->domid;
}

/* The domain opened, still there and running: not dying, not shut down,
 * not replaced by another under the same id. */
static status_t xen_check_alive(vmi_instance_t vmi)
{
    struct xen *x = xen_of(vmi);
    struct xen_domctl_getdomaininfo info;

    if (xen_domain_info(vmi, x, &info) || check_alive(vmi, x, &info))
        return VMI_FAILURE;
    if (memcmp(info.handle, x->handle, sizeof x->handle))
        return tvmi_fail(vmi, "Xen domain %u is not %s any more: another "
                         "domain has its id", x->domid, x->name);
    return VMI_SUCCESS;
}

const struct tvmi_driver_ops tvmi_driver_xen = {
    .name = "xen",
    .mode = VMI_XEN,
    .flags = TVMI_DRV_LIVE,
    .open = xen_open,
    .close = xen_close,
    .map_frame = xen_map_frame,
    .map_frames = xen_map_frames,
    .unmap_frame = xen_unmap_frame,
    .get_ranges = xen_get_ranges,
    .get_vcpureg = xen_get_vcpureg,
    .set_vcpureg = xen_set_vcpureg,
    .pause = xen_pause,
    .resume = xen_resume,
    .identity = xen_identity,
    .check_alive = xen_check_alive,
    .get_name = xen_get_name,
    .get_vmid = xen_get_vmid,
};
