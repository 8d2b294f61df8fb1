/*
 * ELF64 x86-64 cores: QEMU's dump-guest-memory, kdump's vmcore and our own
 * dumps. PT_LOAD p_paddr gives guest physical addresses; the notes give
 * vCPU registers (NT_PRSTATUS, and QEMU's CPU state with the control
 * registers). Every offset and count is checked against the file size
 * before use: the file may be truncated or hostile.
 */
#include "snapshot.h"

#define EHDR_SIZE 64u
#define PHDR_SIZE 56u
#define SHDR_SIZE 64u
#define ET_CORE 4u
#define EM_X86_64 62u
#define PT_LOAD 1u
#define PT_NOTE 4u
#define PN_XNUM 0xffffu
#define NT_PRSTATUS 1u
#define NOTE_HDR 12u
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)

const int snap_prstatus_regs[PRSTATUS_NREGS] = {
    R15, R14, R13, R12, RBP, RBX, R11, R10, R9, R8, RAX, RCX, RDX, RSI, RDI,
    -1 /* orig_rax */, RIP, CS_SEL, RFLAGS, RSP, SS_SEL, FS_BASE, GS_BASE,
    DS_SEL, ES_SEL, FS_SEL, GS_SEL,
};

const int snap_qemu_gprs[18] = {
    RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP,
    R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS,
};

struct elf_state {
    struct snap *s;
    unsigned nprstatus; /* notes seen so far: the n-th note of each kind */
    unsigned nqemu;     /* belongs to vCPU n (QEMU writes them in order) */
};

static status_t elf_fail_hdr(vmi_instance_t vmi, struct snap *s,
                             const char *what)
{
    return tvmi_fail(vmi, "%s: ELF core: %s", s->path, what);
}

static void set_reg(struct snap_cpu *c, int reg, uint64_t v)
{
    c->reg[reg] = v;
    c->have |= 1ull << reg;
}

/* ---- notes ------------------------------------------------------------- */

static status_t note_prstatus(vmi_instance_t vmi, struct elf_state *st,
                              const unsigned char *d, uint32_t len, unsigned idx)
{
    struct snap_cpu *c;

    if (len < PRSTATUS_REGS + PRSTATUS_NREGS * 8)
        return tvmi_fail(vmi, "%s: ELF core: note %u: NT_PRSTATUS is 0x%x "
                         "bytes, too short for x86-64 registers (need 0x%x)",
                         st->s->path, idx, len,
                         PRSTATUS_REGS + PRSTATUS_NREGS * 8);
    if (!(c = snap_cpu(vmi, st->s, st->nprstatus++)))
        return VMI_FAILURE;
    for (unsigned i = 0; i < PRSTATUS_NREGS; i++) {
        int reg = snap_prstatus_regs[i];
        /* The QEMU note is the better source; do not overwrite it. */
        if (reg >= 0 && !(c->have >> reg & 1))
            set_reg(c, reg, snap_le64(d + PRSTATUS_REGS + 8 * i));
    }
    return VMI_SUCCESS;
}

static uint64_t seg_field(const unsigned char *d, int seg, unsigned off)
{
    const unsigned char *p = d + QCPU_SEG + seg * QCPU_SEG_SIZE + off;
    return off == 16 ? snap_le64(p) : snap_le32(p);
}

/*
 * EFER is not in QEMU's note. LME/LMA are derived: long mode needs CR0.PG
 * and CR4.PAE, and then either CS is a 64-bit segment (L bit), or a 64-bit
 * kernel runs compatibility-mode code, whose IDT/GDT still sit above 4 GiB.
 * The other EFER bits (SCE, NXE...) are unknown and read as 0.
 */
static uint64_t derive_efer(const unsigned char *d, uint64_t cr0, uint64_t cr4)
{
    bool high = seg_field(d, QSEG_IDT, 16) >> 32 || seg_field(d, QSEG_GDT, 16) >> 32;
    bool cs_long = seg_field(d, QSEG_CS, 8) & QSEG_FLAG_L;

    if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && (cs_long || high))
        return EFER_LME | EFER_LMA;
    return 0;
}

