/*
 * xen-labtool: the live checks of the Xen driver that the tinyvmi command
 * cannot make. Runs as root in the lab's dom0, driven by tests/lab/run-all.
 *
 *   xen-labtool nest DOMAIN      pause/resume nesting, checked with `xl list`
 *   xen-labtool hold DOMAIN      pause twice, say "held", wait to be killed
 *   xen-labtool exit DOMAIN      pause, then exit() without vmi_destroy
 *   xen-labtool regs DOMAIN      register write/read back while paused, restored
 *   xen-labtool write DOMAIN VA  a memory write a second instance sees, restored
 *   xen-labtool ranges DOMAIN    the fast and the full frame scan: agree? times
 *   xen-labtool readall DOMAIN   read every populated frame: MiB/s, no file
 *   xen-labtool random DOMAIN N  N maps at random gfns, 1 and 16 frames: ms each
 *   xen-labtool osinit DOMAIN    vmi_init_complete, zero-config: time, map calls
 *   xen-labtool ps DOMAIN        a warm process list by phase: open, hinted
 *                                Linux start, task walk: ms and map calls
 *   xen-labtool dfl CMD...       runs CMD with SIGINT and SIGQUIT at SIG_DFL
 *   xen-labtool walkloop DOMAIN S  task walks for S seconds while the script
 *                                pauses, reboots or destroys the target
 *
 * Prints "ok: ..." and "FAIL: ..." lines (and "range", "bench" lines);
 * exit status 0 when nothing failed, 1 otherwise, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/xen/xen.h"
#include "common/walkread.h"
#include "tinyvmi/linux.h"

static int failures;

static void check(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
    va_list ap;

    printf("%s: ", ok ? "ok" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    failures += !ok;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static vmi_instance_t open_domain(const char *dom, uint64_t flags)
{
    static uint64_t domid;
    const void *arg = dom;
    vmi_instance_t vmi;
    char *end;

    domid = strtoull(dom, &end, 10);
    if (*dom && !*end) {
        arg = &domid;
        flags |= VMI_INIT_DOMAINID;
    } else {
        flags |= VMI_INIT_DOMAINNAME;
    }
    if (vmi_init(&vmi, VMI_XEN, arg, flags, NULL, NULL) != VMI_SUCCESS) {
        printf("FAIL: opening %s: %s\n", dom, tvmi_init_error_message());
        exit(1);
    }
    return vmi;
}

/* 1 paused, 0 not, -1 when xl does not say. Column 5 of `xl list` is the
 * state, "--p---" when paused. */
static int xl_paused(const char *dom)
{
    char cmd[256], line[512], state[32] = "";
    FILE *p;

    snprintf(cmd, sizeof cmd, "xl list %s 2>/dev/null", dom);
    if (!(p = popen(cmd, "r")))
        return -1;
    while (fgets(line, sizeof line, p))
        if (strncmp(line, "Name", 4))
            sscanf(line, "%*s %*s %*s %*s %31s", state);
    pclose(p);
    return strlen(state) >= 3 ? state[2] == 'p' : -1;
}

/* ---- pause ------------------------------------------------------------ */

static int do_nest(const char *dom)
{
    vmi_instance_t vmi = open_domain(dom, 0);

    check(xl_paused(dom) == 0, "running before the test");
    check(vmi_pause_vm(vmi) == VMI_SUCCESS && xl_paused(dom) == 1,
          "paused after 1 pause");
    check(vmi_pause_vm(vmi) == VMI_SUCCESS && xl_paused(dom) == 1,
          "paused after 2 pauses");
    check(vmi_resume_vm(vmi) == VMI_SUCCESS && xl_paused(dom) == 1,
          "still paused after 2 pauses, 1 resume");
    check(vmi_resume_vm(vmi) == VMI_SUCCESS && xl_paused(dom) == 0,
          "running after 2 pauses, 2 resumes");
    {
        bool refused = vmi_resume_vm(vmi) == VMI_FAILURE;
        check(refused && strstr(tvmi_last_error(vmi), "has not paused it"),
              "an extra resume fails: %s", tvmi_last_error(vmi));
    }
    check(xl_paused(dom) == 0, "and leaves it running");
    check(vmi_pause_vm(vmi) == VMI_SUCCESS && xl_paused(dom) == 1,
          "paused again");
    vmi_destroy(vmi);
    check(xl_paused(dom) == 0, "running after vmi_destroy of a paused instance");
    return failures != 0;
}

