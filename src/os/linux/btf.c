/*
 * The kernel's own type information: the .BTF section of the image, between
 * __start_BTF and __stop_BTF. A second, different BTF blob sits elsewhere in
 * RAM on Debian kernels; the symbols pick the one inside the image.
 *
 * Only what layouts need is read: struct/union sizes and member offsets,
 * looking through anonymous members (mm_struct keeps pgd in one). The
 * header is checked at init; the blob is mapped and indexed on first use:
 * one pass over the types, struct/union names hashed. Every answer is
 * kept as a fact (found or not) for the hint record, and facts a hint
 * gives answer without the index at all.
 *
 * Format (Documentation/bpf/btf.rst): a 24-byte header, then types and
 * strings at offsets relative to the header's end. A type is 12 bytes
 * (name_off, info = kind << 24 | vlen, size or type) and kind-specific data.
 */
#include "lx.h"

#define BTF_MAGIC 0xeb9f
#define BTF_MAX_SIZE (256u << 20)
#define BTF_MAX_TYPES (1u << 22)
#define BTF_MAX_NEST 8 /* anonymous members inside anonymous members */

enum {
    KIND_INT = 1, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM,
    KIND_FWD, KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT,
    KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC, KIND_FLOAT,
    KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64,
};

/* A struct/union name in the hash table: the first id of that name. */
struct named_slot {
    uint32_t id;            /* 0: empty */
    uint32_t hash;
};

struct lx_btf {
    addr_t pa;
    size_t size;
    uint32_t type_off, type_len, str_off, str_len; /* from the blob start */
    struct lx_view view;    /* the blob; mapped on first use */
    const uint8_t *blob;
    uint32_t ntypes;        /* ids 1..ntypes */
    uint32_t *type_at;      /* [ntypes + 1]: blob offset of each type */
    struct named_slot *composites; /* open addressing, by name */
    uint32_t mask;          /* slots - 1 */
    char error[160];        /* why loading failed, if it did */
    uint32_t known_types;   /* from a hint, until indexed */
    struct lx_btf_fact facts[LX_BTF_FACTS];
    size_t nfacts;
};

static uint32_t kind_of(uint32_t info) { return (info >> 24) & 0x1f; }
static uint32_t vlen_of(uint32_t info) { return info & 0xffff; }

/* Bytes after the 12-byte common part, or -1 for a kind we do not know. */
static long extra_size(uint32_t info)
{
    uint32_t v = vlen_of(info);

    switch (kind_of(info)) {
    case KIND_INT: case KIND_VAR: case KIND_DECL_TAG: return 4;
    case KIND_ARRAY: return 12;
    case KIND_STRUCT: case KIND_UNION: case KIND_DATASEC: case KIND_ENUM64:
        return 12l * v;
    case KIND_ENUM: case KIND_FUNC_PROTO: return 8l * v;
    case KIND_PTR: case KIND_FWD: case KIND_TYPEDEF: case KIND_VOLATILE:
    case KIND_CONST: case KIND_RESTRICT: case KIND_FUNC: case KIND_FLOAT:
    case KIND_TYPE_TAG: return 0;
    default: return -1;
    }
}

static bool range_ok(uint32_t off, uint32_t len, size_t size)
{
    return off <= size && len <= size - off;
}

/* For messages: "BTF at PA 0x...", or "BTF" for one from a buffer. */
static const char *where(const struct lx_btf *b, char buf[40])
{
    if (b->view.copy && !b->pa)
        return "BTF";
    snprintf(buf, 40, "BTF at PA 0x%llx", (unsigned long long)b->pa);
    return buf;
}

