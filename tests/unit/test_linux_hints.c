/*
 * Discovery hints (tvmi_linux_get_hints / tvmi_linux_set_hints) on the
 * real snapshot corpus:
 *
 *   accepted   a record made on a snapshot is accepted by a new instance
 *              on it; that instance gives the guest's own answers (its
 *              /proc/kallsyms, tasks and modules in truth/) and the same
 *              info as a cold discovery, and reads only a few frames
 *              (counted through a driver that maps like Xen's);
 *   rejected   a record made on another snapshot (another kernel, paging
 *              depth or KASLR slide) is rejected with a reason, and
 *              discovery still finds the right kernel;
 *   garbage    truncated, edited (with a valid checksum, so the checks
 *              behind it run), random and oversized records are harmless:
 *              rejected with a reason, or accepted only when what they say
 *              still holds, and the views never crash on what they give.
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
#include "memdrv.h"

#define SAMPLE_EVERY 997   /* kallsyms lines: ~170 names per kernel */
#define MAX_SAMPLES 512
#define WARM_MAX_FRAMES 64 /* a hinted start reads a handful of frames */

/* ---- a driver that maps like Xen's: through the page cache, counted ------- */

static const struct tvmi_driver_ops *snapshot_ops;
static struct tvmi_driver_ops live_ops;
static size_t frames_mapped;

static void *counting_map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    frames_mapped++;
    return snapshot_ops->map_frame(vmi, gfn, write);
}

static void make_live_driver(void)
{
    for (const struct tvmi_driver_ops *const *d = tvmi_drivers; *d; d++)
        if (!strcmp((*d)->name, "snapshot"))
            snapshot_ops = *d;
    assert_non_null(snapshot_ops);
    live_ops = *snapshot_ops;
    live_ops.flags = TVMI_DRV_LIVE;
    live_ops.map_frame = counting_map_frame;
}

static vmi_instance_t open_file(const struct corpus_snap *s, const char *file,
                                bool live)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;
    const char *path = corpus_path(s, file);

    if (live) {
        make_live_driver();
        assert_int_equal(tvmi_init_with_driver(&vmi, &live_ops, path,
                                               VMI_INIT_DOMAINNAME, &err),
                         VMI_SUCCESS);
    } else {
        assert_int_equal(vmi_init(&vmi, VMI_FILE, path, VMI_INIT_DOMAINNAME,
                                  NULL, &err), VMI_SUCCESS);
    }
    return vmi;
}

/* An instance on file with rec as hints; discovery must succeed. */
static vmi_instance_t start(const struct corpus_snap *s, const char *file,
                            const char *rec, size_t len, bool live,
                            tvmi_linux_info_t *info)
{
    vmi_instance_t vmi = open_file(s, file, live);
    vmi_init_error_t err;

    assert_int_equal(tvmi_linux_set_hints(vmi, rec, len), VMI_SUCCESS);
    frames_mapped = 0;
    if (vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err) != VMI_OS_LINUX)
        fail_msg("%s: discovery failed: %s", file, tvmi_last_error(vmi));
    assert_int_equal(tvmi_linux_get_info(vmi, info), VMI_SUCCESS);
    return vmi;
}

static char *record_of(const struct corpus_snap *s, const char *file, size_t *len)
{
    tvmi_linux_info_t info;
    vmi_instance_t vmi = start(s, file, NULL, 0, false, &info);
    char *rec = tvmi_linux_get_hints(vmi, len);

    if (!rec)
        fail_msg("%s: no record: %s", file, tvmi_last_error(vmi));
    assert_string_equal(info.hints, "none given");
    vmi_destroy(vmi);
    return rec;
}

/* ---- ground truth ------------------------------------------------------------ */

struct sample {
    char name[128];
    unsigned long long addr;
    bool seen;
};

/* Every SAMPLE_EVERY-th core symbol of the guest's /proc/kallsyms, with
 * the address of the first symbol of that name (what a lookup gives). */
