/*
 * tvmi_dump: copies any target's physical memory into a snapshot file.
 *
 * Only the public API is used for memory and registers, plus the driver's
 * get_ranges to skip holes, so the same code dumps a snapshot or a live
 * guest. The file is written under a temporary name next to the target and
 * renamed at the end: a failed dump never leaves a half-written file under
 * the name asked for.
 */
#include "snapshot.h"

#include <tinyvmi/dump.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)      /* bytes read and written per call */
#define DATA_ALIGN 4096u      /* ELF: segment data starts page-aligned */
#define NOTE_NAME_PAD 8u      /* "CORE\0" and "QEMU\0" padded to 4 bytes */

struct dump {
    vmi_instance_t vmi;
    const char *path;
    char *tmp;
    int fd;
    bool created;             /* tmp exists and is ours to remove */
    struct tvmi_mem_range *ranges;
    size_t nranges;
    unsigned char *buf;       /* CHUNK bytes */
    uint64_t total, done, next_report;
    tvmi_dump_progress_fn progress;
    void *arg;
};

/* ---- output --------------------------------------------------------------- */

static status_t write_at(struct dump *d, const void *buf, size_t len,
                         uint64_t off)
{
    const unsigned char *p = buf;

    while (len) {
        ssize_t n = pwrite(d->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == ENOSPC || errno == EDQUOT))
            return tvmi_fail(d->vmi, "writing %s: no space left on the device "
                             "(at offset 0x%llx)", d->path,
                             (unsigned long long)off);
        if (n <= 0)
            return tvmi_fail(d->vmi, "writing %s at offset 0x%llx: %s", d->path,
                             (unsigned long long)off,
                             n < 0 ? strerror(errno) : "nothing written");
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return VMI_SUCCESS;
}

static void report(struct dump *d, uint64_t len)
{
    d->done += len;
    if (!d->progress || (d->done < d->next_report && d->done < d->total))
        return;
    d->progress(d->arg, d->done, d->total);
    d->next_report = d->done + d->total / 100;
}

/* Copies guest [start, end) to the file at off, a chunk at a time. */
static status_t copy_range(struct dump *d, addr_t start, addr_t end,
                           uint64_t off)
{
    for (addr_t pa = start; pa < end;) {
        size_t len = end - pa < CHUNK ? (size_t)(end - pa) : CHUNK;
        if (vmi_read_pa(d->vmi, pa, len, d->buf, NULL) != VMI_SUCCESS)
            return tvmi_fail_ctx(d->vmi, "dumping to %s", d->path);
        if (write_at(d, d->buf, len, off))
            return VMI_FAILURE;
        report(d, len);
        pa += len;
        off += len;
    }
    return VMI_SUCCESS;
}

/* ---- which memory is there -------------------------------------------------- */

static status_t add_frame(struct dump *d, addr_t gfn, size_t *cap)
{
    struct tvmi_mem_range *last = d->nranges ? &d->ranges[d->nranges - 1] : NULL;
    addr_t pa = gfn << TVMI_PAGE_SHIFT;

    if (last && last->end == pa) {
        last->end += TVMI_PAGE_SIZE;
        return VMI_SUCCESS;
    }
    if (d->nranges == *cap) {
        size_t n = *cap ? 2 * *cap : 64;
        struct tvmi_mem_range *r = realloc(d->ranges, n * sizeof *r);
        if (!r)
            return tvmi_fail(d->vmi, "dumping: out of memory for the range list");
        d->ranges = r;
        *cap = n;
    }
    d->ranges[d->nranges++] = (struct tvmi_mem_range){ pa, pa + TVMI_PAGE_SIZE };
    return VMI_SUCCESS;
}

/* Without get_ranges, every frame below max_pa is tried once. */
static status_t probe_ranges(struct dump *d)
{
    addr_t frames = (d->vmi->max_pa + TVMI_PAGE_SIZE - 1) >> TVMI_PAGE_SHIFT;
    size_t cap = 0;

    for (addr_t gfn = 0; gfn < frames; gfn++)
        if (tvmi_frame(d->vmi, gfn, false) && add_frame(d, gfn, &cap))
            return VMI_FAILURE;
    return VMI_SUCCESS;
}

