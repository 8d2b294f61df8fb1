/*
 * The dom0 end of the appliance's results channel (unikernel/out.c has the
 * layout): read chunks of JSON lines from its xenstore home, acknowledge
 * and remove them, print them as they are (--json) or as text.
 */
#ifdef TVMI_HAVE_XEN
#include "appliance.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include <tinyvmi/linux.h>

#include "jsonline.h"

#define WAIT_MS 250
#define POLL_MS 50

int fail_msg(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "tinyvmi: appliance: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_TARGET;
}

int arg_ulong(const char *s, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && !*end && !errno ? 0 : -1;
}

/* ---- xenstore --------------------------------------------------------------- */

static struct xs_handle *xs(void)
{
    static struct xs_handle *h;

    if (!h)
        h = xs_open(0);
    return h;
}

static char *xs_get(const char *path)
{
    unsigned len = 0;

    return xs() ? xs_read(xs(), XBT_NULL, path, &len) : NULL;
}

static unsigned long xs_number(const char *path)
{
    char *v = xs_get(path);
    unsigned long n = v ? strtoul(v, NULL, 10) : 0;

    free(v);
    return n;
}

int xs_domid_of(const char *name, uint32_t *domid)
{
    char **ids, path[64], *v, *end;
    unsigned n = 0;
    unsigned long id = strtoul(name, &end, 10);
    int rc = -1;

    if (!xs())
        return fail_msg("cannot reach xenstore: %s", strerror(errno)), -1;
    if (*name && !*end) {
        *domid = (uint32_t)id;
        return xs_domain_exists(*domid) ? 0 : -1;
    }
    ids = xs_directory(xs(), XBT_NULL, "/local/domain", &n);
    for (unsigned i = 0; ids && i < n && rc; i++) {
        snprintf(path, sizeof path, "/local/domain/%s/name", ids[i]);
        v = xs_get(path);
        if (v && !strcmp(v, name)) {
            *domid = (uint32_t)strtoul(ids[i], NULL, 10);
            rc = 0;
        }
        free(v);
    }
    free(ids);
    return rc;
}

bool xs_domain_exists(uint32_t domid)
{
    char path[64], *v;

    snprintf(path, sizeof path, "/local/domain/%u/name", domid);
    v = xs_get(path);
    free(v);
    return v != NULL;
}

static void home(char *buf, size_t len, uint32_t adom, const char *leaf)
{
    snprintf(buf, len, "/local/domain/%u/data/tinyvmi/%s", adom, leaf);
}

int app_set_reader(uint32_t adom)
{
    char path[96];

    home(path, sizeof path, adom, "reader");
    return xs() && xs_write(xs(), XBT_NULL, path, "1", 1) ? 0 : -1;
}

int app_send_command(uint32_t adom, const char *command, unsigned *seq)
{
    char path[96], *cur, val[256];

    home(path, sizeof path, adom, "cmd");
    cur = xs_get(path);
    *seq = (cur ? (unsigned)strtoul(cur, NULL, 10) : 0) + 1;
    free(cur);
    snprintf(val, sizeof val, "%u %s", *seq, command);
    if (!xs() || !xs_write(xs(), XBT_NULL, path, val, strlen(val)))
        return fail_msg("writing %s: %s", path, strerror(errno)), -1;
    return 0;
}

int app_wait_state(uint32_t adom, const char *want, unsigned long timeout_s)
{
    char path[96];
    double end = now_s() + (double)timeout_s;

    home(path, sizeof path, adom, "state");
    while (now_s() < end && xs_domain_exists(adom)) {
        char *v = xs_get(path);
        bool ok = v && !strcmp(v, want);

        free(v);
        if (ok)
            return 0;
        poll(NULL, 0, WAIT_MS);
    }
    return -1;
}

void app_wait_gone(uint32_t adom, unsigned long timeout_s)
{
    double end = now_s() + (double)timeout_s;

    while (now_s() < end && xs_domain_exists(adom))
        poll(NULL, 0, WAIT_MS);
}

/* ---- printing -------------------------------------------------------------------- */

struct stream {
    unsigned seq;
    bool forever, finished, header;
    int status;
    double t0, t_first;
};

