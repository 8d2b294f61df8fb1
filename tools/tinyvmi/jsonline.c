/*
 * One JSON line as the appliance writes them: an object of strings,
 * numbers, true/false, null and arrays of strings, no nesting beyond that.
 * Parsed in place; and a watch event line back into the library's event.
 */
#include "jsonline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a quoted string in place at *p; returns it, or NULL. Escaped
 * control characters become '?': the strings are a guest's, printed. */
static char *parse_string(char **p)
{
    char *s = *p, *out, *start;

    if (*s != '"')
        return NULL;
    start = out = ++s;
    while (*s && *s != '"') {
        if (*s == '\\' && s[1]) {
            s++;
            if (*s == 'u' && strlen(s) >= 5) {
                char hex[5] = { s[1], s[2], s[3], s[4], 0 };
                unsigned long c = strtoul(hex, NULL, 16);
                *out++ = c < 0x20 || c > 0xff ? '?' : (char)c;
                s += 5;
                continue;
            }
            /* control characters never reach a terminal */
            *out++ = strchr("bfnrt", *s) ? '?' : *s;
            s++;
            continue;
        }
        *out++ = *s++;
    }
    if (*s != '"')
        return NULL;
    *out = '\0';
    *p = s + 1;
    return start;
}

/* An array of strings in place, ["a","b"] as "a,b". */
static char *parse_names(char **p)
{
    char *s = *p + 1, *out = *p, *start = *p;

    if (*s != ']') {
        for (bool first = true;; first = false) {
            char *v = parse_string(&s);
            size_t n;

            if (!v)
                return NULL;
            n = strlen(v);
            if (!first)
                *out++ = ',';
            memmove(out, v, n);
            out += n;
            if (*s == ']')
                break;
            if (*s++ != ',')
                return NULL;
        }
    }
    *out = '\0';
    *p = s + 1;
    return start;
}

bool jl_parse(char *s, struct line *l)
{
    l->n = 0;
    if (*s++ != '{')
        return false;
    while (*s && *s != '}' && l->n < FIELDS_MAX) {
        char *k = parse_string(&s), *v;

        if (!k || *s++ != ':')
            return false;
        l->is_null[l->n] = false;
        if (*s == '"' || *s == '[') {
            v = *s == '"' ? parse_string(&s) : parse_names(&s);
            if (!v)
                return false;
        } else {
            l->is_null[l->n] = !strncmp(s, "null", 4) && (s[4] == ',' || s[4] == '}');
            v = s;
            s += strcspn(s, ",}");
            if (!*s || s == v)
                return false;
        }
        l->key[l->n] = k;
        l->val[l->n++] = v;
        if (*s == '}') {
            *s = '\0';
            return true;
        }
        if (*s != ',' || s[1] == '}')
            return false;
        *s++ = '\0';
    }
    return *s == '}';
}

const char *jl_get(const struct line *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->key[i], key))
            return l->val[i];
    return "";
}

long jl_num(const struct line *l, const char *key)
{
    return strtol(jl_get(l, key), NULL, 0);
}

const char *jl_get_or_null(const struct line *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->key[i], key))
            return l->is_null[i] ? NULL : l->val[i];
    return NULL;
}

unsigned long long jl_unum(const struct line *l, const char *key)
{
    return strtoull(jl_get(l, key), NULL, 0);
}

/* "0f1e" into bytes; returns how many. */
static size_t hex_bytes(const char *hex, uint8_t *out, size_t max)
{
    size_t n = 0;

    for (; n < max && isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1]);
         hex += 2) {
        char two[3] = { hex[0], hex[1], 0 };
        out[n++] = (uint8_t)strtoul(two, NULL, 16);
    }
    return n;
}

/* The appliance's event line back into the library's event, so the text
 * is the library's own words, as `tinyvmi watch` prints them. The event's
 * strings point into l. */
bool jl_watch_event(const struct line *l, tvmi_watch_event_t *e)
{
    const char *kind = jl_get(l, "event");
    int k;

    memset(e, 0, sizeof *e);
    for (k = TVMI_WATCH_TASK_STARTED; k <= TVMI_WATCH_PROBLEM; k++)
        if (!strcmp(kind, tvmi_watch_kind_name((tvmi_watch_kind_t)k)))
            break;
    if (k > TVMI_WATCH_PROBLEM)
        return false;
    e->kind = (tvmi_watch_kind_t)k;
    e->task.tgid = (vmi_pid_t)jl_num(l, "pid");
    e->task.pid = (vmi_pid_t)jl_num(l, "tid");
    e->task.ppid = jl_get_or_null(l, "ppid") ? (vmi_pid_t)jl_num(l, "ppid") : -1;
    snprintf(e->task.comm, sizeof e->task.comm, "%s", jl_get(l, "comm"));
    e->task.task = jl_unum(l, "task");
    e->task.kernel_thread = !strcmp(jl_get(l, "kernel_thread"), "true");
    snprintf(e->module.name, sizeof e->module.name, "%s", jl_get(l, "name"));
    e->module.base = jl_unum(l, "base");
    e->module.size = jl_unum(l, "size");
    e->module.module = jl_unum(l, "module");
    e->text.start = e->problem.start = jl_unum(l, "start");
    e->text.end = e->problem.end = jl_unum(l, "end");
    e->text.exact = !strcmp(jl_get(l, "exact"), "true");
    e->text.symbol = jl_get_or_null(l, "symbol");
    e->text.offset = jl_unum(l, "offset");
    snprintf(e->text.aliases, sizeof e->text.aliases, "%s", jl_get(l, "aliases"));
    e->text.end_symbol = jl_get_or_null(l, "end_symbol");
    e->text.end_offset = jl_unum(l, "end_offset");
    e->text.old_len = hex_bytes(jl_get(l, "old"), e->text.old, TVMI_WATCH_BYTES);
    e->text.cur_len = hex_bytes(jl_get(l, "new"), e->text.cur, TVMI_WATCH_BYTES);
    e->syscall.index = (uint32_t)jl_unum(l, "index");
    e->syscall.old_target = jl_unum(l, "old");
    e->syscall.new_target = jl_unum(l, "new");
    e->syscall.original = jl_unum(l, "original");
    e->syscall.old_symbol = jl_get_or_null(l, "old_symbol");
    e->syscall.new_symbol = jl_get_or_null(l, "new_symbol");
    e->syscall.old_offset = jl_unum(l, "old_offset");
    e->syscall.new_offset = jl_unum(l, "new_offset");
    snprintf(e->syscall.old_aliases, sizeof e->syscall.old_aliases, "%s", jl_get(l, "old_aliases"));
    snprintf(e->syscall.new_aliases, sizeof e->syscall.new_aliases, "%s", jl_get(l, "new_aliases"));
    snprintf(e->syscall.old_module, sizeof e->syscall.old_module, "%s", jl_get(l, "old_module"));
    snprintf(e->syscall.new_module, sizeof e->syscall.new_module, "%s", jl_get(l, "new_module"));
    e->problem.what = jl_get(l, "what");
    snprintf(e->problem.message, sizeof e->problem.message, "%s", jl_get(l, "message"));
    return true;
}

