/*
 * The Linux views on the real corpus: every snapshot, as mem.raw (no
 * registers) and mem.elf, against what the guest itself wrote before the
 * dump:
 *
 *   tasks    truth/tasks.tsv (tid, tgid, ppid, comm of every task). pid 0
 *            is never in /proc. Kernel workers come and go between the
 *            guest's listing and the dump, and /proc shows a kworker's
 *            workqueue after its comm ("kworker/0:0-events") and a kernel
 *            thread's full name where comm keeps 15 bytes: so only kworkers
 *            may be missing on either side, and a kernel thread's comm must
 *            be the start of /proc's. Every other task must match exactly,
 *            its uid and ps state letter (truth/task-state.tsv) too; the
 *            guest has a task of another uid, a stopped one and a zombie.
 *   modules  truth/modules.txt (/proc/modules with real addresses).
 *   memory   truth/marker.txt's string, read through the marker's pid.
 *   pid/dtb  pid -> dtb -> pid for every process and thread; a zombie
 *            has no address space, and pid -> dtb says so.
 *   log      truth/dmesg-line.txt's line, and "Linux version" first.
 *   layouts  every member the views read, against pahole on the vmlinux.
 *
 * Then the same views with the BTF in memory put aside (memory_btf = no)
 * and an ISF profile's user_types instead, as on a kernel without BTF:
 * the ISF is made by tests/tools/make-isf.py (its own BTF reader) from
 * the vmlinux's .BTF, and the answers must be the guest's again, the
 * layouts pahole's. Without BTF or ISF types the views must say so.
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
#include "corpus.h"

#define MAX_TRUTH 1024

struct ttask {
    int tid, tgid, ppid;
    char comm[128];
    char state;    /* /proc/PID/stat's letter when the truth was taken */
    unsigned uid;  /* /proc/PID/status's real uid */
};

/* truth/task-state.tsv: tid, state letter, uid, from the same pass. */
static void read_states(const struct corpus_snap *s, struct ttask *t, size_t n)
{
    char line[128], st;
    FILE *f = fopen(corpus_path(s, "truth/task-state.tsv"), "r");
    int tid;
    unsigned uid;
    size_t found = 0;

    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        t[i].state = '?';
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%d\t%c\t%u", &tid, &st, &uid) != 3)
            continue;
        for (size_t i = 0; i < n; i++)
            if (t[i].tid == tid) {
                t[i].state = st;
                t[i].uid = uid;
                found++;
            }
    }
    fclose(f);
    assert_int_equal(found, n);
}

static size_t read_tasks(const struct corpus_snap *s, struct ttask *t, size_t max)
{
    char line[512];
    FILE *f = fopen(corpus_path(s, "truth/tasks.tsv"), "r");
    size_t n = 0;

    assert_non_null(f);
    while (n < max && fgets(line, sizeof(line), f)) {
        char *comm = line;
        line[strcspn(line, "\r\n")] = '\0';
        if (sscanf(line, "%d\t%d\t%d\t", &t[n].tid, &t[n].tgid, &t[n].ppid) != 3)
            continue;
        for (int tabs = 0; tabs < 3 && comm; tabs++)
            comm = strchr(comm, '\t') ? strchr(comm, '\t') + 1 : NULL;
        assert_non_null(comm);
        snprintf(t[n].comm, sizeof(t[n].comm), "%.127s", comm);
        n++;
    }
    fclose(f);
    read_states(s, t, n);
    return n;
}

static bool is_kthread(const struct ttask *t)
{
    return t->tid == 2 || t->ppid == 2;
}

static bool transient(const char *comm)
{
    return !strncmp(comm, "kworker/", 8);
}

/* A kernel thread's comm is the first 15 bytes of its name; /proc adds a
 * kworker's workqueue after a '-'. */
static bool comm_matches(const char *ours, const struct ttask *t)
{
    size_t n = strlen(ours);

    if (!is_kthread(t))
        return !strcmp(ours, t->comm);
    return !strncmp(ours, t->comm, n) &&
           (n == 15 || t->comm[n] == '\0' || (transient(ours) && t->comm[n] == '-'));
}

