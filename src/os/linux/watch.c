/*
 * Monitor mode: a baseline of the running system, then checks that say
 * what changed since (include/tinyvmi/linux.h, "watch").
 *
 * Tasks and modules are listed by the views (tasks.c, modules.c) and
 * compared as sorted sets keyed by the structure's address and its pid or
 * name: a pid used again by a new task is a new task.
 *
 * Kernel text (_stext.._etext) is not kept: 16 MiB of it would be the
 * appliance's whole RAM. Each 64-byte block keeps a CRC-32 instead:
 *
 *   - 64 bytes is a cache line, about one small function; 4 bytes of
 *     CRC per block is 1/16 of the text: 1 MiB for 16 MiB, what a 16 MiB
 *     appliance can spare. Halving the block would double that, and the
 *     byte pinning below makes finer blocks unneeded for small patches.
 *   - a CRC, unlike a general hash, catches every change of up to 32
 *     contiguous bits for sure (one byte, a pointer's low half, a short
 *     jump's offset); anything else is missed with odds 2^-32.
 *   - a CRC is linear: crc(a) ^ crc(b) is the CRC (without the initial and
 *     final inversions) of a ^ b alone. For a change of one byte, the
 *     16320 possible (position, value) pairs of a 64-byte block give 16320
 *     distinct such syndromes (checked when this was written, and by
 *     pin_byte every time), so a one-byte patch is pinned to its address,
 *     old and new value without keeping the old bytes. Larger changes are
 *     reported as the range of 64-byte blocks they touched.
 *
 * The baseline stays the original; the blocks that differ from it are kept
 * with their last CRC (a sorted, bounded list), so a change is reported
 * once, and again when changed further or put back.
 *
 * The system call table is small (hundreds of pointers): kept whole.
 *
 * Everything read is bounded: the text size, the number of syscall
 * entries, the changed blocks remembered, the events per check.
 */
#include "private.h"
#include <tinyvmi/linux.h>

#define PAGE            4096u
#define BLOCK           64u
#define BLOCKS_PER_PAGE (PAGE / BLOCK)
#define TEXT_MAX        (64ull << 20) /* _etext - _stext: 4x a distro kernel */
#define SYSCALLS_MAX    1024u         /* entries; x86-64 has ~460 */
#define CHANGED_MAX     16384u        /* changed blocks remembered: 1 MiB of text */
#define TEXT_EVENTS_MAX 1024u         /* text events per check */
#define CRC_POLY        0xedb88320u   /* CRC-32 (IEEE 802.3), reflected */

enum { PROBLEM_TASKS, PROBLEM_MODULES, PROBLEM_KINDS };

struct wtask {
    addr_t task;
    vmi_pid_t pid, tgid, ppid;
    int kthread;
    char comm[16];
};

struct wmod {
    addr_t module, base;
    uint64_t size;
    char name[64];
};

struct set {
    void *item;                 /* sorted */
    size_t n;
};

struct seen {
    uint32_t block, crc;
};

enum page_state {
    PAGE_OK,        /* hashed */
    PAGE_UNWATCHED, /* unreadable at the start: hashed when readable */
    PAGE_LOST,      /* readable at the start, not now (reported once) */
};

struct text {
    addr_t lo, hi;              /* lo page-aligned, hi block-aligned */
    size_t nblocks, npages;
    uint32_t *orig;             /* per block: the baseline */
    uint8_t *page;              /* per page: enum page_state */
    struct seen *seen, *next;   /* blocks != baseline, by block; next: scratch */
    size_t nseen, cap;
    bool overflow_noted;
};

struct syscalls {
    addr_t table;
    uint32_t n;
    uint64_t *orig, *seen;
    bool lost;
};

#define KEEP_NAME 512 /* KSYM_NAME_LEN */

struct tvmi_linux_watch {
    unsigned what;
    uint32_t crc[8][256];       /* crc[0]: the CRC's table; 1..7: slicing */
    struct set tasks, modules;
    uint32_t problem[PROBLEM_KINDS]; /* CRC of the last problem reported, 0: none */
    struct text text;
    struct syscalls sys;
    tvmi_watch_summary_t sum;
    union {
        uint8_t b[PAGE];        /* a page of text */
        uint64_t q[PAGE / 8];   /* a part of the syscall table */
    } buf;
    /* The names events point to, valid until the next check: v2ksym's
     * answers are short-lived when names are decoded one at a time (the
     * appliance has no room for the whole table). */
    char keep[4][KEEP_NAME];
};

/* One check in progress. */
struct check {
    vmi_instance_t vmi;
    tvmi_linux_watch_t *w;
    tvmi_watch_event_cb cb;
    void *arg;
    tvmi_watch_event_t ev;
    tvmi_linux_module_t *mods;  /* for naming syscall targets, listed once */
    size_t nmods;
    bool mods_listed;
    size_t text_events, text_unreported;
};

/* ---- small helpers ---------------------------------------------------------- */

