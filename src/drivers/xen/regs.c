/*
 * vCPU registers. HVM and PVH guests: the CPU record of the HVM context
 * (struct hvm_hw_cpu, part of the save format and so stable), read with
 * gethvmcontext_partial and written by loading that record back, changed. PV guests: getvcpucontext/setvcpucontext; their
 * CR3 is a machine address, which is what their page tables hold too.
 *
 * While this instance holds the domain paused the registers cannot change,
 * so one vCPU's record is kept until the domain runs again or we write.
 */
#include "xen.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct field {
    uint16_t off;
    uint8_t size; /* 0: this kind of guest does not have it */
};

#define HVM(f) { offsetof(struct hvm_hw_cpu, f), \
                 sizeof(((struct hvm_hw_cpu *)0)->f) }
static const struct field hvm_fields[TVMI_REG_COUNT] = {
    [RAX] = HVM(rax), [RBX] = HVM(rbx), [RCX] = HVM(rcx), [RDX] = HVM(rdx),
    [RBP] = HVM(rbp), [RSI] = HVM(rsi), [RDI] = HVM(rdi), [RSP] = HVM(rsp),
    [R8] = HVM(r8), [R9] = HVM(r9), [R10] = HVM(r10), [R11] = HVM(r11),
    [R12] = HVM(r12), [R13] = HVM(r13), [R14] = HVM(r14), [R15] = HVM(r15),
    [RIP] = HVM(rip), [RFLAGS] = HVM(rflags),
    [CR0] = HVM(cr0), [CR2] = HVM(cr2), [CR3] = HVM(cr3), [CR4] = HVM(cr4),
    [MSR_EFER] = HVM(msr_efer), [FS_BASE] = HVM(fs_base),
    [GS_BASE] = HVM(gs_base), [SHADOW_GS] = HVM(shadow_gs),
    [CS_SEL] = HVM(cs_sel), [DS_SEL] = HVM(ds_sel), [ES_SEL] = HVM(es_sel),
    [FS_SEL] = HVM(fs_sel), [GS_SEL] = HVM(gs_sel), [SS_SEL] = HVM(ss_sel),
};

/* A 64-bit PV kernel runs with gs_base_kernel loaded; the user's base is
 * the one swapgs would bring in. */
#define PV(f) { offsetof(vcpu_guest_context_t, f), \
                sizeof(((vcpu_guest_context_t *)0)->f) }
static const struct field pv_fields[TVMI_REG_COUNT] = {
    [RAX] = PV(user_regs.rax), [RBX] = PV(user_regs.rbx),
    [RCX] = PV(user_regs.rcx), [RDX] = PV(user_regs.rdx),
    [RBP] = PV(user_regs.rbp), [RSI] = PV(user_regs.rsi),
    [RDI] = PV(user_regs.rdi), [RSP] = PV(user_regs.rsp),
    [R8] = PV(user_regs.r8), [R9] = PV(user_regs.r9),
    [R10] = PV(user_regs.r10), [R11] = PV(user_regs.r11),
    [R12] = PV(user_regs.r12), [R13] = PV(user_regs.r13),
    [R14] = PV(user_regs.r14), [R15] = PV(user_regs.r15),
    [RIP] = PV(user_regs.rip), [RFLAGS] = PV(user_regs.rflags),
    [CR0] = PV(ctrlreg[0]), [CR2] = PV(ctrlreg[2]), [CR3] = PV(ctrlreg[3]),
    [CR4] = PV(ctrlreg[4]), [FS_BASE] = PV(fs_base),
    [GS_BASE] = PV(gs_base_kernel), [SHADOW_GS] = PV(gs_base_user),
    [CS_SEL] = PV(user_regs.cs), [DS_SEL] = PV(user_regs.ds),
    [ES_SEL] = PV(user_regs.es), [FS_SEL] = PV(user_regs.fs),
    [GS_SEL] = PV(user_regs.gs), [SS_SEL] = PV(user_regs.ss),
};

static size_t context_size(const struct xen *x)
{
    return x->hvm ? sizeof(struct hvm_hw_cpu) : sizeof(vcpu_guest_context_t);
}

static const struct field *field_of(vmi_instance_t vmi, struct xen *x,
                                    reg_t reg)
{
    const struct field *f;

    if (reg >= TVMI_REG_COUNT) {
        tvmi_fail(vmi, "register %llu does not exist", (unsigned long long)reg);
        return NULL;
    }
    f = x->hvm ? &hvm_fields[reg] : &pv_fields[reg];
    if (!f->size) {
        tvmi_fail(vmi, "register %s: Xen does not give it for %s guests",
                  tvmi_reg_name(reg), x->hvm ? "HVM/PVH" : "PV");
        return NULL;
    }
    return f;
}

