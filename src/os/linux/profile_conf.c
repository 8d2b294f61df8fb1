/*
 * libvmi.conf, LibVMI's configuration: entries of "key = value;" between
 * braces, each named by its domain in a file,
 *
 *     debian12 {
 *         ostype = "Linux";
 *         sysmap = "/boot/System.map-6.1.0-56-amd64";
 *         linux_tasks = 0x898;      # task_struct.tasks
 *     }
 *
 * or one unnamed "{ ... }" entry as a string (VMI_CONFIG_STRING). Values
 * are quoted strings, numbers (0x hex or decimal) or bare words; comments
 * are #, // and slash-star. Keys this layer has no use for are noted and
 * ignored, as LibVMI ignores the ones its OS layer does not read.
 */
#include "profile.h"

const struct lx_conf_key lx_conf_keys[LX_CONF_OFFSETS] = {
    { "linux_tasks", "task_struct", "tasks" },
    { "linux_mm", "task_struct", "mm" },
    { "linux_pid", "task_struct", "pid" },
    { "linux_name", "task_struct", "comm" },
    { "linux_pgd", "mm_struct", "pgd" },
    { "linux_tgid", "task_struct", "tgid" },
    { "linux_real_parent", "task_struct", "real_parent" },
    { "linux_active_mm", "task_struct", "active_mm" },
};

enum tok { T_END, T_WORD, T_STRING, T_PUNCT, T_ERROR };

struct lexer {
    const char *p, *end;
    size_t line;
    enum tok tok;
    char text[LX_CONF_PATH_MAX]; /* a word or a decoded string */
    char *err;
    size_t errlen;
};

static bool lex_fail(struct lexer *lx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool lex_fail(struct lexer *lx, const char *fmt, ...)
{
    char why[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(lx->err, lx->errlen, "line %zu: %s", lx->line, why);
    lx->tok = T_ERROR;
    return false;
}

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == '+';
}

/* Skips blanks and comments; false on an unterminated comment. */
static bool skip_space(struct lexer *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
        } else if (c == '#' || (c == '/' && lx->end - lx->p > 1 && lx->p[1] == '/')) {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else if (c == '/' && lx->end - lx->p > 1 && lx->p[1] == '*') {
            for (lx->p += 2; lx->p < lx->end; lx->p++) {
                if (*lx->p == '\n')
                    lx->line++;
                if (*lx->p == '*' && lx->end - lx->p > 1 && lx->p[1] == '/')
                    break;
            }
            if (lx->p >= lx->end)
                return lex_fail(lx, "unterminated comment");
            lx->p += 2;
        } else {
            return true;
        }
    }
    return true;
}

