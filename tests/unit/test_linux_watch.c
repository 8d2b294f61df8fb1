/*
 * Monitor mode (tvmi_linux_watch_*) on the real corpus: a snapshot's RAM
 * is copied into the synthetic guest (tests/support/memdrv) so it can be
 * changed under the watch, the way a rootkit or the lab's writes would:
 *
 *   - a quiet guest: no events, and a baseline that matches the guest's
 *     own lists (truth/tasks.tsv, truth/modules.txt, truth/kallsyms.txt);
 *   - one byte of kernel text (__x64_sys_getpid + 5): one event naming
 *     that symbol and offset with the old and new byte; not repeated;
 *     changed again and put back: reported each time;
 *   - several bytes, and two bytes across a 64-byte block boundary: the
 *     range covers them (pinned to the bytes where one byte per block);
 *   - sys_call_table[__NR_getpid] pointed at __x64_sys_getppid, then into
 *     the module: index and both targets named; put back: reported;
 *   - a process and the module unlinked from their lists: exited and
 *     unloaded, named as the guest named them; linked back: started and
 *     loaded again;
 *   - hostile: a task list loop (a problem, no false exits, no hang) and a
 *     text page that cannot be read (a problem, once).
 *
 * One snapshot per kernel release in the corpus (their layouts differ).
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <tinyvmi/linux.h>
#include "corpus.h"
#include "memdrv.h"
#include "snapguest.h"

#define MAX_SECONDS 2.0  /* one check, whatever was broken */
#define MAX_EVENTS 256
#define NR_GETPID 39     /* x86-64 */

static struct snapguest cur;
static tvmi_watch_event_t events[MAX_EVENTS];
static size_t nevents;

/* ---- the guest --------------------------------------------------------------- */

static int setup(void **state)
{
    snapguest_load(&cur, *state);
    nevents = 0;
    return 0;
}

/* Undoes every patch and hole of the test, even a failed one. */
static int teardown(void **state)
{
    (void)state;
    snapguest_undo(&cur);
    return 0;
}

static void poke64(addr_t va, uint64_t v)
{
    snapguest_patch(&cur, va, &v, 8);
}

static uint8_t peek8(addr_t va)
{
    return cur.g->mem[snapguest_pa(&cur, va)];
}

static uint64_t peek64(addr_t va)
{
    uint64_t v;

    memcpy(&v, cur.g->mem + snapguest_pa(&cur, va), 8);
    return v;
}

static size_t off(const char *st, const char *member)
{
    size_t o;

    assert_int_equal(tvmi_linux_struct_offset(cur.vmi, st, member, &o), VMI_SUCCESS);
    return o;
}

static addr_t truth_sym(const char *name)
{
    uint64_t a;

    if (corpus_kallsym(cur.snap, name, &a))
        fail_msg("%s: no %s in truth/kallsyms.txt", cur.snap->dir, name);
    return a;
}

/* name is a symbol of the guest's at addr (the kernel has aliases:
 * __ia32_sys_getpid and __x64_sys_getpid are one function). */
static bool truth_alias(addr_t addr, const char *name)
{
    char line[512], sym[256], type;
    unsigned long long a;
    FILE *f = fopen(corpus_path(cur.snap, "truth/kallsyms.txt"), "r");
    bool found = false;

    assert_non_null(f);
    while (!found && fgets(line, sizeof(line), f))
        found = sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 &&
                a == addr && !strcmp(sym, name);
    fclose(f);
    return found;
}

/* got (and each of its aliases, when given) is the guest's name for addr,
 * and want is among them. */
