/*
 * The snapshot driver on small hand-made files: ELF cores (with a hole, QEMU
 * and NT_PRSTATUS notes), LiME and raw images; reads, holes, registers,
 * writes; corrupt inputs that must fail with a clear message, never crash;
 * and tvmi_dump round trips between all formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tinyvmi/dump.h>
#include "private.h"

extern const struct tvmi_driver_ops tvmi_driver_snapshot;

#define MAXIMG (256u << 10)
#define CR0_VAL 0x80050033ull
#define CR4_VAL 0x3606e0ull
#define CR3_CPU0 0x1aa000ull
#define CR3_CPU1 0x2bb000ull
#define RIP_VAL 0xffffffff81000000ull

static char tmpdir[64];
static unsigned char img[MAXIMG];

/* ---- helpers ------------------------------------------------------------- */

static uint8_t pat(addr_t pa) { return (uint8_t)(pa ^ pa >> 8 ^ pa >> 13); }

static void put16(unsigned char *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put64(unsigned char *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static const char *tpath(const char *name)
{
    static char buf[4][sizeof tmpdir + 260];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
    return buf[i];
}

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static vmi_instance_t open_ok(const char *path, uint64_t flags)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;

    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME | flags, NULL,
                 &err) != VMI_SUCCESS)
        fail_msg("opening %s: %s", path, tvmi_init_error_message());
    return vmi;
}

/* Opening must fail, with a message containing want. */
static void open_fails(const char *path, const char *want)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;

    if (vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, &err) ==
        VMI_SUCCESS) {
        vmi_destroy(vmi);
        fail_msg("%s opened, expected failure '%s'", path, want);
    }
    assert_null(vmi);
    if (!strstr(tvmi_init_error_message(), want))
        fail_msg("%s: message '%s' lacks '%s'", path,
                 tvmi_init_error_message(), want);
    print_message("  ok: %s\n", tvmi_init_error_message());
}

static void fails_with(vmi_instance_t vmi, status_t rc, const char *want)
{
    assert_int_equal(rc, VMI_FAILURE);
    if (!strstr(tvmi_last_error(vmi), want))
        fail_msg("message '%s' lacks '%s'", tvmi_last_error(vmi), want);
}

static void expect_bytes(vmi_instance_t vmi, addr_t pa, size_t len)
{
    unsigned char buf[64];
    size_t got = 0;

    assert_true(len <= sizeof buf);
    if (vmi_read_pa(vmi, pa, len, buf, &got) != VMI_SUCCESS)
        fail_msg("reading PA 0x%llx: %s", (unsigned long long)pa,
                 tvmi_last_error(vmi));
    assert_int_equal(got, len);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(buf[i], pat(pa + i));
}

static void expect_hole(vmi_instance_t vmi, addr_t pa, const char *why)
{
    unsigned char buf[8];
    fails_with(vmi, vmi_read_pa(vmi, pa, sizeof buf, buf, NULL), why);
}

/* ---- building ELF cores ------------------------------------------------------- */

struct seg {
    uint32_t type;
    uint64_t paddr, filesz, memsz;
};

#define PH(i) (64 + 56 * (i)) /* program header i in the image */
#define NOTES_OFF(n) PH(n)

static size_t add_note(unsigned char *p, const char *name, uint32_t type,
                       const unsigned char *desc, uint32_t descsz)
{
    size_t nl = strlen(name) + 1, off = 12 + ((nl + 3) & ~3u);

    put32(p, (uint32_t)nl);
    put32(p + 4, descsz);
    put32(p + 8, type);
    memcpy(p + 12, name, nl);
    memcpy(p + off, desc, descsz);
    return off + ((descsz + 3) & ~3u);
}

static size_t qemu_note(unsigned char *p, uint64_t cr3, uint32_t size)
{
    unsigned char d[440] = { 0 };

    put32(d, 1);
    put32(d + 4, size);
    put64(d + 8, 0x1111);          /* rax */
    put64(d + 8 + 6 * 8, 0x7777);  /* rsp */
    put64(d + 136, RIP_VAL);
    put64(d + 144, 0x246);
    put32(d + 152, 0x10);          /* cs selector */
    put32(d + 152 + 8, 1u << 21);  /* cs flags: L */
    put64(d + 152 + 4 * 24 + 16, 0x7f0000001000ull); /* gs base */
    put64(d + 392, CR0_VAL);
    put64(d + 392 + 24, cr3);
    put64(d + 392 + 32, CR4_VAL);
    put64(d + 432, 0xffff888000001000ull); /* kernel_gs_base */
    return add_note(p, "QEMU", 0, d, size < 440 ? size : 440);
}

static size_t prstatus_note(unsigned char *p, uint64_t rax)
{
    unsigned char d[336] = { 0 };

    put64(d + 112 + 10 * 8, rax);
    put64(d + 112 + 16 * 8, RIP_VAL);
    return add_note(p, "CORE", 1, d, sizeof d);
}

/* ELF header, program headers, notes, then each PT_LOAD's data (pattern of
 * its physical address) from 0x1000 on. Returns the file size. */