static uint64_t load(const unsigned char *ctx, const struct field *f)
{
    uint64_t v = 0;

    memcpy(&v, ctx + f->off, f->size); /* little-endian host and guest */
    return v;
}

static void store(unsigned char *ctx, const struct field *f, uint64_t v)
{
    memcpy(ctx + f->off, &v, f->size);
}

/* One vCPU's context into buf (a hypercall buffer of context_size). */
static int fetch(vmi_instance_t vmi, struct xen *x, unsigned long vcpu,
                 void *buf)
{
    struct xen_domctl d = { .domain = (domid_t)x->domid };

    if (x->hvm) {
        d.cmd = XEN_DOMCTL_gethvmcontext_partial;
        d.u.hvmcontext_partial.type = HVM_SAVE_CODE(CPU);
        d.u.hvmcontext_partial.instance = (uint32_t)vcpu;
        d.u.hvmcontext_partial.bufsz = sizeof(struct hvm_hw_cpu);
        set_xen_guest_handle(d.u.hvmcontext_partial.buffer, (uint8_t *)buf);
    } else {
        d.cmd = XEN_DOMCTL_getvcpucontext;
        d.u.vcpucontext.vcpu = (uint32_t)vcpu;
        set_xen_guest_handle(d.u.vcpucontext.ctxt, (vcpu_guest_context_t *)buf);
    }
    return xen_domctl(vmi, x, &d, "reading the vCPU registers");
}

void xen_forget_registers(struct xen *x)
{
    x->cpu_cached = -1;
}

status_t xen_get_vcpureg(vmi_instance_t vmi, uint64_t *value, reg_t reg,
                         unsigned long vcpu)
{
    struct xen *x = xen_of(vmi);
    const struct field *f = field_of(vmi, x, reg);
    size_t size = context_size(x);
    void *buf;

    if (!f)
        return VMI_FAILURE;
    if (x->pauses && x->cpu_cache && x->cpu_cached == (long)vcpu) {
        *value = load(x->cpu_cache, f);
        return VMI_SUCCESS;
    }
    if (!(buf = xencall_alloc_buffer(x->call, size)))
        return tvmi_fail(vmi, "reading the vCPU registers: no hypercall "
                         "buffer: %s", strerror(errno));
    if (fetch(vmi, x, vcpu, buf)) {
        xencall_free_buffer(x->call, buf);
        return VMI_FAILURE;
    }
    *value = load(buf, f);
    if (x->pauses && (x->cpu_cache || (x->cpu_cache = malloc(size)))) {
        memcpy(x->cpu_cache, buf, size);
        x->cpu_cached = (long)vcpu;
    }
    xencall_free_buffer(x->call, buf);
    return VMI_SUCCESS;
}

/* ---- writing ------------------------------------------------------------------ */

/* The record of type code for instance in a whole HVM context (pointing
 * at its descriptor), or NULL. */
static struct hvm_save_descriptor *record(unsigned char *ctx, uint32_t len,
                                          unsigned code, unsigned long instance)
{
    uint32_t off = 0;

    while (len - off >= sizeof(struct hvm_save_descriptor)) {
        struct hvm_save_descriptor *h = (void *)(ctx + off);
        if (h->length > len - off - sizeof *h || h->typecode == HVM_SAVE_CODE(END))
            return NULL;
        if (h->typecode == code && h->instance == instance)
            return h;
        off += sizeof *h + h->length;
    }
    return NULL;
}

/* Xen loads HVM registers only from a context: the header and this vCPU's
 * CPU record, changed, its XSAVE record, then the end marker. Loading just
 * those leaves the other vCPUs and the emulated devices (timers...) as they
 * are. The XSAVE record must follow: loading a CPU record resets the
 * vCPU's extended FPU state (AVX and up) to FP/SSE only, and the guest
 * would lose whatever its registers held. */
