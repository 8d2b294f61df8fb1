#include "corpus.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void read_meta(struct corpus_snap *s)
{
    char path[600], line[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/meta.env", s->dir);
    f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *v = strchr(line, '=');
        if (!v)
            continue;
        *v++ = '\0';
        v[strcspn(v, "\r\n")] = '\0';
        if (*v == '"' || *v == '\'') {
            v++;
            v[strcspn(v, "\"'")] = '\0';
        }
        if (!strcmp(line, "KVER"))
            snprintf(s->kver, sizeof(s->kver), "%s", v);
        else if (!strcmp(line, "VARIANT"))
            snprintf(s->variant, sizeof(s->variant), "%s", v);
        else if (!strcmp(line, "PAGING"))
            s->paging = atoi(v);
        else if (!strcmp(line, "KASLR"))
            s->kaslr = atoi(v);
        else if (!strcmp(line, "CR3"))
            s->cr3 = strtoull(v, NULL, 16);
        else if (!strcmp(line, "CR4"))
            s->cr4 = strtoull(v, NULL, 16);
    }
    fclose(f);
}

size_t corpus_list(struct corpus_snap **out)
{
    const char *src = getenv("TVMI_SOURCE_DIR");
    char cmd[600], line[512];
    struct corpus_snap *v = NULL;
    size_t n = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "bash '%s/tests/corpus/list'", src ? src : ".");
    p = popen(cmd, "r");
    if (!p) {
        *out = NULL;
        return 0;
    }
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        v = realloc(v, (n + 1) * sizeof(*v));
        memset(&v[n], 0, sizeof(v[n]));
        snprintf(v[n].dir, sizeof(v[n].dir), "%s", line);
        read_meta(&v[n]);
        n++;
    }
    pclose(p);
    *out = v;
    return n;
}

size_t corpus_require(struct corpus_snap **out)
{
    size_t n = corpus_list(out);
    const char *allow = getenv("TVMI_ALLOW_NO_CORPUS");

    if (n)
        return n;
    if (allow && !strcmp(allow, "1")) {
        print_message("no snapshot corpus: skipped (TVMI_ALLOW_NO_CORPUS=1)\n");
        skip();
    }
    fail_msg("no snapshot corpus found: run tests/corpus/make-corpus "
             "(or set TVMI_ALLOW_NO_CORPUS=1 to skip)");
    return 0;
}

const char *corpus_path(const struct corpus_snap *s, const char *name)
{
    static char buf[700];

    snprintf(buf, sizeof(buf), "%s/%s", s->dir, name);
    return buf;
}

int corpus_marker(const struct corpus_snap *s, int *pid, uint64_t *va,
                  uint64_t *pa, char *str, size_t len)
{
    char line[512], fmt[32];
    FILE *f = fopen(corpus_path(s, "truth/marker.txt"), "r");
    int ok = 0;

    if (!f)
        return -1;
    snprintf(fmt, sizeof(fmt), "marker %%d %%lx %%lx %%%zus", len - 1);
    while (!ok && fgets(line, sizeof(line), f)) {
        unsigned long v, p;
        if (sscanf(line, fmt, pid, &v, &p, str) == 4) {
            *va = v;
            *pa = p;
            ok = 1;
        }
    }
    fclose(f);
    return ok ? 0 : -1;
}

int corpus_kallsym(const struct corpus_snap *s, const char *name, uint64_t *addr)
{
    char line[512], sym[256], type;
    unsigned long long a;
    FILE *f = fopen(corpus_path(s, "truth/kallsyms.txt"), "r");
    int ok = 0;

    if (!f)
        return -1;
    while (!ok && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 && !strcmp(sym, name)) {
            *addr = a;
            ok = 1;
        }
    }
    fclose(f);
    return ok ? 0 : -1;
}

vmi_instance_t corpus_open(const struct corpus_snap *s, const char *file,
                           vmi_config_t mode, void *config)
{
    vmi_instance_t vmi = NULL;
    vmi_init_error_t err;

    if (vmi_init_complete(&vmi, corpus_path(s, file), VMI_INIT_DOMAINNAME, NULL,
                          mode, config, &err) != VMI_SUCCESS)
        fail_msg("%s/%s: %s", s->dir, file, tvmi_init_error_message());
    return vmi;
}

static void no_corpus(void **state)
{
    struct corpus_snap *v = NULL;

    (void)state;
    corpus_require(&v); /* fails, or skips with TVMI_ALLOW_NO_CORPUS=1 */
    free(v);
}

int corpus_run_each(const char *group, void (*test)(void **state))
{
    struct corpus_snap *snaps = NULL;
    size_t n = corpus_list(&snaps);
    struct CMUnitTest *tests = calloc(n ? n : 1, sizeof(*tests));
    int rc;

    if (!tests)
        return 1;
    if (n == 0) {
        tests[0].name = group;
        tests[0].test_func = no_corpus;
        n = 1;
    }
    for (size_t i = 0; snaps && i < n; i++) {
        tests[i].name = strrchr(snaps[i].dir, '/') ? strrchr(snaps[i].dir, '/') + 1
                                                   : snaps[i].dir;
        tests[i].test_func = test;
        tests[i].initial_state = &snaps[i];
    }
    rc = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    free(tests);
    free(snaps);
    return rc;
}

int corpus_run_per_kernel(const char *group, const struct corpus_case *cases,
                          size_t ncases, int (*setup)(void **state),
                          int (*teardown)(void **state))
{
    struct corpus_snap *snaps = NULL, *pick[16];
    size_t n = corpus_list(&snaps), npick = 0, nt = 0;
    struct CMUnitTest *tests;
    char (*names)[160];
    int rc;

    for (size_t i = 0; i < n && npick < 16; i++) {
        bool seen = false;
        for (size_t j = 0; j < npick; j++)
            seen |= !strcmp(pick[j]->kver, snaps[i].kver);
        if (!seen)
            pick[npick++] = &snaps[i];
    }
    tests = calloc(npick * ncases + 1, sizeof(*tests));
    names = calloc(npick * ncases + 1, sizeof(*names));
    if (!tests || !names) {
        free(tests);
        free(names);
        free(snaps);
        return 1;
    }
    if (!npick) {
        tests[nt].name = group;
        tests[nt++].test_func = no_corpus;
    }
    for (size_t s = 0; s < npick; s++)
        for (size_t k = 0; k < ncases; k++, nt++) {
            snprintf(names[nt], sizeof(names[nt]), "%s/%s", pick[s]->kver,
                     cases[k].name);
            tests[nt] = (struct CMUnitTest){ names[nt], cases[k].fn, setup,
                                             teardown, pick[s] };
        }
    rc = _cmocka_run_group_tests(group, tests, nt, NULL, NULL);
    free(tests);
    free(names);
    free(snaps);
    return rc;
}
