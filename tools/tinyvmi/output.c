/*
 * Output for the tinyvmi command. Everything for stdout goes through one
 * buffer written with write(2): stdio would hide which write failed and
 * why, and a reader that closes the pipe early (| head) must end the
 * output quietly rather than with an error.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"

bool out_json;

static char obuf[1 << 16];
static size_t olen;
static int oerr; /* errno of the first failed write; output stops there */

static void drain(void)
{
    size_t off = 0;

    while (off < olen && !oerr) {
        ssize_t w = write(STDOUT_FILENO, obuf + off, olen - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            oerr = w < 0 ? errno : EIO;
        else
            off += (size_t)w;
    }
    olen = 0;
}

void out_write(const void *p, size_t n)
{
    const char *s = p;

    while (n && !oerr) {
        size_t room = sizeof(obuf) - olen;
        size_t take = n < room ? n : room;
        memcpy(obuf + olen, s, take);
        olen += take;
        s += take;
        n -= take;
        if (olen == sizeof(obuf))
            drain();
    }
}

void out_puts(const char *s)
{
    out_write(s, strlen(s));
}

/* Formats into a line buffer; the rare longer text gets one of its size. */
static void out_vprintf(const char *fmt, va_list ap)
{
    char line[512], *big;
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n >= 0 && (size_t)n < sizeof(line)) {
        out_write(line, (size_t)n);
    } else if (n > 0 && (big = malloc((size_t)n + 1))) {
        vsnprintf(big, (size_t)n + 1, fmt, again);
        out_write(big, (size_t)n);
        free(big);
    }
    va_end(again);
}

/* "12:34:56 " before a line of a running report (watch). */
void out_time_stamp(void)
{
    char buf[32];
    time_t t = time(NULL);
    struct tm tm;

    if (localtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%H:%M:%S", &tm))
        out_printf("%s ", buf);
}

void out_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    out_vprintf(fmt, ap);
    va_end(ap);
}

int out_flush(void)
{
    drain();
    return oerr;
}

bool out_broken(void)
{
    return oerr != 0;
}

/* ---- JSON ---------------------------------------------------------- */

#define JSON_MAX_DEPTH 16

static struct {
    bool is_array;
    bool has_members;
} stack[JSON_MAX_DEPTH];
static int depth;
static bool json_started, json_has_error;

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

/* A byte that is not part of valid UTF-8 is shown as the code point of the
 * same value (\u00XX), so the output is always valid JSON. */
static void put_escaped(const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;

    out_write("\"", 1);
    while (i < n) {
        unsigned char c = s[i];
        size_t len = utf8_len(s + i, n - i);
        char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

        if (c == '"' || c == '\\') {
            out_write("\\", 1);
            out_write(&s[i], 1);
        } else if (c == '\n') {
            out_write("\\n", 2);
        } else if (c == '\t') {
            out_write("\\t", 2);
        } else if (c == '\r') {
            out_write("\\r", 2);
        } else if (c < 0x20 || c == 0x7f || len == 0) {
            out_write(esc, sizeof(esc));
        } else {
            out_write(s + i, len);
            i += len;
            continue;
        }
        i++;
    }
    out_write("\"", 1);
}

/* The comma and key that come before every value. */
static void member(const char *key)
{
    if (!json_started) {
        json_started = true;
    } else if (depth > 0) {
        if (stack[depth - 1].has_members)
            out_write(",", 1);
        stack[depth - 1].has_members = true;
    }
    if (key && depth > 0 && !stack[depth - 1].is_array) {
        put_escaped((const unsigned char *)key, strlen(key));
        out_write(":", 1);
    }
}

static void open_container(const char *key, bool is_array)
{
    member(key);
    out_write(is_array ? "[" : "{", 1);
    if (depth < JSON_MAX_DEPTH) {
        stack[depth].is_array = is_array;
        stack[depth].has_members = false;
    }
    depth++;
}

static void close_container(void)
{
    if (depth == 0)
        return;
    depth--;
    out_write(depth < JSON_MAX_DEPTH && stack[depth].is_array ? "]" : "}", 1);
    if (depth == 0)
        out_write("\n", 1);
}

void json_begin_object(const char *key) { open_container(key, false); }
void json_end_object(void) { close_container(); }
void json_begin_array(const char *key) { open_container(key, true); }
void json_end_array(void) { close_container(); }

void json_string(const char *key, const char *s)
{
    json_string_bytes(key, s, strlen(s));
}

