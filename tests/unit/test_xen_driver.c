/*
 * The Xen driver against a fake Xen (xen_fake.h): opening by name and id,
 * the domctl version probe, errors people must understand, reads, holes,
 * batching, the frame scan, writes, registers, pause nesting, and the
 * promise that the domain is not left paused on exit or fatal signals.
 * Skips itself when the driver is not built (no libxen-dev).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<xenforeignmemory.h>) && __has_include(<xenstore.h>)

#include "xen_fake.h"

#include <cmocka.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <tinyvmi/dump.h>

extern const struct tvmi_driver_ops tvmi_driver_xen __attribute__((weak));

static vmi_instance_t open_name(const char *name, uint64_t flags)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t e;

    if (vmi_init(&vmi, VMI_XEN, name, flags | VMI_INIT_DOMAINNAME, NULL, &e))
        return NULL;
    return vmi;
}

static vmi_instance_t open_id(uint64_t id)
{
    vmi_instance_t vmi = NULL;

    if (vmi_init(&vmi, VMI_XEN, &id, VMI_INIT_DOMAINID, NULL, NULL))
        return NULL;
    return vmi;
}

static int setup(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' lacks '%s'", text, part);
}

/* ---- open ----------------------------------------------------------------- */

static void test_open_by_name(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);

    (void)state;
    assert_non_null(vmi);
    assert_string_equal(tvmi_get_driver_name(vmi), "xen-pvh");
    assert_int_equal(vmi_get_memsize(vmi), (uint64_t)FAKE_FRAMES * 4096);
    assert_int_equal(vmi_get_max_physical_address(vmi), (FAKE_MAX_GFN + 1) * 4096);
    assert_int_equal(vmi_get_num_vcpus(vmi), FAKE_VCPUS);
    assert_int_equal(vmi_get_page_mode(vmi, 0), VMI_PM_IA32E);
    assert_int_equal(tvmi_get_kernel_dtb(vmi), fx->cpu[0].cr3);
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

static void test_open_by_id_and_kinds(void **state)
{
    vmi_instance_t vmi = open_id(7);

    (void)state;
    assert_non_null(vmi);
    vmi_destroy(vmi);
    fx->emulation = XEN_X86_EMU_ALL;
    assert_non_null(vmi = open_id(7));
    assert_string_equal(tvmi_get_driver_name(vmi), "xen-hvm");
    vmi_destroy(vmi);
}

static void test_not_found(void **state)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t e;
    uint64_t id = 77;

    (void)state;
    assert_int_equal(vmi_init(&vmi, VMI_XEN, "nope", VMI_INIT_DOMAINNAME, NULL, &e),
                     VMI_FAILURE);
    assert_int_equal(e, VMI_INIT_ERROR_VM_NOT_FOUND);
    assert_string_equal(tvmi_init_error_message(), "no Xen domain named 'nope'");
    assert_int_equal(vmi_init(&vmi, VMI_XEN, &id, VMI_INIT_DOMAINID, NULL, &e),
                     VMI_FAILURE);
    assert_int_equal(e, VMI_INIT_ERROR_VM_NOT_FOUND);
    assert_string_equal(tvmi_init_error_message(), "no Xen domain with id 77");
    /* Xen < 4.18 answers with the next domain: still "no such domain". */
    fx->next_domain = true;
    id = 3;
    assert_null(open_id(3));
    assert_string_equal(tvmi_init_error_message(), "no Xen domain with id 3");
    id = 0x7ff0;
    assert_int_equal(vmi_init(&vmi, VMI_XEN, &id, VMI_INIT_DOMAINID, NULL, &e),
                     VMI_FAILURE);
    assert_has(tvmi_init_error_message(), "no Xen domain with id 32752");
}

