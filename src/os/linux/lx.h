/*
 * Linux layer internals. Discovery runs in stages, each in its own file:
 *
 *   image.c     page tables below 1 MiB -> where the image probably is
 *   scan.c      RAM -> candidate kallsyms_token_table/_index pairs
 *   kallsyms.c  token table -> names, markers, num_syms, addresses
 *   symbols.c   decoded table -> name and address indexes, lookups
 *   kernel.c    symbols -> physical _text, page-table root, paging depth
 *   btf.c       __start_BTF -> struct layouts
 *   linux.c     the OS layer: runs the stages, keeps the result
 *   mem.c       reading guest memory without copying it where possible
 *
 * and the views of the running system, on top of the symbols and BTF:
 *
 *   views.c     layouts from BTF, kernel address ranges, hostile list walks
 *   tasks.c     the process list, pid <-> page-table root
 *   modules.c   the module list
 *   printk.c    the kernel log (lockless printk ringbuffer)
 *
 * Everything found in the guest is bounded and validated before use: a
 * candidate that fails a check is dropped with the reason kept, so that a
 * guest we cannot handle gets a message naming the step that failed.
 */
#ifndef TVMI_OS_LINUX_LX_H
#define TVMI_OS_LINUX_LX_H

#include "private.h"
#include <tinyvmi/linux.h>

#define LX_KMAP_BASE     0xffffffff80000000ull /* __START_KERNEL_map */
#define LX_DEFAULT_TEXT  0xffffffff81000000ull /* _text without KASLR */
#define LX_DEFAULT_PHYS  0x1000000ull          /* CONFIG_PHYSICAL_START */
#define LX_PHYS_ALIGN    0x200000ull           /* smallest PHYSICAL_ALIGN */

#define LX_MAX_SYMS      (1u << 22) /* 4 Mi symbols: 20x a distro kernel */
#define LX_MIN_SYMS      256u       /* fewer is no kernel we can check */
#define LX_NAME_MAX      1024u      /* decoded name incl. type; KSYM_NAME_LEN is 512 */
#define LX_TOKEN_MAX     128u       /* one token of kallsyms_token_table */
#define LX_IMAGE_MAX     (1ull << 30) /* _end - _text */

/* mem.c: physical reads that never fail: holes read as zeros (the tables
 * we look for never sit in holes; a structure that crosses one fails
 * validation). */
void lx_read_zfill(vmi_instance_t vmi, addr_t pa, void *buf, size_t len);

/* A read-only view of [pa, pa + len): straight into the driver's mapping
 * when it is one contiguous, stable mapping there (snapshots), else a
 * copy. Copies cost page faults on first touch; views of a snapshot cost
 * nothing. */
struct lx_view {
    const uint8_t *p;
    void *copy;
};
bool lx_view_map(vmi_instance_t vmi, addr_t pa, size_t len, struct lx_view *v);
void lx_view_unmap(struct lx_view *v);

static inline uint32_t lx_get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t lx_get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* One kallsyms_token_table with its kallsyms_token_index, as found. */
struct lx_tokens {
    addr_t table_pa;
    addr_t index_pa;
    addr_t table_end_pa;        /* first byte after the last token's NUL */
    uint8_t len[256];
    uint16_t off[256];          /* into text */
    char text[256 * (LX_TOKEN_MAX + 1) + 16]; /* + 16: see decode_names */
};

/* Where the kallsyms tables are (physical) and how they are encoded. */
enum lx_addr_layout {
    LX_ADDR_REL_BEFORE,  /* offsets, relative_base, num_syms, names... (<= 6.1) */
    LX_ADDR_REL_AFTER,   /* ...token_index, offsets, relative_base (6.x) */
    LX_ADDR_ABS_BEFORE,  /* kallsyms_addresses, num_syms, names... (!BASE_RELATIVE) */
};

struct lx_tables {
    struct lx_tokens tok;
    uint32_t num_syms;
    addr_t num_syms_pa;
    addr_t names_pa;
    addr_t names_end_pa;
    addr_t markers_pa;
    addr_t seqs_pa;             /* 0: none */
    bool seqs_before_tokens;
    enum lx_addr_layout addr_layout;
    addr_t addrs_pa;            /* kallsyms_offsets or kallsyms_addresses */
    addr_t relative_base_pa;
    uint64_t relative_base;
    bool absolute_percpu;
};

/* How kallsyms stores an address (see lx_sym_addr). */
enum lx_addr_kind {
    LX_ADDR_ABSOLUTE,    /* u64 kallsyms_addresses */
    LX_ADDR_RELATIVE,    /* u32: relative_base + offset */
    LX_ADDR_ABS_PERCPU,  /* s32: >= 0 absolute, < 0 relative_base - 1 - offset */
};

/* The symbol table. Addresses and the kernel's own name index stay where
 * they are in guest memory (a view) when the driver allows; names are
 * decoded once into a pool. */
struct lx_syms {
    uint32_t count;
    enum lx_addr_kind kind;
    uint64_t base;              /* kallsyms_relative_base */
    struct lx_view addrs;       /* kallsyms_offsets or _addresses */
    uint32_t *name;             /* [count], offset in pool of "<type><name>\0" */
    char *pool;
    size_t pool_len;
    struct lx_view seqs;        /* kallsyms_seqs_of_names, if it checked out */
    uint32_t *by_name;          /* else our own (name, index) order */
    addr_t text_lo;             /* v2ksym answers for text_lo <= va < text_hi */
    addr_t text_hi;
};

