/*
 * What the appliance does for dom0: open its one target with the
 * appliance-xen driver, find Linux in it from memory alone, then run a
 * task (ps, modules, info) once, or serve commands until told to stop.
 * Every answer goes to the console as text and to xenstore as JSON lines.
 */
#include "app.h"
#include "appliance.h"
#include "xen.h"
#include "common/walkread.h"

#define SERVE_POLL_MS 50u

static uint64_t ms_since(uint64_t t0) { return (uk_now_ns() - t0) / 1000000; }

static void report_error(unsigned seq, const char *what, const char *why)
{
    printk("error: %s: %s\n", what, why);
    out_begin("error", seq);
    out_str("while", what);
    out_str("message", why);
    out_end();
    out_flush();
}

/* The command line's "ranges=0-10000000,feff8000-ff000000" (hex). */
static void parse_ranges(const char *s)
{
    while (s && *s && ax_hint.nranges < AX_MAX_RANGES) {
        char *end;
        addr_t a = strtoull(s, &end, 16), b;

        if (*end != '-')
            break;
        b = strtoull(end + 1, &end, 16);
        if (b > a)
            ax_hint.ranges[ax_hint.nranges++] = (struct tvmi_mem_range){ a, b };
        if (*end != ',')
            break;
        s = end + 1;
    }
}

static int task_ps(vmi_instance_t vmi, unsigned seq)
{
    tvmi_linux_task_t *t = NULL;
    size_t n = 0;
    int partial = 0;
    uint64_t t0 = uk_now_ns();

    uint64_t walk_ms;

    if (tvmi_linux_tasks(vmi, &t, &n, &partial) != VMI_SUCCESS) {
        report_error(seq, "listing processes", tvmi_last_error(vmi));
        return 1;
    }
    walk_ms = ms_since(t0);
    /* dom0 first: the console is a 2 KiB ring that xenconsoled drains at
     * its own pace, and a listing takes several fills of it. */
    for (size_t i = 0; i < n; i++) {
        char state[2] = { t[i].state_letter, 0 };

        out_begin("process", seq);
        out_i64("pid", t[i].tgid);
        out_i64("tid", t[i].pid);
        out_i64("ppid", t[i].ppid);
        out_i64("uid", t[i].uid == ~0u ? -1 : (int64_t)t[i].uid);
        out_str("comm", t[i].comm);
        out_str("state", state);
        out_bool("kernel_thread", t[i].kernel_thread);
        out_hex("dtb", t[i].dtb);
        out_hex("task", t[i].task);
        out_end();
    }
    out_begin("done", seq);
    out_str("task", "ps");
    out_u64("count", n);
    out_bool("partial", partial);
    if (partial)
        out_str("why", tvmi_last_error(vmi));
    out_u64("ms", walk_ms);
    out_u64("output_ms", ms_since(t0) - walk_ms);
    out_end();
    out_flush();
    printk("%7s %7s %7s %5s S %-16s %s\n", "PID", "TID", "PPID", "UID", "COMM", "DTB");
    for (size_t i = 0; i < n; i++)
        printk("%7d %7d %7d %5d %c %-16s 0x%llx%s\n", (int)t[i].tgid,
               (int)t[i].pid, (int)t[i].ppid,
               t[i].uid == ~0u ? -1 : (int)t[i].uid, t[i].state_letter,
               t[i].comm, (unsigned long long)t[i].dtb,
               t[i].kernel_thread ? " [kernel]" : "");
    free(t);
    printk("ps: %zu tasks%s in %llu ms\n", n, partial ? " (partial)" : "",
           (unsigned long long)ms_since(t0));
    return partial;
}

static int task_modules(vmi_instance_t vmi, unsigned seq)
{
    tvmi_linux_module_t *m = NULL;
    size_t n = 0;
    int partial = 0;
    uint64_t t0 = uk_now_ns();

    if (tvmi_linux_modules(vmi, &m, &n, &partial) != VMI_SUCCESS) {
        report_error(seq, "listing modules", tvmi_last_error(vmi));
        return 1;
    }
    uint64_t walk_ms = ms_since(t0);

    for (size_t i = 0; i < n; i++) {
        out_begin("module", seq);
        out_str("name", m[i].name);
        out_hex("base", m[i].base);
        out_u64("size", m[i].size);
        out_u64("state", (uint64_t)m[i].state);
        out_end();
    }
    out_begin("done", seq);
    out_str("task", "modules");
    out_u64("count", n);
    out_bool("partial", partial);
    out_u64("ms", walk_ms);
    out_end();
    out_flush();
    for (size_t i = 0; i < n; i++)
        printk("%-24s 0x%llx %llu\n", m[i].name, (unsigned long long)m[i].base,
               (unsigned long long)m[i].size);
    free(m);
    return partial;
}

