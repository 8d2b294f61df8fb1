/*
 * libFuzzer target: the snapshot driver's format detection and parsers
 * (QEMU ELF cores with their notes, LiME, raw) on files the fuzzer writes.
 * The file goes through the real entry point, vmi_init on a path (a memfd
 * seen through /proc/self/fd), then every backed range is read and every
 * register asked for: all must succeed or fail with a message.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "private.h"

static void read_everything(vmi_instance_t vmi)
{
    struct tvmi_mem_range r[64];
    size_t n = vmi->drv->get_ranges ? vmi->drv->get_ranges(vmi, r, 64) : 0;
    uint8_t page[4096];
    uint64_t v;

    for (size_t i = 0; i < n && i < 64; i++) {
        if (r[i].end <= r[i].start)
            __builtin_trap(); /* ranges must be well-formed */
        vmi_read_pa(vmi, r[i].start, sizeof(page) < r[i].end - r[i].start
                                         ? sizeof(page) : r[i].end - r[i].start,
                    page, NULL);
        vmi_read_64_pa(vmi, r[i].end - 8, &v);
    }
    for (reg_t reg = 0; reg < TVMI_REG_COUNT; reg++)
        vmi_get_vcpureg(vmi, &v, reg, 0);
    vmi_read_64_va(vmi, 0xffffffff81000000ull, 0, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    char path[64];
    vmi_instance_t vmi;

    if (fd < 0 && (fd = memfd_create("fuzz-snapshot", 0)) < 0)
        __builtin_trap();
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
        __builtin_trap();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, NULL) != VMI_SUCCESS) {
        if (!tvmi_init_error_message()[0])
            __builtin_trap(); /* a refusal must say why */
        return 0;
    }
    read_everything(vmi);
    vmi_destroy(vmi);
    return 0;
}
