/*
 * The Linux layer's start, cold and with discovery hints, side by side:
 * what a short command (tinyvmi ps) pays before its answer.
 *
 *   cold   vmi_init_os(TVMI_CONFIG_NONE) with no hints: scan, kallsyms,
 *          page tables, BTF header; then tvmi_linux_tasks (BTF index)
 *   warm   the same with the record the cold start produced given first
 *          (tvmi_linux_set_hints): checks against memory, no scan, no
 *          names decoded, no BTF index
 *
 * each on two drivers wrapping the snapshot driver:
 *
 *   stable  frames in place (the snapshot driver itself): CPU cost
 *   live    frames through the core's page cache and copies, as with Xen;
 *           counts frames mapped and the map calls the Xen driver would
 *           make (its readahead: one call per run of sequential frames,
 *           doubling up to 1024 frames; each call is ~0.4 ms in the lab's
 *           nested dom0)
 *
 * Usage: bench_linux_start [RUNS] [SNAPSHOT...]  (default: 11 runs, the
 * first corpus mem.raw). Figures are medians; one "name value unit" line
 * each, per snapshot.
 */
#include <tinyvmi/linux.h>

#include "common.h"
#include "private.h"

#define XEN_BATCH 1024u

static const struct tvmi_driver_ops *snapshot_ops;

/* ---- counting drivers --------------------------------------------------------- */

static struct {
    uint64_t frames, calls;
    addr_t next;
    unsigned window, left;
} count;

static void *counting_map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    count.frames++;
    if (gfn == count.next && count.left) {
        count.left--;
    } else {
        unsigned w = gfn == count.next && count.window ? 2 * count.window : 1;
        count.window = w < XEN_BATCH ? w : XEN_BATCH;
        count.left = count.window - 1;
        count.calls++;
    }
    count.next = gfn + 1;
    return snapshot_ops->map_frame(vmi, gfn, write);
}

static struct tvmi_driver_ops stable_ops, live_ops;

static void make_drivers(void)
{
    for (const struct tvmi_driver_ops *const *d = tvmi_drivers; *d; d++)
        if (!strcmp((*d)->name, "snapshot"))
            snapshot_ops = *d;
    if (!snapshot_ops) {
        fprintf(stderr, "bench_linux_start: no snapshot driver built in\n");
        exit(1);
    }
    stable_ops = *snapshot_ops;
    live_ops = *snapshot_ops;
    live_ops.name = "snapshot-as-live";
    live_ops.flags = TVMI_DRV_LIVE; /* page cache, copies */
    live_ops.map_frame = counting_map_frame;
    live_ops.map_frames = NULL;
}

/* ---- one start ------------------------------------------------------------------ */

struct start {
    double init_ms, ps_ms;
    uint64_t init_frames, init_calls; /* by vmi_init_os */
    uint64_t frames, calls;           /* and the process list */
    size_t tasks;
};

static vmi_instance_t open_snapshot(const struct tvmi_driver_ops *ops,
                                    const char *path)
{
    vmi_instance_t vmi;
    vmi_init_error_t err;

    if (tvmi_init_with_driver(&vmi, ops, path, VMI_INIT_DOMAINNAME, &err) !=
        VMI_SUCCESS) {
        fprintf(stderr, "bench_linux_start: %s: %s\n", path,
                tvmi_init_error_message());
        exit(1);
    }
    return vmi;
}

/* Init and a process list, with rec as hints (or none); *out gets the
 * record this start makes when asked. */