/* Header checks; the blob must end with its string section. */
static status_t parse_header(vmi_instance_t vmi, struct lx_btf *b)
{
    uint8_t h[24];
    uint32_t hdr_len;
    char wb[40];

    if (b->view.p) /* from a buffer of at least 24 bytes */
        memcpy(h, b->view.p, sizeof(h));
    else
        lx_read_zfill(vmi, b->pa, h, sizeof(h));
    hdr_len = lx_get_u32(h + 4);
    if ((h[0] | h[1] << 8) != BTF_MAGIC || h[2] != 1 || hdr_len < 24 ||
        hdr_len > b->size)
        return tvmi_fail(vmi, "%s: bad header (magic %02x%02x, version %u, "
                         "hdr_len %u)", where(b, wb), h[1], h[0], h[2], hdr_len);
    b->type_off = hdr_len + lx_get_u32(h + 8);
    b->type_len = lx_get_u32(h + 12);
    b->str_off = hdr_len + lx_get_u32(h + 16);
    b->str_len = lx_get_u32(h + 20);
    if (b->type_off < hdr_len || b->str_off < hdr_len ||
        !range_ok(b->type_off, b->type_len, b->size) ||
        !range_ok(b->str_off, b->str_len, b->size) || b->str_len == 0)
        return tvmi_fail(vmi, "%s: sections outside its %zu bytes",
                         where(b, wb), b->size);
    return VMI_SUCCESS;
}

status_t lx_btf_at(vmi_instance_t vmi, struct lx_state *st, addr_t pa,
                   size_t size)
{
    struct lx_btf *b;

    if (size < 24 || size > BTF_MAX_SIZE)
        return tvmi_fail(vmi, "BTF at PA 0x%llx: %zu bytes is no BTF blob",
                         (unsigned long long)pa, size);
    b = calloc(1, sizeof(*b));
    if (!b)
        return tvmi_fail(vmi, "out of memory");
    b->pa = pa;
    b->size = size;
    if (parse_header(vmi, b) != VMI_SUCCESS) {
        free(b);
        return VMI_FAILURE;
    }
    lx_btf_free(st->btf);
    st->btf = b;
    st->info.btf_pa = b->pa;
    st->info.btf_size = b->size;
    snprintf(st->info.type_source, sizeof(st->info.type_source),
             "BTF in guest memory (__start_BTF, PA 0x%llx, %zu bytes)",
             (unsigned long long)b->pa, b->size);
    return VMI_SUCCESS;
}

status_t lx_btf_load(vmi_instance_t vmi, struct lx_state *st)
{
    addr_t start, stop;

    if (!lx_sym_lookup(&st->syms, "__start_BTF", &start) ||
        !lx_sym_lookup(&st->syms, "__stop_BTF", &stop))
        return tvmi_fail(vmi, "no __start_BTF/__stop_BTF symbols (kernel "
                         "without CONFIG_DEBUG_INFO_BTF)");
    if (start < st->info.text_va || stop <= start || stop > st->info.end_va ||
        stop - start > BTF_MAX_SIZE)
        return tvmi_fail(vmi, "__start_BTF..__stop_BTF (0x%llx..0x%llx) is not "
                         "inside the image", (unsigned long long)start,
                         (unsigned long long)stop);
    return lx_btf_at(vmi, st, st->info.text_pa + (start - st->info.text_va),
                     (size_t)(stop - start));
}

void lx_btf_free(struct lx_btf *b)
{
    if (!b)
        return;
    lx_view_unmap(&b->view);
    free(b->type_at);
    free(b->composites);
    free(b);
}

/* ---- the index, built on first use --------------------------------------- */

static const uint8_t *type_ptr(const struct lx_btf *b, uint32_t id)
{
    return b->blob + b->type_at[id];
}

static const char *str_at(const struct lx_btf *b, uint32_t off)
{
    /* The section's last byte is checked to be NUL, so this ends. */
    return off < b->str_len ? (const char *)b->blob + b->str_off + off : "";
}

/* One pass: where each type starts. type_at has room for the most types
 * the section can hold (12 bytes each). */
static bool count_types(struct lx_btf *b)
{
    uint32_t pos = b->type_off, end = b->type_off + b->type_len, id = 0;

    while (pos < end) {
        long extra;
        if (end - pos < 12 || id >= BTF_MAX_TYPES)
            return false;
        extra = extra_size(lx_get_u32(b->blob + pos + 4));
        if (extra < 0 || (uint64_t)extra > end - pos - 12)
            return false;
        b->type_at[++id] = pos;
        pos += 12 + (uint32_t)extra;
    }
    b->ntypes = id;
    return true;
}

static uint32_t name_off(const struct lx_btf *b, uint32_t id)
{
    return lx_get_u32(type_ptr(b, id));
}

