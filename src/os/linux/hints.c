/*
 * Discovery hints: a small text record of what a zero-configuration
 * discovery found (where the kernel and its kallsyms tables, page tables
 * and BTF are; the few symbols and structure members the views use), so
 * that the next instance on the same target starts in a millisecond
 * instead of scanning RAM and decoding 100k+ names.
 *
 * Nothing in a record is believed because it is there. The record may be
 * truncated, edited or made for another guest, and the guest may have
 * rebooted since; so before use every hint that places something is
 * checked against memory the way the scan would have checked it:
 *
 *   - the token table at its PA validates, with its index;
 *   - kallsyms_num_syms, the first marker and relative_base read back;
 *   - _text's PA passes steps 6 and 7 (banner at linux_banner, phys_base,
 *     init_top_pgt maps the image onto itself at the recorded depth), and
 *     the banner is the recorded one, byte for byte;
 *   - the vCPU's CR3, when the source has registers, maps that kernel;
 *   - the BTF header at its PA parses with the recorded size.
 *
 * Symbols and members are facts of the build, not of the boot (with the
 * slide, which the checks above pin): the banner (version, build number,
 * date, compiler), the token table and the count tie them to the build.
 * Any failure rejects the whole record with a reason, and discovery runs
 * as if there had been none.
 *
 * Format: "key value" lines, first "tinyvmi-linux-hints 1", last "sum"
 * with the FNV-1a 64 of every byte before that line. Numbers are 0x-hex
 * or decimal; "sym NAME VA|-", "field STRUCT MEMBER off size nelems bit
 * width|none|nostruct", "size STRUCT bytes|none". docs/linux-discovery.md
 * has an example.
 */
#include "lx.h"

#define MAGIC "tinyvmi-linux-hints 1"
#define LINE_MAX_LEN 400
#define SUM_LINE 21 /* "sum " + 16 hex digits + "\n" */

/* ---- the record in memory -------------------------------------------------- */

struct hsym {
    char name[LX_KNOWN_NAME];
    bool found;
    addr_t va;
};

struct hint {
    uint64_t num[32];          /* by key index (keys[]) */
    uint32_t seen;             /* bit per key */
    char banner[256];
    char found_by[96];
    bool has_banner, has_found_by;
    struct hsym sym[LX_KNOWN_MAX];
    size_t nsym;
    struct lx_btf_fact fact[LX_BTF_FACTS];
    size_t nfact;
};

enum key {
    K_MAX_PA, K_TEXT_PA, K_PAGE_MODE, K_KERNEL_IMAGES,
    K_TEXT_VA, K_END_VA, K_BANNER_VA, K_PGT_VA, K_PHYS_BASE_VA, K_L5_VA,
    K_TOKEN_SYM_VA, K_INIT_TASK_VA,
    K_DIGITS_PA, K_TABLE_PA, K_INDEX_PA, K_NUM_SYMS, K_NUM_SYMS_PA, K_NAMES_PA,
    K_NAMES_END_PA, K_MARKERS_PA, K_SEQS_PA, K_SEQS_BEFORE, K_ADDR_LAYOUT,
    K_ADDRS_PA, K_RELBASE_PA, K_RELBASE, K_PERCPU, K_SEQS_OF_NAMES,
    K_BTF_PA, K_BTF_SIZE, K_BTF_TYPES,
    K_COUNT
};
_Static_assert(K_COUNT <= 32, "num[] and seen too small");

static const char *const keys[K_COUNT] = {
    "max_pa", "text_pa", "page_mode", "kernel_images",
    "text_va", "end_va", "banner_va", "pgt_va", "phys_base_va", "l5_va",
    "token_sym_va", "init_task_va",
    "token_digits_pa", "token_table_pa", "token_index_pa", "num_syms",
    "num_syms_pa", "names_pa", "names_end_pa", "markers_pa", "seqs_pa",
    "seqs_before_tokens", "addr_layout", "addrs_pa", "relative_base_pa",
    "relative_base", "absolute_percpu", "seqs_of_names",
    "btf_pa", "btf_size", "btf_types",
};
/* may be absent: no BTF, or its type count not known when written */
#define OPTIONAL_KEYS (1u << K_BTF_PA | 1u << K_BTF_SIZE | 1u << K_BTF_TYPES)

