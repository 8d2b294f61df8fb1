/*
 * vsnprintf and snprintf: the conversions d i u o x X c s p %, the flags
 * - + space # 0, width and precision (numbers or *), the length modifiers
 * hh h l ll z j t. No floating point, no %n. Output past n is counted, not
 * written, so the result is the would-be length, as C requires; the buffer
 * is always terminated when n > 0. NULL prints as glibc does: "(nil)" for
 * %p, "(null)" for %s, so messages read the same on the host and here.
 */
#include "libc.h"

enum { LEFT = 1, PLUS = 2, SPACE = 4, ALT = 8, ZERO = 16 };

struct out {
    char *buf;
    size_t cap; /* the caller's n */
    size_t len; /* bytes produced so far, written or not */
};

struct spec {
    unsigned flags;
    int width;
    int prec;  /* -1: none */
    char size; /* 0, 'H' (hh), 'h', 'l', 'L' (ll), 'z', 'j', 't' */
    char conv;
};

/* Writes what fits of n copies of c (or of the bytes s) and counts all. */
static void emit(struct out *o, const char *s, char c, size_t n)
{
    size_t room = o->len + 1 < o->cap ? o->cap - 1 - o->len : 0;
    size_t w = n < room ? n : room;

    for (size_t i = 0; i < w; i++)
        o->buf[o->len + i] = s ? s[i] : c;
    o->len += n;
}

/* Parses digits, saturating at INT_MAX. */
static int number(const char **f)
{
    int v = 0;

    for (; **f >= '0' && **f <= '9'; (*f)++)
        v = v > (0x7fffffff - 9) / 10 ? 0x7fffffff : v * 10 + (**f - '0');
    return v;
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    const char *flags = "-+ #0";

    *sp = (struct spec){ .prec = -1 };
    for (const char *c; *f && (c = strchr(flags, *f)); f++)
        sp->flags |= 1u << (c - flags);
    if (*f == '*') {
        int w = va_arg(*ap, int);

        f++;
        if (w < 0) {
            sp->flags |= LEFT;
            w = w == -0x7fffffff - 1 ? 0x7fffffff : -w;
        }
        sp->width = w;
    } else {
        sp->width = number(&f);
    }
    if (*f == '.') {
        f++;
        if (*f == '*') {
            int p = va_arg(*ap, int);

            f++;
            sp->prec = p < 0 ? -1 : p;
        } else {
            sp->prec = number(&f);
        }
    }
    if (f[0] == 'h' && f[1] == 'h')
        sp->size = 'H', f += 2;
    else if (f[0] == 'l' && f[1] == 'l')
        sp->size = 'L', f += 2;
    else if (*f && strchr("hlzjt", *f))
        sp->size = *f++;
    sp->conv = *f;
    return *f ? f + 1 : f;
}

static unsigned long long get_unsigned(char size, va_list *ap)
{
    switch (size) {
    case 'H': return (unsigned char)va_arg(*ap, unsigned);
    case 'h': return (unsigned short)va_arg(*ap, unsigned);
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'z': return va_arg(*ap, size_t);
    case 'j': return va_arg(*ap, uintmax_t);
    case 't': return (size_t)va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, unsigned);
    }
}

static long long get_signed(char size, va_list *ap)
{
    switch (size) {
    case 'H': return (signed char)va_arg(*ap, int);
    case 'h': return (short)va_arg(*ap, int);
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'z': return va_arg(*ap, ptrdiff_t); /* the signed size_t */
    case 'j': return va_arg(*ap, intmax_t);
    case 't': return va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, int);
    }
}

/* Pads body (prefix, zeros, digits) out to the width on the proper side. */
static void emit_padded(struct out *o, const struct spec *sp, const char *pre,
                        size_t npre, size_t zeros, const char *s, size_t n)
{
    size_t body = npre + zeros + n;
    size_t fill = (size_t)sp->width > body ? (size_t)sp->width - body : 0;

    if (!(sp->flags & LEFT)) {
        if ((sp->flags & ZERO) && sp->prec < 0 && sp->conv != 's' &&
            sp->conv != 'c') /* 0 pads numbers only */
            zeros += fill, fill = 0;
        emit(o, NULL, ' ', fill);
    }
    emit(o, pre, 0, npre);
    emit(o, NULL, '0', zeros);
    emit(o, s, 0, n);
    if (sp->flags & LEFT)
        emit(o, NULL, ' ', fill);
}