static uint32_t info_of(const struct lx_btf *b, uint32_t id)
{
    return lx_get_u32(type_ptr(b, id) + 4);
}

static bool composite(uint32_t info)
{
    return kind_of(info) == KIND_STRUCT || kind_of(info) == KIND_UNION;
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h | 1; /* never 0, so a slot's hash alone tells it is used */
}

/* Struct and union names into a table at most half full; the first id of
 * a name wins (a later one is another type of the same name). */
static bool index_composites(struct lx_btf *b)
{
    uint32_t n = 0, cap = 16;

    for (uint32_t id = 1; id <= b->ntypes; id++)
        n += composite(info_of(b, id)) && name_off(b, id);
    while (cap < 2 * n)
        cap *= 2;
    b->composites = calloc(cap, sizeof(*b->composites));
    if (!b->composites)
        return false;
    b->mask = cap - 1;
    for (uint32_t id = 1; id <= b->ntypes; id++) {
        const char *name;
        uint32_t h, at;

        if (!composite(info_of(b, id)) || !name_off(b, id))
            continue;
        name = str_at(b, name_off(b, id));
        h = name_hash(name);
        for (at = h & b->mask; b->composites[at].id; at = (at + 1) & b->mask)
            if (b->composites[at].hash == h &&
                !strcmp(str_at(b, name_off(b, b->composites[at].id)), name))
                break;
        if (!b->composites[at].id)
            b->composites[at] = (struct named_slot){ id, h };
    }
    return true;
}

static status_t btf_ready(vmi_instance_t vmi, struct lx_btf *b)
{
    char wb[40];

    if (!b)
        return tvmi_fail(vmi, "no BTF type information was found in this kernel");
    if (b->error[0])
        return tvmi_fail(vmi, "%s", b->error);
    if (b->composites)
        return VMI_SUCCESS;
    if (!b->view.p && !lx_view_map(vmi, b->pa, b->size, &b->view))
        return tvmi_fail(vmi, "BTF: out of memory");
    b->blob = b->view.p;
    if (b->blob[b->str_off + b->str_len - 1] != 0 ||
        !(b->type_at = malloc(sizeof(uint32_t) * ((size_t)b->type_len / 12 + 2))) ||
        !count_types(b) || !index_composites(b)) {
        snprintf(b->error, sizeof(b->error), "%s: malformed type section",
                 where(b, wb));
        return tvmi_fail(vmi, "%s", b->error);
    }
    return VMI_SUCCESS;
}

/* The first struct or union of that name (declarations are KIND_FWD). */
static uint32_t find_composite(const struct lx_btf *b, const char *name)
{
    uint32_t h = name_hash(name);

    for (uint32_t at = h & b->mask; b->composites[at].id; at = (at + 1) & b->mask)
        if (b->composites[at].hash == h &&
            !strcmp(str_at(b, name_off(b, b->composites[at].id)), name))
            return b->composites[at].id;
    return 0;
}

/* Follows typedef/const/volatile/restrict/type_tag to the real type. */
static uint32_t resolve(const struct lx_btf *b, uint32_t id)
{
    for (int i = 0; i < 16 && id && id <= b->ntypes; i++) {
        uint32_t k = kind_of(info_of(b, id));
        if (k != KIND_TYPEDEF && k != KIND_CONST && k != KIND_VOLATILE &&
            k != KIND_RESTRICT && k != KIND_TYPE_TAG)
            return id;
        id = lx_get_u32(type_ptr(b, id) + 8);
    }
    return 0;
}

/* Bytes of a type that is not an array. */
static bool scalar_size(const struct lx_btf *b, uint32_t id, uint64_t *size)
{
    uint32_t k;

    id = resolve(b, id);
    if (!id)
        return false;
    k = kind_of(info_of(b, id));
    if (k == KIND_PTR) {
        *size = 8;
        return true;
    }
    if (k != KIND_INT && k != KIND_STRUCT && k != KIND_UNION && k != KIND_ENUM &&
        k != KIND_ENUM64 && k != KIND_FLOAT)
        return false;
    *size = lx_get_u32(type_ptr(b, id) + 8);
    return true;
}

/* Bytes of a type; an array's are all its elements' (arrays of arrays are
 * not needed by anything we read). */
