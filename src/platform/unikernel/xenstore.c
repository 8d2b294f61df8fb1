/*
 * A xenstore client over the shared ring (HVM params STORE_PFN and
 * STORE_EVTCHN), one request at a time: write a struct xsd_sockmsg header
 * and its payload into req[], then read replies from rsp[] until ours (same
 * req_id) arrives. We set no watches, so watch events are only skipped.
 * Paths without a leading '/' are relative to /local/domain/<our domid>.
 */
#include "uk.h"
#include "x86.h"
#include "xen.h"
#include <xen/io/xs_wire.h>

/* xenstored answers in milliseconds, but in a loaded nested lab it has
 * taken seconds: 5 s lost results (the appliance gave up on a reply that
 * came later). A bound still, so a dead xenstored cannot hang us. */
#define TIMEOUT_MS 30000

static struct xenstore_domain_interface *xs;
static evtchn_port_t xs_port;
static uint32_t last_id;
static const char *err = "not connected";
static char err_buf[32];

#define RD(x) (*(volatile XENSTORE_RING_IDX *)&(x))

static bool req_room(void *arg)
{
    (void)arg;
    return RD(xs->req_prod) - RD(xs->req_cons) < XENSTORE_RING_SIZE;
}

static bool rsp_data(void *arg)
{
    (void)arg;
    return RD(xs->rsp_prod) != RD(xs->rsp_cons);
}

int uk_xs_init(void)
{
    uint64_t pfn, port;

    if (uk_xen_get_param(HVM_PARAM_STORE_PFN, &pfn) || !pfn ||
        uk_xen_get_param(HVM_PARAM_STORE_EVTCHN, &port)) {
        err = "no xenstore ring in the HVM params";
        return -1;
    }
    xs = (struct xenstore_domain_interface *)(uintptr_t)(pfn << 12);
    xs_port = (evtchn_port_t)port;
    err = "no error";
    return 0;
}

static bool put(const void *data, size_t n)
{
    const char *p = data;

    while (n) {
        XENSTORE_RING_IDX prod = xs->req_prod;
        size_t room, chunk;

        if (!uk_evtchn_wait(xs_port, req_room, NULL, TIMEOUT_MS))
            return false;
        room = XENSTORE_RING_SIZE - (prod - RD(xs->req_cons));
        chunk = n < room ? n : room;
        for (size_t i = 0; i < chunk; i++)
            xs->req[MASK_XENSTORE_IDX(prod + i)] = p[i];
        barrier(); /* the bytes before the index that publishes them */
        RD(xs->req_prod) = prod + (XENSTORE_RING_IDX)chunk;
        uk_evtchn_send(xs_port);
        p += chunk;
        n -= chunk;
    }
    return true;
}

/* Reads n reply bytes into out (NULL: discard them). */
static bool get(void *out, size_t n)
{
    char *p = out;

    while (n) {
        XENSTORE_RING_IDX cons = xs->rsp_cons;
        size_t avail, chunk;

        if (!uk_evtchn_wait(xs_port, rsp_data, NULL, TIMEOUT_MS))
            return false;
        avail = RD(xs->rsp_prod) - cons;
        barrier(); /* the index before the bytes it covers */
        chunk = n < avail ? n : avail;
        for (size_t i = 0; i < chunk; i++) {
            char c = xs->rsp[MASK_XENSTORE_IDX(cons + i)];

            if (p)
                *p++ = c;
        }
        barrier();
        RD(xs->rsp_cons) = cons + (XENSTORE_RING_IDX)chunk;
        uk_evtchn_send(xs_port);
        n -= chunk;
    }
    return true;
}

static int fail(const char *why)
{
    err = why;
    return -1;
}

/* Sends type with payload a + b; the reply's payload goes to out (always
 * NUL-terminated, truncated to len - 1). Returns the full payload length. */
static int talk(uint32_t type, const char *a, size_t alen, const char *b,
                size_t blen, char *out, size_t len)
{
    struct xsd_sockmsg m = { .type = type, .req_id = ++last_id,
                             .len = (uint32_t)(alen + blen) };
    struct xsd_sockmsg r;
    size_t keep;

    if (!xs)
        return fail(err);
    if (!len)
        return fail("no room for the reply");
    if (alen + blen > XENSTORE_PAYLOAD_MAX)
        return fail("request too long");
    if (!put(&m, sizeof(m)) || !put(a, alen) || !put(b, blen))
        return fail("timeout writing the request");
    for (;;) {
        if (!get(&r, sizeof(r)))
            return fail("timeout waiting for the reply");
        if (r.len > XENSTORE_PAYLOAD_MAX)
            return fail("reply longer than the protocol allows");
        if (r.req_id == m.req_id && r.type != XS_WATCH_EVENT)
            break;
        if (!get(NULL, r.len)) /* someone else's: skip it */
            return fail("timeout skipping a reply");
    }
    keep = r.len < len ? r.len : len - 1;
    if (!get(out, keep) || !get(NULL, r.len - keep))
        return fail("timeout reading the reply");
    out[keep] = '\0';
    if (r.type == XS_ERROR) {
        snprintf(err_buf, sizeof(err_buf), "%s", out);
        return fail(err_buf);
    }
    return (int)r.len;
}

int uk_xs_read(const char *path, char *buf, size_t len)
{
    return talk(XS_READ, path, strlen(path) + 1, NULL, 0, buf, len);
}

int uk_xs_write(const char *path, const char *value)
{
    char ok[8];

    return talk(XS_WRITE, path, strlen(path) + 1, value, strlen(value), ok,
                sizeof(ok)) < 0 ? -1 : 0;
}

int uk_xs_directory(const char *path, char *buf, size_t len)
{
    int n = talk(XS_DIRECTORY, path, strlen(path) + 1, NULL, 0, buf, len);
    int count = 0;

    for (int i = 0; i < n && (size_t)i < len - 1; i++)
        count += buf[i] == '\0';
    return n < 0 ? -1 : count;
}

const char *uk_xs_error(void) { return err; }
