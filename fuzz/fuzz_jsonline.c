/*
 * libFuzzer target: the dom0 tool's reader of the appliance's JSON lines
 * (tools/tinyvmi/jsonline.c) and the way back from an event line to the
 * library's event and its text. The lines carry guest strings and come
 * from another domain: any input must parse or be refused, never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[4096], text[1024];
    struct line l;
    tvmi_watch_event_t e;

    if (size >= sizeof line)
        return 0; /* the tool's lines are at most 2048 bytes */
    memcpy(line, data, size);
    line[size] = '\0';
    if (!jl_parse(line, &l))
        return 0;
    if (l.n < 0 || l.n > FIELDS_MAX)
        __builtin_trap();
    for (int i = 0; i < l.n; i++)
        if (!l.key[i] || !l.val[i] || l.key[i] < line || l.val[i] >= line + size + 1)
            __builtin_trap(); /* everything points into the line */
    if (jl_watch_event(&l, &e)) {
        size_t n = tvmi_watch_event_text(&e, text, sizeof text);

        if (n >= sizeof text || strlen(text) != n)
            __builtin_trap();
    }
    return 0;
}
