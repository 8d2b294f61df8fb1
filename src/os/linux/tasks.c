/*
 * The process list. init_task.tasks links the thread-group leaders (a
 * thread is never on it); each group's threads hang on
 * signal->thread_head by task->thread_node (3.14+), or, on kernels without
 * that, on a ring through the threads' thread_group (gone in 6.7). The
 * layouts (BTF, or the profile's types) say which this kernel has.
 *
 * Of each task one window of task_struct is read (the members we need lie
 * within ~3 KiB), then three small reads: real_parent->tgid,
 * real_cred->uid and mm->pgd. mm->pgd is in the direct map, so its PA is
 * the pointer minus page_offset_base: no page walk needed.
 */
#include "views.h"

#define CR3_ADDR   0x000ffffffffff000ull
#define PTI_USER   0x1000ull  /* PTI: the user copy of a PGD is the next page */
#define TASK_IDLE_STATE 0x402 /* TASK_UNINTERRUPTIBLE | TASK_NOLOAD */
#define TASK_RTLOCK_WAIT 0x1000 /* PREEMPT_RT's sleeping spinlock: shown as D */

struct listing {
    tvmi_linux_task_t *t;
    size_t n, cap;
    struct lx_report rep;
};

/* As /proc/<pid>/stat: the highest reportable state bit picks the letter. */
static char state_letter(uint64_t state, uint32_t exit_state)
{
    static const char letters[] = "SDTtXZP"; /* bits 0..6 */
    uint64_t s = (state | exit_state) & 0x7f;
    int bit = -1;

    /* 6.1+ adds TASK_FREEZABLE to an idle kernel thread's state */
    if ((state & TASK_IDLE_STATE) == TASK_IDLE_STATE)
        return 'I';
    if (state == TASK_RTLOCK_WAIT)
        return 'D';
    while (s) {
        s >>= 1;
        bit++;
    }
    return bit < 0 ? 'R' : letters[bit];
}

/* A pointer member of the task, checked before it is followed. */
static bool follow(vmi_instance_t vmi, struct lx_views *v, addr_t ptr,
                   size_t off, void *out, size_t len)
{
    return lx_kaddr_ok(&v->ks, LX_AREA_DATA, ptr) &&
           lx_kread(vmi, ptr + off, out, len) == VMI_SUCCESS;
}

static void read_parent_and_uid(vmi_instance_t vmi, struct lx_views *v,
                                tvmi_linux_task_t *t, addr_t parent, addr_t cred,
                                struct lx_report *rep)
{
    int32_t ppid;
    uint32_t uid;

    t->ppid = -1;
    t->uid = ~0u;
    if (follow(vmi, v, parent, v->task.tgid.off, &ppid, 4))
        t->ppid = ppid;
    else
        lx_report_note(rep, "pid %d: real_parent 0x%llx cannot be read",
                       (int)t->pid, (unsigned long long)parent);
    if (follow(vmi, v, cred, v->task.uid.off, &uid, 4))
        t->uid = uid;
    else
        lx_report_note(rep, "pid %d: real_cred 0x%llx cannot be read",
                       (int)t->pid, (unsigned long long)cred);
}

/* mm->pgd as a physical address (the direct map is linear). */
static void read_dtb(vmi_instance_t vmi, struct lx_state *st, struct lx_views *v,
                     tvmi_linux_task_t *t, struct lx_report *rep)
{
    uint64_t pgd = 0;

    if (!t->mm) {
        /* a kernel thread runs on the kernel's root; a zombie has none */
        t->dtb = t->kernel_thread ? st->info.kdtb : 0;
        return;
    }
    if (follow(vmi, v, t->mm, v->task.pgd.off, &pgd, 8) &&
        pgd >= v->ks.dmap_lo && pgd < v->ks.dmap_hi && !(pgd & 0xfff)) {
        t->dtb = pgd - v->ks.dmap_lo;
        return;
    }
    lx_report_note(rep, "pid %d: mm 0x%llx has no usable pgd (0x%llx)",
                   (int)t->pid, (unsigned long long)t->mm,
                   (unsigned long long)pgd);
}

