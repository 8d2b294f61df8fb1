/*
 * A LibVMI program, ported: what a typical LibVMI process-list tool does,
 * written in LibVMI's idiom against <libvmi/libvmi.h> alone, on every real
 * corpus snapshot, with each answer checked against what the guest or the
 * snapshot file says itself:
 *
 *   process list  init_task's tasks list walked by hand with the
 *                 linux_tasks/name/pid/mm offsets: the (pid, comm) set is
 *                 truth/tasks.tsv's thread-group leaders (plus pid 0, which
 *                 /proc never shows; kworkers may come and go, and /proc
 *                 shows a kernel thread's full name where comm keeps 15
 *                 bytes); only kernel threads and zombies have no mm.
 *   user memory   the marker process's mm->pgd as a page-table root finds
 *                 truth/marker.txt's physical address and string.
 *   symbols       vmi_translate_ksym2v against truth/kallsyms.txt, and
 *                 vmi_translate_v2ksym back from inside each symbol.
 *   reads         vmi_read_{8,16,32,64,addr}_ksym and vmi_read_ksym of
 *                 linux_banner and init_task against the bytes at the PA
 *                 vmi_translate_kv2p gives, read with fread from mem.raw;
 *                 vmi_read_str_ksym("linux_banner") against truth/uname.txt.
 *   target        vmi_get_name is the path, vmi_get_vmid VMI_INVALID_DOMID,
 *                 vmi_get_vcpuregs the CR3/CR4 QEMU reported (meta.env) on
 *                 mem.elf and a clean failure on mem.raw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libvmi/libvmi.h>
#include "corpus.h"

#define MAX_TASKS 1024
#define MAX_WALK 65536 /* a guest's list is hostile: never loop forever */

struct task {
    int pid, tgid, ppid;
    char comm[128];
    addr_t mm;
    bool seen;
    bool zombie; /* the guest's truth: state Z */
};

/* ---- the guest's own answers ------------------------------------------------ */

/* task-state.tsv: tid, state letter, uid. A zombie has no mm left. */
static void mark_zombies(const struct corpus_snap *s, struct task *t, size_t n)
{
    char line[128], st;
    int tid;
    FILE *f = fopen(corpus_path(s, "truth/task-state.tsv"), "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%d\t%c", &tid, &st) == 2 && st == 'Z')
            for (size_t i = 0; i < n; i++)
                t[i].zombie |= t[i].pid == tid;
    fclose(f);
}

/* tasks.tsv: tid, tgid, ppid and /proc's comm, tab-separated. */
static size_t truth_tasks(const struct corpus_snap *s, struct task *t, size_t max)
{
    char line[512];
    FILE *f = fopen(corpus_path(s, "truth/tasks.tsv"), "r");
    size_t n = 0;

    assert_non_null(f);
    while (n < max && fgets(line, sizeof(line), f)) {
        int used = 0;
        line[strcspn(line, "\r\n")] = '\0';
        memset(&t[n], 0, sizeof(t[n]));
        if (sscanf(line, "%d\t%d\t%d\t%n", &t[n].pid, &t[n].tgid, &t[n].ppid,
                   &used) != 3 || !used)
            continue;
        snprintf(t[n].comm, sizeof(t[n].comm), "%s", line + used);
        n++;
    }
    fclose(f);
    assert_true(n > 0);
    mark_zombies(s, t, n);
    return n;
}

static bool kernel_thread(const struct task *t)
{
    return t->pid == 2 || t->ppid == 2;
}

static bool kworker(const char *comm)
{
    return !strncmp(comm, "kworker/", 8);
}

/* comm keeps 15 bytes of a name; /proc shows a kernel thread's whole name
 * and a kworker's current workqueue after a '-'. */
static bool same_comm(const char *ours, const struct task *truth)
{
    size_t n = strlen(ours);

    if (!kernel_thread(truth))
        return !strcmp(ours, truth->comm);
    if (strncmp(ours, truth->comm, n))
        return false;
    return n == 15 || !truth->comm[n] || (kworker(ours) && truth->comm[n] == '-');
}

/* uname.txt's first line: the release. */
static void truth_release(const struct corpus_snap *s, char *buf, size_t len)
{
    FILE *f = fopen(corpus_path(s, "truth/uname.txt"), "r");

    assert_non_null(f);
    assert_non_null(fgets(buf, (int)len, f));
    buf[strcspn(buf, "\r\n")] = '\0';
    fclose(f);
    assert_true(buf[0] != '\0');
}