static void test_refusals(void **state)
{
    (void)state;
    fx->eperm = true;
    assert_null(open_name("target", 0));
    assert_has(tvmi_init_error_message(), "root in dom0");
    fx->eperm = false;
    fx->flags |= XEN_DOMINF_dying;
    assert_null(open_name("target", 0));
    assert_has(tvmi_init_error_message(), "is dying");
    fx->flags &= ~XEN_DOMINF_dying;
    fx->flags |= XEN_DOMINF_shutdown | SHUTDOWN_crash << XEN_DOMINF_shutdownshift;
    assert_null(open_name("target", 0));
    assert_has(tvmi_init_error_message(), "has shut down: crashed");
}

/* A domain that dies, is replaced or shuts down under an open instance:
 * tvmi_target_check says so and lets its frames go (mappings would keep a
 * destroyed domain from being freed). */
static void test_target_check(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    unsigned char b[8];

    (void)state;
    assert_non_null(vmi);
    assert_int_equal(tvmi_target_check(vmi), VMI_SUCCESS);
    assert_int_equal(vmi_read_pa(vmi, 0x5000, 8, b, NULL), VMI_SUCCESS);
    assert_true(fx->mapped > 0);
    fx->flags |= XEN_DOMINF_dying;
    assert_int_equal(tvmi_target_check(vmi), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "Xen domain 7 (target) is dying");
    assert_int_equal(fx->mapped, 0);
    fx->flags &= ~XEN_DOMINF_dying;
    fx->flags |= XEN_DOMINF_shutdown | SHUTDOWN_reboot << XEN_DOMINF_shutdownshift;
    assert_int_equal(tvmi_target_check(vmi), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "has shut down: rebooting");
    fx->flags &= ~(XEN_DOMINF_shutdown | XEN_DOMINF_shutdownmask << XEN_DOMINF_shutdownshift);
    assert_int_equal(tvmi_target_check(vmi), VMI_SUCCESS);
    fx->uuid0 = 0x42;
    assert_int_equal(tvmi_target_check(vmi), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "another domain has its id");
    fx->uuid0 = 0;
    fx->domid = 8;
    assert_int_equal(tvmi_target_check(vmi), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "no Xen domain with id 7");
    fx->domid = 7;
    assert_int_equal(vmi_read_pa(vmi, 0x5000, 8, b, NULL), VMI_SUCCESS);
    assert_int_equal(b[0], fake_byte(0x5000));
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

/* The version is found whatever it is in the known range, remembered for
 * the next instance, and a version outside it is a clear error. */
static void test_domctl_versions(void **state)
{
    vmi_instance_t vmi;

    (void)state;
    for (uint32_t v = XEN_DOMCTL_OLDEST; v <= XEN_DOMCTL_NEWEST; v++) {
        fx->version = v;
        assert_non_null(vmi = open_name("target", 0));
        vmi_destroy(vmi);
        fx->eacces = 0;
        assert_non_null(vmi = open_name("target", 0));
        assert_int_equal(fx->eacces, 0);
        vmi_destroy(vmi);
    }
    fx->version = XEN_DOMCTL_NEWEST + 1;
    assert_null(open_name("target", 0));
    assert_has(tvmi_init_error_message(), "refused every domctl interface version");
    fx->version = XEN_DOMCTL_OLDEST - 1;
    assert_null(open_name("target", 0));
}

/* ---- memory ---------------------------------------------------------------- */

static void test_reads_and_holes(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    unsigned char buf[64];
    addr_t special = FAKE_SPECIAL_GFN * 4096 + 100;

    (void)state;
    assert_non_null(vmi);
    assert_int_equal(vmi_read_pa(vmi, 0x12345, sizeof buf, buf, NULL), VMI_SUCCESS);
    for (unsigned i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], fake_byte(0x12345 + i));
    assert_int_equal(vmi_read_pa(vmi, special, sizeof buf, buf, NULL), VMI_SUCCESS);
    assert_int_equal(buf[0], fake_byte(special));
    assert_int_equal(vmi_read_pa(vmi, 0x2000000, 8, buf, NULL), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "is not mapped in domain 7");
    assert_int_equal(vmi_read_pa(vmi, 0x200000000ull, 8, buf, NULL), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "beyond the highest gfn");
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

/* A sequential reader gets windows doubling to 1024 frames: reading all
 * of RAM costs a few dozen map calls, not one per frame. */
static void test_readahead(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    static unsigned char buf[FAKE_RAM_FRAMES * 4096];

    (void)state;
    assert_non_null(vmi);
    fx->map_calls = 0;
    assert_int_equal(vmi_read_pa(vmi, 0, sizeof buf, buf, NULL), VMI_SUCCESS);
    for (size_t i = 0; i < sizeof buf; i += 4093)
        assert_int_equal(buf[i], fake_byte(i));
    assert_true(fx->map_calls <= 16);
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

/* Random reads of neighbouring frames cost one call for their aligned
 * cluster; a cluster that runs into a hole still serves the frame asked
 * for, and a write maps its frame alone. */
static void test_clusters(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    const addr_t c = XEN_CLUSTER, base = 0x100 * c;
    const addr_t order[] = { 3, 0, c - 1, 5, 1 };
    unsigned char b[8], w = 0x5a;

    (void)state;
    assert_non_null(vmi);
    fx->map_calls = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        addr_t pa = (base + order[i]) * 4096 + 40;
        assert_int_equal(vmi_read_pa(vmi, pa, 8, b, NULL), VMI_SUCCESS);
        assert_int_equal(b[0], fake_byte(pa));
    }
    assert_int_equal(fx->map_calls, 1);
    assert_int_equal(vmi_read_pa(vmi, (FAKE_RAM_FRAMES - 1) * 4096ull, 8, b, NULL),
                     VMI_SUCCESS);
    assert_int_equal(b[0], fake_byte((FAKE_RAM_FRAMES - 1) * 4096ull));
    assert_int_equal(fx->map_calls, 2);
    assert_int_equal(vmi_read_pa(vmi, (FAKE_RAM_FRAMES + 1) * 4096ull, 8, b, NULL),
                     VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "is not mapped in domain 7");
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);

    vmi = open_name("target", TVMI_INIT_WRITE);
    assert_non_null(vmi);
    assert_int_equal(vmi_write_pa(vmi, 0x300 * 4096ull + 9, 1, &w, NULL), VMI_SUCCESS);
    assert_int_equal(fx->mapped, 1);
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

/* A PV guest's page tables hold machine frames: no bound by its max gfn
 * (Xen refuses frames that are not the guest's), no neighbours mapped. */
static void test_pv_machine_frames(void **state)
{
    vmi_instance_t vmi;
    unsigned char b[8];

    (void)state;
    fx->flags &= ~XEN_DOMINF_hvm_guest;
    assert_non_null(vmi = open_name("target", 0));
    assert_string_equal(tvmi_get_driver_name(vmi), "xen-pv");
    fx->map_calls = 0;
    assert_int_equal(vmi_read_pa(vmi, 0x40000, 8, b, NULL), VMI_SUCCESS);
    assert_int_equal(b[0], fake_byte(0x40000));
    assert_int_equal(vmi_read_pa(vmi, 0x41000, 8, b, NULL), VMI_SUCCESS);
    assert_int_equal(fx->map_calls, 2);
    assert_int_equal(vmi_read_pa(vmi, 0x200000000ull, 8, b, NULL), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "is not mapped in domain 7");
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

static void test_map_frames(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    addr_t gfns[] = { 5, 0x5000, FAKE_SPECIAL_GFN + 1, 6, 0x123456 };
    void *out[5];

    (void)state;
    assert_non_null(vmi);
    fx->map_calls = 0;
    assert_int_equal(vmi->drv->map_frames(vmi, gfns, 5, false, out), VMI_SUCCESS);
    assert_int_equal(fx->map_calls, 1);
    assert_non_null(out[0]);
    assert_null(out[1]);
    assert_non_null(out[2]);
    assert_non_null(out[3]);
    assert_null(out[4]);
    assert_int_equal(((unsigned char *)out[2])[7], fake_byte((FAKE_SPECIAL_GFN + 1) * 4096 + 7));
    for (int i = 0; i < 5; i++)
        if (out[i])
            vmi->drv->unmap_frame(vmi, out[i]);
    assert_int_equal(fx->mapped, 0);
    fx->map_eperm = true;
    assert_int_equal(vmi->drv->map_frames(vmi, gfns, 5, false, out), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "root in dom0");
    fx->map_eperm = false;
    vmi_destroy(vmi);
}

static void check_ranges(vmi_instance_t vmi)
{
    struct tvmi_mem_range r[4];

    assert_int_equal(vmi->drv->get_ranges(vmi, NULL, 0), 2);
    assert_int_equal(vmi->drv->get_ranges(vmi, r, 4), 2);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].end, FAKE_RAM_FRAMES * 4096ull);
    assert_int_equal(r[1].start, FAKE_SPECIAL_GFN * 4096);
    assert_int_equal(r[1].end, (FAKE_MAX_GFN + 1) * 4096);
}