static void assert_sym(const char *got, const char *also, addr_t addr,
                       const char *want)
{
    char names[512], *name, *save = NULL;
    bool wanted;

    if (!got || !truth_alias(addr, got))
        fail_msg("symbol '%s' is not the guest's name for 0x%llx (%s)",
                 got ? got : "(null)", (unsigned long long)addr, want);
    wanted = !strcmp(got, want);
    snprintf(names, sizeof(names), "%s", also ? also : "");
    for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (!truth_alias(addr, name))
            fail_msg("alias '%s' is not the guest's name for 0x%llx",
                     name, (unsigned long long)addr);
        wanted |= !strcmp(name, want);
    }
    if (also && !wanted)
        fail_msg("%s is neither '%s' nor among its aliases '%s'", want, got, also);
}

/* ---- watching ------------------------------------------------------------------ */

static void collect(const tvmi_watch_event_t *ev, void *arg)
{
    (void)arg;
    assert_true(nevents < MAX_EVENTS);
    events[nevents++] = *ev;
}

static tvmi_linux_watch_t *watch(unsigned what)
{
    double t0 = test_now();
    tvmi_linux_watch_t *w = tvmi_linux_watch_new(cur.vmi, what);

    if (!w)
        fail_msg("%s: %s", cur.snap->dir, tvmi_last_error(cur.vmi));
    print_message("    baseline in %.1f ms\n", (test_now() - t0) * 1e3);
    return w;
}

static void print_event(const tvmi_watch_event_t *e)
{
    switch (e->kind) {
    case TVMI_WATCH_TEXT_CHANGED:
    case TVMI_WATCH_TEXT_RESTORED:
        print_message("    %s 0x%llx-0x%llx %s+0x%llx (also %s) exact %d\n",
                      tvmi_watch_kind_name(e->kind),
                      (unsigned long long)e->text.start,
                      (unsigned long long)e->text.end,
                      e->text.symbol ? e->text.symbol : "?",
                      (unsigned long long)e->text.offset, e->text.aliases,
                      e->text.exact);
        break;
    case TVMI_WATCH_PROBLEM:
        print_message("    problem (%s): %s\n", e->problem.what,
                      e->problem.message);
        break;
    case TVMI_WATCH_SYSCALL_CHANGED:
    case TVMI_WATCH_SYSCALL_RESTORED:
        print_message("    %s %u: %s (also %s) -> %s (also %s) %s\n",
                      tvmi_watch_kind_name(e->kind), e->syscall.index,
                      e->syscall.old_symbol ? e->syscall.old_symbol : "?",
                      e->syscall.old_aliases,
                      e->syscall.new_symbol ? e->syscall.new_symbol : "?",
                      e->syscall.new_aliases, e->syscall.new_module);
        break;
    default:
        print_message("    %s\n", tvmi_watch_kind_name(e->kind));
    }
}

/* One check, quickly; returns how many events it gave. */
static size_t check(tvmi_linux_watch_t *w)
{
    double t0 = test_now(), secs;

    nevents = 0;
    assert_int_equal(tvmi_linux_watch_check(cur.vmi, w, collect, NULL), VMI_SUCCESS);
    secs = test_now() - t0;
    print_message("    check: %zu events in %.1f ms\n", nevents, secs * 1e3);
    for (size_t i = 0; i < nevents; i++)
        print_event(&events[i]);
    assert_true(secs < MAX_SECONDS);
    return nevents;
}

static const tvmi_watch_event_t *only_event(tvmi_linux_watch_t *w,
                                            tvmi_watch_kind_t kind)
{
    assert_int_equal(check(w), 1);
    assert_int_equal(events[0].kind, kind);
    return &events[0];
}

/* ---- truth --------------------------------------------------------------------- */

struct ttask {
    int tid, tgid, ppid;
    char comm[128];
};

/* The task of truth/tasks.tsv called comm (a process). */
static bool truth_task(const char *comm, struct ttask *t)
{
    char line[512];
    FILE *f = fopen(corpus_path(cur.snap, "truth/tasks.tsv"), "r");
    bool found = false;

    assert_non_null(f);
    while (!found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        found = sscanf(line, "%d\t%d\t%d\t%127[^\n]", &t->tid, &t->tgid,
                       &t->ppid, t->comm) == 4 &&
                !strcmp(t->comm, comm) && t->tid == t->tgid;
    }
    fclose(f);
    return found;
}

