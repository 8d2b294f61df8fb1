/*
 * tinyvmi public API.
 *
 * The names, types and semantics follow LibVMI so that a LibVMI program
 * ports by recompiling (include <libvmi/libvmi.h>, which maps here).
 * Numeric values of enums are tinyvmi's own: code must use the names.
 * Additions that LibVMI does not have are prefixed tvmi_ / TVMI_.
 *
 * This header is freestanding: it needs only <stddef.h>, <stdint.h>.
 */
#ifndef TINYVMI_TINYVMI_H
#define TINYVMI_TINYVMI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TVMI_VERSION_STRING "0.1.0"

typedef uint64_t addr_t;
typedef int32_t vmi_pid_t;
typedef uint64_t reg_t;
typedef struct vmi_instance *vmi_instance_t;

typedef enum status {
    VMI_SUCCESS,
    VMI_FAILURE
} status_t;

typedef enum vmi_mode {
    VMI_XEN,
    VMI_KVM,
    VMI_FILE,
} vmi_mode_t;

/* vmi_init flags. */
#define VMI_INIT_DOMAINNAME (1u << 0) /* domain is a name (or a file path) */
#define VMI_INIT_DOMAINID   (1u << 1) /* domain points to a uint64_t domid */
#define VMI_INIT_EVENTS     (1u << 2) /* not supported yet */
#define VMI_INIT_SHM        (1u << 3) /* not supported */
#define TVMI_INIT_WRITE     (1u << 16) /* tinyvmi: open snapshots read-write */

typedef enum vmi_init_error {
    VMI_INIT_ERROR_NONE,
    VMI_INIT_ERROR_DRIVER_NOT_DETECTED,
    VMI_INIT_ERROR_DRIVER,
    VMI_INIT_ERROR_VM_NOT_FOUND,
    VMI_INIT_ERROR_PAGING,
    VMI_INIT_ERROR_OS,
    VMI_INIT_ERROR_EVENTS,
    VMI_INIT_ERROR_SHM,
    VMI_INIT_ERROR_NO_CONFIG,
    VMI_INIT_ERROR_NO_CONFIG_ENTRY,
} vmi_init_error_t;

typedef enum vmi_config {
    VMI_CONFIG_GLOBAL_FILE_ENTRY,
    VMI_CONFIG_STRING,
    VMI_CONFIG_GHASHTABLE,
    VMI_CONFIG_JSON_PATH,
    TVMI_CONFIG_NONE, /* tinyvmi: zero configuration, everything from memory */
} vmi_config_t;

typedef enum vmi_init_data_type {
    VMI_INIT_DATA_XEN_EVTCHN,
    VMI_INIT_DATA_MEMMAP,
    VMI_INIT_DATA_KVMI_SOCKET,
} vmi_init_data_type_t;

typedef struct {
    uint64_t type;
    void *data;
} vmi_init_data_entry_t;

typedef struct {
    uint64_t count;
    vmi_init_data_entry_t entry[];
} vmi_init_data_t;

typedef enum os {
    VMI_OS_UNKNOWN,
    VMI_OS_LINUX,
    VMI_OS_WINDOWS,
    VMI_OS_FREEBSD,
} os_t;

typedef enum page_mode {
    VMI_PM_UNKNOWN,
    VMI_PM_NONE,    /* paging disabled: virtual == physical */
    VMI_PM_LEGACY,  /* 32-bit, 4 KiB / 4 MiB pages */
    VMI_PM_PAE,     /* 32-bit PAE, 4 KiB / 2 MiB pages */
    VMI_PM_IA32E,   /* 4-level, 4 KiB / 2 MiB / 1 GiB pages */
    VMI_PM_AARCH32,
    VMI_PM_AARCH64,
    VMI_PM_EPT_4L,
    VMI_PM_EPT_5L,
    VMI_PM_LA57,    /* tinyvmi: 5-level IA-32e paging (CR4.LA57) */
} page_mode_t;

typedef enum page_size {
    VMI_PS_UNKNOWN = 0,
    VMI_PS_4KB = 0x1000,
    VMI_PS_2MB = 0x200000,
    VMI_PS_4MB = 0x400000,
    VMI_PS_1GB = 0x40000000,
} page_size_t;

