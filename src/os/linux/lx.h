/*
 * Linux layer internals. Discovery runs in stages, each in its own file:
 *
 *   image.c     page tables below 1 MiB -> where the image probably is
 *   scan.c      RAM -> candidate kallsyms_token_table/_index pairs
 *   kallsyms.c  token table -> names, markers, num_syms, addresses
 *   symbols.c   decoded table -> name and address indexes, lookups
 *   kernel.c    symbols -> physical _text, page-table root, paging depth
 *   btf.c       __start_BTF -> struct layouts
 *   hints.c     a record of what discovery found, re-validated next time
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
#define LX_NAME_RING     8u         /* single entries decoded on demand, kept */
#define LX_TOKEN_MAX     128u       /* one token of kallsyms_token_table */
#define LX_IMAGE_MAX     (1ull << 30) /* _end - _text */
#define LX_NAMES_MAX     (32u << 20)  /* kallsyms_names .. end of markers */

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
    LX_ADDR_PCREL_AFTER, /* ...token_index, offsets, seqs (7.x: no relative_base) */
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
    uint64_t relative_base;     /* PC-relative: kallsyms_offsets' VA, 0
                                   until lx_kernel_locate places it */
    bool absolute_percpu;
};

/* How kallsyms stores an address (see lx_sym_addr). */
enum lx_addr_kind {
    LX_ADDR_ABSOLUTE,    /* u64 kallsyms_addresses */
    LX_ADDR_RELATIVE,    /* u32: relative_base + offset */
    LX_ADDR_ABS_PERCPU,  /* s32: >= 0 absolute, < 0 relative_base - 1 - offset */
    LX_ADDR_PC_RELATIVE, /* s32: the entry's own address + offset (base: the
                            table's VA) */
};

/* Symbols known by name without decoding the table: from hints, or
 * looked up on the fly before (lx_sym_lookup). */
#define LX_KNOWN_MAX 64
#define LX_KNOWN_NAME 64
struct lx_known {
    char name[LX_KNOWN_NAME];
    addr_t va;
    bool found;
};

/* The kallsyms tables in guest memory, decoded on demand (symbols.c):
 * a name lookup binary-searches kallsyms_seqs_of_names decoding only the
 * names it compares; the whole table is decoded (lx_syms_full) when a
 * caller needs names by index or address, or after many lookups. */
struct lx_lazy {
    vmi_instance_t vmi;
    const struct lx_tables *tab;    /* in the same lx_state */
    struct lx_view win;             /* holds names .. markers (and seqs
                                       when they precede the tokens) */
    addr_t win_pa;                  /* PA of win.p[0] */
    size_t win_len;
    struct lx_view seqs;            /* kallsyms_seqs_of_names when outside
                                       win; checked to be a permutation,
                                       not to sort: a lookup's answer is
                                       checked by comparing the name */
    const uint8_t *seqs_p;          /* [3 * count] or NULL */
    bool win_tried, seqs_tried;
    bool addrs_ready;               /* syms->addrs mapped (and sorted) or
                                       found unusable */
    unsigned searches, scans;       /* lookups by decoding on the fly */
    int full;                       /* 0 not yet, 1 decoded, -1 failed */
    char why[256];                  /* why decoding failed */
    struct lx_known known[LX_KNOWN_MAX];
    size_t nknown;
    /* Entries decoded one at a time (v2ksym, symbol i) while the table is
     * not decoded whole: a few names need no 3 MB pool, which the
     * appliance has no room for. A ring, so the last LX_NAME_RING answers
     * stay valid together (a caller naming both ends of a range). */
    char ring[LX_NAME_RING][LX_NAME_MAX];
    unsigned ring_next;
    unsigned entries;               /* decoded so; many -> decode whole */
};

/* The symbol table. Addresses and the kernel's own name index stay where
 * they are in guest memory (a view) when the driver allows; names are
 * decoded into a pool when first needed (lazy != NULL: kallsyms in
 * memory; NULL: a table built complete, from a profile). */
