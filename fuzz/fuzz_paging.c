/*
 * libFuzzer target: page walks over guest memory the fuzzer controls.
 * Input: 1 byte mode, 8 bytes dtb, 8 bytes VA, then the first bytes of a
 * 64 KiB "physical memory" (16 frames, the rest zero). Every walk must end
 * with a translation or an error message — never a crash or a read outside
 * the guest.
 */
#include <stdint.h>
#include <string.h>

#include "memdrv.h"

#define GUEST_BYTES (16 * 4096)

static const page_mode_t modes[] = { VMI_PM_NONE, VMI_PM_LEGACY, VMI_PM_PAE,
                                     VMI_PM_IA32E, VMI_PM_LA57, VMI_PM_UNKNOWN };

static uint64_t take64(const uint8_t **p, size_t *n)
{
    uint64_t v = 0;
    size_t k = *n < 8 ? *n : 8;

    memcpy(&v, *p, k);
    *p += k;
    *n -= k;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct memguest *g;
    static vmi_instance_t vmi;
    page_mode_t pm;
    addr_t dtb, va, pa;
    page_info_t info;

    if (size < 1)
        return 0;
    if (!g) { /* one guest and instance for the whole run: inputs differ
                 only in memory contents, root and mode */
        g = memguest_new(GUEST_BYTES);
        memguest_hole(g, 15); /* one hole: reads of it must fail cleanly */
        vmi = memguest_open(g, VMI_PM_IA32E, 0x1000);
        if (!vmi)
            __builtin_trap();
    }
    pm = modes[data[0] % (sizeof(modes) / sizeof(modes[0]))];
    data++, size--;
    dtb = take64(&data, &size) % (GUEST_BYTES + 0x10000);
    va = take64(&data, &size);
    memset(g->mem, 0, GUEST_BYTES);
    memcpy(g->mem, data, size < GUEST_BYTES ? size : GUEST_BYTES);

    /* Also flushes the translation cache: nothing stale from the last input. */
    tvmi_set_kernel_dtb(vmi, dtb, pm == VMI_PM_UNKNOWN ? VMI_PM_IA32E : pm);
    if (tvmi_pagetable_lookup_mode(vmi, pm, dtb, va, &info) == VMI_SUCCESS) {
        uint64_t v;
        vmi_read_64_pa(vmi, info.paddr, &v);
    } else if (!tvmi_last_error(vmi)[0]) {
        __builtin_trap(); /* a failure must say why */
    }
    vmi_translate_kv2p(vmi, va, &pa);
    return 0;
}
