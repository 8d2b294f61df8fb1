/*
 * The appliance's self-test (task=selftest, the default without a target):
 * say what we booted on, ask xenstore who we are, prove the allocators and
 * the freestanding core work here, and power off. Each check prints
 * "ok: ..." or "FAIL: ..."; the exit status (clean poweroff or crash) says
 * whether all passed.
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"
#include "private.h"
#include "app.h"

static int failures;

static void check(bool ok, const char *what)
{
    printk("%s: %s\n", ok ? "ok" : "FAIL", what);
    failures += !ok;
}

void appliance_banner(void)
{
    char extra[XEN_EXTRAVERSION_LEN] = "";
    long v;

    printk("tinyvmi appliance: C entry reached\n");
    printk("cmdline: \"%s\"%s\n", uk_boot.cmdline,
           uk_boot.cmdline_truncated ? " (truncated)" : "");
    printk("memory: %llu KiB RAM in %u map entries, top of RAM %llu MiB "
           "(map from %s)\n", (unsigned long long)(uk_ram_bytes() >> 10),
           uk_boot.nmem, (unsigned long long)((uk_ram_top() + (1 << 20) - 1) >> 20),
           uk_boot.memmap_source);
    for (unsigned i = 0; i < uk_boot.nmem; i++)
        printk("  [0x%010llx, 0x%010llx) type %u%s\n",
               (unsigned long long)uk_boot.mem[i].start,
               (unsigned long long)uk_boot.mem[i].end, uk_boot.mem[i].type,
               uk_boot.mem[i].type == 1 ? " RAM" : "");
    printk("start_info: version %u, rsdp %#llx\n", uk_boot.start_info_version,
           (unsigned long long)uk_boot.rsdp);
    if (!uk_xen.present) {
        printk("xen: not present (no XenVMMXenVMM CPUID leaves)\n");
    } else {
        v = xen_version(XENVER_version, NULL);
        xen_version(XENVER_extraversion, extra);
        extra[sizeof(extra) - 1] = '\0';
        printk("xen: %ld.%ld%s (CPUID leaves at %#x)\n", v >> 16, v & 0xffff,
               extra, uk_xen.cpuid_base);
    }
    printk("console: %s\n", uk_console_name());
}

/* Our fallback memory map must agree with the loader's on RAM. */
static void memmap_crosscheck(void)
{
    struct uk_mem_range r[UK_MEM_MAX];
    unsigned n;
    uint64_t ram = 0;

    if (!uk_xen.present)
        return;
    n = uk_xen_memory_map(r, UK_MEM_MAX);
    for (unsigned i = 0; i < n; i++)
        if (r[i].type == 1)
            ram += r[i].end - r[i].start;
    printk("XENMEM_memory_map: %u entries, %llu KiB RAM\n", n,
           (unsigned long long)(ram >> 10));
    check(n > 0 && ram == uk_ram_bytes(),
          "XENMEM_memory_map (fallback) agrees with hvm_start_info on RAM");
}

/* Who we are, then a write, a read-back and a listing of our own home
 * (/local/domain/<domid>; its data/ is writable by the domain). */
static void whoami(void)
{
    char domid[16], name[128], home[48], back[16], list[512];
    int n;

    if (!uk_xen.present)
        return;
    if (uk_xs_read("domid", domid, sizeof(domid)) < 0)
        snprintf(domid, sizeof(domid), "? (%s)", uk_xs_error());
    if (uk_xs_read("name", name, sizeof(name)) < 0)
        snprintf(name, sizeof(name), "? (%s)", uk_xs_error());
    printk("xenstore: domid %s, name %s\n", domid, name);
    check(uk_xs_write("data/tinyvmi", "booted") == 0 &&
          uk_xs_read("data/tinyvmi", back, sizeof(back)) == 6 &&
          !strcmp(back, "booted"), "xenstore: write and read back data/tinyvmi");
    snprintf(home, sizeof(home), "/local/domain/%s", domid);
    n = uk_xs_directory(home, list, sizeof(list));
    printk("xenstore: %s has %d entries:", home, n);
    for (int i = 0, off = 0; i < n; i++, off += (int)strlen(list + off) + 1)
        printk(" %s", list + off);
    printk("\n");
    check(n > 0, "xenstore: directory of our home");
    check(uk_xs_read("no-such-node", back, sizeof(back)) < 0 &&
          !strcmp(uk_xs_error(), "ENOENT"), "xenstore: a missing node is ENOENT");
}