static const tvmi_linux_task_t *find_pid(const tvmi_linux_task_t *v, size_t n,
                                         int pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == pid)
            return &v[i];
    return NULL;
}

/* ps's letter against /proc's. Returns whether it was compared. */
static size_t check_state(const tvmi_linux_task_t *t, const struct ttask *truth,
                          const char *file, size_t *bad, size_t *kmoved)
{
    if (truth->tid == 1 || t->state_letter == truth->state)
        return truth->tid != 1;
    if (is_kthread(truth)) {
        (*kmoved)++;
        return 1;
    }
    print_error("%s: pid %d (%s): tinyvmi state %c, /proc %c\n", file, t->pid,
                t->comm, t->state_letter, truth->state);
    (*bad)++;
    return 1;
}

/* The corpus guest has a task of each kind the truth can name: the test
 * must not pass on a guest where every answer is "root, sleeping". */
static void check_truth_variety(const struct ttask *t, size_t n)
{
    bool user = false, stopped = false, zombie = false, idle = false;

    for (size_t i = 0; i < n; i++) {
        user |= t[i].uid != 0;
        stopped |= t[i].state == 'T';
        zombie |= t[i].state == 'Z';
        idle |= t[i].state == 'I';
    }
    assert_true(user && stopped && zombie && idle);
}

static void check_tasks(vmi_instance_t vmi, const struct corpus_snap *s,
                        const char *file)
{
    static struct ttask truth[MAX_TRUTH];
    size_t nt = read_tasks(s, truth, MAX_TRUTH), n, bad = 0, gone = 0, extra = 0;
    size_t states_checked = 0, kstate_moved = 0;
    tvmi_linux_task_t *v;
    int partial = -1;

    check_truth_variety(truth, nt);
    assert_int_equal(tvmi_linux_tasks(vmi, &v, &n, &partial), VMI_SUCCESS);
    assert_int_equal(partial, 0);
    assert_true(n > 10 && nt > 10);
    assert_int_equal(v[0].pid, 0);
    assert_true(v[0].kernel_thread);
    for (size_t i = 0; i < nt; i++) {
        const tvmi_linux_task_t *t = find_pid(v, n, truth[i].tid);
        if (!t) {
            gone++;
            if (!is_kthread(&truth[i]) || !transient(truth[i].comm)) {
                print_error("%s: pid %d (%s) is missing\n", file, truth[i].tid,
                            truth[i].comm);
                bad++;
            }
            continue;
        }
        if (t->tgid != truth[i].tgid || t->ppid != truth[i].ppid ||
            !comm_matches(t->comm, &truth[i]) ||
            t->kernel_thread != is_kthread(&truth[i]) || t->uid != truth[i].uid ||
            !t->dtb != (truth[i].state == 'Z')) {
            print_error("%s: pid %d: tinyvmi tgid %d ppid %d '%s' kthread %d "
                        "uid %u dtb 0x%llx; /proc tgid %d ppid %d '%s' uid %u "
                        "state %c\n", file, t->pid, t->tgid, t->ppid, t->comm,
                        t->kernel_thread, t->uid, (unsigned long long)t->dtb,
                        truth[i].tgid, truth[i].ppid, truth[i].comm, truth[i].uid,
                        truth[i].state);
            bad++;
        }
        states_checked += check_state(t, &truth[i], file, &bad, &kstate_moved);
    }
    /* The guest is idle once its truth is written: only its init (which
     * wrote it) and kernel threads (timers, workqueues) may have changed
     * state since, and not many of those. */
    assert_true(states_checked >= nt / 2);
    if (kstate_moved * 10 > states_checked) {
        print_error("%s: %zu kernel threads changed state\n", file, kstate_moved);
        bad++;
    }
    for (size_t i = 1; i < n; i++) {
        bool known = false;
        for (size_t j = 0; j < nt && !known; j++)
            known = truth[j].tid == v[i].pid;
        if (known)
            continue;
        extra++;
        if (!v[i].kernel_thread || !transient(v[i].comm)) {
            print_error("%s: pid %d (%s) is not in /proc\n", file, v[i].pid,
                        v[i].comm);
            bad++;
        }
    }
    print_message("  %s: %zu tasks (+ swapper), /proc %zu; kworkers gone %zu, "
                  "new %zu\n", file, n - 1, nt, gone, extra);
    assert_int_equal(bad, 0);
    free(v);
}