/* The bytes at a kernel VA, each page at the PA vmi_translate_kv2p gives,
 * read straight from the physical image: not through the library. */
static void raw_bytes(vmi_instance_t vmi, const struct corpus_snap *s,
                      addr_t va, void *buf, size_t len)
{
    FILE *f = fopen(corpus_path(s, "mem.raw"), "rb");
    unsigned char *out = buf;

    assert_non_null(f);
    while (len) {
        size_t chunk = 4096 - (size_t)(va & 4095);
        addr_t pa;
        if (chunk > len)
            chunk = len;
        if (vmi_translate_kv2p(vmi, va, &pa) != VMI_SUCCESS)
            fail_msg("kv2p 0x%llx: %s", (unsigned long long)va, tvmi_last_error(vmi));
        assert_int_equal(fseeko(f, (off_t)pa, SEEK_SET), 0);
        assert_int_equal(fread(out, 1, chunk, f), chunk);
        va += chunk;
        out += chunk;
        len -= chunk;
    }
    fclose(f);
}

/* ---- the ported program ------------------------------------------------------- */

struct offsets {
    addr_t tasks, name, pid, mm, pgd;
};

static void get_offsets(vmi_instance_t vmi, struct offsets *o)
{
    static const char *const names[] = { "linux_tasks", "linux_name",
                                         "linux_pid", "linux_mm", "linux_pgd" };
    addr_t *dst[] = { &o->tasks, &o->name, &o->pid, &o->mm, &o->pgd };
    addr_t tasks2 = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (vmi_get_offset(vmi, names[i], dst[i]) != VMI_SUCCESS)
            fail_msg("vmi_get_offset(%s): %s", names[i], tvmi_last_error(vmi));
    assert_int_equal(vmi_get_kernel_struct_offset(vmi, "task_struct", "tasks",
                                                  &tasks2), VMI_SUCCESS);
    assert_int_equal(tasks2, o->tasks);
    assert_true(o->pid && o->name && o->mm && o->pgd);
}

/* One task: pid, comm and mm at the task_struct. */
static void read_task(vmi_instance_t vmi, const struct offsets *o, addr_t task,
                      struct task *t)
{
    uint32_t pid = 0;
    char *comm;

    memset(t, 0, sizeof(*t));
    if (vmi_read_32_va(vmi, task + o->pid, 0, &pid) != VMI_SUCCESS ||
        vmi_read_addr_va(vmi, task + o->mm, 0, &t->mm) != VMI_SUCCESS ||
        !(comm = vmi_read_str_va(vmi, task + o->name, 0)))
        fail_msg("task at 0x%llx: %s", (unsigned long long)task,
                 tvmi_last_error(vmi));
    t->pid = (int)pid;
    snprintf(t->comm, sizeof(t->comm), "%s", comm);
    free(comm);
}

/* The process list as LibVMI's examples walk it: from init_task along
 * tasks.next until the list comes back to init_task. */
static size_t list_processes(vmi_instance_t vmi, const struct offsets *o,
                             struct task *out, size_t max)
{
    addr_t init_task = 0, head, entry;
    size_t n = 0, steps = 0;

    assert_int_equal(vmi_translate_ksym2v(vmi, "init_task", &init_task), VMI_SUCCESS);
    head = init_task + o->tasks;
    entry = head;
    do {
        assert_true(n < max);
        read_task(vmi, o, entry - o->tasks, &out[n++]);
        if (vmi_read_addr_va(vmi, entry, 0, &entry) != VMI_SUCCESS)
            fail_msg("tasks.next at 0x%llx: %s", (unsigned long long)entry,
                     tvmi_last_error(vmi));
    } while (entry != head && ++steps < MAX_WALK);
    assert_true(entry == head);
    return n;
}

static struct task *find(struct task *v, size_t n, int pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == pid)
            return &v[i];
    return NULL;
}