static status_t find_ranges(struct dump *d)
{
    size_t (*get)(vmi_instance_t, struct tvmi_mem_range *, size_t) =
        d->vmi->drv->get_ranges;
    size_t n;

    if (!get)
        return probe_ranges(d);
    /* A live target may gain ranges between the calls: ask until it fits. */
    for (n = get(d->vmi, NULL, 0);; ) {
        struct tvmi_mem_range *r = realloc(d->ranges, (n ? n : 1) * sizeof *r);
        size_t got;
        if (!r)
            return tvmi_fail(d->vmi, "dumping: out of memory for the range list");
        d->ranges = r;
        got = get(d->vmi, r, n);
        if (got <= n) {
            d->nranges = got;
            return VMI_SUCCESS;
        }
        n = got;
    }
}

/* ---- registers ---------------------------------------------------------------- */

static uint64_t reg_or_0(vmi_instance_t vmi, reg_t reg, unsigned vcpu)
{
    uint64_t v;
    return vmi_get_vcpureg(vmi, &v, reg, vcpu) == VMI_SUCCESS ? v : 0;
}

static bool has_reg(vmi_instance_t vmi, reg_t reg, unsigned vcpu)
{
    uint64_t v;
    return vmi_get_vcpureg(vmi, &v, reg, vcpu) == VMI_SUCCESS;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> 8 * i);
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static unsigned char *note_header(unsigned char *p, const char *name,
                                  uint32_t descsz, uint32_t type)
{
    put32(p, 5);
    put32(p + 4, descsz);
    put32(p + 8, type);
    memcpy(p + 12, name, 5);
    return p + 12 + NOTE_NAME_PAD;
}

static unsigned char *note_prstatus(vmi_instance_t vmi, unsigned char *p,
                                    unsigned vcpu)
{
    unsigned char *desc = note_header(p, "CORE", PRSTATUS_SIZE, 1);

    put32(desc + 32, vcpu + 1); /* pr_pid: QEMU numbers vCPUs from 1 */
    for (unsigned i = 0; i < PRSTATUS_NREGS; i++)
        if (snap_prstatus_regs[i] >= 0)
            put64(desc + PRSTATUS_REGS + 8 * i,
                  reg_or_0(vmi, (reg_t)snap_prstatus_regs[i], vcpu));
    return desc + PRSTATUS_SIZE;
}

static void put_seg(unsigned char *d, int seg, uint64_t sel, uint32_t flags,
                    uint64_t base)
{
    unsigned char *p = d + QCPU_SEG + seg * QCPU_SEG_SIZE;
    put32(p, (uint32_t)sel);
    put32(p + 8, flags);
    put64(p + 16, base);
}

static unsigned char *note_qemu(vmi_instance_t vmi, unsigned char *p,
                                unsigned vcpu)
{
    static const reg_t sels[] = { CS_SEL, DS_SEL, ES_SEL, FS_SEL, GS_SEL, SS_SEL };
    unsigned char *d = note_header(p, "QEMU", QCPU_SIZE, 0);
    /* The public API has no segment descriptors. CS gets the L bit when
     * EFER says long mode, so that a reader deriving EFER (as ours does)
     * finds the same paging mode again. */
    uint32_t cs_flags = reg_or_0(vmi, MSR_EFER, vcpu) & EFER_LMA ? QSEG_FLAG_L : 0;

    put32(d, QCPU_VERSION);
    put32(d + 4, QCPU_SIZE);
    for (unsigned i = 0; i < 18; i++)
        put64(d + QCPU_GPR + 8 * i, reg_or_0(vmi, (reg_t)snap_qemu_gprs[i], vcpu));
    for (int i = 0; i < 6; i++)
        put_seg(d, i, reg_or_0(vmi, sels[i], vcpu), i == QSEG_CS ? cs_flags : 0,
                i == QSEG_FS ? reg_or_0(vmi, FS_BASE, vcpu)
                : i == QSEG_GS ? reg_or_0(vmi, GS_BASE, vcpu) : 0);
    put64(d + QCPU_CR, reg_or_0(vmi, CR0, vcpu));
    put64(d + QCPU_CR + 16, reg_or_0(vmi, CR2, vcpu));
    put64(d + QCPU_CR + 24, reg_or_0(vmi, CR3, vcpu));
    put64(d + QCPU_CR + 32, reg_or_0(vmi, CR4, vcpu));
    put64(d + QCPU_KGSBASE, reg_or_0(vmi, SHADOW_GS, vcpu));
    return d + QCPU_SIZE;
}