/* The process and each thread: pid -> dtb -> tgid; kernel threads get the
 * kernel's root, which maps to pid 0. */
static void check_dtbs(vmi_instance_t vmi, const struct corpus_snap *s)
{
    static struct ttask truth[MAX_TRUTH];
    size_t nt = read_tasks(s, truth, MAX_TRUTH), users = 0;
    tvmi_linux_info_t info;
    addr_t dtb;
    vmi_pid_t pid;

    static addr_t roots[MAX_TRUTH];
    static vmi_pid_t owner[MAX_TRUTH];
    size_t nr = 0;

    assert_int_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
    for (size_t i = 0; i < nt; i++) {
        if (is_kthread(&truth[i]))
            continue;
        if (truth[i].state == 'Z') {
            assert_int_not_equal(vmi_pid_to_dtb(vmi, truth[i].tid, &dtb), VMI_SUCCESS);
            assert_non_null(strstr(tvmi_last_error(vmi), "zombie"));
            continue;
        }
        users++;
        assert_int_equal(vmi_pid_to_dtb(vmi, truth[i].tid, &dtb), VMI_SUCCESS);
        assert_int_equal(vmi_dtb_to_pid(vmi, dtb, &pid), VMI_SUCCESS);
        assert_int_equal(pid, truth[i].tgid);
        /* CR3 forms: PCID bits */
        assert_int_equal(vmi_dtb_to_pid(vmi, dtb | 0x5, &pid), VMI_SUCCESS);
        assert_int_equal(pid, truth[i].tgid);
        roots[nr] = dtb;
        owner[nr++] = truth[i].tgid;
    }
    /* The PTI user copy (root | 0x1000) names the same process, unless
     * the kernel gave PGDs one page (7.x without PTI): then that page may
     * be another process's own root, and names that process. */
    for (size_t i = 0; i < nr; i++) {
        vmi_pid_t want = owner[i];

        if (roots[i] & 0x1000)
            continue;
        for (size_t j = 0; j < nr; j++)
            if (roots[j] == (roots[i] | 0x1000))
                want = owner[j];
        assert_int_equal(vmi_dtb_to_pid(vmi, roots[i] | 0x1000, &pid), VMI_SUCCESS);
        assert_int_equal(pid, want);
    }
    assert_true(users >= 9);
    assert_int_equal(vmi_pid_to_dtb(vmi, 2, &dtb), VMI_SUCCESS);
    assert_int_equal(dtb, info.kdtb);
    assert_int_equal(vmi_dtb_to_pid(vmi, info.kdtb, &pid), VMI_SUCCESS);
    assert_int_equal(pid, 0);
    assert_int_not_equal(vmi_pid_to_dtb(vmi, 999999, &dtb), VMI_SUCCESS);
    assert_non_null(strstr(tvmi_last_error(vmi), "999999"));
    assert_int_not_equal(vmi_dtb_to_pid(vmi, 0x1000, &pid), VMI_SUCCESS);
}

static void check_marker(vmi_instance_t vmi, const struct corpus_snap *s)
{
    char want[128], got[128] = { 0 };
    int pid;
    uint64_t va, pa;
    addr_t upa;
    size_t n = 0;
    char *str;

    assert_int_equal(corpus_marker(s, &pid, &va, &pa, want, sizeof(want)), 0);
    assert_int_equal(vmi_read_va(vmi, va, pid, strlen(want), got, &n), VMI_SUCCESS);
    assert_int_equal(n, strlen(want));
    assert_string_equal(got, want);
    str = vmi_read_str_va(vmi, va, pid);
    assert_non_null(str);
    assert_string_equal(str, want);
    free(str);
    assert_int_equal(vmi_translate_uv2p(vmi, va, pid, &upa), VMI_SUCCESS);
    assert_int_equal(upa, pa);
}