static void print_text(struct stream *st, const struct line *l)
{
    const char *type = jl_get(l, "type");

    if (!strcmp(type, "process")) {
        if (!st->header)
            out_printf("%7s %7s %7s %5s %s %-16s %-14s\n", "PID", "TID", "PPID",
                       "UID", "S", "COMM", "DTB");
        st->header = true;
        out_printf("%7ld %7ld %7ld %5ld %s %-16s %-14s%s\n", jl_num(l, "pid"),
                   jl_num(l, "tid"), jl_num(l, "ppid"), jl_num(l, "uid"), jl_get(l, "state"),
                   jl_get(l, "comm"), jl_get(l, "dtb"),
                   !strcmp(jl_get(l, "kernel_thread"), "true") ? " [kernel]" : "");
    } else if (!strcmp(type, "module")) {
        out_printf("%-24s %18s %8s\n", jl_get(l, "name"), jl_get(l, "base"), jl_get(l, "size"));
    } else if (!strcmp(type, "linux")) {
        fprintf(stderr, "tinyvmi: appliance: %s (found in %s ms, %s-level paging, "
                "%s symbols)\n", jl_get(l, "banner"), jl_get(l, "init_ms"),
                jl_get(l, "paging_levels"), jl_get(l, "symbols"));
    } else if (!strcmp(type, "event")) {
        tvmi_watch_event_t e;
        char text[1024];

        out_time_stamp();
        if (jl_watch_event(l, &e)) {
            tvmi_watch_event_text(&e, text, sizeof text);
            out_printf("%s\n", text);
        } else {
            out_printf("event %s\n", jl_get(l, "event"));
        }
    } else if (!strcmp(type, "error")) {
        fprintf(stderr, "tinyvmi: appliance: %s: %s\n", jl_get(l, "while"),
                jl_get(l, "message"));
    } else if (!strcmp(type, "done")) {
        fprintf(stderr, "tinyvmi: appliance: %s: %s entries%s in %s ms\n",
                jl_get(l, "task"), jl_get(l, "count"),
                !strcmp(jl_get(l, "partial"), "true") ? " (partial)" : "",
                jl_get(l, "ms"));
    } else if (!strcmp(type, "baseline")) {
        fprintf(stderr, "tinyvmi: appliance: watching:");
        for (int i = 0; i < l->n; i++)
            if (strcmp(l->key[i], "type") && strcmp(l->key[i], "seq"))
                fprintf(stderr, " %s=%s", l->key[i], l->val[i]);
        fputc('\n', stderr);
    }
}

static void take_line(struct stream *st, char *text)
{
    char copy[2048];
    struct line l;
    const char *type;
    unsigned long seq;

    snprintf(copy, sizeof copy, "%s", text);
    if (!jl_parse(copy, &l)) {
        fprintf(stderr, "tinyvmi: appliance: ignoring a malformed line: %.80s\n", text);
        return;
    }
    type = jl_get(&l, "type");
    seq = strtoul(jl_get(&l, "seq"), NULL, 10);
    if (!st->t_first && (!strcmp(type, "process") || !strcmp(type, "module")))
        st->t_first = now_s();
    if (out_json)
        out_printf("%s\n", text);
    else
        print_text(st, &l);
    out_flush();
    if (!strcmp(type, "done") && seq == st->seq && !st->forever) {
        st->finished = true;
        st->status = !strcmp(jl_get(&l, "partial"), "true") ? EXIT_TARGET : EXIT_OK;
    } else if (!strcmp(type, "error") && (seq == st->seq || seq == 0)) {
        st->finished = !st->forever || seq == 0;
        st->status = EXIT_TARGET;
    }
}

/* Reads, prints, acknowledges and removes every chunk not read yet: the
 * next one is out/<ack + 1>, if it exists. */
static void drain(struct stream *st, uint32_t adom)
{
    char path[96], no[32];
    unsigned long ack;

    home(path, sizeof path, adom, "ack");
    ack = xs_number(path);
    for (;;) {
        char *chunk, *line, *save = NULL;

        snprintf(no, sizeof no, "out/%lu", ack + 1);
        home(path, sizeof path, adom, no);
        chunk = xs_get(path);
        if (!chunk)
            break;
        for (line = strtok_r(chunk, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save))
            take_line(st, line);
        free(chunk);
        xs_rm(xs(), XBT_NULL, path);
        ack++;
        snprintf(no, sizeof no, "%lu", ack);
        home(path, sizeof path, adom, "ack");
        xs_write(xs(), XBT_NULL, path, no, strlen(no));
    }
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

int app_stream(uint32_t adom, unsigned seq, bool forever, bool until_gone,
               unsigned long timeout_s, double t0)
{
    struct stream st = { .seq = seq, .forever = forever, .t0 = t0,
                         .status = EXIT_OK };
    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
    double end = now_s() + (double)timeout_s;

    if (!xs())
        return fail_msg("cannot reach xenstore: %s", strerror(errno));
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    while (!st.finished && !interrupted) {
        bool alive = xs_domain_exists(adom);

        drain(&st, adom);
        if (st.finished)
            break;
        if (!alive) {
            drain(&st, adom);
            if (!st.finished && !forever)
                st.status = fail_msg("the appliance (domain %u) went away before "
                                     "it finished; its console log is in "
                                     "/var/log/xen/console/ when xenconsoled logs",
                                     adom);
            break;
        }
        if (!forever && now_s() > end) {
            st.status = fail_msg("no answer from the appliance (domain %u) within "
                                 "%lu s", adom, timeout_s);
            break;
        }
        /* Polled, not watched: xenstore watches need libxenstore's reader
         * thread, which the static dom0 build does not get working. */
        poll(NULL, 0, POLL_MS);
    }
    /* A one-shot appliance powers off once its last lines are read: read
     * them (stats) and see it go, so the next start can reuse its name. */
    for (double end_wait = now_s() + 30; until_gone && st.finished && !interrupted &&
         xs_domain_exists(adom) && now_s() < end_wait;) {
        drain(&st, adom);
        poll(NULL, 0, POLL_MS);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (st.t_first)
        fprintf(stderr, "tinyvmi: appliance: first result %.2f s after the "
                "command started\n", st.t_first - st.t0);
    return st.status;
}
#endif