/* A background job of a non-interactive shell starts with SIGINT and
 * SIGQUIT ignored; a tool run from a terminal has them at SIG_DFL. */
static int do_hold(const char *dom)
{
    vmi_instance_t vmi;

    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    vmi = open_domain(dom, 0);
    if (vmi_pause_vm(vmi) || vmi_pause_vm(vmi)) {
        printf("FAIL: pausing: %s\n", tvmi_last_error(vmi));
        return 1;
    }
    printf("held\n");
    fflush(stdout);
    for (;;)
        pause();
}

static int do_exit(const char *dom)
{
    vmi_instance_t vmi = open_domain(dom, 0);

    if (vmi_pause_vm(vmi)) {
        printf("FAIL: pausing: %s\n", tvmi_last_error(vmi));
        return 1;
    }
    check(xl_paused(dom) == 1, "paused before exit()");
    exit(0);
}

/* ---- writes ---------------------------------------------------------------- */

static int do_regs(const char *dom)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    uint64_t r15, cr3, v = 0, cr3b = 0;
    const uint64_t flip = 0x5a5a5a5a00000000ull;
    bool done;

    if (vmi_pause_vm(vmi) || vmi_get_vcpureg(vmi, &r15, R15, 0) ||
        vmi_get_vcpureg(vmi, &cr3, CR3, 0)) {
        printf("FAIL: reading registers: %s\n", tvmi_last_error(vmi));
        return 1;
    }
    done = vmi_set_vcpureg(vmi, r15 ^ flip, R15, 0) == VMI_SUCCESS;
    check(done, "R15 written while paused (%s)", done ? "ok" : tvmi_last_error(vmi));
    done = vmi_get_vcpureg(vmi, &v, R15, 0) == VMI_SUCCESS;
    check(done && v == (r15 ^ flip), "R15 reads back 0x%llx (wrote 0x%llx)",
          (unsigned long long)v, (unsigned long long)(r15 ^ flip));
    done = vmi_get_vcpureg(vmi, &cr3b, CR3, 0) == VMI_SUCCESS;
    check(done && cr3b == cr3, "CR3 unchanged by the write (0x%llx)",
          (unsigned long long)cr3b);
    done = vmi_set_vcpureg(vmi, r15, R15, 0) == VMI_SUCCESS &&
           vmi_get_vcpureg(vmi, &v, R15, 0) == VMI_SUCCESS;
    check(done && v == r15, "R15 restored to 0x%llx", (unsigned long long)v);
    done = vmi_set_vcpureg(vmi, 0, XCR0, 0) == VMI_FAILURE;
    check(done, "a register Xen does not give is refused: %s", tvmi_last_error(vmi));
    done = vmi_resume_vm(vmi) == VMI_SUCCESS;
    check(done && xl_paused(dom) == 0, "running again");
    vmi_destroy(vmi);
    return failures != 0;
}

static void swap_case(unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((b[i] | 0x20) >= 'a' && (b[i] | 0x20) <= 'z')
            b[i] ^= 0x20;
}

/* What a fresh instance, with its own mappings, reads at pa. */
static bool fresh_read(const char *dom, addr_t pa, void *buf, size_t n)
{
    vmi_instance_t b = open_domain(dom, 0);
    bool ok = vmi_read_pa(b, pa, n, buf, NULL) == VMI_SUCCESS;
    vmi_destroy(b);
    return ok;
}