static size_t kallsyms_samples(const struct corpus_snap *s, struct sample *v)
{
    FILE *f = fopen(corpus_path(s, "truth/kallsyms.txt"), "r");
    char line[512], name[128], type[8];
    unsigned long long addr;
    size_t n = 0, lines = 0;

    assert_non_null(f);
    memset(v, 0, sizeof(*v) * MAX_SAMPLES);
    while (fgets(line, sizeof(line), f) && n < MAX_SAMPLES)
        if (!strchr(line, '[') && sscanf(line, "%llx %7s %127s", &addr, type, name) == 3 &&
            lines++ % SAMPLE_EVERY == 0)
            snprintf(v[n++].name, sizeof(v[0].name), "%s", name);
    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        if (strchr(line, '[') || sscanf(line, "%llx %7s %127s", &addr, type, name) != 3)
            continue;
        for (size_t i = 0; i < n; i++)
            if (!v[i].seen && !strcmp(v[i].name, name)) {
                v[i].seen = true;
                v[i].addr = addr;
            }
    }
    fclose(f);
    return n;
}

static void check_symbols(vmi_instance_t vmi, const struct corpus_snap *s)
{
    static struct sample v[MAX_SAMPLES];
    size_t n = kallsyms_samples(s, v);
    addr_t va, off;

    assert_true(n > 50);
    for (size_t i = 0; i < n; i++) {
        if (vmi_translate_ksym2v(vmi, v[i].name, &va) != VMI_SUCCESS)
            fail_msg("%s: %s", v[i].name, tvmi_last_error(vmi));
        if (va != v[i].addr)
            fail_msg("%s: 0x%llx, the guest says 0x%llx", v[i].name,
                     (unsigned long long)va, v[i].addr);
    }
    assert_int_not_equal(vmi_translate_ksym2v(vmi, "no_such_symbol_xyz", &va),
                         VMI_SUCCESS);
    /* names by address decode the whole table: the same answers */
    assert_int_equal(vmi_translate_ksym2v(vmi, "init_task", &va), VMI_SUCCESS);
    assert_non_null(tvmi_linux_v2ksym(vmi, va + 8, &off));
    assert_string_equal(tvmi_linux_v2ksym(vmi, va + 8, &off), "init_task");
    assert_int_equal(off, 8);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(vmi_translate_ksym2v(vmi, v[i].name, &va), VMI_SUCCESS);
        assert_int_equal(va, v[i].addr);
    }
}

/* Every truth task but a transient kworker is listed, with its tgid and
 * ppid; the listing is the cold one's. */
static void check_tasks(vmi_instance_t vmi, const struct corpus_snap *s,
                        const tvmi_linux_task_t *cold, size_t ncold)
{
    FILE *f = fopen(corpus_path(s, "truth/tasks.tsv"), "r");
    tvmi_linux_task_t *t;
    size_t n, checked = 0;
    char line[512];
    int partial = -1;

    assert_non_null(f);
    assert_int_equal(tvmi_linux_tasks(vmi, &t, &n, &partial), VMI_SUCCESS);
    assert_int_equal(partial, 0);
    assert_int_equal(n, ncold);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].pid, cold[i].pid);
        assert_int_equal(t[i].tgid, cold[i].tgid);
        assert_int_equal(t[i].ppid, cold[i].ppid);
        assert_int_equal(t[i].uid, cold[i].uid);
        assert_int_equal(t[i].task, cold[i].task);
        assert_int_equal(t[i].dtb, cold[i].dtb);
        assert_string_equal(t[i].comm, cold[i].comm);
    }
    while (fgets(line, sizeof(line), f)) {
        int tid, tgid, ppid;
        bool found = false;

        if (sscanf(line, "%d\t%d\t%d\t", &tid, &tgid, &ppid) != 3 ||
            strstr(line, "kworker/"))
            continue;
        for (size_t i = 0; i < n && !found; i++)
            found = t[i].pid == tid && t[i].tgid == tgid && t[i].ppid == ppid;
        if (!found)
            fail_msg("task %d (tgid %d, ppid %d) is not listed", tid, tgid, ppid);
        checked++;
    }
    fclose(f);
    assert_true(checked >= 10);
    free(t);
}

static void check_modules(vmi_instance_t vmi, const struct corpus_snap *s)
{
    FILE *f = fopen(corpus_path(s, "truth/modules.txt"), "r");
    char line[512], name[128], state[32], refs[32], deps[256];
    unsigned long long size, addr;
    tvmi_linux_module_t *m;
    size_t n, i = 0;

    assert_non_null(f);
    assert_int_equal(tvmi_linux_modules(vmi, &m, &n, NULL), VMI_SUCCESS);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%127s %llu %31s %255s %31s %llx", name, &size, refs,
                   deps, state, &addr) == 6) {
            assert_true(i < n);
            assert_string_equal(m[i].name, name);
            assert_int_equal(m[i].size, size);
            assert_int_equal(m[i].base, addr);
            i++;
        }
    fclose(f);
    assert_int_equal(i, n);
    free(m);
}

