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

/* ---- profiles (vmi_init_complete's config) ----------------------------------
 *
 * Without configuration (TVMI_CONFIG_NONE) symbols come from the kallsyms
 * tables and layouts from the BTF in guest memory. Profiles users already
 * have replace them; each is checked against memory first, and one that
 * disagrees (another kernel build, a wrong offset) fails the
 * initialisation with both values (tvmi_init_error_message()):
 *
 *   VMI_CONFIG_STRING     config: a libvmi.conf entry, "{ ostype = "Linux";
 *                         sysmap = "/boot/System.map-..."; linux_tasks = 0x..;
 *                         linux_mm, linux_pid, linux_name, linux_pgd = ..;
 *                         linux_kaslr = <slide>; volatility_ist = "x.json";
 *                         btf = "vmlinux.btf"; }" (btf is tinyvmi's)
 *   VMI_CONFIG_GLOBAL_FILE_ENTRY
 *                         config: a tvmi_linux_conf_file_t naming a
 *                         libvmi.conf and its entry; NULL (LibVMI's usual
 *                         call): no file, zero configuration
 *   VMI_CONFIG_JSON_PATH  config: the path of a Volatility 3 ISF (.json,
 *                         .json.xz)
 *
 * Profile addresses are link-time: the KASLR slide is found in memory
 * (linux_kaslr overrides it). Files are read by the platform; the
 * appliance has none. */
typedef struct tvmi_linux_conf_file {
    const char *path;   /* a libvmi.conf */
    const char *entry;  /* the domain's block; NULL: the first */
    int or_first;       /* when no block is named entry, take the first */
} tvmi_linux_conf_file_t;

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

/* tinyvmi: like vmi_translate_v2ksym, and *offset = va - symbol address.
 * The names these and tvmi_linux_sym_at return belong to the instance:
 * valid until vmi_destroy once the table is decoded whole, else (names
 * decoded one at a time, as in the appliance) for the next 8 such calls. */
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
    char sym_source[256];    /* "kallsyms tables in guest memory" */
    char type_source[256];   /* "BTF at PA ..." or "none" */
    char kallsyms_layout[192]; /* table order found, low address first */
    addr_t token_table_pa;
    addr_t names_pa;
    int base_relative;      /* kallsyms_offsets + kallsyms_relative_base */
    int absolute_percpu;    /* positive offsets are absolute per-CPU values */
    int pc_relative;        /* 7.x: each offset counts from its own place */
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

    /* Profiles given to vmi_init_complete (System.map, ISF, BTF file,
     * libvmi.conf): what was compared with memory. A disagreement fails
     * the initialisation, so a check here is OK or NOT_DONE. */
    int64_t profile_slide;          /* added to the profile's link-time addresses */
    tvmi_check_t profile_banner_check; /* linux_banner at the profile's address */
    tvmi_check_t profile_symbol_check; /* its symbols where kallsyms has them */
    tvmi_check_t profile_type_check;   /* its structure layouts = the BTF's */
    size_t profile_symbols_checked;
    size_t profile_fields_checked;
    char profile_notes[256];        /* what was ignored or not checked */

    /* Hints given with tvmi_linux_set_hints: "none given", "accepted", or
     * "rejected: <why>" (then discovery ran as without them). */
    char hints[192];
} tvmi_linux_info_t;

/* Copies what discovery found; fails when the Linux layer is not active. */
status_t tvmi_linux_get_info(vmi_instance_t vmi, tvmi_linux_info_t *info);

/* ---- discovery hints ----------------------------------------------------------
 *
 * Zero-configuration discovery scans RAM and decodes the symbol table;
 * on a live guest that is most of a short command's time. After it, a
 * small text record of what was found (where the kernel, its tables, page
 * tables and BTF are; the symbols and structure members the views use)
 * can be kept by the caller and handed to the next instance on the same
 * target before vmi_init_os / vmi_init_complete's OS step. Every place in
 * it is checked against memory before use (banner, token table, page
 * tables, registers, BTF header); a record that does not hold, is
 * truncated, edited or is not one at all is rejected, harmlessly, and
 * discovery runs as without it. tvmi_linux_info_t.hints says which.
 * Records are for zero-configuration instances (no profile). */

/* Gives the instance a record (copied, at most 16 KiB); NULL or 0 clears
 * it. Only the size is checked here. */