static void check_modules(vmi_instance_t vmi, const struct corpus_snap *s)
{
    char line[512], name[128], state[32];
    FILE *f = fopen(corpus_path(s, "truth/modules.txt"), "r");
    tvmi_linux_module_t *m;
    size_t n, lines = 0;
    int partial = -1;

    assert_non_null(f);
    assert_int_equal(tvmi_linux_modules(vmi, &m, &n, &partial), VMI_SUCCESS);
    assert_int_equal(partial, 0);
    while (fgets(line, sizeof(line), f)) {
        unsigned long long size, addr;
        char refs[32], deps[256];
        size_t i;

        if (sscanf(line, "%127s %llu %31s %255s %31s %llx", name, &size, refs,
                   deps, state, &addr) != 6)
            continue;
        assert_true(lines < n);
        i = lines++; /* same order: newest first */
        assert_string_equal(m[i].name, name);
        assert_int_equal(m[i].size, size);
        assert_int_equal(m[i].base, addr);
        assert_int_equal(m[i].state, !strcmp(state, "Live") ? 0 :
                         !strcmp(state, "Loading") ? 1 : 2);
    }
    fclose(f);
    assert_int_equal(lines, n);
    assert_true(n >= 1);
    free(m);
}

static void check_log(vmi_instance_t vmi, const struct corpus_snap *s,
                      const char *release)
{
    char line[512], want[600], first[256];
    FILE *f = fopen(corpus_path(s, "truth/dmesg-line.txt"), "r");
    tvmi_linux_log_record_t *r;
    size_t n, len;
    int partial = -1;
    char *text;

    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    assert_int_equal(tvmi_linux_log(vmi, &r, &n, &partial), VMI_SUCCESS);
    assert_int_equal(partial, 0);
    assert_true(n > 100);
    for (size_t i = 1; i < n; i++)
        assert_true(r[i].seq > r[i - 1].seq);
    assert_int_equal(r[0].seq, 0);
    free(r);

    text = tvmi_linux_dmesg(vmi, &len, &partial);
    assert_non_null(text);
    assert_int_equal(partial, 0);
    assert_int_equal(strlen(text), len);
    snprintf(first, sizeof(first), "[    0.000000] Linux version %s ", release);
    assert_memory_equal(text, first, strlen(first));
    snprintf(want, sizeof(want), "] %s\n", line);
    assert_non_null(strstr(text, want));
    free(text);
}

/* ---- layouts against pahole ----------------------------------------------- */

static char *meta_value(const struct corpus_snap *s, const char *key)
{
    static char v[512];
    char line[1024];
    FILE *f = fopen(corpus_path(s, "meta.env"), "r");
    size_t klen = strlen(key);

    v[0] = '\0';
    if (!f)
        return v;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, klen) && line[klen] == '=') {
            char *p = line + klen + 1;
            p += strspn(p, "'\"");
            p[strcspn(p, "'\"\r\n")] = '\0';
            snprintf(v, sizeof(v), "%s", p);
        }
    fclose(f);
    return v;
}

static char *run(const char *cmd)
{
    char *buf = calloc(1, 4 << 20);
    size_t n;
    FILE *p = popen(cmd, "r");

    assert_non_null(buf);
    if (!p) {
        free(buf);
        return NULL;
    }
    n = fread(buf, 1, (4 << 20) - 1, p);
    pclose(p);
    buf[n] = '\0';
    return buf;
}