static bool lex_string(struct lexer *lx)
{
    size_t n = 0;

    lx->p++;
    while (lx->p < lx->end && *lx->p != '"') {
        char c = *lx->p++;
        if (c == '\n' || c == '\0')
            return lex_fail(lx, "unterminated string");
        if (c == '\\' && lx->p < lx->end) {
            c = *lx->p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        if (n + 1 >= sizeof(lx->text))
            return lex_fail(lx, "string longer than %zu bytes",
                            sizeof(lx->text) - 1);
        lx->text[n++] = c;
    }
    if (lx->p >= lx->end)
        return lex_fail(lx, "unterminated string");
    lx->p++;
    lx->text[n] = '\0';
    lx->tok = T_STRING;
    return true;
}

/* The next token into lx->tok / lx->text; false at an error. */
static bool next(struct lexer *lx)
{
    size_t n = 0;

    if (!skip_space(lx))
        return false;
    if (lx->p >= lx->end) {
        lx->tok = T_END;
        return true;
    }
    if (*lx->p == '"')
        return lex_string(lx);
    if (strchr("{}=;,", *lx->p) && *lx->p) {
        lx->text[0] = *lx->p++;
        lx->text[1] = '\0';
        lx->tok = T_PUNCT;
        return true;
    }
    while (lx->p < lx->end && word_char(*lx->p)) {
        if (n + 1 >= sizeof(lx->text))
            return lex_fail(lx, "word longer than %zu bytes", sizeof(lx->text) - 1);
        lx->text[n++] = *lx->p++;
    }
    if (!n) {
        char c = *lx->p;
        return lex_fail(lx, "unexpected character '%c'",
                        c > ' ' && c < 0x7f ? c : '?');
    }
    lx->text[n] = '\0';
    lx->tok = T_WORD;
    return true;
}

static bool is_punct(const struct lexer *lx, char c)
{
    return lx->tok == T_PUNCT && lx->text[0] == c;
}

/* ---- values --------------------------------------------------------------------- */

static bool number(const char *s, bool allow_negative, uint64_t *v, bool *negative)
{
    unsigned base = 10;

    *negative = allow_negative && *s == '-';
    s += *negative;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    if (!*s)
        return false;
    for (*v = 0; *s; s++) {
        char c = (char)(*s | 0x20);
        unsigned d = *s >= '0' && *s <= '9' ? (unsigned)(*s - '0')
                     : base == 16 && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                                          : 99;
        if (d >= base || *v > (UINT64_MAX - d) / base)
            return false;
        *v = *v * base + d;
    }
    return true;
}

static void note(struct lx_conf *c, const char *fmt, const char *key)
{
    size_t used = strlen(c->notes);

    if (used + 3 < sizeof(c->notes))
        snprintf(c->notes + used, sizeof(c->notes) - used, "%s", used ? "; " : "");
    used = strlen(c->notes);
    snprintf(c->notes + used, sizeof(c->notes) - used, fmt, key);
}

static bool copy_value(struct lexer *lx, char *out, size_t n, const char *key)
{
    if (strlen(lx->text) >= n)
        return lex_fail(lx, "the value of %s is too long", key);
    memcpy(out, lx->text, strlen(lx->text) + 1);
    return true;
}

static bool offset_value(struct lexer *lx, struct lx_conf *c, int i)
{
    bool neg;

    if (!number(lx->text, false, &c->offset[i], &neg))
        return lex_fail(lx, "%s = %.40s: expected a number (0x hex or decimal)",
                        lx_conf_keys[i].key, lx->text);
    c->has_offset |= 1u << i;
    return true;
}

static bool kaslr_value(struct lexer *lx, struct lx_conf *c)
{
    uint64_t v;
    bool neg;

    if (!number(lx->text, true, &v, &neg) || v > INT64_MAX)
        return lex_fail(lx, "linux_kaslr = %.40s: expected a number", lx->text);
    c->kaslr = neg ? -(int64_t)v : (int64_t)v;
    c->has_kaslr = true;
    return true;
}

/* memory_btf = yes | no (tinyvmi): no leaves the layouts to the profile,
 * as on a kernel without BTF. */
static bool memory_btf_value(struct lexer *lx, struct lx_conf *c)
{
    static const char *const no[] = { "no", "off", "false", "0" };
    static const char *const yes[] = { "yes", "on", "true", "1" };

    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (!strcmp(lx->text, no[i]))
            return c->no_memory_btf = true;
        if (!strcmp(lx->text, yes[i])) {
            c->no_memory_btf = false;
            return true;
        }
    }
    return lex_fail(lx, "memory_btf = %.40s: expected yes or no", lx->text);
}

/* key = value, the value token being current. */
static bool set(struct lexer *lx, struct lx_conf *c, const char *key)
{
    for (int i = 0; i < LX_CONF_OFFSETS; i++)
        if (!strcmp(key, lx_conf_keys[i].key))
            return offset_value(lx, c, i);
    if (!strcmp(key, "linux_kaslr"))
        return kaslr_value(lx, c);
    if (!strcmp(key, "ostype"))
        return copy_value(lx, c->ostype, sizeof(c->ostype), key);
    if (!strcmp(key, "sysmap"))
        return copy_value(lx, c->sysmap, sizeof(c->sysmap), key);
    if (!strcmp(key, "volatility_ist"))
        return copy_value(lx, c->isf, sizeof(c->isf), key);
    if (!strcmp(key, "btf"))
        return copy_value(lx, c->btf, sizeof(c->btf), key);
    if (!strcmp(key, "memory_btf"))
        return memory_btf_value(lx, c);
    if (!strcmp(key, "rekall_profile"))
        note(c, "%s is not supported (use volatility_ist): ignored", key);
    else
        note(c, "unknown key '%.40s' ignored", key);
    return true;
}

/* key = value [;,] ... up to '}' (braced) or the end. */
static bool body(struct lexer *lx, struct lx_conf *c, bool braced)
{
    char key[64];

    for (;;) {
        if (!next(lx))
            return false;
        if (braced ? is_punct(lx, '}') : lx->tok == T_END)
            return true;
        if (lx->tok == T_END)
            return lex_fail(lx, "missing '}' at the end of the entry");
        if (is_punct(lx, ';') || is_punct(lx, ','))
            continue;
        if (lx->tok != T_WORD || strlen(lx->text) >= sizeof(key))
            return lex_fail(lx, "expected a key, not '%.40s'", lx->text);
        memcpy(key, lx->text, strlen(lx->text) + 1);
        if (!next(lx) || !is_punct(lx, '='))
            return lx->tok == T_ERROR ? false
                   : lex_fail(lx, "expected '=' after '%s'", key);
        if (!next(lx))
            return false;
        if (lx->tok != T_WORD && lx->tok != T_STRING)
            return lex_fail(lx, "expected a value after '%s ='", key);
        if (!set(lx, c, key))
            return false;
    }
}

