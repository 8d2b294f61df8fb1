/*
 * System.map: one symbol a line, "ADDRESS TYPE NAME", as nm prints it
 * (hex address without 0x, one type letter). /proc/kallsyms has the same
 * shape plus "[module]" lines, which are skipped: modules are not in the
 * kernel image a System.map describes.
 */
#include "profile.h"

/* Says what is wrong with a line, showing its start; returns -1. */
static int line_error(char *err, size_t errlen, size_t line, const char *why,
                      const char *text, size_t len)
{
    char shown[48];
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < sizeof(shown); i++)
        shown[n++] = text[i] >= ' ' && text[i] < 0x7f ? text[i] : '?';
    shown[n] = '\0';
    snprintf(err, errlen, "line %zu: %s (\"%s%s\")", line, why, shown,
             len > n ? "..." : "");
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The next whitespace-separated word of [*p, end). */
static size_t word(const char **p, const char *end, const char **start)
{
    while (*p < end && is_blank(**p))
        (*p)++;
    *start = *p;
    while (*p < end && !is_blank(**p))
        (*p)++;
    return (size_t)(*p - *start);
}

static bool hex_address(const char *s, size_t n, uint64_t *v)
{
    if (n > 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
        s += 2, n -= 2;
    if (n == 0 || n > 16)
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] | 0x20;
        unsigned d;
        if (s[i] >= '0' && s[i] <= '9')
            d = (unsigned)(s[i] - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        *v = *v << 4 | d;
    }
    return true;
}

static bool printable_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* One non-blank line. 1 added, 0 skipped (module symbol), -1 error. */
static int parse_line(const char *p, const char *end, size_t line,
                      struct lx_psyms *out, char *err, size_t errlen)
{
    const char *text = p, *a, *t, *n, *m;
    size_t alen = word(&p, end, &a), tlen = word(&p, end, &t);
    size_t nlen = word(&p, end, &n), mlen = word(&p, end, &m);
    size_t len = (size_t)(end - text);
    uint64_t addr;

    if (!hex_address(a, alen, &addr))
        return line_error(err, errlen, line, "expected a hex address first",
                          text, len);
    if (tlen != 1 || !printable_name(t, 1))
        return line_error(err, errlen, line, "expected a one-letter symbol "
                          "type after the address", text, len);
    if (nlen == 0 || nlen >= LX_NAME_MAX - 1 || !printable_name(n, nlen))
        return line_error(err, errlen, line, "expected a symbol name after "
                          "the type", text, len);
    if (mlen) {
        if (m[0] == '[' && m[mlen - 1] == ']' && word(&p, end, &m) == 0)
            return 0;
        return line_error(err, errlen, line, "unexpected text after the name",
                          text, len);
    }
    if (!lx_psyms_add(out, addr, t[0], n, nlen)) {
        snprintf(err, errlen, "line %zu: more than %u symbols, or out of "
                 "memory", line, LX_PROFILE_MAX_SYMS);
        return -1;
    }
    return 1;
}

status_t lx_sysmap_parse(const char *buf, size_t len, struct lx_psyms *out,
                         char *err, size_t errlen)
{
    const char *p = buf, *end = buf + len;
    size_t line = 0;
    bool nonzero = false;

    memset(out, 0, sizeof(*out));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        const char *q = p;

        line++;
        if (memchr(p, '\0', (size_t)(eol - p))) {
            line_error(err, errlen, line, "NUL byte: this is no text file", p,
                       (size_t)(eol - p));
            goto fail;
        }
        while (q < eol && is_blank(*q))
            q++;
        if (q < eol && parse_line(p, eol, line, out, err, errlen) < 0)
            goto fail;
        if (out->n && out->addr[out->n - 1])
            nonzero = true;
        p = nl ? nl + 1 : end;
    }
    if (!out->n) {
        snprintf(err, errlen, "no symbols (expected \"ADDRESS TYPE NAME\" lines)");
        goto fail;
    }
    if (!nonzero) {
        snprintf(err, errlen, "every address is 0 (a /proc/kallsyms read "
                 "without the right to see addresses?)");
        goto fail;
    }
    return VMI_SUCCESS;
fail:
    lx_psyms_free(out);
    return VMI_FAILURE;
}