status_t tvmi_linux_set_hints(vmi_instance_t vmi, const char *record,
                              size_t len);
/* The record for this instance's kernel (malloc'd text: free() it), or
 * NULL with tvmi_last_error(). Resolves every layout the views use first. */
char *tvmi_linux_get_hints(vmi_instance_t vmi, size_t *len);

/* ---- views of the running system -------------------------------------------
 *
 * Snapshots of the guest's state, read from memory with layouts from the
 * kernel's BTF. Each returns one malloc'd block: free() it.
 *
 * Guest memory is untrusted and, on a live guest, changing: every list is
 * walked with a bound, loops are caught, each pointer is checked before it
 * is followed. A bad entry is skipped or ends the walk, the rest is kept:
 * the call still succeeds, sets *partial to 1 and says what was wrong in
 * tvmi_last_error(). VMI_FAILURE means nothing could be listed. partial
 * may be NULL. */

typedef struct tvmi_linux_task {
    vmi_pid_t pid;          /* task_struct.pid: the thread id */
    vmi_pid_t tgid;         /* the process id (what ps calls PID) */
    vmi_pid_t ppid;         /* real_parent->tgid; -1 if unreadable */
    uint32_t uid;           /* real_cred->uid (as /proc shows); ~0u if unreadable */
    uint32_t flags;         /* PF_* */
    uint64_t state;         /* __state (5.14+) or state */
    uint32_t exit_state;    /* EXIT_ZOMBIE 0x20, EXIT_DEAD 0x10 */
    char state_letter;      /* as ps: R S D T t X Z P I */
    int kernel_thread;      /* PF_KTHREAD, or no mm and not exited */
    char comm[16];          /* NUL-terminated */
    addr_t task;            /* VA of the task_struct */
    addr_t mm;              /* VA of its mm_struct; 0 for kernel threads, zombies */
    /* PA of mm->pgd: the root vmi_pid_to_dtb gives. Under PTI it is the
     * kernel's copy (which maps user space too); the user copy the CPU
     * loads in user mode is dtb + 0x1000. Kernel threads get the kernel's
     * root (init_top_pgt). 0 if unreadable, and for a zombie (no mm). */
    addr_t dtb;
} tvmi_linux_task_t;

/* Every task: pid 0 (swapper) first, then each process of init_task.tasks
 * in list order followed by its other threads. */
status_t tvmi_linux_tasks(vmi_instance_t vmi, tvmi_linux_task_t **tasks,
                          size_t *count, int *partial);

typedef struct tvmi_linux_module {
    char name[64];          /* NUL-terminated (the kernel allows 55 bytes) */
    addr_t base;            /* .text: mem[MOD_TEXT].base (6.4+) or core_layout.base */
    uint64_t size;          /* as /proc/modules: every region's size summed */
    int state;              /* 0 live, 1 coming, 2 going, 3 unformed */
    addr_t module;          /* VA of the struct module */
} tvmi_linux_module_t;

/* The modules list in list order (newest first, as /proc/modules). */
status_t tvmi_linux_modules(vmi_instance_t vmi, tvmi_linux_module_t **modules,
                            size_t *count, int *partial);

typedef struct tvmi_linux_log_record {
    uint64_t seq;
    uint64_t ts_nsec;       /* since boot */
    int level;              /* 0 (emerg) .. 7 (debug) */
    int facility;           /* 0 kernel, 1 user (/dev/kmsg)... */
    size_t text_len;
    const char *text;       /* NUL-terminated, inside the same block */
} tvmi_linux_log_record_t;

/* The kernel log (printk ringbuffer, 5.10+) in sequence order. */
status_t tvmi_linux_log(vmi_instance_t vmi, tvmi_linux_log_record_t **records,
                        size_t *count, int *partial);
/* The same as dmesg prints it: "[    1.234567] text\n" per line. free() it.
 * NULL on failure. */
char *tvmi_linux_dmesg(vmi_instance_t vmi, size_t *len, int *partial);

/* The structure members the views read, as the guest's BTF places them
 * (for checking against pahole, and for docs). Writes at most max and
 * returns how many there are. */
typedef struct tvmi_linux_field {
    const char *struct_name;
    const char *member;
    size_t offset;          /* bytes */
    size_t size;            /* bytes of the member's type */
} tvmi_linux_field_t;

