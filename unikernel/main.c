/*
 * The appliance's program. Its command line (from the domain config, set
 * by `tinyvmi appliance start`) says what to do:
 *
 *   target=<domid> task=ps|modules|info|serve [ranges=<hex>-<hex>,...]
 *
 * Without target= it runs its self-test (allocators, xenstore, the core on
 * its own memory), which also works under plain QEMU.
 */
#include "app.h"
#include "x86.h"

static const char *arg_value(int argc, char **argv, const char *key)
{
    size_t n = strlen(key);

    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
            return argv[i] + n + 1;
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t t_main = rdtsc();
    struct app_args a = { 0 };
    const char *v;
    int status;

    appliance_banner();
    a.target = arg_value(argc, argv, "target");
    a.task = arg_value(argc, argv, "task");
    a.ranges = arg_value(argc, argv, "ranges");
    v = arg_value(argc, argv, "interval");
    a.interval_ms = v ? (unsigned)strtoull(v, NULL, 10) : 2000;
    v = arg_value(argc, argv, "count");
    a.count = v ? (unsigned)strtoull(v, NULL, 10) : 0;
    if (!a.target || (a.task && !strcmp(a.task, "selftest")))
        return appliance_selftest(argc, argv, t_main);
    if (!a.task)
        a.task = "ps";
    status = app_run(&a);
    printk("tinyvmi appliance: task %s on domain %s: %s, powering off\n",
           a.task, a.target, status == 0 ? "done" : status == 1 ? "partial" : "failed");
    /* A failed task is an answer, not a crash: power off cleanly so the
     * domain goes away (the status is in xenstore and on the console). */
    return 0;
}
