/* Finding the real snapshot corpus (tests/corpus/make-corpus) from tests. */
#ifndef TVMI_TEST_CORPUS_H
#define TVMI_TEST_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <tinyvmi/tinyvmi.h>

struct corpus_snap {
    char dir[512];
    char kver[128];
    char variant[64];
    int paging;              /* 4 or 5 */
    int kaslr;
    uint64_t cr3, cr4;
};

/* The complete snapshots, from tests/corpus/list. Returns how many (0 if
 * none); *out is malloc'd. */
size_t corpus_list(struct corpus_snap **out);

/* Fails the calling test when there is no corpus, unless the environment
 * says TVMI_ALLOW_NO_CORPUS=1 (then it skips). Returns the count. */
size_t corpus_require(struct corpus_snap **out);

/* dir/name into a static buffer. */
const char *corpus_path(const struct corpus_snap *s, const char *name);

/* The marker line: pid, user VA, physical address and the string. */
int corpus_marker(const struct corpus_snap *s, int *pid, uint64_t *va,
                  uint64_t *pa, char *str, size_t len);

/* A symbol's address from the guest's own /proc/kallsyms (truth). */
int corpus_kallsym(const struct corpus_snap *s, const char *name, uint64_t *addr);

/* vmi_init_complete on the snapshot's file (e.g. "mem.raw") with that
 * config (TVMI_CONFIG_NONE: zero-config). Fails the calling test with the
 * library's message when it does not open. */
vmi_instance_t corpus_open(const struct corpus_snap *s, const char *file,
                           vmi_config_t mode, void *config);

/* The test program's main: runs test once per snapshot (its state is the
 * struct corpus_snap, its name the snapshot directory's), or, with no
 * corpus, one test named group that fails or skips (corpus_require).
 * Returns cmocka's result. */
int corpus_run_each(const char *group, void (*test)(void **state));

/* One cmocka test per case on the first snapshot of each kernel release
 * (name "<kver>/<case>", state the snapshot), with setup and teardown;
 * without a corpus, the no-corpus rule of corpus_require. */
struct corpus_case {
    const char *name;
    void (*fn)(void **state);
};
int corpus_run_per_kernel(const char *group, const struct corpus_case *cases,
                          size_t ncases, int (*setup)(void **state),
                          int (*teardown)(void **state));

#endif