/* What a hinted start reports is what a cold one does. */
static void same_info(const tvmi_linux_info_t *a, const tvmi_linux_info_t *b)
{
    assert_string_equal(a->banner, b->banner);
    assert_string_equal(a->release, b->release);
    assert_int_equal(a->text_va, b->text_va);
    assert_int_equal(a->text_pa, b->text_pa);
    assert_int_equal(a->end_va, b->end_va);
    assert_int_equal(a->kdtb, b->kdtb);
    assert_int_equal(a->page_mode, b->page_mode);
    assert_int_equal(a->num_syms, b->num_syms);
    assert_int_equal(a->token_table_pa, b->token_table_pa);
    assert_int_equal(a->names_pa, b->names_pa);
    assert_string_equal(a->kallsyms_layout, b->kallsyms_layout);
    assert_int_equal(a->absolute_percpu, b->absolute_percpu);
    assert_int_equal(a->seqs_of_names, b->seqs_of_names);
    assert_int_equal(a->btf_pa, b->btf_pa);
    assert_int_equal(a->btf_size, b->btf_size);
    assert_int_equal(a->btf_types, b->btf_types);
    assert_int_equal(a->phys_base_check, b->phys_base_check);
    assert_int_equal(a->l5_check, b->l5_check);
    assert_int_equal(a->symbol_check, b->symbol_check);
    assert_int_equal(a->regs_check, b->regs_check);
    assert_string_equal(a->notes, b->notes);
    assert_string_equal(a->type_source, b->type_source);
}

/* ---- the tests ----------------------------------------------------------------- */

static void test_accepted(void **state)
{
    const struct corpus_snap *s = *state;
    static const char *const files[] = { "mem.elf", "mem.raw" };

    for (size_t k = 0; k < 2; k++) {
        tvmi_linux_info_t cold, warm;
        tvmi_linux_task_t *t;
        vmi_instance_t vmi;
        size_t len, n;
        char *rec = record_of(s, files[k], &len);

        vmi = start(s, files[k], NULL, 0, false, &cold);
        assert_int_equal(tvmi_linux_tasks(vmi, &t, &n, NULL), VMI_SUCCESS);
        vmi_destroy(vmi);

        vmi = start(s, files[k], rec, len, true, &warm);
        print_message("  %s: %zu-byte record, %zu frames mapped at the hinted "
                      "start\n", files[k], len, frames_mapped);
        assert_string_equal(warm.hints, "accepted");
        assert_true(frames_mapped <= WARM_MAX_FRAMES);
        assert_non_null(strstr(warm.found_by, "hints"));
        same_info(&warm, &cold);
        check_tasks(vmi, s, t, n);
        check_modules(vmi, s);
        check_symbols(vmi, s);
        vmi_destroy(vmi);
        free(t);
        free(rec);
    }
}

/* A record from each other snapshot of the corpus. */
static void test_rejected(void **state)
{
    const struct corpus_snap *s = *state;
    struct corpus_snap *all = NULL;
    size_t n = corpus_list(&all), tried = 0;
    tvmi_linux_info_t cold, got;
    vmi_instance_t vmi = start(s, "mem.raw", NULL, 0, false, &cold);

    vmi_destroy(vmi);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *rec;

        if (!strcmp(all[i].dir, s->dir))
            continue;
        rec = record_of(&all[i], "mem.raw", &len);
        vmi = start(s, "mem.raw", rec, len, false, &got);
        print_message("  from %s: %s\n", strrchr(all[i].dir, '/') + 1, got.hints);
        if (strncmp(got.hints, "rejected: ", 10))
            fail_msg("the record of %s was not rejected: %s", all[i].dir, got.hints);
        assert_int_equal(got.text_pa, cold.text_pa);
        assert_int_equal(got.kdtb, cold.kdtb);
        assert_string_equal(got.banner, cold.banner);
        vmi_destroy(vmi);
        free(rec);
        tried++;
    }
    free(all);
    if (!tried)
        skip();
}

