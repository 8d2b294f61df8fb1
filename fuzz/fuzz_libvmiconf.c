/*
 * libFuzzer target: libvmi.conf text (lx_conf_parse), taking the first
 * entry and, again, the one named "vm". Any input must give an entry or
 * an error naming the line.
 */
#include <stdint.h>
#include <string.h>

#include "os/linux/profile.h"

static void parse(const uint8_t *data, size_t size, const char *entry, bool first)
{
    struct lx_conf c;
    char err[256];

    err[0] = '\0';
    if (lx_conf_parse((const char *)data, size, entry, first, &c, err,
                      sizeof(err)) != VMI_SUCCESS) {
        if (!err[0])
            __builtin_trap();
        return;
    }
    /* every string stays terminated inside its buffer */
    if (strnlen(c.sysmap, sizeof(c.sysmap)) == sizeof(c.sysmap) ||
        strnlen(c.entry, sizeof(c.entry)) == sizeof(c.entry) ||
        strnlen(c.notes, sizeof(c.notes)) == sizeof(c.notes))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse(data, size, NULL, false);
    parse(data, size, "vm", false);
    parse(data, size, "vm", true);
    return 0;
}