/* The scan stops once it has tot_pages frames: a handful of calls for a
 * guest whose gfns go up to 4 GiB. A count that lies costs a full scan. */
static void test_ranges(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);

    (void)state;
    assert_non_null(vmi);
    fx->pfinfo_calls = 0;
    check_ranges(vmi);
    assert_true(fx->pfinfo_calls <= 8);
    vmi_destroy(vmi);
    fx->tot_pages_delta = 1;
    assert_non_null(vmi = open_name("target", 0));
    fx->pfinfo_calls = 0;
    check_ranges(vmi);
    assert_true(fx->pfinfo_calls > FAKE_MAX_GFN / 1024);
    vmi_destroy(vmi);
    /* A frame of Xen's in the middle of RAM: found by probing the gap. */
    fx->tot_pages_delta = 0;
    fx->xenheap_gfn = 100;
    assert_non_null(vmi = open_name("target", 0));
    check_ranges(vmi);
    assert_int_equal(((struct xen *)vmi->drv_data)->shared_frames, 1);
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

static void test_dump_round_trip(void **state)
{
    vmi_instance_t vmi = open_name("target", 0), snap = NULL;
    char path[] = "/tmp/tvmi-xen-dump-XXXXXX";
    int fd = mkstemp(path);
    unsigned char a[256], b[256];
    uint64_t v;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_non_null(vmi);
    assert_int_equal(tvmi_dump(vmi, path, TVMI_DUMP_ELF, NULL, NULL), VMI_SUCCESS);
    assert_int_equal(vmi_init(&snap, VMI_FILE, path, VMI_INIT_DOMAINNAME, NULL, NULL),
                     VMI_SUCCESS);
    assert_int_equal(vmi_get_memsize(snap), vmi_get_memsize(vmi));
    assert_int_equal(vmi_read_pa(snap, FAKE_SPECIAL_GFN * 4096 + 9, sizeof a, a, NULL), 0);
    assert_int_equal(vmi_read_pa(vmi, FAKE_SPECIAL_GFN * 4096 + 9, sizeof b, b, NULL), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(vmi_get_vcpureg(snap, &v, CR3, 1), VMI_SUCCESS);
    assert_int_equal(v, fx->cpu[1].cr3);
    vmi_destroy(snap);
    vmi_destroy(vmi);
    unlink(path);
}

static void test_writes(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    unsigned char w[3] = { 0xaa, 0xbb, 0xcc };

    (void)state;
    assert_non_null(vmi);
    assert_int_equal(vmi_write_pa(vmi, 0x3000, 3, w, NULL), VMI_FAILURE);
    vmi_destroy(vmi);
    assert_non_null(vmi = open_name("target", TVMI_INIT_WRITE));
    assert_int_equal(vmi_read_pa(vmi, 0x2ffe, 3, w, NULL), VMI_SUCCESS); /* a read mapping */
    w[0] = 0xaa, w[1] = 0xbb, w[2] = 0xcc;
    assert_int_equal(vmi_write_pa(vmi, 0x2fff, 3, w, NULL), VMI_SUCCESS);
    assert_int_equal(fake_peek(0x2fff), 0xaa);
    assert_int_equal(fake_peek(0x3000), 0xbb);
    assert_int_equal(fake_peek(0x3001), 0xcc);
    vmi_destroy(vmi);
    assert_int_equal(fx->mapped, 0);
}

/* ---- registers ----------------------------------------------------------------- */

static void test_registers(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    uint64_t v;

    (void)state;
    assert_non_null(vmi);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RIP, 1), VMI_SUCCESS);
    assert_int_equal(v, fx->cpu[1].rip);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, CS_SEL, 0), VMI_SUCCESS);
    assert_int_equal(v, 0x10);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, XCR0, 0), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "XCR0");
    assert_int_equal(vmi_set_vcpureg(vmi, 0x4242, R15, 1), VMI_SUCCESS);
    assert_int_equal(fx->cpu[1].r15, 0x4242);
    assert_int_equal(fx->cpu[0].r15, 0x1515);
    assert_int_equal(fx->set_cpu_records, 1); /* only that vCPU's record */
    assert_int_equal(fx->pauses, 0);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, R15, 1), VMI_SUCCESS);
    assert_int_equal(v, 0x4242);
    assert_int_equal(vmi_set_vcpureg(vmi, 1ull << 32, CS_SEL, 0), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "does not fit");
    /* Paused: read once, then from the cache; a write forgets it. */
    assert_int_equal(vmi_pause_vm(vmi), VMI_SUCCESS);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RAX, 0), VMI_SUCCESS);
    fx->domctls = 0;
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RBX, 0), VMI_SUCCESS);
    assert_int_equal(fx->domctls, 0);
    assert_int_equal(vmi_set_vcpureg(vmi, 7, RBX, 0), VMI_SUCCESS);
    assert_int_equal(vmi_get_vcpureg(vmi, &v, RBX, 0), VMI_SUCCESS);
    assert_int_equal(v, 7);
    assert_int_equal(fx->pauses, 1);
    assert_int_equal(vmi_resume_vm(vmi), VMI_SUCCESS);
    assert_int_equal(fx->pauses, 0);
    vmi_destroy(vmi);
}