static void describe_linux(vmi_instance_t vmi, unsigned seq, uint64_t init_ms)
{
    tvmi_linux_info_t *li = calloc(1, sizeof *li);

    if (!li || tvmi_linux_get_info(vmi, li) != VMI_SUCCESS) {
        free(li);
        return;
    }
    printk("linux: %s\n", li->banner);
    printk("linux: _text %#llx (slide %#llx), %d-level paging, root %#llx, "
           "%zu symbols, BTF %zu bytes; found in %llu ms\n",
           (unsigned long long)li->text_va, (unsigned long long)li->virt_slide,
           li->paging_levels, (unsigned long long)li->kdtb, li->num_syms,
           li->btf_size, (unsigned long long)init_ms);
    out_begin("linux", seq);
    out_str("banner", li->banner);
    out_str("release", li->release);
    out_hex("text_va", li->text_va);
    out_hex("text_pa", li->text_pa);
    out_i64("virt_slide", li->virt_slide);
    out_i64("phys_slide", li->phys_slide);
    out_hex("kdtb", li->kdtb);
    out_i64("paging_levels", li->paging_levels);
    out_u64("symbols", li->num_syms);
    out_u64("btf_bytes", li->btf_size);
    out_u64("init_ms", init_ms);
    out_end();
    free(li);
}

static void report_stats(unsigned seq)
{
    struct uk_clock_stats clock;

    uk_clock_get_stats(&clock);
    out_begin("stats", seq);
    out_u64("map_calls", ax_stats.map_calls);
    out_u64("frames_mapped", ax_stats.frames_mapped);
    out_u64("unmap_calls", ax_stats.unmap_calls);
    out_u64("unmap_failures", ax_stats.unmap_failures);
    out_u64("heap_free_pages", uk_pages_free_count());
    out_u64("clock_tsc_behind", clock.tsc_behind);
    out_u64("clock_went_back", clock.went_back);
    out_end();
}

/* ---- watch: changes reported as they are found ------------------------------- */

struct watch_ctx {
    unsigned seq;
    unsigned long events;
};

/* The library says which fields (the same as `tinyvmi watch --json`);
 * these put them on the current result line. */
static void sink_str(void *c, const char *k, const char *v) { (void)c; out_str(k, v); }
static void sink_null(void *c, const char *k) { (void)c; out_null(k); }
static void sink_u64(void *c, const char *k, uint64_t v) { (void)c; out_u64(k, v); }
static void sink_hex(void *c, const char *k, uint64_t v) { (void)c; out_hex(k, v); }
static void sink_bool(void *c, const char *k, int v) { (void)c; out_bool(k, v != 0); }
static void sink_bytes(void *c, const char *k, const uint8_t *b, size_t n) { (void)c; out_bytes(k, b, n); }
static void sink_names(void *c, const char *k, const char *v) { (void)c; out_names(k, v); }

static const tvmi_field_sink_t out_sink = {
    .str = sink_str, .null = sink_null, .u64 = sink_u64, .hex = sink_hex,
    .boolean = sink_bool, .bytes = sink_bytes, .names = sink_names,
};

static void on_event(const tvmi_watch_event_t *ev, void *arg)
{
    struct watch_ctx *c = arg;
    char line[512];

    c->events++;
    out_begin("event", c->seq);
    out_str("event", tvmi_watch_kind_name(ev->kind));
    tvmi_watch_event_fields(ev, &out_sink);
    out_end();
    tvmi_watch_event_text(ev, line, sizeof line);
    printk("watch: %s\n", line);
}

static bool watch_sleep(unsigned interval_ms)
{
    char cmd[64];
    uint64_t end = uk_now_ns() + interval_ms * 1000000ull;

    while (uk_now_ns() < end) {
        if (out_poll_command(cmd, sizeof cmd) && !strcmp(cmd, "stop"))
            return false;
        uk_sleep_ms(SERVE_POLL_MS);
    }
    return true;
}

static int task_watch(vmi_instance_t vmi, const struct app_args *args)
{
    struct watch_ctx c = { .seq = 1 };
    tvmi_watch_summary_t sum;
    tvmi_linux_watch_t *w = tvmi_linux_watch_new(vmi, TVMI_WATCH_ALL);
    char why[160];
    int status = 0;

    if (!w) {
        report_error(1, "taking the watch baseline", tvmi_last_error(vmi));
        return 1;
    }
    tvmi_linux_watch_summary(w, &sum);
    out_begin("baseline", 1);
    tvmi_watch_summary_fields(&sum, &out_sink);
    out_u64("interval_ms", args->interval_ms);
    out_end();
    out_flush();
    out_state("watching");
    printk("watch: baseline: %zu tasks, %zu modules, text %#llx-%#llx (%zu blocks, "
           "%zu bytes of hashes), %u syscalls; every %u ms\n", sum.tasks, sum.modules,
           (unsigned long long)sum.text_start, (unsigned long long)sum.text_end,
           sum.text_blocks, sum.hash_bytes, sum.syscalls, args->interval_ms);
    for (unsigned n = 0; !args->count || n < args->count; n++) {
        uint64_t t0;

        if (!watch_sleep(args->interval_ms))
            break;
        if (!ax_target_alive(vmi, why, sizeof why)) {
            report_error(1, "the target", why);
            status = 2;
            break;
        }
        t0 = uk_now_ns();
        if (tvmi_linux_watch_check(vmi, w, on_event, &c) != VMI_SUCCESS) {
            report_error(1, "checking", tvmi_last_error(vmi));
            status = 1;
            break;
        }
        out_begin("check", 1);
        out_u64("n", n + 1);
        out_u64("ms", ms_since(t0));
        out_u64("events", c.events);
        out_end();
        out_flush();
    }
    tvmi_linux_watch_free(w);
    return status;
}