/* Registers (values are tinyvmi's; use the names). */
enum {
    RAX, RBX, RCX, RDX, RBP, RSI, RDI, RSP,
    R8, R9, R10, R11, R12, R13, R14, R15,
    RIP, RFLAGS,
    CR0, CR2, CR3, CR4, XCR0,
    MSR_EFER, FS_BASE, GS_BASE, SHADOW_GS,
    CS_SEL, DS_SEL, ES_SEL, FS_SEL, GS_SEL, SS_SEL,
    TVMI_REG_COUNT
};
#define EAX RAX
#define EBX RBX
#define ECX RCX
#define EDX RDX
#define EBP RBP
#define ESI RSI
#define EDI RDI
#define ESP RSP
#define EIP RIP
#define EFLAGS RFLAGS

/* All of one vCPU's registers at once (vmi_get_vcpuregs), with LibVMI's
 * member names: regs.x86.rip, regs.x86.cr3... */
typedef struct x86_regs {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rflags, rip;
    uint64_t cr0, cr2, cr3, cr4;
    uint64_t msr_efer;
    uint64_t fs_base, gs_base, shadow_gs;
    uint32_t cs_sel, ds_sel, es_sel, fs_sel, gs_sel, ss_sel;
} x86_registers_t;

typedef struct registers {
    x86_registers_t x86;
} registers_t;

/* vmi_get_vmid's answer for a target that is no domain (a snapshot). */
#ifndef VMI_INVALID_DOMID
#define VMI_INVALID_DOMID (~0ull)
#endif

/* Most levels a page walk can visit (LA57 = 5). */
#define TVMI_MAX_LEVELS 5

/* One page-table entry visited during a walk (tinyvmi extension). */
typedef struct tvmi_pt_entry {
    int level;             /* 5 = PML5, 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT */
    addr_t location;       /* physical address of the entry */
    uint64_t value;        /* the entry as read */
} tvmi_pt_entry_t;

typedef struct page_info {
    addr_t vaddr;
    addr_t dtb;
    addr_t paddr;
    page_size_t size;
    page_mode_t pm;
    union {
        struct {
            addr_t pte_location, pte_value;
            addr_t pgd_location, pgd_value;
        } x86_legacy;
        struct {
            addr_t pte_location, pte_value;
            addr_t pgd_location, pgd_value;
            addr_t pdpe_location, pdpe_value;
        } x86_pae;
        struct {
            addr_t pte_location, pte_value;
            addr_t pgd_location, pgd_value;
            addr_t pdpte_location, pdpte_value;
            addr_t pml4e_location, pml4e_value;
            addr_t pml5e_location, pml5e_value; /* tinyvmi: LA57 */
        } x86_ia32e;
    };
    /* tinyvmi: every entry visited, root level first. */
    int nentries;
    tvmi_pt_entry_t entries[TVMI_MAX_LEVELS];
} page_info_t;

/* How vmi_read/vmi_write find the address space. */
typedef enum translation_mechanism {
    VMI_TM_INVALID,
    VMI_TM_NONE,           /* addr is physical */
    VMI_TM_PROCESS_DTB,    /* addr is virtual, translated with dtb */
    VMI_TM_PROCESS_PID,    /* addr is virtual, in pid's address space (0 = kernel) */
    VMI_TM_KERNEL_SYMBOL,  /* ksym + addr */
} translation_mechanism_t;

typedef struct {
    translation_mechanism_t translate_mechanism;
    addr_t addr;
    const char *ksym;
    addr_t dtb;
    vmi_pid_t pid;
} access_context_t;

/* ---- lifecycle ---------------------------------------------------------- */

/* Opens the target: VMI_FILE with domain = path to a snapshot, VMI_XEN with a
 * name or domid. Gives physical access, registers and the paging mode found. */
status_t vmi_init(vmi_instance_t *vmi, vmi_mode_t mode, const void *domain,
                  uint64_t init_flags, vmi_init_data_t *init_data,
                  vmi_init_error_t *error);

/* vmi_init plus OS initialisation (config_mode TVMI_CONFIG_NONE: zero-config). */
status_t vmi_init_complete(vmi_instance_t *vmi, const void *domain,
                           uint64_t init_flags, vmi_init_data_t *init_data,
                           vmi_config_t config_mode, void *config,
                           vmi_init_error_t *error);

/* Finds the paging mode and kernel page-table root again (e.g. after the
 * guest changed mode). Returns the mode, VMI_PM_UNKNOWN on failure. */
page_mode_t vmi_init_paging(vmi_instance_t vmi, uint64_t flags);

/* Recognises the OS of an instance opened with vmi_init by trying each
 * built-in OS layer. Returns VMI_OS_UNKNOWN and sets *error (if not NULL)
 * when none does; tvmi_last_error() says which step failed. */