/* All registers at once: one fetch while paused, only changed registers
 * written, the domain running again afterwards. */
static void test_all_registers(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    registers_t r;

    (void)state;
    assert_non_null(vmi);
    fx->cpu[1].rbx = 0xb0b;
    fx->cpu[1].ss_sel = 0x18;
    fx->domctls = 0;
    assert_int_equal(vmi_get_vcpuregs(vmi, &r, 1), VMI_SUCCESS);
    assert_true(fx->domctls <= 3); /* pause, the CPU record, unpause */
    assert_int_equal(fx->pauses, 0);
    assert_int_equal(r.x86.rip, fx->cpu[1].rip);
    assert_int_equal(r.x86.cr3, fx->cpu[1].cr3);
    assert_int_equal(r.x86.cr0, fx->cpu[1].cr0);
    assert_int_equal(r.x86.msr_efer, fx->cpu[1].msr_efer);
    assert_int_equal(r.x86.r15, 0x1515);
    assert_int_equal(r.x86.rbx, 0xb0b);
    assert_int_equal(r.x86.cs_sel, 0x10);
    assert_int_equal(r.x86.ss_sel, 0x18);

    r.x86.rip = 0xffffffff81234567ull;
    r.x86.r15 = 0x4242;
    fx->set_contexts = 0;
    assert_int_equal(vmi_set_vcpuregs(vmi, &r, 1), VMI_SUCCESS);
    assert_int_equal(fx->set_contexts, 2); /* only what changed */
    assert_int_equal(fx->cpu[1].rip, 0xffffffff81234567ull);
    assert_int_equal(fx->cpu[1].r15, 0x4242);
    assert_int_equal(fx->cpu[1].rbx, 0xb0b);
    assert_int_equal(fx->cpu[1].cr3, 0x1001000);
    assert_int_equal(fx->cpu[0].rip, 0xffffffff81000000ull);
    assert_int_equal(fx->cpu[0].r15, 0x1515);
    assert_int_equal(fx->pauses, 0);
    fx->set_contexts = 0;
    assert_int_equal(vmi_set_vcpuregs(vmi, &r, 1), VMI_SUCCESS);
    assert_int_equal(fx->set_contexts, 0); /* nothing changed */

    assert_int_equal(vmi_get_vcpuregs(vmi, &r, 2), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "vCPU 2: the target has 2 vCPUs");
    fx->eperm = true;
    assert_int_equal(vmi_get_vcpuregs(vmi, &r, 0), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "reading the registers of vCPU 0");
    assert_int_equal(vmi_set_vcpuregs(vmi, &r, 0), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "writing the registers of vCPU 0");
    fx->eperm = false;
    assert_int_equal(fx->pauses, 0);
    vmi_destroy(vmi);
}