/* Symbols worth a line whatever was looked up: what discovery and the
 * views need. Others looked up before the record was made come too. */
static const char *const record_syms[] = {
    "_text", "_end", "linux_banner", "init_top_pgt", "phys_base",
    "__pgtable_l5_enabled", "kallsyms_token_table", "init_task", "__start_BTF",
    "__stop_BTF", "page_offset_base", "modules", "prb", "printk_rb_static",
    "printk_rb_dynamic",
};

static uint64_t fnv64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
    return h;
}

/* ---- writing --------------------------------------------------------------- */

struct out {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->failed = true; /* the record has a fixed bound: see below */
    else
        o->len += (size_t)n;
}

/* Counts and flags in decimal, addresses in hex. */
#define DECIMAL_KEYS (1u << K_PAGE_MODE | 1u << K_KERNEL_IMAGES | \
                      1u << K_NUM_SYMS | 1u << K_SEQS_BEFORE | \
                      1u << K_ADDR_LAYOUT | 1u << K_PERCPU | \
                      1u << K_SEQS_OF_NAMES | 1u << K_BTF_SIZE | 1u << K_BTF_TYPES)

static void put_num(struct out *o, enum key k, uint64_t v)
{
    put(o, DECIMAL_KEYS & (1u << k) ? "%s %llu\n" : "%s 0x%llx\n", keys[k],
        (unsigned long long)v);
}

/* A name that is one word of a line: printable, no spaces. */
static bool word_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return false;
    return true;
}

/* One "sym" line, once per name. */
static void put_sym(struct out *o, struct lx_state *st, const char *name,
                    const char **done, size_t *ndone)
{
    addr_t va;

    for (size_t i = 0; i < *ndone; i++)
        if (!strcmp(done[i], name))
            return;
    if (*ndone >= LX_KNOWN_MAX || strlen(name) >= LX_KNOWN_NAME || !word_ok(name))
        return;
    done[(*ndone)++] = name;
    if (lx_sym_lookup(&st->syms, name, &va))
        put(o, "sym %s 0x%llx\n", name, (unsigned long long)va);
    else
        put(o, "sym %s -\n", name);
}

static void put_syms(struct out *o, struct lx_state *st)
{
    const char *done[LX_KNOWN_MAX];
    size_t ndone = 0, nrec = sizeof(record_syms) / sizeof(record_syms[0]);
    const struct lx_lazy *z = st->syms.lazy;

    for (size_t i = 0; i < nrec; i++)
        put_sym(o, st, record_syms[i], done, &ndone);
    for (size_t i = 0; z && i < z->nknown; i++)
        put_sym(o, st, z->known[i].name, done, &ndone);
}

static void put_facts(struct out *o, const struct lx_btf *btf)
{
    struct lx_btf_fact f;

    for (size_t i = 0; lx_btf_fact_at(btf, i, &f); i++) {
        if (!word_ok(f.st) || (f.kind == 'f' && !word_ok(f.member)))
            continue;
        if (f.kind == 's' && f.found)
            put(o, "size %s %zu\n", f.st, f.f.size);
        else if (f.kind == 's')
            put(o, "size %s none\n", f.st);
        else if (f.found)
            put(o, "field %s %s %zu %zu %u %u %u\n", f.st, f.member, f.f.off,
                f.f.size, f.f.nelems, f.f.bit, f.f.width);
        else
            put(o, "field %s %s %s\n", f.st, f.member,
                f.missing_struct ? "nostruct" : "none");
    }
}