static size_t build_elf(const struct seg *segs, unsigned n,
                        const unsigned char *notes, size_t notelen)
{
    size_t data = 0x1000, noff = NOTES_OFF(n);

    memset(img, 0, sizeof img);
    memcpy(img, "\x7f" "ELF\2\1\1", 7);
    put16(img + 16, 4);
    put16(img + 18, 62);
    put32(img + 20, 1);
    put64(img + 32, 64);
    put16(img + 52, 64);
    put16(img + 54, 56);
    put16(img + 56, (uint16_t)n);
    if (notelen)
        memcpy(img + noff, notes, notelen);
    for (unsigned i = 0; i < n; i++) {
        unsigned char *ph = img + PH(i);
        put32(ph, segs[i].type);
        put64(ph + 24, segs[i].paddr);
        put64(ph + 32, segs[i].type == 4 ? notelen : segs[i].filesz);
        put64(ph + 40, segs[i].type == 4 ? notelen : segs[i].memsz);
        if (segs[i].type == 4) {
            put64(ph + 8, noff);
            continue;
        }
        put64(ph + 8, data);
        for (uint64_t b = 0; b < segs[i].filesz; b++)
            img[data + b] = pat(segs[i].paddr + b);
        data += segs[i].filesz;
    }
    assert_true(data <= sizeof img);
    return data;
}

static size_t std_notes(unsigned char *notes)
{
    size_t n = 0;
    n += prstatus_note(notes + n, 0x1111);
    n += prstatus_note(notes + n, 0x2222);
    n += qemu_note(notes + n, CR3_CPU0, 440);
    n += qemu_note(notes + n, CR3_CPU1, 432);
    return n;
}

/* Two PT_LOADs, [0, 0x3000) and [0x5000, 0x7000), two vCPUs. */
static size_t std_elf(void)
{
    static const struct seg segs[] = {
        { 4, 0, 0, 0 },
        { 1, 0x0, 0x3000, 0x3000 },
        { 1, 0x5000, 0x2000, 0x2000 },
    };
    unsigned char notes[2048] = { 0 };
    return build_elf(segs, 3, notes, std_notes(notes));
}

static const char *write_std_elf(const char *name)
{
    const char *p = tpath(name);
    write_file(p, img, std_elf());
    return p;
}

/* LiME: [0, 0x2000) and [0x4000, 0x5000). */
static size_t std_lime(void)
{
    static const uint64_t rec[][2] = { { 0x0, 0x1fff }, { 0x4000, 0x4fff } };
    size_t off = 0;

    memset(img, 0, sizeof img);
    for (int r = 0; r < 2; r++) {
        put32(img + off, 0x4C694D45);
        put32(img + off + 4, 1);
        put64(img + off + 8, rec[r][0]);
        put64(img + off + 16, rec[r][1]);
        off += 32;
        for (uint64_t pa = rec[r][0]; pa <= rec[r][1]; pa++)
            img[off++] = pat(pa);
    }
    return off;
}

static const char *write_std_lime(const char *name)
{
    const char *p = tpath(name);
    write_file(p, img, std_lime());
    return p;
}

static const char *write_std_raw(const char *name)
{
    const char *p = tpath(name);
    for (size_t pa = 0; pa < 0x4000; pa++)
        img[pa] = pat(pa);
    write_file(p, img, 0x4000);
    return p;
}

/* ---- fixtures ------------------------------------------------------------------ */

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tvmi-snap-XXXXXX");
    /* 0711: a dropped-privilege child may reach files by name. */
    return mkdtemp(tmpdir) && chmod(tmpdir, 0711) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;

    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        const char *p = tpath(e->d_name);
        if (rmdir(p) < 0)
            unlink(p);
    }
    if (d)
        closedir(d);
    return rmdir(tmpdir);
}

/* ---- valid files ------------------------------------------------------------------ */

static void test_elf_reads(void **state)
{
    vmi_instance_t vmi = open_ok(write_std_elf("std.elf"), 0);
    unsigned char buf[0x2000];
    size_t got = 0;

    assert_string_equal(tvmi_get_driver_name(vmi), "snapshot-elf");
    assert_int_equal(vmi_get_memsize(vmi), 0x5000);
    assert_int_equal(vmi_get_max_physical_address(vmi), 0x7000);
    expect_bytes(vmi, 0x10, 32);
    expect_bytes(vmi, 0xff8, 16);   /* crosses a frame */
    expect_bytes(vmi, 0x2fc0, 64);
    expect_bytes(vmi, 0x5000, 64);
    expect_bytes(vmi, 0x6fc0, 64);
    expect_hole(vmi, 0x3000, "hole");
    expect_hole(vmi, 0x4ff8, "hole");
    expect_hole(vmi, 0x7000, "hole");
    expect_hole(vmi, 0xfffffffffffff000ull, "hole");
    /* A read running into the hole stops there and says so. */
    fails_with(vmi, vmi_read_pa(vmi, 0x2000, 0x2000, buf, &got), "hole");
    assert_int_equal(got, 0x1000);
    vmi_destroy(vmi);
}

static void test_elf_ranges(void **state)
{
    vmi_instance_t vmi = open_ok(write_std_elf("ranges.elf"), 0);
    struct tvmi_mem_range r[4];

    assert_int_equal(vmi->drv->get_ranges(vmi, r, 1), 2); /* count beyond max */
    assert_int_equal(vmi->drv->get_ranges(vmi, r, 4), 2);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].end, 0x3000);
    assert_int_equal(r[1].start, 0x5000);
    assert_int_equal(r[1].end, 0x7000);
    vmi_destroy(vmi);
}

