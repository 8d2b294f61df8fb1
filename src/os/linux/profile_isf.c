/*
 * Volatility 3's Intermediate Symbol Format (ISF): one JSON object with
 *
 *   metadata    {format, producer, linux: {symbols: [...], types: [...]}}
 *   base_types  name -> {size, signed, kind, endian}
 *   user_types  name -> {size, kind, fields: name -> {offset, type, anonymous?}}
 *   enums       name -> {size, base, constants}
 *   symbols     name -> {address, type?, constant_data?}
 *
 * Addresses are link-time. An anonymous member appears as a field
 * ("unnamed_field_0", or "anonymous": true) whose type is a struct or union
 * in user_types; lookups look inside those. linux_banner's constant_data
 * (base64) is the banner of the kernel the profile was made for.
 */
#include "json.h"
#include "profile.h"

struct isf {
    struct lx_json j;
    struct lx_isf *out;
    char where[192]; /* the member being read, for errors */
};

static void at(struct isf *p, const char *sect, const char *a, const char *b)
{
    snprintf(p->where, sizeof(p->where), "%s%s%.80s%s%.60s", sect,
             a ? "." : "", a ? a : "", b ? "." : "", b ? b : "");
}

/* ---- walking objects ------------------------------------------------------------ */

/* Reads or skips the value of member k of the object being walked. */
typedef bool (*member_fn)(struct isf *p, const struct lx_json_str *k, void *arg);

/* Every member of the object that comes next, in turn: the walk each
 * part of the document shares. */
static bool each_member(struct isf *p, member_fn fn, void *arg)
{
    struct lx_json_str k;

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k))
        if (!fn(p, &k, arg))
            return false;
    return !p->j.failed;
}

/* Reads the value of the member called name, whose key named it. */
typedef bool (*named_fn)(struct isf *p, const char *name, void *arg);

struct named {
    const char *sect, *parent; /* for errors: "user_types", "task_struct" */
    size_t max;                /* longest name + 1 */
    named_fn fn;
    void *arg;
};

static bool named_member(struct isf *p, const struct lx_json_str *k, void *arg)
{
    const struct named *n = arg;
    char name[LX_NAME_MAX];

    if (!lx_json_str_copy(k, name, n->max) || !name[0])
        return lx_json_fail(&p->j, "a name that is empty or longer than %zu "
                            "bytes", n->max - 1);
    if (n->parent)
        at(p, n->sect, n->parent, name);
    else
        at(p, n->sect, name, NULL);
    return n->fn(p, name, n->arg);
}

/* An object whose members are named things (types, fields, symbols). */
static bool each_named(struct isf *p, const char *sect, const char *parent,
                       size_t max, named_fn fn, void *arg)
{
    struct named n = { sect, parent, max, fn, arg };

    return each_member(p, named_member, &n);
}

/* A string value into buf; one too long to be one we look up is "". */
static bool string_into(struct isf *p, char *buf, size_t n)
{
    struct lx_json_str v;

    if (!lx_json_string(&p->j, &v))
        return false;
    if (!lx_json_str_copy(&v, buf, n))
        buf[0] = '\0';
    return true;
}

/* ---- types ---------------------------------------------------------------------- */

/* {"kind", "name", "count", "bit_position", "bit_length", "subtype" or
 * "type"}: what lookups need. Arrays, pointers and bitfields describe
 * their element, target or underlying type in a nested one: leaf and name
 * are the innermost named type's, except that a pointer is a pointer
 * whatever it points to. */
struct type_ref {
    char kind[16];      /* the outermost kind */
    char leaf[16];      /* the kind whose size the field's follows from */
    char name[256];
    uint64_t count;     /* arrays: the outermost count */
    uint64_t elems;     /* arrays: every element, nested arrays multiplied */
    uint64_t bit, width;
};

#define LX_ISF_MAX_ELEMS (1ull << 40) /* saturates: far beyond any layout */

struct ref_level {
    struct type_ref *t;
    char kind[16];
    uint64_t count;
    bool nested;
};