/* ---- garbage ---------------------------------------------------------------------- */

static uint64_t fnv64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
    return h;
}

/* The checksum line again, so that what is behind it is what is tested. */
static size_t resum(char *rec, size_t len)
{
    char *sum = strstr(rec, "\nsum ");
    size_t body = sum ? (size_t)(sum - rec) + 1 : len;

    return body + (size_t)snprintf(rec + body, 32, "sum %016llx\n",
                                   (unsigned long long)fnv64(rec, body));
}

static bool verbose;

/* Starts with rec; the answer must be right whether accepted or not, and
 * the views must return (any way but a crash). */
static void harmless(const struct corpus_snap *s, const tvmi_linux_info_t *cold,
                     const char *rec, size_t len, bool want_rejected,
                     const char *what)
{
    tvmi_linux_info_t got;
    vmi_instance_t vmi = start(s, "mem.raw", rec, len, false, &got);
    tvmi_linux_task_t *t = NULL;
    tvmi_linux_module_t *m = NULL;
    size_t n;
    char *log;
    addr_t va;

    if (verbose)
        print_message("  %s: %s\n", what, got.hints);
    if (want_rejected && strncmp(got.hints, "rejected: ", 10))
        fail_msg("%s: not rejected (%s)", what, got.hints);
    assert_int_equal(got.text_pa, cold->text_pa);
    assert_int_equal(got.kdtb, cold->kdtb);
    assert_string_equal(got.banner, cold->banner);
    if (tvmi_linux_tasks(vmi, &t, &n, NULL) == VMI_SUCCESS)
        free(t);
    if (tvmi_linux_modules(vmi, &m, &n, NULL) == VMI_SUCCESS)
        free(m);
    free(tvmi_linux_dmesg(vmi, &n, NULL));
    vmi_translate_ksym2v(vmi, "init_task", &va);
    log = tvmi_linux_get_hints(vmi, &n);
    free(log);
    vmi_destroy(vmi);
}

/* The record with line `key ...` replaced by `key value`, checksum fixed. */
static size_t with_line(char *out, const char *rec, const char *key,
                        const char *value)
{
    const char *at = strstr(rec, key), *nl;
    size_t pre;

    assert_non_null(at);
    nl = strchr(at + 1, '\n');
    pre = (size_t)(at - rec);
    memcpy(out, rec, pre);
    pre += (size_t)sprintf(out + pre, "\n%s%s", key + 1, value); /* key: "\nname " */
    out[pre++] = '\n';
    strcpy(out + pre, nl + 1);
    return resum(out, strlen(out));
}