os_t vmi_init_os(vmi_instance_t vmi, vmi_config_t config_mode, void *config,
                 vmi_init_error_t *error);

status_t vmi_destroy(vmi_instance_t vmi);

/* ---- errors (tinyvmi) ----------------------------------------------------- */

/* What the last failing call on vmi was doing and why it failed. Never NULL. */
const char *tvmi_last_error(vmi_instance_t vmi);
/* The same for the last failed vmi_init/vmi_init_complete (no instance). */
const char *tvmi_init_error_message(void);

/* ---- target facts ------------------------------------------------------- */

vmi_mode_t vmi_get_access_mode(vmi_instance_t vmi);
page_mode_t vmi_get_page_mode(vmi_instance_t vmi, unsigned long vcpu);
uint8_t vmi_get_address_width(vmi_instance_t vmi);
uint64_t vmi_get_memsize(vmi_instance_t vmi);
addr_t vmi_get_max_physical_address(vmi_instance_t vmi);
/* tinyvmi: the backed physical ranges [start[i], end[i]), ascending.
 * Writes at most max of them; returns how many there are (0 on error). */
size_t tvmi_get_memory_ranges(vmi_instance_t vmi, addr_t *start, addr_t *end,
                              size_t max);
unsigned int vmi_get_num_vcpus(vmi_instance_t vmi);
status_t vmi_get_vcpureg(vmi_instance_t vmi, uint64_t *value, reg_t reg,
                         unsigned long vcpu);
status_t vmi_set_vcpureg(vmi_instance_t vmi, uint64_t value, reg_t reg,
                         unsigned long vcpu);
/* Every register of x86_registers_t at once. A running target is paused
 * meanwhile, so the values are of one moment. Registers the target does
 * not record read as 0 (an ELF core with only NT_PRSTATUS notes has no
 * control registers; vmi_get_vcpureg says which are missing); fails when
 * it records none (raw and LiME snapshots). */
status_t vmi_get_vcpuregs(vmi_instance_t vmi, registers_t *regs,
                          unsigned long vcpu);
/* Writes the registers of regs that differ from the vCPU's, the target
 * paused meanwhile. A register the target does not give must be 0 in
 * regs. Not atomic: when one write fails, the ones before it stay done.
 * Fails on targets without register writes (snapshots). */
status_t vmi_set_vcpuregs(vmi_instance_t vmi, registers_t *regs,
                          unsigned long vcpu);
status_t vmi_pause_vm(vmi_instance_t vmi);
status_t vmi_resume_vm(vmi_instance_t vmi);
os_t vmi_get_ostype(vmi_instance_t vmi);
/* The target's name, malloc'd (free() it): a Xen domain's name, a
 * snapshot's path as given to vmi_init. NULL when the driver cannot tell
 * (tvmi_last_error says why). */
char *vmi_get_name(vmi_instance_t vmi);
/* A Xen domain's id; VMI_INVALID_DOMID for a snapshot. */
uint64_t vmi_get_vmid(vmi_instance_t vmi);

/* tinyvmi: the kernel page-table root in use for pid 0 / VMI_TM_PROCESS_PID 0. */
addr_t tvmi_get_kernel_dtb(vmi_instance_t vmi);
/* tinyvmi: override the kernel page-table root and paging mode. */
status_t tvmi_set_kernel_dtb(vmi_instance_t vmi, addr_t dtb, page_mode_t pm);
/* tinyvmi: name of the driver ("snapshot-elf", "snapshot-raw", "xen"...). */
const char *tvmi_get_driver_name(vmi_instance_t vmi);
/* tinyvmi: one line of text naming this target and no other (a snapshot:
 * its real path, inode, size and modification time; a Xen domain: its
 * UUID and id), for caches kept between runs. Fails when the driver
 * cannot tell. */
status_t tvmi_get_target_identity(vmi_instance_t vmi, char *buf, size_t len);
/* tinyvmi: whether a live target is still there. VMI_FAILURE, with the
 * reason in tvmi_last_error (dying, shut down, gone), when it is not; the
 * frames still mapped are then let go (they would keep a destroyed Xen
 * domain from being freed) and the caches emptied. VMI_SUCCESS for a
 * snapshot. Tools that hold an instance for long call it between passes. */
status_t tvmi_target_check(vmi_instance_t vmi);

/* ---- translation -------------------------------------------------------- */