/* LibVMI's name and id: xenstore's current name, the opened name when
 * xenstore has none, the domid. */
static void test_name_and_id(void **state)
{
    vmi_instance_t vmi = open_name("target", 0), by_id = open_id(7);
    char *name;

    (void)state;
    assert_non_null(vmi);
    assert_non_null(by_id);
    assert_int_equal(vmi_get_vmid(vmi), 7);
    assert_int_equal(vmi_get_vmid(by_id), 7);
    assert_non_null(name = vmi_get_name(by_id));
    assert_string_equal(name, "target");
    free(name);
    snprintf(fx->name, sizeof fx->name, "renamed"); /* xl rename */
    assert_non_null(name = vmi_get_name(vmi));
    assert_string_equal(name, "renamed");
    free(name);
    fx->domid = 8; /* xenstore no longer knows domain 7 */
    assert_non_null(name = vmi_get_name(vmi));
    assert_string_equal(name, "target");
    free(name);
    assert_null(vmi_get_name(by_id));
    assert_has(tvmi_last_error(by_id), "name of Xen domain 7: not in xenstore");
    fx->domid = 7;
    vmi_destroy(by_id);
    vmi_destroy(vmi);
}

/* ---- pause -------------------------------------------------------------------- */

static void test_pause_nesting(void **state)
{
    vmi_instance_t vmi = open_name("target", 0), other = open_name("target", 0);

    (void)state;
    assert_non_null(vmi);
    assert_int_equal(vmi_pause_vm(vmi), VMI_SUCCESS);
    assert_int_equal(vmi_pause_vm(vmi), VMI_SUCCESS);
    assert_int_equal(fx->pauses, 1);
    assert_int_equal(vmi_pause_vm(other), VMI_SUCCESS);
    assert_int_equal(fx->pauses, 2);
    assert_int_equal(vmi_resume_vm(vmi), VMI_SUCCESS);
    assert_int_equal(fx->pauses, 2);
    assert_int_equal(vmi_resume_vm(vmi), VMI_SUCCESS);
    assert_int_equal(fx->pauses, 1);
    assert_int_equal(vmi_resume_vm(vmi), VMI_FAILURE);
    assert_has(tvmi_last_error(vmi), "has not paused it");
    assert_int_equal(fx->pauses, 1);
    vmi_destroy(other); /* still paused by other: destroy lets go */
    assert_int_equal(fx->pauses, 0);
    assert_int_equal(vmi_pause_vm(vmi), VMI_SUCCESS);
    vmi_destroy(vmi);
    assert_int_equal(fx->pauses, 0);
}

