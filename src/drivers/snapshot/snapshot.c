/*
 * Snapshot driver: a memory image in a file (ELF core, LiME or raw), mapped
 * whole. Frames are pointers into the mapping, so they stay valid until
 * close (TVMI_DRV_STABLE_MAPS) and a read costs a range lookup plus memcpy.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the range table --------------------------------------------------- */

status_t snap_add_range(vmi_instance_t vmi, struct snap *s, addr_t start,
                        uint64_t len, uint64_t off, unsigned src)
{
    if (s->nranges == SNAP_MAX_RANGES)
        return tvmi_fail(vmi, "%s: %s: more than %u memory ranges; "
                         "refusing a corrupt or absurd file",
                         s->path, s->format, SNAP_MAX_RANGES);
    if (s->nranges == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct snap_range *r = realloc(s->ranges, cap * sizeof *r);
        if (!r)
            return tvmi_fail(vmi, "%s: out of memory for the range table",
                             s->path);
        s->ranges = r;
        s->cap = cap;
    }
    s->ranges[s->nranges++] = (struct snap_range){
        .start = start, .end = start + len, .off = off, .src = src };
    return VMI_SUCCESS;
}

static int cmp_range(const void *a, const void *b)
{
    const struct snap_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static bool file_contiguous(const struct snap_range *a,
                            const struct snap_range *b)
{
    return a->end == b->start && a->off + (a->end - a->start) == b->off;
}

/* Sorts, rejects overlaps and merges neighbours that are contiguous in the
 * file too, so that frames straddling them can still be served. */
static status_t finish_ranges(vmi_instance_t vmi, struct snap *s)
{
    const char *unit = s->format[0] == 'E' ? "program headers" : "records";
    size_t n = 0;

    if (!s->nranges)
        return tvmi_fail(vmi, "%s: %s holds no memory", s->path, s->format);
    qsort(s->ranges, s->nranges, sizeof *s->ranges, cmp_range);
    for (size_t i = 1; i < s->nranges; i++) {
        struct snap_range *prev = &s->ranges[i - 1], *cur = &s->ranges[i];
        if (cur->start < prev->end)
            return tvmi_fail(vmi, "%s: %s: %s %u and %u overlap at PA 0x%llx",
                             s->path, s->format, unit, prev->src, cur->src,
                             (unsigned long long)cur->start);
    }
    for (size_t i = 1; i < s->nranges; i++) {
        if (file_contiguous(&s->ranges[n], &s->ranges[i]))
            s->ranges[n].end = s->ranges[i].end;
        else
            s->ranges[++n] = s->ranges[i];
    }
    s->nranges = n + 1;
    return VMI_SUCCESS;
}

/* ---- frames: the hot path ------------------------------------------------ */

/* The frame at pa when range r backs all of it, else NULL. */
static inline void *frame_in(const struct snap *s, const struct snap_range *r,
                             addr_t pa)
{
    if (pa - r->start >= r->end - r->start || r->end - pa < TVMI_PAGE_SIZE)
        return NULL;
    return s->map + r->off + (pa - r->start);
}

/* Index of the first range ending above pa (nranges if none). */
static size_t find_range(const struct snap *s, addr_t pa)
{
    size_t lo = 0, hi = s->nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ranges[mid].end <= pa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void *frame_slow(vmi_instance_t vmi, struct snap *s, addr_t gfn)
{
    addr_t pa = gfn << TVMI_PAGE_SHIFT;
    size_t i = gfn > (~0ull >> TVMI_PAGE_SHIFT) ? s->nranges
                                                 : find_range(s, pa);
    const struct snap_range *r = &s->ranges[i];
    void *page;

    if (i == s->nranges || r->start >= pa + TVMI_PAGE_SIZE) {
        tvmi_fail(vmi, "PA 0x%llx is not in the snapshot (hole)",
                  (unsigned long long)pa);
        return NULL;
    }
    page = frame_in(s, r, pa);
    if (!page) {
        tvmi_fail(vmi, "PA 0x%llx is only partly in the snapshot: backed "
                  "range [0x%llx, 0x%llx) does not cover the whole 4 KiB "
                  "frame", (unsigned long long)pa,
                  (unsigned long long)r->start, (unsigned long long)r->end);
        return NULL;
    }
    s->last = i;
    return page;
}

static void *snap_map_frame(vmi_instance_t vmi, addr_t gfn, bool write)
{
    struct snap *s = vmi->drv_data;
    void *page;

    if (write && !vmi->writable) {
        tvmi_fail(vmi, "snapshot opened read-only: pass TVMI_INIT_WRITE "
                  "(CLI: --write) to modify it");
        return NULL;
    }
    /* Reads come in runs: the range that served last usually serves again.
     * A gfn too large to shift wraps pa, which frame_in then rejects unless
     * it lands in this range - frame_slow checks it properly. */
    page = frame_in(s, &s->ranges[s->last], gfn << TVMI_PAGE_SHIFT);
    if (page && gfn <= (~0ull >> TVMI_PAGE_SHIFT))
        return page;
    return frame_slow(vmi, s, gfn);
}

/* Only whole frames are reachable through map_frame, so those are what we
 * report: partly covered frames at unaligned range edges are left out. */
static size_t snap_get_ranges(vmi_instance_t vmi, struct tvmi_mem_range *out,
                              size_t max)
{
    const struct snap *s = vmi->drv_data;
    size_t n = 0;

    for (size_t i = 0; i < s->nranges; i++) {
        addr_t start = (s->ranges[i].start + TVMI_PAGE_SIZE - 1) & TVMI_PAGE_MASK;
        addr_t end = s->ranges[i].end & TVMI_PAGE_MASK;
        if (s->ranges[i].start > TVMI_PAGE_MASK || end <= start)
            continue;
        if (n < max)
            out[n] = (struct tvmi_mem_range){ .start = start, .end = end };
        n++;
    }
    return n;
}

/* ---- registers ------------------------------------------------------------ */

static status_t snap_get_vcpureg(vmi_instance_t vmi, uint64_t *value,
                                 reg_t reg, unsigned long vcpu)
{
    const struct snap *s = vmi->drv_data;
    const struct snap_cpu *c;

    if (!s->ncpus)
        return tvmi_fail(vmi, "%s has no vCPU registers", vmi->drv_name);
    if (vcpu >= s->ncpus)
        return tvmi_fail(vmi, "vCPU %lu does not exist (the snapshot has %u)",
                         vcpu, s->ncpus);
    if (reg >= TVMI_REG_COUNT)
        return tvmi_fail(vmi, "register %llu does not exist",
                         (unsigned long long)reg);
    c = &s->cpus[vcpu];
    if (!(c->have >> reg & 1))
        return tvmi_fail(vmi, "register %s of vCPU %lu is not in the snapshot",
                         tvmi_reg_name(reg), vcpu);
    *value = c->reg[reg];
    return VMI_SUCCESS;
}

struct snap_cpu *snap_cpu(vmi_instance_t vmi, struct snap *s, unsigned idx)
{
    if (idx >= SNAP_MAX_CPUS) {
        tvmi_fail(vmi, "%s: %s: more than %u vCPUs; refusing a corrupt file",
                  s->path, s->format, SNAP_MAX_CPUS);
        return NULL;
    }
    if (idx >= s->ncpus) {
        struct snap_cpu *c = realloc(s->cpus, (idx + 1) * sizeof *c);
        if (!c) {
            tvmi_fail(vmi, "%s: out of memory for vCPU state", s->path);
            return NULL;
        }
        memset(c + s->ncpus, 0, (idx + 1 - s->ncpus) * sizeof *c);
        s->cpus = c;
        s->ncpus = idx + 1;
    }
    return &s->cpus[idx];
}

/* ---- open and close ---------------------------------------------------------- */

static void snap_free(struct snap *s)
{
    if (s->map)
        munmap(s->map, s->size);
    if (s->fd >= 0)
        close(s->fd);
    free(s->ranges);
    free(s->cpus);
    free((char *)s->path);
    free(s);
}

static status_t open_file(vmi_instance_t vmi, struct snap *s, bool rw,
                          vmi_init_error_t *err)
{
    struct stat st;

    s->fd = open(s->path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno;
        *err = e == ENOENT ? VMI_INIT_ERROR_VM_NOT_FOUND : VMI_INIT_ERROR_DRIVER;
        if (e == EISDIR)
            return tvmi_fail(vmi, "%s: is a directory, not a snapshot file",
                             s->path);
        return tvmi_fail(vmi, "%s: cannot open for %s: %s", s->path,
                         rw ? "reading and writing" : "reading", strerror(e));
    }
    if (fstat(s->fd, &st) < 0)
        return tvmi_fail(vmi, "%s: cannot stat: %s", s->path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return tvmi_fail(vmi, "%s: is a directory, not a snapshot file",
                         s->path);
    if (!S_ISREG(st.st_mode))
        return tvmi_fail(vmi, "%s: not a regular file", s->path);
    if (st.st_size == 0)
        return tvmi_fail(vmi, "%s: file is empty", s->path);
    if ((uint64_t)st.st_size > SIZE_MAX)
        return tvmi_fail(vmi, "%s: too large to map on this host", s->path);
    s->size = (uint64_t)st.st_size;
    s->map = mmap(NULL, s->size, rw ? PROT_READ | PROT_WRITE : PROT_READ,
                  MAP_SHARED, s->fd, 0);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        return tvmi_fail(vmi, "%s: cannot map %llu bytes: %s", s->path,
                         (unsigned long long)s->size, strerror(errno));
    }
    return VMI_SUCCESS;
}

/* The format is told by content, never by the file name. */
static status_t parse(vmi_instance_t vmi, struct snap *s)
{
    if (s->size >= 4 && !memcmp(s->map, SNAP_ELF_MAGIC, 4)) {
        s->format = "ELF core";
        vmi->drv_name = "snapshot-elf";
        return snap_parse_elf(vmi, s);
    }
    if (s->size >= 4 && snap_le32(s->map) == SNAP_LIME_MAGIC) {
        s->format = "LiME";
        vmi->drv_name = "snapshot-lime";
        return snap_parse_lime(vmi, s);
    }
    s->format = "raw";
    vmi->drv_name = "snapshot-raw";
    return snap_add_range(vmi, s, 0, s->size, 0, 0);
}

static status_t snap_open(vmi_instance_t vmi, const void *domain,
                          uint64_t flags, vmi_init_error_t *err)
{
    bool rw = flags & TVMI_INIT_WRITE;
    struct snap *s;

    *err = VMI_INIT_ERROR_DRIVER;
    if (!domain || !*(const char *)domain) {
        *err = VMI_INIT_ERROR_VM_NOT_FOUND;
        return tvmi_fail(vmi, "snapshot: no file path given");
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(domain))) {
        free(s);
        return tvmi_fail(vmi, "snapshot: out of memory");
    }
    s->fd = -1;
    if (open_file(vmi, s, rw, err) || parse(vmi, s) ||
        finish_ranges(vmi, s)) {
        vmi->drv_name = NULL;
        snap_free(s);
        return VMI_FAILURE;
    }
    vmi->drv_data = s;
    vmi->writable = rw;
    /* Raw and LiME files hold no vCPU state; one vCPU still exists, and
     * asking for its registers says why there are none. */
    vmi->num_vcpus = s->ncpus ? s->ncpus : 1;
    vmi->max_pa = s->ranges[s->nranges - 1].end;
    vmi->memsize = 0;
    for (size_t i = 0; i < s->nranges; i++)
        vmi->memsize += s->ranges[i].end - s->ranges[i].start;
    *err = VMI_INIT_ERROR_NONE;
    return VMI_SUCCESS;
}

/* The file as it is now: a rewritten or replaced snapshot is another
 * target (hints and other caches keyed on this must not carry over). */
static bool snap_identity(vmi_instance_t vmi, char *buf, size_t len)
{
    const struct snap *s = vmi->drv_data;
    char *real = realpath(s->path, NULL);
    struct stat st;
    int n;

    if (!real || fstat(s->fd, &st) < 0) {
        free(real);
        return false;
    }
    n = snprintf(buf, len, "file %s dev %llu ino %llu size %llu mtime %lld.%09ld",
                 real, (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    free(real);
    return n > 0 && (size_t)n < len;
}

/* LibVMI names a file target by its path, as it was given. */
static char *snap_get_name(vmi_instance_t vmi)
{
    const struct snap *s = vmi->drv_data;
    char *name = strdup(s->path);

    if (!name)
        tvmi_fail(vmi, "%s: out of memory for its name", s->path);
    return name;
}

/* Writes through a MAP_SHARED mapping are in the page cache already, so
 * they reach the file without an msync; close does not wait for the disk. */
static void snap_close(vmi_instance_t vmi)
{
    if (vmi->drv_data)
        snap_free(vmi->drv_data);
    vmi->drv_data = NULL;
}

const struct tvmi_driver_ops tvmi_driver_snapshot = {
    .name = "snapshot",
    .mode = VMI_FILE,
    .flags = TVMI_DRV_STABLE_MAPS,
    .open = snap_open,
    .close = snap_close,
    .map_frame = snap_map_frame,
    .get_ranges = snap_get_ranges,
    .get_vcpureg = snap_get_vcpureg,
    .identity = snap_identity,
    .get_name = snap_get_name,
};