static bool ref_level(struct isf *p, struct type_ref *t);

static bool ref_member(struct isf *p, const struct lx_json_str *k, void *arg)
{
    struct ref_level *l = arg;
    int c = lx_json_peek(&p->j);

    if (lx_json_str_is(k, "kind") && c == '"')
        return string_into(p, l->kind, sizeof(l->kind));
    if (lx_json_str_is(k, "name") && c == '"')
        return string_into(p, l->t->name, sizeof(l->t->name));
    if (lx_json_str_is(k, "count"))
        return lx_json_u64(&p->j, &l->count);
    if (lx_json_str_is(k, "bit_position"))
        return lx_json_u64(&p->j, &l->t->bit);
    if (lx_json_str_is(k, "bit_length"))
        return lx_json_u64(&p->j, &l->t->width);
    if ((lx_json_str_is(k, "subtype") || lx_json_str_is(k, "type")) && c == '{') {
        l->nested = true;
        return ref_level(p, l->t); /* depth: bounded by the JSON reader */
    }
    return lx_json_skip(&p->j);
}

static bool ref_level(struct isf *p, struct type_ref *t)
{
    struct ref_level l = { .t = t, .count = 1 };

    if (!each_member(p, ref_member, &l))
        return false;
    if (!l.nested)
        memcpy(t->leaf, l.kind, sizeof(t->leaf));
    if (!strcmp(l.kind, "pointer")) {
        memcpy(t->leaf, l.kind, sizeof(t->leaf));
        t->name[0] = '\0';
        t->elems = 1;
        t->count = 0;
    } else if (!strcmp(l.kind, "array")) {
        t->count = l.count;
        t->elems = l.count && t->elems > LX_ISF_MAX_ELEMS / l.count
                       ? LX_ISF_MAX_ELEMS : t->elems * l.count;
    }
    memcpy(t->kind, l.kind, sizeof(t->kind)); /* the outermost is last */
    return true;
}

static bool type_ref(struct isf *p, struct type_ref *t)
{
    memset(t, 0, sizeof(*t));
    t->elems = 1;
    return ref_level(p, t);
}

static bool is_composite(const char *kind)
{
    return !strcmp(kind, "struct") || !strcmp(kind, "union") ||
           !strcmp(kind, "class");
}

static uint8_t kind_code(const char *kind)
{
    if (!strcmp(kind, "base"))
        return LX_PK_BASE;
    if (!strcmp(kind, "pointer"))
        return LX_PK_POINTER;
    if (is_composite(kind))
        return LX_PK_COMPOSITE;
    if (!strcmp(kind, "enum"))
        return LX_PK_ENUM;
    return LX_PK_OTHER;
}

struct field {
    struct type_ref t;
    uint64_t off;
    bool has_off, anon;
};

static bool field_member(struct isf *p, const struct lx_json_str *k, void *arg)
{
    struct field *f = arg;

    if (lx_json_str_is(k, "offset"))
        return f->has_off = lx_json_u64(&p->j, &f->off);
    if (lx_json_str_is(k, "type"))
        return type_ref(p, &f->t);
    if (lx_json_str_is(k, "anonymous"))
        return lx_json_peek(&p->j) == 'n' ? lx_json_skip(&p->j)
                                          : lx_json_bool(&p->j, &f->anon);
    return lx_json_skip(&p->j);
}