/* pahole's "struct NAME {" block. */
static const char *pahole_struct(const char *out, const char *st, const char **end)
{
    char key[128];
    const char *p;

    snprintf(key, sizeof(key), "struct %s {\n", st);
    for (p = strstr(out, key); p && p != out && p[-1] != '\n'; p = strstr(p + 1, key))
        ;
    if (!p)
        return NULL;
    *end = strstr(p, "\n}");
    return p;
}

/* Offset and size of member in a struct's block: the first line naming
 * it ("name;", "name[16];", the bitfield "name:3;", "name __attribute__")
 * ends with a comment holding offset and size. */
static bool pahole_member(const char *blk, const char *end, const char *member,
                          long *off, long *size)
{
    size_t mlen = strlen(member);

    for (const char *line = blk; line && line < end; line = strchr(line, '\n')) {
        const char *eol = strchr(++line, '\n'), *p, *c;
        char *q;

        for (p = line; p && p < eol; p = strstr(p + 1, member)) {
            p = strstr(p, member);
            if (!p || p >= eol)
                break;
            if ((p[-1] == ' ' || p[-1] == '*' || p[-1] == '\t') &&
                strchr(";[: ", p[mlen]))
                break;
        }
        if (!p || p >= eol || !(c = strstr(p, "/*")) || c >= eol)
            continue;
        *off = strtol(c + 2, &q, 10);
        if (*q == ':') /* bitfield: "19: 5  1" */
            strtol(q + 1, &q, 10);
        *size = strtol(q, NULL, 10);
        return true;
    }
    return false;
}

static void check_layouts(vmi_instance_t vmi, const struct corpus_snap *s)
{
    tvmi_linux_field_t f[64];
    size_t n = tvmi_linux_view_fields(vmi, f, 64);
    const char *vmlinux = meta_value(s, "VMLINUX");
    char cmd[2048], list[1024] = "";
    char *out;

    assert_true(n > 30 && n <= 64);
    out = run("command -v pahole");
    if (!out || !out[0])
        fail_msg("pahole is not installed: apt-get install dwarves (it is the "
                 "test's oracle for structure layouts)");
    free(out);
    /* ",a,b,c," so that prb_desc is not taken for prb_desc_ring */
    strcpy(list, ",");
    for (size_t i = 0; i < n; i++) {
        char item[130];
        snprintf(item, sizeof(item), ",%s,", f[i].struct_name);
        if (!strstr(list, item))
            strcat(strcat(list, f[i].struct_name), ",");
    }
    list[strlen(list) - 1] = '\0';
    snprintf(cmd, sizeof(cmd), "pahole -C '%s' '%s' 2>/dev/null", list + 1, vmlinux);
    out = run(cmd);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        const char *end, *blk = pahole_struct(out, f[i].struct_name, &end);
        long off = -1, size = -1;

        if (!blk || !pahole_member(blk, end, f[i].member, &off, &size))
            fail_msg("pahole on %s has no %s.%s", vmlinux, f[i].struct_name,
                     f[i].member);
        if (off != (long)f[i].offset || size != (long)f[i].size)
            fail_msg("%s.%s: tinyvmi's layouts say offset %zu size %zu, pahole "
                     "%ld %ld", f[i].struct_name, f[i].member, f[i].offset,
                     f[i].size, off, size);
    }
    free(out);
}

/* ---- driver ---------------------------------------------------------------------- */

static void one_file(const struct corpus_snap *s, const char *file)
{
    vmi_instance_t vmi = corpus_open(s, file, TVMI_CONFIG_NONE, NULL);
    tvmi_linux_info_t info;

    assert_int_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
    check_tasks(vmi, s, file);
    check_dtbs(vmi, s);
    check_marker(vmi, s);
    check_modules(vmi, s);
    check_log(vmi, s, info.release);
    check_layouts(vmi, s);
    vmi_destroy(vmi);
}

/* ---- layouts from an ISF, memory's BTF put aside ------------------------------------ */

static char scratch[64]; /* the ISFs made, removed at the end */