static bool type_size(const struct lx_btf *b, uint32_t id, uint64_t *size,
                      uint32_t *nelems)
{
    uint32_t r = resolve(b, id);
    const uint8_t *t;
    uint64_t elem;

    *nelems = 0;
    if (!r || kind_of(info_of(b, r)) != KIND_ARRAY)
        return scalar_size(b, id, size);
    t = type_ptr(b, r);
    if (!scalar_size(b, lx_get_u32(t + 12), &elem))
        return false;
    *nelems = lx_get_u32(t + 20);
    *size = elem * *nelems;
    return true;
}

/* Where a member sits: bit offset, type, bitfield width (0 = none). */
struct member {
    uint64_t bits;
    uint32_t type;
    uint32_t width;
};

/* Member in composite id, searching anonymous members. */
static bool find_member(const struct lx_btf *b, uint32_t id, const char *name,
                        int depth, struct member *out)
{
    uint32_t info = info_of(b, id);
    const uint8_t *m = type_ptr(b, id) + 12;

    for (uint32_t i = 0; i < vlen_of(info); i++, m += 12) {
        uint32_t mname = lx_get_u32(m), type = lx_get_u32(m + 4);
        uint32_t off = lx_get_u32(m + 8), width = 0, sub;

        if (info >> 31) { /* kind_flag: bitfield size in the top byte */
            width = off >> 24;
            off &= 0xffffff;
        }
        if (mname && !strcmp(str_at(b, mname), name)) {
            *out = (struct member){ off, type, width };
            return true;
        }
        sub = resolve(b, type);
        if (!mname && depth < BTF_MAX_NEST && sub && composite(info_of(b, sub)) &&
            find_member(b, sub, name, depth + 1, out)) {
            out->bits += off;
            return true;
        }
    }
    return false;
}

/* Without kind_flag a bitfield is an INT whose encoding says its width
 * and its bit offset inside the member's slot. */
static void int_bitfield(const struct lx_btf *b, struct member *m)
{
    uint32_t id = resolve(b, m->type), enc, nbits;

    if (m->width || !id || kind_of(info_of(b, id)) != KIND_INT)
        return;
    enc = lx_get_u32(type_ptr(b, id) + 12);
    nbits = enc & 0xff;
    if (nbits != 8 * lx_get_u32(type_ptr(b, id) + 8)) {
        m->bits += (enc >> 16) & 0xff;
        m->width = nbits;
    }
}

/* ---- facts: answers kept, and answers given by a hint ------------------ */

static const struct lx_btf_fact *fact_find(const struct lx_btf *b, char kind,
                                           const char *st, const char *member)
{
    for (size_t i = 0; b && i < b->nfacts; i++) {
        const struct lx_btf_fact *f = &b->facts[i];
        if (f->kind == kind && !strcmp(f->st, st) && !strcmp(f->member, member))
            return f;
    }
    return NULL;
}

void lx_btf_know(struct lx_btf *b, const struct lx_btf_fact *f)
{
    if (!b || b->nfacts >= LX_BTF_FACTS || (f->kind != 'f' && f->kind != 's') ||
        strnlen(f->st, sizeof(f->st)) >= sizeof(f->st) ||
        strnlen(f->member, sizeof(f->member)) >= sizeof(f->member) ||
        fact_find(b, f->kind, f->st, f->member))
        return;
    b->facts[b->nfacts++] = *f;
}

bool lx_btf_fact_at(const struct lx_btf *b, size_t i, struct lx_btf_fact *out)
{
    if (!b || i >= b->nfacts)
        return false;
    *out = b->facts[i];
    return true;
}

void lx_btf_know_types(struct lx_btf *b, uint32_t ntypes)
{
    if (b && ntypes <= BTF_MAX_TYPES)
        b->known_types = ntypes;
}

static void remember(struct lx_btf *b, char kind, const char *st,
                     const char *member, bool found, bool missing_struct,
                     const struct lx_field *f)
{
    struct lx_btf_fact k = { .kind = kind, .found = found,
                             .missing_struct = missing_struct };

    if (strlen(st) >= sizeof(k.st) || strlen(member) >= sizeof(k.member))
        return;
    memcpy(k.st, st, strlen(st) + 1);
    memcpy(k.member, member, strlen(member) + 1);
    if (f)
        k.f = *f;
    lx_btf_know(b, &k);
}

