/*
 * libFuzzer target: Volatility ISF JSON (lx_isf_parse) and the layout
 * lookups over what it accepted, anonymous members included. Any input
 * must give tables or an error message, in bounded time.
 */
#include <stdint.h>
#include <string.h>

#include "os/linux/profile.h"

static void lookups(const struct lx_isf *isf)
{
    uint64_t v;

    for (uint32_t i = 0; i < isf->types.ntypes && i < 8; i++) {
        const char *name = lx_pool_str(&isf->types.pool, isf->types.type[i].name);
        const struct lx_ptype *t = lx_ptypes_find(&isf->types, name);

        if (!t)
            __builtin_trap(); /* every type must be found by its name */
        lx_ptypes_offset(&isf->types, name, "tasks", &v);
        for (uint32_t f = 0; f < t->nfields && f < 4; f++)
            lx_ptypes_offset(&isf->types, name,
                             lx_pool_str(&isf->types.pool,
                                         isf->types.field[t->first + f].name), &v);
    }
    lx_psyms_find(&isf->syms, "linux_banner", &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lx_isf isf;
    char err[256];

    err[0] = '\0';
    if (lx_isf_parse((const char *)data, size, &isf, err, sizeof(err)) != VMI_SUCCESS) {
        if (!err[0])
            __builtin_trap(); /* a failure must say why */
        return 0;
    }
    lookups(&isf);
    lx_isf_free(&isf);
    return 0;
}
