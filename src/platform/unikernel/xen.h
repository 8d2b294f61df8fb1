/*
 * Xen: detection, the hypercall page and typed hypercall wrappers.
 * Xen's public headers are the ABI; we include them as they are.
 */
#ifndef UK_XEN_H
#define UK_XEN_H

#include "uk.h"
#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/event_channel.h>
#include <xen/version.h>
#include <xen/memory.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

struct uk_xen {
    bool present;
    uint32_t cpuid_base; /* 0x40000x00 where "XenVMMXenVMM" answered */
    unsigned major, minor;
    shared_info_t *shared; /* NULL until mapped */
};
extern struct uk_xen uk_xen;

/* Finds Xen's CPUID leaves and installs the hypercall page. */
bool uk_xen_init(void);
/* Maps the shared info page (event bits, time). */
int uk_xen_map_shared_info(void);

/* One hypercall through the page: Xen's stub for op n is at n * 32. */
extern char hypercall_page[];

#define HCALL_CLOBBERS "memory", "rcx", "r11"
static inline long hypercall2(unsigned op, unsigned long a1, unsigned long a2)
{
    long ret;
    register unsigned long rdi __asm__("rdi") = a1;
    register unsigned long rsi __asm__("rsi") = a2;

    __asm__ volatile("call *%[fn]"
                     : "=a"(ret), "+r"(rdi), "+r"(rsi)
                     : [fn] "r"(hypercall_page + op * 32)
                     : HCALL_CLOBBERS, "rdx", "r10", "r8");
    return ret;
}

static inline long hypercall3(unsigned op, unsigned long a1, unsigned long a2,
                              unsigned long a3)
{
    long ret;
    register unsigned long rdi __asm__("rdi") = a1;
    register unsigned long rsi __asm__("rsi") = a2;
    register unsigned long rdx __asm__("rdx") = a3;

    __asm__ volatile("call *%[fn]"
                     : "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx)
                     : [fn] "r"(hypercall_page + op * 32)
                     : HCALL_CLOBBERS, "r10", "r8");
    return ret;
}

static inline long xen_sched_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_sched_op, cmd, (unsigned long)arg);
}
static inline long xen_event_channel_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, (unsigned long)arg);
}
static inline long xen_version(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_xen_version, cmd, (unsigned long)arg);
}
static inline long xen_memory_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, (unsigned long)arg);
}
static inline long xen_hvm_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_hvm_op, cmd, (unsigned long)arg);
}
static inline long xen_console_io(int cmd, unsigned count, const char *s)
{
    return hypercall3(__HYPERVISOR_console_io, cmd, count, (unsigned long)s);
}

/* The e820 map Xen holds for us (XENMEM_memory_map); 0 entries on failure. */
unsigned uk_xen_memory_map(struct uk_mem_range *out, unsigned max);

/* HVMOP_get_param on ourselves; negative Xen errno on failure. */
long uk_xen_get_param(uint32_t index, uint64_t *value);

/* ---- evtchn.c: event channels, polled (no interrupts) -------------------------- */
long uk_evtchn_send(evtchn_port_t port);
/* Waits until ready(arg) is true, sleeping in SCHEDOP_poll on port between
 * checks; false if timeout_ms passed first. */
bool uk_evtchn_wait(evtchn_port_t port, bool (*ready)(void *), void *arg,
                    unsigned timeout_ms);
/* How waiting went: waits that had to sleep, polls (and failed ones), and
 * yields (used while there is no clock for a poll deadline). */
struct uk_evtchn_stats { unsigned long waits, polls, poll_errors, yields; long last_error; };
void uk_evtchn_get_stats(struct uk_evtchn_stats *out);

/* ---- xenstore.c ---------------------------------------------------------------- */
int uk_xs_init(void);
/* Return the payload length (NUL-terminated in buf, truncated to fit) or -1;
 * uk_xs_error() says why ("ENOENT", "timeout", ...). */
int uk_xs_read(const char *path, char *buf, size_t len);
int uk_xs_write(const char *path, const char *value);
/* Children of path as NUL-separated names in buf; returns how many. */
int uk_xs_directory(const char *path, char *buf, size_t len);
const char *uk_xs_error(void);

#endif