size_t tvmi_linux_view_fields(vmi_instance_t vmi, tvmi_linux_field_t *out,
                              size_t max);

/* ---- watch: changes of the running system (monitor mode) ------------------
 *
 * A baseline taken by tvmi_linux_watch_new, then checks that report what
 * changed since: processes started and exited, modules loaded and
 * unloaded, and the integrity of the kernel's read-only text
 * (_stext.._etext) and of its system call table (sys_call_table), which
 * are hashed at the start and re-checked. Each check reports through a
 * callback, then takes the new task and module lists as the next baseline;
 * the text and syscall baseline stays the original: a change is reported
 * once, and again when it is changed further or put back.
 *
 * Text is kept as one 32-bit CRC per 64-byte block (1/16 of the text: 1
 * MiB for 16 MiB), not as bytes. A change of a single byte in a block is
 * pinned to that byte, with its old and new value; a larger change is
 * reported as the range of blocks it touched. Kernels patch their own text
 * at run time (static keys, ftrace): those are changes, and reported.
 *
 * A list that cannot be read completely gives a PROBLEM event and no
 * "exited"/"unloaded" events that check (what was not seen may still be
 * there); text that cannot be read any more is a PROBLEM, once. */

#define TVMI_WATCH_TASKS    0x01u  /* processes (thread-group leaders) */
#define TVMI_WATCH_THREADS  0x02u  /* every thread as well (implies TASKS) */
#define TVMI_WATCH_MODULES  0x04u
#define TVMI_WATCH_TEXT     0x08u
#define TVMI_WATCH_SYSCALLS 0x10u
#define TVMI_WATCH_ALL      (TVMI_WATCH_TASKS | TVMI_WATCH_MODULES | \
                             TVMI_WATCH_TEXT | TVMI_WATCH_SYSCALLS)

typedef enum tvmi_watch_kind {
    TVMI_WATCH_TASK_STARTED,
    TVMI_WATCH_TASK_EXITED,
    TVMI_WATCH_MODULE_LOADED,
    TVMI_WATCH_MODULE_UNLOADED,
    TVMI_WATCH_TEXT_CHANGED,     /* differs from what was last seen */
    TVMI_WATCH_TEXT_RESTORED,    /* back to the baseline */
    TVMI_WATCH_SYSCALL_CHANGED,
    TVMI_WATCH_SYSCALL_RESTORED,
    TVMI_WATCH_PROBLEM,          /* a walk or read failed: see problem */
} tvmi_watch_kind_t;

#define TVMI_WATCH_BYTES 16
#define TVMI_WATCH_ALIASES 160    /* other names at a symbol's address */
#define TVMI_WATCH_MODULE_NAME 64

typedef struct tvmi_watch_event {
    tvmi_watch_kind_t kind;
    struct {                     /* TASK_STARTED, TASK_EXITED */
        vmi_pid_t pid, tgid, ppid;
        char comm[16];
        addr_t task;             /* VA of the task_struct */
        int kernel_thread;
    } task;
    struct {                     /* MODULE_LOADED, MODULE_UNLOADED */
        char name[64];
        addr_t base;
        uint64_t size;
        addr_t module;           /* VA of the struct module */
    } module;
    struct {                     /* TEXT_CHANGED, TEXT_RESTORED */
        /* [start, end): whole 64-byte blocks, narrowed at each end to the
         * byte when that block's change was pinned to one byte. */
        addr_t start, end;
        int exact;               /* one byte, pinned: old[0] -> cur[0] */
        const char *symbol;      /* at start (NULL: none) */
        addr_t offset;
        char aliases[TVMI_WATCH_ALIASES]; /* the symbol's other names,
                                    comma-separated ("" if none) */
        const char *end_symbol;  /* at end - 1 */
        addr_t end_offset;
        size_t old_len, cur_len; /* bytes known in old[] and cur[] */
        uint8_t old[TVMI_WATCH_BYTES], cur[TVMI_WATCH_BYTES]; /* from start */
    } text;
    struct {                     /* SYSCALL_CHANGED, SYSCALL_RESTORED */
        uint32_t index;
        addr_t old_target, new_target; /* last seen, now */
        addr_t original;         /* at the baseline */
        const char *old_symbol, *new_symbol; /* NULL: outside the kernel */
        addr_t old_offset, new_offset;
        char old_aliases[TVMI_WATCH_ALIASES], new_aliases[TVMI_WATCH_ALIASES];
        char old_module[TVMI_WATCH_MODULE_NAME], new_module[TVMI_WATCH_MODULE_NAME];
                                 /* the module a target outside the kernel
                                    falls in, "" if none */
    } syscall;
    struct {                     /* PROBLEM */
        const char *what;        /* "tasks", "modules", "text", "syscalls" */
        addr_t start, end;       /* text: the range that cannot be read */
        char message[384];
    } problem;
} tvmi_watch_event_t;