static status_t note_qemu(vmi_instance_t vmi, struct elf_state *st,
                          const unsigned char *d, uint32_t len, unsigned idx)
{
    static const int segs[] = { CS_SEL, DS_SEL, ES_SEL, FS_SEL, GS_SEL, SS_SEL };
    uint32_t version, size;
    struct snap_cpu *c;

    if (len < 8)
        return tvmi_fail(vmi, "%s: ELF core: note %u: QEMU CPU note is 0x%x "
                         "bytes, too short for its header", st->s->path, idx, len);
    version = snap_le32(d);
    size = snap_le32(d + 4);
    if (version != QCPU_VERSION)
        return tvmi_fail(vmi, "%s: ELF core: note %u: QEMU CPU note version %u "
                         "is unknown (tinyvmi reads version %u)",
                         st->s->path, idx, version, QCPU_VERSION);
    if (size > len || size < QCPU_MIN_SIZE)
        return tvmi_fail(vmi, "%s: ELF core: note %u: QEMU CPU note says size "
                         "0x%x; the note holds 0x%x and the state needs 0x%x",
                         st->s->path, idx, size, len, QCPU_MIN_SIZE);
    if (!(c = snap_cpu(vmi, st->s, st->nqemu++)))
        return VMI_FAILURE;
    for (unsigned i = 0; i < 18; i++)
        set_reg(c, snap_qemu_gprs[i], snap_le64(d + QCPU_GPR + 8 * i));
    for (unsigned i = 0; i < 6; i++)
        set_reg(c, segs[i], seg_field(d, (int)i, 0));
    set_reg(c, FS_BASE, seg_field(d, QSEG_FS, 16));
    set_reg(c, GS_BASE, seg_field(d, QSEG_GS, 16));
    set_reg(c, CR0, snap_le64(d + QCPU_CR));
    set_reg(c, CR2, snap_le64(d + QCPU_CR + 16));
    set_reg(c, CR3, snap_le64(d + QCPU_CR + 24));
    set_reg(c, CR4, snap_le64(d + QCPU_CR + 32));
    set_reg(c, MSR_EFER, derive_efer(d, c->reg[CR0], c->reg[CR4]));
    if (size >= QCPU_KGSBASE + 8)
        set_reg(c, SHADOW_GS, snap_le64(d + QCPU_KGSBASE));
    return VMI_SUCCESS;
}

static bool note_named(const unsigned char *name, uint32_t namesz,
                       const char *want)
{
    size_t n = strlen(want);
    /* namesz counts the terminating NUL; tolerate writers that omit it. */
    return (namesz == n || (namesz == n + 1 && !name[n])) &&
           !memcmp(name, want, n);
}

static uint64_t align4(uint64_t v) { return (v + 3) & ~3ull; }

static status_t parse_notes(vmi_instance_t vmi, struct elf_state *st,
                            unsigned ph, uint64_t off, uint64_t len)
{
    const unsigned char *seg = st->s->map + off;
    uint64_t pos = 0;

    for (unsigned idx = 0; pos < len; idx++) {
        uint32_t namesz, descsz, type;
        uint64_t desc;
        status_t rc = VMI_SUCCESS;

        if (len - pos < NOTE_HDR)
            return tvmi_fail(vmi, "%s: ELF core: program header %u (PT_NOTE): "
                             "note %u at offset 0x%llx: header truncated",
                             st->s->path, ph, idx,
                             (unsigned long long)(off + pos));
        namesz = snap_le32(seg + pos);
        descsz = snap_le32(seg + pos + 4);
        type = snap_le32(seg + pos + 8);
        /* namesz, descsz < 2^32: these sums cannot overflow 64 bits. */
        desc = pos + NOTE_HDR + align4(namesz);
        if (desc > len || descsz > len - desc)
            return tvmi_fail(vmi, "%s: ELF core: program header %u (PT_NOTE): "
                             "note %u at offset 0x%llx (name 0x%x + data 0x%x "
                             "bytes) extends past the end of the segment",
                             st->s->path, ph, idx,
                             (unsigned long long)(off + pos), namesz, descsz);
        if (note_named(seg + pos + NOTE_HDR, namesz, "CORE") &&
            type == NT_PRSTATUS)
            rc = note_prstatus(vmi, st, seg + desc, descsz, idx);
        else if (note_named(seg + pos + NOTE_HDR, namesz, "QEMU") && type == 0)
            rc = note_qemu(vmi, st, seg + desc, descsz, idx);
        if (rc)
            return rc;
        pos = desc + align4(descsz);
    }
    return VMI_SUCCESS;
}

/* ---- program headers ------------------------------------------------------ */

static status_t check_segment(vmi_instance_t vmi, struct snap *s, unsigned ph,
                              uint64_t off, uint64_t filesz)
{
    if (snap_in_file(s->size, off, filesz))
        return VMI_SUCCESS;
    return tvmi_fail(vmi, "%s: ELF core: program header %u: segment "
                     "[0x%llx+0x%llx] extends past end of file (size 0x%llx)",
                     s->path, ph, (unsigned long long)off,
                     (unsigned long long)filesz, (unsigned long long)s->size);
}