static bool field(struct isf *p, const char *name, void *arg)
{
    struct field f = { .anon = !strncmp(name, "unnamed_field", 13) };
    struct lx_ptype_ref ref;
    uint32_t flags = 0;

    (void)arg;
    memset(&f.t, 0, sizeof(f.t));
    f.t.elems = 1;
    if (!each_member(p, field_member, &f))
        return false;
    if (!f.has_off)
        return lx_json_fail(&p->j, "the field has no offset");
    if (f.anon && is_composite(f.t.kind))
        flags |= LX_PF_ANON;
    if (!strcmp(f.t.kind, "bitfield")) {
        flags |= LX_PF_BITFIELD;
        if (f.t.bit > 255 || f.t.width > 64)
            return lx_json_fail(&p->j, "bitfield at bit %llu, %llu bits: out "
                                "of range", (unsigned long long)f.t.bit,
                                (unsigned long long)f.t.width);
    }
    ref = (struct lx_ptype_ref){
        .name = f.t.name, .name_len = strlen(f.t.name),
        .leaf = kind_code(f.t.leaf),
        .count = f.t.count > UINT32_MAX ? UINT32_MAX : (uint32_t)f.t.count,
        .elems = f.t.elems, .bit = (uint8_t)f.t.bit, .width = (uint8_t)f.t.width,
    };
    if (ref.leaf == LX_PK_OTHER || ref.leaf == LX_PK_POINTER)
        ref.name_len = 0; /* nothing to look up by it */
    if (!lx_ptypes_add_field(&p->out->types, name, strlen(name), f.off, flags,
                             &ref))
        return lx_json_fail(&p->j, "too many fields (%u), or out of memory",
                         LX_PROFILE_MAX_FIELDS);
    return true;
}

struct user_type {
    const char *name;
    bool has_size;
};

static bool type_member(struct isf *p, const struct lx_json_str *k, void *arg)
{
    struct lx_ptypes *t = &p->out->types;
    struct user_type *u = arg;

    if (lx_json_str_is(k, "size"))
        return u->has_size = lx_json_u64(&p->j, &t->type[t->ntypes - 1].size);
    if (!lx_json_str_is(k, "fields"))
        return lx_json_skip(&p->j);
    if (!each_named(p, "user_types", u->name, LX_NAME_MAX, field, NULL))
        return false;
    at(p, "user_types", u->name, NULL);
    return true;
}

static bool user_type(struct isf *p, const char *name, void *arg)
{
    struct user_type u = { name, false };

    (void)arg;
    if (!lx_ptypes_add_type(&p->out->types, name, strlen(name), 0))
        return lx_json_fail(&p->j, "too many types (%u), or out of memory",
                         LX_PROFILE_MAX_TYPES);
    if (!each_member(p, type_member, &u))
        return false;
    if (!u.has_size)
        return lx_json_fail(&p->j, "the type has no size");
    return true;
}

/* base_types and enums: name -> {size, ...}; only the size is kept. */
static bool size_member(struct isf *p, const struct lx_json_str *k, void *arg)
{
    uint64_t *size = arg;

    if (lx_json_str_is(k, "size"))
        return lx_json_u64(&p->j, size);
    return lx_json_skip(&p->j);
}

static bool sized(struct isf *p, const char *name, void *arg)
{
    struct lx_ptypes *t = arg;
    uint64_t size = 0;

    if (!each_member(p, size_member, &size))
        return false;
    if (t == &p->out->base) {
        p->out->nbase_types++;
        if (!strcmp(name, "pointer"))
            p->out->pointer_size = size;
    } else {
        p->out->nenums++;
    }
    if (size && !lx_ptypes_add_type(t, name, strlen(name), size))
        return lx_json_fail(&p->j, "too many types (%u), or out of memory",
                         LX_PROFILE_MAX_TYPES);
    return true;
}

/* ---- symbols ------------------------------------------------------------------- */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* The banner, up to its newline or NUL, from base64 constant_data. */
static bool banner_from_base64(struct isf *p, const struct lx_json_str *s)
{
    char *out = p->out->banner;
    size_t n = 0, cap = sizeof(p->out->banner) - 1;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < s->len && s->p[i] != '='; i++) {
        int v = b64_value(s->p[i]);
        if (v < 0)
            return lx_json_fail(&p->j, "constant_data is not base64");
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            char c = (char)(acc >> (bits - 8));
            bits -= 8;
            if (c == '\n' || c == '\0')
                break;
            if (n < cap)
                out[n++] = c;
        }
    }
    out[n] = '\0';
    return true;
}