static void test_elf_registers(void **state)
{
    vmi_instance_t vmi = open_ok(write_std_elf("regs.elf"), 0);
    uint64_t v;

    assert_int_equal(vmi_get_num_vcpus(vmi), 2);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, CR3, 0), VMI_SUCCESS);
    assert_int_equal(v, CR3_CPU0);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, CR3, 1), VMI_SUCCESS);
    assert_int_equal(v, CR3_CPU1);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, CR4, 0), VMI_SUCCESS);
    assert_int_equal(v, CR4_VAL);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, CR0, 1), VMI_SUCCESS);
    assert_int_equal(v, CR0_VAL);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RIP, 0), VMI_SUCCESS);
    assert_int_equal(v, RIP_VAL);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RSP, 0), VMI_SUCCESS);
    assert_int_equal(v, 0x7777);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, CS_SEL, 0), VMI_SUCCESS);
    assert_int_equal(v, 0x10);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, GS_BASE, 0), VMI_SUCCESS);
    assert_int_equal(v, 0x7f0000001000ull);
    /* kernel_gs_base only where the note's size includes it. */
    assert_int_equal(vmi_get_vcpureg(vmi, &v, SHADOW_GS, 0), VMI_SUCCESS);
    assert_int_equal(v, 0xffff888000001000ull);
    fails_with(vmi, vmi_get_vcpureg(vmi, &v, SHADOW_GS, 1), "not in the snapshot");
    /* EFER derived from CS.L + CR0.PG + CR4.PAE. */
    assert_int_equal(vmi_get_vcpureg(vmi, &v, MSR_EFER, 0), VMI_SUCCESS);
    assert_int_equal(v, (1u << 8) | (1u << 10));
    fails_with(vmi, vmi_get_vcpureg(vmi, &v, XCR0, 0), "XCR0");
    fails_with(vmi, vmi_get_vcpureg(vmi, &v, CR3, 2), "vCPU 2");
    /* The core took the paging mode and kernel root from vCPU 0. */
    assert_int_equal(vmi_get_page_mode(vmi, 0), VMI_PM_IA32E);
    assert_int_equal(tvmi_get_kernel_dtb(vmi), CR3_CPU0);
    vmi_destroy(vmi);
}

/* A kdump-style core: NT_PRSTATUS only, no control registers. */
static void test_elf_prstatus_only(void **state)
{
    static const struct seg segs[] = { { 4, 0, 0, 0 }, { 1, 0, 0x1000, 0x1000 } };
    unsigned char notes[512] = { 0 };
    size_t nl = prstatus_note(notes, 0xabcd);
    vmi_instance_t vmi;
    uint64_t v;

    write_file(tpath("prstatus.elf"), img, build_elf(segs, 2, notes, nl));
    vmi = open_ok(tpath("prstatus.elf"), 0);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RAX, 0), VMI_SUCCESS);
    assert_int_equal(v, 0xabcd);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RIP, 0), VMI_SUCCESS);
    assert_int_equal(v, RIP_VAL);
    fails_with(vmi, vmi_get_vcpureg(vmi, &v, CR3, 0), "CR3 of vCPU 0 is not in the snapshot");
    assert_int_equal(vmi_get_page_mode(vmi, 0), VMI_PM_UNKNOWN);
    vmi_destroy(vmi);
}

/* p_filesz < p_memsz: the tail is a hole. Unaligned ends: partial frames
 * are refused, whole ones served. */
static void test_elf_partial(void **state)
{
    static const struct seg segs[] = {
        { 1, 0x0, 0x1800, 0x4000 },
        { 1, 0x8800, 0x1800, 0x1800 },
    };
    struct tvmi_mem_range r[4];
    vmi_instance_t vmi;

    write_file(tpath("partial.elf"), img, build_elf(segs, 2, NULL, 0));
    vmi = open_ok(tpath("partial.elf"), 0);
    assert_int_equal(vmi_get_memsize(vmi), 0x3000);
    assert_int_equal(vmi_get_max_physical_address(vmi), 0xa000);
    expect_bytes(vmi, 0xfc0, 64);
    expect_bytes(vmi, 0x9000, 64);
    expect_hole(vmi, 0x1000, "partly");
    expect_hole(vmi, 0x8ff0, "partly");
    expect_hole(vmi, 0x2000, "hole");
    assert_int_equal(vmi->drv->get_ranges(vmi, r, 4), 2);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].end, 0x1000);
    assert_int_equal(r[1].start, 0x9000);
    assert_int_equal(r[1].end, 0xa000);
    vmi_destroy(vmi);
}

static void test_lime(void **state)
{
    vmi_instance_t vmi = open_ok(write_std_lime("std.lime"), 0);
    uint64_t v;

    assert_string_equal(tvmi_get_driver_name(vmi), "snapshot-lime");
    assert_int_equal(vmi_get_memsize(vmi), 0x3000);
    assert_int_equal(vmi_get_max_physical_address(vmi), 0x5000);
    expect_bytes(vmi, 0x0, 64);
    expect_bytes(vmi, 0x1fc0, 64);
    expect_bytes(vmi, 0x4800, 64);
    expect_hole(vmi, 0x2000, "hole");
    expect_hole(vmi, 0x5000, "hole");
    fails_with(vmi, vmi_get_vcpureg(vmi, &v, CR3, 0),
               "snapshot-lime has no vCPU registers");
    vmi_destroy(vmi);
}

