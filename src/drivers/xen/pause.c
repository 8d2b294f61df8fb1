/*
 * Pausing the domain, nested, and the promise that a tool never leaves its
 * target paused behind: not on exit(), not on a fatal signal. A guest left
 * paused by a dead tool stops serving its users until someone notices.
 *
 * vmi_pause_vm/vmi_resume_vm nest per instance: Xen is asked to pause on
 * the first and to unpause on the last. While any instance holds a domain
 * paused, handlers for the signals that would kill the process (those
 * still at SIG_DFL) are installed; they unpause every domain held, put the
 * previous actions back and raise the signal again, so the process dies
 * the way it would have. An atexit hook does the same for exit() without
 * vmi_destroy. The previous actions come back when the last pause ends.
 *
 * Who unpauses a domain is decided by an atomic exchange on its slot, so
 * a signal racing vmi_resume_vm never unpauses twice (a second unpause
 * could undo somebody else's pause: Xen counts them per domain).
 */
#include "xen.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAUSE_SLOTS 64

struct xen_pause_slot {
    atomic_int held;             /* 1: the domain is paused by us */
    pid_t pid;                   /* a forked child must not unpause it */
    xencall_handle *call;
    struct xen_domctl *unpause;  /* ready to go, in a hypercall buffer */
};

static struct xen_pause_slot slots[PAUSE_SLOTS];
static unsigned slots_in_use;
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static bool exit_hook_set;

/* Signals whose default action ends the process. The synchronous ones
 * (SEGV, BUS, ILL, FPE) cannot be blocked usefully: they are handled but
 * never in the blocked set. */
static const int async_signals[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGPIPE, SIGALRM, SIGTERM,
    SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
};
static const int sync_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
#define NASYNC (sizeof async_signals / sizeof *async_signals)
#define NSYNC (sizeof sync_signals / sizeof *sync_signals)

static struct sigaction saved[NASYNC + NSYNC];
static bool installed[NASYNC + NSYNC];

static int signal_at(size_t i)
{
    return i < NASYNC ? async_signals[i] : sync_signals[i - NASYNC];
}

/* ---- what runs in a dying process (async-signal-safe only) ------------ */

/* xencall1 is one ioctl on an open fd; the domctl is prepared already. */
static void unpause_everything(void)
{
    pid_t me = getpid();

    for (size_t i = 0; i < PAUSE_SLOTS; i++) {
        struct xen_pause_slot *s = &slots[i];
        if (s->pid != me || !atomic_exchange(&s->held, 0))
            continue;
        xencall1(s->call, __HYPERVISOR_domctl, (uintptr_t)s->unpause);
    }
}

static void on_fatal_signal(int sig);

static void put_back_actions(void)
{
    for (size_t i = 0; i < NASYNC + NSYNC; i++) {
        struct sigaction cur;
        if (!installed[i])
            continue;
        installed[i] = false;
        /* Somebody installed a handler of their own since: keep theirs. */
        if (sigaction(signal_at(i), NULL, &cur) == 0 &&
            cur.sa_handler == on_fatal_signal)
            sigaction(signal_at(i), &saved[i], NULL);
    }
}

/* The signal is blocked while we run: raised again, it is delivered with
 * the old action as soon as we return, and the process dies of it. */
static void on_fatal_signal(int sig)
{
    int e = errno;

    unpause_everything();
    put_back_actions();
    raise(sig);
    errno = e;
}

static void at_exit(void)
{
    unpause_everything();
}

/* ---- installing and removing (under slots_lock, signals blocked) ------- */