void json_string_bytes(const char *key, const void *p, size_t n)
{
    member(key);
    put_escaped(p, n);
}

void json_u64(const char *key, uint64_t v)
{
    member(key);
    out_printf("%llu", (unsigned long long)v);
}

void json_hex(const char *key, uint64_t v)
{
    member(key);
    out_printf("\"0x%llx\"", (unsigned long long)v);
}

void json_double(const char *key, double v)
{
    member(key);
    if (isfinite(v))
        out_printf("%.6g", v);
    else
        out_write("null", 4); /* JSON has no inf or nan */
}

void json_bool(const char *key, bool v)
{
    member(key);
    out_printf("%s", v ? "true" : "false");
}

void json_null(const char *key)
{
    member(key);
    out_write("null", 4);
}

void json_hexbytes_begin(const char *key)
{
    member(key);
    out_write("\"", 1);
}

void json_hexbytes_more(const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;
    char chunk[512];
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        chunk[k++] = hex[b[i] >> 4];
        chunk[k++] = hex[b[i] & 15];
        if (k == sizeof(chunk)) {
            out_write(chunk, k);
            k = 0;
        }
    }
    out_write(chunk, k);
}

void json_hexbytes_end(void)
{
    out_write("\"", 1);
}

void json_error(const char *msg)
{
    if (json_has_error)
        return;
    json_has_error = true;
    if (depth == 0)
        open_container(NULL, false);
    while (depth > 1)
        close_container();
    json_string("error", msg);
}

void json_finish(void)
{
    while (depth > 0)
        close_container();
}

/* ---- fields -------------------------------------------------------- */

#define LABEL_WIDTH 24

static int text_indent;

static void label(const char *l)
{
    int pad = LABEL_WIDTH - 2 * text_indent - (int)strlen(l) - 1;

    out_printf("%*s%s:%*s ", 2 * text_indent, "", l, pad > 0 ? pad : 0, "");
}

void out_section(const char *key, const char *title)
{
    if (out_json) {
        json_begin_object(key);
        return;
    }
    if (title)
        out_printf("%*s%s:\n", 2 * text_indent, "", title);
    text_indent++;
}

void out_section_end(void)
{
    if (out_json)
        json_end_object();
    else if (text_indent > 0)
        text_indent--;
}

void out_list(const char *key, const char *title)
{
    if (out_json) {
        json_begin_array(key);
        return;
    }
    if (title)
        out_printf("%*s%s:\n", 2 * text_indent, "", title);
    text_indent++;
}

void out_list_end(void)
{
    if (out_json)
        json_end_array();
    else if (text_indent > 0)
        text_indent--;
}

void out_str(const char *key, const char *l, const char *v)
{
    if (out_json)
        json_string(key, v);
    else if (l) {
        label(l);
        out_printf("%s\n", v);
    }
}

void out_hex(const char *key, const char *l, uint64_t v)
{
    if (out_json)
        json_hex(key, v);
    else if (l) {
        label(l);
        out_printf("0x%llx\n", (unsigned long long)v);
    }
}

void out_num(const char *key, const char *l, uint64_t v)
{
    if (out_json)
        json_u64(key, v);
    else if (l) {
        label(l);
        out_printf("%llu\n", (unsigned long long)v);
    }
}

void out_size(const char *key, const char *l, uint64_t bytes)
{
    char h[32];

    if (out_json)
        json_u64(key, bytes);
    else if (l) {
        label(l);
        out_printf("%s (%llu bytes)\n", human_size(h, bytes),
                   (unsigned long long)bytes);
    }
}

void out_text(const char *fmt, ...)
{
    va_list ap;

    if (out_json)
        return;
    out_printf("%*s", 2 * text_indent, "");
    va_start(ap, fmt);
    out_vprintf(fmt, ap);
    va_end(ap);
}

const char *human_size(char buf[32], uint64_t bytes)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB",
                                        "TiB", "PiB", "EiB" };
    int u = -1;
    double v = (double)bytes;

    if (bytes < 1024) {
        snprintf(buf, 32, "%llu bytes", (unsigned long long)bytes);
        return buf;
    }
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    /* Whole numbers stay whole: "512 MiB", not "512.0 MiB". */
    if (bytes % (1ull << (10 * (u + 1))) == 0)
        snprintf(buf, 32, "%.0f %s", v, unit[u]);
    else
        snprintf(buf, 32, "%.1f %s", v, unit[u]);
    return buf;
}