static void test_raw(void **state)
{
    vmi_instance_t vmi = open_ok(write_std_raw("std.raw"), 0);
    uint64_t v;

    assert_string_equal(tvmi_get_driver_name(vmi), "snapshot-raw");
    assert_int_equal(vmi_get_memsize(vmi), 0x4000);
    assert_int_equal(vmi_get_max_physical_address(vmi), 0x4000);
    expect_bytes(vmi, 0x0, 64);
    expect_bytes(vmi, 0x3fc0, 64);
    expect_hole(vmi, 0x4000, "hole");
    fails_with(vmi, vmi_get_vcpureg(vmi, &v, RAX, 0),
               "snapshot-raw has no vCPU registers");
    vmi_destroy(vmi);
}

/* ---- writes ------------------------------------------------------------------------- */

static void file_bytes(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

static void test_writes(void **state)
{
    const char *elf = write_std_elf("write.elf");
    uint32_t v = 0xdeadbeef, back = 0;
    vmi_instance_t vmi = open_ok(elf, 0);

    fails_with(vmi, vmi_write_32_pa(vmi, 0x5010, &v), "read-only");
    vmi_destroy(vmi);

    vmi = open_ok(elf, TVMI_INIT_WRITE);
    assert_int_equal(vmi_write_32_pa(vmi, 0x5010, &v), VMI_SUCCESS);
    fails_with(vmi, vmi_write_32_pa(vmi, 0x3000, &v), "hole");
    vmi_destroy(vmi);
    /* PA 0x5010 is in the second PT_LOAD, at file 0x1000 + 0x3000 + 0x10. */
    file_bytes(elf, 0x4010, &back, 4);
    assert_int_equal(back, 0xdeadbeef);

    vmi = open_ok(elf, 0);
    assert_int_equal(vmi_read_32_pa(vmi, 0x5010, &back), VMI_SUCCESS);
    assert_int_equal(back, 0xdeadbeef);
    vmi_destroy(vmi);
}

/* ---- all registers at once, name and id -------------------------------------------- */

/* The test's own list of which member holds which register. */
#define MEMBER(r, m) { r, #m, offsetof(x86_registers_t, m), \
                       sizeof(((x86_registers_t *)0)->m) }
static const struct { reg_t reg; const char *name; size_t off, size; } members[] = {
    MEMBER(RAX, rax), MEMBER(RBX, rbx), MEMBER(RCX, rcx), MEMBER(RDX, rdx),
    MEMBER(RBP, rbp), MEMBER(RSI, rsi), MEMBER(RDI, rdi), MEMBER(RSP, rsp),
    MEMBER(R8, r8), MEMBER(R9, r9), MEMBER(R10, r10), MEMBER(R11, r11),
    MEMBER(R12, r12), MEMBER(R13, r13), MEMBER(R14, r14), MEMBER(R15, r15),
    MEMBER(RIP, rip), MEMBER(RFLAGS, rflags), MEMBER(CR0, cr0),
    MEMBER(CR2, cr2), MEMBER(CR3, cr3), MEMBER(CR4, cr4),
    MEMBER(MSR_EFER, msr_efer), MEMBER(FS_BASE, fs_base),
    MEMBER(GS_BASE, gs_base), MEMBER(SHADOW_GS, shadow_gs),
    MEMBER(CS_SEL, cs_sel), MEMBER(DS_SEL, ds_sel), MEMBER(ES_SEL, es_sel),
    MEMBER(FS_SEL, fs_sel), MEMBER(GS_SEL, gs_sel), MEMBER(SS_SEL, ss_sel),
};

static uint64_t member(const registers_t *r, size_t i)
{
    uint64_t v = 0;
    memcpy(&v, (const unsigned char *)&r->x86 + members[i].off, members[i].size);
    return v; /* little-endian host */
}

/* Every member is what vmi_get_vcpureg gives, or 0 where it has nothing. */
static void same_as_single(vmi_instance_t vmi, const registers_t *r,
                           unsigned long vcpu)
{
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        uint64_t v = 0;
        if (vmi_get_vcpureg(vmi, &v, members[i].reg, vcpu) != VMI_SUCCESS)
            v = 0;
        if (member(r, i) != v)
            fail_msg("vCPU %lu %s: 0x%llx, vmi_get_vcpureg 0x%llx", vcpu,
                     members[i].name, (unsigned long long)member(r, i),
                     (unsigned long long)v);
    }
}

