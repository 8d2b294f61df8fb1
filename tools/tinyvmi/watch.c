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

static void begin_json(const char *event, const struct printer *p)
{
    json_begin_object(NULL);
    json_string("event", event);
    if (p) {
        json_u64("check", p->check);
        json_u64("time", (uint64_t)time(NULL));
    }
}

/* The library says which fields; these say them in the command's JSON. */
static void sink_str(void *c, const char *k, const char *v) { (void)c; json_string(k, v); }
static void sink_null(void *c, const char *k) { (void)c; json_null(k); }
static void sink_u64(void *c, const char *k, uint64_t v) { (void)c; json_u64(k, v); }
static void sink_hex(void *c, const char *k, uint64_t v) { (void)c; json_hex(k, v); }
static void sink_bool(void *c, const char *k, int v) { (void)c; json_bool(k, v != 0); }

static void sink_bytes(void *c, const char *k, const uint8_t *b, size_t n)
{
    (void)c;
    json_hexbytes_begin(k);
    json_hexbytes_more(b, n);
    json_hexbytes_end();
}

/* "a,b" as ["a","b"] */
static void sink_names(void *c, const char *key, const char *names)
{
    (void)c;
    json_begin_array(key);
    while (*names) {
        size_t n = strcspn(names, ",");
        json_string_bytes(NULL, names, n);
        names += n + (names[n] == ',');
    }
    json_end_array();
}

static const tvmi_field_sink_t json_sink = {
    .str = sink_str, .null = sink_null, .u64 = sink_u64, .hex = sink_hex,
    .boolean = sink_bool, .bytes = sink_bytes, .names = sink_names,
};

static void print_baseline(const tvmi_watch_summary_t *s)
{
    char h[32];

    if (out_json) {
        begin_json("baseline", NULL);
        tvmi_watch_summary_fields(s, &json_sink);
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

static void print_event(const tvmi_watch_event_t *e, void *arg)
{
    const struct printer *p = arg;
    char line[1024];

    if (!out_json) {
        tvmi_watch_event_text(e, line, sizeof(line));
        out_time_stamp();
        out_printf("%s\n", line);
        return;
    }
    /* --json: one object a line, every field; the text is the library's line. */
    begin_json(tvmi_watch_kind_name(e->kind), p);
    tvmi_watch_event_fields(e, &json_sink);
    json_end_object();
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
