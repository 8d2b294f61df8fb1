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

static bool key_name(struct isf *p, const struct lx_json_str *k, char *buf,
                     size_t n)
{
    if (lx_json_str_copy(k, buf, n) && buf[0])
        return true;
    return lx_json_fail(&p->j, "a name that is empty or longer than %zu bytes",
                     n - 1);
}

/* {"kind": ..., "name": ...}: the parts lookups need. */
struct type_ref {
    char kind[16];
    char name[256];
};

static bool type_ref(struct isf *p, struct type_ref *t)
{
    struct lx_json_str k, v;

    t->kind[0] = t->name[0] = '\0';
    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        if ((lx_json_str_is(&k, "kind") || lx_json_str_is(&k, "name")) &&
            lx_json_peek(&p->j) == '"') {
            if (!lx_json_string(&p->j, &v))
                return false;
            if (lx_json_str_is(&k, "kind") ? !lx_json_str_copy(&v, t->kind, sizeof(t->kind))
                                        : !lx_json_str_copy(&v, t->name, sizeof(t->name)))
                t->name[0] = '\0'; /* too long to be one we look up */
        } else if (!lx_json_skip(&p->j)) {
            return false;
        }
    }
    return !p->j.failed;
}

static bool is_composite(const char *kind)
{
    return !strcmp(kind, "struct") || !strcmp(kind, "union") ||
           !strcmp(kind, "class");
}

static bool field(struct isf *p, const char *name)
{
    struct lx_json_str k;
    struct type_ref t = { "", "" };
    uint64_t off = 0;
    bool has_off = false, anon = !strncmp(name, "unnamed_field", 13);
    uint32_t flags = 0;

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        bool ok;
        if (lx_json_str_is(&k, "offset"))
            ok = has_off = lx_json_u64(&p->j, &off);
        else if (lx_json_str_is(&k, "type"))
            ok = type_ref(p, &t);
        else if (lx_json_str_is(&k, "anonymous"))
            ok = lx_json_peek(&p->j) == 'n' ? lx_json_skip(&p->j) : lx_json_bool(&p->j, &anon);
        else
            ok = lx_json_skip(&p->j);
        if (!ok)
            return false;
    }
    if (p->j.failed)
        return false;
    if (!has_off)
        return lx_json_fail(&p->j, "the field has no offset");
    if (anon && is_composite(t.kind))
        flags |= LX_PF_ANON;
    if (!strcmp(t.kind, "bitfield"))
        flags |= LX_PF_BITFIELD;
    if (!(flags & LX_PF_ANON))
        t.name[0] = '\0';
    if (!lx_ptypes_add_field(&p->out->types, name, strlen(name), off, flags,
                             t.name, strlen(t.name)))
        return lx_json_fail(&p->j, "too many fields (%u), or out of memory",
                         LX_PROFILE_MAX_FIELDS);
    return true;
}

static bool fields(struct isf *p, const char *type)
{
    struct lx_json_str k;
    char name[LX_NAME_MAX];

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        if (!key_name(p, &k, name, sizeof(name)))
            return false;
        at(p, "user_types", type, name);
        if (!field(p, name))
            return false;
    }
    return !p->j.failed;
}

static bool user_type(struct isf *p, const char *name)
{
    struct lx_ptypes *t = &p->out->types;
    struct lx_json_str k;
    bool has_size = false;

    if (!lx_ptypes_add_type(t, name, strlen(name), 0))
        return lx_json_fail(&p->j, "too many types (%u), or out of memory",
                         LX_PROFILE_MAX_TYPES);
    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        bool ok;
        if (lx_json_str_is(&k, "size"))
            ok = has_size = lx_json_u64(&p->j, &t->type[t->ntypes - 1].size);
        else if (lx_json_str_is(&k, "fields"))
            ok = fields(p, name);
        else
            ok = lx_json_skip(&p->j);
        if (!ok)
            return false;
        at(p, "user_types", name, NULL);
    }
    if (!p->j.failed && !has_size)
        return lx_json_fail(&p->j, "the type has no size");
    return !p->j.failed;
}

static bool user_types(struct isf *p)
{
    struct lx_json_str k;
    char name[LX_NAME_MAX];

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        if (!key_name(p, &k, name, sizeof(name)))
            return false;
        at(p, "user_types", name, NULL);
        if (!user_type(p, name))
            return false;
    }
    return !p->j.failed;
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

