/*
 * The results channel: JSON lines in our own xenstore home.
 *
 *   data/tinyvmi/state     what we are doing ("ready", "ps", "error: ...")
 *   data/tinyvmi/out/<n>   chunk n (1, 2, ...): whole JSON lines, each
 *                          ending in '\n', at most OUT_CHUNK bytes; dom0
 *                          reads out/<ack + 1> until it does not exist
 *   data/tinyvmi/ack       written by dom0: the chunks it has read (and
 *                          removed) so far
 *   data/tinyvmi/reader    written by dom0 when it streams the results:
 *                          we wait (bounded) for them to be read before
 *                          powering off
 *   data/tinyvmi/cmd       written by dom0: "<seq> <command words>"
 *
 * Why xenstore and not a vchan: the appliance already has a xenstore
 * client and nothing else to share memory with dom0, results are small
 * (a process list is a few KiB), and dom0's reader needs only libxenstore.
 * Lines are packed into chunks because each xenstore request is a round
 * trip to xenstored (one write per chunk; acks are read only when the
 * window seems full); dom0 acknowledges chunks so that an absent reader
 * cannot make us fill xenstored's quota: past OUT_WINDOW unread chunks we
 * wait (bounded), then drop and say how many lines were lost.
 */
#include "app.h"
#include "xen.h"

#define OUT_CHUNK  1800u /* below xenstored's default 2048-byte node limit */
#define OUT_LINE   1700u /* a whole line fits in one chunk */
#define OUT_WINDOW 64u   /* unread chunks we allow */
#define OUT_WAIT_MS 5000u

static bool have_xs;
static char line[OUT_LINE];
static size_t line_len;
static bool line_first, line_truncated;
static char chunk[OUT_CHUNK + 1];
static size_t chunk_len;
static unsigned chunk_no;
static unsigned long dropped;
static unsigned cmd_seen;
static unsigned acked;     /* dom0's ack, as last read */

bool out_init(void)
{
    have_xs = uk_xen.present && (uk_xs_write("data/tinyvmi/state", "starting") == 0 ||
                                 uk_xs_write("data/tinyvmi/state", "starting") == 0);
    return have_xs;
}

void out_state(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (have_xs)
        uk_xs_write("data/tinyvmi/state", buf);
}

static unsigned read_number(const char *path)
{
    char buf[24];

    if (uk_xs_read(path, buf, sizeof buf) <= 0)
        return 0;
    return (unsigned)strtoull(buf, NULL, 10);
}

/* Waits while dom0 is more than OUT_WINDOW chunks behind. */
static bool room_for_chunk(void)
{
    uint64_t start = uk_now_ns();

    while (chunk_no + 1 - acked > OUT_WINDOW) {
        acked = read_number("data/tinyvmi/ack");
        if (chunk_no + 1 - acked <= OUT_WINDOW)
            break;
        if (!start || uk_now_ns() - start > OUT_WAIT_MS * 1000000ull)
            return false;
        uk_sleep_ms(10);
    }
    return true;
}

void out_flush(void)
{
    char path[48];

    if (!chunk_len)
        return;
    if (have_xs && room_for_chunk()) {
        chunk[chunk_len] = '\0';
        snprintf(path, sizeof path, "data/tinyvmi/out/%u", chunk_no + 1);
        /* once more after a timeout: the same write again is harmless */
        if (uk_xs_write(path, chunk) == 0 || uk_xs_write(path, chunk) == 0)
            chunk_no++;
        else
            printk("results: writing %s: %s\n", path, uk_xs_error());
    } else if (have_xs) {
        for (size_t i = 0; i < chunk_len; i++)
            dropped += chunk[i] == '\n';
    }
    chunk_len = 0;
}

static void put(const char *s, size_t n)
{
    if (line_len + n >= OUT_LINE - 2) { /* room for "}\n" */
        line_truncated = true;
        return;
    }
    memcpy(line + line_len, s, n);
    line_len += n;
}

static void put_str(const char *s)
{
    put(s, strlen(s));
}

