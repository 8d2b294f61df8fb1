/* The snapshot guest (see snapguest.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "snapguest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#define CR3_ADDR 0x000ffffffffff000ull /* bits 51:12 */

static struct memguest *read_ram(const struct corpus_snap *s)
{
    FILE *f = fopen(corpus_path(s, "mem.raw"), "rb");
    struct memguest *g;
    size_t size;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g = memguest_new(size);
    assert_int_equal(fread(g->mem, 1, size, f), size);
    fclose(f);
    return g;
}

bool snapguest_load(struct snapguest *sg, const struct corpus_snap *s)
{
    vmi_init_error_t err;

    if (sg->snap == s)
        return false;
    snapguest_unload(sg);
    sg->g = read_ram(s);
    sg->vmi = memguest_open(sg->g, s->paging == 5 ? VMI_PM_LA57 : VMI_PM_IA32E,
                            s->cr3 & CR3_ADDR);
    assert_non_null(sg->vmi);
    if (vmi_init_os(sg->vmi, TVMI_CONFIG_NONE, NULL, &err) != VMI_OS_LINUX)
        fail_msg("%s: %s", s->dir, tvmi_last_error(sg->vmi));
    /* only now: a failed load is tried again by the next test */
    sg->snap = s;
    return true;
}

void snapguest_unload(struct snapguest *sg)
{
    if (sg->vmi)
        vmi_destroy(sg->vmi);
    memguest_free(sg->g);
    memset(sg, 0, sizeof(*sg));
}

addr_t snapguest_pa(struct snapguest *sg, addr_t va)
{
    addr_t pa;

    assert_int_equal(vmi_translate_kv2p(sg->vmi, va, &pa), VMI_SUCCESS);
    return pa;
}

void snapguest_patch(struct snapguest *sg, addr_t va, const void *bytes,
                     size_t len)
{
    addr_t pa = snapguest_pa(sg, va);

    assert_true(len <= 8 && sg->npatches < SNAPGUEST_MAX_PATCHES);
    assert_true((pa & 0xfff) + len <= 4096 && pa + len <= sg->g->size);
    sg->patches[sg->npatches].pa = pa;
    sg->patches[sg->npatches].len = len;
    memcpy(sg->patches[sg->npatches++].old, sg->g->mem + pa, len);
    memcpy(sg->g->mem + pa, bytes, len);
}

void snapguest_undo(struct snapguest *sg)
{
    while (sg->npatches) {
        sg->npatches--;
        memcpy(sg->g->mem + sg->patches[sg->npatches].pa,
               sg->patches[sg->npatches].old, sg->patches[sg->npatches].len);
    }
    if (sg->g)
        memset(sg->g->hole, 0, sg->g->size / 4096);
}

double test_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
