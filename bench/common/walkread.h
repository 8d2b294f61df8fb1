/* Uncached page walk + 4 KiB read, the same in the appliance and dom0. */
#ifndef TVMI_BENCH_WALKREAD_H
#define TVMI_BENCH_WALKREAD_H

#include <tinyvmi/tinyvmi.h>

struct walkread_result {
    unsigned n, new_n;          /* samples that worked */
    uint64_t cached_median_ns;  /* frames the driver still had mapped */
    uint64_t new_median_ns;     /* frames never mapped before */
};

/* n samples of each kind; 0, or -1 when the kernel's symbols are missing. */
int walkread_run(vmi_instance_t vmi, unsigned n, uint64_t (*now_ns)(void),
                 struct walkread_result *r);

#endif
