/*
 * The unikernel platform's own interfaces: what boot, the Xen glue and the
 * appliance's main() use. The libc subset the core sees is src/core/libc.h;
 * nothing here is visible to the core.
 */
#ifndef UK_H
#define UK_H

#include "libc.h"
#include "libc/heap.h"

#define UK_PAGE_SIZE 4096ull

/* ---- boot (start.c) ------------------------------------------------------ */
#define UK_CMDLINE_MAX 1024
#define UK_MEM_MAX 64

struct uk_mem_range {
    uint64_t start, end; /* [start, end) */
    uint32_t type;       /* XEN_HVM_MEMMAP_TYPE_*: 1 = RAM */
};

struct uk_boot_info {
    char cmdline[UK_CMDLINE_MAX];
    bool cmdline_truncated;
    struct uk_mem_range mem[UK_MEM_MAX];
    unsigned nmem;
    const char *memmap_source; /* where the map came from, for the banner */
    uint64_t rsdp;             /* 0: none given */
    uint32_t start_info_version;
};

extern struct uk_boot_info uk_boot;
extern char _start[], _etext[], _end[]; /* from kernel.ld */

/* Sum of RAM ranges and the end of the highest one. */
uint64_t uk_ram_bytes(void);
uint64_t uk_ram_top(void);

/* The appliance's program (unikernel/main.c). */
int main(int argc, char **argv);

/* ---- console.c -------------------------------------------------------------- */
void uk_console_init(void);
void uk_console_write(const char *s, size_t n);
int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void uk_console_flush(void); /* waits (bounded) until the reader caught up */
const char *uk_console_name(void);

/* ---- traps.c ------------------------------------------------------------------- */
void uk_traps_init(void);

/* ---- power.c ----------------------------------------------------------------- */
_Noreturn void uk_poweroff(int status); /* 0 = clean, else crash */

/* ---- pages.c: physical pages from the memory map ------------------------------ */
void uk_pages_init(void);
void *uk_pages_alloc(size_t n);  /* n contiguous zeroed pages, NULL if none */
void uk_pages_free(void *p, size_t n);
size_t uk_pages_free_count(void);

/* ---- time.c ---------------------------------------------------------------------- */
void uk_time_init(void);
uint64_t uk_now_ns(void);     /* since Xen booted; 0 without Xen */
uint64_t uk_xen_now_ns(void); /* Xen's NOW() by hypercall (uncounted); 0 if refused */
bool uk_time_valid(void);
uint64_t uk_boot_tsc(void);   /* TSC at entry to C */
uint64_t uk_tsc_to_ns(uint64_t ticks); /* 0 without Xen's calibration */
uint64_t uk_wallclock_ns(void); /* Unix time in ns; 0 without Xen */
void uk_sleep_ms(unsigned ms); /* SCHEDOP_poll with a timeout */
struct uk_clock_stats {
    unsigned long tsc_behind; /* TSC behind the record's stamp: asked Xen */
    unsigned long asked_xen;  /* HVMOP_get_time calls (also by sleeps) */
    unsigned long went_back;  /* readings held back to stay monotonic */
};
void uk_clock_get_stats(struct uk_clock_stats *out);
void uk_clock_always_ask_xen(bool on);

#endif