/* The notes QEMU writes: every vCPU's NT_PRSTATUS, then every vCPU's CPU
 * state. The CPU state only when the control registers are known, since
 * a reader takes the paging mode from it. Returns the bytes used. */
static size_t build_notes(vmi_instance_t vmi, unsigned char *p, unsigned ncpus,
                          bool gprs, bool crs)
{
    unsigned char *start = p;

    for (unsigned i = 0; gprs && i < ncpus; i++)
        p = note_prstatus(vmi, p, i);
    for (unsigned i = 0; crs && i < ncpus; i++)
        p = note_qemu(vmi, p, i);
    return (size_t)(p - start);
}

/* ---- the three formats ------------------------------------------------------------ */

static void put_phdr(unsigned char *p, uint32_t type, uint64_t off,
                     uint64_t paddr, uint64_t size)
{
    put32(p, type);
    put64(p + 8, off);
    put64(p + 24, paddr); /* p_vaddr stays 0, as QEMU writes without paging */
    put64(p + 32, size);
    put64(p + 40, size);
}

static void put_ehdr(unsigned char *e, uint64_t phnum, uint64_t shoff)
{
    memcpy(e, SNAP_ELF_MAGIC "\2\1\1", 7); /* ELF64, little-endian, v1 */
    put16(e + 16, 4);                      /* ET_CORE */
    put16(e + 18, 62);                     /* EM_X86_64 */
    put32(e + 20, 1);
    put64(e + 32, 64);                     /* program headers follow */
    put16(e + 52, 64);
    put16(e + 54, 56);
    /* More than 0xfffe headers: PN_XNUM, the count is in section 0. */
    put16(e + 56, phnum < 0xffff ? (uint16_t)phnum : 0xffff);
    if (phnum >= 0xffff) {
        put64(e + 40, shoff);
        put16(e + 58, 64);
        put16(e + 60, 1);
    }
}

static status_t dump_elf(struct dump *d)
{
    vmi_instance_t vmi = d->vmi;
    unsigned ncpus = vmi_get_num_vcpus(vmi);
    bool gprs = has_reg(vmi, RIP, 0);
    bool crs = has_reg(vmi, CR3, 0) && has_reg(vmi, CR0, 0) && has_reg(vmi, CR4, 0);
    uint64_t phnum = d->nranges + (gprs || crs);
    uint64_t shoff = 64 + phnum * 56, noteoff = shoff + (phnum >= 0xffff) * 64;
    uint64_t notes_max = (uint64_t)ncpus * (2 * NOTE_NAME_PAD + 24 +
                                            PRSTATUS_SIZE + QCPU_SIZE);
    unsigned char *h = calloc(1, noteoff + notes_max + DATA_ALIGN);
    unsigned char *ph = h + 64;
    uint64_t data, off;
    size_t notelen;
    status_t rc;

    if (!h)
        return tvmi_fail(vmi, "dumping: out of memory for the ELF headers");
    put_ehdr(h, phnum, shoff);
    if (phnum >= 0xffff)
        put32(h + shoff + 44, (uint32_t)phnum); /* sh_info */
    notelen = build_notes(vmi, h + noteoff, ncpus, gprs, crs);
    if (gprs || crs) {
        put_phdr(ph, 4, noteoff, 0, notelen);
        ph += 56;
    }
    data = (noteoff + notelen + DATA_ALIGN - 1) & ~(uint64_t)(DATA_ALIGN - 1);
    off = data;
    for (size_t i = 0; i < d->nranges; i++, ph += 56) {
        put_phdr(ph, 1, off, d->ranges[i].start,
                 d->ranges[i].end - d->ranges[i].start);
        off += d->ranges[i].end - d->ranges[i].start;
    }
    rc = write_at(d, h, data, 0);
    free(h);
    for (size_t i = 0; !rc && i < d->nranges; i++) {
        rc = copy_range(d, d->ranges[i].start, d->ranges[i].end, data);
        data += d->ranges[i].end - d->ranges[i].start;
    }
    return rc;
}

static status_t dump_lime(struct dump *d)
{
    uint64_t off = 0;

    for (size_t i = 0; i < d->nranges; i++) {
        const struct tvmi_mem_range *r = &d->ranges[i];
        unsigned char h[SNAP_LIME_HDR] = { 0 };
        put32(h, SNAP_LIME_MAGIC);
        put32(h + 4, 1);
        put64(h + 8, r->start);
        put64(h + 16, r->end - 1); /* LiME's end is inclusive */
        if (write_at(d, h, sizeof h, off) ||
            copy_range(d, r->start, r->end, off + SNAP_LIME_HDR))
            return VMI_FAILURE;
        off += SNAP_LIME_HDR + (r->end - r->start);
    }
    return VMI_SUCCESS;
}