static int do_write(const char *dom, const char *va_s)
{
    vmi_instance_t vmi = open_domain(dom, TVMI_INIT_WRITE);
    addr_t va = strtoull(va_s, NULL, 0), pa;
    unsigned char orig[32], mod[32], seen[33] = "";
    bool done;

    if (vmi_translate_kv2p(vmi, va, &pa) || vmi_read_pa(vmi, pa, 32, orig, NULL)) {
        printf("FAIL: reading VA %s: %s\n", va_s, tvmi_last_error(vmi));
        return 1;
    }
    memcpy(mod, orig, sizeof mod);
    swap_case(mod, sizeof mod);
    done = vmi_write_va(vmi, va, 0, sizeof mod, mod, NULL) == VMI_SUCCESS;
    check(done, "32 bytes written at VA %s (PA 0x%llx)%s%s", va_s,
          (unsigned long long)pa, done ? "" : ": ", done ? "" : tvmi_last_error(vmi));
    done = fresh_read(dom, pa, seen, 32) && !memcmp(seen, mod, sizeof mod);
    check(done, "a second instance reads the new bytes: %.32s", (char *)seen);
    done = vmi_write_pa(vmi, pa, sizeof orig, orig, NULL) == VMI_SUCCESS &&
           fresh_read(dom, pa, seen, 32) && !memcmp(seen, orig, sizeof orig);
    check(done, "restored: %.32s", (char *)seen);
    vmi_destroy(vmi);
    vmi = open_domain(dom, 0);
    done = vmi_write_pa(vmi, pa, 1, orig, NULL) == VMI_FAILURE;
    check(done, "a read-only instance refuses writes: %s", tvmi_last_error(vmi));
    vmi_destroy(vmi);
    return failures != 0;
}

/* ---- ranges and speed --------------------------------------------------------- */

static uint64_t frames_in(const struct xen *x)
{
    uint64_t n = 0;
    for (size_t i = 0; i < x->nranges; i++)
        n += (x->ranges[i].end - x->ranges[i].start) >> TVMI_PAGE_SHIFT;
    return n;
}

static int do_ranges(const char *dom)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    struct xen *x = vmi->drv_data;
    struct tvmi_mem_range *fast;
    size_t nfast;
    double t0, t1, t2;

    t0 = now_s();
    if (xen_scan_ranges(vmi, false)) {
        printf("FAIL: fast scan: %s\n", tvmi_last_error(vmi));
        return 1;
    }
    t1 = now_s();
    nfast = x->nranges;
    fast = malloc(nfast * sizeof *fast);
    memcpy(fast, x->ranges, nfast * sizeof *fast);
    check(frames_in(x) == x->tot_pages + x->shared_frames,
          "fast scan: %zu ranges, %llu frames: tot_pages %llu + %llu of Xen's "
          "found in gaps", nfast, (unsigned long long)frames_in(x),
          (unsigned long long)x->tot_pages, (unsigned long long)x->shared_frames);
    if (xen_scan_ranges(vmi, true)) {
        printf("FAIL: full scan: %s\n", tvmi_last_error(vmi));
        return 1;
    }
    t2 = now_s();
    check(x->nranges == nfast && !memcmp(fast, x->ranges, nfast * sizeof *fast),
          "the full scan (up to gfn 0x%llx) finds the same ranges",
          (unsigned long long)x->max_gfn);
    printf("bench: scan_fast_ms=%.1f scan_full_ms=%.1f max_gfn=0x%llx "
           "domctl_version=0x%x\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3,
           (unsigned long long)x->max_gfn, x->domctl_version);
    for (size_t i = 0; i < x->nranges; i++)
        printf("range 0x%llx 0x%llx\n", (unsigned long long)x->ranges[i].start,
               (unsigned long long)x->ranges[i].end);
    free(fast);
    vmi_destroy(vmi);
    return failures != 0;
}

