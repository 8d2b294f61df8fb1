/*
 * A pull parser for JSON held in memory: the caller walks the document
 * (enter an object, take its keys one by one, read or skip each value), so
 * nothing is built that the caller does not keep. Used for Volatility's
 * ISF profiles, which run to tens of megabytes.
 *
 * Bounded: nesting deeper than LX_JSON_MAX_DEPTH, numbers that do not fit and
 * malformed text are errors with the byte offset, never undefined.
 * Strings are returned as spans of the input, decoded on request.
 */
#ifndef TVMI_OS_LINUX_JSON_H
#define TVMI_OS_LINUX_JSON_H

#include "libc.h"

#define LX_JSON_MAX_DEPTH 64

struct lx_json {
    const char *start, *p, *end;
    int depth;
    bool first[LX_JSON_MAX_DEPTH + 1]; /* no member/element read yet at this level */
    bool failed;
    char err[160];
};

struct lx_json_str {
    const char *p;  /* between the quotes, escapes not decoded */
    size_t len;
    bool escaped;   /* contains backslashes */
};

void lx_json_init(struct lx_json *j, const char *buf, size_t len);
/* Records the first error ("at byte N: why") and returns false. */
bool lx_json_fail(struct lx_json *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The next value's first character ('{', '[', '"', digit...), -1 at end. */
int lx_json_peek(struct lx_json *j);
bool lx_json_object(struct lx_json *j); /* consumes '{' */
bool lx_json_array(struct lx_json *j);  /* consumes '[' */
/* Next member of the open object: true with its key (':' consumed); false
 * at '}' (consumed) or on an error (j->failed). */
bool lx_json_key(struct lx_json *j, struct lx_json_str *key);
/* Next element of the open array: true before it; false at ']' or error. */
bool lx_json_item(struct lx_json *j);

bool lx_json_string(struct lx_json *j, struct lx_json_str *s);
/* A non-negative integer; fractions, exponents and overflow are errors. */
bool lx_json_u64(struct lx_json *j, uint64_t *v);
bool lx_json_bool(struct lx_json *j, bool *v);
/* Skips any one value, checking its syntax. */
bool lx_json_skip(struct lx_json *j);
/* True if only whitespace is left. */
bool lx_json_at_end(struct lx_json *j);

bool lx_json_str_is(const struct lx_json_str *s, const char *lit);
/* Decodes s into out (NUL-terminated). False if it needs more than n - 1
 * bytes or holds a NUL (\u0000). */
bool lx_json_str_copy(const struct lx_json_str *s, char *out, size_t n);

#endif