char *lx_hints_make(vmi_instance_t vmi, struct lx_state *st, size_t *len)
{
    const tvmi_linux_info_t *info = &st->info;
    const struct lx_ksyms *k = &st->ksyms;
    const struct lx_tables *t = &st->tab;
    struct out o = { .cap = TVMI_OS_HINTS_MAX };

    if (!(o.buf = malloc(o.cap))) {
        tvmi_fail(vmi, "discovery hints: out of memory");
        return NULL;
    }
    put(&o, MAGIC "\n");
    put_num(&o, K_MAX_PA, vmi->max_pa);
    put(&o, "banner %s\n", info->banner);
    put(&o, "found_by %s\n", st->found_first);
    put_num(&o, K_KERNEL_IMAGES, (uint64_t)info->kernel_images);
    put_num(&o, K_TEXT_PA, info->text_pa);
    put_num(&o, K_PAGE_MODE, (uint64_t)info->paging_levels);
    put_num(&o, K_TEXT_VA, k->text);
    put_num(&o, K_END_VA, k->end);
    put_num(&o, K_BANNER_VA, k->banner);
    put_num(&o, K_PGT_VA, k->pgt);
    put_num(&o, K_PHYS_BASE_VA, k->has_phys_base ? k->phys_base : 0);
    put_num(&o, K_L5_VA, k->has_l5 ? k->l5 : 0);
    put_num(&o, K_TOKEN_SYM_VA, k->has_token_table ? k->token_table : 0);
    put_num(&o, K_INIT_TASK_VA, k->has_init_task ? k->init_task : 0);
    put_num(&o, K_DIGITS_PA, t->tok.table_pa + t->tok.off['0']);
    put_num(&o, K_TABLE_PA, t->tok.table_pa);
    put_num(&o, K_INDEX_PA, t->tok.index_pa);
    put_num(&o, K_NUM_SYMS, t->num_syms);
    put_num(&o, K_NUM_SYMS_PA, t->num_syms_pa);
    put_num(&o, K_NAMES_PA, t->names_pa);
    put_num(&o, K_NAMES_END_PA, t->names_end_pa);
    put_num(&o, K_MARKERS_PA, t->markers_pa);
    put_num(&o, K_SEQS_PA, t->seqs_pa);
    put_num(&o, K_SEQS_BEFORE, t->seqs_before_tokens);
    put_num(&o, K_ADDR_LAYOUT, (uint64_t)t->addr_layout);
    put_num(&o, K_ADDRS_PA, t->addrs_pa);
    put_num(&o, K_RELBASE_PA, t->relative_base_pa);
    put_num(&o, K_RELBASE, t->relative_base);
    put_num(&o, K_PERCPU, t->absolute_percpu);
    put_num(&o, K_SEQS_OF_NAMES, (uint64_t)lx_syms_seqs_usable(&st->syms));
    if (st->btf && info->btf_pa) {
        put_num(&o, K_BTF_PA, info->btf_pa);
        put_num(&o, K_BTF_SIZE, info->btf_size);
        if (lx_btf_types_known(st->btf))
            put_num(&o, K_BTF_TYPES, lx_btf_types_known(st->btf));
    }
    put_syms(&o, st);
    put_facts(&o, st->btf);
    if (!o.failed)
        put(&o, "sum %016llx\n", (unsigned long long)fnv64(o.buf, o.len));
    if (o.failed) {
        free(o.buf);
        tvmi_fail(vmi, "discovery hints: the record would exceed %u bytes",
                  TVMI_OS_HINTS_MAX);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}

/* ---- reading: the record's own consistency ---------------------------------- */

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;

    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    *v = strtoull(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
    return *end == '\0';
}

/* Splits line into at most max space-separated words (in place). */
static size_t words(char *line, char **w, size_t max)
{
    size_t n = 0;

    while (*line && n < max) {
        while (*line == ' ')
            *line++ = '\0';
        if (!*line)
            break;
        w[n++] = line;
        while (*line && *line != ' ')
            line++;
    }
    return *line ? max + 1 : n; /* more words than max: too many */
}

static bool copy_word(char *dst, size_t len, const char *src)
{
    if (strlen(src) >= len)
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

static bool parse_sym(struct hint *h, char **w, size_t n)
{
    struct hsym *s = &h->sym[h->nsym];

    if (n != 3 || h->nsym >= LX_KNOWN_MAX || !copy_word(s->name, sizeof(s->name), w[1]))
        return false;
    s->found = strcmp(w[2], "-") != 0;
    if (s->found && !parse_u64(w[2], &s->va))
        return false;
    h->nsym++;
    return true;
}

/* "field ST MEMBER off size nelems bit width" or "... none|nostruct";
 * "size ST bytes|none". */
static bool parse_fact(struct hint *h, char **w, size_t n)
{
    struct lx_btf_fact *f = &h->fact[h->nfact];
    bool field = w[0][0] == 'f';
    size_t at = field ? 3 : 2;
    uint64_t v[5] = { 0 };

    memset(f, 0, sizeof(*f));
    if (h->nfact >= LX_BTF_FACTS || n < at + 1 ||
        !copy_word(f->st, sizeof(f->st), w[1]) ||
        (field && !copy_word(f->member, sizeof(f->member), w[2])))
        return false;
    f->kind = field ? 'f' : 's';
    if (n == at + 1 && (!strcmp(w[at], "none") || !strcmp(w[at], "nostruct"))) {
        f->missing_struct = !field || !strcmp(w[at], "nostruct");
        h->nfact++;
        return true;
    }
    if (n != at + (field ? 5 : 1))
        return false;
    for (size_t i = 0; i < n - at; i++)
        if (!parse_u64(w[at + i], &v[i]) || v[i] > (1u << 24))
            return false;
    f->found = true;
    if (field)
        f->f = (struct lx_field){ .off = v[0], .size = v[1], .nelems = (uint32_t)v[2],
                                  .bit = (uint32_t)v[3], .width = (uint32_t)v[4] };
    else
        f->f.size = v[0];
    if (f->f.bit > 7 || f->f.width > 64)
        return false;
    h->nfact++;
    return true;
}

static bool parse_text(char *dst, size_t len, const char *line, size_t skip)
{
    return copy_word(dst, len, line + skip);
}

/* One line (NUL-terminated, no newline). */
static bool parse_line(struct hint *h, char *line)
{
    char *w[9];
    size_t n;
    uint64_t v;

    if (!strncmp(line, "banner ", 7))
        return !h->has_banner && (h->has_banner = parse_text(h->banner,
                                  sizeof(h->banner), line, 7));
    if (!strncmp(line, "found_by ", 9))
        return !h->has_found_by && (h->has_found_by = parse_text(h->found_by,
                                    sizeof(h->found_by), line, 9));
    n = words(line, w, 8);
    if (n == 0 || n > 8)
        return false;
    if (!strcmp(w[0], "sym"))
        return parse_sym(h, w, n);
    if (!strcmp(w[0], "field") || !strcmp(w[0], "size"))
        return parse_fact(h, w, n);
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(w[0], keys[k]))
            continue;
        if (n != 2 || (h->seen & (1u << k)) || !parse_u64(w[1], &v))
            return false;
        h->num[k] = v;
        h->seen |= 1u << k;
        return true;
    }
    return false;
}

