/*
 * What the appliance's program (unikernel/main.c) sees of its Xen driver
 * (foreign.c): the launcher's hints, counters for the figures, and the
 * target's liveness.
 */
#ifndef TVMI_APPLIANCE_XEN_H
#define TVMI_APPLIANCE_XEN_H

#include "private.h"

#define AX_MAX_RANGES 16

/* Set by the program before vmi_init: the populated ranges of the target
 * as dom0 saw them (command line "ranges="). Optional. */
struct ax_hint {
    struct tvmi_mem_range ranges[AX_MAX_RANGES];
    size_t nranges;
};
extern struct ax_hint ax_hint;

struct ax_stats {
    uint64_t map_calls, frames_mapped, unmap_calls, unmap_failures;
};
extern struct ax_stats ax_stats;

extern const struct tvmi_driver_ops tvmi_driver_appliance_xen;

/* Whether the target still runs; else why not, in why. */
bool ax_target_alive(vmi_instance_t vmi, char *why, size_t len);
/* Xen's negative errno in words, for messages. */
const char *ax_strerror(long rc);

#endif
