/*
 * Opening the target the global options name, and choosing the page tables
 * for virtual addresses.
 */
#include <string.h>

#include "cli.h"

const char *target_name(const struct global *g)
{
    return g->file ? g->file : g->xen;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* The library decides whether Xen is available: without the driver built
 * in, vmi_init says so and that is what the user sees. */
static int open_xen(const char *dom, uint64_t flags, vmi_instance_t *vmi)
{
    uint64_t domid = 0;
    const void *domain = dom;

    if (all_digits(dom)) {
        for (const char *s = dom; *s; s++)
            domid = domid * 10 + (uint64_t)(*s - '0');
        domain = &domid;
        flags |= VMI_INIT_DOMAINID;
    } else {
        flags |= VMI_INIT_DOMAINNAME;
    }
    if (vmi_init(vmi, VMI_XEN, domain, flags, NULL, NULL) != VMI_SUCCESS)
        return fail("opening Xen domain %s: %s", dom,
                    tvmi_init_error_message());
    return EXIT_OK;
}

int target_pause(const struct global *g, vmi_instance_t *vmi)
{
    if (!g->pause || vmi_pause_vm(*vmi) == VMI_SUCCESS)
        return EXIT_OK;
    fail("pausing Xen domain %s: %s", g->xen, tvmi_last_error(*vmi));
    vmi_destroy(*vmi);
    *vmi = NULL;
    return EXIT_TARGET;
}

int target_open(const struct global *g, const char *cmd, vmi_instance_t *vmi)
{
    uint64_t flags = g->write ? TVMI_INIT_WRITE : 0;

    *vmi = NULL;
    if (g->file && g->xen)
        return usage_error(cmd, "--file and --xen cannot be used together");
    if (g->xen) {
        /* 19 digits always fit in 64 bits; no domid needs more */
        if (strlen(g->xen) > 19 && all_digits(g->xen))
            return usage_error(cmd, "bad domain id '%s': too large", g->xen);
        int rc = open_xen(g->xen, flags, vmi);
        return rc == EXIT_OK ? target_pause(g, vmi) : rc;
    }
    if (!g->file)
        return usage_error(cmd, "no target: give --file PATH "
                                "(or --xen DOMAIN)");
    if (vmi_init(vmi, VMI_FILE, g->file, flags | VMI_INIT_DOMAINNAME, NULL,
                 NULL) != VMI_SUCCESS) {
        *vmi = NULL;
        return fail("opening snapshot: %s", tvmi_init_error_message());
    }
    return EXIT_OK;
}

int paging_args(const char *cmd, const char *dtb, const char *mode,
                struct paging *p)
{
    int rc = EXIT_OK;

    memset(p, 0, sizeof(*p));
    p->pm = VMI_PM_UNKNOWN;
    if (dtb) {
        p->have_dtb = true;
        rc = arg_u64(cmd, "page-table root", dtb, &p->dtb);
    }
    if (rc == EXIT_OK && mode) {
        p->have_mode = true;
        rc = arg_page_mode(cmd, mode, &p->pm);
    }
    return rc;
}

int paging_resolve(vmi_instance_t vmi, const char *cmd, struct paging *p)
{
    if (!p->have_mode)
        p->pm = vmi_get_page_mode(vmi, 0);
    if (!p->have_dtb)
        p->dtb = tvmi_get_kernel_dtb(vmi);
    if (p->pm == VMI_PM_UNKNOWN)
        return usage_error(cmd, "the paging mode of %s is unknown (no vCPU "
                                "control registers): --dtb ROOT and --mode "
                                "MODE are required", tvmi_get_driver_name(vmi));
    if (p->pm != VMI_PM_NONE && !p->have_dtb && !p->dtb)
        return usage_error(cmd, "the kernel page-table root of %s is unknown: "
                                "--dtb ROOT is required",
                           tvmi_get_driver_name(vmi));
    return EXIT_OK;
}