/* The failure a known absence stands for, worded as the lookup words it. */
static status_t missing(vmi_instance_t vmi, const struct lx_btf_fact *k)
{
    if (k->missing_struct)
        return tvmi_fail(vmi, "BTF: no struct or union '%.64s'", k->st);
    return tvmi_fail(vmi, "BTF: '%.64s' has no member '%.64s'", k->st, k->member);
}

/* ---- lookups ---------------------------------------------------------------- */

enum { MISSING_NONE, MISSING_STRUCT, MISSING_MEMBER };

static status_t lookup(vmi_instance_t vmi, struct lx_btf *b, const char *st,
                       const char *member, struct member *m, int *why)
{
    uint32_t id;

    *why = MISSING_NONE;
    if (btf_ready(vmi, b) != VMI_SUCCESS)
        return VMI_FAILURE;
    id = find_composite(b, st);
    if (!id) {
        *why = MISSING_STRUCT;
        return tvmi_fail(vmi, "BTF: no struct or union '%.64s'", st);
    }
    if (!find_member(b, id, member, 0, m)) {
        *why = MISSING_MEMBER;
        return tvmi_fail(vmi, "BTF: '%.64s' has no member '%.64s'", st, member);
    }
    int_bitfield(b, m);
    return VMI_SUCCESS;
}