struct lx_syms {
    uint32_t count;
    enum lx_addr_kind kind;
    uint64_t base;              /* kallsyms_relative_base, or the VA of
                                   kallsyms_offsets (PC-relative) */
    struct lx_view addrs;       /* kallsyms_offsets or _addresses */
    uint32_t *name;             /* [count], offset in pool of "<type><name>\0" */
    char *pool;
    size_t pool_len;
    struct lx_view seqs;        /* kallsyms_seqs_of_names, if it checked out */
    uint32_t *by_name;          /* else our own (name, index) order */
    addr_t text_lo;             /* v2ksym answers for text_lo <= va < text_hi */
    addr_t text_hi;
    struct lx_lazy *lazy;       /* NULL: complete (built from a profile) */
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
    if (kind == LX_ADDR_PC_RELATIVE)
        return base + 4 * (uint64_t)i + (uint64_t)(int64_t)off;
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

/* The symbols discovery itself needs (kernel.c), and which it can do
 * without (has_*). */
struct lx_ksyms {
    addr_t text, end, banner, pgt, phys_base, l5, token_table, init_task;
    bool has_phys_base, has_l5, has_token_table, has_init_task;
};

struct lx_state {
    struct lx_tables tab;
    struct lx_syms syms;
    struct lx_ksyms ksyms;
    char found_first[96];   /* the search round that first found the kernel
                               (info.found_by says hints when they were used) */
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
    char ranges_error[192]; /* the driver could not list the RAM: why */
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

/* kallsyms.c: with tab->tok set, finds and validates the other tables
 * and sets syms up to decode them on demand. */
status_t lx_kallsyms_load(vmi_instance_t vmi, struct lx_tables *tab,
                          struct lx_syms *syms);
/* The same from tables a hint record placed: cheap checks only (the count
 * and base in memory). */
status_t lx_kallsyms_hinted(vmi_instance_t vmi, struct lx_tables *tab,
                            struct lx_syms *syms);
/* Decoding kallsyms_names (kallsyms.c, for symbols.c). names points at
 * names_pa, markers at markers_pa, both inside one mapping. */
struct lx_names {
    const uint8_t *names;
    size_t len;                 /* names_end_pa - names_pa */
    const uint8_t *markers;
    const struct lx_tokens *tok;
    uint32_t count;
};
/* strcmp of symbol i's name (type letter excluded) with name; 2 when the
 * entry cannot be decoded. */
int lx_names_cmp(const struct lx_names *n, uint32_t i, const char *name);
/* Entry i as "<type><name>" into buf; false when it cannot be decoded. */
bool lx_names_get(const struct lx_names *n, uint32_t i, char *buf, size_t len);
/* The first symbol of that name in table order (a pass over all). */
bool lx_names_find(const struct lx_names *n, const char *name, uint32_t *idx);
/* Every name into syms->pool / syms->name. */
status_t lx_names_decode(vmi_instance_t vmi, const struct lx_names *n,
                         struct lx_syms *syms);
bool lx_addresses_sorted(enum lx_addr_kind kind, uint64_t base,
                         const uint8_t *t, uint32_t n);

/* symbols.c */
/* Builds the name index, taking over seqs (a view of the kernel's
 * kallsyms_seqs_of_names) if it sorts the names. */
status_t lx_syms_index(vmi_instance_t vmi, struct lx_syms *syms,
                       struct lx_view *seqs);
/* Sets up decoding on demand of the tables tab describes (kallsyms.c,
 * after validation). win: a mapping of [win_pa, +len) holding names and
 * markers, taken over; or none. */
status_t lx_syms_lazy(vmi_instance_t vmi, struct lx_syms *syms,
                      const struct lx_tables *tab, struct lx_view *win,
                      addr_t win_pa, size_t win_len);
/* The address table mapped (lazily: mapped and checked on first use). */
bool lx_syms_addrs_ready(struct lx_syms *s);
/* Symbol i as "<type><name>": from the pool when decoded whole, else
 * decoded alone into a ring of LX_NAME_RING buffers. NULL if it cannot. */
const char *lx_sym_entry(struct lx_syms *s, uint32_t i);
/* Decodes every name and builds the name index (once). After it,
 * lx_sym_name/_type/_addr and lx_by_name may be used. */
status_t lx_syms_full(vmi_instance_t vmi, struct lx_syms *syms);
/* kallsyms_seqs_of_names is there and a permutation (before the full
 * decode), or sorts the names (after). */
bool lx_syms_seqs_usable(struct lx_syms *syms);
/* A symbol known to the caller (hints): lookups of it cost nothing. */
void lx_syms_know(struct lx_syms *syms, const char *name, bool found, addr_t va);
void lx_syms_free(struct lx_syms *syms);
bool lx_sym_lookup(struct lx_syms *syms, const char *name, addr_t *va);
/* Moves every address of a PC-relative table (and the names looked up so
 * far) by delta, once the table's VA is known. */
void lx_syms_shift(struct lx_syms *syms, int64_t delta);
/* Index of the symbol at or below va (first alias), or -1. Needs the
 * addresses (lx_syms_full). */
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
 * fills st->info and st->ksyms. */
status_t lx_kernel_locate(vmi_instance_t vmi, struct lx_state *st);
/* The same for one place given (hints): st->ksyms set, _text at text_pa,
 * paging pm. Runs every check of step 6 and 7 on it. */
status_t lx_kernel_check(vmi_instance_t vmi, struct lx_state *st,
                         addr_t text_pa, page_mode_t pm);
/* Notes a disagreement in the info ("; " separated). */
void lx_note(tvmi_linux_info_t *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* btf.c */
status_t lx_btf_load(vmi_instance_t vmi, struct lx_state *st);
/* The blob at [pa, pa + size) (hints): header checked, nothing indexed. */
status_t lx_btf_at(vmi_instance_t vmi, struct lx_state *st, addr_t pa,
                   size_t size);
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

/* Answers known without the index (hints), and every answer given, for
 * the hint record: kind 'f' a member (f), 's' a struct size (f.size);
 * found false: no such struct (missing_struct) or member. */
struct lx_btf_fact {
    char kind;
    bool found, missing_struct;
    char st[48], member[48];
    struct lx_field f;
};
#define LX_BTF_FACTS 96
void lx_btf_know(struct lx_btf *btf, const struct lx_btf_fact *fact);
/* The i-th fact, false past the last. */
bool lx_btf_fact_at(const struct lx_btf *btf, size_t i, struct lx_btf_fact *out);
/* The type count, from a hint until the index is built. */
void lx_btf_know_types(struct lx_btf *btf, uint32_t ntypes);
/* The type count if known without indexing (hint or index), else 0. */
uint32_t lx_btf_types_known(const struct lx_btf *btf);

/* hints.c: the record (see docs/linux-discovery.md). Tries the record
 * the instance was given; VMI_SUCCESS with st filled when every hint
 * checked out, else VMI_FAILURE with the reason in why. */
status_t lx_hints_try(vmi_instance_t vmi, struct lx_state *st, char *why,
                      size_t whylen);
/* The record for st (malloc'd text). */
char *lx_hints_make(vmi_instance_t vmi, struct lx_state *st, size_t *len);

/* linux.c: the active Linux state of vmi, or NULL with a message. */
struct lx_state *lx_state_of(vmi_instance_t vmi);

/* views.c, tasks.c: see views.h. */
void lx_views_free(struct lx_views *v);
status_t lx_pid_to_dtb(vmi_instance_t vmi, vmi_pid_t pid, addr_t *dtb);
status_t lx_dtb_to_pid(vmi_instance_t vmi, addr_t dtb, vmi_pid_t *pid);

#endif
