/* One flat JSON line (the appliance's results), parsed in place. */
#ifndef TVMI_CLI_JSONLINE_H
#define TVMI_CLI_JSONLINE_H

#include <stdbool.h>
#include <tinyvmi/linux.h>

#define FIELDS_MAX 32

struct line {
    char *key[FIELDS_MAX], *val[FIELDS_MAX]; /* values unquoted, unescaped;
                                                arrays of strings as "a,b" */
    bool is_null[FIELDS_MAX];
    int n;
};

/* Parses s in place; false if it is not one such object. */
bool jl_parse(char *s, struct line *l);
const char *jl_get(const struct line *l, const char *key);         /* "" if absent */
const char *jl_get_or_null(const struct line *l, const char *key); /* NULL: absent or null */
long jl_num(const struct line *l, const char *key);
unsigned long long jl_unum(const struct line *l, const char *key);
/* An "event" line back into the library's event (its strings point into
 * l), so the text is the library's own words; false for an unknown kind. */
bool jl_watch_event(const struct line *l, tvmi_watch_event_t *e);

#endif
