/*
 * A watch event's and baseline's fields, one sink call a field, so the
 * tinyvmi command's --json and the appliance's JSON lines carry the same
 * keys with the same meaning; each adds only its own envelope ("type",
 * "seq", "check", "time").
 */
#include "private.h"
#include <tinyvmi/linux.h>

static void sym_or_null(const tvmi_field_sink_t *s, const char *key, const char *sym)
{
    if (sym)
        s->str(s->ctx, key, sym);
    else
        s->null(s->ctx, key);
}

static void task(const tvmi_watch_event_t *e, const tvmi_field_sink_t *s)
{
    s->u64(s->ctx, "pid", (uint64_t)e->task.tgid);
    s->u64(s->ctx, "tid", (uint64_t)e->task.pid);
    if (e->task.ppid >= 0)
        s->u64(s->ctx, "ppid", (uint64_t)e->task.ppid);
    else
        s->null(s->ctx, "ppid");
    s->str(s->ctx, "comm", e->task.comm);
    s->boolean(s->ctx, "kernel_thread", e->task.kernel_thread != 0);
    s->hex(s->ctx, "task", e->task.task);
}

static void module(const tvmi_watch_event_t *e, const tvmi_field_sink_t *s)
{
    s->str(s->ctx, "name", e->module.name);
    s->hex(s->ctx, "base", e->module.base);
    s->u64(s->ctx, "size", e->module.size);
    s->hex(s->ctx, "module", e->module.module);
}

static void text(const tvmi_watch_event_t *e, const tvmi_field_sink_t *s)
{
    size_t old_len = e->text.old_len < TVMI_WATCH_BYTES ? e->text.old_len : TVMI_WATCH_BYTES;
    size_t cur_len = e->text.cur_len < TVMI_WATCH_BYTES ? e->text.cur_len : TVMI_WATCH_BYTES;

    s->hex(s->ctx, "start", e->text.start);
    s->hex(s->ctx, "end", e->text.end);
    s->u64(s->ctx, "len", e->text.end - e->text.start);
    s->boolean(s->ctx, "exact", e->text.exact != 0);
    sym_or_null(s, "symbol", e->text.symbol);
    s->hex(s->ctx, "offset", e->text.offset);
    s->names(s->ctx, "aliases", e->text.aliases);
    sym_or_null(s, "end_symbol", e->text.end_symbol);
    s->hex(s->ctx, "end_offset", e->text.end_offset);
    s->bytes(s->ctx, "old", e->text.old, old_len);
    s->bytes(s->ctx, "new", e->text.cur, cur_len);
}

/* old, old_symbol, old_offset, old_aliases, old_module (or new_...) */
static void target(const tvmi_field_sink_t *s, const char *side, addr_t va,
                   const char *sym, addr_t off, const char *aliases, const char *mod)
{
    char key[32];

    s->hex(s->ctx, side, va);
    snprintf(key, sizeof key, "%s_symbol", side);
    sym_or_null(s, key, sym);
    snprintf(key, sizeof key, "%s_offset", side);
    s->hex(s->ctx, key, off);
    snprintf(key, sizeof key, "%s_aliases", side);
    s->names(s->ctx, key, aliases);
    snprintf(key, sizeof key, "%s_module", side);
    s->str(s->ctx, key, mod);
}

static void sys_call(const tvmi_watch_event_t *e, const tvmi_field_sink_t *s)
{
    s->u64(s->ctx, "index", e->syscall.index);
    target(s, "old", e->syscall.old_target, e->syscall.old_symbol,
           e->syscall.old_offset, e->syscall.old_aliases, e->syscall.old_module);
    target(s, "new", e->syscall.new_target, e->syscall.new_symbol,
           e->syscall.new_offset, e->syscall.new_aliases, e->syscall.new_module);
    s->hex(s->ctx, "original", e->syscall.original);
}

static void problem(const tvmi_watch_event_t *e, const tvmi_field_sink_t *s)
{
    s->str(s->ctx, "what", e->problem.what ? e->problem.what : "");
    if (e->problem.end) {
        s->hex(s->ctx, "start", e->problem.start);
        s->hex(s->ctx, "end", e->problem.end);
    }
    s->str(s->ctx, "message", e->problem.message);
}

void tvmi_watch_event_fields(const tvmi_watch_event_t *e, const tvmi_field_sink_t *s)
{
    if (!e || !s)
        return;
    switch (e->kind) {
    case TVMI_WATCH_TASK_STARTED:
    case TVMI_WATCH_TASK_EXITED:
        task(e, s);
        break;
    case TVMI_WATCH_MODULE_LOADED:
    case TVMI_WATCH_MODULE_UNLOADED:
        module(e, s);
        break;
    case TVMI_WATCH_TEXT_CHANGED:
    case TVMI_WATCH_TEXT_RESTORED:
        text(e, s);
        break;
    case TVMI_WATCH_SYSCALL_CHANGED:
    case TVMI_WATCH_SYSCALL_RESTORED:
        sys_call(e, s);
        break;
    case TVMI_WATCH_PROBLEM:
        problem(e, s);
        break;
    }
}

void tvmi_watch_summary_fields(const tvmi_watch_summary_t *w, const tvmi_field_sink_t *s)
{
    if (!w || !s)
        return;
    s->boolean(s->ctx, "threads", (w->what & TVMI_WATCH_THREADS) != 0);
    s->u64(s->ctx, "tasks", w->tasks);
    s->u64(s->ctx, "modules", w->modules);
    s->hex(s->ctx, "text_start", w->text_start);
    s->hex(s->ctx, "text_end", w->text_end);
    s->u64(s->ctx, "text_bytes", w->text_end - w->text_start);
    s->u64(s->ctx, "block_size", w->block_size);
    s->u64(s->ctx, "text_blocks", w->text_blocks);
    s->u64(s->ctx, "text_unreadable_pages", w->text_unreadable_pages);
    s->u64(s->ctx, "hash_bytes", w->hash_bytes);
    s->hex(s->ctx, "syscall_table", w->syscall_table);
    s->u64(s->ctx, "syscalls", w->syscalls);
    s->u64(s->ctx, "syscalls_outside", w->syscalls_outside);
    s->str(s->ctx, "notes", w->notes);
}
