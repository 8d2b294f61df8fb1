/*
 * From boot.S to main(): bring up what the program relies on, in the order
 * each piece needs the one before (console needs Xen, pages need the memory
 * map, time and xenstore need the shared info page).
 *
 * What the loader gave us is in struct hvm_start_info. We copy the command
 * line and the memory map out of it at once: the pages they sit in become
 * free memory afterwards.
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"
#include <xen/arch-x86/hvm/start_info.h>

#define IDENTITY_LIMIT (4ull << 30) /* boot.S maps [0, 4 GiB) */
#define MAX_ARGS 32

struct uk_boot_info uk_boot;

/* The loader's pointers are physical; only what boot.S mapped is usable. */
static const void *phys(uint64_t pa, uint64_t len)
{
    if (!pa || pa >= IDENTITY_LIMIT || len > IDENTITY_LIMIT - pa)
        return NULL;
    return (const void *)(uintptr_t)pa;
}

static void copy_cmdline(uint64_t pa)
{
    const char *s = phys(pa, 1);
    size_t n;

    if (!s)
        return;
    /* Stop at the mapped limit as well as at UK_CMDLINE_MAX. */
    n = strnlen(s, (size_t)(IDENTITY_LIMIT - pa < UK_CMDLINE_MAX
                             ? IDENTITY_LIMIT - pa : UK_CMDLINE_MAX));
    uk_boot.cmdline_truncated = n == UK_CMDLINE_MAX;
    if (uk_boot.cmdline_truncated)
        n--;
    memcpy(uk_boot.cmdline, s, n);
    uk_boot.cmdline[n] = '\0';
}

static void add_range(uint64_t start, uint64_t size, uint32_t type)
{
    if (uk_boot.nmem == UK_MEM_MAX || !size || start + size < start)
        return;
    uk_boot.mem[uk_boot.nmem++] = (struct uk_mem_range){ start, start + size, type };
}

static void parse_start_info(uint32_t pa)
{
    const struct hvm_start_info *si = phys(pa, sizeof(*si));
    const struct hvm_memmap_table_entry *e;

    if (!si || si->magic != XEN_HVM_START_MAGIC_VALUE)
        return;
    uk_boot.start_info_version = si->version;
    copy_cmdline(si->cmdline_paddr);
    uk_boot.rsdp = si->rsdp_paddr;
    if (si->version < 1 || !si->memmap_entries)
        return;
    e = phys(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof(*e));
    if (!e)
        return;
    for (uint32_t i = 0; i < si->memmap_entries; i++)
        add_range(e[i].addr, e[i].size, e[i].type);
    uk_boot.memmap_source = "hvm_start_info";
}

static void memmap_from_xen(void)
{
    struct uk_mem_range r[UK_MEM_MAX];
    unsigned n = uk_xen_memory_map(r, UK_MEM_MAX);

    for (unsigned i = 0; i < n; i++)
        add_range(r[i].start, r[i].end - r[i].start, r[i].type);
    if (n)
        uk_boot.memmap_source = "XENMEM_memory_map";
}

/* No map at all: claim only the 2 MiB after our image, which a loader that
 * put us there surely backs, and say so in the banner. */
static void memmap_guess(void)
{
    uint64_t end = ((uintptr_t)_end + 0xfff) & ~0xfffull;

    add_range(end, 2ull << 20, XEN_HVM_MEMMAP_TYPE_RAM);
    uk_boot.memmap_source = "none given: guessed 2 MiB after the image";
}

uint64_t uk_ram_bytes(void)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < uk_boot.nmem; i++)
        if (uk_boot.mem[i].type == XEN_HVM_MEMMAP_TYPE_RAM)
            sum += uk_boot.mem[i].end - uk_boot.mem[i].start;
    return sum;
}

uint64_t uk_ram_top(void)
{
    uint64_t top = 0;

    for (unsigned i = 0; i < uk_boot.nmem; i++)
        if (uk_boot.mem[i].type == XEN_HVM_MEMMAP_TYPE_RAM && uk_boot.mem[i].end > top)
            top = uk_boot.mem[i].end;
    return top;
}

/* Splits a copy of the command line at spaces; no quoting. */
static int split_args(char **argv)
{
    static char line[UK_CMDLINE_MAX];
    int argc = 0;
    char *p = line;

    memcpy(line, uk_boot.cmdline, sizeof(line));
    argv[argc++] = "tinyvmi-appliance";
    while (*p && argc < MAX_ARGS) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        argv[argc++] = p;
        while (*p && *p != ' ')
            p++;
    }
    argv[argc] = NULL;
    return argc;
}

/* Called by boot.S in long mode with the start_info physical address. */
_Noreturn void uk_start(uint32_t start_info)
{
    static char *argv[MAX_ARGS + 1];
    int argc;

    uk_time_init();
    uk_traps_init();
    uk_xen_init();
    uk_console_init();
    parse_start_info(start_info);
    if (!uk_boot.nmem && uk_xen.present)
        memmap_from_xen();
    if (!uk_boot.nmem)
        memmap_guess();
    uk_pages_init();
    if (uk_xen.present) {
        if (uk_xen_map_shared_info() != 0)
            printk("warning: no shared info page: no clock, busy polling\n");
        if (uk_xs_init() != 0)
            printk("warning: no xenstore: %s\n", uk_xs_error());
    }
    argc = split_args(argv);
    uk_poweroff(main(argc, argv));
}
