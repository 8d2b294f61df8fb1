/*
 * libFuzzer target: the kernel log (printk.c: the lockless printk
 * ringbuffer, and the dmesg text made from it) on a real snapshot with
 * corrupted memory; see views_harness.h.
 */
#include "views_harness.h"

static size_t dmesg(vmi_instance_t vmi)
{
    size_t len = 0, lines = 0;
    int partial = 0;
    char *text = tvmi_linux_dmesg(vmi, &len, &partial);

    must_say_why(vmi, text ? VMI_SUCCESS : VMI_FAILURE, partial);
    if (!text)
        return 0;
    if (text[len] != '\0' || (len && text[len - 1] != '\n'))
        __builtin_trap(); /* NUL-terminated lines */
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    free(text);
    return lines;
}

FUZZ_VIEW("linux_dmesg", dmesg)
