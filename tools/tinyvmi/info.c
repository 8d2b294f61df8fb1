/*
 * tinyvmi info: what the target is and what the library learnt about it.
 */
#include <stdio.h>

#include "cli.h"
#include "output.h"

static const struct {
    int reg;
    const char *key;   /* JSON */
    const char *label; /* text */
} shown_regs[] = {
    { RIP, "rip", "RIP" },       { RSP, "rsp", "RSP" },
    { CR0, "cr0", "CR0" },       { CR2, "cr2", "CR2" },
    { CR3, "cr3", "CR3" },       { CR4, "cr4", "CR4" },
    { MSR_EFER, "efer", "EFER" }, { RAX, "rax", "RAX" },
    { RBX, "rbx", "RBX" },       { RCX, "rcx", "RCX" },
    { RDX, "rdx", "RDX" },       { RSI, "rsi", "RSI" },
    { RDI, "rdi", "RDI" },       { RBP, "rbp", "RBP" },
    { R8, "r8", "R8" },          { R9, "r9", "R9" },
    { R10, "r10", "R10" },       { R11, "r11", "R11" },
    { R12, "r12", "R12" },       { R13, "r13", "R13" },
    { R14, "r14", "R14" },       { R15, "r15", "R15" },
    { RFLAGS, "rflags", "RFLAGS" },
};
#define NSHOWN (sizeof(shown_regs) / sizeof(shown_regs[0]))

/* One vCPU: only the registers the target has; "none" and the library's
 * reason when it has none at all. */
static void show_vcpu(vmi_instance_t vmi, unsigned long vcpu)
{
    char title[32];
    unsigned found = 0;

    snprintf(title, sizeof(title), "vCPU %lu", vcpu);
    out_section(NULL, title);
    out_num("vcpu", NULL, vcpu);
    if (out_json)
        json_begin_object("registers");
    for (size_t i = 0; i < NSHOWN; i++) {
        reg_t reg = (reg_t)shown_regs[i].reg;
        uint64_t v;

        if (vmi_get_vcpureg(vmi, &v, reg, vcpu) != VMI_SUCCESS)
            continue;
        out_hex(shown_regs[i].key, shown_regs[i].label, v);
        found++;
    }
    if (out_json)
        json_end_object();
    if (!found) {
        /* the failure of the last attempt says why, e.g. a raw image */
        out_text("none (%s)\n", tvmi_last_error(vmi));
        out_str("note", NULL, tvmi_last_error(vmi));
    }
    out_section_end();
}

static int run_info(const struct global *g, const struct args *a)
{
    vmi_instance_t vmi;
    addr_t kdtb;
    unsigned n;
    int rc = target_open(g, "info", &vmi);

    (void)a; /* info takes no arguments */
    if (rc != EXIT_OK)
        return rc;
    out_str("target", "target", target_name(g));
    out_str("driver", "driver", tvmi_get_driver_name(vmi));
    out_size("memsize", "memory size", vmi_get_memsize(vmi));
    out_hex("max_physical_address", "max physical address",
            vmi_get_max_physical_address(vmi));
    n = vmi_get_num_vcpus(vmi);
    out_num("vcpus", "vCPUs", n);
    out_str("page_mode", "paging mode",
            page_mode_name(vmi_get_page_mode(vmi, 0)));
    kdtb = tvmi_get_kernel_dtb(vmi);
    if (kdtb)
        out_hex("kernel_dtb", "kernel page-table root", kdtb);
    else if (out_json)
        json_null("kernel_dtb");
    else
        out_str(NULL, "kernel page-table root", "unknown");
    out_list("registers", "registers");
    for (unsigned long cpu = 0; cpu < n && !out_broken(); cpu++)
        show_vcpu(vmi, cpu);
    out_list_end();
    vmi_destroy(vmi);
    return EXIT_OK;
}

static const struct opt info_opts[] = { { NULL, false } };

const struct command cmd_info = {
    .name = "info",
    .summary = "what the target is: format, memory, vCPUs, paging, registers",
    .help =
        "usage: tinyvmi --file PATH info [--json]\n"
        "\n"
        "Shows the driver (snapshot format), memory size, highest physical\n"
        "address, number of vCPUs, paging mode, kernel page-table root and\n"
        "the registers each vCPU has in the target (\"none\" if it has none,\n"
        "e.g. a raw image).\n"
        "\n"
        "JSON keys: target, driver, memsize (bytes), max_physical_address,\n"
        "vcpus (count), page_mode (none|legacy|pae|ia32e|la57|unknown),\n"
        "kernel_dtb (null when unknown), registers: [{vcpu, registers:\n"
        "{rip, rsp, cr0, cr2, cr3, cr4, efer, rax..r15, rflags}, note}].\n",
    .opts = info_opts,
    .min_pos = 0,
    .max_pos = 0,
    .pos_names = NULL,
    .run = run_info,
};
