/*
 * A corpus snapshot's RAM copied into a synthetic guest (memdrv.h), so that
 * tests can break the guest's structures and put them back: loaded once per
 * snapshot, patched by kernel VA, and undone after each test.
 *
 * For cmocka tests: failures fail the calling test.
 */
#ifndef TVMI_TEST_SNAPGUEST_H
#define TVMI_TEST_SNAPGUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "corpus.h"
#include "memdrv.h"

#define SNAPGUEST_MAX_PATCHES 256

struct snapguest {
    const struct corpus_snap *snap;  /* NULL until a load succeeds */
    struct memguest *g;
    vmi_instance_t vmi;              /* the kernel found (vmi_init_os) */
    /* The undo log: each patch's PA and the bytes it replaced. */
    struct {
        addr_t pa;
        size_t len;
        uint8_t old[8];
    } patches[SNAPGUEST_MAX_PATCHES];
    size_t npatches;
};

/* Loads s in place of the previous snapshot. Returns false, doing nothing,
 * when s is the one loaded already: reading RAM again is slow. */
bool snapguest_load(struct snapguest *sg, const struct corpus_snap *s);
void snapguest_unload(struct snapguest *sg);

/* The PA of a kernel VA; fails the test when it does not translate. */
addr_t snapguest_pa(struct snapguest *sg, addr_t va);

/* Writes len (<= 8) bytes at a kernel VA, within one page, for undo. */
void snapguest_patch(struct snapguest *sg, addr_t va, const void *bytes,
                     size_t len);

/* Undoes every patch, latest first (they may overlap), and every hole. */
void snapguest_undo(struct snapguest *sg);

/* CLOCK_MONOTONIC, in seconds: how long a call took. */
double test_now(void);

#endif
