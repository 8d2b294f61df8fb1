/*
 * Linux guests: kernel symbols, kernel facts and structure layouts, all
 * found in the guest's memory (vmi_init_complete with TVMI_CONFIG_NONE).
 *
 * LibVMI's names where LibVMI has the call; tinyvmi's additions are
 * prefixed tvmi_linux_. Strings returned as const char * belong to the
 * instance and live until vmi_destroy.
 */
#ifndef TINYVMI_LINUX_H
#define TINYVMI_LINUX_H

#include <tinyvmi/tinyvmi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- kernel symbols ------------------------------------------------------- */

status_t vmi_translate_ksym2v(vmi_instance_t vmi, const char *symbol,
                              addr_t *vaddr);
/* The kernel symbol at or below va (the first of several at one address),
 * NULL when va is outside the kernel image. ctx is accepted for LibVMI
 * compatibility and not needed: kernel symbols are the same in every
 * address space. */
const char *vmi_translate_v2ksym(vmi_instance_t vmi, const access_context_t *ctx,
                                 addr_t va);

/* Reads at a kernel symbol (plus nothing: use vmi_read with
 * VMI_TM_KERNEL_SYMBOL for an offset). */
status_t vmi_read_ksym(vmi_instance_t vmi, const char *sym, size_t count,
                       void *buf, size_t *bytes_read);
status_t vmi_read_8_ksym(vmi_instance_t vmi, const char *sym, uint8_t *value);
status_t vmi_read_16_ksym(vmi_instance_t vmi, const char *sym, uint16_t *value);
status_t vmi_read_32_ksym(vmi_instance_t vmi, const char *sym, uint32_t *value);
status_t vmi_read_64_ksym(vmi_instance_t vmi, const char *sym, uint64_t *value);
status_t vmi_read_addr_ksym(vmi_instance_t vmi, const char *sym, addr_t *value);
char *vmi_read_str_ksym(vmi_instance_t vmi, const char *sym); /* free() it */

/* tinyvmi: like vmi_translate_v2ksym, and *offset = va - symbol address. */
const char *tvmi_linux_v2ksym(vmi_instance_t vmi, addr_t va, addr_t *offset);

/* tinyvmi: the symbol table in address order (the kernel's own order). */
typedef struct tvmi_linux_sym {
    const char *name;
    addr_t addr;
    char type;          /* as /proc/kallsyms shows it: 'T', 't', 'D'... */
} tvmi_linux_sym_t;

size_t tvmi_linux_sym_count(vmi_instance_t vmi);
status_t tvmi_linux_sym_at(vmi_instance_t vmi, size_t index,
                           tvmi_linux_sym_t *sym);

/* ---- structure layouts (from the kernel's BTF) ---------------------------- */

/* LibVMI offset names: linux_tasks, linux_mm, linux_pid, linux_pgd,
 * linux_name; tinyvmi adds linux_tgid, linux_real_parent, linux_active_mm. */
status_t vmi_get_offset(vmi_instance_t vmi, const char *offset_name,
                        addr_t *offset);
/* Offset of member in "struct symbol" (LibVMI: from the JSON profile;
 * tinyvmi: from the kernel's BTF). */
status_t vmi_get_kernel_struct_offset(vmi_instance_t vmi, const char *symbol,
                                      const char *member, addr_t *addr);

status_t tvmi_linux_struct_offset(vmi_instance_t vmi, const char *struct_name,
                                  const char *member, size_t *offset);
status_t tvmi_linux_struct_size(vmi_instance_t vmi, const char *struct_name,
                                size_t *size);

/* ---- what discovery found --------------------------------------------------- */

typedef enum tvmi_check {
    TVMI_CHECK_NOT_DONE,  /* nothing to compare with */
    TVMI_CHECK_OK,
    TVMI_CHECK_MISMATCH,
} tvmi_check_t;

typedef struct tvmi_linux_info {
    char banner[256];        /* linux_banner, without the trailing newline */
    char release[65];        /* "6.1.0-56-amd64" */
    unsigned version[3];     /* 6, 1, 0 */

    addr_t text_va;          /* _text */
    addr_t text_pa;
    addr_t end_va;           /* _end */
    int64_t virt_slide;      /* _text - 0xffffffff81000000 */
    int64_t phys_slide;      /* text_pa - 0x1000000 (CONFIG_PHYSICAL_START) */
    addr_t kdtb;             /* PA of init_top_pgt */
    page_mode_t page_mode;   /* VMI_PM_IA32E or VMI_PM_LA57 */
    int paging_levels;       /* 4 or 5 */

    size_t num_syms;
    char sym_source[128];    /* "kallsyms tables in guest memory" */
    char type_source[128];   /* "BTF at PA ..." or "none" */
    char kallsyms_layout[192]; /* table order found, low address first */
    addr_t token_table_pa;
    addr_t names_pa;
    int base_relative;      /* kallsyms_offsets + kallsyms_relative_base */
    int absolute_percpu;    /* positive offsets are absolute per-CPU values */
    int seqs_of_names;      /* kallsyms_seqs_of_names present (and used) */
    int kernel_images;       /* kernels that passed every check among the
                                candidates examined (the search stops at the
                                first the registers do not contradict) */
    char found_by[96];       /* which search round found the token table */

    addr_t btf_pa;           /* 0 when no BTF was found */
    size_t btf_size;
    uint32_t btf_types;

    /* Cross-checks between independent facts. */
    tvmi_check_t phys_base_check;   /* phys_base == text_pa - (text_va - 0xffffffff80000000) */
    tvmi_check_t l5_check;          /* __pgtable_l5_enabled agrees with the depth */
    tvmi_check_t symbol_check;      /* kallsyms_token_table symbol (6.x+) at the PA found */
    tvmi_check_t regs_check;        /* CR3/CR4 of the source agree (when it has them) */
    int regs_present;
    addr_t regs_dtb;                /* CR3 (address bits) when regs_present */
    page_mode_t regs_page_mode;
    char notes[512];                /* every disagreement, in words */
} tvmi_linux_info_t;

/* Copies what discovery found; fails when the Linux layer is not active. */
status_t tvmi_linux_get_info(vmi_instance_t vmi, tvmi_linux_info_t *info);

#ifdef __cplusplus
}
#endif

#endif
