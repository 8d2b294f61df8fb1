/*
 * The snapshot driver on the real corpus (tests/corpus/make-corpus): each
 * guest was saved three ways (QEMU's ELF core, pmemsave's raw image, LiME
 * converted from the ELF); all three must give the same bytes over the
 * whole RAM, the ELF notes must give the registers QEMU's monitor printed
 * (regs.txt, meta.env), and the marker string must sit at the physical
 * address the guest process found in its own pagemap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <unistd.h>

#include <tinyvmi/dump.h>
#include "corpus.h"
#include "private.h"

enum { ELF, RAW, LIME, NFMT };
static const char *const files[NFMT] = { "mem.elf", "mem.raw", "mem.lime" };
static const char *const drivers[NFMT] = { "snapshot-elf", "snapshot-raw",
                                           "snapshot-lime" };

static vmi_instance_t open_snapshot(const char *path)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;

    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, &err) != VMI_SUCCESS)
        fail_msg("opening %s: %s", path, tvmi_init_error_message());
    return vmi;
}

static uint64_t reg(vmi_instance_t vmi, reg_t r)
{
    uint64_t v = 0;

    if (vmi_get_vcpureg(vmi, &v, r, 0) != VMI_SUCCESS)
        fail_msg("register %d: %s", (int)r, tvmi_last_error(vmi));
    return v;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 16);

    assert_non_null(f);
    assert_non_null(buf);
    (void)!fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

/* "KEY=hex" as QEMU's "info registers" prints it (KEY may be padded). */
static uint64_t monitor_value(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    if (!p)
        fail_msg("regs.txt has no %s", key);
    return strtoull(p + strlen(key), NULL, 16);
}

/* A segment line: "GS =0000 ffff8eeadf200000 limit flags". */
static void monitor_segment(const char *text, const char *key, uint64_t *sel,
                            uint64_t *base)
{
    const char *p = strstr(text, key);
    char *end;

    if (!p)
        fail_msg("regs.txt has no %s", key);
    *sel = strtoull(p + strlen(key), &end, 16);
    *base = strtoull(end, NULL, 16);
}

static void check_registers(vmi_instance_t elf, const struct corpus_snap *s)
{
    char *text = slurp(corpus_path(s, "regs.txt"));
    uint64_t sel, base;

    assert_int_equal(reg(elf, CR3), s->cr3);
    assert_int_equal(reg(elf, CR4), s->cr4);
    assert_int_equal(reg(elf, CR3), monitor_value(text, "CR3="));
    assert_int_equal(reg(elf, CR4), monitor_value(text, "CR4="));
    assert_int_equal(reg(elf, CR0), monitor_value(text, "CR0="));
    assert_int_equal(reg(elf, CR2), monitor_value(text, "CR2="));
    assert_int_equal(reg(elf, RAX), monitor_value(text, "RAX="));
    assert_int_equal(reg(elf, RSP), monitor_value(text, "RSP="));
    assert_int_equal(reg(elf, R15), monitor_value(text, "R15="));
    assert_int_equal(reg(elf, RIP), monitor_value(text, "RIP="));
    assert_int_equal(reg(elf, RFLAGS), monitor_value(text, "RFL="));
    monitor_segment(text, "\nGS =", &sel, &base);
    assert_int_equal(reg(elf, GS_SEL), sel);
    assert_int_equal(reg(elf, GS_BASE), base);
    monitor_segment(text, "\nCS =", &sel, &base);
    assert_int_equal(reg(elf, CS_SEL), sel);
    /* EFER is derived (not in the note): LME and LMA must match. */
    assert_int_equal(reg(elf, MSR_EFER),
                     monitor_value(text, "EFER=") & ((1u << 8) | (1u << 10)));
    assert_int_equal(vmi_get_page_mode(elf, 0),
                     s->paging == 5 ? VMI_PM_LA57 : VMI_PM_IA32E);
    free(text);
}

static uint64_t meta_mem_bytes(const struct corpus_snap *s)
{
    char *text = slurp(corpus_path(s, "meta.env"));
    const char *p = strstr(text, "MEM_MB=");
    uint64_t mb;

    if (!p)
        fail_msg("%s: meta.env has no MEM_MB", s->dir);
    mb = strtoull(p + 7 + (p[7] == '\'' || p[7] == '"'), NULL, 10);
    free(text);
    return mb << 20;
}

static const uint8_t *frame(vmi_instance_t vmi, addr_t gfn, const char *what)
{
    const uint8_t *p = tvmi_frame(vmi, gfn, false);

    if (!p)
        fail_msg("%s: PA 0x%llx: %s", what,
                 (unsigned long long)(gfn << TVMI_PAGE_SHIFT),
                 tvmi_last_error(vmi));
    return p;
}

/* Every frame the ELF core has below the end of the raw image must be in
 * all three files with the same bytes. Compared in place (frame pointers
 * into the mappings), so 512 MiB takes well under a second once cached.
 * Returns the bytes compared. */