static void test_vcpuregs(void **state)
{
    const char *elf = write_std_elf("vcpuregs.elf");
    vmi_instance_t vmi = open_ok(elf, 0);
    registers_t r, back;
    unsigned char before[4096], after[4096];

    memset(&r, 0xa5, sizeof r);
    assert_int_equal(vmi_get_vcpuregs(vmi, &r, 0), VMI_SUCCESS);
    assert_int_equal(r.x86.cr3, CR3_CPU0);
    assert_int_equal(r.x86.cr0, CR0_VAL);
    assert_int_equal(r.x86.cr4, CR4_VAL);
    assert_int_equal(r.x86.rip, RIP_VAL);
    assert_int_equal(r.x86.rsp, 0x7777);
    assert_int_equal(r.x86.rax, 0x1111);
    assert_int_equal(r.x86.rflags, 0x246);
    assert_int_equal(r.x86.cs_sel, 0x10);
    assert_int_equal(r.x86.gs_base, 0x7f0000001000ull);
    assert_int_equal(r.x86.shadow_gs, 0xffff888000001000ull);
    assert_int_equal(r.x86.msr_efer, (1u << 8) | (1u << 10));
    same_as_single(vmi, &r, 0);
    assert_int_equal(vmi_get_vcpuregs(vmi, &r, 1), VMI_SUCCESS);
    assert_int_equal(r.x86.cr3, CR3_CPU1);
    assert_int_equal(r.x86.shadow_gs, 0); /* not in vCPU 1's note */
    same_as_single(vmi, &r, 1);
    fails_with(vmi, vmi_get_vcpuregs(vmi, &r, 2), "vCPU 2: the target has 2 vCPUs");
    /* Read-only: refused even when nothing would change, file untouched. */
    file_bytes(elf, 0, before, sizeof before);
    assert_int_equal(vmi_get_vcpuregs(vmi, &r, 0), VMI_SUCCESS);
    fails_with(vmi, vmi_set_vcpuregs(vmi, &r, 0),
               "writing the registers of vCPU 0: snapshot-elf cannot set");
    r.x86.rip = 0x1234;
    fails_with(vmi, vmi_set_vcpuregs(vmi, &r, 0), "cannot set vCPU registers");
    vmi_destroy(vmi);
    vmi = open_ok(elf, TVMI_INIT_WRITE); /* the notes are not writable either */
    fails_with(vmi, vmi_set_vcpuregs(vmi, &r, 0), "cannot set vCPU registers");
    assert_int_equal(vmi_get_vcpuregs(vmi, &back, 0), VMI_SUCCESS);
    assert_int_equal(back.x86.rip, RIP_VAL);
    vmi_destroy(vmi);
    file_bytes(elf, 0, after, sizeof after);
    assert_memory_equal(before, after, sizeof before);
}

static void test_vcpuregs_partial_and_none(void **state)
{
    static const struct seg segs[] = { { 4, 0, 0, 0 }, { 1, 0, 0x1000, 0x1000 } };
    unsigned char notes[512] = { 0 };
    size_t nl = prstatus_note(notes, 0xabcd);
    vmi_instance_t vmi;
    registers_t r;

    /* NT_PRSTATUS only: the general registers, no control registers. */
    write_file(tpath("prs-regs.elf"), img, build_elf(segs, 2, notes, nl));
    vmi = open_ok(tpath("prs-regs.elf"), 0);
    assert_int_equal(vmi_get_vcpuregs(vmi, &r, 0), VMI_SUCCESS);
    assert_int_equal(r.x86.rax, 0xabcd);
    assert_int_equal(r.x86.rip, RIP_VAL);
    assert_int_equal(r.x86.cr3, 0);
    same_as_single(vmi, &r, 0);
    vmi_destroy(vmi);
    /* No registers at all: a clear failure, never a record of zeros. */
    vmi = open_ok(write_std_raw("regs.raw"), 0);
    fails_with(vmi, vmi_get_vcpuregs(vmi, &r, 0),
               "reading the registers of vCPU 0: snapshot-raw has no vCPU registers");
    fails_with(vmi, vmi_set_vcpuregs(vmi, &r, 0), "snapshot-raw cannot set");
    fails_with(vmi, vmi_get_vcpuregs(vmi, &r, 1), "vCPU 1: the target has 1 vCPUs");
    vmi_destroy(vmi);
    vmi = open_ok(write_std_lime("regs.lime"), 0);
    fails_with(vmi, vmi_get_vcpuregs(vmi, &r, 0),
               "snapshot-lime has no vCPU registers");
    assert_int_equal(vmi_get_vcpuregs(NULL, &r, 0), VMI_FAILURE);
    assert_int_equal(vmi_get_vcpuregs(vmi, NULL, 0), VMI_FAILURE);
    vmi_destroy(vmi);
}

static void test_name_and_vmid(void **state)
{
    const char *raw = write_std_raw("named.raw");
    vmi_instance_t vmi = open_ok(raw, 0);
    char *name = vmi_get_name(vmi), *again = vmi_get_name(vmi);

    assert_string_equal(name, raw);
    assert_ptr_not_equal(name, again); /* each caller's own copy */
    assert_string_equal(again, raw);
    free(name);
    free(again);
    assert_true(vmi_get_vmid(vmi) == VMI_INVALID_DOMID);
    assert_true(VMI_INVALID_DOMID == ~0ull);
    vmi_destroy(vmi);
    assert_null(vmi_get_name(NULL));
    assert_true(vmi_get_vmid(NULL) == VMI_INVALID_DOMID);
}

/* ---- corrupt and hostile input ------------------------------------------------------- */

static void corrupt_elf(const char *name, void (*patch)(size_t *size),
                        const char *want)
{
    size_t size = std_elf();
    patch(&size);
    write_file(tpath(name), img, size);
    open_fails(tpath(name), want);
}