static sighandler_t action_of(int sig)
{
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return sa.sa_handler;
}

/* Handlers only while paused, only where the program had SIG_DFL. */
static void test_handlers_come_and_go(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);

    (void)state;
    signal(SIGHUP, SIG_IGN);
    assert_true(action_of(SIGTERM) == SIG_DFL);
    assert_int_equal(vmi_pause_vm(vmi), VMI_SUCCESS);
    assert_true(action_of(SIGTERM) != SIG_DFL);
    assert_true(action_of(SIGPIPE) != SIG_DFL);
    assert_true(action_of(SIGHUP) == SIG_IGN);
    assert_int_equal(vmi_resume_vm(vmi), VMI_SUCCESS);
    assert_true(action_of(SIGTERM) == SIG_DFL);
    assert_true(action_of(SIGPIPE) == SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    vmi_destroy(vmi);
}

/* How a child that paused the domain twice, then did `how`, ended; the
 * domain must be running afterwards whatever it was. */
static int child_status(int how)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        vmi_instance_t vmi;
        /* cmocka catches SEGV in tests; a sanitizer build keeps its own */
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);
        vmi = open_name("target", 0);
        if (!vmi || vmi_pause_vm(vmi) || vmi_pause_vm(vmi))
            _exit(99);
        if (how == 0)
            exit(0);           /* no vmi_destroy: the exit hook */
        if (how < 0)
            raise(SIGSEGV);    /* a crash */
        raise(how);
        _exit(98);             /* not reached */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_never_left_paused(void **state)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT };
    int st;

    (void)state;
    st = child_status(0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(fx->pauses, 0);
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        st = child_status(sigs[i]);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), sigs[i]);
        assert_int_equal(fx->pauses, 0);
    }
    st = child_status(-1);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    assert_int_equal(fx->pauses, 0);
}