static status_t load_segment(vmi_instance_t vmi, struct snap *s, unsigned ph,
                             const unsigned char *p)
{
    uint64_t off = snap_le64(p + 8), paddr = snap_le64(p + 24);
    uint64_t filesz = snap_le64(p + 32), memsz = snap_le64(p + 40);

    if (filesz > memsz)
        return tvmi_fail(vmi, "%s: ELF core: program header %u: p_filesz "
                         "0x%llx exceeds p_memsz 0x%llx", s->path, ph,
                         (unsigned long long)filesz, (unsigned long long)memsz);
    if (check_segment(vmi, s, ph, off, filesz))
        return VMI_FAILURE;
    if (filesz > ~0ull - paddr)
        return tvmi_fail(vmi, "%s: ELF core: program header %u: p_paddr 0x%llx "
                         "+ p_filesz 0x%llx overflows 64 bits", s->path, ph,
                         (unsigned long long)paddr, (unsigned long long)filesz);
    /* Only p_filesz bytes are in the file: the rest of p_memsz is a hole. */
    if (!filesz)
        return VMI_SUCCESS;
    return snap_add_range(vmi, s, paddr, filesz, off, ph);
}

/* e_phnum == PN_XNUM: the real count is in section header 0's sh_info. */
static status_t extended_phnum(vmi_instance_t vmi, struct snap *s,
                               uint64_t *phnum)
{
    const unsigned char *e = s->map;
    uint64_t shoff = snap_le64(e + 40);
    uint16_t shentsize = snap_le16(e + 58);

    if (shentsize < SHDR_SIZE || !snap_in_file(s->size, shoff, SHDR_SIZE))
        return elf_fail_hdr(vmi, s, "e_phnum is PN_XNUM but section header 0 "
                            "(e_shoff, e_shentsize) is not in the file");
    *phnum = snap_le32(s->map + shoff + 44);
    return VMI_SUCCESS;
}

static status_t check_ehdr(vmi_instance_t vmi, struct snap *s)
{
    const unsigned char *e = s->map;

    if (s->size < EHDR_SIZE)
        return tvmi_fail(vmi, "%s: ELF core: file too short for the ELF header "
                         "(size 0x%llx, need 0x%x)", s->path,
                         (unsigned long long)s->size, EHDR_SIZE);
    if (e[4] != 2 || e[5] != 1)
        return elf_fail_hdr(vmi, s, "not a little-endian ELF64 file "
                            "(EI_CLASS/EI_DATA); tinyvmi reads x86-64 cores");
    if (snap_le16(e + 16) != ET_CORE)
        return elf_fail_hdr(vmi, s, "e_type is not ET_CORE: an ELF file, "
                            "but not a memory dump");
    if (snap_le16(e + 18) != EM_X86_64)
        return elf_fail_hdr(vmi, s, "e_machine is not EM_X86_64");
    return VMI_SUCCESS;
}

status_t snap_parse_elf(vmi_instance_t vmi, struct snap *s)
{
    struct elf_state st = { .s = s };
    uint64_t phoff, phentsize, phnum;

    if (check_ehdr(vmi, s))
        return VMI_FAILURE;
    phoff = snap_le64(s->map + 32);
    phentsize = snap_le16(s->map + 54);
    phnum = snap_le16(s->map + 56);
    if (phnum == PN_XNUM && extended_phnum(vmi, s, &phnum))
        return VMI_FAILURE;
    if (phentsize < PHDR_SIZE)
        return tvmi_fail(vmi, "%s: ELF core: e_phentsize %llu is smaller than "
                         "an Elf64_Phdr (%u)", s->path,
                         (unsigned long long)phentsize, PHDR_SIZE);
    if (phnum > SNAP_MAX_RANGES)
        return tvmi_fail(vmi, "%s: ELF core: e_phnum %llu is absurd (limit %u)",
                         s->path, (unsigned long long)phnum, SNAP_MAX_RANGES);
    /* phnum < 2^20 and phentsize < 2^16: the product fits easily. */
    if (!snap_in_file(s->size, phoff, phnum * phentsize))
        return tvmi_fail(vmi, "%s: ELF core: program headers (e_phoff 0x%llx, "
                         "e_phnum %llu x e_phentsize %llu) extend past end of "
                         "file (size 0x%llx)", s->path,
                         (unsigned long long)phoff, (unsigned long long)phnum,
                         (unsigned long long)phentsize,
                         (unsigned long long)s->size);
    for (unsigned i = 0; i < phnum; i++) {
        const unsigned char *p = s->map + phoff + i * phentsize;
        uint32_t type = snap_le32(p);
        status_t rc = VMI_SUCCESS;

        if (type == PT_LOAD)
            rc = load_segment(vmi, s, i, p);
        else if (type == PT_NOTE)
            rc = check_segment(vmi, s, i, snap_le64(p + 8), snap_le64(p + 32)) ||
                 parse_notes(vmi, &st, i, snap_le64(p + 8), snap_le64(p + 32));
        if (rc)
            return VMI_FAILURE;
    }
    return VMI_SUCCESS;
}