static void p_trunc_ehdr(size_t *size) { *size = 40; }
static void p_phnum_huge(size_t *size) { put16(img + 56, 0xfff0); }
static void p_xnum_absurd(size_t *size)
{
    put16(img + 56, 0xffff);
    put64(img + 40, 0x100);   /* section header 0 inside the file */
    put16(img + 58, 64);
    memset(img + 0x100, 0, 64);
    put32(img + 0x100 + 44, 0xffffffff);
}
static void p_phoff_huge(size_t *size) { put64(img + 32, ~0ull - 8); }
static void p_load_past_eof(size_t *size) { put64(img + PH(2) + 8, 0x5800); }
static void p_load_offset_wraps(size_t *size) { put64(img + PH(2) + 8, ~0ull - 0x10); }
static void p_paddr_wraps(size_t *size) { put64(img + PH(2) + 24, ~0ull - 0x10); }
static void p_filesz_gt_memsz(size_t *size) { put64(img + PH(1) + 40, 0x1000); }
static void p_overlap(size_t *size) { put64(img + PH(2) + 24, 0x2000); }
static void p_note_truncated(size_t *size)
{
    put32(img + NOTES_OFF(3) + 4, 0x10000); /* first note's descsz */
}
static void p_note_hdr_truncated(size_t *size)
{
    put64(img + PH(0) + 32, 356 + 6); /* 6 bytes of a second note header */
}
static void p_note_past_eof(size_t *size) { put64(img + PH(0) + 32, 0x100000); }
static void p_qemu_small(size_t *size)
{
    put32(img + NOTES_OFF(3) + 2 * 356 + 20 + 4, 100); /* QEMU size field */
}
static void p_qemu_version(size_t *size)
{
    put32(img + NOTES_OFF(3) + 2 * 356 + 20, 7);
}
static void p_prstatus_small(size_t *size) { put32(img + NOTES_OFF(3) + 4, 16); }
static void p_elf32(size_t *size) { img[4] = 1; }
static void p_not_core(size_t *size) { put16(img + 16, 2); }
static void p_arm(size_t *size) { put16(img + 18, 183); }
static void p_phentsize(size_t *size) { put16(img + 54, 32); }
static void p_no_loads(size_t *size) { put32(img + PH(1), 0); put32(img + PH(2), 0); }

static void test_corrupt_elf(void **state)
{
    corrupt_elf("trunc.elf", p_trunc_ehdr, "too short for the ELF header");
    corrupt_elf("phnum.elf", p_phnum_huge, "extend past end of file");
    corrupt_elf("xnum.elf", p_xnum_absurd, "absurd");
    corrupt_elf("phoff.elf", p_phoff_huge, "e_phoff");
    corrupt_elf("past.elf", p_load_past_eof,
                "program header 2: segment [0x5800+0x2000] extends past end of file (size 0x6000)");
    corrupt_elf("wrap.elf", p_load_offset_wraps, "past end of file");
    corrupt_elf("paddr.elf", p_paddr_wraps, "overflows");
    corrupt_elf("filesz.elf", p_filesz_gt_memsz, "p_filesz");
    corrupt_elf("overlap.elf", p_overlap, "program headers 1 and 2 overlap");
    corrupt_elf("note.elf", p_note_truncated, "past the end of the segment");
    corrupt_elf("notehdr.elf", p_note_hdr_truncated, "header truncated");
    corrupt_elf("notefile.elf", p_note_past_eof, "program header 0: segment");
    corrupt_elf("qsize.elf", p_qemu_small, "QEMU CPU note says size");
    corrupt_elf("qver.elf", p_qemu_version, "version 7");
    corrupt_elf("prs.elf", p_prstatus_small, "NT_PRSTATUS");
    corrupt_elf("elf32.elf", p_elf32, "ELF64");
    corrupt_elf("exec.elf", p_not_core, "ET_CORE");
    corrupt_elf("arm.elf", p_arm, "EM_X86_64");
    corrupt_elf("phentsize.elf", p_phentsize, "e_phentsize");
    corrupt_elf("noload.elf", p_no_loads, "holds no memory");
}

static void corrupt_lime(const char *name, void (*patch)(size_t *size),
                         const char *want)
{
    size_t size = std_lime();
    patch(&size);
    write_file(tpath(name), img, size);
    open_fails(tpath(name), want);
}

#define REC2 (32 + 0x2000) /* offset of the second record's header */
static void l_end_below(size_t *size) { put64(img + REC2 + 16, 0x3000); }
static void l_past_eof(size_t *size) { put64(img + REC2 + 16, 0x8fff); }
static void l_descending(size_t *size)
{
    put64(img + REC2 + 8, 0x1000);
    put64(img + REC2 + 16, 0x1fff);
}
static void l_trunc_hdr(size_t *size) { *size = REC2 + 20; }
static void l_version(size_t *size) { put32(img + REC2 + 4, 2); }
static void l_magic(size_t *size) { put32(img + REC2, 0x12345678); }
static void l_top(size_t *size)
{
    put64(img + REC2 + 8, ~0ull - 0xfff);
    put64(img + REC2 + 16, ~0ull);
}

