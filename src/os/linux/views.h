/*
 * The views of a running Linux system (processes, modules, kernel log)
 * share three things, kept here:
 *
 *   - layouts: every member they read, from the kernel's own BTF (else
 *     from an ISF profile's user_types), looked up once per group (tasks,
 *     modules, log) on first use;
 *   - kernel address ranges: where a pointer of each kind may point (the
 *     direct map of RAM, the image, the module area), so a corrupted
 *     pointer is refused before it is followed;
 *   - a hostile-proof walk of a kernel list_head list: bounded, with every
 *     node checked against the ranges, every link against its neighbour,
 *     and loops caught with a set of the nodes seen.
 *
 * Guest memory is hostile and may change under us (live guests): a view
 * that meets a bad entry keeps what it can, says "partial" and explains in
 * tvmi_last_error(); it fails outright only when it can list nothing.
 */
#ifndef TVMI_OS_LINUX_VIEWS_H
#define TVMI_OS_LINUX_VIEWS_H

#include "lx.h"

#define LX_MAX_TASKS   (1u << 16) /* processes and threads in one listing */
#define LX_MAX_MODULES (1u << 12)
#define LX_PID_LIMIT   (1 << 22)  /* PID_MAX_LIMIT on 64-bit */
#define LX_PF_KTHREAD  0x00200000u
#define LX_PID_CACHE   64         /* pid -> page-table root, direct-mapped */
#define LX_WINDOW_MAX  65536      /* bytes of one struct read per entry */

#define LX_DMAP_L4     0xffff888000000000ull /* page_offset_base without KASLR */
#define LX_DMAP_L5     0xff11000000000000ull
#define LX_MODULES_LO  0xffffffffa0000000ull /* __START_KERNEL_map + 512 MiB */
#define LX_MODULES_HI  0xffffffffff000000ull /* MODULES_END */

/* Where kernel pointers of each kind may point. */
struct lx_kspace {
    addr_t dmap_lo, dmap_hi; /* page_offset_base + [0, max_pa): slab objects */
    addr_t img_lo, img_hi;   /* _text.._end: init_task, list heads */
    addr_t mod_lo, mod_hi;   /* the module area: struct module */
};

enum lx_area {
    LX_AREA_DATA,   /* the direct map or the image */
    LX_AREA_MODULE, /* the module area or the image */
};

/* A set of addresses, emptied in O(1) by moving to a new generation. */
struct lx_seen {
    addr_t *key;
    uint32_t *gen;
    size_t cap, used;
    uint32_t cur;
};

/* What went wrong while building a view: the first problem in words, and
 * how many there were. A view with problems is "partial". */
struct lx_report {
    size_t problems;
    char why[256];
};

/* A list walk: in, the head and the rules; out, the nodes (the list_head
 * addresses of the entries, head excluded) in list order. */
struct lx_list {
    const char *what;      /* "the task list", for messages */
    addr_t head;
    enum lx_area area;
    size_t max;
    struct lx_report *rep; /* where problems go */
    addr_t *node;
    size_t n, cap;
};

/* Layouts. A field whose size is 0 was not found. */
struct lx_task_layout {
    struct lx_field tasks, pid, tgid, real_parent, comm, mm, flags, state,
                    exit_state, real_cred, signal, thread_node, thread_group,
                    thread_head, uid, pgd;
    bool thread_head_list;  /* signal->thread_head + thread_node (3.14+),
                               else the thread_group ring (gone in 6.7) */
    size_t lo, hi;          /* the part of task_struct read per task */
};

struct lx_module_layout {
    struct lx_field list, name, state, mem, mem_base, mem_size, core_layout,
                    init_layout, layout_base, layout_size;
    bool has_mem;           /* mem[MOD_MEM_NUM_TYPES] (6.4+), else layouts */
    size_t mem_stride;      /* sizeof(struct module_memory) */
    size_t lo, hi;
};

struct lx_log_layout {
    struct lx_field desc_ring, text_data_ring, count_bits, descs, infos,
                    head_id, tail_id, size_bits, data, state_var, text_blk_lpos,
                    begin, next, seq, ts_nsec, text_len, facility, level;
    size_t desc_size, info_size;
    size_t desc_read;  /* bytes of a descriptor holding state and positions */
};

