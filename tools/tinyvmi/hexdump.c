/*
 * The classic hexdump line: address, 16 bytes in hex (two groups of 8),
 * the same bytes as ASCII with '.' for anything unprintable. Lines are
 * built by hand: a 64 MiB read is four million of them.
 */
#include "output.h"

#define PER_LINE 16

static char *put_hex(char *o, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";

    for (int i = digits - 1; i >= 0; i--)
        *o++ = hex[(v >> (4 * i)) & 15];
    return o;
}

static size_t format_line(char *line, uint64_t addr, const unsigned char *p,
                          size_t n, int digits)
{
    char *o = put_hex(line, addr, digits);

    *o++ = ' ';
    for (size_t i = 0; i < PER_LINE; i++) {
        *o++ = ' ';
        if (i == 8)
            *o++ = ' ';
        if (i < n) {
            o = put_hex(o, p[i], 2);
        } else {
            *o++ = ' ';
            *o++ = ' ';
        }
    }
    *o++ = ' ';
    *o++ = ' ';
    *o++ = '|';
    for (size_t i = 0; i < n; i++)
        *o++ = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
    *o++ = '|';
    *o++ = '\n';
    return (size_t)(o - line);
}

void hexdump(uint64_t addr, const unsigned char *p, size_t n, int digits)
{
    char line[128];

    while (n && !out_broken()) {
        size_t take = n < PER_LINE ? n : PER_LINE;
        out_write(line, format_line(line, addr, p, take, digits));
        addr += take;
        p += take;
        n -= take;
    }
}
