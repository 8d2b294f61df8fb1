/*
 * Profiles users already have, as alternatives to what the Linux layer
 * finds in memory: System.map, Volatility 3 ISF JSON, a BTF file and
 * libvmi.conf entries, chosen with vmi_init_complete's config.
 *
 * Each parser takes a buffer (the platform reads files: see
 * core/platform.h) and is bounded, so the fuzzers call them directly.
 * Addresses in a profile are link-time; the KASLR slide is found in memory
 * and the profile is checked against memory before anything of it is used
 * (profile_check.c): a profile for another kernel is an error, not wrong
 * answers.
 *
 *   profile_tables.c  string pool, symbol and layout tables, lookups
 *   profile_sysmap.c  System.map
 *   profile_isf.c     ISF JSON (with json.c)
 *   profile_conf.c    libvmi.conf
 *   profile_check.c   profile against memory
 *   profile.c         vmi_init_complete's config -> the profile in use
 */
#ifndef TVMI_OS_LINUX_PROFILE_H
#define TVMI_OS_LINUX_PROFILE_H

#include "lx.h"

#define LX_PROFILE_MAX_SYMS LX_MAX_SYMS
#define LX_PROFILE_MAX_TYPES (1u << 22)
#define LX_PROFILE_MAX_FIELDS (1u << 24)

/* Strings, each NUL-terminated; offset 0 is the empty string. */
struct lx_pool {
    char *p;
    size_t len, cap;
};

/* Symbols as a profile lists them: link-time addresses, in file order.
 * Names are "<type><name>" in the pool, as struct lx_syms keeps them. */
struct lx_psyms {
    uint64_t *addr;
    uint32_t *name;
    uint32_t n, cap;
    struct lx_pool pool;
};

/* Structure layouts. A field whose type is an anonymous struct or union
 * names that type so lookups can look inside it (ISF: "unnamed_field_0"
 * of type "unnamed_8d6b..."). Each field keeps what its size follows
 * from: the named type it is (of its elements, for an array; under it,
 * for a bitfield), resolved at lookup (lx_isf_field) since an ISF may
 * list base_types after user_types. */
#define LX_PF_ANON     1u
#define LX_PF_BITFIELD 2u

enum lx_pkind {
    LX_PK_OTHER,     /* functions, void, kinds we do not size */
    LX_PK_BASE,      /* base_types */
    LX_PK_POINTER,
    LX_PK_COMPOSITE, /* struct, union, class: user_types */
    LX_PK_ENUM,      /* enums */
};

/* A field's type as the parser found it. */
struct lx_ptype_ref {
    const char *name;    /* the named type (leaf), "" if none */
    size_t name_len;
    uint8_t leaf;        /* enum lx_pkind of that type */
    uint32_t count;      /* arrays: the outer count, else 0 */
    uint64_t elems;      /* arrays: every element, nested ones too; else 1 */
    uint8_t bit, width;  /* bitfields: bit_position, bit_length */
};

struct lx_pfield {
    uint32_t name;       /* pool offset */
    uint32_t type_name;  /* pool offset of the leaf type's name, 0 if none */
    uint64_t offset;     /* bytes */
    uint64_t elems;
    uint32_t count;
    uint32_t flags;
    uint8_t leaf, bit, width;
};

struct lx_ptype {
    uint32_t name;
    uint32_t first, nfields; /* into field[] */
    uint64_t size;
};

struct lx_ptypes {
    struct lx_ptype *type;
    uint32_t ntypes, type_cap;
    struct lx_pfield *field;
    uint32_t nfields, field_cap;
    uint32_t *by_name;   /* type indexes sorted by name (lx_ptypes_finish) */
    struct lx_pool pool;
};

/* ---- profile_tables.c ------------------------------------------------------ */
bool lx_pool_add(struct lx_pool *pool, const char *s, size_t n, uint32_t *off);
static inline const char *lx_pool_str(const struct lx_pool *pool, uint32_t off)
{
    return pool->p ? pool->p + off : "";
}

/* Profile symbol i's name: its pool entry is the type letter, then it. */
static inline const char *lx_psym_name(const struct lx_psyms *s, uint32_t i)
{
    const char *e = lx_pool_str(&s->pool, s->name[i]);

    return *e ? e + 1 : e;
}

bool lx_psyms_add(struct lx_psyms *s, uint64_t addr, char type,
                  const char *name, size_t len);
void lx_psyms_free(struct lx_psyms *s);
/* The first symbol of that name (file order), or false. Linear: for the
 * few lookups made before the table is installed. */
bool lx_psyms_find(const struct lx_psyms *s, const char *name, uint64_t *addr);

bool lx_ptypes_add_type(struct lx_ptypes *t, const char *name, size_t len,
                        uint64_t size);
/* Adds a field to the last type added. */
bool lx_ptypes_add_field(struct lx_ptypes *t, const char *name, size_t len,
                         uint64_t offset, uint32_t flags,
                         const struct lx_ptype_ref *type);
bool lx_ptypes_finish(struct lx_ptypes *t);
void lx_ptypes_free(struct lx_ptypes *t);
const struct lx_ptype *lx_ptypes_find(const struct lx_ptypes *t,
                                      const char *name);
/* member of st, looking inside anonymous members, with its offset from
 * the start of st; NULL if absent. */
const struct lx_pfield *lx_ptypes_member(const struct lx_ptypes *t,
                                         const char *st, const char *member,
                                         uint64_t *off);
/* member of st, looking inside anonymous members: 1 found, 0 absent,
 * -1 a bitfield (no byte offset). */
int lx_ptypes_offset(const struct lx_ptypes *t, const char *st,
                     const char *member, uint64_t *off);