/* xorshift64: a reproducible stream for the stress test. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define SLOTS 64
struct slot { unsigned char *p; size_t n; unsigned char tag; };

static bool slot_intact(const struct slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i] != (unsigned char)(s->tag + i))
            return false;
    return true;
}

static void slot_fill(struct slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->p[i] = (unsigned char)(s->tag + i);
}

/* Random malloc/realloc/free with every block's contents checked. */
static bool heap_stress(void)
{
    struct slot s[SLOTS] = { 0 };
    bool ok = true;

    for (int op = 0; op < 20000 && ok; op++) {
        struct slot *x = &s[next_rand() % SLOTS];
        size_t n = next_rand() % (next_rand() % 8 ? 512 : 65536) + 1;

        ok = !x->p || slot_intact(x);
        if (!x->p) {
            x->p = malloc(n);
        } else if (next_rand() % 2) {
            unsigned char *q = realloc(x->p, n);

            if (q) /* the common prefix must have survived */
                for (size_t i = 0; i < (n < x->n ? n : x->n); i++)
                    ok &= q[i] == (unsigned char)(x->tag + i);
            x->p = q;
        } else {
            free(x->p);
            x->p = NULL;
            continue;
        }
        ok &= x->p != NULL && (uintptr_t)x->p % 16 == 0;
        x->n = n;
        x->tag = (unsigned char)next_rand();
        if (x->p)
            slot_fill(x);
    }
    for (int i = 0; i < SLOTS; i++) {
        ok &= !s[i].p || slot_intact(&s[i]);
        free(s[i].p);
    }
    return ok && uk_heap_check();
}

/* Allocates 1 MiB blocks until malloc says no: it must, within RAM. */
static bool heap_exhaustion(size_t *got)
{
    void *list = NULL, *p;

    *got = 0;
    while ((p = malloc(1 << 20)) != NULL) {
        *(void **)p = list;
        list = p;
        ++*got;
        if (*got > (uk_ram_bytes() >> 20))
            return false; /* more than we have: accounting is broken */
    }
    while (list) {
        p = *(void **)list;
        free(list);
        list = p;
    }
    return *got > 0 && uk_heap_check();
}

static bool pages_roundtrip(void)
{
    size_t before = uk_pages_free_count();
    unsigned char *p = uk_pages_alloc(3);
    bool ok = p && (uintptr_t)p % UK_PAGE_SIZE == 0;

    for (size_t i = 0; ok && i < 3 * UK_PAGE_SIZE; i++)
        ok = p[i] == 0;
    if (p)
        uk_pages_free(p, 3);
    return ok && uk_pages_free_count() == before;
}

static void allocator_selftest(void)
{
    struct uk_heap_stats st;
    size_t mib;
    bool pages, stress, exhaust;

    printk("pages: %zu free (%zu KiB) before the heap grows\n",
           uk_pages_free_count(), uk_pages_free_count() * 4);
    pages = pages_roundtrip();
    stress = heap_stress();
    exhaust = heap_exhaustion(&mib); /* after this the heap holds all RAM */
    uk_heap_stats(&st);
    printk("heap: %zu KiB arena, %zu bytes in use, %zu free blocks, "
           "%zu MiB before exhaustion\n", st.arena >> 10, st.in_use,
           st.free_blocks, mib);
    check(pages, "page allocator round trip");
    check(stress, "heap stress (20000 random malloc/realloc/free)");
    check(exhaust, "heap exhaustion returns NULL, then recovers");
    printk("allocator self-test: %s\n",
           pages && stress && exhaust ? "passed" : "FAILED");
}

/* ---- the core, run on the appliance's own memory ---------------------------- */

static status_t self_open(vmi_instance_t vmi, const void *domain,
                          uint64_t flags, vmi_init_error_t *err)
{
    vmi->memsize = uk_ram_bytes();
    vmi->max_pa = uk_ram_top();
    return VMI_SUCCESS;
}

/* Our own frames, identity-mapped: the page tables are in our image. */
static void *self_map(vmi_instance_t vmi, addr_t gfn, bool write)
{
    if (gfn >= vmi->max_pa >> 12) {
        tvmi_fail(vmi, "frame %#llx is beyond our RAM", (unsigned long long)gfn);
        return NULL;
    }
    return (void *)(uintptr_t)(gfn << 12);
}

