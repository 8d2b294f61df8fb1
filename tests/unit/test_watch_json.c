/*
 * A watch event's fields (tvmi_watch_event_fields, shared by `tinyvmi watch
 * --json` and the appliance's JSON lines) and their way back: every kind of
 * event, written as a JSON line the way the appliance writes it, parsed by
 * the dom0 tool's reader (tools/tinyvmi/jsonline.c) and turned back into an
 * event, must say the same text (tvmi_watch_event_text) as the original.
 * Strings with quotes, backslashes and control bytes (these come back as
 * '?': a guest's bytes never reach a terminal raw), missing symbols,
 * empty and full alias lists included. Malformed lines are refused.
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

#include <tinyvmi/linux.h>
#include "jsonline.h"

/* ---- a JSON line writer in the appliance's format ------------------------ */

struct jw {
    char buf[4096];
    size_t len;
    bool first;
    unsigned fields;
};

static void raw(struct jw *w, const char *s)
{
    size_t n = strlen(s);

    assert_true(w->len + n < sizeof w->buf);
    memcpy(w->buf + w->len, s, n + 1);
    w->len += n;
}

static void quoted(struct jw *w, const char *s)
{
    char esc[8];

    raw(w, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            snprintf(esc, sizeof esc, "\\u%04x", c);
        else
            snprintf(esc, sizeof esc, "%c", c);
        raw(w, esc);
    }
    raw(w, "\"");
}

static void key(struct jw *w, const char *k)
{
    if (!w->first)
        raw(w, ",");
    w->first = false;
    w->fields++;
    quoted(w, k);
    raw(w, ":");
}

static void w_str(void *c, const char *k, const char *v) { key(c, k); quoted(c, v); }
static void w_null(void *c, const char *k) { key(c, k); raw(c, "null"); }

static void w_u64(void *c, const char *k, uint64_t v)
{
    char n[24];

    snprintf(n, sizeof n, "%llu", (unsigned long long)v);
    key(c, k);
    raw(c, n);
}

static void w_hex(void *c, const char *k, uint64_t v)
{
    char n[24];

    snprintf(n, sizeof n, "\"0x%llx\"", (unsigned long long)v);
    key(c, k);
    raw(c, n);
}

static void w_bool(void *c, const char *k, int v) { key(c, k); raw(c, v ? "true" : "false"); }

static void w_bytes(void *c, const char *k, const uint8_t *b, size_t n)
{
    char two[3];

    key(c, k);
    raw(c, "\"");
    for (size_t i = 0; i < n; i++) {
        snprintf(two, sizeof two, "%02x", b[i]);
        raw(c, two);
    }
    raw(c, "\"");
}

static void w_names(void *c, const char *k, const char *names)
{
    char one[256];

    key(c, k);
    raw(c, "[");
    for (bool first = true; *names; first = false) {
        size_t n = strcspn(names, ",");

        snprintf(one, sizeof one, "%.*s", (int)n, names);
        if (!first)
            raw(c, ",");
        quoted(c, one);
        names += n + (names[n] == ',');
    }
    raw(c, "]");
}

/* The event as the appliance's line: type, seq, event, then the fields. */
static void event_line(const tvmi_watch_event_t *e, struct jw *w)
{
    tvmi_field_sink_t sink = {
        .ctx = w, .str = w_str, .null = w_null, .u64 = w_u64, .hex = w_hex,
        .boolean = w_bool, .bytes = w_bytes, .names = w_names,
    };

    memset(w, 0, sizeof *w);
    w->first = true;
    raw(w, "{");
    w_str(w, "type", "event");
    w_u64(w, "seq", 1);
    w_str(w, "event", tvmi_watch_kind_name(e->kind));
    tvmi_watch_event_fields(e, &sink);
    raw(w, "}");
}

/* ---- the events --------------------------------------------------------- */