static size_t truth_threads(int tgid)
{
    char line[512];
    FILE *f = fopen(corpus_path(cur.snap, "truth/tasks.tsv"), "r");
    size_t n = 0;
    int tid, tg;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        n += sscanf(line, "%d\t%d\t", &tid, &tg) == 2 && tg == tgid;
    fclose(f);
    return n;
}

static size_t truth_processes(void)
{
    char line[512];
    FILE *f = fopen(corpus_path(cur.snap, "truth/tasks.tsv"), "r");
    size_t n = 0;
    int tid, tgid;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        n += sscanf(line, "%d\t%d\t", &tid, &tgid) == 2 && tid == tgid;
    fclose(f);
    return n;
}

/* The first line of truth/modules.txt: name and base. */
static void truth_module(char *name, size_t len, uint64_t *base)
{
    char line[512], n[64], rest[5][64];
    FILE *f = fopen(corpus_path(cur.snap, "truth/modules.txt"), "r");
    unsigned long long b;

    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_int_equal(sscanf(line, "%63s %63s %63s %63s %63s %llx", n, rest[0],
                            rest[1], rest[2], rest[3], &b), 6);
    snprintf(name, len, "%s", n);
    *base = b;
}

/* ---- a quiet guest ------------------------------------------------------------- */

static void test_quiet(void **state)
{
    tvmi_linux_watch_t *w = watch(TVMI_WATCH_ALL);
    tvmi_watch_summary_t s;
    char name[64];
    uint64_t base;
    size_t procs = truth_processes();

    tvmi_linux_watch_summary(w, &s);
    print_message("    %zu processes, %zu modules, text 0x%llx-0x%llx (%zu "
                  "blocks, %zu bytes of hashes, %zu unreadable pages), %u "
                  "syscalls; notes: %s\n", s.tasks, s.modules,
                  (unsigned long long)s.text_start,
                  (unsigned long long)s.text_end, s.text_blocks, s.hash_bytes,
                  s.text_unreadable_pages, s.syscalls, s.notes);
    assert_int_equal(s.what, TVMI_WATCH_ALL);
    /* the guest's processes and pid 0; kworkers may come and go */
    assert_true(s.tasks >= procs - 8 && s.tasks <= procs + 9);
    truth_module(name, sizeof(name), &base);
    assert_int_equal(s.modules, 1);
    assert_int_equal(s.text_start, truth_sym("_stext") & ~0xfffull);
    assert_int_equal(s.text_end, (truth_sym("_etext") + 63) & ~63ull);
    assert_int_equal(s.text_blocks, (s.text_end - s.text_start) / 64);
    assert_int_equal(s.text_unreadable_pages, 0);
    /* a CRC per 64-byte block and a byte per page: 1/16 of the text (1 MiB
     * for 6.x's 16 MiB, 1.2 MiB for 7.2's 19 MiB) */
    assert_true(s.hash_bytes <= s.text_blocks * 4 +
                                (s.text_end - s.text_start) / 4096 + 1);
    assert_int_equal(s.syscall_table, truth_sym("sys_call_table"));
    assert_true(s.syscalls > NR_GETPID && s.syscalls <= 1024);
    assert_int_equal(s.syscalls_outside, 0);
    assert_int_equal(check(w), 0);
    assert_int_equal(check(w), 0);
    tvmi_linux_watch_free(w);
}

/* ---- kernel text -------------------------------------------------------------- */