static struct start one(const struct tvmi_driver_ops *ops, const char *path,
                        const char *rec, size_t len, char **out, size_t *outlen)
{
    vmi_instance_t vmi = open_snapshot(ops, path);
    tvmi_linux_info_t info;
    tvmi_linux_task_t *t = NULL;
    struct start s = { 0 };
    double t0;

    memset(&count, 0, sizeof(count));
    t0 = bench_now();
    tvmi_linux_set_hints(vmi, rec, len);
    if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, NULL) != VMI_OS_LINUX) {
        fprintf(stderr, "bench_linux_start: %s\n", tvmi_last_error(vmi));
        exit(1);
    }
    s.init_ms = (bench_now() - t0) * 1e3;
    s.init_frames = count.frames;
    s.init_calls = count.calls;
    if (tvmi_linux_tasks(vmi, &t, &s.tasks, NULL) != VMI_SUCCESS) {
        fprintf(stderr, "bench_linux_start: %s\n", tvmi_last_error(vmi));
        exit(1);
    }
    s.ps_ms = (bench_now() - t0) * 1e3;
    s.frames = count.frames;
    s.calls = count.calls;
    free(t);
    tvmi_linux_get_info(vmi, &info);
    if (rec && strcmp(info.hints, "accepted")) {
        fprintf(stderr, "bench_linux_start: hints %s\n", info.hints);
        exit(1);
    }
    if (out && !(*out = tvmi_linux_get_hints(vmi, outlen))) {
        fprintf(stderr, "bench_linux_start: %s\n", tvmi_last_error(vmi));
        exit(1);
    }
    vmi_destroy(vmi);
    return s;
}

/* Medians of runs starts. */
static struct start median_of(int runs, const struct tvmi_driver_ops *ops,
                              const char *path, const char *rec, size_t len)
{
    double init[BENCH_MAX_RUNS], ps[BENCH_MAX_RUNS];
    struct start s = { 0 };

    for (int i = 0; i < runs; i++) {
        s = one(ops, path, rec, len, NULL, NULL);
        init[i] = s.init_ms;
        ps[i] = s.ps_ms;
    }
    s.init_ms = bench_median(init, (size_t)runs);
    s.ps_ms = bench_median(ps, (size_t)runs);
    return s;
}

static void report(const char *what, const struct start *s, bool live)
{
    printf("%s_init_ms %.2f ms\n", what, s->init_ms);
    printf("%s_ps_ms %.2f ms\n", what, s->ps_ms);
    if (live) {
        printf("%s_init_frames_mapped %llu frames\n", what,
               (unsigned long long)s->init_frames);
        printf("%s_init_xen_map_calls %llu calls\n", what,
               (unsigned long long)s->init_calls);
        printf("%s_ps_frames_mapped %llu frames\n", what,
               (unsigned long long)s->frames);
        printf("%s_ps_xen_map_calls %llu calls\n", what,
               (unsigned long long)s->calls);
    }
}

static void bench(const char *path, int runs)
{
    struct start cold, warm, first;
    char *rec = NULL;
    size_t len = 0;

    printf("# %s\n", path);
    first = one(&stable_ops, path, NULL, 0, &rec, &len);
    printf("hint_record_bytes %zu bytes\n", len);
    printf("tasks %zu tasks\n", first.tasks);
    cold = median_of(runs, &stable_ops, path, NULL, 0);
    warm = median_of(runs, &stable_ops, path, rec, len);
    report("stable_cold", &cold, false);
    report("stable_warm", &warm, false);
    cold = median_of(runs, &live_ops, path, NULL, 0);
    warm = median_of(runs, &live_ops, path, rec, len);
    report("live_cold", &cold, true);
    report("live_warm", &warm, true);
    free(rec);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 11, first = 2;

    if (runs < 1 || runs > BENCH_MAX_RUNS) {
        fprintf(stderr, "usage: bench_linux_start [RUNS (1..%d)] [SNAPSHOT...]\n",
                BENCH_MAX_RUNS);
        return 2;
    }
    make_drivers();
    if (argc <= first) {
        const char *path = bench_default_snapshot();
        if (!path) {
            fprintf(stderr, "bench_linux_start: no snapshot given and no "
                            "corpus found (run tests/corpus/make-corpus)\n");
            return 1;
        }
        bench(path, runs);
        return 0;
    }
    for (int i = first; i < argc; i++)
        bench(argv[i], runs);
    return 0;
}