static void test_corrupt_lime(void **state)
{
    corrupt_lime("below.lime", l_end_below, "end 0x3000 is below start 0x4000");
    corrupt_lime("eof.lime", l_past_eof, "past end of file");
    corrupt_lime("desc.lime", l_descending, "ascending");
    corrupt_lime("trunc.lime", l_trunc_hdr, "header truncated");
    corrupt_lime("version.lime", l_version, "version 2");
    corrupt_lime("magic.lime", l_magic, "bad magic");
    corrupt_lime("top.lime", l_top, "top of the address space");
}

/* Root may open anything: become nobody for a moment (the saved set-user-ID
 * stays 0, so we can come back) to see EACCES. */
static void noperm_as_nobody(const char *path)
{
    if (setegid(65534) < 0 || seteuid(65534) < 0) {
        setegid(0);
        print_message("  SKIPPED: no-permission case (running as root and "
                      "cannot switch to nobody)\n");
        return;
    }
    open_fails(path, "Permission denied");
    assert_int_equal(seteuid(0), 0);
    assert_int_equal(setegid(0), 0);
}

static void test_bad_paths(void **state)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    char noperm[300];

    write_file(tpath("empty"), "", 0);
    open_fails(tpath("empty"), "empty");
    mkdir(tpath("adir"), 0700);
    open_fails(tpath("adir"), "is a directory");
    open_fails(tpath("missing"), "No such file");
    assert_int_equal(vmi_init(&vmi, VMI_FILE, tpath("missing"),
                              VMI_INIT_DOMAINNAME, NULL, &err), VMI_FAILURE);
    assert_int_equal(err, VMI_INIT_ERROR_VM_NOT_FOUND);
    /* A directory opened for writing fails in open() itself (EISDIR). */
    assert_int_equal(vmi_init(&vmi, VMI_FILE, tpath("adir"),
                              VMI_INIT_DOMAINNAME | TVMI_INIT_WRITE, NULL, &err),
                     VMI_FAILURE);
    assert_non_null(strstr(tvmi_init_error_message(), "is a directory"));

    snprintf(noperm, sizeof noperm, "%s", tpath("noperm.raw"));
    write_file(noperm, "abcd", 4);
    chmod(noperm, 0);
    if (geteuid() == 0)
        noperm_as_nobody(noperm);
    else
        open_fails(noperm, "Permission denied");
}

/* Random byte flips in valid files: open either fails cleanly or gives an
 * instance whose every backed range reads back. Never a crash. */