/* ---- entries -------------------------------------------------------------------- */

struct pick {
    const char *want;
    bool or_first;
    struct lx_conf *out;
    bool found, have_first;
    char names[160];   /* the entries seen, for "no entry" */
};

static void seen(struct pick *pk, const char *name)
{
    size_t used = strlen(pk->names);

    if (used + 4 < sizeof(pk->names))
        snprintf(pk->names + used, sizeof(pk->names) - used, "%s%s",
                 used ? ", " : "", name);
}

/* Keeps c if it is the entry asked for (or the first, until one is). */
static void offer(struct pick *pk, const struct lx_conf *c)
{
    bool match = pk->want && !strcmp(pk->want, c->entry);

    seen(pk, c->entry);
    if (pk->found || (!match && pk->have_first))
        return;
    *pk->out = *c;
    pk->have_first = true;
    pk->found = match;
}

static bool entries(struct lexer *lx, struct pick *pk, struct lx_conf *c)
{
    for (;;) {
        if (!next(lx))
            return false;
        if (lx->tok == T_END)
            return true;
        if (is_punct(lx, ';'))
            continue;
        if (lx->tok != T_WORD && lx->tok != T_STRING)
            return lex_fail(lx, "expected an entry name, not '%.40s'", lx->text);
        memset(c, 0, sizeof(*c));
        if (strlen(lx->text) >= sizeof(c->entry))
            return lex_fail(lx, "entry name too long");
        memcpy(c->entry, lx->text, strlen(lx->text) + 1);
        if (!next(lx) || !is_punct(lx, '{'))
            return lx->tok == T_ERROR ? false
                   : lex_fail(lx, "expected '{' after '%s'", c->entry);
        if (!body(lx, c, true))
            return false;
        offer(pk, c);
    }
}

/* One unnamed entry: "{ ... }", or bare "key = value;" lines. */
static bool single(struct lexer *lx, struct pick *pk, struct lx_conf *c)
{
    const char *start = lx->p;
    size_t line = lx->line;

    memset(c, 0, sizeof(*c));
    if (!next(lx))
        return false;
    if (is_punct(lx, '{')) {
        if (!body(lx, c, true) || !next(lx))
            return false;
        if (lx->tok != T_END)
            return lex_fail(lx, "text after the entry's '}'");
    } else {
        lx->p = start;
        lx->line = line;
        if (!body(lx, c, false))
            return false;
    }
    offer(pk, c);
    return true;
}

/* Does the text start with "{" or "key ="? Then it is one unnamed entry. */
static bool unnamed(const char *buf, size_t len)
{
    struct lexer lx = { .p = buf, .end = buf + len, .line = 1 };
    char err[8];

    lx.err = err;
    lx.errlen = sizeof(err);
    if (!next(&lx))
        return false;
    if (is_punct(&lx, '{'))
        return true;
    return lx.tok == T_WORD && next(&lx) && is_punct(&lx, '=');
}

status_t lx_conf_parse(const char *buf, size_t len, const char *entry,
                       bool or_first, struct lx_conf *out, char *err,
                       size_t errlen)
{
    struct lexer lx = { .p = buf, .end = buf + len, .line = 1, .err = err,
                        .errlen = errlen };
    struct pick pk = { .want = entry, .or_first = or_first || !entry, .out = out };
    struct lx_conf *c = malloc(sizeof(*c));
    bool ok;

    memset(out, 0, sizeof(*out));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return VMI_FAILURE;
    }
    if (memchr(buf, '\0', len)) {
        free(c);
        snprintf(err, errlen, "NUL byte: this is no text file");
        return VMI_FAILURE;
    }
    ok = unnamed(buf, len) ? single(&lx, &pk, c) : entries(&lx, &pk, c);
    free(c);
    if (!ok)
        return VMI_FAILURE;
    if (!pk.have_first) {
        snprintf(err, errlen, "no entries");
        return VMI_FAILURE;
    }
    if (entry && !pk.found && out->entry[0] && !pk.or_first) {
        snprintf(err, errlen, "no entry '%.64s' (entries: %s)", entry, pk.names);
        memset(out, 0, sizeof(*out));
        return VMI_FAILURE;
    }
    return VMI_SUCCESS;
}