/* The n bytes at s (stopping early at a NUL) as a JSON string. */
static void put_quoted_n(const char *s, size_t n)
{
    put("\"", 1);
    for (; n && *s; s++, n--) {
        unsigned char c = (unsigned char)*s;
        char esc[8];

        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(esc, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            /* Guest strings are bytes; \u00XX keeps the line valid JSON. */
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(esc, 6);
        } else {
            put(s, 1);
        }
    }
    put("\"", 1);
}

static void put_quoted(const char *s)
{
    put_quoted_n(s, (size_t)-1);
}

static void key(const char *k)
{
    if (!line_first)
        put(",", 1);
    line_first = false;
    put_quoted(k);
    put(":", 1);
}

void out_begin(const char *type, unsigned seq)
{
    char num[24];

    line_len = 0;
    line_first = true;
    line_truncated = false;
    put("{", 1);
    key("type");
    put_quoted(type);
    key("seq");
    snprintf(num, sizeof num, "%u", seq);
    put_str(num);
    if (dropped) {
        key("dropped_lines");
        snprintf(num, sizeof num, "%lu", dropped);
        put_str(num);
        dropped = 0;
    }
}

void out_str(const char *k, const char *v)
{
    key(k);
    put_quoted(v);
}

void out_u64(const char *k, uint64_t v)
{
    char num[24];

    key(k);
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    put_str(num);
}

void out_i64(const char *k, int64_t v)
{
    char num[24];

    key(k);
    snprintf(num, sizeof num, "%lld", (long long)v);
    put_str(num);
}

void out_hex(const char *k, uint64_t v)
{
    char num[24];

    key(k);
    snprintf(num, sizeof num, "\"0x%llx\"", (unsigned long long)v);
    put_str(num);
}

void out_bool(const char *k, bool v)
{
    key(k);
    put_str(v ? "true" : "false");
}

void out_null(const char *k)
{
    key(k);
    put_str("null");
}

/* bytes as one hex string: "0f1e" */
void out_bytes(const char *k, const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    key(k);
    put("\"", 1);
    for (size_t i = 0; i < n; i++) {
        char two[2] = { hex[b[i] >> 4], hex[b[i] & 15] };
        put(two, 2);
    }
    put("\"", 1);
}

/* "a,b" as ["a","b"] */
void out_names(const char *k, const char *names)
{
    key(k);
    put("[", 1);
    for (bool first = true; *names; first = false) {
        size_t n = 0;

        while (names[n] && names[n] != ',')
            n++;
        if (!first)
            put(",", 1);
        put_quoted_n(names, n);
        names += n + (names[n] == ',');
    }
    put("]", 1);
}

void out_end(void)
{
    if (line_truncated) {
        /* Never a cut line: say what happened instead. */
        line_len = 0;
        line_first = true;
        put("{", 1);
        key("type");
        put_quoted("error");
        key("message");
        put_quoted("a result line was longer than 1700 bytes and was dropped");
    }
    put("}\n", 2);
    if (chunk_len + line_len > OUT_CHUNK)
        out_flush();
    memcpy(chunk + chunk_len, line, line_len);
    chunk_len += line_len;
}

void out_wait_read(unsigned timeout_ms)
{
    char buf[8];
    uint64_t start = uk_now_ns();

    out_flush();
    /* No reader: nobody to wait for. A failed read is not "no reader". */
    if (!have_xs || (uk_xs_read("data/tinyvmi/reader", buf, sizeof buf) <= 0 &&
                     !strcmp(uk_xs_error(), "ENOENT")))
        return;
    for (unsigned n = 0; (acked = read_number("data/tinyvmi/ack")) < chunk_no; n++) {
        if (start ? uk_now_ns() - start >= timeout_ms * 1000000ull
                  : n >= timeout_ms / 20)
            break;
        uk_sleep_ms(20);
    }
}

unsigned out_poll_command(char *buf, size_t len)
{
    char raw[256], *rest;
    unsigned seq;

    if (!have_xs || uk_xs_read("data/tinyvmi/cmd", raw, sizeof raw) <= 0)
        return 0;
    seq = (unsigned)strtoull(raw, &rest, 10);
    if (!seq || seq == cmd_seen)
        return 0;
    cmd_seen = seq;
    while (*rest == ' ')
        rest++;
    snprintf(buf, len, "%s", rest);
    return seq;
}
