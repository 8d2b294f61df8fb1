/*
 * tinyvmi ps | modules | dmesg: the running system as the guest's kernel
 * sees it, read from memory with the kernel's own layouts. A listing the
 * library marks partial (a broken list entry, a task half-created while
 * read) is printed with a warning on stderr and exits 1, so scripts notice.
 */
#include <stdio.h>
#include <stdlib.h>

#include <tinyvmi/linux.h>

#include "cli.h"
#include "output.h"

/* What the listing ends with: complete, or partial with the reason. */
static int finish(vmi_instance_t vmi, const char *cmd, int partial)
{
    if (!partial)
        return EXIT_OK;
    fprintf(stderr, "tinyvmi: %s: the listing is partial: %s\n", cmd,
            tvmi_last_error(vmi));
    return EXIT_TARGET;
}

static void task_json(const tvmi_linux_task_t *t)
{
    char state[2] = { t->state_letter, 0 };

    json_begin_object(NULL);
    json_u64("pid", (uint64_t)t->tgid);
    json_u64("tid", (uint64_t)t->pid);
    if (t->ppid >= 0)
        json_u64("ppid", (uint64_t)t->ppid);
    else
        json_null("ppid");
    if (t->uid != ~0u)
        json_u64("uid", t->uid);
    else
        json_null("uid");
    json_string("comm", t->comm);
    json_string("state", state);
    json_bool("kernel_thread", t->kernel_thread);
    json_hex("dtb", t->dtb);
    json_hex("task", t->task);
    json_end_object();
}

static void task_text(const tvmi_linux_task_t *t)
{
    out_printf("%7d %7d %7d %5d %c %-16s 0x%-12llx%s\n", (int)t->tgid,
               (int)t->pid, (int)t->ppid, t->uid == ~0u ? -1 : (int)t->uid,
               t->state_letter, t->comm, (unsigned long long)t->dtb,
               t->kernel_thread ? " [kernel]" : "");
}

static int run_ps(const struct global *g, const struct args *a)
{
    tvmi_linux_task_t *t = NULL;
    vmi_instance_t vmi;
    int partial = 0, rc;
    size_t n = 0;

    (void)a;
    if ((rc = target_open_os(g, "ps", &vmi)) != EXIT_OK)
        return rc;
    if (tvmi_linux_tasks(vmi, &t, &n, &partial) != VMI_SUCCESS) {
        rc = fail("ps: %s", tvmi_last_error(vmi));
        vmi_destroy(vmi);
        return rc;
    }
    if (out_json)
        json_begin_array(NULL);
    else
        out_printf("%7s %7s %7s %5s %s %-16s %-14s\n", "PID", "TID", "PPID",
                   "UID", "S", "COMM", "DTB");
    for (size_t i = 0; i < n && !out_broken(); i++)
        out_json ? task_json(&t[i]) : task_text(&t[i]);
    if (out_json)
        json_end_array();
    rc = finish(vmi, "ps", partial);
    free(t);
    vmi_destroy(vmi);
    return rc;
}

static int run_modules(const struct global *g, const struct args *a)
{
    tvmi_linux_module_t *m = NULL;
    vmi_instance_t vmi;
    int partial = 0, rc;
    size_t n = 0;

    (void)a;
    if ((rc = target_open_os(g, "modules", &vmi)) != EXIT_OK)
        return rc;
    if (tvmi_linux_modules(vmi, &m, &n, &partial) != VMI_SUCCESS) {
        rc = fail("modules: %s", tvmi_last_error(vmi));
        vmi_destroy(vmi);
        return rc;
    }
    if (out_json)
        json_begin_array(NULL);
    for (size_t i = 0; i < n && !out_broken(); i++) {
        if (!out_json) {
            out_printf("%-24s 0x%016llx %8llu %s\n", m[i].name,
                       (unsigned long long)m[i].base,
                       (unsigned long long)m[i].size,
                       m[i].state == 0 ? "Live" : m[i].state == 1 ? "Loading"
                                                : "Unloading");
            continue;
        }
        json_begin_object(NULL);
        json_string("name", m[i].name);
        json_hex("base", m[i].base);
        json_u64("size", m[i].size);
        json_u64("state", (uint64_t)m[i].state);
        json_end_object();
    }
    if (out_json)
        json_end_array();
    rc = finish(vmi, "modules", partial);
    free(m);
    vmi_destroy(vmi);
    return rc;
}