typedef void (*tvmi_watch_event_cb)(const tvmi_watch_event_t *ev, void *arg);

/* What the baseline holds. */
typedef struct tvmi_watch_summary {
    unsigned what;                /* TVMI_WATCH_* being watched */
    size_t tasks, modules;
    addr_t text_start, text_end;  /* hashed range (whole blocks) */
    size_t block_size, text_blocks;
    size_t text_unreadable_pages; /* at the start: not watched until readable */
    size_t hash_bytes;            /* memory the text baseline takes */
    addr_t syscall_table;
    uint32_t syscalls;            /* entries watched */
    uint32_t syscalls_outside;    /* of which pointing outside kernel text */
    char notes[512];              /* what was partial or odd at the start */
} tvmi_watch_summary_t;

typedef struct tvmi_linux_watch tvmi_linux_watch_t;

/* Takes the baseline of what (TVMI_WATCH_*). NULL with tvmi_last_error()
 * when a part asked for cannot be watched at all (no sys_call_table...). */
tvmi_linux_watch_t *tvmi_linux_watch_new(vmi_instance_t vmi, unsigned what);
/* Reports every change since the last check (or the baseline) to cb, in
 * the order tasks, modules, text, syscalls. The symbol names an event
 * points to are valid in the callback: copy them to keep them. Fails on bad
 * arguments, out of memory, or a target that is gone (tvmi_target_check);
 * a failed walk or read is a PROBLEM event. */
status_t tvmi_linux_watch_check(vmi_instance_t vmi, tvmi_linux_watch_t *w,
                                tvmi_watch_event_cb cb, void *arg);
void tvmi_linux_watch_summary(const tvmi_linux_watch_t *w,
                              tvmi_watch_summary_t *s);
void tvmi_linux_watch_free(tvmi_linux_watch_t *w);
/* "task_started", "text_changed", "problem"... */
const char *tvmi_watch_kind_name(tvmi_watch_kind_t kind);
/* The event as one line of text without a newline, in the words of
 * `tinyvmi watch` ("process started: pid 42 (sh), ppid 1, task 0x..."),
 * which the appliance's console uses too. Writes at most len bytes, NUL
 * included, cutting a longer line; returns the length written. */
size_t tvmi_watch_event_text(const tvmi_watch_event_t *e, char *buf, size_t len);

/* Where an event's or a baseline's fields go, one call a field in a fixed
 * order: the tinyvmi command's --json and the appliance's JSON lines are
 * both made this way, so they carry the same keys. str's value is never
 * NULL (null() says "no value"); hex is a number shown as "0x..."; bytes
 * is a run of bytes shown as hex; names is a comma-separated list shown as
 * an array ("" is an empty one). */
typedef struct tvmi_field_sink {
    void *ctx;
    void (*str)(void *ctx, const char *key, const char *val);
    void (*null)(void *ctx, const char *key);
    void (*u64)(void *ctx, const char *key, uint64_t val);
    void (*hex)(void *ctx, const char *key, uint64_t val);
    void (*boolean)(void *ctx, const char *key, int val);
    void (*bytes)(void *ctx, const char *key, const uint8_t *bytes, size_t n);
    void (*names)(void *ctx, const char *key, const char *comma_list);
} tvmi_field_sink_t;
/* The event's fields, without its kind (tvmi_watch_kind_name). */
void tvmi_watch_event_fields(const tvmi_watch_event_t *e, const tvmi_field_sink_t *s);
void tvmi_watch_summary_fields(const tvmi_watch_summary_t *w, const tvmi_field_sink_t *s);

/* ---- end of watch ----------------------------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif
