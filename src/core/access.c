/*
 * Reads and writes: split at page boundaries, translate each page (virtual
 * accesses), copy through the frame the driver maps. A failure names the
 * access, the address that failed and the deeper reason.
 */
#include "private.h"

#define STR_MAX 65536 /* longest string read from the guest */

struct space {
    bool virt;
    page_mode_t pm;
    addr_t dtb;
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static status_t resolve(vmi_instance_t vmi, const struct space *sp, addr_t a,
                        addr_t *pa)
{
    if (!sp->virt) {
        *pa = a;
        return VMI_SUCCESS;
    }
    return tvmi_translate(vmi, sp->pm, sp->dtb, a, pa);
}

/* Copies count bytes between buf and the guest; *done counts what was
 * copied before a failure. */
static status_t copy(vmi_instance_t vmi, const struct space *sp, addr_t addr,
                     void *buf, size_t count, size_t *done, bool write)
{
    uint8_t *p = buf;
    size_t n = 0;

    while (n < count) {
        addr_t a = addr + n, pa;
        size_t chunk = min_size(TVMI_PAGE_SIZE - tvmi_page_off(a), count - n);
        uint8_t *frame;

        if (resolve(vmi, sp, a, &pa) != VMI_SUCCESS)
            break;
        frame = tvmi_frame(vmi, tvmi_gfn(pa), write);
        if (!frame)
            break;
        if (write)
            memcpy(frame + tvmi_page_off(pa), p + n, chunk);
        else
            memcpy(p + n, frame + tvmi_page_off(pa), chunk);
        n += chunk;
    }
    if (done)
        *done = n;
    if (n == count)
        return VMI_SUCCESS;
    if (sp->virt)
        return tvmi_fail_ctx(vmi, "%s %zu bytes at VA 0x%llx (dtb 0x%llx), "
                             "failed at VA 0x%llx", write ? "writing" : "reading",
                             count, (unsigned long long)addr,
                             (unsigned long long)sp->dtb,
                             (unsigned long long)(addr + n));
    return tvmi_fail_ctx(vmi, "%s %zu bytes at PA 0x%llx, failed at PA 0x%llx",
                         write ? "writing" : "reading", count,
                         (unsigned long long)addr,
                         (unsigned long long)(addr + n));
}

static status_t space_for_pid(vmi_instance_t vmi, vmi_pid_t pid, struct space *sp)
{
    sp->virt = true;
    sp->pm = vmi->page_mode;
    return vmi_pid_to_dtb(vmi, pid, &sp->dtb);
}

static status_t space_for_ctx(vmi_instance_t vmi, const access_context_t *ctx,
                              struct space *sp, addr_t *addr)
{
    addr_t base;

    *addr = ctx->addr;
    sp->virt = true;
    sp->pm = vmi->page_mode;
    switch (ctx->translate_mechanism) {
    case VMI_TM_NONE:
        sp->virt = false;
        return VMI_SUCCESS;
    case VMI_TM_PROCESS_DTB:
        sp->dtb = ctx->dtb;
        return VMI_SUCCESS;
    case VMI_TM_PROCESS_PID:
        return vmi_pid_to_dtb(vmi, ctx->pid, &sp->dtb);
    case VMI_TM_KERNEL_SYMBOL:
        if (!ctx->ksym)
            return tvmi_fail(vmi, "access context: kernel symbol is NULL");
        if (!vmi->os_ops || !vmi->os_ops->ksym2v)
            return tvmi_fail(vmi, "looking up symbol '%.64s': no OS layer is "
                                  "initialised", ctx->ksym);
        if (vmi->os_ops->ksym2v(vmi, ctx->ksym, &base) != VMI_SUCCESS)
            return VMI_FAILURE;
        *addr = base + ctx->addr;
        return vmi_pid_to_dtb(vmi, 0, &sp->dtb);
    default:
        return tvmi_fail(vmi, "access context: unknown translation mechanism %d",
                         (int)ctx->translate_mechanism);
    }
}

static status_t access_ctx(vmi_instance_t vmi, const access_context_t *ctx,
                           size_t count, void *buf, size_t *done, bool write)
{
    struct space sp;
    addr_t addr;

    if (done)
        *done = 0;
    if (!vmi || !ctx || (!buf && count))
        return vmi ? tvmi_fail(vmi, "%s: NULL argument", write ? "write" : "read")
                   : VMI_FAILURE;
    if (space_for_ctx(vmi, ctx, &sp, &addr) != VMI_SUCCESS)
        return VMI_FAILURE;
    return copy(vmi, &sp, addr, buf, count, done, write);
}

status_t vmi_read(vmi_instance_t vmi, const access_context_t *ctx, size_t count,
                  void *buf, size_t *bytes_read)
{
    return access_ctx(vmi, ctx, count, buf, bytes_read, false);
}

status_t vmi_write(vmi_instance_t vmi, const access_context_t *ctx, size_t count,
                   void *buf, size_t *bytes_written)
{
    return access_ctx(vmi, ctx, count, buf, bytes_written, true);
}

static status_t access_pa(vmi_instance_t vmi, addr_t pa, size_t count, void *buf,
                          size_t *done, bool write)
{
    const struct space phys = { .virt = false };

    if (done)
        *done = 0;
    if (!vmi || (!buf && count))
        return VMI_FAILURE;
    return copy(vmi, &phys, pa, buf, count, done, write);
}

static status_t access_va(vmi_instance_t vmi, addr_t va, vmi_pid_t pid,
                          size_t count, void *buf, size_t *done, bool write)
{
    struct space sp;

    if (done)
        *done = 0;
    if (!vmi || (!buf && count))
        return VMI_FAILURE;
    if (space_for_pid(vmi, pid, &sp) != VMI_SUCCESS)
        return tvmi_fail_ctx(vmi, "%s VA 0x%llx of pid %d",
                             write ? "writing" : "reading",
                             (unsigned long long)va, (int)pid);
    return copy(vmi, &sp, va, buf, count, done, write);
}

status_t vmi_read_pa(vmi_instance_t vmi, addr_t paddr, size_t count, void *buf,
                     size_t *bytes_read)
{
    return access_pa(vmi, paddr, count, buf, bytes_read, false);
}

status_t vmi_write_pa(vmi_instance_t vmi, addr_t paddr, size_t count, void *buf,
                      size_t *bytes_written)
{
    return access_pa(vmi, paddr, count, buf, bytes_written, true);
}

status_t vmi_read_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid,
                     size_t count, void *buf, size_t *bytes_read)
{
    return access_va(vmi, vaddr, pid, count, buf, bytes_read, false);
}

