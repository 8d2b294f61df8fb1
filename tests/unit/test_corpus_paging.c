/*
 * Page walks on real guests, checked against what the guest itself said:
 * its /proc/kallsyms (linux_banner must read "Linux version <uname -r>",
 * the kernel image is mapped linearly), and the marker process's string,
 * whose physical address the process read from its own /proc/self/pagemap.
 * The process's page tables are found by scanning for top-level tables
 * that share the kernel half of the kernel's own root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "corpus.h"
#include "private.h"

static vmi_instance_t open_snapshot(const char *path)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;

    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, &err) != VMI_SUCCESS)
        fail_msg("opening %s: %s", path, tvmi_init_error_message());
    return vmi;
}

static page_mode_t expected_mode(const struct corpus_snap *s)
{
    return s->paging == 5 ? VMI_PM_LA57 : VMI_PM_IA32E;
}

static void first_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    assert_non_null(fgets(buf, (int)len, f));
    buf[strcspn(buf, "\r\n")] = '\0';
    fclose(f);
}

/* linux_banner through the dump's own CR3: "Linux version <uname -r> ". */
static void check_banner(vmi_instance_t vmi, const struct corpus_snap *s)
{
    uint64_t banner;
    char want[200], got[200] = "", release[128];

    assert_int_equal(corpus_kallsym(s, "linux_banner", &banner), 0);
    first_line(corpus_path(s, "truth/uname.txt"), release, sizeof(release));
    snprintf(want, sizeof(want), "Linux version %s ", release);
    if (vmi_read_va(vmi, banner, 0, strlen(want), got, NULL) != VMI_SUCCESS)
        fail_msg("%s: reading linux_banner at 0x%llx: %s", s->dir,
                 (unsigned long long)banner, tvmi_last_error(vmi));
    assert_memory_equal(got, want, strlen(want));
}

/* Every kernel-image symbol lies at phys(_text) + (sym - _text). */
static void check_linear_image(vmi_instance_t vmi, const struct corpus_snap *s)
{
    FILE *f = fopen(corpus_path(s, "truth/kallsyms.txt"), "r");
    uint64_t text, end, text_pa, pa;
    char line[512], name[256], type;
    unsigned long long a;
    unsigned checked = 0, n = 0;

    assert_int_equal(corpus_kallsym(s, "_text", &text), 0);
    assert_int_equal(corpus_kallsym(s, "_end", &end), 0);
    assert_int_equal(vmi_translate_kv2p(vmi, text, &text_pa), VMI_SUCCESS);
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%llx %c %255s", &a, &type, name) != 3 || strchr(line, '['))
            continue;
        if (a < text || a >= end || n++ % 97)
            continue;
        if (vmi_translate_kv2p(vmi, a, &pa) != VMI_SUCCESS)
            fail_msg("%s: %s at 0x%llx: %s", s->dir, name, a, tvmi_last_error(vmi));
        assert_int_equal(pa, text_pa + (a - text));
        checked++;
    }
    fclose(f);
    assert_true(checked > 100);
}

/* Top-level tables whose kernel half equals the kernel root's. */
static size_t find_process_roots(vmi_instance_t vmi, addr_t kroot, addr_t *out,
                                 size_t max)
{
    static uint64_t k[512], t[512];
    addr_t top = vmi_get_max_physical_address(vmi);
    size_t n = 0;

    assert_int_equal(vmi_read_pa(vmi, kroot & ~0xfffull, 4096, k, NULL), VMI_SUCCESS);
    for (addr_t pa = 0; pa + 4096 <= top && n < max; pa += 4096) {
        bool user = false;
        if (vmi_read_pa(vmi, pa, 4096, t, NULL) != VMI_SUCCESS)
            continue;
        if (memcmp(&t[256], &k[256], 256 * 8) != 0)
            continue;
        for (int i = 0; i < 256 && !user; i++)
            user = (t[i] & 1) != 0;
        if (user)
            out[n++] = pa;
    }
    return n;
}

/* The marker string, read through its own process's page tables, lands on
 * the frame the process reported from /proc/self/pagemap. */
static void check_marker(vmi_instance_t vmi, const struct corpus_snap *s)
{
    addr_t roots[512], pa;
    uint64_t va, want_pa;
    char want[128], got[128];
    int pid, hits = 0;
    size_t n;

    assert_int_equal(corpus_marker(s, &pid, &va, &want_pa, want, sizeof(want)), 0);
    n = find_process_roots(vmi, tvmi_get_kernel_dtb(vmi), roots, 512);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        if (vmi_pagetable_lookup(vmi, roots[i], va, &pa) != VMI_SUCCESS || pa != want_pa)
            continue;
        memset(got, 0, sizeof(got));
        assert_int_equal(tvmi_read_dtb(vmi, va, roots[i], strlen(want), got, NULL),
                         VMI_SUCCESS);
        assert_string_equal(got, want);
        hits++;
    }
    if (!hits)
        fail_msg("%s: none of %zu process page-table roots maps the marker VA "
                 "0x%llx to PA 0x%llx", s->dir, n, (unsigned long long)va,
                 (unsigned long long)want_pa);
}

static void test_elf_cores(void **state)
{
    struct corpus_snap *snaps;
    size_t n = corpus_require(&snaps);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        vmi_instance_t vmi = open_snapshot(corpus_path(&snaps[i], "mem.elf"));
        assert_int_equal(vmi_get_page_mode(vmi, 0), expected_mode(&snaps[i]));
        assert_int_equal(tvmi_get_kernel_dtb(vmi), snaps[i].cr3);
        check_banner(vmi, &snaps[i]);
        check_linear_image(vmi, &snaps[i]);
        check_marker(vmi, &snaps[i]);
        print_message("%s: banner, image mapping and marker OK\n", snaps[i].dir);
        vmi_destroy(vmi);
    }
    free(snaps);
}

/* Raw and LiME carry no registers: the same answers once given CR3 + mode. */
static void test_raw_and_lime(void **state)
{
    static const char *const files[] = { "mem.raw", "mem.lime" };
    struct corpus_snap *snaps;
    size_t n = corpus_require(&snaps);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        for (size_t f = 0; f < 2; f++) {
            vmi_instance_t vmi = open_snapshot(corpus_path(&snaps[i], files[f]));
            addr_t pa;
            assert_int_equal(vmi_get_page_mode(vmi, 0), VMI_PM_UNKNOWN);
            assert_int_equal(vmi_translate_kv2p(vmi, 0xffffffff81000000ull, &pa),
                             VMI_FAILURE);
            assert_non_null(strstr(tvmi_last_error(vmi), "paging mode is unknown"));
            assert_int_equal(tvmi_set_kernel_dtb(vmi, snaps[i].cr3,
                                                 expected_mode(&snaps[i])), VMI_SUCCESS);
            check_banner(vmi, &snaps[i]);
            check_marker(vmi, &snaps[i]);
            vmi_destroy(vmi);
        }
    }
    free(snaps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_cores),
        cmocka_unit_test(test_raw_and_lime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