/* 16 lowercase hex digits; 0 when they are not (a checksum of 0 is as
 * good as impossible). */
static uint64_t hex16(const char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 16; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint64_t)(c - 'a' + 10);
        else
            return 0;
    }
    return v;
}

/* The lines between the magic and the checksum. */
static bool parse(const char *rec, size_t len, struct hint *h, char *why,
                  size_t wl)
{
    size_t magic = sizeof(MAGIC) - 1, pos, lineno = 1;
    const char *sum;
    uint64_t want;

    if (len < magic + 1 || memcmp(rec, MAGIC "\n", magic + 1)) {
        snprintf(why, wl, "not a hint record of this version (no '%s' line)",
                 MAGIC);
        return false;
    }
    /* the checksum line: "sum " + 16 hex digits + "\n", last */
    if (len < magic + 1 + SUM_LINE || rec[len - 1] != '\n' ||
        memcmp(rec + len - SUM_LINE, "sum ", 4)) {
        snprintf(why, wl, "no checksum line at the end (truncated?)");
        return false;
    }
    sum = rec + len - SUM_LINE;
    want = fnv64(rec, (size_t)(sum - rec));
    if (hex16(sum + 4) != want) {
        snprintf(why, wl, "checksum does not match (truncated or edited)");
        return false;
    }
    for (pos = magic + 1; rec + pos < sum; lineno++) {
        const char *nl = memchr(rec + pos, '\n', (size_t)(sum - rec) - pos);
        size_t l = nl ? (size_t)(nl - (rec + pos)) : 0;
        char line[LINE_MAX_LEN];

        if (!nl || l >= sizeof(line) || memchr(rec + pos, '\0', l)) {
            snprintf(why, wl, "line %zu: too long or not text", lineno + 1);
            return false;
        }
        memcpy(line, rec + pos, l);
        line[l] = '\0';
        if (!parse_line(h, line)) {
            snprintf(why, wl, "line %zu: not understood: '%.*s'", lineno + 1,
                     (int)(l < 60 ? l : 60), rec + pos);
            return false;
        }
        pos += l + 1;
    }
    for (int k = 0; k < K_COUNT; k++)
        if (!(h->seen & (1u << k)) && !(OPTIONAL_KEYS & (1u << k))) {
            snprintf(why, wl, "'%s' is missing", keys[k]);
            return false;
        }
    if (!h->has_banner || !h->has_found_by) {
        snprintf(why, wl, "'banner' or 'found_by' is missing");
        return false;
    }
    return true;
}

