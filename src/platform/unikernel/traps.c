/*
 * CPU exceptions: an IDT whose 32 gates all lead to one report. Nothing
 * here recovers; an exception in the appliance is a bug, and the best we
 * can do is say where it happened and stop the domain as crashed.
 */
#include "uk.h"
#include "x86.h"

struct gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;  /* 0x8e: present, DPL 0, 64-bit interrupt gate */
    uint16_t off_mid;
    uint32_t off_hi, zero;
};

struct trap_frame {
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

extern char trap_stubs[]; /* traps.S: 32 stubs, 16 bytes apart */
static struct gate idt[32];

void uk_traps_init(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) ptr;

    for (unsigned v = 0; v < 32; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(trap_stubs + v * 16);

        idt[v] = (struct gate){ .off_lo = (uint16_t)a, .sel = 0x08,
                                .type = 0x8e, .off_mid = (uint16_t)(a >> 16),
                                .off_hi = (uint32_t)(a >> 32) };
    }
    ptr.limit = sizeof(idt) - 1;
    ptr.base = (uint64_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" :: "m"(ptr));
}

static const char *const names[] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound",
    "invalid opcode", "no FPU", "double fault", "coprocessor overrun",
    "invalid TSS", "segment not present", "stack fault",
    "general protection", "page fault", "reserved", "x87 error",
    "alignment check", "machine check", "SIMD error", "virtualization",
    "control protection",
};

void uk_trap(const struct trap_frame *f)
{
    static bool in_trap;
    uint64_t cr2;

    if (in_trap) /* faulted while reporting: stop without a word */
        uk_poweroff(1);
    in_trap = true;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    printk("\nFATAL: %s (vector %llu, error %#llx) at rip %#llx, rsp %#llx, "
           "cr2 %#llx\n  rax %#llx rbx %#llx rcx %#llx rdx %#llx rsi %#llx "
           "rdi %#llx rbp %#llx\n",
           f->vector < sizeof(names) / sizeof(names[0]) ? names[f->vector]
                                                        : "exception",
           (unsigned long long)f->vector, (unsigned long long)f->error,
           (unsigned long long)f->rip, (unsigned long long)f->rsp,
           (unsigned long long)cr2, (unsigned long long)f->rax,
           (unsigned long long)f->rbx, (unsigned long long)f->rcx,
           (unsigned long long)f->rdx, (unsigned long long)f->rsi,
           (unsigned long long)f->rdi, (unsigned long long)f->rbp);
    uk_poweroff(1);
}