static char symbol_letter(const struct type_ref *t)
{
    if (!strcmp(t->kind, "function"))
        return 'T';
    return t->kind[0] ? 'D' : '?';
}

struct symbol {
    struct type_ref t;
    struct lx_json_str data;
    uint64_t addr;
    bool has_addr, has_data;
};

static bool symbol_member(struct isf *p, const struct lx_json_str *k, void *arg)
{
    struct symbol *s = arg;

    if (lx_json_str_is(k, "address"))
        return s->has_addr = lx_json_u64(&p->j, &s->addr);
    if (lx_json_str_is(k, "type"))
        return type_ref(p, &s->t);
    if (lx_json_str_is(k, "constant_data") && lx_json_peek(&p->j) == '"')
        return s->has_data = lx_json_string(&p->j, &s->data);
    return lx_json_skip(&p->j);
}

static bool symbol(struct isf *p, const char *name, void *arg)
{
    struct symbol s = { .has_addr = false };

    (void)arg;
    if (!each_member(p, symbol_member, &s))
        return false;
    if (!s.has_addr)
        return lx_json_fail(&p->j, "the symbol has no address");
    if (s.has_data && !strcmp(name, "linux_banner") &&
        !banner_from_base64(p, &s.data))
        return false;
    if (!lx_psyms_add(&p->out->syms, s.addr, symbol_letter(&s.t), name,
                      strlen(name)))
        return lx_json_fail(&p->j, "too many symbols (%u), or out of memory",
                         LX_PROFILE_MAX_SYMS);
    return true;
}

/* ---- the rest ------------------------------------------------------------------- */

static bool metadata_member(struct isf *p, const struct lx_json_str *k, void *arg)
{
    (void)arg;
    if (lx_json_str_is(k, "format") && lx_json_peek(&p->j) == '"')
        return string_into(p, p->out->format, sizeof(p->out->format));
    return lx_json_skip(&p->j);
}

static bool section(struct isf *p, const struct lx_json_str *k, void *arg)
{
    (void)arg;
    if (lx_json_str_is(k, "metadata")) {
        at(p, "metadata", NULL, NULL);
        return each_member(p, metadata_member, NULL);
    }
    if (lx_json_str_is(k, "base_types"))
        return each_named(p, "base_types", NULL, LX_NAME_MAX, sized,
                          &p->out->base);
    if (lx_json_str_is(k, "enums"))
        return each_named(p, "enums", NULL, LX_NAME_MAX, sized, &p->out->enums);
    if (lx_json_str_is(k, "user_types"))
        return each_named(p, "user_types", NULL, LX_NAME_MAX, user_type, NULL);
    if (lx_json_str_is(k, "symbols"))
        return each_named(p, "symbols", NULL, LX_NAME_MAX - 1, symbol, NULL);
    at(p, "", NULL, NULL);
    return lx_json_skip(&p->j);
}

static status_t parse(struct isf *p, char *err, size_t errlen)
{
    if (!each_member(p, section, NULL))
        goto fail;
    if (!lx_json_at_end(&p->j)) {
        lx_json_fail(&p->j, "text after the end of the document");
        goto fail;
    }
    if (!p->out->syms.n && !p->out->types.ntypes) {
        snprintf(err, errlen, "neither symbols nor user_types: not an ISF "
                 "profile");
        return VMI_FAILURE;
    }
    if (!lx_ptypes_finish(&p->out->types) || !lx_ptypes_finish(&p->out->base) ||
        !lx_ptypes_finish(&p->out->enums)) {
        snprintf(err, errlen, "out of memory");
        return VMI_FAILURE;
    }
    return VMI_SUCCESS;
fail:
    if (p->where[0])
        snprintf(err, errlen, "%s: %s", p->where, p->j.err);
    else
        snprintf(err, errlen, "%s", p->j.err);
    return VMI_FAILURE;
}

