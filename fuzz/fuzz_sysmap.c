/*
 * libFuzzer target: System.map text (lx_sysmap_parse). Any input must
 * give a symbol table or an error naming the line, never a crash.
 */
#include <stdint.h>
#include <string.h>

#include "os/linux/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lx_psyms s;
    char err[256];
    uint64_t a;

    err[0] = '\0';
    if (lx_sysmap_parse((const char *)data, size, &s, err, sizeof(err)) != VMI_SUCCESS) {
        if (!err[0] || s.n)
            __builtin_trap();
        return 0;
    }
    if (!s.n)
        __builtin_trap(); /* success means symbols */
    /* the last symbol read can be looked up by its name */
    if (!lx_psyms_find(&s, lx_pool_str(&s.pool, s.name[s.n - 1]) + 1, &a))
        __builtin_trap();
    lx_psyms_free(&s);
    return 0;
}
