/*
 * Reading guest memory for discovery. Copying megabytes of tables into
 * fresh heap costs a page fault per 4 KiB on first touch, which on some
 * hosts is most of discovery's time; a snapshot already has all of RAM in
 * one mapping, so where the driver's frames for a range are contiguous and
 * stable we read them in place.
 */
#include "lx.h"

void lx_read_zfill(vmi_instance_t vmi, addr_t pa, void *buf, size_t len)
{
    uint8_t *out = buf;

    while (len) {
        size_t off = tvmi_page_off(pa), n = TVMI_PAGE_SIZE - off;
        const uint8_t *frame = tvmi_frame(vmi, tvmi_gfn(pa), false);

        if (n > len)
            n = len;
        if (frame)
            memcpy(out, frame + off, n);
        else
            memset(out, 0, n);
        out += n;
        pa += n;
        len -= n;
    }
}

/* The range's bytes at one pointer in the driver's own mapping, or NULL.
 * Only for drivers whose maps live until close: the page cache of the
 * others may unmap a frame behind our back. */
static const uint8_t *in_place(vmi_instance_t vmi, addr_t pa, size_t len)
{
    addr_t first = tvmi_gfn(pa), last = tvmi_gfn(pa + len - 1);
    const uint8_t *base;

    if (!(vmi->drv->flags & TVMI_DRV_STABLE_MAPS) || pa + len < pa)
        return NULL;
    base = tvmi_frame(vmi, first, false);
    for (addr_t g = first + 1; base && g <= last; g++)
        if (tvmi_frame(vmi, g, false) != base + (g - first) * TVMI_PAGE_SIZE)
            return NULL;
    return base ? base + tvmi_page_off(pa) : NULL;
}

bool lx_view_map(vmi_instance_t vmi, addr_t pa, size_t len, struct lx_view *v)
{
    v->copy = NULL;
    v->p = len ? in_place(vmi, pa, len) : NULL;
    if (v->p || !len)
        return true;
    v->copy = malloc(len);
    if (!v->copy)
        return false;
    lx_read_zfill(vmi, pa, v->copy, len);
    v->p = v->copy;
    return true;
}

void lx_view_unmap(struct lx_view *v)
{
    free(v->copy);
    v->copy = NULL;
    v->p = NULL;
}
