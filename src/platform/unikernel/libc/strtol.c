/*
 * strtoull and strtoll with C's rules: leading space, a sign, base 0 picks
 * 16 ("0x"), 8 ("0") or 10; out-of-range saturates. There is no errno in
 * the core's libc: a caller that must tell overflow from ULLONG_MAX checks
 * the digits itself. "0b" is not a prefix (C23), as in glibc before 2.38.
 */
#include "libc.h"

static int digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The magnitude, *neg and whether it overflowed; *end past the digits or
 * at s when there are none. */
static unsigned long long parse(const char *s, char **end, int base,
                                bool *neg, bool *over)
{
    const char *p = s;
    unsigned long long v = 0;
    bool any = false;

    *neg = *over = false;
    if (end)
        *end = (char *)s;
    if (base < 0 || base == 1 || base > 36)
        return 0;
    while (is_space(*p))
        p++;
    if (*p == '+' || *p == '-')
        *neg = *p++ == '-';
    /* "0x" counts as a prefix only when a hex digit follows. */
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 0x20) == 'x' &&
        digit(p[2]) < 16)
        p += 2, base = 16;
    else if (base == 0)
        base = p[0] == '0' ? 8 : 10;
    for (int d; (d = digit(*p)) < base; p++) {
        any = true;
        if (v > (~0ull - (unsigned)d) / (unsigned)base)
            *over = true;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (any && end)
        *end = (char *)p;
    return v;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
    bool neg, over;
    unsigned long long v = parse(s, end, base, &neg, &over);

    if (over)
        return ~0ull;
    return neg ? -v : v;
}

long long strtoll(const char *s, char **end, int base)
{
    bool neg, over;
    unsigned long long v = parse(s, end, base, &neg, &over);
    unsigned long long max = neg ? 1ull << 63 : (1ull << 63) - 1;

    if (over || v > max)
        v = max;
    /* -(v - 1) - 1 reaches LLONG_MIN without overflowing on the way. */
    return neg && v ? -(long long)(v - 1) - 1 : (long long)v;
}