/* The task at va, or false (noted) when it is not one. *signal gets its
 * signal_struct for the thread list. */
static bool read_task(vmi_instance_t vmi, struct lx_state *st, struct lx_views *v,
                      addr_t va, tvmi_linux_task_t *t, addr_t *signal,
                      struct lx_report *rep)
{
    const struct lx_task_layout *L = &v->task;
    size_t comm = L->comm.size < sizeof(t->comm) ? L->comm.size : sizeof(t->comm);

    memset(t, 0, sizeof(*t));
    if (lx_read_window(vmi, v, va, L->lo, L->hi) != VMI_SUCCESS) {
        lx_report_note(rep, "task_struct at 0x%llx cannot be read",
                       (unsigned long long)va);
        return false;
    }
    t->task = va;
    t->pid = (vmi_pid_t)lx_get(v, L->lo, &L->pid);
    t->tgid = (vmi_pid_t)lx_get(v, L->lo, &L->tgid);
    if (t->pid < 0 || t->pid >= LX_PID_LIMIT || t->tgid < 0 ||
        t->tgid >= LX_PID_LIMIT) {
        lx_report_note(rep, "task_struct at 0x%llx: pid %d, tgid %d: not a "
                       "task", (unsigned long long)va, (int)t->pid, (int)t->tgid);
        return false;
    }
    memcpy(t->comm, v->buf + (L->comm.off - L->lo), comm);
    t->comm[comm - 1] = '\0';
    t->flags = (uint32_t)lx_get(v, L->lo, &L->flags);
    t->state = lx_get(v, L->lo, &L->state);
    t->exit_state = (uint32_t)lx_get(v, L->lo, &L->exit_state);
    t->state_letter = state_letter(t->state, t->exit_state);
    t->mm = lx_get(v, L->lo, &L->mm);
    /* a zombie has dropped its mm but is no kernel thread */
    t->kernel_thread = (t->flags & LX_PF_KTHREAD) || (!t->mm && !t->exit_state);
    *signal = lx_get(v, L->lo, &L->signal);
    read_parent_and_uid(vmi, v, t, lx_get(v, L->lo, &L->real_parent),
                        lx_get(v, L->lo, &L->real_cred), rep);
    read_dtb(vmi, st, v, t, rep);
    return true;
}

static bool push(struct listing *out, const tvmi_linux_task_t *t)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 128;
        tvmi_linux_task_t *p = realloc(out->t, cap * sizeof(*p));
        if (!p)
            return false;
        out->t = p;
        out->cap = cap;
    }
    out->t[out->n++] = *t;
    return true;
}

/* Adds the task at va (of process tgid, or any when tgid < 0); false when
 * it was not added. */
static bool add_task(vmi_instance_t vmi, struct lx_state *st, struct lx_views *v,
                     struct listing *out, addr_t va, vmi_pid_t tgid,
                     addr_t *signal)
{
    tvmi_linux_task_t t;
    int added;

    if (out->n >= LX_MAX_TASKS) {
        lx_report_note(&out->rep, "more than %u tasks: the rest is not listed",
                       LX_MAX_TASKS);
        return false;
    }
    added = lx_seen_add(&v->listed, va);
    if (added <= 0) {
        lx_report_note(&out->rep, "task_struct at 0x%llx: %s",
                       (unsigned long long)va,
                       added ? "listed twice" : "out of memory");
        return false;
    }
    if (!read_task(vmi, st, v, va, &t, signal, &out->rep))
        return false;
    if (tgid >= 0 && t.tgid != tgid) {
        lx_report_note(&out->rep, "the thread list of process %d holds pid %d "
                       "of process %d", (int)tgid, (int)t.pid, (int)t.tgid);
        return false;
    }
    if (!push(out, &t)) {
        lx_report_note(&out->rep, "out of memory");
        return false;
    }
    return true;
}

