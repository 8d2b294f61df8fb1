/*
 * Facts about the target, registers and run control: thin checks in front
 * of the driver, so a missing capability is a clear message, not a crash.
 */
#include "private.h"

vmi_mode_t vmi_get_access_mode(vmi_instance_t vmi) { return vmi ? vmi->mode : VMI_FILE; }
uint64_t vmi_get_memsize(vmi_instance_t vmi) { return vmi ? vmi->memsize : 0; }
addr_t vmi_get_max_physical_address(vmi_instance_t vmi) { return vmi ? vmi->max_pa : 0; }
unsigned int vmi_get_num_vcpus(vmi_instance_t vmi) { return vmi ? vmi->num_vcpus : 0; }
os_t vmi_get_ostype(vmi_instance_t vmi) { return vmi ? vmi->os : VMI_OS_UNKNOWN; }
addr_t tvmi_get_kernel_dtb(vmi_instance_t vmi) { return vmi ? vmi->kdtb : 0; }

const char *tvmi_get_driver_name(vmi_instance_t vmi)
{
    return vmi ? vmi->drv_name : "none";
}

status_t tvmi_get_target_identity(vmi_instance_t vmi, char *buf, size_t len)
{
    if (!vmi || !buf || !len)
        return VMI_FAILURE;
    buf[0] = '\0';
    if (!vmi->drv->identity)
        return tvmi_fail(vmi, "%s cannot name its target", vmi->drv_name);
    if (!vmi->drv->identity(vmi, buf, len)) {
        buf[0] = '\0';
        return tvmi_fail(vmi, "%s: the target's identity is not known",
                         vmi->drv_name);
    }
    return VMI_SUCCESS;
}

char *vmi_get_name(vmi_instance_t vmi)
{
    if (!vmi)
        return NULL;
    if (!vmi->drv->get_name) {
        tvmi_fail(vmi, "getting the target's name: %s cannot tell",
                  vmi->drv_name);
        return NULL;
    }
    return vmi->drv->get_name(vmi);
}

uint64_t vmi_get_vmid(vmi_instance_t vmi)
{
    if (!vmi || !vmi->drv->get_vmid)
        return VMI_INVALID_DOMID;
    return vmi->drv->get_vmid(vmi);
}

status_t tvmi_target_check(vmi_instance_t vmi)
{
    if (!vmi)
        return VMI_FAILURE;
    if (!vmi->drv->check_alive || vmi->drv->check_alive(vmi) == VMI_SUCCESS)
        return VMI_SUCCESS;
    if (vmi->pcache)
        vmi_pagecache_flush(vmi);
    vmi_v2pcache_flush(vmi, ~0ull);
    return VMI_FAILURE;
}

page_mode_t vmi_get_page_mode(vmi_instance_t vmi, unsigned long vcpu)
{
    (void)vcpu;
    return vmi ? vmi->page_mode : VMI_PM_UNKNOWN;
}

uint8_t vmi_get_address_width(vmi_instance_t vmi)
{
    if (!vmi)
        return 0;
    switch (vmi->page_mode) {
    case VMI_PM_LEGACY:
    case VMI_PM_PAE:
        return 4;
    default:
        return 8;
    }
}

status_t tvmi_set_kernel_dtb(vmi_instance_t vmi, addr_t dtb, page_mode_t pm)
{
    if (!vmi)
        return VMI_FAILURE;
    if (pm == VMI_PM_UNKNOWN)
        return tvmi_fail(vmi, "setting the kernel page-table root: the paging "
                              "mode must be known");
    vmi->kdtb = dtb;
    vmi->page_mode = pm;
    vmi_v2pcache_flush(vmi, ~0ull);
    return VMI_SUCCESS;
}

/* For messages: "CR3". */
const char *tvmi_reg_name(reg_t reg)
{
    static const char *const names[TVMI_REG_COUNT] = {
        [RAX] = "RAX", [RBX] = "RBX", [RCX] = "RCX", [RDX] = "RDX",
        [RBP] = "RBP", [RSI] = "RSI", [RDI] = "RDI", [RSP] = "RSP",
        [R8] = "R8", [R9] = "R9", [R10] = "R10", [R11] = "R11",
        [R12] = "R12", [R13] = "R13", [R14] = "R14", [R15] = "R15",
        [RIP] = "RIP", [RFLAGS] = "RFLAGS", [CR0] = "CR0", [CR2] = "CR2",
        [CR3] = "CR3", [CR4] = "CR4", [XCR0] = "XCR0", [MSR_EFER] = "MSR_EFER",
        [FS_BASE] = "FS_BASE", [GS_BASE] = "GS_BASE", [SHADOW_GS] = "SHADOW_GS",
        [CS_SEL] = "CS_SEL", [DS_SEL] = "DS_SEL", [ES_SEL] = "ES_SEL",
        [FS_SEL] = "FS_SEL", [GS_SEL] = "GS_SEL", [SS_SEL] = "SS_SEL",
    };

    return reg < TVMI_REG_COUNT && names[reg] ? names[reg] : "an unknown register";
}

