/*
 * tinyvmi sym NAME|ADDR: a kernel symbol's address, or the symbol an
 * address falls in (symbol + offset), from the kallsyms tables in memory
 * or the profile given.
 */
#include <stdio.h>
#include <string.h>

#include <tinyvmi/linux.h>

#include "cli.h"
#include "output.h"

/* The table index of the first symbol at addr (the table is sorted by
 * address), or the count. */
static size_t first_at(vmi_instance_t vmi, addr_t addr)
{
    size_t lo = 0, hi = tvmi_linux_sym_count(vmi);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        tvmi_linux_sym_t s;
        if (tvmi_linux_sym_at(vmi, mid, &s) != VMI_SUCCESS)
            break;
        if (s.addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The type letter of name at addr ('?' if it is not there). */
static char type_of(vmi_instance_t vmi, const char *name, addr_t addr)
{
    tvmi_linux_sym_t s;

    for (size_t i = first_at(vmi, addr);
         tvmi_linux_sym_at(vmi, i, &s) == VMI_SUCCESS && s.addr == addr; i++)
        if (!strcmp(s.name, name))
            return s.type;
    return '?';
}

static void source(vmi_instance_t vmi)
{
    tvmi_linux_info_t info;

    if (tvmi_linux_get_info(vmi, &info) == VMI_SUCCESS)
        out_str("source", NULL, info.sym_source);
}

static int by_name(vmi_instance_t vmi, const char *name)
{
    char type[2] = { 0 };
    addr_t va;

    if (vmi_translate_ksym2v(vmi, name, &va) != VMI_SUCCESS)
        return fail("sym: %s", tvmi_last_error(vmi));
    type[0] = type_of(vmi, name, va);
    out_text("%016llx %s %s\n", (unsigned long long)va, type, name);
    out_str("query", NULL, name);
    out_str("name", NULL, name);
    out_hex("address", NULL, va);
    out_str("type", NULL, type);
    source(vmi);
    return EXIT_OK;
}

static int by_address(vmi_instance_t vmi, addr_t va)
{
    char type[2] = { 0 }, query[24];
    const char *name;
    addr_t off = 0;

    name = tvmi_linux_v2ksym(vmi, va, &off);
    if (!name)
        return fail("sym: %s", tvmi_last_error(vmi));
    type[0] = type_of(vmi, name, va - off);
    if (off)
        out_text("%016llx %s+0x%llx\n", (unsigned long long)va, name,
                 (unsigned long long)off);
    else
        out_text("%016llx %s\n", (unsigned long long)va, name);
    snprintf(query, sizeof(query), "0x%llx", (unsigned long long)va);
    out_str("query", NULL, query);
    out_hex("address", NULL, va);
    out_str("name", NULL, name);
    out_hex("symbol_address", NULL, va - off);
    out_num("offset", NULL, off);
    out_str("type", NULL, type);
    source(vmi);
    return EXIT_OK;
}

static int run_sym(const struct global *g, const struct args *a)
{
    const char *q = a->pos[0];
    vmi_instance_t vmi;
    uint64_t va = 0;
    int rc;

    /* C names never start with a digit: anything that does is an address */
    if (q[0] >= '0' && q[0] <= '9' && (rc = arg_u64("sym", "address", q, &va)))
        return rc;
    if ((rc = target_open_os(g, "sym", &vmi)) != EXIT_OK)
        return rc;
    rc = q[0] >= '0' && q[0] <= '9' ? by_address(vmi, va) : by_name(vmi, q);
    vmi_destroy(vmi);
    return rc;
}

static const struct opt sym_opts[] = { { NULL, false } };
static const char *const sym_pos[] = { "NAME or ADDR" };

const struct command cmd_sym = {
    .name = "sym",
    .summary = "kernel symbol -> address, or address -> symbol+offset",
    .help =
        "usage: tinyvmi --file PATH sym NAME|ADDR [--json]\n"
        "                  [--profile F | --sysmap F | --btf F | --config F]\n"
        "\n"
        "With a NAME, prints its address, type letter and name as\n"
        "/proc/kallsyms does (\"ffffffff81000000 T _text\"). With an ADDR (a\n"
        "number: 0x hex or decimal), prints the address and the symbol it\n"
        "falls in, with the offset (\"ffffffff81000010 _text+0x10\").\n"
        "Symbols come from the kallsyms tables in guest memory, or from the\n"
        "profile given (see 'tinyvmi linux-info --help').\n"
        "\n"
        "JSON keys: query, name, address, type; for an ADDR also\n"
        "symbol_address and offset; source (where symbols came from).\n"
        "Exit status 1 when there is no such symbol or the address is\n"
        "outside the kernel image.\n",
    .opts = sym_opts,
    .min_pos = 1,
    .max_pos = 1,
    .pos_names = sym_pos,
    .run = run_sym,
};
