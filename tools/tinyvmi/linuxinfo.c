/*
 * tinyvmi linux-info: the Linux kernel the library found, where its
 * symbols and types came from, and how the independent facts compared.
 */
#include <stdio.h>

#include <tinyvmi/linux.h>

#include "cli.h"
#include "output.h"

static const char *check_name(tvmi_check_t c)
{
    return c == TVMI_CHECK_OK ? "ok" : c == TVMI_CHECK_MISMATCH ? "mismatch"
                                                                : "not done";
}

/* A signed offset as "0x..." or "-0x..." (JSON strings, like addresses). */
static void out_signed(const char *key, const char *label, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%s0x%llx", v < 0 ? "-" : "",
             (unsigned long long)(v < 0 ? -(uint64_t)v : (uint64_t)v));
    out_str(key, label, buf);
}

static void out_check(const char *key, const char *label, tvmi_check_t c)
{
    out_str(key, label, check_name(c));
}

static void kernel(const tvmi_linux_info_t *i)
{
    char version[48];

    snprintf(version, sizeof(version), "%u.%u.%u", i->version[0],
             i->version[1], i->version[2]);
    out_str("banner", "banner", i->banner);
    out_str("release", "release", i->release);
    out_str("version", "version", version);
    out_hex("text_va", "_text VA", i->text_va);
    out_hex("text_pa", "_text PA", i->text_pa);
    out_hex("end_va", "_end VA", i->end_va);
    out_signed("virt_slide", "KASLR virtual slide", i->virt_slide);
    out_signed("phys_slide", "KASLR physical slide", i->phys_slide);
    out_num("paging_levels", "paging levels", (uint64_t)i->paging_levels);
    out_str("page_mode", "paging mode", page_mode_name(i->page_mode));
    out_hex("kernel_dtb", "kernel page-table root", i->kdtb);
}

static void sources(const tvmi_linux_info_t *i)
{
    out_num("symbols", "symbols", i->num_syms);
    out_str("symbol_source", "symbols from", i->sym_source);
    out_str("type_source", "types from", i->type_source);
    out_str("kallsyms_layout", "kallsyms layout", i->kallsyms_layout);
    out_hex("token_table_pa", "kallsyms token table", i->token_table_pa);
    out_str("found_by", "found by", i->found_by);
    out_str("hints", "discovery hints", i->hints);
    out_num("kernel_images", "kernel images", (uint64_t)i->kernel_images);
    if (i->btf_pa) {
        out_hex("btf_pa", "BTF in memory", i->btf_pa);
        out_size("btf_size", "BTF size", i->btf_size);
    } else if (out_json) {
        json_null("btf_pa");
    }
    out_num("btf_types", "BTF types", i->btf_types);
}

static void checks(const tvmi_linux_info_t *i, bool profile)
{
    out_section("checks", "cross-checks");
    out_check("phys_base", "phys_base", i->phys_base_check);
    out_check("l5", "__pgtable_l5_enabled", i->l5_check);
    out_check("token_table_symbol", "token table symbol", i->symbol_check);
    out_check("registers", "registers", i->regs_check);
    if (i->regs_present)
        out_hex("registers_dtb", "CR3", i->regs_dtb);
    if (profile) {
        out_check("profile_banner", "profile banner", i->profile_banner_check);
        out_check("profile_symbols", "profile symbols", i->profile_symbol_check);
        out_num("profile_symbols_checked", "symbols compared",
                i->profile_symbols_checked);
        out_check("profile_types", "profile layouts", i->profile_type_check);
        out_num("profile_fields_checked", "layout facts compared",
                i->profile_fields_checked);
        out_signed("profile_slide", "profile slide", i->profile_slide);
    }
    out_section_end();
    out_str("notes", "notes", i->notes[0] ? i->notes : "none");
    if (profile)
        out_str("profile_notes", "profile notes",
                i->profile_notes[0] ? i->profile_notes : "none");
}

static int run_linux_info(const struct global *g, const struct args *a)
{
    tvmi_linux_info_t info;
    vmi_instance_t vmi;
    int rc = target_open_os(g, "linux-info", &vmi);

    (void)a;
    if (rc != EXIT_OK)
        return rc;
    if (tvmi_linux_get_info(vmi, &info) != VMI_SUCCESS) {
        rc = fail("linux-info: %s", tvmi_last_error(vmi));
        vmi_destroy(vmi);
        return rc;
    }
    out_str("target", "target", target_name(g));
    kernel(&info);
    sources(&info);
    checks(&info, g->profile || g->sysmap || g->btf || g->config);
    vmi_destroy(vmi);
    return EXIT_OK;
}

static const struct opt linux_info_opts[] = { { NULL, false } };

const struct command cmd_linux_info = {
    .name = "linux-info",
    .summary = "the Linux kernel: banner, slides, paging, symbol and type sources",
    .help =
        "usage: tinyvmi --file PATH linux-info [--json]\n"
        "                  [--profile F | --sysmap F | --btf F | --config F [--domain N]]\n"
        "\n"
        "Finds the Linux kernel in memory with no configuration: kallsyms\n"
        "tables, KASLR slides, _text's virtual and physical address, the\n"
        "paging depth and kernel page-table root, BTF; prints them with the\n"
        "checks made between independent facts.\n"
        "\n"
        "What a discovery found is kept in ~/.cache/tinyvmi/hints/ (or\n"
        "$XDG_CACHE_HOME/tinyvmi/hints/) and checked against memory at the\n"
        "next start on the same target, which then skips the scan;\n"
        "--no-hints (or TINYVMI_NO_HINTS=1) neither reads nor writes it.\n"
        "\n"
        "Profiles (global options) replace what memory gives, after a check\n"
        "against it; a profile that disagrees with memory is an error:\n"
        "  --profile F    Volatility 3 ISF (.json or .json.xz): symbols, layouts\n"
        "  --sysmap F     System.map: symbols (link-time; the slide is found)\n"
        "  --btf F        BTF (a .BTF section or /sys/kernel/btf/vmlinux): layouts\n"
        "  --config F     a libvmi.conf (sysmap, volatility_ist, linux_* offsets,\n"
        "                 linux_kaslr); --domain N picks the entry (default:\n"
        "                 the one named like the target file, else the first)\n"
        "\n"
        "JSON keys: target, banner, release, version, text_va, text_pa, end_va,\n"
        "virt_slide, phys_slide (signed \"0x..\"), paging_levels, page_mode,\n"
        "kernel_dtb, symbols (count), symbol_source, type_source,\n"
        "kallsyms_layout, token_table_pa, found_by, hints (\"none given\",\n"
        "\"accepted\" or \"rejected: why\"), kernel_images, btf_pa\n"
        "(null when none), btf_size, btf_types, checks: {phys_base, l5,\n"
        "token_table_symbol, registers: \"ok\"|\"mismatch\"|\"not done\",\n"
        "registers_dtb, and with a profile profile_banner, profile_symbols,\n"
        "profile_symbols_checked, profile_types, profile_fields_checked,\n"
        "profile_slide}, notes, profile_notes.\n",
    .opts = linux_info_opts,
    .min_pos = 0,
    .max_pos = 0,
    .pos_names = NULL,
    .run = run_linux_info,
};
