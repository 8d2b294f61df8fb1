/*
 * A watch event as one line of text, shared by the tinyvmi command and the
 * appliance's console, so that the two say the same thing the same way.
 */
#include "private.h"
#include <tinyvmi/linux.h>

struct line {
    char *p;
    size_t len, used;   /* used may pass len: the line was cut */
};

static void put(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
    va_list ap;
    size_t room = l->used < l->len ? l->len - l->used : 0;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(room ? l->p + l->used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->used += (size_t)n;
}

/* " (also a, b)" from "a,b" */
static void also(struct line *l, const char *names)
{
    if (!*names)
        return;
    put(l, " (also ");
    while (*names) {
        size_t n = 0;
        while (names[n] && names[n] != ',')
            n++;
        put(l, "%.*s%s", (int)n, names, names[n] ? ", " : "");
        names += n + (names[n] == ',');
    }
    put(l, ")");
}

static const char *task_noun(const tvmi_watch_event_t *e)
{
    if (e->task.pid != e->task.tgid)
        return "thread";
    return e->task.kernel_thread ? "kernel thread" : "process";
}

static void task(struct line *l, const tvmi_watch_event_t *e)
{
    put(l, "%s %s: pid %d", task_noun(e),
        e->kind == TVMI_WATCH_TASK_STARTED ? "started" : "exited",
        (int)e->task.tgid);
    if (e->task.pid != e->task.tgid)
        put(l, " tid %d", (int)e->task.pid);
    put(l, " (%s), ppid %d, task 0x%llx", e->task.comm, (int)e->task.ppid,
        (unsigned long long)e->task.task);
}

static void module(struct line *l, const tvmi_watch_event_t *e)
{
    put(l, "module %s: %s at 0x%llx (%llu bytes)",
        e->kind == TVMI_WATCH_MODULE_LOADED ? "loaded" : "unloaded",
        e->module.name, (unsigned long long)e->module.base,
        (unsigned long long)e->module.size);
}

static void text(struct line *l, const tvmi_watch_event_t *e)
{
    const char *what = e->kind == TVMI_WATCH_TEXT_CHANGED ? "changed" : "restored";

    if (e->text.exact) {
        put(l, "kernel text %s: %s+0x%llx (0x%llx): %02x -> %02x", what,
            e->text.symbol ? e->text.symbol : "?",
            (unsigned long long)e->text.offset,
            (unsigned long long)e->text.start, e->text.old[0], e->text.cur[0]);
        also(l, e->text.aliases);
        return;
    }
    put(l, "kernel text %s: 0x%llx-0x%llx (%llu bytes), %s+0x%llx", what,
        (unsigned long long)e->text.start, (unsigned long long)e->text.end,
        (unsigned long long)(e->text.end - e->text.start),
        e->text.symbol ? e->text.symbol : "?", (unsigned long long)e->text.offset);
    also(l, e->text.aliases);
    put(l, " to %s+0x%llx; now", e->text.end_symbol ? e->text.end_symbol : "?",
        (unsigned long long)e->text.end_offset);
    for (size_t i = 0; i < e->text.cur_len && i < TVMI_WATCH_BYTES; i++)
        put(l, " %02x", e->text.cur[i]);
    if (e->text.cur_len < e->text.end - e->text.start)
        put(l, " ...");
}

/* "sym+0x10 (also a)", "0x... (in module m)" or "0x... (outside ...)" */
static void target(struct line *l, addr_t va, const char *sym, addr_t off,
                   const char *aliases, const char *mod)
{
    if (sym) {
        put(l, "%s+0x%llx", sym, (unsigned long long)off);
        also(l, aliases);
    } else if (mod[0]) {
        put(l, "0x%llx (in module %s)", (unsigned long long)va, mod);
    } else {
        put(l, "0x%llx (outside the kernel and its modules)",
            (unsigned long long)va);
    }
}

static void sys_call(struct line *l, const tvmi_watch_event_t *e)
{
    put(l, "system call %u %s: ", e->syscall.index,
        e->kind == TVMI_WATCH_SYSCALL_CHANGED ? "changed" : "restored");
    target(l, e->syscall.old_target, e->syscall.old_symbol,
           e->syscall.old_offset, e->syscall.old_aliases, e->syscall.old_module);
    put(l, " -> ");
    target(l, e->syscall.new_target, e->syscall.new_symbol,
           e->syscall.new_offset, e->syscall.new_aliases, e->syscall.new_module);
}

size_t tvmi_watch_event_text(const tvmi_watch_event_t *e, char *buf, size_t len)
{
    struct line l = { buf, len, 0 };

    if (!e || !buf || !len)
        return 0;
    buf[0] = '\0';
    switch (e->kind) {
    case TVMI_WATCH_TASK_STARTED:
    case TVMI_WATCH_TASK_EXITED:
        task(&l, e);
        break;
    case TVMI_WATCH_MODULE_LOADED:
    case TVMI_WATCH_MODULE_UNLOADED:
        module(&l, e);
        break;
    case TVMI_WATCH_TEXT_CHANGED:
    case TVMI_WATCH_TEXT_RESTORED:
        text(&l, e);
        break;
    case TVMI_WATCH_SYSCALL_CHANGED:
    case TVMI_WATCH_SYSCALL_RESTORED:
        sys_call(&l, e);
        break;
    case TVMI_WATCH_PROBLEM:
        put(&l, "problem (%s): %s", e->problem.what ? e->problem.what : "?",
            e->problem.message);
        break;
    }
    return l.used < len ? l.used : len - 1;
}