/* Ours against the guest's thread-group leaders, both ways. */
static void check_processes(struct task *ours, size_t n, struct task *truth,
                            size_t nt)
{
    size_t bad = 0, leaders = 0;

    for (size_t i = 0; i < nt; i++) {
        struct task *t;
        if (truth[i].pid != truth[i].tgid)
            continue; /* a thread: not on the tasks list */
        leaders++;
        t = find(ours, n, truth[i].pid);
        if (!t) {
            if (!(kernel_thread(&truth[i]) && kworker(truth[i].comm))) {
                print_error("pid %d (%s) is missing\n", truth[i].pid, truth[i].comm);
                bad++;
            }
            continue;
        }
        t->seen = true;
        if (!same_comm(t->comm, &truth[i]) ||
            (t->mm == 0) != (kernel_thread(&truth[i]) || truth[i].zombie)) {
            print_error("pid %d: comm '%s' mm 0x%llx; the guest: '%s'%s\n",
                        t->pid, t->comm, (unsigned long long)t->mm, truth[i].comm,
                        kernel_thread(&truth[i]) ? " (kernel thread)" : "");
            bad++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (ours[i].seen || (ours[i].pid == 0 && ours[i].mm == 0) ||
            (kworker(ours[i].comm) && ours[i].mm == 0))
            continue;
        print_error("pid %d (%s) is not the guest's\n", ours[i].pid, ours[i].comm);
        bad++;
    }
    print_message("  %zu processes, the guest %zu leaders\n", n, leaders);
    assert_int_equal(bad, 0);
    assert_non_null(find(ours, n, 0));
}

/* The marker's mm->pgd, used as a page-table root, finds its string. */
static void check_marker(vmi_instance_t vmi, const struct corpus_snap *s,
                         const struct offsets *o, struct task *ours, size_t n)
{
    char want[128], *got;
    int pid;
    uint64_t va, pa;
    addr_t pgd = 0, dtb = 0, found = 0;
    struct task *t;
    access_context_t ctx = { .translate_mechanism = VMI_TM_PROCESS_DTB };

    assert_int_equal(corpus_marker(s, &pid, &va, &pa, want, sizeof(want)), 0);
    assert_non_null(t = find(ours, n, pid));
    assert_true(t->mm != 0);
    assert_int_equal(vmi_read_addr_va(vmi, t->mm + o->pgd, 0, &pgd), VMI_SUCCESS);
    assert_int_equal(vmi_translate_kv2p(vmi, pgd, &dtb), VMI_SUCCESS);
    assert_int_equal(vmi_pagetable_lookup(vmi, dtb, va, &found), VMI_SUCCESS);
    assert_int_equal(found, pa);
    ctx.addr = va;
    ctx.dtb = dtb;
    got = malloc(strlen(want) + 1);
    assert_non_null(got);
    assert_int_equal(vmi_read(vmi, &ctx, strlen(want), got, NULL), VMI_SUCCESS);
    assert_memory_equal(got, want, strlen(want));
    free(got);
}

/* ---- symbols and known bytes ------------------------------------------------------ */

static void check_symbols(vmi_instance_t vmi, const struct corpus_snap *s)
{
    static const char *const syms[] = { "init_task", "linux_banner",
                                        "start_kernel", "schedule" };
    access_context_t ctx = { .translate_mechanism = VMI_TM_PROCESS_PID, .pid = 0 };
    size_t checked = 0;

    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        uint64_t truth = 0, alias = 0;
        addr_t va = 0;
        const char *name;
        if (corpus_kallsym(s, syms[i], &truth))
            continue;
        if (vmi_translate_ksym2v(vmi, syms[i], &va) != VMI_SUCCESS)
            fail_msg("ksym2v %s: %s", syms[i], tvmi_last_error(vmi));
        assert_int_equal(va, truth);
        /* Inside the symbol: its name, or an alias at the same address. */
        name = vmi_translate_v2ksym(vmi, &ctx, va + 1);
        assert_non_null(name);
        if (strcmp(name, syms[i]) &&
            (corpus_kallsym(s, name, &alias) || alias != truth))
            fail_msg("v2ksym 0x%llx: '%s', not %s", (unsigned long long)va + 1,
                     name, syms[i]);
        checked++;
    }
    assert_true(checked >= 2); /* init_task and linux_banner at least */
}