/* Calls fn for every named member of st, anonymous ones flattened, with
 * offsets from the start of st. */
typedef void (*lx_field_fn)(const char *member, uint64_t off, uint32_t flags,
                            void *arg);
void lx_ptypes_each(const struct lx_ptypes *t, const char *st, lx_field_fn fn,
                    void *arg);

/* ---- parsers: buffer in, err filled on failure ------------------------------ */

/* System.map: "ADDRESS TYPE NAME" lines (nm's format; /proc/kallsyms too,
 * whose module lines "... [mod]" are skipped). */
status_t lx_sysmap_parse(const char *buf, size_t len, struct lx_psyms *out,
                         char *err, size_t errlen);

/* Volatility 3 ISF: symbols, user_types, base_types, enums. */
struct lx_isf {
    struct lx_psyms syms;
    struct lx_ptypes types;   /* user_types */
    struct lx_ptypes base;    /* base_types: names and sizes, no fields */
    struct lx_ptypes enums;   /* enums: the same */
    uint32_t nbase_types, nenums;
    uint64_t pointer_size;    /* base_types.pointer.size; 0 if absent */
    char format[16];          /* metadata.format */
    char banner[256];         /* symbols.linux_banner.constant_data, decoded */
};
status_t lx_isf_parse(const char *buf, size_t len, struct lx_isf *out,
                      char *err, size_t errlen);
void lx_isf_free(struct lx_isf *isf);
/* st.member as the views read it (struct lx_field), from user_types with
 * the sizes of base types, enums and pointers; false with why filled when
 * there is no such member or its size is not known. */
bool lx_isf_field(const struct lx_isf *isf, const char *st, const char *member,
                  struct lx_field *f, char *why, size_t n);
/* sizeof(struct st), or false. */
bool lx_isf_struct_size(const struct lx_isf *isf, const char *st, size_t *size);

/* libvmi.conf: "name { key = value; ... }" blocks, or one "{ ... }" entry
 * (VMI_CONFIG_STRING). The LibVMI offset keys, in struct lx_conf order. */
#define LX_CONF_OFFSETS 8
struct lx_conf_key {
    const char *key, *st, *member;
};
extern const struct lx_conf_key lx_conf_keys[LX_CONF_OFFSETS];

#define LX_CONF_PATH_MAX 1024
struct lx_conf {
    char entry[128];          /* the block used; "" for a bare { } entry */
    char ostype[32];
    char sysmap[LX_CONF_PATH_MAX];
    char isf[LX_CONF_PATH_MAX];   /* volatility_ist */
    char btf[LX_CONF_PATH_MAX];   /* tinyvmi: a BTF file */
    uint64_t offset[LX_CONF_OFFSETS];
    uint32_t has_offset;      /* bit i: offset[i] was given */
    bool has_kaslr;
    int64_t kaslr;            /* linux_kaslr: the virtual slide */
    bool no_memory_btf;       /* memory_btf = no: layouts from the profile */
    char notes[256];          /* keys that were ignored */
};
/* Takes the entry named entry; NULL, or or_first when no entry has that
 * name, takes the first. */
status_t lx_conf_parse(const char *buf, size_t len, const char *entry,
                       bool or_first, struct lx_conf *out, char *err,
                       size_t errlen);

/* ---- the profile in use (profile.c, profile_check.c) ----------------------- */
struct lx_profile {
    struct lx_conf conf;
    bool has_conf;
    char conf_where[192];     /* "libvmi.conf /path entry 'x'", "config string" */
    struct lx_psyms sysmap;
    char sysmap_path[LX_CONF_PATH_MAX];
    struct lx_isf isf;
    bool has_isf;
    char isf_path[LX_CONF_PATH_MAX];
    struct lx_btf *btf;       /* from a file, until it replaces the state's */
    char btf_path[LX_CONF_PATH_MAX];
    int64_t slide;            /* added to link-time kernel addresses */
};

/* Reads what mode/config name, checks it against memory and installs it in
 * st (symbols, BTF); TVMI_CONFIG_NONE does nothing. Fails with a message
 * naming the file, or how profile and memory disagree. */
status_t lx_profile_attach(vmi_instance_t vmi, struct lx_state *st,
                           vmi_config_t mode, void *config);
void lx_profile_free(struct lx_profile *p);

/* Layout lookups the profile answers (conf offsets, then ISF); false
 * leaves them to BTF. */
bool lx_profile_offset(const struct lx_profile *p, const char *st,
                       const char *member, size_t *off);
bool lx_profile_size(const struct lx_profile *p, const char *st, size_t *size);

/* The slid address of a link-time one (per-CPU offsets and absolute
 * values below the kernel map do not move). */
static inline uint64_t lx_profile_slid(int64_t slide, uint64_t addr)
{
    return addr >= LX_KMAP_BASE ? addr + (uint64_t)slide : addr;
}

/* Appends to info->profile_notes ("; " separated). */
void lx_profile_note(tvmi_linux_info_t *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A slide for messages: "0x1f200000" or "-0x200000". */
static inline const char *lx_signed_hex(int64_t v, char buf[24])
{
    uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;

    snprintf(buf, 24, "%s0x%llx", v < 0 ? "-" : "", (unsigned long long)m);
    return buf;
}

/* profile_check.c: each fails with both values when memory disagrees. */
status_t lx_check_symbols(vmi_instance_t vmi, struct lx_state *st,
                          const struct lx_psyms *ps, int64_t slide,
                          const char *what);
status_t lx_check_banner(vmi_instance_t vmi, struct lx_state *st,
                         const struct lx_psyms *ps, int64_t slide,
                         const char *what);
status_t lx_check_layouts(vmi_instance_t vmi, struct lx_state *st,
                          struct lx_profile *p);

#endif