/* The ISF of s's kernel (types only), made once per kernel. */
static const char *isf_of(const struct corpus_snap *s)
{
    static char made[8][128], paths[8][600];
    char *dir = scratch;
    static size_t n;
    char cmd[2048];
    char *out;

    for (size_t i = 0; i < n; i++)
        if (!strcmp(made[i], s->kver))
            return paths[i];
    assert_true(n < 8);
    if (!dir[0] && !mkdtemp(strcpy(dir, "/tmp/tvmi-views-XXXXXX")))
        fail_msg("mkdtemp: cannot make a scratch directory");
    snprintf(paths[n], sizeof(paths[n]), "%s/%s.json", dir, s->kver);
    snprintf(cmd, sizeof(cmd), "objcopy -O binary --only-section=.BTF '%s' "
             "'%s/%s.btf' && python3 '%s/tests/tools/make-isf.py' --btf "
             "'%s/%s.btf' -o '%s' && echo made", meta_value(s, "VMLINUX"), dir,
             s->kver, getenv("TVMI_SOURCE_DIR") ? getenv("TVMI_SOURCE_DIR") : ".",
             dir, s->kver, paths[n]);
    out = run(cmd);
    if (!out || strcmp(out, "made\n"))
        fail_msg("could not make the ISF of %s: %s", s->kver, cmd);
    free(out);
    snprintf(made[n], sizeof(made[n]), "%s", s->kver);
    return paths[n++];
}

static void isf_layouts(const struct corpus_snap *s, const char *file)
{
    char conf[800];
    vmi_instance_t vmi;
    tvmi_linux_info_t info;

    snprintf(conf, sizeof(conf), "{ volatility_ist = \"%s\"; memory_btf = no; }",
             isf_of(s));
    vmi = corpus_open(s, file, VMI_CONFIG_STRING, conf);
    assert_int_equal(tvmi_linux_get_info(vmi, &info), VMI_SUCCESS);
    assert_int_equal(info.btf_types, 0);
    assert_int_equal(info.btf_pa, 0);
    if (strncmp(info.type_source, "ISF ", 4))
        fail_msg("types from '%s', want the ISF", info.type_source);
    check_tasks(vmi, s, file);
    check_dtbs(vmi, s);
    check_modules(vmi, s);
    check_log(vmi, s, info.release);
    check_layouts(vmi, s);
    vmi_destroy(vmi);
}

/* Neither BTF nor ISF types: every view fails and says why. */
static void no_layouts(const struct corpus_snap *s)
{
    vmi_instance_t vmi = corpus_open(s, "mem.raw", VMI_CONFIG_STRING,
                                     "{ memory_btf = no; }");
    tvmi_linux_task_t *t = NULL;
    tvmi_linux_module_t *m = NULL;
    char *text;
    size_t n;

    assert_int_not_equal(tvmi_linux_tasks(vmi, &t, &n, NULL), VMI_SUCCESS);
    assert_non_null(strstr(tvmi_last_error(vmi), "no structure layouts: no BTF"));
    assert_non_null(strstr(tvmi_last_error(vmi), "no ISF profile with user_types"));
    assert_int_not_equal(tvmi_linux_modules(vmi, &m, &n, NULL), VMI_SUCCESS);
    assert_non_null(strstr(tvmi_last_error(vmi), "no structure layouts"));
    assert_null(text = tvmi_linux_dmesg(vmi, &n, NULL));
    assert_non_null(strstr(tvmi_last_error(vmi), "no structure layouts"));
    assert_int_equal(tvmi_linux_view_fields(vmi, NULL, 0), 0);
    vmi_destroy(vmi);
}

static void test_snapshot(void **state)
{
    const struct corpus_snap *s = *state;

    print_message("%s\n", s->dir);
    one_file(s, "mem.raw");
    one_file(s, "mem.elf");
    print_message("  layouts from the ISF (memory_btf = no):\n");
    isf_layouts(s, "mem.raw");
    no_layouts(s);
}

int main(void)
{
    int rc = corpus_run_each("linux_views", test_snapshot);
    char cmd[128];

    if (scratch[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
        free(run(cmd));
    }
    return rc;
}