/* A forked child inherits the hooks but must not unpause the parent's
 * domain when it exits. */
static void test_fork_child_leaves_it(void **state)
{
    vmi_instance_t vmi = open_name("target", 0);
    pid_t pid;
    int st;

    (void)state;
    assert_int_equal(vmi_pause_vm(vmi), VMI_SUCCESS);
    pid = fork();
    if (pid == 0)
        exit(0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(fx->pauses, 1);
    vmi_destroy(vmi);
    assert_int_equal(fx->pauses, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_open_by_name, setup),
        cmocka_unit_test_setup(test_open_by_id_and_kinds, setup),
        cmocka_unit_test_setup(test_not_found, setup),
        cmocka_unit_test_setup(test_refusals, setup),
        cmocka_unit_test_setup(test_target_check, setup),
        cmocka_unit_test_setup(test_domctl_versions, setup),
        cmocka_unit_test_setup(test_reads_and_holes, setup),
        cmocka_unit_test_setup(test_readahead, setup),
        cmocka_unit_test_setup(test_clusters, setup),
        cmocka_unit_test_setup(test_pv_machine_frames, setup),
        cmocka_unit_test_setup(test_map_frames, setup),
        cmocka_unit_test_setup(test_ranges, setup),
        cmocka_unit_test_setup(test_dump_round_trip, setup),
        cmocka_unit_test_setup(test_writes, setup),
        cmocka_unit_test_setup(test_registers, setup),
        cmocka_unit_test_setup(test_all_registers, setup),
        cmocka_unit_test_setup(test_name_and_id, setup),
        cmocka_unit_test_setup(test_pause_nesting, setup),
        cmocka_unit_test_setup(test_handlers_come_and_go, setup),
        cmocka_unit_test_setup(test_never_left_paused, setup),
        cmocka_unit_test_setup(test_fork_child_leaves_it, setup),
    };

    if (!&tvmi_driver_xen) {
        printf("test_xen_driver: the Xen driver is not built in; skipped\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    printf("test_xen_driver: no Xen headers (libxen-dev); skipped\n");
    return 0;
}

#endif