static bool symbol(struct isf *p, const char *name)
{
    struct lx_json_str k, data = { 0 };
    struct type_ref t = { "", "" };
    uint64_t addr = 0;
    bool has_addr = false, has_data = false;

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        bool ok;
        if (lx_json_str_is(&k, "address"))
            ok = has_addr = lx_json_u64(&p->j, &addr);
        else if (lx_json_str_is(&k, "type"))
            ok = type_ref(p, &t);
        else if (lx_json_str_is(&k, "constant_data") && lx_json_peek(&p->j) == '"')
            ok = has_data = lx_json_string(&p->j, &data);
        else
            ok = lx_json_skip(&p->j);
        if (!ok)
            return false;
    }
    if (p->j.failed)
        return false;
    if (!has_addr)
        return lx_json_fail(&p->j, "the symbol has no address");
    if (has_data && !strcmp(name, "linux_banner") && !banner_from_base64(p, &data))
        return false;
    if (!lx_psyms_add(&p->out->syms, addr, symbol_letter(&t), name, strlen(name)))
        return lx_json_fail(&p->j, "too many symbols (%u), or out of memory",
                         LX_PROFILE_MAX_SYMS);
    return true;
}

static bool symbols(struct isf *p)
{
    struct lx_json_str k;
    char name[LX_NAME_MAX - 1];

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        if (!key_name(p, &k, name, sizeof(name)))
            return false;
        at(p, "symbols", name, NULL);
        if (!symbol(p, name))
            return false;
    }
    return !p->j.failed;
}

/* ---- the rest ------------------------------------------------------------------- */

static bool metadata(struct isf *p)
{
    struct lx_json_str k, v;

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        bool ok;
        if (lx_json_str_is(&k, "format") && lx_json_peek(&p->j) == '"') {
            ok = lx_json_string(&p->j, &v);
            if (ok && !lx_json_str_copy(&v, p->out->format, sizeof(p->out->format)))
                p->out->format[0] = '\0';
        } else {
            ok = lx_json_skip(&p->j);
        }
        if (!ok)
            return false;
    }
    return !p->j.failed;
}

static bool pointer_size(struct isf *p)
{
    struct lx_json_str k;

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k))
        if (!(lx_json_str_is(&k, "size") ? lx_json_u64(&p->j, &p->out->pointer_size)
                                      : lx_json_skip(&p->j)))
            return false;
    return !p->j.failed;
}

/* base_types and enums are counted; of base types only pointer's size is
 * kept (it says the profile is for a 64-bit kernel). */
static bool count_members(struct isf *p, uint32_t *n, bool base)
{
    struct lx_json_str k;

    if (!lx_json_object(&p->j))
        return false;
    while (lx_json_key(&p->j, &k)) {
        (*n)++;
        if (!(base && lx_json_str_is(&k, "pointer") ? pointer_size(p)
                                                 : lx_json_skip(&p->j)))
            return false;
    }
    return !p->j.failed;
}

static bool section(struct isf *p, const struct lx_json_str *k)
{
    if (lx_json_str_is(k, "metadata")) {
        at(p, "metadata", NULL, NULL);
        return metadata(p);
    }
    if (lx_json_str_is(k, "base_types")) {
        at(p, "base_types", NULL, NULL);
        return count_members(p, &p->out->nbase_types, true);
    }
    if (lx_json_str_is(k, "enums")) {
        at(p, "enums", NULL, NULL);
        return count_members(p, &p->out->nenums, false);
    }
    if (lx_json_str_is(k, "user_types"))
        return user_types(p);
    if (lx_json_str_is(k, "symbols"))
        return symbols(p);
    at(p, "", NULL, NULL);
    return lx_json_skip(&p->j);
}

static status_t parse(struct isf *p, char *err, size_t errlen)
{
    struct lx_json_str k;

    if (!lx_json_object(&p->j))
        goto fail;
    while (lx_json_key(&p->j, &k))
        if (!section(p, &k))
            goto fail;
    if (p->j.failed)
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
    if (!lx_ptypes_finish(&p->out->types)) {
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
    memset(isf, 0, sizeof(*isf));
}