status_t lx_btf_member_offset(vmi_instance_t vmi, struct lx_btf *b,
                              const char *st, const char *member, size_t *off)
{
    const struct lx_btf_fact *k = fact_find(b, 'f', st, member);
    struct member m;
    int why;

    if (k && !k->found)
        return missing(vmi, k);
    if (k)
        m = (struct member){ 8 * (uint64_t)k->f.off + k->f.bit, 0, k->f.width };
    else if (lookup(vmi, b, st, member, &m, &why) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (m.bits % 8 || m.width)
        return tvmi_fail(vmi, "BTF: %.64s.%.64s is a bitfield (bit %llu)", st,
                         member, (unsigned long long)m.bits);
    *off = (size_t)(m.bits / 8);
    return VMI_SUCCESS;
}

status_t lx_btf_field(vmi_instance_t vmi, struct lx_btf *b, const char *st,
                      const char *member, struct lx_field *f)
{
    const struct lx_btf_fact *k = fact_find(b, 'f', st, member);
    struct member m;
    uint64_t size = 0;
    uint32_t nelems = 0;
    int why;

    if (k) {
        if (!k->found)
            return missing(vmi, k);
        *f = k->f;
        return VMI_SUCCESS;
    }
    if (lookup(vmi, b, st, member, &m, &why) != VMI_SUCCESS) {
        if (why != MISSING_NONE)
            remember(b, 'f', st, member, false, why == MISSING_STRUCT, NULL);
        return VMI_FAILURE;
    }
    if (!m.width && !type_size(b, m.type, &size, &nelems))
        return tvmi_fail(vmi, "BTF: %.64s.%.64s has a type of no known size",
                         st, member);
    if (size > (1u << 20))
        return tvmi_fail(vmi, "BTF: %.64s.%.64s is %llu bytes", st, member,
                         (unsigned long long)size);
    *f = (struct lx_field){
        .off = (size_t)(m.bits / 8), .size = (size_t)size, .nelems = nelems,
        .bit = (uint32_t)(m.bits % 8), .width = m.width,
    };
    if (m.width) /* the bytes the bitfield touches */
        f->size = (f->bit + m.width + 7) / 8;
    remember(b, 'f', st, member, true, false, f);
    return VMI_SUCCESS;
}

status_t lx_btf_struct_size(vmi_instance_t vmi, struct lx_btf *b,
                            const char *st, size_t *size)
{
    const struct lx_btf_fact *k = fact_find(b, 's', st, "");
    struct lx_field f = { 0 };
    uint32_t id;

    if (k) {
        if (!k->found)
            return missing(vmi, k);
        *size = k->f.size;
        return VMI_SUCCESS;
    }
    if (btf_ready(vmi, b) != VMI_SUCCESS)
        return VMI_FAILURE;
    id = find_composite(b, st);
    if (!id) {
        remember(b, 's', st, "", false, true, NULL);
        return tvmi_fail(vmi, "BTF: no struct or union '%.64s'", st);
    }
    *size = f.size = lx_get_u32(type_ptr(b, id) + 8);
    remember(b, 's', st, "", true, false, &f);
    return VMI_SUCCESS;
}

uint32_t lx_btf_types_known(const struct lx_btf *b)
{
    if (!b || b->error[0])
        return 0;
    return b->composites ? b->ntypes : b->known_types;
}

uint32_t lx_btf_type_count(vmi_instance_t vmi, struct lx_btf *b)
{
    if (b && !b->composites && !b->error[0] && b->known_types)
        return b->known_types;
    return b && btf_ready(vmi, b) == VMI_SUCCESS ? b->ntypes : 0;
}

/* ELF64 little-endian: the file range of section name (0 when absent or
 * out of the file). Every offset comes from the file, so each is checked. */
static bool elf_section(const uint8_t *f, size_t len, const char *name,
                        size_t *off, size_t *size)
{
    uint64_t shoff, stroff, strsize;
    uint16_t shentsize, shnum, shstrndx;
    size_t nlen = strlen(name) + 1;

    if (len < 64 || f[4] != 2 || f[5] != 1) /* ELFCLASS64, little-endian */
        return false;
    shoff = lx_get_u64(f + 0x28);
    memcpy(&shentsize, f + 0x3a, 2);
    memcpy(&shnum, f + 0x3c, 2);
    memcpy(&shstrndx, f + 0x3e, 2);
    if (shentsize < 64 || shstrndx >= shnum || shoff > len ||
        (uint64_t)shnum * shentsize > len - shoff)
        return false;
    stroff = lx_get_u64(f + shoff + (size_t)shstrndx * shentsize + 0x18);
    strsize = lx_get_u64(f + shoff + (size_t)shstrndx * shentsize + 0x20);
    if (stroff > len || strsize > len - stroff)
        return false;
    for (uint16_t i = 0; i < shnum; i++) {
        const uint8_t *sh = f + shoff + (size_t)i * shentsize;
        uint32_t at = lx_get_u32(sh);
        uint64_t o = lx_get_u64(sh + 0x18), n = lx_get_u64(sh + 0x20);

        if (at >= strsize || strsize - at < nlen ||
            memcmp(f + stroff + at, name, nlen) != 0)
            continue;
        if (lx_get_u32(sh + 4) == 8 /* SHT_NOBITS */ || o > len || n > len - o)
            return false;
        *off = (size_t)o;
        *size = (size_t)n;
        return true;
    }
    return false;
}

/* A BTF blob from a file (the raw .BTF section, a copy of
 * /sys/kernel/btf/vmlinux, or a vmlinux ELF holding .BTF): the same reader
 * over a copy of buf, indexed now so that a bad file fails here rather
 * than at the first lookup. */
status_t lx_btf_from_buffer(vmi_instance_t vmi, const void *buf, size_t len,
                            struct lx_btf **out)
{
    struct lx_btf *b;

    if (len >= 4 && memcmp(buf, "\177ELF", 4) == 0) {
        size_t off, size;

        if (!elf_section(buf, len, ".BTF", &off, &size))
            return tvmi_fail(vmi, "BTF: an ELF file without a readable .BTF "
                             "section (a vmlinux built without "
                             "CONFIG_DEBUG_INFO_BTF?)");
        buf = (const uint8_t *)buf + off;
        len = size;
    }
    if (len < 24 || len > BTF_MAX_SIZE)
        return tvmi_fail(vmi, "BTF: %zu bytes is no BTF blob", len);
    b = calloc(1, sizeof(*b));
    if (!b || !(b->view.copy = malloc(len))) {
        free(b);
        return tvmi_fail(vmi, "BTF: out of memory");
    }
    memcpy(b->view.copy, buf, len);
    b->view.p = b->view.copy;
    b->size = len;
    if (parse_header(vmi, b) != VMI_SUCCESS || btf_ready(vmi, b) != VMI_SUCCESS) {
        lx_btf_free(b);
        return VMI_FAILURE;
    }
    *out = b;
    return VMI_SUCCESS;
}
