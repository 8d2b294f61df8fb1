/*
 * Time from Xen's per-vCPU time record in the shared info page: Xen stamps
 * (tsc_timestamp, system_time) and the TSC's scale; we extrapolate with
 * rdtsc. A record being updated has an odd version; re-read until stable.
 * Without Xen there is no calibrated clock and the functions say 0.
 *
 * The record is not refreshed when we sleep and wake on the same pCPU, and
 * on a loaded nested lab our TSC was seen behind the record's stamp (it was
 * stamped on a pCPU whose TSC runs ahead). Extrapolating from there says
 * "no time passed" for as long as the stale record lives, which stopped
 * every deadline: a sleep never ended. So a TSC behind the stamp asks Xen
 * for its time instead (HVMOP_get_time), and the clock never goes back.
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"

static uint64_t boot_tsc;

struct tsc_scale { uint64_t tsc, ns; uint32_t mul; int8_t shift; };

static bool read_record(struct tsc_scale *s)
{
    volatile struct vcpu_time_info *t;
    uint32_t v;

    if (!uk_xen.shared)
        return false;
    t = &uk_xen.shared->vcpu_info[0].time;
    do {
        v = t->version;
        barrier();
        s->tsc = t->tsc_timestamp;
        s->ns = t->system_time;
        s->mul = t->tsc_to_system_mul;
        s->shift = t->tsc_shift;
        barrier();
    } while ((v & 1) || v != t->version);
    return s->mul != 0;
}

static uint64_t scale(uint64_t delta, const struct tsc_scale *s)
{
    delta = s->shift < 0 ? delta >> -s->shift : delta << s->shift;
    return (uint64_t)(((unsigned __int128)delta * s->mul) >> 32);
}

void uk_time_init(void)
{
    boot_tsc = rdtsc();
}

uint64_t uk_boot_tsc(void) { return boot_tsc; }

bool uk_time_valid(void)
{
    struct tsc_scale s;

    return read_record(&s);
}

static uint64_t last_now;
static struct uk_clock_stats stats;
static bool always_ask_xen;

uint64_t uk_xen_now_ns(void)
{
    struct xen_hvm_get_time t = { 0 };

    return xen_hvm_op(HVMOP_get_time, &t) == 0 ? t.now : 0;
}

/* Xen's NOW() for our clock and sleeps: counted in the stats. */
static uint64_t xen_now(void)
{
    stats.asked_xen++;
    return uk_xen_now_ns();
}

uint64_t uk_now_ns(void)
{
    struct tsc_scale s;
    uint64_t tsc, now;

    if (!read_record(&s))
        return 0;
    tsc = rdtsc();
    if (tsc >= s.tsc && !always_ask_xen) {
        now = s.ns + scale(tsc - s.tsc, &s);
    } else {
        stats.tsc_behind += tsc < s.tsc;
        now = xen_now();
        if (!now)
            now = s.ns;
    }
    if (now < last_now) {
        stats.went_back++;
        return last_now;
    }
    return last_now = now;
}

void uk_clock_get_stats(struct uk_clock_stats *out) { *out = stats; }

/* For the self-test: the path taken when the TSC is behind, on demand. */
void uk_clock_always_ask_xen(bool on) { always_ask_xen = on; }

uint64_t uk_tsc_to_ns(uint64_t ticks)
{
    struct tsc_scale s;

    return read_record(&s) ? scale(ticks, &s) : 0;
}

/* Wall clock = Xen's boot-time wall clock + system time; 0 without Xen. */
uint64_t uk_wallclock_ns(void)
{
    volatile shared_info_t *sh = uk_xen.shared;
    uint32_t v, sec, nsec;

    if (!sh)
        return 0;
    do {
        v = sh->wc_version;
        barrier();
        sec = sh->wc_sec;
        nsec = sh->wc_nsec;
        barrier();
    } while ((v & 1) || v != sh->wc_version);
    return (uint64_t)sec * 1000000000ull + nsec + uk_now_ns();
}

/* Sleeps about ms milliseconds in SCHEDOP_poll on no port: Xen wakes us
 * at the timeout. The deadline is checked against Xen's own time: a sleep
 * is worth a hypercall, and must end even if our clock stood still.
 * Without Xen's clock: yields, which is no sleep at all. */
void uk_sleep_ms(unsigned ms)
{
    uint64_t now = xen_now(), end;
    bool xen_clock = now != 0;

    if (!xen_clock)
        now = uk_now_ns();
    if (!now) {
        for (unsigned i = 0; i < ms; i++)
            xen_sched_op(SCHEDOP_yield, NULL);
        return;
    }
    end = now + ms * 1000000ull;
    /* Bounded even if no clock moves: a poll that returns early (an event
     * is pending) is fine while time goes on; a clock that stands still
     * over many polls is given up on. Only our TSC clock can stand still
     * (its record not updated); Xen's NOW() always moves. */
    for (unsigned still = 0; now < end && still < 100;) {
        struct sched_poll p = { .nr_ports = 0, .timeout = end };
        uint64_t before = now;

        set_xen_guest_handle(p.ports, (evtchn_port_t *)NULL);
        if (xen_sched_op(SCHEDOP_poll, &p) != 0)
            xen_sched_op(SCHEDOP_yield, NULL);
        now = xen_clock ? xen_now() : uk_now_ns();
        still = now == before ? still + 1 : 0;
    }
}