static int do_readall(const char *dom)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    size_t n = vmi->drv->get_ranges(vmi, NULL, 0);
    struct tvmi_mem_range *r = calloc(n + 1, sizeof *r);
    size_t chunk = 1 << 20;
    unsigned char *buf = malloc(chunk);
    uint64_t bytes = 0, sum = 0;
    double t0 = now_s(), t;

    n = vmi->drv->get_ranges(vmi, r, n);
    for (size_t i = 0; i < n; i++)
        for (addr_t pa = r[i].start; pa < r[i].end; pa += chunk) {
            size_t len = r[i].end - pa < chunk ? r[i].end - pa : chunk;
            if (vmi_read_pa(vmi, pa, len, buf, NULL)) {
                check(false, "reading PA 0x%llx: %s", (unsigned long long)pa,
                      tvmi_last_error(vmi));
                return 1;
            }
            sum += buf[len - 1];
            bytes += len;
        }
    t = now_s() - t0;
    check(bytes >= vmi_get_memsize(vmi), "read all %llu bytes of %zu ranges "
          "(memsize %llu)", (unsigned long long)bytes, n,
          (unsigned long long)vmi_get_memsize(vmi));
    printf("bench: readall_mib=%.1f readall_s=%.2f readall_mib_s=%.1f (%llu)\n",
           bytes / 1048576.0, t, bytes / 1048576.0 / t, (unsigned long long)sum);
    vmi_destroy(vmi);
    return failures != 0;
}

/* A random populated gfn, 16-aligned when aligned (xorshift: repeatable). */
static addr_t random_gfn(const struct tvmi_mem_range *r, size_t n, bool aligned)
{
    static uint64_t x = 88172645463325252ull;
    const struct tvmi_mem_range *p;
    addr_t frames, gfn;

    do {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p = &r[x % n];
        frames = (p->end - p->start) >> TVMI_PAGE_SHIFT;
        gfn = (p->start >> TVMI_PAGE_SHIFT) + (x >> 20) % frames;
        if (aligned)
            gfn &= ~(addr_t)15;
    } while (aligned && ((gfn + 16) << TVMI_PAGE_SHIFT > p->end ||
                         gfn << TVMI_PAGE_SHIFT < p->start));
    return gfn;
}

/* The cost of one map call by its size: what a random access pays. */
static int do_random(const char *dom, unsigned count)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    size_t n = vmi->drv->get_ranges(vmi, NULL, 0);
    struct tvmi_mem_range *r = calloc(n + 1, sizeof *r);
    unsigned done = 0, done16 = 0;
    double t0, t1;

    n = vmi->drv->get_ranges(vmi, r, n);
    t0 = now_s();
    for (unsigned i = 0; i < count && n; i++) {
        void *page = vmi->drv->map_frame(vmi, random_gfn(r, n, false), false);
        if (page) {
            vmi->drv->unmap_frame(vmi, page);
            done++;
        }
    }
    t1 = now_s();
    for (unsigned i = 0; i < count && n; i++) {
        addr_t g = random_gfn(r, n, true), gfns[16];
        void *out[16];
        for (int k = 0; k < 16; k++)
            gfns[k] = g + (addr_t)k;
        if (vmi->drv->map_frames(vmi, gfns, 16, false, out) == VMI_SUCCESS && out[15]) {
            done16++;
            for (int k = 0; k < 16; k++)
                if (out[k])
                    vmi->drv->unmap_frame(vmi, out[k]);
        }
    }
    check(done == count && done16 == count, "%u + %u of %u random maps", done,
          done16, count);
    printf("bench: random_map_1_ms=%.3f random_map_16_ms=%.3f\n",
           (t1 - t0) * 1e3 / count, (now_s() - t1) * 1e3 / count);
    vmi_destroy(vmi);
    return failures != 0;
}

