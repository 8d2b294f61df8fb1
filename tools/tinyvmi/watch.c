/*
 * tinyvmi watch: monitor mode. Takes a baseline of the guest (processes,
 * modules, the kernel's text and system call table), then checks it every
 * --interval seconds and prints one line per change: text, or with --json
 * one JSON object per line (JSON lines), each with an "event" member.
 * Runs --count checks, or until SIGINT/SIGTERM, and exits 0 either way.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, nanosleep, localtime_r */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tinyvmi/linux.h>

#include "cli.h"
#include "output.h"

#define INTERVAL_MAX 86400.0 /* a day */

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Without SA_RESTART, so a signal ends the sleep at once. */
static void catch_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Sleeps secs, or less when a stop is asked for. */
static void pause_for(double secs)
{
    double end = now() + secs, left;

    while (!stop_requested && (left = end - now()) > 0) {
        struct timespec ts = { (time_t)left,
                               (long)((left - (double)(time_t)left) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

/* Seconds: digits with an optional fraction ("2", "0.5"). */
static int arg_seconds(const char *cmd, const char *s, double *out)
{
    char *end;
    double v;

    if (!(*s >= '0' && *s <= '9'))
        return usage_error(cmd, "bad interval '%s': not a number of seconds", s);
    errno = 0;
    v = strtod(s, &end);
    if (*end || errno || v > INTERVAL_MAX)
        return usage_error(cmd, "bad interval '%s': want seconds from 0 to %.0f",
                           s, INTERVAL_MAX);
    *out = v;
    return EXIT_OK;
}

/* ---- printing ------------------------------------------------------------------ */

struct printer {
    unsigned long check;  /* 1 for the first check */
};

static void stamp_text(void)
{
    char buf[32];
    time_t t = time(NULL);
    struct tm tm;

    if (localtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%H:%M:%S", &tm))
        out_printf("%s ", buf);
}

static void begin_json(const char *event, const struct printer *p)
{
    json_begin_object(NULL);
    json_string("event", event);
    if (p) {
        json_u64("check", p->check);
        json_u64("time", (uint64_t)time(NULL));
    }
}

static void json_sym(const char *key, const char *sym)
{
    if (sym)
        json_string(key, sym);
    else
        json_null(key);
}

/* "a,b" as ["a","b"] */
static void json_names(const char *key, const char *names)
{
    json_begin_array(key);
    while (*names) {
        size_t n = strcspn(names, ",");
        json_string_bytes(NULL, names, n);
        names += n + (names[n] == ',');
    }
    json_end_array();
}

static void print_baseline(const tvmi_watch_summary_t *s)
{
    char h[32];

    if (out_json) {
        begin_json("baseline", NULL);
        json_bool("threads", s->what & TVMI_WATCH_THREADS);
        json_u64("tasks", s->tasks);
        json_u64("modules", s->modules);
        json_hex("text_start", s->text_start);
        json_hex("text_end", s->text_end);
        json_u64("text_bytes", s->text_end - s->text_start);
        json_u64("block_size", s->block_size);
        json_u64("text_blocks", s->text_blocks);
        json_u64("text_unreadable_pages", s->text_unreadable_pages);
        json_u64("hash_bytes", s->hash_bytes);
        json_hex("syscall_table", s->syscall_table);
        json_u64("syscalls", s->syscalls);
        json_u64("syscalls_outside", s->syscalls_outside);
        json_string("notes", s->notes);
        json_end_object();
        return;
    }
    out_printf("baseline: %zu %s, %zu module%s, kernel text 0x%llx-0x%llx (%s "
               "in %zu blocks of %zu bytes", s->tasks,
               s->what & TVMI_WATCH_THREADS ? "tasks" : "processes", s->modules,
               s->modules == 1 ? "" : "s", (unsigned long long)s->text_start,
               (unsigned long long)s->text_end,
               human_size(h, s->text_end - s->text_start), s->text_blocks,
               s->block_size);
    if (s->text_unreadable_pages)
        out_printf(", %zu pages unreadable", s->text_unreadable_pages);
    out_printf("), %u system calls at 0x%llx", s->syscalls,
               (unsigned long long)s->syscall_table);
    if (s->notes[0])
        out_printf("; %s", s->notes);
    out_puts("\n");
}

/* --json: one object a line, every field; the text is the library's line. */
static void json_task(const tvmi_watch_event_t *e, const struct printer *p)
{
    begin_json(tvmi_watch_kind_name(e->kind), p);
    json_u64("pid", (uint64_t)e->task.tgid);
    json_u64("tid", (uint64_t)e->task.pid);
    if (e->task.ppid >= 0)
        json_u64("ppid", (uint64_t)e->task.ppid);
    else
        json_null("ppid");
    json_string("comm", e->task.comm);
    json_bool("kernel_thread", e->task.kernel_thread);
    json_hex("task", e->task.task);
    json_end_object();
}

static void json_module(const tvmi_watch_event_t *e, const struct printer *p)
{
    begin_json(tvmi_watch_kind_name(e->kind), p);
    json_string("name", e->module.name);
    json_hex("base", e->module.base);
    json_u64("size", e->module.size);
    json_hex("module", e->module.module);
    json_end_object();
}

static void json_text(const tvmi_watch_event_t *e, const struct printer *p)
{
    begin_json(tvmi_watch_kind_name(e->kind), p);
    json_hex("start", e->text.start);
    json_hex("end", e->text.end);
    json_u64("len", e->text.end - e->text.start);
    json_bool("exact", e->text.exact);
    json_sym("symbol", e->text.symbol);
    json_hex("offset", e->text.offset);
    json_names("aliases", e->text.aliases);
    json_sym("end_symbol", e->text.end_symbol);
    json_hex("end_offset", e->text.end_offset);
    json_hexbytes_begin("old");
    json_hexbytes_more(e->text.old, e->text.old_len);
    json_hexbytes_end();
    json_hexbytes_begin("new");
    json_hexbytes_more(e->text.cur, e->text.cur_len);
    json_hexbytes_end();
    json_end_object();
}

static void target_json(const char *prefix, addr_t va, const char *sym,
                        addr_t off, const char *also, const char *mod)
{
    char key[32];

    json_hex(prefix, va);
    snprintf(key, sizeof(key), "%s_symbol", prefix);
    json_sym(key, sym);
    snprintf(key, sizeof(key), "%s_offset", prefix);
    json_hex(key, off);
    snprintf(key, sizeof(key), "%s_aliases", prefix);
    json_names(key, also);
    snprintf(key, sizeof(key), "%s_module", prefix);
    json_string(key, mod);
}

static void json_syscall(const tvmi_watch_event_t *e, const struct printer *p)
{
    begin_json(tvmi_watch_kind_name(e->kind), p);
    json_u64("index", e->syscall.index);
    target_json("old", e->syscall.old_target, e->syscall.old_symbol,
                e->syscall.old_offset, e->syscall.old_aliases,
                e->syscall.old_module);
    target_json("new", e->syscall.new_target, e->syscall.new_symbol,
                e->syscall.new_offset, e->syscall.new_aliases,
                e->syscall.new_module);
    json_hex("original", e->syscall.original);
    json_end_object();
}

static void json_problem(const tvmi_watch_event_t *e, const struct printer *p)
{
    begin_json("problem", p);
    json_string("what", e->problem.what);
    if (e->problem.end) {
        json_hex("start", e->problem.start);
        json_hex("end", e->problem.end);
    }
    json_string("message", e->problem.message);
    json_end_object();
}

static void print_event(const tvmi_watch_event_t *e, void *arg)
{
    const struct printer *p = arg;
    char line[1024];

    if (!out_json) {
        tvmi_watch_event_text(e, line, sizeof(line));
        stamp_text();
        out_printf("%s\n", line);
        return;
    }
    switch (e->kind) {
    case TVMI_WATCH_TASK_STARTED:
    case TVMI_WATCH_TASK_EXITED:
        json_task(e, p);
        break;
    case TVMI_WATCH_MODULE_LOADED:
    case TVMI_WATCH_MODULE_UNLOADED:
        json_module(e, p);
        break;
    case TVMI_WATCH_TEXT_CHANGED:
    case TVMI_WATCH_TEXT_RESTORED:
        json_text(e, p);
        break;
    case TVMI_WATCH_SYSCALL_CHANGED:
    case TVMI_WATCH_SYSCALL_RESTORED:
        json_syscall(e, p);
        break;
    case TVMI_WATCH_PROBLEM:
        json_problem(e, p);
        break;
    }
}

/* ---- the command --------------------------------------------------------------- */

enum { O_INTERVAL, O_COUNT, O_THREADS };
static const struct opt watch_opts[] = {
    [O_INTERVAL] = { "interval", true },
    [O_COUNT] = { "count", true },
    [O_THREADS] = { "threads", false },
    { NULL, false },
};

static int watch_loop(vmi_instance_t vmi, tvmi_linux_watch_t *w, double interval,
                      uint64_t count)
{
    struct printer p = { 0 };

    while (!stop_requested && (!count || p.check < count) && !out_broken()) {
        pause_for(interval);
        if (stop_requested)
            break;
        p.check++;
        if (tvmi_linux_watch_check(vmi, w, print_event, &p) != VMI_SUCCESS)
            return fail("watch: %s", tvmi_last_error(vmi));
        out_flush();
    }
    return EXIT_OK;
}

static int run_watch(const struct global *g, const struct args *a)
{
    double interval = 2;
    uint64_t count = 0;
    unsigned what = TVMI_WATCH_ALL;
    tvmi_linux_watch_t *w;
    tvmi_watch_summary_t s;
    vmi_instance_t vmi;
    int rc;

    if (a->val[O_INTERVAL] &&
        (rc = arg_seconds("watch", a->val[O_INTERVAL], &interval)) != EXIT_OK)
        return rc;
    if (a->val[O_COUNT] &&
        (rc = arg_u64("watch", "count", a->val[O_COUNT], &count)) != EXIT_OK)
        return rc;
    if (a->val[O_COUNT] && !count)
        return usage_error("watch", "--count must be at least 1");
    if (a->val[O_THREADS])
        what |= TVMI_WATCH_THREADS;
    catch_stop_signals();
    if ((rc = target_open_os(g, "watch", &vmi)) != EXIT_OK)
        return rc;
    if (!(w = tvmi_linux_watch_new(vmi, what))) {
        rc = fail("watch: %s", tvmi_last_error(vmi));
        vmi_destroy(vmi);
        return rc;
    }
    tvmi_linux_watch_summary(w, &s);
    print_baseline(&s);
    out_flush();
    rc = watch_loop(vmi, w, interval, count);
    tvmi_linux_watch_free(w);
    vmi_destroy(vmi);
    return rc;
}

const struct command cmd_watch = {
    .name = "watch",
    .summary = "report processes, modules and kernel code as they change",
    .help =
        "usage: tinyvmi --file PATH|--xen NAME watch [--interval SECS]\n"
        "                  [--count N] [--threads] [--json]\n"
        "                  [--profile F | --sysmap F | --btf F | --config F]\n"
        "\n"
        "Monitor mode. Takes a baseline of the Linux guest, then every\n"
        "--interval seconds (default 2; fractions allowed) reports what\n"
        "changed since the last check, one line per event:\n"
        "  - processes started and exited (every thread with --threads);\n"
        "  - kernel modules loaded and unloaded;\n"
        "  - the kernel's code (_stext.._etext): hashed in 64-byte blocks at\n"
        "    the start; a change is reported once with the symbol it falls\n"
        "    in (a one-byte change with its address and old and new byte,\n"
        "    a larger one as the blocks it touched), and again when changed\n"
        "    further or put back. Kernels patch their own code at run time\n"
        "    (static keys, ftrace): such changes are reported too;\n"
        "  - the system call table: each entry whose target changed, with\n"
        "    the old and new target's symbol (or module);\n"
        "  - problems: a list that could not be walked completely (no exit\n"
        "    is reported from it), code that cannot be read any more.\n"
        "The first line says what the baseline holds. Runs --count checks,\n"
        "or until SIGINT or SIGTERM; exits 0 either way.\n"
        "\n"
        "JSON: one object per line, each with an \"event\" member: baseline,\n"
        "task_started, task_exited, module_loaded, module_unloaded,\n"
        "text_changed, text_restored, syscall_changed, syscall_restored,\n"
        "problem; events carry \"check\" (its number) and \"time\" (Unix\n"
        "seconds).\n",
    .opts = watch_opts,
    .run = run_watch,
    .json_array = true,
};