status_t vmi_get_vcpureg(vmi_instance_t vmi, uint64_t *value, reg_t reg,
                         unsigned long vcpu)
{
    if (!vmi || !value)
        return VMI_FAILURE;
    if (vcpu >= vmi->num_vcpus)
        return tvmi_fail(vmi, "reading a register of vCPU %lu: the target has "
                              "%u vCPUs", vcpu, vmi->num_vcpus);
    if (!vmi->drv->get_vcpureg)
        return tvmi_fail(vmi, "reading a register: %s has no vCPU registers",
                         vmi->drv_name);
    return vmi->drv->get_vcpureg(vmi, value, reg, vcpu);
}

status_t vmi_set_vcpureg(vmi_instance_t vmi, uint64_t value, reg_t reg,
                         unsigned long vcpu)
{
    if (!vmi)
        return VMI_FAILURE;
    if (vcpu >= vmi->num_vcpus)
        return tvmi_fail(vmi, "writing a register of vCPU %lu: the target has "
                              "%u vCPUs", vcpu, vmi->num_vcpus);
    if (!vmi->drv->set_vcpureg)
        return tvmi_fail(vmi, "writing a register: %s cannot set vCPU registers",
                         vmi->drv_name);
    return vmi->drv->set_vcpureg(vmi, value, reg, vcpu);
}

status_t vmi_pause_vm(vmi_instance_t vmi)
{
    if (!vmi)
        return VMI_FAILURE;
    if (!vmi->drv->pause)
        return tvmi_fail(vmi, "pausing: %s cannot pause its target",
                         vmi->drv_name);
    return vmi->drv->pause(vmi);
}

status_t vmi_resume_vm(vmi_instance_t vmi)
{
    if (!vmi)
        return VMI_FAILURE;
    if (!vmi->drv->resume)
        return tvmi_fail(vmi, "resuming: %s cannot resume its target",
                         vmi->drv_name);
    return vmi->drv->resume(vmi);
}

/* Reads that must be complete: the page walkers and OS parsers use these. */
status_t tvmi_read_phys(vmi_instance_t vmi, addr_t pa, void *buf, size_t len)
{
    return vmi_read_pa(vmi, pa, len, buf, NULL);
}

status_t tvmi_read_phys_u64(vmi_instance_t vmi, addr_t pa, uint64_t *v)
{
    const uint8_t *frame;

    if ((pa & 7) == 0) { /* aligned: never crosses a frame */
        frame = tvmi_frame(vmi, tvmi_gfn(pa), false);
        if (!frame)
            return tvmi_fail_ctx(vmi, "reading 8 bytes at PA 0x%llx",
                                 (unsigned long long)pa);
        memcpy(v, frame + tvmi_page_off(pa), 8);
        return VMI_SUCCESS;
    }
    return vmi_read_pa(vmi, pa, 8, v, NULL);
}

status_t tvmi_read_phys_u32(vmi_instance_t vmi, addr_t pa, uint32_t *v)
{
    return vmi_read_pa(vmi, pa, 4, v, NULL);
}

size_t tvmi_get_memory_ranges(vmi_instance_t vmi, addr_t *start, addr_t *end,
                              size_t max)
{
    struct tvmi_mem_range *r;
    size_t n;

    if (!vmi)
        return 0;
    if (!vmi->drv->get_ranges) {
        if (max) {
            start[0] = 0;
            end[0] = vmi->max_pa;
        }
        return 1;
    }
    n = vmi->drv->get_ranges(vmi, NULL, 0);
    r = n ? calloc(n, sizeof *r) : NULL;
    if (!r)
        return 0;
    n = vmi->drv->get_ranges(vmi, r, n);
    for (size_t i = 0; i < n && i < max; i++) {
        start[i] = r[i].start;
        end[i] = r[i].end;
    }
    free(r);
    return n;
}
