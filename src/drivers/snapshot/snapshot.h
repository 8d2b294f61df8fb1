/*
 * The snapshot driver's private state, shared by its format parsers.
 *
 * A snapshot file is mapped whole; every format reduces to a sorted table
 * of backed ranges (guest physical -> file offset) and, for ELF cores, the
 * vCPU registers found in the notes.
 */
#ifndef TVMI_SNAPSHOT_H
#define TVMI_SNAPSHOT_H

#include "private.h"

/* Sanity bounds: a real file is far below them, a corrupt one is not. */
#define SNAP_MAX_RANGES (1u << 20)
#define SNAP_MAX_CPUS 16384u

/* [start, end) of guest physical memory lives at file offset off. */
struct snap_range {
    addr_t start;
    addr_t end;
    uint64_t off;
    unsigned src; /* program header or LiME record index, for messages */
};

/* One vCPU's registers, as far as the file has them. */
struct snap_cpu {
    uint64_t reg[TVMI_REG_COUNT];
    uint64_t have; /* bit r set: reg[r] is known */
};

struct snap {
    int fd;
    unsigned char *map;
    uint64_t size;
    const char *path;          /* for messages; owned by the caller of open */
    const char *format;        /* "ELF core", "LiME", "raw" */
    struct snap_range *ranges; /* sorted by start, disjoint */
    size_t nranges;
    size_t cap;
    size_t last;               /* index of the range that served last */
    struct snap_cpu *cpus;
    unsigned ncpus;
};

/* Little-endian field loads from the mapping (any alignment, any host). */
static inline uint16_t snap_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t snap_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t snap_le64(const unsigned char *p)
{
    return snap_le32(p) | (uint64_t)snap_le32(p + 4) << 32;
}

/* True when [off, off + len) lies inside a file of size bytes. */
static inline bool snap_in_file(uint64_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

status_t snap_add_range(vmi_instance_t vmi, struct snap *s, addr_t start,
                        uint64_t len, uint64_t off, unsigned src);
struct snap_cpu *snap_cpu(vmi_instance_t vmi, struct snap *s, unsigned idx);

/* Format parsers: fill s->ranges (any order) and s->cpus, or tvmi_fail(). */
status_t snap_parse_elf(vmi_instance_t vmi, struct snap *s);
status_t snap_parse_lime(vmi_instance_t vmi, struct snap *s);

#define SNAP_ELF_MAGIC "\x7f" "ELF"
#define SNAP_LIME_MAGIC 0x4C694D45u
#define SNAP_LIME_HDR 32u

/* QEMU's x86 CPU-state note ("QEMU", type 0): the layout of QEMUCPUState. */
#define QCPU_VERSION 1u
#define QCPU_GPR 8u          /* rax rbx rcx rdx rsi rdi rsp rbp r8..r15 */
#define QCPU_RIP 136u
#define QCPU_RFLAGS 144u
#define QCPU_SEG 152u        /* cs ds es fs gs ss ldt tr gdt idt */
#define QCPU_SEG_SIZE 24u    /* u32 selector, limit, flags, pad; u64 base */
#define QCPU_CR 392u         /* cr0..cr4 */
#define QCPU_KGSBASE 432u    /* newer QEMU only; present if size allows */
#define QCPU_MIN_SIZE 432u
#define QCPU_SIZE 440u
enum { QSEG_CS, QSEG_DS, QSEG_ES, QSEG_FS, QSEG_GS, QSEG_SS,
       QSEG_LDT, QSEG_TR, QSEG_GDT, QSEG_IDT, QSEG_COUNT };
#define QSEG_FLAG_L (1u << 21) /* code segment is 64-bit (descriptor L bit) */

/* x86-64 NT_PRSTATUS: user_regs_struct after a 112-byte header. */
#define PRSTATUS_REGS 112u
#define PRSTATUS_NREGS 27u
#define PRSTATUS_SIZE 336u

/* The order of user_regs_struct, in tinyvmi register names (-1: none). */
extern const int snap_prstatus_regs[PRSTATUS_NREGS];
/* The order of QEMUCPUState's general registers. */
extern const int snap_qemu_gprs[18];

#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#endif