status_t lx_isf_parse(const char *buf, size_t len, struct lx_isf *out,
                      char *err, size_t errlen)
{
    struct isf *p = calloc(1, sizeof(*p));
    status_t rc;

    memset(out, 0, sizeof(*out));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return VMI_FAILURE;
    }
    lx_json_init(&p->j, buf, len);
    p->out = out;
    rc = parse(p, err, errlen);
    free(p);
    if (rc != VMI_SUCCESS)
        lx_isf_free(out);
    return rc;
}

void lx_isf_free(struct lx_isf *isf)
{
    lx_psyms_free(&isf->syms);
    lx_ptypes_free(&isf->types);
    lx_ptypes_free(&isf->base);
    lx_ptypes_free(&isf->enums);
    memset(isf, 0, sizeof(*isf));
}

/* ---- layouts as the views read them --------------------------------------------- */

#define ISF_MAX_OFFSET (1u << 24) /* no kernel structure is 16 MiB */
#define ISF_MAX_FIELD  (1u << 20) /* as for BTF */

/* Bytes of one element of f's type (of the type under a bitfield). */
static bool leaf_size(const struct lx_isf *isf, const struct lx_pfield *f,
                      uint64_t *size)
{
    const char *name = lx_pool_str(&isf->types.pool, f->type_name);
    const struct lx_ptype *t;

    switch (f->leaf) {
    case LX_PK_POINTER:
        *size = isf->pointer_size ? isf->pointer_size : 8;
        return true;
    case LX_PK_BASE:
        t = lx_ptypes_find(&isf->base, name);
        break;
    case LX_PK_COMPOSITE:
        t = lx_ptypes_find(&isf->types, name);
        break;
    case LX_PK_ENUM:
        t = lx_ptypes_find(&isf->enums, name);
        break;
    default:
        return false;
    }
    if (!t || !t->size)
        return false;
    *size = t->size;
    return true;
}

bool lx_isf_field(const struct lx_isf *isf, const char *st, const char *member,
                  struct lx_field *f, char *why, size_t n)
{
    const struct lx_pfield *pf;
    uint64_t off, size;

    if (!lx_ptypes_find(&isf->types, st)) {
        snprintf(why, n, "ISF: no struct or union '%.64s'", st);
        return false;
    }
    if (!(pf = lx_ptypes_member(&isf->types, st, member, &off))) {
        snprintf(why, n, "ISF: '%.64s' has no member '%.64s'", st, member);
        return false;
    }
    if (off >= ISF_MAX_OFFSET) {
        snprintf(why, n, "ISF: %.64s.%.64s is at offset %llu", st, member,
                 (unsigned long long)off);
        return false;
    }
    if (pf->flags & LX_PF_BITFIELD) {
        uint32_t bit = pf->bit % 8;
        *f = (struct lx_field){ .off = (size_t)off + pf->bit / 8, .bit = bit,
                                .width = pf->width,
                                .size = (bit + pf->width + 7) / 8 };
        if (pf->width)
            return true;
        snprintf(why, n, "ISF: %.64s.%.64s is a bitfield of no bits", st, member);
        return false;
    }
    if (!leaf_size(isf, pf, &size)) {
        snprintf(why, n, "ISF: %.64s.%.64s has a type of no known size", st,
                 member);
        return false;
    }
    if (size > ISF_MAX_FIELD || pf->elems > ISF_MAX_FIELD ||
        size * pf->elems > ISF_MAX_FIELD) {
        snprintf(why, n, "ISF: %.64s.%.64s is %llu elements of %llu bytes", st,
                 member, (unsigned long long)pf->elems, (unsigned long long)size);
        return false;
    }
    *f = (struct lx_field){ .off = (size_t)off, .size = (size_t)(size * pf->elems),
                            .nelems = pf->count };
    return true;
}

bool lx_isf_struct_size(const struct lx_isf *isf, const char *st, size_t *size)
{
    const struct lx_ptype *t = lx_ptypes_find(&isf->types, st);

    if (!t || t->size >= ISF_MAX_OFFSET)
        return false;
    *size = (size_t)t->size;
    return true;
}