/* The leader's other threads, after it. */
static void add_threads(vmi_instance_t vmi, struct lx_state *st,
                        struct lx_views *v, struct listing *out,
                        addr_t leader, vmi_pid_t tgid, addr_t signal)
{
    const struct lx_task_layout *L = &v->task;
    char what[48];
    struct lx_list l = { .what = what, .area = LX_AREA_DATA,
                         .max = LX_MAX_TASKS, .rep = &out->rep };
    size_t node_off = L->thread_head_list ? L->thread_node.off : L->thread_group.off;
    addr_t ignored;

    snprintf(what, sizeof(what), "the thread list of process %d", (int)tgid);
    if (L->thread_head_list && !lx_kaddr_ok(&v->ks, LX_AREA_DATA, signal)) {
        lx_report_note(&out->rep, "process %d: signal_struct 0x%llx is not in "
                       "the kernel's memory", (int)tgid, (unsigned long long)signal);
        return;
    }
    l.head = L->thread_head_list ? signal + L->thread_head.off
                                 : leader + L->thread_group.off;
    if (lx_list_walk(vmi, v, &l) != VMI_SUCCESS)
        lx_report_note(&out->rep, "%s", vmi->err);
    for (size_t i = 0; i < l.n; i++)
        if (l.node[i] - node_off != leader)
            add_task(vmi, st, v, out, l.node[i] - node_off, tgid, &ignored);
    lx_list_free(&l);
}

static status_t list_tasks(vmi_instance_t vmi, struct listing *out)
{
    struct lx_state *st;
    struct lx_views *v = lx_views_get(vmi, &st, LX_GROUP_TASKS);
    struct lx_list leaders = { .what = "the task list", .area = LX_AREA_DATA,
                               .max = LX_MAX_TASKS, .rep = &out->rep };
    addr_t init, signal;

    if (!v)
        return tvmi_fail_ctx(vmi, "listing tasks");
    if (!lx_sym_lookup(&st->syms, "init_task", &init))
        return tvmi_fail(vmi, "listing tasks: no init_task symbol");
    lx_seen_clear(&v->listed);
    if (!add_task(vmi, st, v, out, init, -1, &signal))
        return tvmi_fail(vmi, "listing tasks: init_task at 0x%llx: %s",
                         (unsigned long long)init, out->rep.why);
    add_threads(vmi, st, v, out, init, 0, signal);
    leaders.head = init + v->task.tasks.off;
    if (lx_list_walk(vmi, v, &leaders) != VMI_SUCCESS)
        lx_report_note(&out->rep, "%s", vmi->err);
    for (size_t i = 0; i < leaders.n; i++) {
        addr_t task = leaders.node[i] - v->task.tasks.off;
        size_t at = out->n;

        if (add_task(vmi, st, v, out, task, -1, &signal))
            add_threads(vmi, st, v, out, task, out->t[at].tgid, signal);
    }
    lx_list_free(&leaders);
    return VMI_SUCCESS;
}

status_t tvmi_linux_tasks(vmi_instance_t vmi, tvmi_linux_task_t **tasks,
                          size_t *count, int *partial)
{
    struct listing out = { 0 };

    if (!vmi || !tasks || !count)
        return vmi ? tvmi_fail(vmi, "listing tasks: NULL argument") : VMI_FAILURE;
    *tasks = NULL;
    *count = 0;
    if (list_tasks(vmi, &out) != VMI_SUCCESS) {
        free(out.t);
        return VMI_FAILURE;
    }
    lx_report_done(vmi, &out.rep, partial);
    *tasks = out.t;
    *count = out.n;
    return VMI_SUCCESS;
}

/* ---- pid <-> page-table root ------------------------------------------------- */

static struct lx_pid_slot *pid_slot(struct lx_views *v, vmi_pid_t pid)
{
    return &v->pids[(uint32_t)pid % LX_PID_CACHE];
}

/* A cached answer holds while the task still has that pid and that mm
 * (an mm keeps its pgd for life); two reads instead of a listing. */
static bool still_valid(vmi_instance_t vmi, struct lx_views *v,
                        const struct lx_pid_slot *s)
{
    int32_t pid;
    uint64_t mm;

    return lx_kread(vmi, s->task + v->task.pid.off, &pid, 4) == VMI_SUCCESS &&
           lx_kread(vmi, s->task + v->task.mm.off, &mm, 8) == VMI_SUCCESS &&
           pid == s->pid && mm == s->mm;
}

