/*
 * Event channels without interrupts.
 *
 * The appliance does one thing at a time, so it never takes an upcall: it
 * sends notifications with EVTCHNOP_send and, when it must wait for a peer
 * (xenstored, xenconsoled), sleeps in SCHEDOP_poll on the one port it
 * cares about. The ring indices are the truth; the event only wakes us.
 * SCHEDOP_poll returns at once while the port's pending bit is set, so we
 * clear the bit (in the shared info page) before re-checking and sleeping:
 * an event that arrives after the clear keeps the bit set and ends the
 * poll, so no wakeup is lost.
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"

static struct uk_evtchn_stats stats;

void uk_evtchn_get_stats(struct uk_evtchn_stats *out) { *out = stats; }

long uk_evtchn_send(evtchn_port_t port)
{
    struct evtchn_send s = { .port = port };

    return xen_event_channel_op(EVTCHNOP_send, &s);
}

static void clear_pending(evtchn_port_t port)
{
    xen_ulong_t *word;

    if (!uk_xen.shared)
        return;
    word = &uk_xen.shared->evtchn_pending[port / (sizeof(xen_ulong_t) * 8)];
    __atomic_fetch_and(word, ~((xen_ulong_t)1 << (port % (sizeof(xen_ulong_t) * 8))),
                       __ATOMIC_SEQ_CST);
}

/* Sleeps until port is pending or about 1 ms has passed. */
static void poll_once(evtchn_port_t port)
{
    struct sched_poll p = { .nr_ports = 1 };
    uint64_t now = uk_now_ns();
    long rc;

    set_xen_guest_handle(p.ports, &port);
    /* Absolute system time; without a clock, 0 would mean forever, so
     * yield instead. */
    if (!now) {
        xen_sched_op(SCHEDOP_yield, NULL);
        stats.yields++;
        return;
    }
    p.timeout = now + 1000000;
    rc = xen_sched_op(SCHEDOP_poll, &p);
    stats.polls++;
    if (rc) {
        stats.poll_errors++;
        stats.last_error = rc;
    }
}

bool uk_evtchn_wait(evtchn_port_t port, bool (*ready)(void *), void *arg,
                    unsigned timeout_ms)
{
    uint64_t start = uk_now_ns();
    unsigned polls = 0;

    for (;;) {
        if (ready(arg))
            return true;
        stats.waits++;
        clear_pending(port);
        if (ready(arg))
            return true;
        /* With a clock, a deadline; without, a count of ~1 ms polls. */
        if (start ? uk_now_ns() - start > timeout_ms * 1000000ull
                  : ++polls > timeout_ms)
            return false;
        poll_once(port);
    }
}