static void test_text_byte(void **state)
{
    addr_t fn = truth_sym("__x64_sys_getpid"), at = fn + 5;
    uint8_t orig = peek8(at), bad = orig ^ 0xff, worse = 0xcc;
    tvmi_linux_watch_t *w = watch(TVMI_WATCH_ALL);
    const tvmi_watch_event_t *e;

    if (worse == orig || worse == bad)
        worse = 0x90;
    snapguest_patch(&cur, at, &bad, 1);
    e = only_event(w, TVMI_WATCH_TEXT_CHANGED);
    assert_int_equal(e->text.start, at);
    assert_int_equal(e->text.end, at + 1);
    assert_true(e->text.exact);
    assert_sym(e->text.symbol, e->text.aliases, fn, "__x64_sys_getpid");
    assert_int_equal(e->text.offset, 5);
    assert_int_equal(e->text.old_len, 1);
    assert_int_equal(e->text.cur_len, 1);
    assert_int_equal(e->text.old[0], orig);
    assert_int_equal(e->text.cur[0], bad);
    assert_int_equal(check(w), 0); /* reported once */

    snapguest_patch(&cur, at, &worse, 1); /* changed again */
    e = only_event(w, TVMI_WATCH_TEXT_CHANGED);
    assert_int_equal(e->text.start, at);
    assert_int_equal(e->text.old[0], bad);
    assert_int_equal(e->text.cur[0], worse);

    teardown(NULL); /* put back */
    e = only_event(w, TVMI_WATCH_TEXT_RESTORED);
    assert_int_equal(e->text.start, at);
    assert_true(e->text.exact);
    assert_sym(e->text.symbol, e->text.aliases, fn, "__x64_sys_getpid");
    assert_int_equal(e->text.old[0], worse);
    assert_int_equal(e->text.cur[0], orig);
    assert_int_equal(check(w), 0);
    tvmi_linux_watch_free(w);
}

/* Five bytes (a call's size) inside one function: the blocks they touch. */
static void test_text_bytes(void **state)
{
    addr_t fn = truth_sym("do_sys_open"), at = fn + 0x44, block = at & ~63ull;
    uint8_t call[5] = { 0xe8, 0x11, 0x22, 0x33, 0x44 };
    tvmi_linux_watch_t *w = watch(TVMI_WATCH_TEXT);
    const tvmi_watch_event_t *e;

    snapguest_patch(&cur, at, call, sizeof(call));
    e = only_event(w, TVMI_WATCH_TEXT_CHANGED);
    assert_false(e->text.exact);
    assert_true(at - block + 5 <= 64); /* in one block */
    assert_int_equal(e->text.start, block);
    assert_int_equal(e->text.end, block + 64);
    assert_sym(e->text.symbol, e->text.aliases, fn, "do_sys_open");
    assert_int_equal(e->text.offset, block - fn);
    assert_sym(e->text.end_symbol, NULL, fn, "do_sys_open");
    assert_int_equal(e->text.end_offset, block + 63 - fn);
    assert_int_equal(e->text.old_len, 0);
    assert_int_equal(e->text.cur_len, 16);
    assert_memory_equal(e->text.cur, cur.g->mem + snapguest_pa(&cur, block), 16);
    tvmi_linux_watch_free(w);
}

/* Two bytes, one each side of a block boundary: both ends pinned. */
static void test_text_across_blocks(void **state)
{
    addr_t fn = truth_sym("do_sys_open"), at = ((fn + 0x40) & ~63ull) - 1;
    uint8_t two[2] = { (uint8_t)(peek8(at) ^ 0x5a), (uint8_t)(peek8(at + 1) ^ 0xa5) };
    tvmi_linux_watch_t *w = watch(TVMI_WATCH_TEXT);
    const tvmi_watch_event_t *e;

    snapguest_patch(&cur, at, two, 2);
    e = only_event(w, TVMI_WATCH_TEXT_CHANGED);
    assert_int_equal(e->text.start, at);
    assert_int_equal(e->text.end, at + 2);
    assert_false(e->text.exact);
    assert_int_equal(e->text.old_len, 1);
    assert_int_equal(e->text.old[0], two[0] ^ 0x5a);
    assert_int_equal(e->text.cur_len, 2);
    assert_memory_equal(e->text.cur, two, 2);
    assert_sym(e->text.symbol, e->text.aliases, fn, "do_sys_open");
    assert_int_equal(e->text.offset, at - fn);
    assert_int_equal(e->text.end_offset, at + 1 - fn);
    tvmi_linux_watch_free(w);
}