/* What the Linux layer's zero-config start costs, in time and map calls. */
static int do_osinit(const char *dom)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    struct xen *x = vmi->drv_data;
    double t0 = now_s();
    os_t os = vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, NULL);

    check(os == VMI_OS_LINUX, "zero-config OS init: %s",
          os == VMI_OS_LINUX ? "Linux" : tvmi_last_error(vmi));
    printf("bench: osinit_s=%.2f osinit_map_calls=%llu osinit_frames=%llu\n",
           now_s() - t0, (unsigned long long)x->map_calls,
           (unsigned long long)x->frames_mapped);
    vmi_destroy(vmi);
    return failures != 0;
}

/* Where a warm process list spends its time: opening the domain, the
 * Linux start with the hints a first start left (as the CLI's cache
 * gives them), and the task walk; each with its map calls. */
static int do_ps(const char *dom)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    struct xen *x;
    tvmi_linux_task_t *tasks = NULL;
    size_t hlen = 0, n = 0;
    char *hints = NULL;
    double t0, t1, t2, t3;
    uint64_t c1, c2;
    int partial = 0;

    if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, NULL) == VMI_OS_LINUX)
        hints = tvmi_linux_get_hints(vmi, &hlen);
    vmi_destroy(vmi);
    check(hints != NULL, "hints from a first Linux start");
    if (!hints)
        return 1;
    t0 = now_s();
    vmi = open_domain(dom, 0);
    x = vmi->drv_data;
    t1 = now_s();
    check(tvmi_linux_set_hints(vmi, hints, hlen) == VMI_SUCCESS &&
          vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, NULL) == VMI_OS_LINUX,
          "hinted Linux start: %s", tvmi_last_error(vmi));
    t2 = now_s();
    c1 = x->map_calls;
    check(tvmi_linux_tasks(vmi, &tasks, &n, &partial) == VMI_SUCCESS && n > 10,
          "task walk: %zu tasks %s", n, tvmi_last_error(vmi));
    t3 = now_s();
    c2 = x->map_calls;
    printf("bench: ps_cluster=%u open_ms=%.1f start_ms=%.1f start_map_calls=%llu "
           "walk_ms=%.1f walk_map_calls=%llu walk_frames=%llu tasks=%zu\n",
           XEN_CLUSTER, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (unsigned long long)c1,
           (t3 - t2) * 1e3, (unsigned long long)(c2 - c1),
           (unsigned long long)x->frames_mapped, n);
    free(tasks);
    free(hints);
    vmi_destroy(vmi);
    return failures != 0;
}

/* 1 when `xl list` shows domain id, 0 when not, -1 when it cannot tell. */
static int xl_has_domid(uint32_t id)
{
    char line[512];
    unsigned d;
    int found = 0;
    FILE *p = popen("xl list 2>/dev/null", "r");

    if (!p)
        return -1;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "%*s %u", &d) == 1 && d == id)
            found = 1;
    pclose(p);
    return found;
}

/* Walks the task list again and again on one instance for up to secs
 * seconds while the dom0 script pauses, reboots or destroys the target
 * under it; every other walk holds the domain paused, as a tool wanting a
 * consistent list would. Each walk must end: with the list, or failed
 * with a message. tvmi_target_check runs between walks, as a long-lived
 * tool's loop would; when it says the target is gone the loop ends, and
 * the old domain must then vanish from `xl list` (no frames of it left
 * mapped). Prints one "walkloop:" summary line. */