static const struct tvmi_driver_ops self_driver = {
    .name = "self",
    .mode = VMI_FILE,
    .flags = TVMI_DRV_STABLE_MAPS,
    .open = self_open,
    .map_frame = self_map,
};

static const char marker[] = "tinyvmi reads its own memory";

static void core_selftest(void)
{
    vmi_instance_t vmi;
    vmi_init_error_t err;
    addr_t pa = 0;
    char buf[sizeof(marker)] = "";
    size_t got = 0;
    bool ok;

    if (tvmi_init_with_driver(&vmi, &self_driver, "self", 0, &err) != VMI_SUCCESS) {
        check(false, "core: instance on our own memory");
        return;
    }
    tvmi_set_kernel_dtb(vmi, read_cr3(), VMI_PM_IA32E);
    ok = vmi_translate_kv2p(vmi, (addr_t)(uintptr_t)marker, &pa) == VMI_SUCCESS &&
         pa == (addr_t)(uintptr_t)marker;
    check(ok, "core: 4-level walk of our page tables maps a VA to itself");
    ok = vmi_read_va(vmi, (addr_t)(uintptr_t)marker, 0, sizeof(marker), buf,
                     &got) == VMI_SUCCESS && got == sizeof(marker) &&
         !memcmp(buf, marker, sizeof(marker));
    check(ok, "core: vmi_read_va reads our own string");
    ok = vmi_translate_kv2p(vmi, 1ull << 40, &pa) != VMI_SUCCESS;
    printk("core: unmapped VA says: %s\n", tvmi_last_error(vmi));
    check(ok, "core: an unmapped VA fails with a reason");
    vmi_destroy(vmi);
}


/* Our clock against Xen's across a 100 ms sleep: it must move by the same
 * amount (a clock that stood still once hung the appliance), and agree
 * with Xen at the start. how: which way our clock was read. */
static void clock_check(const char *how)
{
    uint64_t x0, u0, x1, u1;
    long long skew, moved, xen_moved;

    x0 = uk_xen_now_ns();
    u0 = uk_now_ns();
    uk_sleep_ms(100);
    x1 = uk_xen_now_ns();
    u1 = uk_now_ns();
    skew = (long long)(u0 - x0);
    moved = (long long)(u1 - u0);
    xen_moved = (long long)(x1 - x0);
    printk("clock (%s): ours - Xen's %lld us; a 100 ms sleep: ours %lld us, Xen's %lld us\n",
           how, skew / 1000, moved / 1000, xen_moved / 1000);
    check(x0 && u0 && skew > -250000000 && skew < 250000000,
          "clock: agrees with Xen's within 250 ms");
    check(xen_moved >= 100000000 && moved >= 90000000 &&
          moved - xen_moved < 250000000 && xen_moved - moved < 250000000,
          "clock: a 100 ms sleep lasts >= 100 ms and both clocks see it");
}

int appliance_selftest(int argc, char **argv, uint64_t t_main)
{
    for (int i = 1; i < argc; i++)
        printk("argv[%d] = %s\n", i, argv[i]);
    whoami();
    memmap_crosscheck();
    allocator_selftest();
    core_selftest();
    if (uk_time_valid()) {
        clock_check("TSC");
        uk_clock_always_ask_xen(true);
        clock_check("asking Xen");
        uk_clock_always_ask_xen(false);
    }
    if (uk_time_valid())
        printk("time: C entry to main %llu us; Xen up %llu ms; wallclock %llu.%03llu\n",
               (unsigned long long)(uk_tsc_to_ns(t_main - uk_boot_tsc()) / 1000),
               (unsigned long long)(uk_now_ns() / 1000000),
               (unsigned long long)(uk_wallclock_ns() / 1000000000),
               (unsigned long long)(uk_wallclock_ns() / 1000000 % 1000));
    if (uk_xen.present) {
        struct uk_evtchn_stats ev;
        struct uk_clock_stats clock;

        uk_clock_get_stats(&clock);
        printk("clock: TSC behind Xen's stamp %lu times, Xen asked %lu times,"
               " %lu readings held back\n", clock.tsc_behind, clock.asked_xen,
               clock.went_back);

        uk_evtchn_get_stats(&ev);
        printk("events: %lu waits slept in %lu SCHEDOP_poll (%lu failed, last rc %ld)"
               " and %lu yields\n", ev.waits, ev.polls, ev.poll_errors,
               ev.last_error, ev.yields);
    }
    printk("tinyvmi appliance: %d failure%s, powering off\n", failures,
           failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
