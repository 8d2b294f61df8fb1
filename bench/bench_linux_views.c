/*
 * The Linux views on a real snapshot, once the kernel is found:
 *
 *   tasks_first_us    tvmi_linux_tasks, first call (layouts from BTF, cold)
 *   tasks_us          tvmi_linux_tasks (goal: <= 1 ms for ~50 tasks)
 *   modules_us        tvmi_linux_modules
 *   log_us            tvmi_linux_log (every record of the printk ring)
 *   dmesg_us          tvmi_linux_dmesg (the same, formatted)
 *   pid_to_dtb_us     vmi_pid_to_dtb of a user process (cached, checked)
 *   dtb_to_pid_us     vmi_dtb_to_pid (a listing each time)
 *   read_va_pid_us    vmi_read_va of 64 bytes through a pid
 *
 * Usage: bench_linux_views [SNAPSHOT] (default: the first mem.raw of the
 * corpus, ${TINYVMI_CACHE:-$HOME/.cache/tinyvmi}/corpus/). Each figure is
 * the median of 101 timed calls; one "name value unit" line per figure.
 */
#include <tinyvmi/linux.h>

#include "common.h"

#define RUNS 101

static double now_us(void)
{
    return bench_now() * 1e6;
}

static void die(vmi_instance_t vmi, const char *what)
{
    fprintf(stderr, "bench_linux_views: %s: %s\n", what, tvmi_last_error(vmi));
    exit(1);
}

struct ctx {
    vmi_instance_t vmi;
    vmi_pid_t pid;  /* a user process */
    addr_t dtb, va; /* its root, and a VA mapped in it */
};

static void tasks(struct ctx *c)
{
    tvmi_linux_task_t *t;
    size_t n;

    if (tvmi_linux_tasks(c->vmi, &t, &n, NULL) != VMI_SUCCESS)
        die(c->vmi, "tasks");
    free(t);
}

static void modules(struct ctx *c)
{
    tvmi_linux_module_t *m;
    size_t n;

    if (tvmi_linux_modules(c->vmi, &m, &n, NULL) != VMI_SUCCESS)
        die(c->vmi, "modules");
    free(m);
}

static void log_records(struct ctx *c)
{
    tvmi_linux_log_record_t *r;
    size_t n;

    if (tvmi_linux_log(c->vmi, &r, &n, NULL) != VMI_SUCCESS)
        die(c->vmi, "log");
    free(r);
}

static void dmesg(struct ctx *c)
{
    char *s = tvmi_linux_dmesg(c->vmi, NULL, NULL);

    if (!s)
        die(c->vmi, "dmesg");
    free(s);
}

static void pid_to_dtb(struct ctx *c)
{
    addr_t dtb;

    if (vmi_pid_to_dtb(c->vmi, c->pid, &dtb) != VMI_SUCCESS || dtb != c->dtb)
        die(c->vmi, "pid_to_dtb");
}

static void dtb_to_pid(struct ctx *c)
{
    vmi_pid_t pid;

    if (vmi_dtb_to_pid(c->vmi, c->dtb, &pid) != VMI_SUCCESS || pid != c->pid)
        die(c->vmi, "dtb_to_pid");
}

static void read_va_pid(struct ctx *c)
{
    char buf[64];

    if (vmi_read_va(c->vmi, c->va, c->pid, sizeof(buf), buf, NULL) != VMI_SUCCESS)
        die(c->vmi, "read_va");
}

static double median_us(void (*fn)(struct ctx *), struct ctx *c)
{
    double v[RUNS];

    for (int i = 0; i < RUNS; i++) {
        double t = now_us();
        fn(c);
        v[i] = now_us() - t;
    }
    return bench_median(v, RUNS);
}

/* The last user process, and a VA its page tables surely map: _text (the
 * kernel half is in every process; which user pages are present is not
 * known here). */
static void pick_process(struct ctx *c, size_t *ntasks)
{
    tvmi_linux_task_t *t;
    size_t n;

    if (tvmi_linux_tasks(c->vmi, &t, &n, NULL) != VMI_SUCCESS)
        die(c->vmi, "tasks");
    *ntasks = n;
    for (size_t i = 0; i < n; i++)
        if (!t[i].kernel_thread) {
            c->pid = t[i].tgid;
            c->dtb = t[i].dtb;
        }
    free(t);
    if (vmi_translate_ksym2v(c->vmi, "_text", &c->va) != VMI_SUCCESS)
        die(c->vmi, "_text");
}

int main(int argc, char **argv)
{
    const char *path = bench_snapshot(argc, argv, "bench_linux_views");
    vmi_init_error_t err;
    struct ctx c = { 0 };
    size_t ntasks;
    double t;

    if (vmi_init_complete(&c.vmi, path, VMI_INIT_DOMAINNAME, NULL,
                          TVMI_CONFIG_NONE, NULL, &err) != VMI_SUCCESS) {
        fprintf(stderr, "bench_linux_views: %s\n", tvmi_init_error_message());
        return 1;
    }
    t = now_us();
    tasks(&c);
    printf("tasks_first_us %.1f us\n", now_us() - t);
    pick_process(&c, &ntasks);
    printf("tasks_us %.1f us (%zu tasks)\n", median_us(tasks, &c), ntasks);
    printf("modules_us %.1f us\n", median_us(modules, &c));
    printf("log_us %.1f us\n", median_us(log_records, &c));
    printf("dmesg_us %.1f us\n", median_us(dmesg, &c));
    printf("pid_to_dtb_us %.2f us\n", median_us(pid_to_dtb, &c));
    printf("dtb_to_pid_us %.1f us\n", median_us(dtb_to_pid, &c));
    printf("read_va_pid_us %.2f us\n", median_us(read_va_pid, &c));
    vmi_destroy(c.vmi);
    return 0;
}