static int do_walkloop(const char *dom, unsigned secs)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    struct xen *x = vmi->drv_data;
    uint32_t id = x->domid;
    unsigned ok = 0, partial = 0, failed = 0, silent = 0, pauses = 0;
    char first[200] = "", gone[200] = "";
    double t0 = now_s(), t_gone = 0;

    check(vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, NULL) == VMI_OS_LINUX,
          "walkloop: Linux start: %s", tvmi_last_error(vmi));
    printf("walkloop: started on domain %u\n", id);
    fflush(stdout);
    for (unsigned i = 0; now_s() - t0 < secs; i++) {
        tvmi_linux_task_t *t = NULL;
        size_t n = 0;
        int part = 0;
        bool paused = (i & 1) && vmi_pause_vm(vmi) == VMI_SUCCESS;

        pauses += paused;
        if (tvmi_linux_tasks(vmi, &t, &n, &part) == VMI_SUCCESS) {
            ok += !part;
            partial += part;
        } else {
            failed++;
            silent += !tvmi_last_error(vmi)[0];
            if (!first[0])
                snprintf(first, sizeof first, "%s", tvmi_last_error(vmi));
        }
        free(t);
        if (paused)
            vmi_resume_vm(vmi);
        if (tvmi_target_check(vmi) != VMI_SUCCESS) {
            snprintf(gone, sizeof gone, "%s", tvmi_last_error(vmi));
            t_gone = now_s();
            break;
        }
    }
    printf("walkloop: walks ok=%u partial=%u failed=%u (paused for %u) in %.1f s; "
           "first failure: %s; gone: %s\n", ok, partial, failed, pauses,
           now_s() - t0, first[0] ? first : "none", gone[0] ? gone : "no");
    check(!silent, "walkloop: every failed walk said why (%u did not)", silent);
    if (gone[0]) {
        int there = 1;
        for (int k = 0; k < 40 && (there = xl_has_domid(id)) == 1; k++)
            usleep(250000);
        check(there == 0, "walkloop: domain %u %s %.1f s after we saw it go, "
              "instance still open", id, there ? "still listed" : "gone from xl list",
              now_s() - t_gone);
    }
    vmi_destroy(vmi);
    return failures != 0;
}

static uint64_t clock_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* bench/common/walkread.c, as the appliance runs it ("exec bench"). */
static int do_walkread(const char *dom, unsigned n)
{
    vmi_instance_t vmi = open_domain(dom, 0);
    struct walkread_result r;
    os_t os = vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, NULL);
    int rc = os == VMI_OS_LINUX ? walkread_run(vmi, n, clock_ns, &r) : -1;

    check(rc == 0 && r.n == n && r.new_n == n, "walk + 4 KiB read: %u + %u of %u",
          rc ? 0 : r.n, rc ? 0 : r.new_n, n);
    if (rc == 0)
        printf("bench: dom0_walkread_cached_us=%.1f dom0_walkread_new_us=%.1f\n",
               r.cached_median_ns / 1e3, r.new_median_ns / 1e3);
    vmi_destroy(vmi);
    return failures != 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 2 ? argv[1] : "";

    /* dfl CMD...: CMD as a terminal starts it, SIGINT and SIGQUIT at
     * SIG_DFL (see do_hold), for signal tests of the tinyvmi command. */
    if (!strcmp(cmd, "dfl")) {
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        return 127;
    }

    if (!strcmp(cmd, "nest"))
        return do_nest(argv[2]);
    if (!strcmp(cmd, "hold"))
        return do_hold(argv[2]);
    if (!strcmp(cmd, "exit"))
        return do_exit(argv[2]);
    if (!strcmp(cmd, "regs"))
        return do_regs(argv[2]);
    if (!strcmp(cmd, "write") && argc > 3)
        return do_write(argv[2], argv[3]);
    if (!strcmp(cmd, "ranges"))
        return do_ranges(argv[2]);
    if (!strcmp(cmd, "readall"))
        return do_readall(argv[2]);
    if (!strcmp(cmd, "walkloop") && argc > 3)
        return do_walkloop(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
    if (!strcmp(cmd, "ps"))
        return do_ps(argv[2]);
    if (!strcmp(cmd, "osinit"))
        return do_osinit(argv[2]);
    if (!strcmp(cmd, "random") && argc > 3)
        return do_random(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
    if (!strcmp(cmd, "walkread") && argc > 3)
        return do_walkread(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
    fprintf(stderr, "usage: xen-labtool nest|hold|exit|regs|ranges|readall|"
                    "osinit|ps DOMAIN | write DOMAIN VA | random|walkread|walkloop DOMAIN N\n");
    return 2;
}
