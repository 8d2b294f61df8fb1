/*
 * vmi_init_complete's config -> the profile in use. Runs after discovery,
 * which found the kernel, its slide and (usually) kallsyms and BTF in
 * memory: the profile is read, checked against those (profile_check.c),
 * and only then replaces them:
 *
 *   symbols  System.map, else the ISF's symbols, slid to where the kernel
 *            runs (linux_kaslr in a conf overrides the slide found)
 *   layouts  libvmi.conf's linux_* offsets, then the ISF's user_types,
 *            then BTF: a BTF file replaces memory's. memory_btf = no in
 *            the conf drops memory's, as if the kernel had none; the
 *            views then read with the ISF's layouts (views.c).
 */
#include "platform.h"
#include "profile.h"

void lx_profile_note(tvmi_linux_info_t *info, const char *fmt, ...)
{
    size_t used = strnlen(info->profile_notes, sizeof(info->profile_notes));
    va_list ap;

    if (used && used + 2 < sizeof(info->profile_notes)) {
        memcpy(info->profile_notes + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(info->profile_notes + used, sizeof(info->profile_notes) - used,
              fmt, ap);
    va_end(ap);
}

void lx_profile_free(struct lx_profile *p)
{
    if (!p)
        return;
    lx_psyms_free(&p->sysmap);
    lx_isf_free(&p->isf);
    lx_btf_free(p->btf);
    free(p);
}

/* ---- reading the files ------------------------------------------------------- */

static status_t read_file(vmi_instance_t vmi, const char *what,
                          const char *path, void **buf, size_t *len)
{
    char why[200];

    if (tvmi_platform_read_file(path, buf, len, why, sizeof(why)) != VMI_SUCCESS)
        return tvmi_fail(vmi, "%s %.200s: %s", what, path, why);
    return VMI_SUCCESS;
}

static void keep_path(char *dst, const char *path)
{
    snprintf(dst, LX_CONF_PATH_MAX, "%s", path);
}

static status_t load_sysmap(vmi_instance_t vmi, struct lx_profile *p,
                            const char *path)
{
    char why[200];
    void *buf;
    size_t len;
    status_t rc;

    if (read_file(vmi, "System.map", path, &buf, &len) != VMI_SUCCESS)
        return VMI_FAILURE;
    rc = lx_sysmap_parse(buf, len, &p->sysmap, why, sizeof(why));
    free(buf);
    if (rc != VMI_SUCCESS)
        return tvmi_fail(vmi, "System.map %.200s: %s", path, why);
    keep_path(p->sysmap_path, path);
    return VMI_SUCCESS;
}

static status_t load_isf(vmi_instance_t vmi, struct lx_profile *p,
                         const char *path)
{
    char why[256];
    void *buf;
    size_t len;
    status_t rc;

    if (read_file(vmi, "ISF", path, &buf, &len) != VMI_SUCCESS)
        return VMI_FAILURE;
    rc = lx_isf_parse(buf, len, &p->isf, why, sizeof(why));
    free(buf);
    if (rc != VMI_SUCCESS)
        return tvmi_fail(vmi, "ISF %.200s: %s", path, why);
    if (p->isf.pointer_size && p->isf.pointer_size != 8)
        return tvmi_fail(vmi, "ISF %.200s: pointers are %llu bytes: not a "
                         "64-bit kernel", path,
                         (unsigned long long)p->isf.pointer_size);
    p->has_isf = true;
    keep_path(p->isf_path, path);
    return VMI_SUCCESS;
}

static status_t load_btf(vmi_instance_t vmi, struct lx_profile *p,
                         const char *path)
{
    void *buf;
    size_t len;
    status_t rc;

    if (read_file(vmi, "BTF file", path, &buf, &len) != VMI_SUCCESS)
        return VMI_FAILURE;
    rc = lx_btf_from_buffer(vmi, buf, len, &p->btf);
    free(buf);
    if (rc != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "BTF file %.200s", path);
    keep_path(p->btf_path, path);
    return VMI_SUCCESS;
}

/* The files a conf entry names. */
static status_t load_conf_files(vmi_instance_t vmi, struct lx_profile *p)
{
    const struct lx_conf *c = &p->conf;

    if (c->sysmap[0] && load_sysmap(vmi, p, c->sysmap) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (c->isf[0] && load_isf(vmi, p, c->isf) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (c->btf[0] && load_btf(vmi, p, c->btf) != VMI_SUCCESS)
        return VMI_FAILURE;
    return VMI_SUCCESS;
}

static status_t parse_conf(vmi_instance_t vmi, struct lx_profile *p,
                           const char *text, size_t len,
                           const tvmi_linux_conf_file_t *file)
{
    char why[256];

    if (lx_conf_parse(text, len, file ? file->entry : NULL,
                      file && file->or_first, &p->conf, why,
                      sizeof(why)) != VMI_SUCCESS)
        return tvmi_fail(vmi, "%s%.200s: %s", file ? "libvmi.conf " :
                         "config string", file ? file->path : "", why);
    p->has_conf = true;
    if (file)
        snprintf(p->conf_where, sizeof(p->conf_where), "libvmi.conf %.100s "
                 "entry '%.40s'", file->path, p->conf.entry);
    else
        snprintf(p->conf_where, sizeof(p->conf_where), "the config string");
    return load_conf_files(vmi, p);
}

static status_t load_conf_file(vmi_instance_t vmi, struct lx_profile *p,
                               const tvmi_linux_conf_file_t *file)
{
    void *buf;
    size_t len;
    status_t rc;

    if (!file->path)
        return tvmi_fail(vmi, "VMI_CONFIG_GLOBAL_FILE_ENTRY: no path in the "
                         "tvmi_linux_conf_file_t");
    if (read_file(vmi, "libvmi.conf", file->path, &buf, &len) != VMI_SUCCESS)
        return VMI_FAILURE;
    rc = parse_conf(vmi, p, buf, len, file);
    free(buf);
    return rc;
}

static status_t load(vmi_instance_t vmi, struct lx_profile *p,
                     vmi_config_t mode, void *config)
{
    switch (mode) {
    case VMI_CONFIG_STRING:
        if (!config)
            return tvmi_fail(vmi, "VMI_CONFIG_STRING without a string");
        return parse_conf(vmi, p, config, strlen(config), NULL);
    case VMI_CONFIG_GLOBAL_FILE_ENTRY:
        return load_conf_file(vmi, p, config);
    case VMI_CONFIG_JSON_PATH:
        if (!config)
            return tvmi_fail(vmi, "VMI_CONFIG_JSON_PATH without a path");
        return load_isf(vmi, p, config);
    case VMI_CONFIG_GHASHTABLE:
        return tvmi_fail(vmi, "VMI_CONFIG_GHASHTABLE is not supported (no "
                         "GLib): pass the entry as VMI_CONFIG_STRING");
    default:
        return tvmi_fail(vmi, "unknown configuration mode %d", (int)mode);
    }
}

/* ---- using it ----------------------------------------------------------------- */

static bool same_word(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if ((*a | 0x20) != (*b | 0x20))
            return false;
    return *a == *b;
}

/* The symbols in use: System.map first, else the ISF's, else none. */
static const struct lx_psyms *profile_syms(const struct lx_profile *p,
                                           const char **what, char *buf,
                                           size_t n)
{
    if (p->sysmap.n) {
        snprintf(buf, n, "System.map %.200s", p->sysmap_path);
        *what = buf;
        return &p->sysmap;
    }
    if (p->has_isf && p->isf.syms.n) {
        snprintf(buf, n, "ISF %.200s", p->isf_path);
        *what = buf;
        return &p->isf.syms;
    }
    return NULL;
}

/* Link-time _text to the _text memory runs: the slide to apply. */
static int64_t find_slide(const struct lx_state *st, const struct lx_profile *p,
                          const struct lx_psyms *ps)
{
    uint64_t text;

    if (p->conf.has_kaslr)
        return p->conf.kaslr;
    if (ps && (lx_psyms_find(ps, "_text", &text) ||
               lx_psyms_find(ps, "startup_64", &text)) && text >= LX_KMAP_BASE)
        return (int64_t)(st->info.text_va - text);
    return st->info.virt_slide;
}

/* An ISF may carry its kernel's banner (linux_banner's constant_data). */
static status_t check_isf_banner(vmi_instance_t vmi, struct lx_state *st,
                                 const struct lx_profile *p)
{
    if (!p->has_isf || !p->isf.banner[0])
        return VMI_SUCCESS;
    if (strcmp(p->isf.banner, st->info.banner))
        return tvmi_fail(vmi, "ISF %.120s disagrees with memory: it is for "
                         "\"%.80s\", but the kernel in memory is \"%.80s\"",
                         p->isf_path, p->isf.banner, st->info.banner);
    st->info.profile_banner_check = TVMI_CHECK_OK;
    return VMI_SUCCESS;
}

struct by_addr {
    uint64_t addr;
    uint32_t i;
};

static int by_addr_cmp(const void *a, const void *b)
{
    const struct by_addr *x = a, *y = b;

    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The profile's symbols as the table every lookup uses: slid, sorted by
 * address (file order among equals), indexed by name. Takes ps's pool. */
static status_t build_syms(vmi_instance_t vmi, struct lx_psyms *ps,
                           int64_t slide, struct lx_syms *out)
{
    struct by_addr *o = malloc(sizeof(*o) * ps->n);
    uint64_t *addrs = malloc(sizeof(*addrs) * ps->n);
    struct lx_view none = { 0 };

    memset(out, 0, sizeof(*out));
    out->name = malloc(sizeof(*out->name) * ps->n);
    if (!o || !addrs || !out->name) {
        free(o);
        free(addrs);
        free(out->name);
        return tvmi_fail(vmi, "profile symbols: out of memory");
    }
    for (uint32_t i = 0; i < ps->n; i++)
        o[i] = (struct by_addr){ lx_profile_slid(slide, ps->addr[i]), i };
    qsort(o, ps->n, sizeof(*o), by_addr_cmp);
    for (uint32_t k = 0; k < ps->n; k++) {
        addrs[k] = o[k].addr;
        out->name[k] = ps->name[o[k].i];
    }
    free(o);
    out->count = ps->n;
    out->kind = LX_ADDR_ABSOLUTE;
    out->addrs.copy = addrs;
    out->addrs.p = (const uint8_t *)addrs;
    out->pool = ps->pool.p;
    out->pool_len = ps->pool.len;
    ps->pool = (struct lx_pool){ 0 };
    return lx_syms_index(vmi, out, &none);
}

static status_t use_symbols(vmi_instance_t vmi, struct lx_state *st,
                            struct lx_psyms *ps, int64_t slide, const char *what)
{
    struct lx_syms syms;
    addr_t text = st->syms.text_lo, end = st->syms.text_hi;
    char sb[24];

    if (build_syms(vmi, ps, slide, &syms) != VMI_SUCCESS)
        return VMI_FAILURE;
    lx_syms_free(&st->syms);
    st->syms = syms;
    /* v2ksym answers inside the image, which memory told us */
    st->syms.text_lo = text;
    st->syms.text_hi = end;
    st->info.num_syms = syms.count;
    snprintf(st->info.sym_source, sizeof(st->info.sym_source),
             "%.180s (%u symbols, slide %s)", what, syms.count,
             lx_signed_hex(slide, sb));
    return VMI_SUCCESS;
}

static void describe_types(struct lx_state *st, const struct lx_profile *p)
{
    char *out = st->info.type_source, mem[sizeof(st->info.type_source)];
    size_t n = sizeof(st->info.type_source), used = 0;

    snprintf(mem, sizeof(mem), "%s", out);
    out[0] = '\0';
    if (p->has_conf && p->conf.has_offset)
        used += (size_t)snprintf(out + used, n - used, "%.120s offsets, then ",
                                 p->conf_where);
    if (used < n && p->has_isf && p->isf.types.ntypes)
        used += (size_t)snprintf(out + used, n - used, "ISF %.120s (%u user types), "
                                 "then ", p->isf_path, p->isf.types.ntypes);
    if (used < n && p->btf)
        snprintf(out + used, n - used, "BTF file %.120s", p->btf_path);
    else if (used < n)
        snprintf(out + used, n - used, "%s", mem);
}

/* memory_btf = no: the state as on a kernel without BTF. */
static void drop_memory_btf(struct lx_state *st, const struct lx_profile *p)
{
    lx_btf_free(st->btf);
    st->btf = NULL;
    st->info.btf_pa = 0;
    st->info.btf_size = 0;
    snprintf(st->info.type_source, sizeof(st->info.type_source),
             "none: BTF in memory not used (memory_btf = no in %.120s)",
             p->conf_where);
}

static status_t check(vmi_instance_t vmi, struct lx_state *st,
                      struct lx_profile *p, const struct lx_psyms *ps,
                      const char *what)
{
    if (p->conf.ostype[0] && !same_word(p->conf.ostype, "Linux"))
        return tvmi_fail(vmi, "%s says ostype = \"%s\", and the guest runs "
                         "Linux", p->conf_where, p->conf.ostype);
    if (check_isf_banner(vmi, st, p) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (ps && (lx_check_banner(vmi, st, ps, p->slide, what) != VMI_SUCCESS ||
               lx_check_symbols(vmi, st, ps, p->slide, what) != VMI_SUCCESS))
        return VMI_FAILURE;
    return lx_check_layouts(vmi, st, p);
}

status_t lx_profile_attach(vmi_instance_t vmi, struct lx_state *st,
                           vmi_config_t mode, void *config)
{
    const struct lx_psyms *ps;
    struct lx_profile *p;
    const char *what = NULL;
    char name[LX_CONF_PATH_MAX + 16];

    if (mode == TVMI_CONFIG_NONE || (mode == VMI_CONFIG_GLOBAL_FILE_ENTRY && !config))
        return VMI_SUCCESS;
    if (!(p = calloc(1, sizeof(*p))))
        return tvmi_fail(vmi, "profile: out of memory");
    st->profile = p;
    if (load(vmi, p, mode, config) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (p->conf.notes[0])
        lx_profile_note(&st->info, "%s", p->conf.notes);
    if (p->conf.no_memory_btf)
        drop_memory_btf(st, p);
    ps = profile_syms(p, &what, name, sizeof(name));
    p->slide = find_slide(st, p, ps);
    st->info.profile_slide = p->slide;
    if (check(vmi, st, p, ps, what) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (ps && use_symbols(vmi, st, (struct lx_psyms *)ps, p->slide, what) != VMI_SUCCESS)
        return VMI_FAILURE;
    describe_types(st, p);
    if (p->btf) {
        lx_btf_free(st->btf);
        st->btf = p->btf;
        p->btf = NULL;
    }
    return VMI_SUCCESS;
}

bool lx_profile_offset(const struct lx_profile *p, const char *st,
                       const char *member, size_t *off)
{
    uint64_t o;

    if (!p)
        return false;
    for (int i = 0; p->has_conf && i < LX_CONF_OFFSETS; i++)
        if ((p->conf.has_offset & (1u << i)) && !strcmp(lx_conf_keys[i].st, st) &&
            !strcmp(lx_conf_keys[i].member, member)) {
            *off = (size_t)p->conf.offset[i];
            return true;
        }
    if (p->has_isf && lx_ptypes_offset(&p->isf.types, st, member, &o) == 1) {
        *off = (size_t)o;
        return true;
    }
    return false;
}

bool lx_profile_size(const struct lx_profile *p, const char *st, size_t *size)
{
    const struct lx_ptype *t;

    if (!p || !p->has_isf || !(t = lx_ptypes_find(&p->isf.types, st)))
        return false;
    *size = (size_t)t->size;
    return true;
}
