/*
 * The input of fuzz_kallsyms, written by seedgen_kallsyms: a small guest
 * whose physical memory holds one kernel image, cut down from a real one.
 *
 *   offset 0   u32 flags: MK_REGS (the guest has vCPU registers),
 *                         MK_LA57 (they say 5-level paging)
 *   offset 4   u32 max_pa in pages: frames past the image up to there are
 *              holes (the image's page tables map 2 MiB slots up there)
 *   offset 8   u64 CR3 (with MK_REGS)
 *   offset 16  physical memory from PA 0, as many bytes as follow (at most
 *              MK_MAX_IMAGE); the rest of the last frame reads as zeros
 *
 * The image the generator writes: _text at PA 0 mapped at the real
 * kernel's _text VA by 2 MiB pages; linux_banner, phys_base,
 * __pgtable_l5_enabled and init_task near the start; init_top_pgt and the
 * tables under it from MK_PGT; then the kallsyms tables in one of the
 * layouts real kernels use, with a few hundred of the real kernel's
 * symbols (their names encoded with its own token table).
 */
#ifndef TVMI_FUZZ_MINIKERNEL_H
#define TVMI_FUZZ_MINIKERNEL_H

#include <stdint.h>

#define MK_HEADER     16u
#define MK_REGS       1u
#define MK_LA57       2u
#define MK_MAX_IMAGE  (1u << 20)     /* bytes of memory an input may give */
#define MK_MAX_PAGES  (16u << 8)     /* max_pa cap: 16 MiB */

/* Where the generator puts things (offsets from _text = PA 0). */
#define MK_BANNER     0x100u
#define MK_PHYS_BASE  0x200u
#define MK_L5         0x208u
#define MK_INIT_TASK  0x300u
#define MK_PGT        0x1000u        /* root; the lower levels follow */
#define MK_TABLES     0x5000u        /* kallsyms tables */
#define MK_FILLER     0x200000u      /* filler symbols' addresses from here */
#define MK_IMAGE_SIZE 0x400000u      /* _end - _text: two 2 MiB slots */

#endif