/* A raw image cannot say "hole": holes read back as zeros. They are left
 * unwritten, so the file is sparse there on file systems that can. */
static status_t dump_raw(struct dump *d)
{
    uint64_t size = d->nranges ? d->ranges[d->nranges - 1].end : 0;

    for (size_t i = 0; i < d->nranges; i++)
        if (copy_range(d, d->ranges[i].start, d->ranges[i].end,
                       d->ranges[i].start))
            return VMI_FAILURE;
    if (ftruncate(d->fd, (off_t)size) < 0)
        return tvmi_fail(d->vmi, "writing %s: cannot set its size to 0x%llx: %s",
                         d->path, (unsigned long long)size, strerror(errno));
    return VMI_SUCCESS;
}

/* ---- the temporary file ------------------------------------------------------- */

/* O_EXCL under a name of our own, rather than mkstemp, so that the file
 * gets the usual 0666 & ~umask permissions. */
static status_t open_tmp(struct dump *d)
{
    size_t len = strlen(d->path) + 48;

    if (!(d->tmp = malloc(len)))
        return tvmi_fail(d->vmi, "dumping: out of memory");
    for (unsigned try = 0; try < 100; try++) {
        snprintf(d->tmp, len, "%s.tmp.%ld.%u", d->path, (long)getpid(), try);
        d->fd = open(d->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (d->fd >= 0) {
            d->created = true;
            return VMI_SUCCESS;
        }
        if (errno != EEXIST)
            break;
    }
    return tvmi_fail(d->vmi, "dumping: cannot create %s: %s", d->tmp,
                     strerror(errno));
}

static status_t finish_tmp(struct dump *d)
{
    int fd = d->fd;

    d->fd = -1;
    if (close(fd) < 0)
        return tvmi_fail(d->vmi, "writing %s: %s", d->path, strerror(errno));
    /* No fsync: the rename only guards against a failed dump, not against
     * a crash of the host; callers who need that sync the file. */
    if (rename(d->tmp, d->path) < 0)
        return tvmi_fail(d->vmi, "dumping: cannot rename %s to %s: %s",
                         d->tmp, d->path, strerror(errno));
    d->created = false;
    return VMI_SUCCESS;
}

static status_t run(struct dump *d, tvmi_dump_format_t fmt)
{
    status_t (*const writers[])(struct dump *) = {
        [TVMI_DUMP_ELF] = dump_elf, [TVMI_DUMP_RAW] = dump_raw,
        [TVMI_DUMP_LIME] = dump_lime,
    };

    if ((unsigned)fmt >= sizeof writers / sizeof *writers)
        return tvmi_fail(d->vmi, "dumping: unknown format %d", (int)fmt);
    if (!(d->buf = malloc(CHUNK)))
        return tvmi_fail(d->vmi, "dumping: out of memory");
    if (find_ranges(d))
        return VMI_FAILURE;
    if (!d->nranges)
        return tvmi_fail(d->vmi, "dumping: the target has no readable memory");
    for (size_t i = 0; i < d->nranges; i++)
        d->total += d->ranges[i].end - d->ranges[i].start;
    if (d->progress)
        d->progress(d->arg, 0, d->total);
    d->next_report = d->total / 100;
    if (open_tmp(d) || writers[fmt](d) || finish_tmp(d))
        return VMI_FAILURE;
    return VMI_SUCCESS;
}

status_t tvmi_dump(vmi_instance_t vmi, const char *path, tvmi_dump_format_t fmt,
                   tvmi_dump_progress_fn progress, void *arg)
{
    struct dump d = { .vmi = vmi, .path = path, .fd = -1,
                      .progress = progress, .arg = arg };
    status_t rc;

    if (!vmi)
        return VMI_FAILURE;
    if (!path || !*path)
        return tvmi_fail(vmi, "dumping: no output path given");
    rc = run(&d, fmt);
    if (d.fd >= 0)
        close(d.fd);
    if (d.created)
        unlink(d.tmp);
    if (!rc)
        vmi->err[0] = '\0'; /* probing for registers left messages behind */
    free(d.tmp);
    free(d.buf);
    free(d.ranges);
    return rc;
}