/* A descriptor's state_var and text positions are read in one piece of at
 * most this many bytes (24 in every kernel so far). */
#define LX_DESC_READ_MAX 64

struct lx_pid_slot {
    vmi_pid_t pid;
    addr_t task, mm, dtb;
    bool used;
};

struct lx_views {
    struct lx_kspace ks;
    bool ks_ready;
    struct lx_task_layout task;
    struct lx_module_layout mod;
    struct lx_log_layout log;
    bool task_ready, mod_ready, log_ready;
    uint8_t *buf;           /* one struct's window, read per entry */
    size_t buf_len;
    struct lx_seen walk;    /* nodes of the list being walked */
    struct lx_seen listed;  /* tasks already in the listing */
    struct lx_pid_slot pids[LX_PID_CACHE];
    bool found[48];         /* per layout entry (views.c): found */
};

enum lx_group { LX_GROUP_TASKS, LX_GROUP_MODULES, LX_GROUP_LOG };

/* The views of vmi with the group's layout loaded, or NULL + message. */
struct lx_views *lx_views_get(vmi_instance_t vmi, struct lx_state **st,
                              enum lx_group group);

/* Reads kernel memory (through the kernel page tables). */
status_t lx_kread(vmi_instance_t vmi, addr_t va, void *buf, size_t len);
bool lx_kaddr_ok(const struct lx_kspace *ks, enum lx_area area, addr_t va);
/* A window [lo, hi) of the struct at va into v->buf. */
status_t lx_read_window(vmi_instance_t vmi, struct lx_views *v, addr_t va,
                        size_t lo, size_t hi);
/* Room for len bytes in v->buf. */
status_t lx_buf_reserve(vmi_instance_t vmi, struct lx_views *v, size_t len);

/* Reads of one kernel array in ascending order (the log's descriptors,
 * infos and texts) through a one-page window: one translation and mapping
 * per page instead of one per record. A span that crosses a page boundary
 * is read directly. A page found unreadable stays so for the stream: its
 * reads fail at once (tvmi_last_error keeps the first failure's reason),
 * so a ring pointed at unmapped memory costs a walk per page, not per
 * record. A zeroed stream is empty. */
#define LX_STREAM_BYTES 4096
enum { LX_STREAM_EMPTY, LX_STREAM_FULL, LX_STREAM_UNREADABLE };
struct lx_stream {
    addr_t page;            /* the page the state is of */
    int state;
    uint8_t buf[LX_STREAM_BYTES];
};
status_t lx_stream_read(vmi_instance_t vmi, struct lx_stream *s, addr_t va,
                        void *out, size_t len);

/* A field of the struct whose window starts at lo (little-endian,
 * 1/2/4/8 bytes; a bitfield is shifted and masked). */
uint64_t lx_get(const struct lx_views *v, size_t lo, const struct lx_field *f);

/* 1 = added, 0 = already there, -1 = out of memory. */
int lx_seen_add(struct lx_seen *s, addr_t a);
bool lx_seen_has(const struct lx_seen *s, addr_t a);
void lx_seen_clear(struct lx_seen *s);

/* Walks l->head's list. Fails only when the head cannot be read; any
 * other problem ends the walk or skips a link, noted in l->rep. A walk
 * that breaks goes on backwards from the head, so one bad link loses
 * nothing that can still be reached. */
status_t lx_list_walk(vmi_instance_t vmi, struct lx_views *v, struct lx_list *l);
void lx_list_free(struct lx_list *l);

void lx_report_note(struct lx_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends a view: *partial says whether there were problems, and the
 * instance's error says what they were. */
void lx_report_done(vmi_instance_t vmi, const struct lx_report *r, int *partial);

/* tvmi_linux_view_fields, and the offsets docs list. */
size_t lx_view_fields(vmi_instance_t vmi, struct lx_views *v,
                      tvmi_linux_field_t *out, size_t max);

#endif
