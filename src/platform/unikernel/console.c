/*
 * Where printk goes, best first:
 *  - Xen's PV console ring (HVM params CONSOLE_PFN/EVTCHN), read by
 *    xenconsoled into its log and `xl console`;
 *  - Xen's emergency console (HYPERVISOR_console_io), only until the ring
 *    is up: a release Xen refuses it to a domU (-EPERM), a debug Xen prints
 *    it in its own log (`xl dmesg`);
 *  - without Xen (plain QEMU): the debug port 0xe9 (`-debugcon`) and COM1.
 * The ring and COM1 get "\r\n" for "\n" since a terminal reads them.
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"
#include <xen/io/console.h>

#define COM1 0x3f8
#define DEBUGCON 0xe9

static enum { CON_NONE, CON_PORTS, CON_HYPERVISOR, CON_RING } backend;
static struct xencons_interface *ring;
static evtchn_port_t ring_port;
static long hypervisor_rc = 1; /* result of the first console_io write */

static void com1_putc(char c)
{
    /* Wait (bounded) for the UART's transmit register to empty; with no
     * UART the port reads 0xff and we go straight on. */
    for (unsigned spin = 0; spin < 100000 && !(inb(COM1 + 5) & 0x20); spin++)
        cpu_relax();
    outb(COM1, (uint8_t)c);
}

static void ports_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        outb(DEBUGCON, (uint8_t)s[i]);
        if (s[i] == '\n')
            com1_putc('\r');
        com1_putc(s[i]);
    }
}

static bool ring_has_room(void *arg)
{
    (void)arg;
    return *(volatile XENCONS_RING_IDX *)&ring->out_prod -
           *(volatile XENCONS_RING_IDX *)&ring->out_cons < sizeof(ring->out);
}

static bool ring_drained(void *arg)
{
    (void)arg;
    return *(volatile XENCONS_RING_IDX *)&ring->out_cons ==
           *(volatile XENCONS_RING_IDX *)&ring->out_prod;
}

/* One byte into the ring; false if xenconsoled is not reading. It may
 * attach late (it learns of us through xenstore), so the first full ring
 * waits up to 10 s; after that, output is dropped without waiting until
 * the reader makes room again, so a missing reader cannot stall us. */
static bool ring_putc(char c)
{
    static bool stalled;
    XENCONS_RING_IDX prod = ring->out_prod;

    if (!ring_has_room(NULL)) {
        if (stalled)
            return false;
        uk_evtchn_send(ring_port);
        stalled = !uk_evtchn_wait(ring_port, ring_has_room, NULL, 10000);
        if (stalled)
            return false;
    }
    stalled = false; /* the reader is alive */
    ring->out[MASK_XENCONS_IDX(prod, ring->out)] = c;
    barrier(); /* the byte before the index that publishes it */
    ring->out_prod = prod + 1;
    return true;
}

static void ring_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((s[i] == '\n' && !ring_putc('\r')) || !ring_putc(s[i]))
            break;
    }
    uk_evtchn_send(ring_port);
}

static void hypervisor_write(const char *s, size_t n)
{
    long rc = xen_console_io(CONSOLEIO_write, (unsigned)n, s);

    if (hypervisor_rc > 0)
        hypervisor_rc = rc;
}

void uk_console_write(const char *s, size_t n)
{
    switch (backend) {
    case CON_RING: ring_write(s, n); break;
    case CON_HYPERVISOR: hypervisor_write(s, n); break;
    case CON_PORTS: ports_write(s, n); break;
    case CON_NONE: break;
    }
}

/* Without Xen, the ports; with Xen, the emergency console, then the ring. */
void uk_console_init(void)
{
    uint64_t pfn, port;

    if (!uk_xen.present) {
        backend = CON_PORTS;
        return;
    }
    backend = CON_HYPERVISOR;
    hypervisor_write("tinyvmi: emergency console\n", 27);
    if (uk_xen_get_param(HVM_PARAM_CONSOLE_PFN, &pfn) || !pfn ||
        uk_xen_get_param(HVM_PARAM_CONSOLE_EVTCHN, &port))
        return;
    ring = (struct xencons_interface *)(uintptr_t)(pfn << 12);
    ring_port = (evtchn_port_t)port;
    backend = CON_RING;
}

/* Waits (bounded) until xenconsoled has read everything, so output is not
 * lost when the domain goes away right after. */
void uk_console_flush(void)
{
    if (backend == CON_RING) {
        uk_evtchn_send(ring_port);
        uk_evtchn_wait(ring_port, ring_drained, NULL, 5000);
    }
}

const char *uk_console_name(void)
{
    static char name[64];

    switch (backend) {
    case CON_RING:
        if (hypervisor_rc == 0)
            return "xen console ring (emergency console: works)";
        snprintf(name, sizeof(name),
                 "xen console ring (emergency console: refused, rc %ld)",
                 hypervisor_rc);
        return name;
    case CON_HYPERVISOR: return "xen emergency console";
    case CON_PORTS: return "debugcon 0xe9 + COM1";
    default: return "none";
    }
}

int printk(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return n;
    uk_console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}