status_t vmi_translate_kv2p(vmi_instance_t vmi, addr_t vaddr, addr_t *paddr);
status_t vmi_translate_uv2p(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid,
                            addr_t *paddr);
status_t vmi_pagetable_lookup(vmi_instance_t vmi, addr_t dtb, addr_t vaddr,
                              addr_t *paddr);
status_t vmi_pagetable_lookup_extended(vmi_instance_t vmi, addr_t dtb,
                                       addr_t vaddr, page_info_t *info);
/* tinyvmi: the same with an explicit paging mode instead of the instance's. */
status_t tvmi_pagetable_lookup_mode(vmi_instance_t vmi, page_mode_t pm,
                                    addr_t dtb, addr_t vaddr,
                                    page_info_t *info);
/* pid -> page-table root; needs an OS layer (pid 0 = kernel works always). */
status_t vmi_pid_to_dtb(vmi_instance_t vmi, vmi_pid_t pid, addr_t *dtb);
/* page-table root -> pid (the OS layer's answer; accepts CR3 values with
 * PCID or PTI bits). The kernel's own root gives pid 0. */
status_t vmi_dtb_to_pid(vmi_instance_t vmi, addr_t dtb, vmi_pid_t *pid);

/* ---- caches --------------------------------------------------------------- */

void vmi_v2pcache_flush(vmi_instance_t vmi, addr_t dtb); /* ~0ull: all */
void vmi_v2pcache_add(vmi_instance_t vmi, addr_t va, addr_t dtb, addr_t pa);
void vmi_pagecache_flush(vmi_instance_t vmi);

/* ---- reads ------------------------------------------------------------------ */

status_t vmi_read(vmi_instance_t vmi, const access_context_t *ctx, size_t count,
                  void *buf, size_t *bytes_read);
status_t vmi_read_pa(vmi_instance_t vmi, addr_t paddr, size_t count, void *buf,
                     size_t *bytes_read);
status_t vmi_read_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid,
                     size_t count, void *buf, size_t *bytes_read);

status_t vmi_read_8_pa(vmi_instance_t vmi, addr_t paddr, uint8_t *value);
status_t vmi_read_16_pa(vmi_instance_t vmi, addr_t paddr, uint16_t *value);
status_t vmi_read_32_pa(vmi_instance_t vmi, addr_t paddr, uint32_t *value);
status_t vmi_read_64_pa(vmi_instance_t vmi, addr_t paddr, uint64_t *value);
status_t vmi_read_addr_pa(vmi_instance_t vmi, addr_t paddr, addr_t *value);
char *vmi_read_str_pa(vmi_instance_t vmi, addr_t paddr);

status_t vmi_read_8_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint8_t *value);
status_t vmi_read_16_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint16_t *value);
status_t vmi_read_32_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint32_t *value);
status_t vmi_read_64_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint64_t *value);
status_t vmi_read_addr_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, addr_t *value);
char *vmi_read_str_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid);

/* tinyvmi: read through an explicit page-table root. */
status_t tvmi_read_dtb(vmi_instance_t vmi, addr_t vaddr, addr_t dtb,
                       size_t count, void *buf, size_t *bytes_read);

/* ---- writes ---------------------------------------------------------------- */

status_t vmi_write(vmi_instance_t vmi, const access_context_t *ctx, size_t count,
                   void *buf, size_t *bytes_written);
status_t vmi_write_pa(vmi_instance_t vmi, addr_t paddr, size_t count, void *buf,
                      size_t *bytes_written);
status_t vmi_write_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid,
                      size_t count, void *buf, size_t *bytes_written);
status_t vmi_write_8_pa(vmi_instance_t vmi, addr_t paddr, uint8_t *value);
status_t vmi_write_16_pa(vmi_instance_t vmi, addr_t paddr, uint16_t *value);
status_t vmi_write_32_pa(vmi_instance_t vmi, addr_t paddr, uint32_t *value);
status_t vmi_write_64_pa(vmi_instance_t vmi, addr_t paddr, uint64_t *value);
status_t vmi_write_addr_pa(vmi_instance_t vmi, addr_t paddr, addr_t *value);
status_t vmi_write_8_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint8_t *value);
status_t vmi_write_16_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint16_t *value);
status_t vmi_write_32_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint32_t *value);
status_t vmi_write_64_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, uint64_t *value);
status_t vmi_write_addr_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid, addr_t *value);

#ifdef __cplusplus
}
#endif

#endif