static void record_json(const tvmi_linux_log_record_t *r)
{
    json_begin_object(NULL);
    json_u64("seq", r->seq);
    json_double("time", (double)r->ts_nsec / 1e9);
    json_u64("level", (uint64_t)r->level);
    json_u64("facility", (uint64_t)r->facility);
    json_string("text", r->text);
    json_end_object();
}

static int run_dmesg(const struct global *g, const struct args *a)
{
    tvmi_linux_log_record_t *r = NULL;
    vmi_instance_t vmi;
    int partial = 0, rc;
    size_t n = 0;
    char *text = NULL;

    (void)a;
    if ((rc = target_open_os(g, "dmesg", &vmi)) != EXIT_OK)
        return rc;
    if (out_json ? tvmi_linux_log(vmi, &r, &n, &partial) != VMI_SUCCESS
                 : !(text = tvmi_linux_dmesg(vmi, &n, &partial))) {
        rc = fail("dmesg: %s", tvmi_last_error(vmi));
        vmi_destroy(vmi);
        return rc;
    }
    if (out_json) {
        json_begin_array(NULL);
        for (size_t i = 0; i < n && !out_broken(); i++)
            record_json(&r[i]);
        json_end_array();
    } else {
        out_write(text, n);
    }
    rc = finish(vmi, "dmesg", partial);
    free(r);
    free(text);
    vmi_destroy(vmi);
    return rc;
}

static const struct opt no_opts[] = { { NULL, false } };

#define PROFILE_USAGE "                  [--profile F | --sysmap F | --btf F | --config F]\n"

const struct command cmd_ps = {
    .name = "ps",
    .summary = "list the guest's processes and threads",
    .help =
        "usage: tinyvmi --file PATH|--xen NAME ps [--json]\n" PROFILE_USAGE
        "\n"
        "Every task of the Linux guest, from its own task list: pid 0\n"
        "(swapper) first, then each process followed by its threads.\n"
        "Columns: PID (the process, tgid), TID, PPID, UID, state letter as\n"
        "ps shows it, COMM, and DTB: the physical address of the process's\n"
        "page-table root (mm->pgd; the kernel's for kernel threads).\n"
        "\n"
        "JSON: an array of objects with pid, tid, ppid, uid, comm, state,\n"
        "kernel_thread, dtb and task (the task_struct's address).\n"
        "Exit status 1 when the list cannot be read, or is partial (a broken\n"
        "or changing list; what was read is printed, the reason on stderr).\n",
    .opts = no_opts,
    .run = run_ps,
    .json_array = true,
};

const struct command cmd_modules = {
    .name = "modules",
    .summary = "list the guest's loaded kernel modules",
    .help =
        "usage: tinyvmi --file PATH|--xen NAME modules [--json]\n" PROFILE_USAGE
        "\n"
        "The kernel's module list, newest first as /proc/modules: name, base\n"
        "address of its code, size in bytes, state.\n"
        "\n"
        "JSON: an array of objects with name, base, size and state (0 live,\n"
        "1 loading, 2 unloading). Exit status 1 as for ps.\n",
    .opts = no_opts,
    .run = run_modules,
    .json_array = true,
};

const struct command cmd_dmesg = {
    .name = "dmesg",
    .summary = "print the guest's kernel log",
    .help =
        "usage: tinyvmi --file PATH|--xen NAME dmesg [--json]\n" PROFILE_USAGE
        "\n"
        "The kernel log from the printk ring buffer (Linux 5.10 and later),\n"
        "as dmesg prints it: \"[    1.234567] text\".\n"
        "\n"
        "JSON: an array of objects with seq, time (seconds since boot),\n"
        "level, facility and text. Exit status 1 as for ps.\n",
    .opts = no_opts,
    .run = run_dmesg,
    .json_array = true,
};