static void remember(struct lx_views *v, const tvmi_linux_task_t *t)
{
    if (t->dtb)
        *pid_slot(v, t->pid) = (struct lx_pid_slot){ t->pid, t->task, t->mm,
                                                     t->dtb, true };
}

status_t lx_pid_to_dtb(vmi_instance_t vmi, vmi_pid_t pid, addr_t *dtb)
{
    struct lx_state *st;
    struct lx_views *v = lx_views_get(vmi, &st, LX_GROUP_TASKS);
    struct listing out = { 0 };
    struct lx_pid_slot *s;

    if (!v)
        return tvmi_fail_ctx(vmi, "finding pid %d", (int)pid);
    if (pid < 0)
        return tvmi_fail(vmi, "pid %d: no such process", (int)pid);
    s = pid_slot(v, pid);
    if (s->used && s->pid == pid && still_valid(vmi, v, s)) {
        *dtb = s->dtb;
        return VMI_SUCCESS;
    }
    s->used = false;
    if (list_tasks(vmi, &out) != VMI_SUCCESS) {
        free(out.t);
        return tvmi_fail_ctx(vmi, "finding pid %d", (int)pid);
    }
    for (size_t i = 0; i < out.n; i++)
        remember(v, &out.t[i]);
    for (size_t i = 0; i < out.n; i++) {
        if (out.t[i].pid != pid)
            continue;
        addr_t mm = out.t[i].mm;

        *dtb = out.t[i].dtb;
        free(out.t);
        if (*dtb)
            return VMI_SUCCESS;
        if (!mm)
            return tvmi_fail(vmi, "pid %d has exited (a zombie): it has no "
                             "address space left", (int)pid);
        return tvmi_fail(vmi, "pid %d: its page-table root cannot be read "
                         "(mm 0x%llx has no usable pgd)", (int)pid,
                         (unsigned long long)mm);
    }
    free(out.t);
    if (out.rep.problems)
        return tvmi_fail(vmi, "pid %d is not in the process list, which is "
                         "partial: %s", (int)pid, out.rep.why);
    return tvmi_fail(vmi, "pid %d is not in the process list", (int)pid);
}

/* The first process (leaders come before their threads) whose root is
 * dtb; with pti, the kernel copy of a PTI user root. */
static const tvmi_linux_task_t *by_dtb(const struct listing *out, addr_t dtb,
                                       bool pti)
{
    for (size_t i = 0; i < out->n; i++) {
        const tvmi_linux_task_t *t = &out->t[i];
        if (t->mm && t->dtb && (t->dtb == dtb || (pti && (t->dtb | PTI_USER) == dtb)))
            return t;
    }
    return NULL;
}

status_t lx_dtb_to_pid(vmi_instance_t vmi, addr_t dtb, vmi_pid_t *pid)
{
    struct lx_state *st = lx_state_of(vmi);
    struct listing out = { 0 };
    const tvmi_linux_task_t *t;
    status_t rc = VMI_SUCCESS;

    if (!st || !pid)
        return VMI_FAILURE;
    dtb &= CR3_ADDR; /* a CR3 value: drop PCID and flag bits */
    if (list_tasks(vmi, &out) != VMI_SUCCESS) {
        free(out.t);
        return tvmi_fail_ctx(vmi, "finding the process of dtb 0x%llx",
                             (unsigned long long)dtb);
    }
    t = by_dtb(&out, dtb, false);
    if (!t)
        t = by_dtb(&out, dtb, true);
    if (t)
        *pid = t->tgid;
    else if (dtb == st->info.kdtb || dtb == (vmi->kdtb & CR3_ADDR))
        *pid = 0; /* the kernel's own root (or the one we were given) */
    else
        rc = tvmi_fail(vmi, "no process has page-table root 0x%llx",
                       (unsigned long long)dtb);
    free(out.t);
    return rc;
}