status_t vmi_write_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid,
                      size_t count, void *buf, size_t *bytes_written)
{
    return access_va(vmi, vaddr, pid, count, buf, bytes_written, true);
}

status_t tvmi_read_dtb(vmi_instance_t vmi, addr_t vaddr, addr_t dtb,
                       size_t count, void *buf, size_t *bytes_read)
{
    access_context_t ctx = { .translate_mechanism = VMI_TM_PROCESS_DTB,
                             .addr = vaddr, .dtb = dtb };
    return vmi_read(vmi, &ctx, count, buf, bytes_read);
}

/* Fixed-size accessors: all-or-nothing, as in LibVMI. */
#define TVMI_FIXED(bits, type)                                                 \
    status_t vmi_read_##bits##_pa(vmi_instance_t vmi, addr_t pa, type *v)      \
    { return access_pa(vmi, pa, sizeof(*v), v, NULL, false); }                 \
    status_t vmi_write_##bits##_pa(vmi_instance_t vmi, addr_t pa, type *v)     \
    { return access_pa(vmi, pa, sizeof(*v), v, NULL, true); }                  \
    status_t vmi_read_##bits##_va(vmi_instance_t vmi, addr_t va,               \
                                  vmi_pid_t pid, type *v)                      \
    { return access_va(vmi, va, pid, sizeof(*v), v, NULL, false); }            \
    status_t vmi_write_##bits##_va(vmi_instance_t vmi, addr_t va,              \
                                   vmi_pid_t pid, type *v)                     \
    { return access_va(vmi, va, pid, sizeof(*v), v, NULL, true); }

TVMI_FIXED(8, uint8_t)
TVMI_FIXED(16, uint16_t)
TVMI_FIXED(32, uint32_t)
TVMI_FIXED(64, uint64_t)

/* Addresses are as wide as the guest's paging mode makes them. */
static size_t addr_width(vmi_instance_t vmi)
{
    return vmi_get_address_width(vmi);
}

status_t vmi_read_addr_pa(vmi_instance_t vmi, addr_t pa, addr_t *v)
{
    *v = 0;
    return access_pa(vmi, pa, addr_width(vmi), v, NULL, false);
}

status_t vmi_write_addr_pa(vmi_instance_t vmi, addr_t pa, addr_t *v)
{
    return access_pa(vmi, pa, addr_width(vmi), v, NULL, true);
}

status_t vmi_read_addr_va(vmi_instance_t vmi, addr_t va, vmi_pid_t pid, addr_t *v)
{
    *v = 0;
    return access_va(vmi, va, pid, addr_width(vmi), v, NULL, false);
}

status_t vmi_write_addr_va(vmi_instance_t vmi, addr_t va, vmi_pid_t pid, addr_t *v)
{
    return access_va(vmi, va, pid, addr_width(vmi), v, NULL, true);
}

/* Reads a NUL-terminated string page by page, at most STR_MAX bytes. A
 * string cut short by an unreadable page is returned as far as it was read,
 * as LibVMI does; NULL only when nothing could be read. */
static char *read_str(vmi_instance_t vmi, const struct space *sp, addr_t addr)
{
    char *s = malloc(STR_MAX + 1);
    size_t len = 0;

    if (!s) {
        tvmi_fail(vmi, "reading a string: out of memory");
        return NULL;
    }
    while (len < STR_MAX) {
        size_t chunk = min_size(TVMI_PAGE_SIZE - tvmi_page_off(addr + len),
                                STR_MAX - len);
        size_t got = 0;
        const char *nul;

        copy(vmi, sp, addr + len, s + len, chunk, &got, false);
        if (got == 0 && len == 0) {
            free(s);
            return NULL;
        }
        nul = memchr(s + len, 0, got);
        if (nul) {
            len = (size_t)(nul - s);
            break;
        }
        len += got;
        if (got < chunk)
            break;
    }
    s[len] = '\0';
    return realloc(s, len + 1) ?: s;
}

char *vmi_read_str_pa(vmi_instance_t vmi, addr_t paddr)
{
    const struct space phys = { .virt = false };

    return vmi ? read_str(vmi, &phys, paddr) : NULL;
}

char *vmi_read_str_va(vmi_instance_t vmi, addr_t vaddr, vmi_pid_t pid)
{
    struct space sp;

    if (!vmi || space_for_pid(vmi, pid, &sp) != VMI_SUCCESS)
        return NULL;
    return read_str(vmi, &sp, vaddr);
}
