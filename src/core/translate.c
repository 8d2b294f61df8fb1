/*
 * Virtual-to-physical translation on top of the arch walkers, with the v2p
 * cache in front, and the address-space choice (kernel, pid, dtb).
 */
#include "private.h"

status_t tvmi_translate(vmi_instance_t vmi, page_mode_t pm, addr_t dtb,
                        addr_t va, addr_t *pa)
{
    page_info_t info;
    bool cacheable = pm == vmi->page_mode;

    if (cacheable && tvmi_v2p_lookup(vmi, dtb, va, pa))
        return VMI_SUCCESS;
    if (tvmi_x86_walk(vmi, pm, dtb, va, &info) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (cacheable)
        vmi_v2pcache_add(vmi, va, dtb, info.paddr);
    *pa = info.paddr;
    return VMI_SUCCESS;
}

static status_t need_kernel_paging(vmi_instance_t vmi)
{
    if (vmi->page_mode == VMI_PM_UNKNOWN)
        return tvmi_fail(vmi, "the paging mode is unknown (no registers in "
                              "this source and no OS layer found it): give a "
                              "page-table root and mode");
    if (!vmi->kdtb && vmi->page_mode != VMI_PM_NONE)
        return tvmi_fail(vmi, "the kernel page-table root is unknown");
    return VMI_SUCCESS;
}

status_t vmi_translate_kv2p(vmi_instance_t vmi, addr_t vaddr, addr_t *paddr)
{
    if (!vmi || !paddr)
        return VMI_FAILURE;
    if (need_kernel_paging(vmi) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "translating kernel VA 0x%llx",
                             (unsigned long long)vaddr);
    return tvmi_translate(vmi, vmi->page_mode, vmi->kdtb, vaddr, paddr);
}

status_t vmi_pid_to_dtb(vmi_instance_t vmi, vmi_pid_t pid, addr_t *dtb)
{
    if (!vmi || !dtb)
        return VMI_FAILURE;
    if (pid == 0) {
        if (need_kernel_paging(vmi) != VMI_SUCCESS)
            return VMI_FAILURE;
        *dtb = vmi->kdtb;
        return VMI_SUCCESS;
    }
    if (!vmi->os_ops)
        return tvmi_fail(vmi, "finding the page tables of pid %d: no OS layer "
                              "is initialised (use vmi_init_complete)", (int)pid);
    if (!vmi->os_ops->pid_to_dtb)
        return tvmi_fail(vmi, "finding the page tables of pid %d: the %s layer "
                              "cannot list processes yet", (int)pid,
                         vmi->os_ops->name);
    return vmi->os_ops->pid_to_dtb(vmi, pid, dtb);
}

status_t vmi_dtb_to_pid(vmi_instance_t vmi, addr_t dtb, vmi_pid_t *pid)
{
    if (!vmi || !pid)
        return VMI_FAILURE;
    if (!vmi->os_ops || !vmi->os_ops->dtb_to_pid)
        return tvmi_fail(vmi, "finding the process of dtb 0x%llx: no OS layer "
                              "that lists processes is initialised",
                         (unsigned long long)dtb);
    return vmi->os_ops->dtb_to_pid(vmi, dtb, pid);
}

status_t vmi_translate_uv2p(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid,
                            addr_t *paddr)
{
    addr_t dtb;

    if (!vmi || !paddr)
        return VMI_FAILURE;
    if (vmi_pid_to_dtb(vmi, pid, &dtb) != VMI_SUCCESS)
        return VMI_FAILURE;
    return tvmi_translate(vmi, vmi->page_mode, dtb, vaddr, paddr);
}

status_t vmi_pagetable_lookup(vmi_instance_t vmi, addr_t dtb, addr_t vaddr,
                              addr_t *paddr)
{
    if (!vmi || !paddr)
        return VMI_FAILURE;
    if (vmi->page_mode == VMI_PM_UNKNOWN)
        return need_kernel_paging(vmi);
    return tvmi_translate(vmi, vmi->page_mode, dtb, vaddr, paddr);
}

status_t tvmi_pagetable_lookup_mode(vmi_instance_t vmi, page_mode_t pm,
                                    addr_t dtb, addr_t vaddr, page_info_t *info)
{
    if (!vmi || !info)
        return VMI_FAILURE;
    return tvmi_x86_walk(vmi, pm, dtb, vaddr, info);
}

status_t vmi_pagetable_lookup_extended(vmi_instance_t vmi, addr_t dtb,
                                       addr_t vaddr, page_info_t *info)
{
    if (!vmi || !info)
        return VMI_FAILURE;
    if (vmi->page_mode == VMI_PM_UNKNOWN)
        return need_kernel_paging(vmi);
    return tvmi_x86_walk(vmi, vmi->page_mode, dtb, vaddr, info);
}
