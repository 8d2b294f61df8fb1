/*
 * tinyvmi translate: walk the page tables for one virtual address and show
 * every entry visited, so a failed translation shows where it stopped.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"

enum { T_DTB, T_MODE };
static const struct opt translate_opts[] = {
    [T_DTB] = { "dtb", true },
    [T_MODE] = { "mode", true },
    { NULL, false },
};
static const char *const translate_pos[] = { "VA" };

static const char *table_name(int level)
{
    static const char *const names[] = { "?", "PT", "PD", "PDPT",
                                         "PML4", "PML5" };

    return level >= 1 && level <= 5 ? names[level] : "?";
}

#define MAX_FLAGS 12

/* The entry's set flags, by their Intel SDM names. Bit 7 is PS in a PD or
 * PDPT (a large page) but PAT in a PT; 32-bit entries have no NX bit. */
static int entry_flags(uint64_t e, int level, page_mode_t pm,
                       const char *flags[MAX_FLAGS])
{
    static const char *const low[] = { "P", "RW", "US", "PWT",
                                       "PCD", "A", "D" };
    int n = 0;

    for (int bit = 0; bit < 7; bit++)
        if (e & (1ull << bit))
            flags[n++] = low[bit];
    if (e & (1ull << 7)) {
        if (level == 1)
            flags[n++] = "PAT";
        else if (level == 2 || (level == 3 && pm != VMI_PM_PAE))
            flags[n++] = "PS";
    }
    if (e & (1ull << 8))
        flags[n++] = "G";
    if (pm != VMI_PM_LEGACY && (e & (1ull << 63)))
        flags[n++] = "NX";
    return n;
}

static void show_entry(const tvmi_pt_entry_t *t, page_mode_t pm)
{
    const char *flags[MAX_FLAGS];
    int n = entry_flags(t->value, t->level, pm, flags);
    char text[64] = "";

    if (out_json) {
        json_begin_object(NULL);
        json_u64("level", (uint64_t)t->level);
        json_string("table", table_name(t->level));
        json_hex("location", t->location);
        json_hex("value", t->value);
        json_begin_array("flags");
        for (int i = 0; i < n; i++)
            json_string(NULL, flags[i]);
        json_end_array();
        json_end_object();
        return;
    }
    for (int i = 0; i < n; i++) {
        strcat(text, i ? " " : "");
        strcat(text, flags[i]);
    }
    out_printf("  %-4s  entry at 0x%016llx = 0x%016llx  %s\n",
               table_name(t->level), (unsigned long long)t->location,
               (unsigned long long)t->value, n ? text : "(not present)");
}

static void show_walk(const page_info_t *info, addr_t va,
                      const struct paging *p)
{
    int n = info->nentries < 0 ? 0 : info->nentries;

    if (n > TVMI_MAX_LEVELS)
        n = TVMI_MAX_LEVELS;
    if (out_json) {
        json_hex("va", va);
        json_hex("dtb", p->dtb);
        json_string("page_mode", page_mode_name(p->pm));
        json_begin_array("entries");
    } else {
        out_printf("VA 0x%llx, page-table root 0x%llx, %s paging\n",
                   (unsigned long long)va, (unsigned long long)p->dtb,
                   page_mode_name(p->pm));
    }
    for (int i = 0; i < n; i++)
        show_entry(&info->entries[i], p->pm);
    if (out_json)
        json_end_array();
}

static void show_result(const page_info_t *info)
{
    char size[32];

    if (out_json) {
        json_hex("pa", info->paddr);
        json_u64("page_size", (uint64_t)info->size);
        return;
    }
    out_printf("-> PA 0x%llx (%s page)\n", (unsigned long long)info->paddr,
               human_size(size, (uint64_t)info->size));
}

static status_t lookup(vmi_instance_t vmi, const struct paging *p, addr_t va,
                       page_info_t *info)
{
    if (p->have_mode)
        return tvmi_pagetable_lookup_mode(vmi, p->pm, p->dtb, va, info);
    return vmi_pagetable_lookup_extended(vmi, p->dtb, va, info);
}

static int translate(vmi_instance_t vmi, struct paging *p, addr_t va)
{
    page_info_t info;
    int rc = paging_resolve(vmi, "translate", p);

    if (rc != EXIT_OK)
        return rc;
    memset(&info, 0, sizeof(info));
    if (lookup(vmi, p, va, &info) != VMI_SUCCESS) {
        show_walk(&info, va, p);
        return fail("translate: %s", tvmi_last_error(vmi));
    }
    show_walk(&info, va, p);
    show_result(&info);
    return EXIT_OK;
}

static int run_translate(const struct global *g, const struct args *a)
{
    struct paging p;
    vmi_instance_t vmi;
    addr_t va;
    int rc;

    if ((rc = arg_u64("translate", "virtual address", a->pos[0], &va)) ||
        (rc = paging_args("translate", a->val[T_DTB], a->val[T_MODE], &p)))
        return rc;
    rc = target_open(g, "translate", &vmi);
    if (rc != EXIT_OK)
        return rc;
    rc = translate(vmi, &p, va);
    vmi_destroy(vmi);
    return rc;
}

const struct command cmd_translate = {
    .name = "translate",
    .summary = "walk the page tables for a virtual address",
    .help =
        "usage: tinyvmi --file PATH translate VA [--dtb ROOT] [--mode MODE]\n"
        "\n"
        "Translates virtual address VA and shows each page-table entry\n"
        "visited (table, physical location, value, flags P RW US PWT PCD\n"
        "A D PS/PAT G NX), then the physical address and page size.\n"
        "\n"
        "  --dtb ROOT    page-table root (CR3) to use instead of the kernel's\n"
        "  --mode MODE   paging mode: none, legacy, pae, ia32e, la57\n"
        "\n"
        "A target without registers (a raw image) has no known paging mode or\n"
        "root: there --dtb and --mode are required (else exit status 2).\n"
        "JSON keys: va, dtb, page_mode, entries: [{level, table, location,\n"
        "value, flags: [...]}], pa, page_size (bytes), error.\n",
    .opts = translate_opts,
    .min_pos = 1,
    .max_pos = 1,
    .pos_names = translate_pos,
    .run = run_translate,
};