static void fuzz_one(size_t (*make)(void), const char *name, unsigned seed)
{
    static unsigned char good[MAXIMG];
    size_t size = make();
    struct tvmi_mem_range r[64];
    unsigned char buf[4096];

    memcpy(good, img, size);
    srand(seed);
    for (int iter = 0; iter < 400; iter++) {
        vmi_instance_t vmi = NULL;
        vmi_init_error_t err;
        size_t n, len = size;

        memcpy(img, good, size);
        for (int k = 0, flips = 1 + rand() % 4; k < flips; k++) {
            size_t at = (size_t)rand() % (rand() % 2 ? 1024 : size);
            img[at] = (unsigned char)rand();
        }
        if (rand() % 8 == 0)
            len = (size_t)rand() % size;
        write_file(tpath(name), img, len);
        if (vmi_init(&vmi, VMI_FILE, tpath(name), VMI_INIT_DOMAINNAME, NULL,
                     &err) != VMI_SUCCESS) {
            assert_true(strlen(tvmi_init_error_message()) > 0);
            continue;
        }
        n = vmi->drv->get_ranges(vmi, r, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            for (addr_t pa = r[i].start; pa < r[i].end && pa - r[i].start < 0x10000;
                 pa += 4096)
                assert_int_equal(vmi_read_pa(vmi, pa, 4096, buf, NULL), VMI_SUCCESS);
        vmi_destroy(vmi);
    }
}

static void test_fuzz(void **state)
{
    fuzz_one(std_elf, "fuzz.elf", 1);
    fuzz_one(std_lime, "fuzz.lime", 2);
}

/* ---- dump round trips ------------------------------------------------------------------ */

struct progress {
    unsigned calls;
    uint64_t last, total;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
    struct progress *p = arg;
    assert_true(done >= p->last);
    assert_true(done <= total);
    p->calls++;
    p->last = done;
    p->total = total;
}

/* Every range backed in a is backed in b with the same bytes. */
static void same_memory(vmi_instance_t a, vmi_instance_t b)
{
    struct tvmi_mem_range r[16];
    size_t n = a->drv->get_ranges(a, r, 16);
    unsigned char x[4096], y[4096];

    assert_true(n > 0 && n <= 16);
    for (size_t i = 0; i < n; i++)
        for (addr_t pa = r[i].start; pa < r[i].end; pa += 4096) {
            assert_int_equal(vmi_read_pa(a, pa, 4096, x, NULL), VMI_SUCCESS);
            if (vmi_read_pa(b, pa, 4096, y, NULL) != VMI_SUCCESS)
                fail_msg("PA 0x%llx: %s", (unsigned long long)pa,
                         tvmi_last_error(b));
            assert_memory_equal(x, y, 4096);
        }
}

static void same_registers(vmi_instance_t a, vmi_instance_t b)
{
    static const reg_t regs[] = { CR0, CR3, CR4, RIP, RAX, RSP, RFLAGS, MSR_EFER,
                                  GS_BASE, SHADOW_GS, CS_SEL };
    uint64_t x, y;

    assert_int_equal(vmi_get_num_vcpus(a), vmi_get_num_vcpus(b));
    for (unsigned c = 0; c < vmi_get_num_vcpus(a); c++)
        for (size_t i = 0; i < sizeof regs / sizeof *regs; i++) {
            if (vmi_get_vcpureg(a, &x, regs[i], c) != VMI_SUCCESS)
                continue;
            assert_int_equal(vmi_get_vcpureg(b, &y, regs[i], c), VMI_SUCCESS);
            assert_int_equal(x, y);
        }
    assert_int_equal(vmi_get_page_mode(a, 0), vmi_get_page_mode(b, 0));
    assert_int_equal(tvmi_get_kernel_dtb(a), tvmi_get_kernel_dtb(b));
}

static const char *const fmt_names[] = { "elf", "raw", "lime" };
static const char *const drv_names[] = { "snapshot-elf", "snapshot-raw",
                                         "snapshot-lime" };

static void round_trip(vmi_instance_t src, const char *tag)
{
    for (int f = TVMI_DUMP_ELF; f <= TVMI_DUMP_LIME; f++) {
        char name[64];
        struct progress p = { 0 };
        vmi_instance_t out;

        snprintf(name, sizeof name, "%s-to.%s", tag, fmt_names[f]);
        if (tvmi_dump(src, tpath(name), (tvmi_dump_format_t)f, on_progress,
                      &p) != VMI_SUCCESS)
            fail_msg("dumping to %s: %s", name, tvmi_last_error(src));
        assert_true(p.calls >= 1 && p.calls <= 102);
        assert_int_equal(p.last, p.total);
        out = open_ok(tpath(name), 0);
        assert_string_equal(tvmi_get_driver_name(out), drv_names[f]);
        same_memory(src, out);
        if (f == TVMI_DUMP_ELF)
            same_registers(src, out);
        vmi_destroy(out);
    }
}

static void test_round_trips(void **state)
{
    const char *inputs[] = { write_std_elf("rt.elf"), write_std_lime("rt.lime"),
                             write_std_raw("rt.raw") };

    for (int i = 0; i < 3; i++) {
        vmi_instance_t src = open_ok(inputs[i], 0);
        round_trip(src, fmt_names[i == 0 ? 0 : i == 1 ? 2 : 1]);
        vmi_destroy(src);
    }
}

/* A driver without get_ranges: dump probes frame by frame. */
static void test_dump_probing(void **state)
{
    struct tvmi_driver_ops ops = tvmi_driver_snapshot;
    vmi_instance_t src = NULL, out;
    vmi_init_error_t err;

    ops.get_ranges = NULL;
    assert_int_equal(tvmi_init_with_driver(&src, &ops, write_std_elf("probe.elf"),
                                           0, &err), VMI_SUCCESS);
    assert_int_equal(tvmi_dump(src, tpath("probe-out.elf"), TVMI_DUMP_ELF,
                               NULL, NULL), VMI_SUCCESS);
    out = open_ok(tpath("probe-out.elf"), 0);
    assert_int_equal(vmi_get_memsize(out), 0x5000);
    expect_hole(out, 0x3000, "hole");
    vmi_destroy(out);
    out = open_ok(tpath("probe.elf"), 0);
    same_memory(out, src);
    vmi_destroy(out);
    vmi_destroy(src);
}

static bool dir_has_tmp(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    bool found = false;

    while (d && (e = readdir(d)))
        found |= strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return found;
}

/* Failed dumps say why and leave nothing behind. */
static void test_dump_failures(void **state)
{
    vmi_instance_t src = open_ok(write_std_elf("fail.elf"), 0);
    struct rlimit old, small = { 0x3000, 0x3000 };
    const char *target = tpath("toolarge.elf");

    fails_with(src, tvmi_dump(src, "/nonexistent-dir/x.elf", TVMI_DUMP_ELF,
                              NULL, NULL), "cannot create");
    fails_with(src, tvmi_dump(src, tpath("bad.fmt"), (tvmi_dump_format_t)9,
                              NULL, NULL), "unknown format");

    /* A file size limit stands in for a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    fails_with(src, tvmi_dump(src, target, TVMI_DUMP_ELF, NULL, NULL),
               "writing");
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    print_message("  ok: %s\n", tvmi_last_error(src));
    assert_int_equal(access(target, F_OK), -1);
    assert_false(dir_has_tmp());
    vmi_destroy(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_reads),
        cmocka_unit_test(test_elf_ranges),
        cmocka_unit_test(test_elf_registers),
        cmocka_unit_test(test_elf_prstatus_only),
        cmocka_unit_test(test_elf_partial),
        cmocka_unit_test(test_lime),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_writes),
        cmocka_unit_test(test_vcpuregs),
        cmocka_unit_test(test_vcpuregs_partial_and_none),
        cmocka_unit_test(test_name_and_vmid),
        cmocka_unit_test(test_corrupt_elf),
        cmocka_unit_test(test_corrupt_lime),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_dump_probing),
        cmocka_unit_test(test_dump_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
