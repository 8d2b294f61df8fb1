/*
 * JSON (RFC 8259) pulled from a memory buffer; see json.h. Recursion only
 * in lx_json_skip, bounded by LX_JSON_MAX_DEPTH like every container.
 */
#include "json.h"

void lx_json_init(struct lx_json *j, const char *buf, size_t len)
{
    memset(j, 0, sizeof(*j));
    j->start = j->p = buf;
    j->end = buf + len;
}

bool lx_json_fail(struct lx_json *j, const char *fmt, ...)
{
    char why[128];
    va_list ap;

    if (j->failed)
        return false;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(j->err, sizeof(j->err), "at byte %zu: %s",
             (size_t)(j->p - j->start), why);
    j->failed = true;
    return false;
}

static void skip_space(struct lx_json *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

int lx_json_peek(struct lx_json *j)
{
    skip_space(j);
    return j->p < j->end ? (unsigned char)*j->p : -1;
}

static bool open_container(struct lx_json *j, char c, const char *what)
{
    if (j->failed)
        return false;
    if (lx_json_peek(j) != c)
        return lx_json_fail(j, "expected %s", what);
    if (j->depth >= LX_JSON_MAX_DEPTH)
        return lx_json_fail(j, "nested deeper than %d levels", LX_JSON_MAX_DEPTH);
    j->p++;
    j->first[++j->depth] = true;
    return true;
}

bool lx_json_object(struct lx_json *j)
{
    return open_container(j, '{', "an object");
}

bool lx_json_array(struct lx_json *j)
{
    return open_container(j, '[', "an array");
}

/* Before the next member or element: false at the closing bracket (eaten)
 * or on an error; else true with the separating comma eaten. */
static bool next_in(struct lx_json *j, char close, const char *what)
{
    int c;

    if (j->failed)
        return false;
    c = lx_json_peek(j);
    if (c < 0)
        return lx_json_fail(j, "the input ends inside %s", what);
    if (c == close) {
        j->p++;
        j->depth--;
        return false;
    }
    if (!j->first[j->depth]) {
        if (c != ',')
            return lx_json_fail(j, "expected ',' or '%c' in %s", close, what);
        j->p++;
    }
    j->first[j->depth] = false;
    return true;
}

bool lx_json_key(struct lx_json *j, struct lx_json_str *key)
{
    if (!next_in(j, '}', "an object"))
        return false;
    if (lx_json_peek(j) != '"')
        return lx_json_fail(j, "expected a member name");
    if (!lx_json_string(j, key))
        return false;
    if (lx_json_peek(j) != ':')
        return lx_json_fail(j, "expected ':' after a member name");
    j->p++;
    return true;
}

bool lx_json_item(struct lx_json *j)
{
    return next_in(j, ']', "an array");
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* After a backslash: one valid escape. */
static bool check_escape(struct lx_json *j)
{
    char c;

    if (j->p >= j->end)
        return lx_json_fail(j, "unterminated string");
    c = *j->p++;
    if (c == 'u') {
        for (int i = 0; i < 4; i++, j->p++)
            if (j->p >= j->end || !is_hex(*j->p))
                return lx_json_fail(j, "bad \\u escape");
        return true;
    }
    if (!strchr("\"\\/bfnrt", c) || c == '\0')
        return lx_json_fail(j, "bad escape '\\%c'", c >= ' ' && c < 0x7f ? c : '?');
    return true;
}

bool lx_json_string(struct lx_json *j, struct lx_json_str *s)
{
    if (j->failed)
        return false;
    if (lx_json_peek(j) != '"')
        return lx_json_fail(j, "expected a string");
    s->p = ++j->p;
    s->escaped = false;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20) {
            j->p--;
            return lx_json_fail(j, "control character 0x%02x in a string", c);
        }
        if (c == '\\') {
            s->escaped = true;
            if (!check_escape(j))
                return false;
        }
    }
    if (j->p >= j->end)
        return lx_json_fail(j, "unterminated string");
    s->len = (size_t)(j->p - s->p);
    j->p++;
    return true;
}

