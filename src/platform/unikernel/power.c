/*
 * Stopping: SCHEDOP_shutdown under Xen; under plain QEMU the isa-debug-exit
 * device (iobase 0xf4), which makes QEMU exit with (value << 1) | 1, so
 * 1 means a clean poweroff and 3 a crash. Anything else halts for good.
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"

#define DEBUG_EXIT_PORT 0xf4

_Noreturn void uk_poweroff(int status)
{
    uk_console_flush();
    if (uk_xen.present) {
        struct sched_shutdown s = {
            .reason = status ? SHUTDOWN_crash : SHUTDOWN_poweroff,
        };

        xen_sched_op(SCHEDOP_shutdown, &s);
    } else {
        outl(DEBUG_EXIT_PORT, status ? 1 : 0);
    }
    halt_forever();
}

_Noreturn void uk_panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printk("PANIC: %s\n", buf);
    uk_poweroff(1);
}