/* Each width at sym against the physical image's bytes. */
static void check_reads_at(vmi_instance_t vmi, const struct corpus_snap *s,
                           const char *sym)
{
    unsigned char want[96], got[96];
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    addr_t va = 0, vaddr = 0;
    size_t n = 0;

    assert_int_equal(vmi_translate_ksym2v(vmi, sym, &va), VMI_SUCCESS);
    raw_bytes(vmi, s, va, want, sizeof(want));
    assert_int_equal(vmi_read_8_ksym(vmi, sym, &v8), VMI_SUCCESS);
    assert_int_equal(vmi_read_16_ksym(vmi, sym, &v16), VMI_SUCCESS);
    assert_int_equal(vmi_read_32_ksym(vmi, sym, &v32), VMI_SUCCESS);
    assert_int_equal(vmi_read_64_ksym(vmi, sym, &v64), VMI_SUCCESS);
    assert_int_equal(vmi_read_addr_ksym(vmi, sym, &vaddr), VMI_SUCCESS);
    assert_memory_equal(&v8, want, 1);
    assert_memory_equal(&v16, want, 2);
    assert_memory_equal(&v32, want, 4);
    assert_memory_equal(&v64, want, 8);
    assert_memory_equal(&vaddr, want, 8);
    assert_int_equal(vmi_read_ksym(vmi, sym, sizeof(got), got, &n), VMI_SUCCESS);
    assert_int_equal(n, sizeof(got));
    assert_memory_equal(got, want, sizeof(got));
}

static void check_banner(vmi_instance_t vmi, const struct corpus_snap *s)
{
    char release[128], prefix[160];
    char *banner = vmi_read_str_ksym(vmi, "linux_banner");

    truth_release(s, release, sizeof(release));
    snprintf(prefix, sizeof(prefix), "Linux version %s ", release);
    if (!banner)
        fail_msg("linux_banner: %s", tvmi_last_error(vmi));
    if (strncmp(banner, prefix, strlen(prefix)))
        fail_msg("linux_banner '%.80s' does not start '%s'", banner, prefix);
    free(banner);
}

/* ---- the target ------------------------------------------------------------------ */

static void check_target(vmi_instance_t vmi, const struct corpus_snap *s,
                         const char *elf)
{
    char *name = vmi_get_name(vmi);
    registers_t regs;
    vmi_instance_t raw = NULL;
    vmi_init_error_t err;

    assert_non_null(name);
    assert_string_equal(name, elf);
    free(name);
    assert_true(vmi_get_vmid(vmi) == VMI_INVALID_DOMID);
    assert_int_equal(vmi_get_vcpuregs(vmi, &regs, 0), VMI_SUCCESS);
    assert_int_equal(regs.x86.cr3, s->cr3);
    assert_int_equal(regs.x86.cr4, s->cr4);
    assert_true(regs.x86.rip != 0 && regs.x86.rsp != 0);
    assert_int_equal(vmi_set_vcpuregs(vmi, &regs, 0), VMI_FAILURE);

    if (vmi_init(&raw, VMI_FILE, corpus_path(s, "mem.raw"), VMI_INIT_DOMAINNAME,
                 NULL, &err) != VMI_SUCCESS)
        fail_msg("mem.raw: %s", tvmi_init_error_message());
    assert_int_equal(vmi_get_vcpuregs(raw, &regs, 0), VMI_FAILURE);
    assert_non_null(strstr(tvmi_last_error(raw), "no vCPU registers"));
    vmi_destroy(raw);
}

static void test_port(void **state)
{
    const struct corpus_snap *s = *state;
    static struct task ours[MAX_TASKS], truth[MAX_TASKS];
    char elf[700];
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    struct offsets o;
    size_t n, nt;

    snprintf(elf, sizeof(elf), "%s", corpus_path(s, "mem.elf"));
    if (vmi_init_complete(&vmi, elf, VMI_INIT_DOMAINNAME, NULL, TVMI_CONFIG_NONE,
                          NULL, &err) != VMI_SUCCESS)
        fail_msg("%s: %s", elf, tvmi_init_error_message());
    assert_int_equal(vmi_get_ostype(vmi), VMI_OS_LINUX);
    get_offsets(vmi, &o);
    n = list_processes(vmi, &o, ours, MAX_TASKS);
    nt = truth_tasks(s, truth, MAX_TASKS);
    check_processes(ours, n, truth, nt);
    check_marker(vmi, s, &o, ours, n);
    check_symbols(vmi, s);
    check_reads_at(vmi, s, "linux_banner");
    check_reads_at(vmi, s, "init_task");
    check_banner(vmi, s);
    check_target(vmi, s, elf);
    vmi_destroy(vmi);
}

int main(void)
{
    return corpus_run_each("libvmi_port", test_port);
}