/* A text page the hypervisor cannot map any more: a problem, once. */
static void test_text_unreadable(void **state)
{
    addr_t at = truth_sym("do_sys_open");
    tvmi_linux_watch_t *w = watch(TVMI_WATCH_TEXT);
    const tvmi_watch_event_t *e;

    memguest_hole(cur.g, snapguest_pa(&cur, at) >> 12);
    e = only_event(w, TVMI_WATCH_PROBLEM);
    assert_string_equal(e->problem.what, "text");
    assert_int_equal(e->problem.start, at & ~0xfffull);
    assert_int_equal(e->problem.end, (at & ~0xfffull) + 4096);
    assert_non_null(strstr(e->problem.message, "cannot be read"));
    assert_int_equal(check(w), 0);
    memset(cur.g->hole, 0, cur.g->size / 4096);
    assert_int_equal(check(w), 0); /* readable again, unchanged */
    tvmi_linux_watch_free(w);
}

/* Unreadable at the start: not fatal, watched once it can be read. */
static void test_text_unreadable_at_start(void **state)
{
    addr_t at = truth_sym("do_sys_open");
    uint8_t bad = peek8(at) ^ 1;
    tvmi_linux_watch_t *w;
    tvmi_watch_summary_t s;

    memguest_hole(cur.g, snapguest_pa(&cur, at) >> 12);
    w = watch(TVMI_WATCH_TEXT);
    tvmi_linux_watch_summary(w, &s);
    assert_int_equal(s.text_unreadable_pages, 1);
    assert_non_null(strstr(s.notes, "cannot be read"));
    assert_int_equal(check(w), 0);
    memset(cur.g->hole, 0, cur.g->size / 4096);
    assert_int_equal(check(w), 0); /* hashed now */
    tvmi_linux_watch_summary(w, &s);
    assert_int_equal(s.text_unreadable_pages, 0);
    snapguest_patch(&cur, at, &bad, 1);
    assert_int_equal(only_event(w, TVMI_WATCH_TEXT_CHANGED)->text.start, at);
    tvmi_linux_watch_free(w);
}

/* ---- system calls ------------------------------------------------------------- */

static void test_syscall(void **state)
{
    addr_t table = truth_sym("sys_call_table");
    addr_t getpid = truth_sym("__x64_sys_getpid"), getppid = truth_sym("__x64_sys_getppid");
    addr_t entry = table + 8 * NR_GETPID;
    tvmi_linux_watch_t *w;
    const tvmi_watch_event_t *e;
    char name[64];
    uint64_t base;

    assert_int_equal(peek64(entry), getpid); /* the guest's own table */
    w = watch(TVMI_WATCH_ALL);
    poke64(entry, getppid);
    e = only_event(w, TVMI_WATCH_SYSCALL_CHANGED);
    assert_int_equal(e->syscall.index, NR_GETPID);
    assert_int_equal(e->syscall.old_target, getpid);
    assert_int_equal(e->syscall.new_target, getppid);
    assert_int_equal(e->syscall.original, getpid);
    assert_sym(e->syscall.old_symbol, e->syscall.old_aliases, getpid,
               "__x64_sys_getpid");
    assert_sym(e->syscall.new_symbol, e->syscall.new_aliases, getppid,
               "__x64_sys_getppid");
    assert_int_equal(e->syscall.old_offset, 0);
    assert_int_equal(e->syscall.new_offset, 0);
    assert_int_equal(check(w), 0);

    truth_module(name, sizeof(name), &base); /* a hook in a module */
    poke64(entry, base + 0x10);
    e = only_event(w, TVMI_WATCH_SYSCALL_CHANGED);
    assert_int_equal(e->syscall.old_target, getppid);
    assert_null(e->syscall.new_symbol);
    assert_string_equal(e->syscall.new_module, name);

    teardown(NULL);
    e = only_event(w, TVMI_WATCH_SYSCALL_RESTORED);
    assert_int_equal(e->syscall.index, NR_GETPID);
    assert_int_equal(e->syscall.new_target, getpid);
    assert_string_equal(e->syscall.old_module, name);
    assert_sym(e->syscall.new_symbol, e->syscall.new_aliases, getpid,
               "__x64_sys_getpid");
    assert_int_equal(check(w), 0);
    tvmi_linux_watch_free(w);
}