/* Values in range: every PA below max_pa, tables in their order. */
static bool plausible(const struct hint *h, char *why, size_t wl)
{
    static const enum key pas[] = {
        K_TEXT_PA, K_DIGITS_PA, K_TABLE_PA, K_INDEX_PA, K_NUM_SYMS_PA,
        K_NAMES_PA, K_NAMES_END_PA, K_MARKERS_PA, K_SEQS_PA, K_ADDRS_PA,
        K_RELBASE_PA, K_BTF_PA,
    };
    const uint64_t *v = h->num;
    uint64_t mlen = 4 * ((v[K_NUM_SYMS] + 255) / 256);

    for (size_t i = 0; i < sizeof(pas) / sizeof(pas[0]); i++)
        if (v[pas[i]] >= v[K_MAX_PA]) {
            snprintf(why, wl, "%s 0x%llx is beyond RAM", keys[pas[i]],
                     (unsigned long long)v[pas[i]]);
            return false;
        }
    if ((v[K_PAGE_MODE] != 4 && v[K_PAGE_MODE] != 5) ||
        v[K_NUM_SYMS] < LX_MIN_SYMS || v[K_NUM_SYMS] > LX_MAX_SYMS ||
        v[K_ADDR_LAYOUT] > LX_ADDR_PCREL_AFTER || v[K_SEQS_BEFORE] > 1 ||
        v[K_PERCPU] > 1 || v[K_SEQS_OF_NAMES] > 1 || v[K_KERNEL_IMAGES] > 64 ||
        v[K_NAMES_PA] >= v[K_NAMES_END_PA] || v[K_NAMES_END_PA] > v[K_MARKERS_PA] ||
        v[K_MARKERS_PA] + mlen - v[K_NAMES_PA] > LX_NAMES_MAX ||
        v[K_DIGITS_PA] < v[K_TABLE_PA] ||
        v[K_DIGITS_PA] - v[K_TABLE_PA] > 256 * (LX_TOKEN_MAX + 1) ||
        v[K_BTF_TYPES] > (1u << 22) ||
        (h->seen >> K_BTF_PA & 1) != (h->seen >> K_BTF_SIZE & 1)) {
        snprintf(why, wl, "values out of range");
        return false;
    }
    return true;
}

/* ---- reading: against memory ------------------------------------------------- */

static void set_tables(const struct hint *h, struct lx_tables *t)
{
    const uint64_t *v = h->num;

    t->num_syms = (uint32_t)v[K_NUM_SYMS];
    t->num_syms_pa = v[K_NUM_SYMS_PA];
    t->names_pa = v[K_NAMES_PA];
    t->names_end_pa = v[K_NAMES_END_PA];
    t->markers_pa = v[K_MARKERS_PA];
    t->seqs_pa = v[K_SEQS_PA];
    t->seqs_before_tokens = v[K_SEQS_BEFORE];
    t->addr_layout = (enum lx_addr_layout)v[K_ADDR_LAYOUT];
    t->addrs_pa = v[K_ADDRS_PA];
    t->relative_base_pa = v[K_RELBASE_PA];
    t->relative_base = v[K_RELBASE];
    t->absolute_percpu = v[K_PERCPU];
}