static void round_trip(const tvmi_watch_event_t *e)
{
    struct jw w;
    struct line l;
    tvmi_watch_event_t back;
    char want[1024], got[1024], copy[4096];

    event_line(e, &w);
    snprintf(copy, sizeof copy, "%s", w.buf);
    assert_true(jl_parse(copy, &l));
    assert_int_equal(l.n, (int)w.fields);
    assert_string_equal(jl_get(&l, "type"), "event");
    assert_true(jl_watch_event(&l, &back));
    assert_int_equal(back.kind, e->kind);
    tvmi_watch_event_text(e, want, sizeof want);
    tvmi_watch_event_text(&back, got, sizeof got);
    /* The reader never hands a guest's control bytes to a terminal. */
    for (char *c = want; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = '?';
    if (strcmp(want, got))
        fail_msg("line %s\nwant: %s\ngot:  %s", w.buf, want, got);
}

static void test_tasks(void **state)
{
    tvmi_watch_event_t e = { .kind = TVMI_WATCH_TASK_STARTED };

    (void)state;
    e.task.pid = e.task.tgid = 4242;
    e.task.ppid = 1;
    snprintf(e.task.comm, sizeof e.task.comm, "sh");
    e.task.task = 0xffff888004a1c000ull;
    round_trip(&e);
    e.kind = TVMI_WATCH_TASK_EXITED;
    e.task.pid = 4243; /* a thread */
    e.task.ppid = -1;  /* its parent could not be read */
    snprintf(e.task.comm, sizeof e.task.comm, "a\"b\\c\x01z");
    round_trip(&e);
    e.kind = TVMI_WATCH_TASK_STARTED;
    e.task.pid = e.task.tgid = 2;
    e.task.kernel_thread = 1;
    snprintf(e.task.comm, sizeof e.task.comm, "kworker/0:1H");
    round_trip(&e);
}

static void test_modules(void **state)
{
    tvmi_watch_event_t e = { .kind = TVMI_WATCH_MODULE_LOADED };

    (void)state;
    snprintf(e.module.name, sizeof e.module.name, "lab_mod");
    e.module.base = 0xffffffffc0a00000ull;
    e.module.size = 20480;
    e.module.module = 0xffffffffc0a02040ull;
    round_trip(&e);
    e.kind = TVMI_WATCH_MODULE_UNLOADED;
    round_trip(&e);
}

static void test_text(void **state)
{
    tvmi_watch_event_t e = { .kind = TVMI_WATCH_TEXT_CHANGED };

    (void)state;
    e.text.start = 0xffffffff811ccb85ull;
    e.text.end = e.text.start + 1;
    e.text.exact = 1;
    e.text.symbol = "__x64_sys_kexec_load";
    e.text.offset = 5;
    snprintf(e.text.aliases, sizeof e.text.aliases, "kexec_alias,other");
    e.text.old_len = e.text.cur_len = 1;
    e.text.old[0] = 0x1f;
    e.text.cur[0] = 0xcc;
    round_trip(&e);
    /* a range, no symbol at its start, every byte known */
    e.kind = TVMI_WATCH_TEXT_RESTORED;
    e.text.exact = 0;
    e.text.end = e.text.start + 200;
    e.text.symbol = NULL;
    e.text.aliases[0] = '\0';
    e.text.end_symbol = "do_sys_open";
    e.text.end_offset = 0x42;
    e.text.old_len = e.text.cur_len = TVMI_WATCH_BYTES;
    for (int i = 0; i < TVMI_WATCH_BYTES; i++)
        e.text.old[i] = (uint8_t)i, e.text.cur[i] = (uint8_t)(0xf0 ^ i);
    round_trip(&e);
    /* the longest alias list the event holds */
    memset(e.text.aliases, 'x', sizeof e.text.aliases - 1);
    e.text.aliases[sizeof e.text.aliases - 1] = '\0';
    e.text.aliases[40] = e.text.aliases[90] = ',';
    e.text.symbol = "s";
    round_trip(&e);
}

static void test_syscalls(void **state)
{
    tvmi_watch_event_t e = { .kind = TVMI_WATCH_SYSCALL_CHANGED };

    (void)state;
    e.syscall.index = 246;
    e.syscall.old_target = e.syscall.original = 0xffffffff811ccb80ull;
    e.syscall.old_symbol = "__x64_sys_kexec_load";
    snprintf(e.syscall.old_aliases, sizeof e.syscall.old_aliases, "sys_kexec_load");
    e.syscall.new_target = 0xffffffffc0a01010ull;
    snprintf(e.syscall.new_module, sizeof e.syscall.new_module, "evil");
    round_trip(&e);
    /* pointed outside everything, then back */
    e.syscall.new_module[0] = '\0';
    e.syscall.new_target = 0x4141414141414141ull;
    round_trip(&e);
    e.kind = TVMI_WATCH_SYSCALL_RESTORED;
    e.syscall.new_symbol = "__do_sys_getpid";
    e.syscall.new_offset = 0x10;
    round_trip(&e);
}

static void test_problems(void **state)
{
    tvmi_watch_event_t e = { .kind = TVMI_WATCH_PROBLEM };

    (void)state;
    e.problem.what = "text";
    e.problem.start = 0xffffffff81200000ull;
    e.problem.end = 0xffffffff81201000ull;
    snprintf(e.problem.message, sizeof e.problem.message,
             "reading kernel text at 0x%llx: not mapped",
             (unsigned long long)e.problem.start);
    round_trip(&e);
    e.problem.what = "tasks";
    e.problem.start = e.problem.end = 0;
    snprintf(e.problem.message, sizeof e.problem.message, "the task list loops");
    round_trip(&e);
}

/* Lines the reader must refuse rather than half-read. */
static void test_malformed(void **state)
{
    static const char *bad[] = {
        "", "{", "[]", "{\"a\"}", "{\"a\":}", "{\"a\":\"x}", "{\"a\":[\"x\"}",
        "{\"a\":[\"x\",]}", "{\"a\":[x]}", "{\"a\":1,}", "{\"a\":1",
    };
    struct line l;
    tvmi_watch_event_t e;
    char copy[64];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(copy, sizeof copy, "%s", bad[i]);
        if (jl_parse(copy, &l))
            fail_msg("accepted malformed line '%s'", bad[i]);
    }
    snprintf(copy, sizeof copy, "{\"type\":\"event\",\"event\":\"no_such\"}");
    assert_true(jl_parse(copy, &l));
    assert_false(jl_watch_event(&l, &e));
    snprintf(copy, sizeof copy, "{\"a\":[],\"b\":null,\"c\":\"null\"}");
    assert_true(jl_parse(copy, &l));
    assert_string_equal(jl_get(&l, "a"), "");
    assert_null(jl_get_or_null(&l, "b"));
    assert_string_equal(jl_get_or_null(&l, "c"), "null");
    /* a terminal escape or a line break from the guest comes out as '?' */
    snprintf(copy, sizeof copy, "{\"comm\":\"x\\ny\\u001b[2Jz\\\"\"}");
    assert_true(jl_parse(copy, &l));
    assert_string_equal(jl_get(&l, "comm"), "x?y?[2Jz\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks),
        cmocka_unit_test(test_modules),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_syscalls),
        cmocka_unit_test(test_problems),
        cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