static void test_garbage(void **state)
{
    const struct corpus_snap *s = *state;
    static char buf[4 * TVMI_OS_HINTS_MAX];
    tvmi_linux_info_t cold;
    vmi_instance_t vmi;
    size_t len, n;
    char *rec = record_of(s, "mem.raw", &len);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    char other_pa[32], other_depth[4];
    const struct {
        const char *key, *value;
    } edits[] = {
        { "\ntoken_table_pa ", "0x1000" },       /* not there */
        { "\ntoken_digits_pa ", "0x2000" },
        { "\ntext_pa ", other_pa },              /* another place */
        { "\npage_mode ", other_depth },         /* another depth */
        { "\nnum_syms ", "300" },
        { "\nmax_pa ", "0x1000" },
        { "\nbanner ", "Linux version 1.2.3 (someone else)" },
        { "\nnames_pa ", "0xffffffffffff" },
        { "\nbtf_size ", "3" },
        { "\nmarkers_pa ", "0x0" },
        { "\nrelative_base ", "0x1234" },
        { "\naddr_layout ", "7" },
    };

    vmi = start(s, "mem.raw", NULL, 0, false, &cold);
    vmi_destroy(vmi);
    snprintf(other_pa, sizeof(other_pa), "0x%llx",
             (unsigned long long)cold.text_pa + 0x200000);
    snprintf(other_depth, sizeof(other_depth), "%d", cold.paging_levels == 5 ? 4 : 5);
    /* empty, wrong magic, oversized */
    harmless(s, &cold, "", 0, false, "empty");
    harmless(s, &cold, "hello\n", 6, true, "not a record");
    vmi = open_file(s, "mem.raw", false);
    assert_int_not_equal(tvmi_linux_set_hints(vmi, buf, sizeof(buf)), VMI_SUCCESS);
    vmi_destroy(vmi);
    /* truncated anywhere */
    for (size_t cut = 0; cut < len; cut += 97)
        harmless(s, &cold, rec, cut, cut > 0, "truncated");
    /* a byte changed, checksum left: rejected */
    for (int i = 0; i < 20; i++) {
        memcpy(buf, rec, len);
        buf[seed % len] ^= (char)(1 + seed % 255);
        harmless(s, &cold, buf, len, true, "byte changed");
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    }
    /* bytes changed with the checksum made right: the parser and the
     * checks against memory decide */
    for (int i = 0; i < 40; i++) {
        memcpy(buf, rec, len + 1);
        buf[seed % (len - 22)] = (char)(1 + (seed >> 8) % 255);
        harmless(s, &cold, buf, resum(buf, len), false, "edited");
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    }
    /* places and facts that do not hold: each rejected */
    verbose = true;
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        n = with_line(buf, rec, edits[i].key, edits[i].value);
        harmless(s, &cold, buf, n, true, edits[i].key + 1);
    }
    /* a layout the BTF would not give: accepted (the kernel is the same),
     * and the views bound what they read with it */
    n = with_line(buf, rec, "\nfield task_struct tasks ", "60000 16 0 0 0");
    harmless(s, &cold, buf, n, false, "bad field");
    n = with_line(buf, rec, "\nsym init_task ", "0xffffffffffffffff");
    harmless(s, &cold, buf, n, false, "bad symbol");
    /* random text with a good magic and checksum */
    for (int i = 0; i < 10; i++) {
        size_t l = 22 + seed % 2000;
        memcpy(buf, "tinyvmi-linux-hints 1\n", 22);
        for (size_t k = 22; k < l; k++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            buf[k] = (char)(k % 17 == 0 ? '\n' : 32 + seed % 95);
        }
        buf[l++] = '\n';
        buf[l] = '\0';
        harmless(s, &cold, buf, resum(buf, l), true, "random");
    }
    free(rec);
}

/* No kernel at all: a record (garbage, or well-formed for another
 * guest) changes nothing but the message. Needs no corpus. */
static void test_no_kernel(void **state)
{
    static char rec[] = "tinyvmi-linux-hints 1\nmax_pa 0x100000\nsum 0000000000000000\n";
    static const char *const bad[] = { "", "x", "tinyvmi-linux-hints 1\n", rec };
    struct memguest *g = memguest_new(1 << 20);

    (void)state;
    resum(rec, strlen(rec));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vmi_instance_t vmi = memguest_open(g, VMI_PM_IA32E, memguest_alloc_page(g));
        vmi_init_error_t err;

        assert_int_equal(tvmi_linux_set_hints(vmi, bad[i], strlen(bad[i])), VMI_SUCCESS);
        assert_int_equal(vmi_init_os(vmi, TVMI_CONFIG_NONE, NULL, &err), VMI_OS_UNKNOWN);
        print_message("  %s\n", tvmi_last_error(vmi));
        assert_non_null(strstr(tvmi_last_error(vmi), "step 1"));
        if (i)
            assert_non_null(strstr(tvmi_last_error(vmi), "hints rejected"));
        assert_null(tvmi_linux_get_hints(vmi, &(size_t){ 0 }));
        vmi_destroy(vmi);
    }
    memguest_free(g);
}

static void test_snapshot(void **state)
{
    test_accepted(state);
    test_rejected(state);
}

int main(void)
{
    const struct CMUnitTest plain[] = { cmocka_unit_test(test_no_kernel) };
    int rc = cmocka_run_group_tests_name("linux_hints_no_kernel", plain, NULL, NULL);
    struct corpus_snap *all = NULL;

    rc |= corpus_run_each("linux_hints", test_snapshot);

    /* garbage on the first snapshot only: each rejection costs a scan */
    if (corpus_list(&all)) {
        const struct CMUnitTest g[] = {
            cmocka_unit_test_prestate(test_garbage, &all[0]),
        };
        rc |= cmocka_run_group_tests_name("linux_hints_garbage", g, NULL, NULL);
    }
    free(all);
    return rc;
}