static bool is_digit(const struct lx_json *j)
{
    return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

bool lx_json_u64(struct lx_json *j, uint64_t *v)
{
    uint64_t n = 0;
    int c;

    if (j->failed)
        return false;
    c = lx_json_peek(j);
    if (c == '-')
        return lx_json_fail(j, "negative number where a size or address belongs");
    if (!is_digit(j))
        return lx_json_fail(j, "expected a number");
    if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9')
        return lx_json_fail(j, "number with a leading zero");
    while (is_digit(j)) {
        unsigned d = (unsigned)(*j->p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return lx_json_fail(j, "number does not fit in 64 bits");
        n = n * 10 + d;
        j->p++;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return lx_json_fail(j, "expected an integer");
    *v = n;
    return true;
}

static bool literal(struct lx_json *j, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
        return lx_json_fail(j, "unexpected character");
    j->p += n;
    return true;
}

bool lx_json_bool(struct lx_json *j, bool *v)
{
    int c = lx_json_peek(j);

    if (j->failed)
        return false;
    *v = c == 't';
    if (c != 't' && c != 'f')
        return lx_json_fail(j, "expected true or false");
    return literal(j, *v ? "true" : "false");
}

static bool digits(struct lx_json *j)
{
    if (!is_digit(j))
        return lx_json_fail(j, "bad number");
    while (is_digit(j))
        j->p++;
    return true;
}

static bool skip_number(struct lx_json *j)
{
    if (*j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!digits(j))
            return false;
    }
    return true;
}

bool lx_json_skip(struct lx_json *j)
{
    struct lx_json_str s;
    int c = lx_json_peek(j);

    if (j->failed)
        return false;
    switch (c) {
    case '{':
        if (!lx_json_object(j))
            return false;
        while (lx_json_key(j, &s))
            if (!lx_json_skip(j))
                return false;
        return !j->failed;
    case '[':
        if (!lx_json_array(j))
            return false;
        while (lx_json_item(j))
            if (!lx_json_skip(j))
                return false;
        return !j->failed;
    case '"':
        return lx_json_string(j, &s);
    case 't':
        return literal(j, "true");
    case 'f':
        return literal(j, "false");
    case 'n':
        return literal(j, "null");
    case -1:
        return lx_json_fail(j, "the input ends where a value belongs");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return skip_number(j);
        return lx_json_fail(j, "expected a value");
    }
}

bool lx_json_at_end(struct lx_json *j)
{
    return lx_json_peek(j) < 0;
}

bool lx_json_str_is(const struct lx_json_str *s, const char *lit)
{
    return !s->escaped && strlen(lit) == s->len && !memcmp(s->p, lit, s->len);
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One \u escape at p (after the backslash), a surrogate pair taken whole.
 * The string was checked by lx_json_string, so four hex digits follow. */
static uint32_t unicode_escape(const char *p, const char *end, size_t *used)
{
    uint32_t cp = hex4(p + 1);

    *used = 5;
    if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 11 && p[5] == '\\' &&
        p[6] == 'u') {
        uint32_t lo = hex4(p + 7);
        if (lo >= 0xdc00 && lo < 0xe000) {
            *used = 11;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
    }
    return cp;
}

bool lx_json_str_copy(const struct lx_json_str *s, char *out, size_t n)
{
    const char *p = s->p, *end = s->p + s->len;
    size_t o = 0;

    while (p < end) {
        char buf[4];
        size_t k = 1, used = 1;

        buf[0] = *p;
        if (*p == '\\') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            char e = p[1];
            used = 2;
            if (e == 'u') {
                uint32_t cp = unicode_escape(p + 1, end, &used);
                if (cp == 0)
                    return false;
                used++;
                k = utf8_put(buf, cp);
            } else {
                buf[0] = to[strchr(from, e) - from];
            }
        }
        if (o + k >= n)
            return false;
        memcpy(out + o, buf, k);
        o += k;
        p += used;
    }
    if (n == 0)
        return false;
    out[o] = '\0';
    return true;
}