static void format_int(struct out *o, const struct spec *sp,
                       unsigned long long v, bool neg)
{
    const char *set = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    unsigned base = sp->conv == 'o' ? 8 : strchr("xXp", sp->conv) ? 16 : 10;
    char digits[24], pre[2];
    size_t nd = 0, npre = 0, zeros = 0;

    for (unsigned long long t = v; t; t /= base)
        digits[sizeof(digits) - ++nd] = set[t % base];
    if (sp->prec < 0 && !v)
        digits[sizeof(digits) - ++nd] = '0';
    if (sp->prec > 0 && (size_t)sp->prec > nd)
        zeros = (size_t)sp->prec - nd;
    /* %#o: the first digit printed must be 0. */
    if (sp->conv == 'o' && (sp->flags & ALT) && !zeros &&
        (!nd || digits[sizeof(digits) - nd] != '0'))
        zeros = 1;
    if (neg)
        pre[npre++] = '-';
    else if ((sp->flags & PLUS) && strchr("di", sp->conv))
        pre[npre++] = '+';
    else if ((sp->flags & SPACE) && strchr("di", sp->conv))
        pre[npre++] = ' ';
    if (base == 16 && v && ((sp->flags & ALT) || sp->conv == 'p')) {
        pre[npre++] = '0';
        pre[npre++] = sp->conv == 'X' ? 'X' : 'x';
    }
    emit_padded(o, sp, pre, npre, zeros, digits + sizeof(digits) - nd, nd);
}

static void format_str(struct out *o, const struct spec *sp, const char *s)
{
    if (!s)
        s = sp->prec >= 0 && sp->prec < 6 ? "" : "(null)";
    emit_padded(o, sp, NULL, 0, 0, s,
                sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s));
}

static void convert(struct out *o, struct spec *sp, va_list *ap)
{
    unsigned long long u;
    long long d;
    char c;
    void *p;

    switch (sp->conv) {
    case 'd': case 'i':
        d = get_signed(sp->size, ap);
        /* 0 - (u + 0) avoids negating LLONG_MIN as a signed value. */
        u = d < 0 ? 0 - (unsigned long long)d : (unsigned long long)d;
        format_int(o, sp, u, d < 0);
        break;
    case 'u': case 'o': case 'x': case 'X':
        format_int(o, sp, get_unsigned(sp->size, ap), false);
        break;
    case 'p':
        p = va_arg(*ap, void *);
        if (p)
            format_int(o, sp, (uintptr_t)p, false);
        else
            sp->prec = -1, sp->conv = 's', format_str(o, sp, "(nil)");
        break;
    case 'c':
        c = (char)va_arg(*ap, int);
        sp->prec = -1;
        emit_padded(o, sp, NULL, 0, 0, &c, 1);
        break;
    case 's':
        format_str(o, sp, va_arg(*ap, const char *));
        break;
    }
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct out o = { .buf = buf, .cap = n };
    struct spec sp;
    va_list args;

    va_copy(args, ap); /* a va_list we may pass by address */
    while (*fmt) {
        const char *start = fmt;

        if (*fmt != '%') {
            while (*fmt && *fmt != '%')
                fmt++;
            emit(&o, start, 0, (size_t)(fmt - start));
            continue;
        }
        fmt = parse_spec(fmt + 1, &sp, &args);
        if (sp.conv == '%')
            emit(&o, "%", 0, 1);
        else if (sp.conv && strchr("diuoxXpcs", sp.conv))
            convert(&o, &sp, &args);
        else /* unknown: print it as written */
            emit(&o, start, 0, (size_t)(fmt - start));
    }
    va_end(args);
    if (n)
        buf[o.len < n ? o.len : n - 1] = '\0';
    return o.len > 0x7fffffff ? -1 : (int)o.len;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}