/* ---- tasks and modules -------------------------------------------------------- */

/* The task_struct of the process the guest called comm. */
static addr_t task_of(const char *comm, int pid)
{
    tvmi_linux_task_t *t;
    size_t n;
    int partial;
    addr_t va = 0;

    assert_int_equal(tvmi_linux_tasks(cur.vmi, &t, &n, &partial), VMI_SUCCESS);
    for (size_t i = 0; i < n; i++)
        if (t[i].pid == pid && !strcmp(t[i].comm, comm))
            va = t[i].task;
    free(t);
    if (!va)
        fail_msg("no pid %d (%s) in the listing", pid, comm);
    return va;
}

/* Takes the list_head at node out of its list, as list_del would. */
static void unlink_node(addr_t node)
{
    addr_t next = peek64(node), prev = peek64(node + 8);

    poke64(prev, next);     /* prev->next */
    poke64(next + 8, prev); /* next->prev */
}

static void test_task_exit(void **state)
{
    struct ttask t;
    addr_t task;
    tvmi_linux_watch_t *w;
    const tvmi_watch_event_t *e;

    assert_true(truth_task("target-alpha", &t));
    task = task_of("target-alpha", t.tid);
    w = watch(TVMI_WATCH_TASKS);
    unlink_node(task + off("task_struct", "tasks"));
    e = only_event(w, TVMI_WATCH_TASK_EXITED);
    assert_int_equal(e->task.pid, t.tid);
    assert_int_equal(e->task.tgid, t.tgid);
    assert_int_equal(e->task.ppid, t.ppid);
    assert_string_equal(e->task.comm, t.comm);
    assert_int_equal(e->task.task, task);
    assert_false(e->task.kernel_thread);
    assert_int_equal(check(w), 0);

    teardown(NULL); /* back in the list: a start, as a new task would be */
    e = only_event(w, TVMI_WATCH_TASK_STARTED);
    assert_int_equal(e->task.pid, t.tid);
    assert_string_equal(e->task.comm, t.comm);
    assert_int_equal(check(w), 0);
    tvmi_linux_watch_free(w);
}

/* With threads watched, a process that goes takes its threads along. */
static void test_threads_exit(void **state)
{
    struct ttask t;
    addr_t task;
    tvmi_linux_watch_t *w;
    size_t want;

    assert_true(truth_task("target-threads", &t));
    want = truth_threads(t.tgid);
    assert_true(want >= 2);
    task = task_of("target-threads", t.tid);
    w = watch(TVMI_WATCH_THREADS);
    unlink_node(task + off("task_struct", "tasks"));
    assert_int_equal(check(w), want);
    for (size_t i = 0; i < nevents; i++) {
        assert_int_equal(events[i].kind, TVMI_WATCH_TASK_EXITED);
        assert_int_equal(events[i].task.tgid, t.tgid);
        assert_string_equal(events[i].task.comm, "target-threads");
    }
    tvmi_linux_watch_free(w);
}