static int hvm_load_cpu(vmi_instance_t vmi, struct xen *x, unsigned char *ctx,
                        uint32_t len, const struct field *f, uint64_t value,
                        unsigned long vcpu)
{
    struct hvm_save_descriptor *hdr = record(ctx, len, HVM_SAVE_CODE(HEADER), 0);
    struct hvm_save_descriptor *cpu = record(ctx, len, HVM_SAVE_CODE(CPU), vcpu);
    struct hvm_save_descriptor *xs = record(ctx, len, CPU_XSAVE_CODE, vcpu);
    struct xen_domctl d = { .cmd = XEN_DOMCTL_sethvmcontext,
                            .domain = (domid_t)x->domid };
    uint32_t hlen, clen, xlen;
    unsigned char *out;
    int rc;

    if (!hdr || !cpu || cpu->length < sizeof(struct hvm_hw_cpu)) {
        tvmi_fail(vmi, "writing a register: the HVM context of domain %u has "
                  "no %s record", x->domid, hdr ? "CPU" : "header");
        return -ENOENT;
    }
    hlen = sizeof *hdr + hdr->length;
    clen = sizeof *cpu + cpu->length;
    xlen = xs ? sizeof *xs + xs->length : 0;
    if (!(out = xencall_alloc_buffer(x->call, hlen + clen + xlen + sizeof *hdr))) {
        tvmi_fail(vmi, "writing a register: no hypercall buffer");
        return -ENOMEM;
    }
    memcpy(out, hdr, hlen);
    memcpy(out + hlen, cpu, clen);
    store(out + hlen + sizeof *cpu, f, value);
    if (xs)
        memcpy(out + hlen + clen, xs, xlen);
    memset(out + hlen + clen + xlen, 0, sizeof *hdr); /* END: code 0, length 0 */
    d.u.hvmcontext.size = hlen + clen + xlen + (uint32_t)sizeof *hdr;
    set_xen_guest_handle(d.u.hvmcontext.buffer, out);
    rc = xen_domctl(vmi, x, &d, "loading the HVM context");
    xencall_free_buffer(x->call, out);
    return rc;
}

static int hvm_write(vmi_instance_t vmi, struct xen *x, const struct field *f,
                     uint64_t value, unsigned long vcpu)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_gethvmcontext,
                            .domain = (domid_t)x->domid };
    unsigned char *ctx;
    uint32_t size;
    int rc;

    if ((rc = xen_domctl(vmi, x, &d, "sizing the HVM context")))
        return rc;
    size = d.u.hvmcontext.size;
    if (!(ctx = xencall_alloc_buffer(x->call, size))) {
        tvmi_fail(vmi, "writing a register: no hypercall buffer of %u bytes",
                  size);
        return -ENOMEM;
    }
    set_xen_guest_handle(d.u.hvmcontext.buffer, ctx);
    rc = xen_domctl(vmi, x, &d, "reading the HVM context");
    if (!rc)
        rc = hvm_load_cpu(vmi, x, ctx, d.u.hvmcontext.size, f, value, vcpu);
    xencall_free_buffer(x->call, ctx);
    return rc;
}

static int pv_write(vmi_instance_t vmi, struct xen *x, const struct field *f,
                    uint64_t value, unsigned long vcpu)
{
    vcpu_guest_context_t *ctx = xencall_alloc_buffer(x->call, sizeof *ctx);
    struct xen_domctl d = { .cmd = XEN_DOMCTL_setvcpucontext,
                            .domain = (domid_t)x->domid };
    int rc;

    if (!ctx) {
        tvmi_fail(vmi, "writing a register: no hypercall buffer");
        return -ENOMEM;
    }
    rc = fetch(vmi, x, vcpu, ctx);
    if (!rc) {
        store((unsigned char *)ctx, f, value);
        d.u.vcpucontext.vcpu = (uint32_t)vcpu;
        set_xen_guest_handle(d.u.vcpucontext.ctxt, ctx);
        rc = xen_domctl(vmi, x, &d, "writing the vCPU registers");
    }
    xencall_free_buffer(x->call, ctx);
    return rc;
}

/* The domain stays paused between reading the context and loading it
 * back, or the vCPU would lose whatever it did in between. */
status_t xen_set_vcpureg(vmi_instance_t vmi, uint64_t value, reg_t reg,
                         unsigned long vcpu)
{
    struct xen *x = xen_of(vmi);
    const struct field *f = field_of(vmi, x, reg);
    int rc;

    if (!f)
        return VMI_FAILURE;
    if (f->size < 8 && value >> (8 * f->size))
        return tvmi_fail(vmi, "writing %s: 0x%llx does not fit in %u bytes",
                         tvmi_reg_name(reg), (unsigned long long)value, f->size);
    if (xen_pause(vmi))
        return VMI_FAILURE;
    xen_forget_registers(x);
    rc = x->hvm ? hvm_write(vmi, x, f, value, vcpu)
                : pv_write(vmi, x, f, value, vcpu);
    if (xen_resume(vmi) || rc)
        return VMI_FAILURE;
    return VMI_SUCCESS;
}