/* t[0][b]: the CRC register after byte b; t[k][b]: the same followed by k
 * zero bytes, so 8 bytes are folded in at once ("slicing by 8": 7x faster
 * than a byte at a time, which made the text check 60 ms for 16 MiB). */
static void crc_init(uint32_t t[8][256])
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? CRC_POLY ^ (c >> 1) : c >> 1;
        t[0][i] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            t[k][i] = t[0][t[k - 1][i] & 0xff] ^ (t[k - 1][i] >> 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t crc32(uint32_t t[8][256], const uint8_t *p, size_t n)
{
    uint32_t c = ~0u;

    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = le32(p) ^ c, hi = le32(p + 4);
        c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
            t[4][lo >> 24] ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
            t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    }
    while (n--)
        c = t[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

/* The one byte whose change turns a block of CRC a into one of CRC b: its
 * position and the XOR of old and new. A lone byte v at position p, then
 * 63 - p zero bytes, has the CRC (no inversions) of v's table entry rolled
 * through those zeros. False when no single byte explains the change, or
 * (never, for 64-byte blocks) more than one would. */
static bool pin_byte(const uint32_t *t, uint32_t a, uint32_t b, unsigned *pos,
                     uint8_t *x)
{
    uint32_t syndrome = a ^ b;
    unsigned found = 0;

    for (unsigned v = 1; v < 256; v++) {
        uint32_t c = t[v];
        for (unsigned zeros = 0; zeros < BLOCK; zeros++) {
            if (c == syndrome && found++ == 0) {
                *pos = BLOCK - 1 - zeros;
                *x = (uint8_t)v;
            }
            c = t[c & 0xff] ^ (c >> 8);
        }
    }
    return found == 1;
}

static void note(tvmi_watch_summary_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(tvmi_watch_summary_t *s, const char *fmt, ...)
{
    size_t len = strlen(s->notes);
    va_list ap;

    if (len + 3 >= sizeof(s->notes))
        return;
    if (len) {
        memcpy(s->notes + len, "; ", 3);
        len += 2;
    }
    va_start(ap, fmt);
    vsnprintf(s->notes + len, sizeof(s->notes) - len, fmt, ap);
    va_end(ap);
}

static void emit(struct check *c)
{
    c->cb(&c->ev, c->arg);
}

static tvmi_watch_event_t *event(struct check *c, tvmi_watch_kind_t kind)
{
    memset(&c->ev, 0, sizeof(c->ev));
    c->ev.kind = kind;
    return &c->ev;
}

static void problem(struct check *c, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct check *c, const char *what, const char *fmt, ...)
{
    tvmi_watch_event_t *e = event(c, TVMI_WATCH_PROBLEM);
    va_list ap;

    e->problem.what = what;
    va_start(ap, fmt);
    vsnprintf(e->problem.message, sizeof(e->problem.message), fmt, ap);
    va_end(ap);
    emit(c);
}

/* A list walk's problem, reported when it is not the one reported last
 * time (a guest whose list stays broken is not reported every check). */
static void list_problem(struct check *c, int kind, const char *what,
                         const char *msg)
{
    uint32_t sig = crc32(c->w->crc, (const uint8_t *)msg, strlen(msg)) | 1;

    if (c->w->problem[kind] == sig)
        return;
    c->w->problem[kind] = sig;
    problem(c, what, "%s", msg);
}

/* ---- symbols ------------------------------------------------------------------ */

/* The index of the first symbol at or above va (above, when after).
 * Symbols are in address order, so a binary search. */
static size_t sym_index(vmi_instance_t vmi, addr_t va, bool after)
{
    size_t lo = 0, hi = tvmi_linux_sym_count(vmi);
    tvmi_linux_sym_t s;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tvmi_linux_sym_at(vmi, mid, &s) != VMI_SUCCESS)
            return tvmi_linux_sym_count(vmi);
        if (s.addr < va || (after && s.addr == va))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The address of the first symbol above va, or 0. */
static addr_t next_symbol(vmi_instance_t vmi, addr_t va)
{
    tvmi_linux_sym_t s;

    if (tvmi_linux_sym_at(vmi, sym_index(vmi, va, true), &s) != VMI_SUCCESS)
        return 0;
    return s.addr;
}

/* The other names of the symbol at addr, comma-separated (the kernel has
 * aliases: __do_sys_getpid, __ia32_sys_getpid and __x64_sys_getpid are
 * one function, and v2ksym names the first). At most 8, bounded by len. */
static void aliases(vmi_instance_t vmi, addr_t addr, const char *primary,
                    char *out, size_t len)
{
    size_t i = sym_index(vmi, addr, false), used = 0;
    tvmi_linux_sym_t s;

    out[0] = '\0';
    for (int k = 0; k < 8 && tvmi_linux_sym_at(vmi, i + k, &s) == VMI_SUCCESS &&
                    s.addr == addr; k++) {
        int n;
        if (!strcmp(s.name, primary))
            continue;
        n = snprintf(out + used, len - used, "%s%s", used ? "," : "", s.name);
        if (n < 0 || (size_t)n >= len - used) {
            out[used] = '\0'; /* no half names */
            return;
        }
        used += (size_t)n;
    }
}

/* va's symbol (copied into keep), offset and the symbol's other names. */
static const char *name_va(vmi_instance_t vmi, addr_t va, addr_t *off,
                           char *also, size_t len, char *keep)
{
    const char *sym = tvmi_linux_v2ksym(vmi, va, off);

    if (!sym)
        return NULL;
    snprintf(keep, KEEP_NAME, "%s", sym);
    if (also)
        aliases(vmi, va - *off, keep, also, len);
    return keep;
}

/* ---- tasks and modules: sorted sets ---------------------------------------- */

/* A listing kept sorted, so two are compared in one merge. The key is the
 * structure's address with the pid or name: a pid (or name) used again by
 * a new structure is a new task (or module). */
struct set_kind {
    const char *what;           /* "tasks", for problems */
    int problem;                /* PROBLEM_* */
    size_t size;                /* of an item */
    int (*order)(const void *, const void *);
    /* The listing (malloc'd, sorted); *partial when it may lack items. */
    status_t (*list)(vmi_instance_t vmi, unsigned what, void **out, size_t *n,
                     int *partial);
    void (*report)(struct check *c, bool appeared, const void *item);
};

/* Reports the difference between the baseline s and cur, and makes cur
 * the baseline. A partial listing proves no exit: the items it lacks stay
 * in the baseline, to be reported when a complete one lacks them too. */
static status_t diff_set(struct check *c, const struct set_kind *k,
                         struct set *s, const uint8_t *cur, size_t ncur,
                         bool complete)
{
    uint8_t *keep = malloc((s->n + ncur + 1) * k->size);
    const uint8_t *old = s->item;
    size_t i = 0, j = 0, n = 0;

    if (!keep)
        return tvmi_fail(c->vmi, "watching %s: out of memory", k->what);
    while (i < s->n || j < ncur) {
        const uint8_t *a = old + i * k->size, *b = cur + j * k->size;
        int order = i == s->n ? 1 : j == ncur ? -1 : k->order(a, b);

        if (order < 0 && complete)
            k->report(c, false, a);
        if (order < 0 && !complete)
            memcpy(keep + n++ * k->size, a, k->size);
        if (order > 0)
            k->report(c, true, b);
        if (order >= 0) {
            memcpy(keep + n++ * k->size, b, k->size);
            j++;
        }
        if (order <= 0)
            i++;
    }
    free(s->item);
    s->item = keep;
    s->n = n;
    return VMI_SUCCESS;
}

static status_t check_set(struct check *c, const struct set_kind *k,
                          struct set *s)
{
    void *cur;
    size_t n;
    int partial;
    status_t rc;

    if (k->list(c->vmi, c->w->what, &cur, &n, &partial) != VMI_SUCCESS) {
        list_problem(c, k->problem, k->what, tvmi_last_error(c->vmi));
        return VMI_SUCCESS;
    }
    if (partial)
        list_problem(c, k->problem, k->what, tvmi_last_error(c->vmi));
    else
        c->w->problem[k->problem] = 0;
    rc = diff_set(c, k, s, cur, n, !partial);
    free(cur);
    return rc;
}

static int task_order(const void *a, const void *b)
{
    const struct wtask *x = a, *y = b;

    if (x->task != y->task)
        return x->task < y->task ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The tasks watched (leaders, or every thread), sorted. */
static status_t list_tasks(vmi_instance_t vmi, unsigned what, void **out,
                           size_t *n, int *partial)
{
    tvmi_linux_task_t *t;
    struct wtask *o;
    size_t count, k = 0;

    *partial = 0;
    if (tvmi_linux_tasks(vmi, &t, &count, partial) != VMI_SUCCESS)
        return VMI_FAILURE;
    o = malloc((count ? count : 1) * sizeof(*o));
    if (!o) {
        free(t);
        return tvmi_fail(vmi, "watching tasks: out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        if (!(what & TVMI_WATCH_THREADS) && t[i].pid != t[i].tgid)
            continue;
        o[k] = (struct wtask){ t[i].task, t[i].pid, t[i].tgid, t[i].ppid,
                               t[i].kernel_thread, { 0 } };
        memcpy(o[k].comm, t[i].comm, sizeof(o[k].comm));
        o[k].comm[sizeof(o[k].comm) - 1] = '\0';
        k++;
    }
    free(t);
    qsort(o, k, sizeof(*o), task_order);
    *out = o;
    *n = k;
    return VMI_SUCCESS;
}

static void task_event(struct check *c, bool appeared, const void *item)
{
    const struct wtask *t = item;
    tvmi_watch_event_t *e = event(c, appeared ? TVMI_WATCH_TASK_STARTED
                                              : TVMI_WATCH_TASK_EXITED);

    e->task.pid = t->pid;
    e->task.tgid = t->tgid;
    e->task.ppid = t->ppid;
    e->task.task = t->task;
    e->task.kernel_thread = t->kthread;
    memcpy(e->task.comm, t->comm, sizeof(e->task.comm));
    emit(c);
}

static const struct set_kind tasks_kind = {
    "tasks", PROBLEM_TASKS, sizeof(struct wtask), task_order, list_tasks,
    task_event,
};

static int module_order(const void *a, const void *b)
{
    const struct wmod *x = a, *y = b;

    if (x->module != y->module)
        return x->module < y->module ? -1 : 1;
    return strcmp(x->name, y->name);
}

static status_t list_modules(vmi_instance_t vmi, unsigned what, void **out,
                             size_t *n, int *partial)
{
    tvmi_linux_module_t *m;
    struct wmod *o;
    size_t count;

    (void)what;
    *partial = 0;
    if (tvmi_linux_modules(vmi, &m, &count, partial) != VMI_SUCCESS)
        return VMI_FAILURE;
    o = malloc((count ? count : 1) * sizeof(*o));
    if (!o) {
        free(m);
        return tvmi_fail(vmi, "watching modules: out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        o[i] = (struct wmod){ m[i].module, m[i].base, m[i].size, { 0 } };
        memcpy(o[i].name, m[i].name, sizeof(o[i].name));
        o[i].name[sizeof(o[i].name) - 1] = '\0';
    }
    free(m);
    qsort(o, count, sizeof(*o), module_order);
    *out = o;
    *n = count;
    return VMI_SUCCESS;
}

static void module_event(struct check *c, bool appeared, const void *item)
{
    const struct wmod *m = item;
    tvmi_watch_event_t *e = event(c, appeared ? TVMI_WATCH_MODULE_LOADED
                                              : TVMI_WATCH_MODULE_UNLOADED);

    memcpy(e->module.name, m->name, sizeof(e->module.name));
    e->module.base = m->base;
    e->module.size = m->size;
    e->module.module = m->module;
    emit(c);
}

static const struct set_kind modules_kind = {
    "modules", PROBLEM_MODULES, sizeof(struct wmod), module_order,
    list_modules, module_event,
};

/* ---- kernel text ------------------------------------------------------------- */

/* The bytes of text page p into w->buf; its length, 0 when unreadable. */
static size_t read_text_page(vmi_instance_t vmi, tvmi_linux_watch_t *w, size_t p)
{
    addr_t va = w->text.lo + (addr_t)p * PAGE;
    size_t len = w->text.hi - va < PAGE ? (size_t)(w->text.hi - va) : PAGE;

    return vmi_read_va(vmi, va, 0, len, w->buf.b, NULL) == VMI_SUCCESS ? len : 0;
}

static void hash_page(tvmi_linux_watch_t *w, size_t p, size_t len)
{
    for (size_t k = 0; k < len / BLOCK; k++)
        w->text.orig[p * BLOCKS_PER_PAGE + k] =
            crc32(w->crc, w->buf.b + k * BLOCK, BLOCK);
}

static status_t text_range(vmi_instance_t vmi, addr_t *lo, addr_t *hi)
{
    addr_t s, e;

    if (vmi_translate_ksym2v(vmi, "_stext", &s) != VMI_SUCCESS ||
        vmi_translate_ksym2v(vmi, "_etext", &e) != VMI_SUCCESS)
        return tvmi_fail(vmi, "watching kernel text: no _stext or _etext symbol");
    if (e <= s || e - s > TEXT_MAX || e > ~(addr_t)0 - PAGE)
        return tvmi_fail(vmi, "watching kernel text: _stext 0x%llx, _etext "
                         "0x%llx: not a text of at most %llu MiB",
                         (unsigned long long)s, (unsigned long long)e,
                         (unsigned long long)(TEXT_MAX >> 20));
    *lo = s & ~(addr_t)(PAGE - 1);
    *hi = (e + BLOCK - 1) & ~(addr_t)(BLOCK - 1);
    return VMI_SUCCESS;
}

static status_t setup_text(vmi_instance_t vmi, tvmi_linux_watch_t *w)
{
    struct text *T = &w->text;

    if (text_range(vmi, &T->lo, &T->hi) != VMI_SUCCESS)
        return VMI_FAILURE;
    T->nblocks = (size_t)(T->hi - T->lo) / BLOCK;
    T->npages = (size_t)(T->hi - T->lo + PAGE - 1) / PAGE;
    T->orig = malloc(T->nblocks * sizeof(*T->orig));
    T->page = calloc(T->npages, 1);
    if (!T->orig || !T->page)
        return tvmi_fail(vmi, "watching kernel text: out of memory for %zu "
                         "block hashes", T->nblocks);
    for (size_t p = 0; p < T->npages; p++) {
        size_t len = read_text_page(vmi, w, p);
        if (len) {
            hash_page(w, p, len);
            continue;
        }
        T->page[p] = PAGE_UNWATCHED;
        if (!w->sum.text_unreadable_pages++)
            note(&w->sum, "kernel text page 0x%llx cannot be read (not "
                 "watched until it can): %s",
                 (unsigned long long)(T->lo + (addr_t)p * PAGE),
                 tvmi_last_error(vmi));
    }
    w->sum.text_start = T->lo;
    w->sum.text_end = T->hi;
    w->sum.block_size = BLOCK;
    w->sum.text_blocks = T->nblocks;
    w->sum.hash_bytes = T->nblocks * sizeof(*T->orig) + T->npages;
    return VMI_SUCCESS;
}

/* Consecutive changed blocks of one kind become one event. */
struct run {
    bool open;
    tvmi_watch_kind_t kind;
    size_t first, last;             /* blocks */
    uint32_t last_before, last_now; /* the last block's CRCs */
    bool pinned;                    /* the first block's change is one byte */
    unsigned pos;
    uint8_t x;
    uint8_t cur[TVMI_WATCH_BYTES];  /* from the start (pos when pinned) */
    size_t cur_len;
};

static addr_t block_va(const struct text *T, size_t b)
{
    return T->lo + (addr_t)b * BLOCK;
}

static void name_text(struct check *c, tvmi_watch_event_t *e)
{
    e->text.symbol = name_va(c->vmi, e->text.start, &e->text.offset,
                             e->text.aliases, sizeof(e->text.aliases), c->w->keep[0]);
    e->text.end_symbol = name_va(c->vmi, e->text.end - 1, &e->text.end_offset,
                                 NULL, 0, c->w->keep[1]);
}

static void end_run(struct check *c, struct run *r)
{
    const struct text *T = &c->w->text;
    tvmi_watch_event_t *e;
    unsigned pos = 0;
    uint8_t x;

    if (!r->open)
        return;
    r->open = false;
    if (c->text_events >= TEXT_EVENTS_MAX) {
        c->text_unreported += r->last - r->first + 1;
        return;
    }
    c->text_events++;
    e = event(c, r->kind);
    e->text.start = block_va(T, r->first) + (r->pinned ? r->pos : 0);
    e->text.end = block_va(T, r->last + 1);
    if (r->last == r->first && r->pinned)
        e->text.end = e->text.start + 1;
    else if (r->last != r->first &&
             pin_byte(c->w->crc[0], r->last_before, r->last_now, &pos, &x))
        e->text.end = block_va(T, r->last) + pos + 1;
    e->text.exact = e->text.end - e->text.start == 1 && r->pinned;
    e->text.cur_len = r->cur_len < e->text.end - e->text.start
                          ? r->cur_len : (size_t)(e->text.end - e->text.start);
    memcpy(e->text.cur, r->cur, e->text.cur_len);
    if (r->pinned) {
        e->text.old[0] = r->cur[0] ^ r->x;
        e->text.old_len = 1;
    }
    name_text(c, e);
    emit(c);
}

/* Block b (bytes at p) went from CRC before to now. */
static void run_add(struct check *c, struct run *r, size_t b, const uint8_t *p,
                    uint32_t before, uint32_t now)
{
    tvmi_watch_kind_t kind = now == c->w->text.orig[b] ? TVMI_WATCH_TEXT_RESTORED
                                                       : TVMI_WATCH_TEXT_CHANGED;

    if (r->open && (r->kind != kind || r->last + 1 != b))
        end_run(c, r);
    if (!r->open) {
        size_t from;
        *r = (struct run){ .open = true, .kind = kind, .first = b };
        /* pinning costs ~16000 steps: only for events that will be sent */
        r->pinned = c->text_events < TEXT_EVENTS_MAX &&
                    pin_byte(c->w->crc[0], before, now, &r->pos, &r->x);
        from = r->pinned ? r->pos : 0;
        r->cur_len = BLOCK - from < TVMI_WATCH_BYTES ? BLOCK - from
                                                     : TVMI_WATCH_BYTES;
        memcpy(r->cur, p + from, r->cur_len);
    } else if (r->cur_len < TVMI_WATCH_BYTES) {
        size_t more = TVMI_WATCH_BYTES - r->cur_len;
        memcpy(r->cur + r->cur_len, p, more);
        r->cur_len += more;
    }
    r->last = b;
    r->last_before = before;
    r->last_now = now;
}

/* Block b differs from the baseline (CRC now): remembered for the next
 * check. Past CHANGED_MAX the change becomes the baseline (it has been
 * reported), so memory stays bounded. */
static void remember(struct check *c, size_t *n, size_t b, uint32_t now)
{
    struct text *T = &c->w->text;

    if (*n == T->cap && T->cap < CHANGED_MAX) {
        size_t cap = T->cap ? 2 * T->cap : 64;
        struct seen *s = realloc(T->seen, cap * sizeof(*s));
        struct seen *x = s ? realloc(T->next, cap * sizeof(*x)) : NULL;
        if (s)
            T->seen = s;
        if (x) {
            T->next = x;
            T->cap = cap;
        }
    }
    if (*n < T->cap) {
        T->next[(*n)++] = (struct seen){ (uint32_t)b, now };
        return;
    }
    T->orig[b] = now;
    if (!T->overflow_noted) {
        T->overflow_noted = true;
        problem(c, "text", "more than %zu changed blocks of kernel text: the "
                "changed contents of the others are their baseline now",
                T->cap);
    }
}

/* Pages that became unreadable, as one problem per range. */
struct lost {
    bool open;
    size_t first, last;
    char why[256];
};

static void end_lost(struct check *c, struct lost *l)
{
    const struct text *T = &c->w->text;
    tvmi_watch_event_t *e;
    const char *sym;
    addr_t off = 0;

    if (!l->open)
        return;
    l->open = false;
    sym = tvmi_linux_v2ksym(c->vmi, T->lo + (addr_t)l->first * PAGE, &off);
    e = event(c, TVMI_WATCH_PROBLEM);
    e->problem.what = "text";
    e->problem.start = T->lo + (addr_t)l->first * PAGE;
    e->problem.end = T->lo + (addr_t)(l->last + 1) * PAGE;
    if (e->problem.end > T->hi)
        e->problem.end = T->hi;
    snprintf(e->problem.message, sizeof(e->problem.message),
             "kernel text 0x%llx-0x%llx (%s+0x%llx) cannot be read any more: %s",
             (unsigned long long)e->problem.start,
             (unsigned long long)e->problem.end, sym ? sym : "?",
             (unsigned long long)off, l->why);
    emit(c);
}

static void lost_page(struct check *c, struct lost *l, size_t p)
{
    if (l->open && l->last + 1 == p) {
        l->last = p;
        return;
    }
    end_lost(c, l);
    *l = (struct lost){ .open = true, .first = p, .last = p };
    snprintf(l->why, sizeof(l->why), "%s", tvmi_last_error(c->vmi));
}

/* The blocks of a readable page against what was last seen. */
static void check_page(struct check *c, struct run *r, size_t p, size_t len,
                       size_t *j, size_t *n)
{
    struct text *T = &c->w->text;

    for (size_t k = 0; k < len / BLOCK; k++) {
        size_t b = p * BLOCKS_PER_PAGE + k;
        const uint8_t *bytes = c->w->buf.b + k * BLOCK;
        uint32_t now = crc32(c->w->crc, bytes, BLOCK), before = T->orig[b];

        if (*j < T->nseen && T->seen[*j].block == b)
            before = T->seen[(*j)++].crc;
        if (now != before)
            run_add(c, r, b, bytes, before, now);
        else
            end_run(c, r);
        if (now != T->orig[b])
            remember(c, n, b, now);
    }
}

static void check_text(struct check *c)
{
    tvmi_linux_watch_t *w = c->w;
    struct text *T = &w->text;
    struct run r = { 0 };
    struct lost l = { 0 };
    size_t j = 0, n = 0;
    struct seen *swap;

    for (size_t p = 0; p < T->npages; p++) {
        size_t len = read_text_page(c->vmi, w, p);
        size_t end = (p + 1) * BLOCKS_PER_PAGE;

        if (!len) {
            end_run(c, &r);
            if (T->page[p] == PAGE_OK)
                lost_page(c, &l, p);
            if (T->page[p] != PAGE_UNWATCHED)
                T->page[p] = PAGE_LOST;
            for (; j < T->nseen && T->seen[j].block < end; j++) /* kept */
                remember(c, &n, T->seen[j].block, T->seen[j].crc);
            continue;
        }
        end_lost(c, &l);
        if (T->page[p] == PAGE_UNWATCHED) { /* readable at last */
            hash_page(w, p, len);
            T->page[p] = PAGE_OK;
            w->sum.text_unreadable_pages--;
            continue;
        }
        T->page[p] = PAGE_OK;
        check_page(c, &r, p, len, &j, &n);
    }
    end_run(c, &r);
    end_lost(c, &l);
    swap = T->seen;
    T->seen = T->next;
    T->next = swap;
    T->nseen = n;
    if (c->text_unreported)
        problem(c, "text", "%zu more changed blocks of kernel text are not "
                "reported one by one (at most %u text events a check)",
                c->text_unreported, TEXT_EVENTS_MAX);
}

/* ---- system call table ------------------------------------------------------- */

static bool in_text(const addr_t *text, uint64_t target)
{
    return target >= text[0] && target < text[1];
}

/* How many entries: up to the next symbol (the table has none inside it),
 * at most SYSCALLS_MAX, less trailing entries that point nowhere in the
 * kernel's text (padding, or data of something the symbols skip). One
 * hooked at the start is no reason to stop there: it stays watched. */
static status_t syscall_count(vmi_instance_t vmi, tvmi_linux_watch_t *w,
                              const addr_t *text, uint64_t **table, uint32_t *n)
{
    struct syscalls *S = &w->sys;
    addr_t next = next_symbol(vmi, S->table);
    uint32_t max = SYSCALLS_MAX;

    if (next > S->table && (next - S->table) / 8 < max)
        max = (uint32_t)((next - S->table) / 8);
    if (!max)
        return tvmi_fail(vmi, "watching system calls: sys_call_table (0x%llx) "
                         "is followed by a symbol at 0x%llx: no room for an "
                         "entry", (unsigned long long)S->table,
                         (unsigned long long)next);
    *table = calloc(max, 8);
    if (!*table)
        return tvmi_fail(vmi, "watching system calls: out of memory");
    if (vmi_read_va(vmi, S->table, 0, (size_t)max * 8, *table, NULL) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "watching system calls: sys_call_table at "
                             "0x%llx", (unsigned long long)S->table);
    while (max && !in_text(text, (*table)[max - 1]))
        max--;
    if (!max)
        return tvmi_fail(vmi, "watching system calls: no entry of "
                         "sys_call_table (0x%llx) points into the kernel's text",
                         (unsigned long long)S->table);
    *n = max;
    return VMI_SUCCESS;
}

static status_t setup_syscalls(vmi_instance_t vmi, tvmi_linux_watch_t *w)
{
    struct syscalls *S = &w->sys;
    addr_t text[2];
    uint64_t *table = NULL;

    if (vmi_translate_ksym2v(vmi, "sys_call_table", &S->table) != VMI_SUCCESS)
        return tvmi_fail(vmi, "watching system calls: no sys_call_table symbol");
    if (text_range(vmi, &text[0], &text[1]) != VMI_SUCCESS ||
        syscall_count(vmi, w, text, &table, &S->n) != VMI_SUCCESS) {
        free(table);
        return VMI_FAILURE;
    }
    S->orig = table;
    S->seen = malloc((size_t)S->n * 8);
    if (!S->seen)
        return tvmi_fail(vmi, "watching system calls: out of memory");
    memcpy(S->seen, S->orig, (size_t)S->n * 8);
    for (uint32_t i = 0; i < S->n; i++) {
        if (in_text(text, S->orig[i]))
            continue;
        if (!w->sum.syscalls_outside++)
            note(&w->sum, "sys_call_table[%u] = 0x%llx is outside the kernel's "
                 "text at the start", i, (unsigned long long)S->orig[i]);
    }
    w->sum.syscall_table = S->table;
    w->sum.syscalls = S->n;
    return VMI_SUCCESS;
}

/* The module whose code starts at or below va and whose size reaches it
 * (sizes sum every region of a module, so this is a good guess, no more). */
static void module_of(struct check *c, addr_t va, char *name, size_t len)
{
    const tvmi_linux_module_t *best = NULL;

    if (!c->mods_listed) {
        c->mods_listed = true;
        if (tvmi_linux_modules(c->vmi, &c->mods, &c->nmods, NULL) != VMI_SUCCESS)
            c->nmods = 0;
    }
    for (size_t i = 0; i < c->nmods; i++) {
        const tvmi_linux_module_t *m = &c->mods[i];
        if (m->base <= va && va - m->base < m->size &&
            (!best || m->base > best->base))
            best = m;
    }
    if (best)
        snprintf(name, len, "%s", best->name);
}

static void name_target(struct check *c, addr_t va, const char **sym,
                        addr_t *off, char *also, char *module, char *keep)
{
    *sym = name_va(c->vmi, va, off, also, TVMI_WATCH_ALIASES, keep);
    if (!*sym)
        module_of(c, va, module, TVMI_WATCH_MODULE_NAME);
}

static void check_syscalls(struct check *c)
{
    struct syscalls *S = &c->w->sys;
    uint64_t *now = c->w->buf.q;
    uint32_t n = S->n;

    /* buf holds PAGE bytes: 512 entries a read */
    for (uint32_t at = 0; at < n; at += PAGE / 8) {
        uint32_t k = n - at < PAGE / 8 ? n - at : PAGE / 8;

        if (vmi_read_va(c->vmi, S->table + (addr_t)at * 8, 0, (size_t)k * 8,
                        now, NULL) != VMI_SUCCESS) {
            if (!S->lost)
                problem(c, "syscalls", "sys_call_table 0x%llx cannot be read "
                        "any more: %s", (unsigned long long)S->table,
                        tvmi_last_error(c->vmi));
            S->lost = true;
            return;
        }
        for (uint32_t i = 0; i < k; i++) {
            uint32_t x = at + i;
            tvmi_watch_event_t *e;
            if (now[i] == S->seen[x])
                continue;
            e = event(c, now[i] == S->orig[x] ? TVMI_WATCH_SYSCALL_RESTORED
                                              : TVMI_WATCH_SYSCALL_CHANGED);
            e->syscall.index = x;
            e->syscall.old_target = S->seen[x];
            e->syscall.new_target = now[i];
            e->syscall.original = S->orig[x];
            name_target(c, S->seen[x], &e->syscall.old_symbol,
                        &e->syscall.old_offset, e->syscall.old_aliases,
                        e->syscall.old_module, c->w->keep[2]);
            name_target(c, now[i], &e->syscall.new_symbol,
                        &e->syscall.new_offset, e->syscall.new_aliases,
                        e->syscall.new_module, c->w->keep[3]);
            S->seen[x] = now[i];
            emit(c);
        }
    }
    S->lost = false;
}

/* ---- the API ------------------------------------------------------------------ */

/* The first listing of a set is its baseline. */
static status_t setup_set(vmi_instance_t vmi, tvmi_linux_watch_t *w,
                          const struct set_kind *k, struct set *s, size_t *count)
{
    int partial;

    if (k->list(vmi, w->what, &s->item, &s->n, &partial) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "watching %s", k->what);
    if (partial)
        note(&w->sum, "the %s listing is partial: %s", k->what,
             tvmi_last_error(vmi));
    *count = s->n;
    return VMI_SUCCESS;
}

tvmi_linux_watch_t *tvmi_linux_watch_new(vmi_instance_t vmi, unsigned what)
{
    tvmi_linux_watch_t *w;

    if (!vmi)
        return NULL;
    if (what & TVMI_WATCH_THREADS)
        what |= TVMI_WATCH_TASKS;
    what &= TVMI_WATCH_ALL | TVMI_WATCH_THREADS;
    if (!what) {
        tvmi_fail(vmi, "watching: nothing to watch");
        return NULL;
    }
    if (!(w = calloc(1, sizeof(*w)))) {
        tvmi_fail(vmi, "watching: out of memory");
        return NULL;
    }
    w->what = w->sum.what = what;
    crc_init(w->crc);
    vmi_v2pcache_flush(vmi, ~0ull);
    if (((what & TVMI_WATCH_TASKS) &&
         setup_set(vmi, w, &tasks_kind, &w->tasks, &w->sum.tasks) != VMI_SUCCESS) ||
        ((what & TVMI_WATCH_MODULES) &&
         setup_set(vmi, w, &modules_kind, &w->modules, &w->sum.modules) != VMI_SUCCESS) ||
        ((what & TVMI_WATCH_TEXT) && setup_text(vmi, w) != VMI_SUCCESS) ||
        ((what & TVMI_WATCH_SYSCALLS) && setup_syscalls(vmi, w) != VMI_SUCCESS)) {
        tvmi_linux_watch_free(w);
        return NULL;
    }
    return w;
}

status_t tvmi_linux_watch_check(vmi_instance_t vmi, tvmi_linux_watch_t *w,
                                tvmi_watch_event_cb cb, void *arg)
{
    struct check *c;
    status_t rc = VMI_SUCCESS;

    if (!vmi || !w || !cb)
        return vmi ? tvmi_fail(vmi, "watching: NULL argument") : VMI_FAILURE;
    if (!(c = calloc(1, sizeof(*c))))
        return tvmi_fail(vmi, "watching: out of memory");
    /* a destroyed domain would look frozen, its frames still mapped */
    if (tvmi_target_check(vmi) != VMI_SUCCESS) {
        free(c);
        return VMI_FAILURE;
    }
    *c = (struct check){ .vmi = vmi, .w = w, .cb = cb, .arg = arg };
    /* a live guest remaps: module memory, even text (a rootkit may) */
    vmi_v2pcache_flush(vmi, ~0ull);
    if (w->what & TVMI_WATCH_TASKS)
        rc = check_set(c, &tasks_kind, &w->tasks);
    if (rc == VMI_SUCCESS && (w->what & TVMI_WATCH_MODULES))
        rc = check_set(c, &modules_kind, &w->modules);
    if (rc == VMI_SUCCESS && (w->what & TVMI_WATCH_TEXT))
        check_text(c);
    if (rc == VMI_SUCCESS && (w->what & TVMI_WATCH_SYSCALLS))
        check_syscalls(c);
    free(c->mods);
    free(c);
    return rc;
}

void tvmi_linux_watch_summary(const tvmi_linux_watch_t *w,
                              tvmi_watch_summary_t *s)
{
    if (w && s)
        *s = w->sum;
}

void tvmi_linux_watch_free(tvmi_linux_watch_t *w)
{
    if (!w)
        return;
    free(w->tasks.item);
    free(w->modules.item);
    free(w->text.orig);
    free(w->text.page);
    free(w->text.seen);
    free(w->text.next);
    free(w->sys.orig);
    free(w->sys.seen);
    free(w);
}

const char *tvmi_watch_kind_name(tvmi_watch_kind_t kind)
{
    static const char *const names[] = {
        [TVMI_WATCH_TASK_STARTED] = "task_started",
        [TVMI_WATCH_TASK_EXITED] = "task_exited",
        [TVMI_WATCH_MODULE_LOADED] = "module_loaded",
        [TVMI_WATCH_MODULE_UNLOADED] = "module_unloaded",
        [TVMI_WATCH_TEXT_CHANGED] = "text_changed",
        [TVMI_WATCH_TEXT_RESTORED] = "text_restored",
        [TVMI_WATCH_SYSCALL_CHANGED] = "syscall_changed",
        [TVMI_WATCH_SYSCALL_RESTORED] = "syscall_restored",
        [TVMI_WATCH_PROBLEM] = "problem",
    };

    if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[kind];
}