/* The same walk + read measurement as xen-labtool walkread in dom0. */
static int task_bench(vmi_instance_t vmi, unsigned seq)
{
    struct walkread_result r;

    if (walkread_run(vmi, 200, uk_now_ns, &r) != 0) {
        report_error(seq, "bench", "the kernel's _text or page_offset_base is unknown");
        return 1;
    }
    printk("bench: walk + 4 KiB read: %llu ns (frames mapped), %llu ns (new frames)\n",
           (unsigned long long)r.cached_median_ns, (unsigned long long)r.new_median_ns);
    out_begin("bench", seq);
    out_u64("samples", r.n);
    out_u64("walkread_cached_ns", r.cached_median_ns);
    out_u64("walkread_new_ns", r.new_median_ns);
    out_u64("new_samples", r.new_n);
    out_end();
    out_begin("done", seq);
    out_str("task", "bench");
    out_u64("count", r.n);
    out_bool("partial", false);
    out_u64("ms", 0);
    out_end();
    return 0;
}

/* Runs one command; false when the appliance should stop. */
static bool run_command(vmi_instance_t vmi, const char *cmd, unsigned seq,
                        int *status, uint64_t init_ms)
{
    char why[160];

    out_state("%s", cmd);
    if (!strcmp(cmd, "ps"))
        *status = task_ps(vmi, seq);
    else if (!strcmp(cmd, "modules"))
        *status = task_modules(vmi, seq);
    else if (!strcmp(cmd, "info") || !strcmp(cmd, "stats")) {
        if (!strcmp(cmd, "info"))
            describe_linux(vmi, seq, init_ms);
        else
            report_stats(seq);
        out_begin("done", seq);
        out_str("task", cmd);
        out_u64("count", 1);
        out_bool("partial", false);
        out_u64("ms", 0);
        out_end();
    }
    else if (!strcmp(cmd, "bench"))
        *status = task_bench(vmi, seq);
    else if (!strcmp(cmd, "stop"))
        return false;
    else
        report_error(seq, cmd, "unknown command (ps, modules, info, stats, bench, stop)");
    if (*status && !ax_target_alive(vmi, why, sizeof why)) {
        report_error(seq, "the target", why);
        return false;
    }
    out_flush();
    return true;
}

/* Commands from dom0 until "stop" or the target goes away. */
static int serve(vmi_instance_t vmi, uint64_t init_ms)
{
    char cmd[200], why[160];
    unsigned seq, idle = 0;
    int status = 0;

    out_state("ready");
    printk("serving commands from xenstore data/tinyvmi/cmd\n");
    for (;;) {
        seq = out_poll_command(cmd, sizeof cmd);
        if (seq) {
            if (!run_command(vmi, cmd, seq, &status, init_ms))
                break;
            out_state("ready");
            continue;
        }
        /* Every few seconds, whether the target is still there. */
        if (++idle % (2000 / SERVE_POLL_MS) == 0 &&
            !ax_target_alive(vmi, why, sizeof why)) {
            report_error(0, "the target", why);
            status = 2;
            break;
        }
        uk_sleep_ms(SERVE_POLL_MS);
    }
    return status;
}

int app_run(const struct app_args *args)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    uint64_t t0 = uk_now_ns(), init_ms;
    int status = 0;

    parse_ranges(args->ranges);
    if (!out_init())
        printk("results: no xenstore, console only\n");
    out_state("opening domain %s", args->target);
    if (vmi_init(&vmi, VMI_XEN, args->target, VMI_INIT_DOMAINNAME, NULL,
                 &err) != VMI_SUCCESS) {
        report_error(0, "opening the target", tvmi_init_error_message());
        out_state("error");
        out_wait_read(30000);
        return 2;
    }
    if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err) != VMI_OS_LINUX) {
        report_error(0, "finding Linux in the target's memory", tvmi_last_error(vmi));
        out_state("error");
        vmi_destroy(vmi);
        out_wait_read(30000);
        return 2;
    }
    init_ms = ms_since(t0);
    describe_linux(vmi, 0, init_ms);
    report_stats(0);
    if (!strcmp(args->task, "serve"))
        status = serve(vmi, init_ms);
    else if (!strcmp(args->task, "watch"))
        status = task_watch(vmi, args);
    else
        run_command(vmi, args->task, 1, &status, init_ms);
    report_stats(0);
    out_state(status ? "failed" : "done");
    vmi_destroy(vmi);
    out_wait_read(30000);
    return status;
}