static inline uint64_t lx_addr_decode(enum lx_addr_kind kind, uint64_t base,
                                      const uint8_t *table, uint32_t i)
{
    int32_t off;

    if (kind == LX_ADDR_ABSOLUTE)
        return lx_get_u64(table + 8 * (size_t)i);
    off = (int32_t)lx_get_u32(table + 4 * (size_t)i);
    if (kind == LX_ADDR_RELATIVE)
        return base + (uint32_t)off;
    return off >= 0 ? (uint64_t)off : base - 1 - (int64_t)off;
}

static inline uint64_t lx_sym_addr(const struct lx_syms *s, uint32_t i)
{
    return lx_addr_decode(s->kind, s->base, s->addrs.p, i);
}

/* The index of the i-th symbol in name order. */
static inline uint32_t lx_by_name(const struct lx_syms *s, uint32_t i)
{
    const uint8_t *p;

    if (s->by_name)
        return s->by_name[i];
    p = s->seqs.p + 3 * (size_t)i;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

struct lx_btf;
struct lx_views;
struct lx_profile;

struct lx_state {
    struct lx_tables tab;
    struct lx_syms syms;
    struct lx_btf *btf;
    tvmi_linux_info_t info;
    bool use_root;      /* set vmi's kernel root to info.kdtb/page_mode */
    struct lx_views *views; /* process, module and log views; made on first use */
    struct lx_profile *profile; /* vmi_init_complete's config, if any (profile.h) */
};

/* scan.c: offers each token table found in RAM to accept() until it
 * returns true; returns whether one was accepted. */
typedef bool (*lx_accept_fn)(vmi_instance_t vmi, const struct lx_tokens *tk,
                             void *arg);
struct lx_scan_stats {
    size_t image_spans; /* RAM spans the low page tables pointed at */
    size_t hints;       /* samples that looked like a sorted address table */
    size_t patterns;    /* digit-token patterns seen */
    size_t tables;      /* of which validated token tables */
    bool full_scan;     /* the hints were not enough: all RAM was scanned */
    int round;          /* that found the kernel: 1 image, 2 samples, 3 all */
};
bool lx_find_token_tables(vmi_instance_t vmi, lx_accept_fn accept, void *arg,
                          struct lx_scan_stats *stats);
/* image.c: the kernel image as page tables below 1 MiB map it (the
 * real-mode trampoline), .rodata first; where to scan before the rest. */
struct lx_span {
    addr_t start, end;
};
size_t lx_image_hints(vmi_instance_t vmi, struct lx_span *out, size_t max);

/* Validates a token table whose entry '0' (0x30) starts at pa. */
bool lx_token_table_at(vmi_instance_t vmi, addr_t pa, struct lx_tokens *tk);

/* kallsyms.c: with tab->tok set, finds the other tables and decodes the
 * symbol table into syms. */
status_t lx_kallsyms_load(vmi_instance_t vmi, struct lx_tables *tab,
                          struct lx_syms *syms);

/* symbols.c */
/* Builds the name index, taking over seqs (a view of the kernel's
 * kallsyms_seqs_of_names) if it sorts the names. */
status_t lx_syms_index(vmi_instance_t vmi, struct lx_syms *syms,
                       struct lx_view *seqs);
void lx_syms_free(struct lx_syms *syms);
bool lx_sym_lookup(const struct lx_syms *syms, const char *name, addr_t *va);
/* Index of the symbol at or below va (first alias), or -1. */
long lx_sym_at_or_below(const struct lx_syms *syms, addr_t va);
static inline const char *lx_sym_name(const struct lx_syms *s, uint32_t i)
{
    return s->pool + s->name[i] + 1;
}
static inline char lx_sym_type(const struct lx_syms *s, uint32_t i)
{
    return s->pool[s->name[i]];
}

/* kernel.c: physical _text, the page-table root and depth, cross-checks;
 * fills st->info. */
status_t lx_kernel_locate(vmi_instance_t vmi, struct lx_state *st);
/* Notes a disagreement in the info ("; " separated). */
void lx_note(tvmi_linux_info_t *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* btf.c */
status_t lx_btf_load(vmi_instance_t vmi, struct lx_state *st);
void lx_btf_free(struct lx_btf *btf);
/* The blob is copied and indexed on the first of these calls. */
status_t lx_btf_member_offset(vmi_instance_t vmi, struct lx_btf *btf,
                              const char *st, const char *member, size_t *off);
status_t lx_btf_struct_size(vmi_instance_t vmi, struct lx_btf *btf,
                            const char *st, size_t *size);
uint32_t lx_btf_type_count(vmi_instance_t vmi, struct lx_btf *btf);
/* A BTF blob from a buffer (profiles: a BTF file), copied and indexed. */
status_t lx_btf_from_buffer(vmi_instance_t vmi, const void *buf, size_t len,
                            struct lx_btf **out);
/* A member as the views read it. */
struct lx_field {
    size_t off;       /* byte offset in the struct */
    size_t size;      /* bytes of its type (arrays: all elements); a
                         bitfield's: the bytes it touches from off */
    uint32_t nelems;  /* arrays: element count, else 0 */
    uint32_t bit;     /* bitfields: first bit in the byte at off */
    uint32_t width;   /* bitfields: width in bits, else 0 */
};
status_t lx_btf_field(vmi_instance_t vmi, struct lx_btf *btf, const char *st,
                      const char *member, struct lx_field *f);

/* linux.c: the active Linux state of vmi, or NULL with a message. */
struct lx_state *lx_state_of(vmi_instance_t vmi);

/* views.c, tasks.c: see views.h. */
void lx_views_free(struct lx_views *v);
status_t lx_pid_to_dtb(vmi_instance_t vmi, vmi_pid_t pid, addr_t *dtb);
status_t lx_dtb_to_pid(vmi_instance_t vmi, addr_t dtb, vmi_pid_t *pid);

#endif