static void set_ksyms(const struct hint *h, struct lx_ksyms *k)
{
    const uint64_t *v = h->num;

    k->text = v[K_TEXT_VA];
    k->end = v[K_END_VA];
    k->banner = v[K_BANNER_VA];
    k->pgt = v[K_PGT_VA];
    k->phys_base = v[K_PHYS_BASE_VA];
    k->l5 = v[K_L5_VA];
    k->token_table = v[K_TOKEN_SYM_VA];
    k->init_task = v[K_INIT_TASK_VA];
    k->has_phys_base = k->phys_base != 0;
    k->has_l5 = k->l5 != 0;
    k->has_token_table = k->token_table != 0;
    k->has_init_task = k->init_task != 0;
}

static status_t check_memory(vmi_instance_t vmi, struct lx_state *st,
                             const struct hint *h)
{
    const uint64_t *v = h->num;
    struct lx_tokens *tk = &st->tab.tok;

    if (!lx_token_table_at(vmi, v[K_DIGITS_PA], tk) ||
        tk->table_pa != v[K_TABLE_PA] || tk->index_pa != v[K_INDEX_PA])
        return tvmi_fail(vmi, "no kallsyms_token_table at PA 0x%llx",
                         (unsigned long long)v[K_TABLE_PA]);
    set_tables(h, &st->tab);
    if (lx_kallsyms_hinted(vmi, &st->tab, &st->syms) != VMI_SUCCESS)
        return VMI_FAILURE;
    set_ksyms(h, &st->ksyms);
    if (lx_kernel_check(vmi, st, v[K_TEXT_PA], v[K_PAGE_MODE] == 5 ?
                        VMI_PM_LA57 : VMI_PM_IA32E) != VMI_SUCCESS)
        return VMI_FAILURE;
    if (strcmp(st->info.banner, h->banner))
        return tvmi_fail(vmi, "another kernel: the banner is '%.100s'",
                         st->info.banner);
    if (st->info.regs_check == TVMI_CHECK_MISMATCH)
        return tvmi_fail(vmi, "the vCPU registers disagree (%.200s)",
                         st->info.notes);
    if ((h->seen >> K_BTF_PA & 1) &&
        lx_btf_at(vmi, st, v[K_BTF_PA], (size_t)v[K_BTF_SIZE]) != VMI_SUCCESS)
        return VMI_FAILURE;
    return VMI_SUCCESS;
}

/* What the record knows beyond places: symbols, members, counts. */
static void take_facts(struct lx_state *st, const struct hint *h)
{
    for (size_t i = 0; i < h->nsym; i++)
        lx_syms_know(&st->syms, h->sym[i].name, h->sym[i].found, h->sym[i].va);
    for (size_t i = 0; st->btf && i < h->nfact; i++)
        lx_btf_know(st->btf, &h->fact[i]);
    if (st->btf && (h->seen >> K_BTF_TYPES & 1))
        lx_btf_know_types(st->btf, (uint32_t)h->num[K_BTF_TYPES]);
    st->info.kernel_images = (int)h->num[K_KERNEL_IMAGES];
    st->info.seqs_of_names = (int)h->num[K_SEQS_OF_NAMES];
    snprintf(st->found_first, sizeof(st->found_first), "%s", h->found_by);
    snprintf(st->info.found_by, sizeof(st->info.found_by),
             "hints, checked against memory");
}

status_t lx_hints_try(vmi_instance_t vmi, struct lx_state *st, char *why,
                      size_t wl)
{
    struct hint *h = calloc(1, sizeof(*h));
    status_t rc = VMI_FAILURE;

    if (!h) {
        snprintf(why, wl, "out of memory");
        return VMI_FAILURE;
    }
    if (!parse(vmi->os_hints, vmi->os_hints_len, h, why, wl) ||
        !plausible(h, why, wl))
        goto out;
    if (h->num[K_MAX_PA] != vmi->max_pa) {
        snprintf(why, wl, "made for another target (RAM ends at 0x%llx, not "
                 "0x%llx)", (unsigned long long)vmi->max_pa,
                 (unsigned long long)h->num[K_MAX_PA]);
        goto out;
    }
    if (check_memory(vmi, st, h) != VMI_SUCCESS) {
        snprintf(why, wl, "%.*s", (int)(wl > 1 ? wl - 1 : 0), vmi->err);
        goto out;
    }
    take_facts(st, h);
    rc = VMI_SUCCESS;
out:
    free(h);
    return rc;
}
