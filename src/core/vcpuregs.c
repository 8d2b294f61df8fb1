/*
 * All of a vCPU's registers at once (vmi_get_vcpuregs, vmi_set_vcpuregs),
 * built on the drivers' one-register calls: every driver with registers
 * gets them without code of its own.
 */
#include "private.h"

/* Where each register lives in x86_registers_t. */
struct x86_slot {
    reg_t reg;
    uint16_t off;
    uint8_t size; /* 4 or 8 */
};

#define SLOT(r, m) { r, offsetof(x86_registers_t, m), \
                     sizeof(((x86_registers_t *)0)->m) }
static const struct x86_slot x86_slots[] = {
    SLOT(RAX, rax), SLOT(RCX, rcx), SLOT(RDX, rdx), SLOT(RBX, rbx),
    SLOT(RSP, rsp), SLOT(RBP, rbp), SLOT(RSI, rsi), SLOT(RDI, rdi),
    SLOT(R8, r8), SLOT(R9, r9), SLOT(R10, r10), SLOT(R11, r11),
    SLOT(R12, r12), SLOT(R13, r13), SLOT(R14, r14), SLOT(R15, r15),
    SLOT(RFLAGS, rflags), SLOT(RIP, rip),
    SLOT(CR0, cr0), SLOT(CR2, cr2), SLOT(CR3, cr3), SLOT(CR4, cr4),
    SLOT(MSR_EFER, msr_efer), SLOT(FS_BASE, fs_base),
    SLOT(GS_BASE, gs_base), SLOT(SHADOW_GS, shadow_gs),
    SLOT(CS_SEL, cs_sel), SLOT(DS_SEL, ds_sel), SLOT(ES_SEL, es_sel),
    SLOT(FS_SEL, fs_sel), SLOT(GS_SEL, gs_sel), SLOT(SS_SEL, ss_sel),
};
#define NSLOTS (sizeof(x86_slots) / sizeof(x86_slots[0]))

/* One bit per slot says which registers the target gave. */
_Static_assert(NSLOTS <= 64, "the register mask is a uint64_t");

static uint64_t slot_load(const x86_registers_t *x, const struct x86_slot *s)
{
    const unsigned char *p = (const unsigned char *)x + s->off;
    uint32_t v32;
    uint64_t v64;

    if (s->size == 4) {
        memcpy(&v32, p, 4);
        return v32;
    }
    memcpy(&v64, p, 8);
    return v64;
}

/* Selectors are 16 bits, so a 4-byte member always holds them. */
static void slot_store(x86_registers_t *x, const struct x86_slot *s,
                       uint64_t v)
{
    unsigned char *p = (unsigned char *)x + s->off;
    uint32_t v32 = (uint32_t)v;

    if (s->size == 4)
        memcpy(p, &v32, 4);
    else
        memcpy(p, &v, 8);
}

/* A running target's registers change under us: held still, the set is
 * of one moment (and Xen fetches the vCPU's record once, not per
 * register). Static targets have no pause. */
static status_t hold(vmi_instance_t vmi)
{
    return vmi->drv->pause ? vmi_pause_vm(vmi) : VMI_SUCCESS;
}

static status_t release(vmi_instance_t vmi)
{
    return vmi->drv->pause ? vmi_resume_vm(vmi) : VMI_SUCCESS;
}

static status_t check_vcpu(vmi_instance_t vmi, unsigned long vcpu,
                           const char *doing)
{
    if (vcpu >= vmi->num_vcpus)
        return tvmi_fail(vmi, "%s the registers of vCPU %lu: the target has "
                         "%u vCPUs", doing, vcpu, vmi->num_vcpus);
    return VMI_SUCCESS;
}

/* Every register the target gives into x (the others 0), their slots'
 * bits in *have. Fails, with the first register's reason, when it gives
 * none: the target has no registers at all. */
static status_t read_all(vmi_instance_t vmi, x86_registers_t *x,
                         unsigned long vcpu, uint64_t *have)
{
    char first[TVMI_ERR_MAX] = "";

    memset(x, 0, sizeof(*x));
    *have = 0;
    for (size_t i = 0; i < NSLOTS; i++) {
        uint64_t v;
        if (vmi_get_vcpureg(vmi, &v, x86_slots[i].reg, vcpu) == VMI_SUCCESS) {
            slot_store(x, &x86_slots[i], v);
            *have |= 1ull << i;
        } else if (!first[0]) {
            memcpy(first, vmi->err, sizeof(first));
        }
    }
    if (*have)
        return VMI_SUCCESS;
    memcpy(vmi->err, first, sizeof(first));
    return tvmi_fail_ctx(vmi, "reading the registers of vCPU %lu", vcpu);
}

status_t vmi_get_vcpuregs(vmi_instance_t vmi, registers_t *regs,
                          unsigned long vcpu)
{
    uint64_t have;
    status_t rc;

    if (!vmi || !regs)
        return VMI_FAILURE;
    if (check_vcpu(vmi, vcpu, "reading"))
        return VMI_FAILURE;
    if (!vmi->drv->get_vcpureg)
        return tvmi_fail(vmi, "reading the registers of vCPU %lu: %s has no "
                         "vCPU registers", vcpu, vmi->drv_name);
    if (hold(vmi))
        return tvmi_fail_ctx(vmi, "reading the registers of vCPU %lu", vcpu);
    rc = read_all(vmi, &regs->x86, vcpu, &have);
    if (release(vmi) && rc == VMI_SUCCESS)
        rc = VMI_FAILURE; /* the target is left paused: say so */
    return rc;
}

/* Writes only what differs: each write reloads the vCPU's state (two
 * hypercalls on Xen), and a register the target does not give cannot be
 * compared, so it is written only when the caller asks for a value. */
static status_t write_changed(vmi_instance_t vmi, const x86_registers_t *want,
                              unsigned long vcpu)
{
    x86_registers_t now;
    uint64_t have;

    if (read_all(vmi, &now, vcpu, &have))
        return VMI_FAILURE;
    for (size_t i = 0; i < NSLOTS; i++) {
        const struct x86_slot *s = &x86_slots[i];
        uint64_t v = slot_load(want, s);
        if (have >> i & 1 ? v == slot_load(&now, s) : v == 0)
            continue;
        if (vmi_set_vcpureg(vmi, v, s->reg, vcpu))
            return tvmi_fail_ctx(vmi, "writing the registers of vCPU %lu",
                                 vcpu);
    }
    return VMI_SUCCESS;
}

status_t vmi_set_vcpuregs(vmi_instance_t vmi, registers_t *regs,
                          unsigned long vcpu)
{
    status_t rc;

    if (!vmi || !regs)
        return VMI_FAILURE;
    if (check_vcpu(vmi, vcpu, "writing"))
        return VMI_FAILURE;
    /* Before comparing: a read-only target must refuse even when nothing
     * would change. */
    if (!vmi->drv->set_vcpureg)
        return tvmi_fail(vmi, "writing the registers of vCPU %lu: %s cannot "
                         "set vCPU registers", vcpu, vmi->drv_name);
    if (hold(vmi))
        return tvmi_fail_ctx(vmi, "writing the registers of vCPU %lu", vcpu);
    rc = write_changed(vmi, &regs->x86, vcpu);
    if (release(vmi) && rc == VMI_SUCCESS)
        rc = VMI_FAILURE;
    return rc;
}