static void test_module_unload(void **state)
{
    char name[64];
    uint64_t base;
    addr_t head;
    tvmi_linux_watch_t *w = watch(TVMI_WATCH_MODULES);
    const tvmi_watch_event_t *e;

    truth_module(name, sizeof(name), &base);
    assert_int_equal(vmi_translate_ksym2v(cur.vmi, "modules", &head), VMI_SUCCESS);
    unlink_node(peek64(head)); /* the newest module: the list's first */
    e = only_event(w, TVMI_WATCH_MODULE_UNLOADED);
    assert_string_equal(e->module.name, name);
    assert_int_equal(e->module.base, base);
    assert_int_equal(check(w), 0);
    teardown(NULL);
    e = only_event(w, TVMI_WATCH_MODULE_LOADED);
    assert_string_equal(e->module.name, name);
    assert_int_equal(e->module.base, base);
    tvmi_linux_watch_free(w);
}

/* ---- hostile ------------------------------------------------------------------- */

/* A task list that loops: a problem (once), no exit reported for what the
 * walk could not reach, and no hang. */
static void test_task_loop(void **state)
{
    struct ttask a, b;
    addr_t na, nb;
    tvmi_linux_watch_t *w = watch(TVMI_WATCH_THREADS | TVMI_WATCH_MODULES);

    assert_true(truth_task("target-gamma", &a));
    assert_true(truth_task("target-alpha", &b));
    na = task_of("target-gamma", a.tid) + off("task_struct", "tasks");
    nb = task_of("target-alpha", b.tid) + off("task_struct", "tasks");
    poke64(na, nb); /* gamma's next goes back to alpha */
    assert_int_equal(check(w), 1);
    assert_int_equal(events[0].kind, TVMI_WATCH_PROBLEM);
    assert_string_equal(events[0].problem.what, "tasks");
    assert_non_null(strstr(events[0].problem.message, "loops"));
    assert_int_equal(check(w), 0); /* the same problem: not again */
    /* broken both ways: the tasks after gamma cannot be reached, and are
     * not reported as exited */
    teardown(NULL);
    poke64(na, 0x8000dead00000000ull);
    poke64(truth_sym("init_task") + off("task_struct", "tasks") + 8,
           0x8000beef00000000ull);
    assert_int_equal(check(w), 1);
    assert_int_equal(events[0].kind, TVMI_WATCH_PROBLEM);
    assert_non_null(strstr(events[0].problem.message, "not in the kernel's memory"));
    teardown(NULL);
    assert_int_equal(check(w), 0); /* whole again: nothing changed */
    tvmi_linux_watch_free(w);
}

static void test_bad_args(void **state)
{
    tvmi_linux_watch_t *w;

    assert_null(tvmi_linux_watch_new(cur.vmi, 0));
    assert_non_null(strstr(tvmi_last_error(cur.vmi), "nothing to watch"));
    assert_null(tvmi_linux_watch_new(NULL, TVMI_WATCH_ALL));
    w = watch(TVMI_WATCH_MODULES);
    assert_int_not_equal(tvmi_linux_watch_check(cur.vmi, w, NULL, NULL), VMI_SUCCESS);
    tvmi_linux_watch_free(w);
    tvmi_linux_watch_free(NULL);
    assert_string_equal(tvmi_watch_kind_name(TVMI_WATCH_SYSCALL_RESTORED),
                        "syscall_restored");
}

/* ---- driver ---------------------------------------------------------------------- */

static const struct corpus_case cases[] = {
    { "quiet", test_quiet },
    { "text_byte", test_text_byte },
    { "text_bytes", test_text_bytes },
    { "text_across_blocks", test_text_across_blocks },
    { "text_unreadable", test_text_unreadable },
    { "text_unreadable_at_start", test_text_unreadable_at_start },
    { "syscall", test_syscall },
    { "task_exit", test_task_exit },
    { "threads_exit", test_threads_exit },
    { "module_unload", test_module_unload },
    { "task_loop", test_task_loop },
    { "bad_args", test_bad_args },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

int main(void)
{
    int rc = corpus_run_per_kernel("linux_watch", cases, NCASES, setup, teardown);

    snapguest_unload(&cur);
    return rc;
}
