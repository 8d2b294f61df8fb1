/*
 * libFuzzer target: the module list (modules.c, the list walks of
 * views.c) on a real snapshot with corrupted memory; see views_harness.h.
 */
#include "views_harness.h"

static size_t modules(vmi_instance_t vmi)
{
    tvmi_linux_module_t *m;
    size_t n = 0;
    int partial = 0;
    status_t rc = tvmi_linux_modules(vmi, &m, &n, &partial);

    must_say_why(vmi, rc, partial);
    if (rc != VMI_SUCCESS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strnlen(m[i].name, sizeof(m[i].name)) == sizeof(m[i].name))
            __builtin_trap();
    free(m);
    return n;
}

FUZZ_VIEW("linux_modules", modules)