static uint64_t compare_memory(vmi_instance_t v[NFMT], const struct corpus_snap *s)
{
    struct tvmi_mem_range r[64];
    size_t n = v[ELF]->drv->get_ranges(v[ELF], r, 64);
    addr_t raw_end = vmi_get_max_physical_address(v[RAW]);
    uint64_t compared = 0;

    assert_true(n > 0 && n <= 64);
    for (size_t i = 0; i < n; i++) {
        addr_t end = r[i].end < raw_end ? r[i].end : raw_end;
        for (addr_t gfn = r[i].start >> 12; gfn < end >> 12; gfn++) {
            const uint8_t *e = frame(v[ELF], gfn, "mem.elf");
            if (memcmp(e, frame(v[RAW], gfn, "mem.raw"), 4096) ||
                memcmp(e, frame(v[LIME], gfn, "mem.lime"), 4096))
                fail_msg("%s: the three files differ in the frame at PA 0x%llx",
                         s->dir, (unsigned long long)(gfn << 12));
            compared += 4096;
        }
    }
    return compared;
}

static void check_marker(vmi_instance_t v[NFMT], const struct corpus_snap *s)
{
    char want[128], got[128];
    uint64_t va, pa;
    int pid;

    assert_int_equal(corpus_marker(s, &pid, &va, &pa, want, sizeof want), 0);
    for (int f = 0; f < NFMT; f++) {
        memset(got, 0, sizeof got);
        if (vmi_read_pa(v[f], pa, strlen(want), got, NULL) != VMI_SUCCESS)
            fail_msg("%s/%s: marker at PA 0x%llx: %s", s->dir, files[f],
                     (unsigned long long)pa, tvmi_last_error(v[f]));
        assert_string_equal(got, want);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void check_snapshot(const struct corpus_snap *s)
{
    vmi_instance_t v[NFMT];
    uint64_t mem = meta_mem_bytes(s), compared;
    double t0 = now();

    for (int f = 0; f < NFMT; f++) {
        v[f] = open_snapshot(corpus_path(s, files[f]));
        assert_string_equal(tvmi_get_driver_name(v[f]), drivers[f]);
    }
    assert_int_equal(vmi_get_memsize(v[RAW]), mem);
    check_registers(v[ELF], s);
    compared = compare_memory(v, s);
    /* The whole RAM but the legacy VGA window 0xa0000-0xc0000, which is
     * MMIO, not RAM: the ELF core (and so LiME) leaves it out. */
    if (compared < mem - 0x20000)
        fail_msg("%s: only 0x%llx of 0x%llx bytes of RAM are in all three files",
                 s->dir, (unsigned long long)compared, (unsigned long long)mem);
    check_marker(v, s);
    for (int f = 0; f < NFMT; f++)
        vmi_destroy(v[f]);
    print_message("%s: CR3/CR4 and registers match, 0x%llx bytes identical "
                  "in elf/raw/lime, marker found (%.2f s)\n", s->dir,
                  (unsigned long long)compared, now() - t0);
}

/* tvmi_dump of a real core into a new ELF core: same frames, same
 * registers, same paging mode and kernel root when reopened. */
static void check_dump(const struct corpus_snap *s)
{
    char out[64];
    vmi_instance_t src = open_snapshot(corpus_path(s, "mem.elf")), dst;
    static const reg_t regs[] = { CR0, CR3, CR4, RIP, RSP, RAX, GS_BASE,
                                  SHADOW_GS, MSR_EFER };
    struct tvmi_mem_range r[64];
    size_t n = src->drv->get_ranges(src, r, 64);
    double t0 = now();

    snprintf(out, sizeof out, "/tmp/tvmi-corpus-dump-%ld.elf", (long)getpid());
    if (tvmi_dump(src, out, TVMI_DUMP_ELF, NULL, NULL) != VMI_SUCCESS)
        fail_msg("dumping %s: %s", s->dir, tvmi_last_error(src));
    dst = open_snapshot(out);
    unlink(out); /* the mapping stays valid */
    for (size_t i = 0; i < sizeof regs / sizeof *regs; i++)
        assert_int_equal(reg(src, regs[i]), reg(dst, regs[i]));
    assert_int_equal(vmi_get_page_mode(src, 0), vmi_get_page_mode(dst, 0));
    assert_int_equal(tvmi_get_kernel_dtb(src), tvmi_get_kernel_dtb(dst));
    assert_int_equal(vmi_get_memsize(src), vmi_get_memsize(dst));
    for (size_t i = 0; i < n; i++)
        for (addr_t gfn = r[i].start >> 12; gfn < r[i].end >> 12; gfn++)
            if (memcmp(frame(src, gfn, "mem.elf"), frame(dst, gfn, out), 4096))
                fail_msg("%s: the dump differs at PA 0x%llx", s->dir,
                         (unsigned long long)(gfn << 12));
    vmi_destroy(dst);
    vmi_destroy(src);
    print_message("%s: dumped to ELF and back: identical (%.2f s)\n", s->dir,
                  now() - t0);
}

static void test_corpus(void **state)
{
    struct corpus_snap *snaps = NULL;
    size_t n = corpus_require(&snaps);

    for (size_t i = 0; i < n; i++)
        check_snapshot(&snaps[i]);
    check_dump(&snaps[0]); /* one is enough: 512 MiB written */
    free(snaps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