static void install_actions(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NASYNC; i++)
        sigaddset(&sa.sa_mask, async_signals[i]);
    for (size_t i = 0; i < NASYNC + NSYNC; i++) {
        struct sigaction old;
        /* Ignored or handled by the program: its choice, not ours. */
        if (sigaction(signal_at(i), NULL, &old) < 0 ||
            (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
            continue;
        if (sigaction(signal_at(i), &sa, &saved[i]) == 0)
            installed[i] = true;
    }
}

static void block_async(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    for (size_t i = 0; i < NASYNC; i++)
        sigaddset(&set, async_signals[i]);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static struct xen_pause_slot *take_slot(struct xen *x)
{
    struct xen_pause_slot *s = NULL;

    pthread_mutex_lock(&slots_lock);
    for (size_t i = 0; i < PAUSE_SLOTS && !s; i++)
        if (!slots[i].call)
            s = &slots[i];
    if (s) {
        s->call = x->call;
        s->pid = getpid();
        if (!slots_in_use++)
            install_actions();
        if (!exit_hook_set)
            exit_hook_set = atexit(at_exit) == 0;
    }
    pthread_mutex_unlock(&slots_lock);
    return s;
}

static void give_slot(struct xen_pause_slot *s)
{
    pthread_mutex_lock(&slots_lock);
    s->call = NULL;
    if (!--slots_in_use)
        put_back_actions();
    pthread_mutex_unlock(&slots_lock);
}

/* ---- pause and unpause ---------------------------------------------------- */

int xen_pause_domain(vmi_instance_t vmi, struct xen *x, bool pause)
{
    struct xen_domctl d = {
        .cmd = pause ? XEN_DOMCTL_pausedomain : XEN_DOMCTL_unpausedomain,
        .domain = (domid_t)x->domid,
    };
    return xen_domctl(vmi, x, &d, pause ? "pausing" : "unpausing");
}

/* The slot is marked held before Xen is asked, so that no moment exists
 * where the domain is paused and no handler knows. Async signals are
 * blocked in this thread meanwhile; one taken by another thread in that
 * moment unpauses a domain not yet paused, which Xen refuses. */
static status_t hold(vmi_instance_t vmi, struct xen *x)
{
    struct xen_domctl *u = xencall_alloc_buffer(x->call, sizeof *u);
    struct xen_pause_slot *s;
    sigset_t old;
    int rc;

    if (!u)
        return tvmi_fail(vmi, "pausing domain %u: no hypercall buffer: %s",
                         x->domid, strerror(errno));
    *u = (struct xen_domctl){ .cmd = XEN_DOMCTL_unpausedomain,
                              .interface_version = x->domctl_version,
                              .domain = (domid_t)x->domid };
    block_async(&old);
    s = take_slot(x);
    if (!s) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        xencall_free_buffer(x->call, u);
        return tvmi_fail(vmi, "pausing domain %u: more than %u domains are "
                         "paused by this process", x->domid, PAUSE_SLOTS);
    }
    s->unpause = u;
    atomic_store(&s->held, 1);
    rc = xen_pause_domain(vmi, x, true);
    if (rc) {
        atomic_store(&s->held, 0);
        give_slot(s);
        xencall_free_buffer(x->call, u);
    } else {
        x->slot = s;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc ? VMI_FAILURE : VMI_SUCCESS;
}

/* Unpauses unless a signal handler or the exit hook did already. When
 * they did, the process is on its way out and the handler may still be
 * using the prepared buffer: it is left alone. */
static status_t let_go(vmi_instance_t vmi, struct xen *x)
{
    struct xen_pause_slot *s = x->slot;
    struct xen_domctl *u = s->unpause;
    bool ours;
    sigset_t old;
    int rc = 0;

    block_async(&old);
    ours = atomic_exchange(&s->held, 0);
    if (ours)
        rc = xen_pause_domain(vmi, x, false);
    x->slot = NULL;
    give_slot(s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ours)
        xencall_free_buffer(x->call, u);
    return rc ? VMI_FAILURE : VMI_SUCCESS;
}

status_t xen_pause(vmi_instance_t vmi)
{
    struct xen *x = xen_of(vmi);

    if (x->pauses) {
        if (x->pauses == UINT32_MAX)
            return tvmi_fail(vmi, "pausing domain %u: paused %u times "
                             "already", x->domid, x->pauses);
        x->pauses++;
        return VMI_SUCCESS;
    }
    if (hold(vmi, x))
        return VMI_FAILURE;
    x->pauses = 1;
    return VMI_SUCCESS;
}

status_t xen_resume(vmi_instance_t vmi)
{
    struct xen *x = xen_of(vmi);

    if (!x->pauses)
        return tvmi_fail(vmi, "resuming domain %u: this instance has not "
                         "paused it (more vmi_resume_vm than vmi_pause_vm)",
                         x->domid);
    if (--x->pauses)
        return VMI_SUCCESS;
    xen_forget_registers(x);
    return let_go(vmi, x);
}

void xen_release(vmi_instance_t vmi)
{
    struct xen *x = xen_of(vmi);

    if (!x->pauses)
        return;
    x->pauses = 0;
    let_go(vmi, x);
}
