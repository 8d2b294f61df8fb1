/*
 * PVH entry: the first instructions the appliance runs.
 *
 * Xen's PVH loader and QEMU's -kernel both read XEN_ELFNOTE_PHYS32_ENTRY and
 * jump there in 32-bit protected mode: flat 4 GiB segments, paging off,
 * interrupts off, %ebx = physical address of struct hvm_start_info, no
 * stack. We identity-map the first 4 GiB with 2 MiB pages, enter long mode,
 * let C use SSE, and call uk_start(start_info). The image is linked at its
 * load address (1 MiB), so no relocation is needed before or after paging.
 */
#include <xen/elfnote.h>

#define CR0_PE    (1 << 0)
#define CR0_MP    (1 << 1)
#define CR0_EM    (1 << 2)
#define CR0_TS    (1 << 3)
#define CR0_NE    (1 << 5)
#define CR0_PG    (1 << 31)
#define CR4_PAE   (1 << 5)
#define CR4_OSFXSR (1 << 9)    /* fxsave/SSE allowed */
#define CR4_OSXMMEXCPT (1 << 10) /* SSE faults raise #XM, not #UD */
#define MSR_EFER  0xc0000080
#define EFER_LME  (1 << 8)
#define PTE_P_RW  0x003
#define PDE_2M    0x083        /* present, writable, 2 MiB page */

#define GDT_CODE64 0x08
#define GDT_DATA   0x10

/* One ELF note in the "Xen" namespace; both loaders find them via PT_NOTE. */
.macro xen_note type:req, body:vararg
	.p2align 2
	.long 4, 1002f - 1001f, \type
	.asciz "Xen"
1001:	\body
1002:	.p2align 2
.endm

	.section .note.xen, "a"
	xen_note XEN_ELFNOTE_GUEST_OS, .asciz "tinyvmi"
	xen_note XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0"
	xen_note XEN_ELFNOTE_LOADER, .asciz "generic"
	/* 8 bytes: QEMU reads a 64-bit value from a 64-bit ELF, Xen either. */
	xen_note XEN_ELFNOTE_PHYS32_ENTRY, .quad pvh_start

	.section .text.boot, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov	%ebx, %esi		/* keep start_info: rep stos uses eax/ecx/edi */

	/* Zero .bss (stack and page tables live there) before using either. */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb

	/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages. */
	movl	$(boot_pdpt + PTE_P_RW), boot_pml4
	mov	$boot_pdpt, %edi
	mov	$(boot_pd + PTE_P_RW), %eax
	mov	$4, %ecx
1:	mov	%eax, (%edi)
	add	$4096, %eax
	add	$8, %edi
	loop	1b
	mov	$boot_pd, %edi
	mov	$PDE_2M, %eax
	mov	$2048, %ecx
2:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	2b

	mov	$boot_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	lgdt	boot_gdt_ptr
	mov	%cr0, %eax
	and	$~(CR0_EM | CR0_TS), %eax
	or	$(CR0_PE | CR0_MP | CR0_NE | CR0_PG), %eax
	mov	%eax, %cr0
	ljmp	$GDT_CODE64, $long_mode

	.code64
long_mode:
	mov	$GDT_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$boot_stack_top, %rsp	/* 16-byte aligned: the ABI's call rule */
	fninit
	mov	%esi, %edi		/* uk_start(start_info physical address) */
	call	uk_start
3:	cli				/* uk_start never returns; be safe */
	hlt
	jmp	3b

	.section .rodata.boot, "a"
	.p2align 3
boot_gdt:
	.quad 0				/* null */
	.quad 0x00209a0000000000	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
boot_gdt_end:
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .bss.boot, "aw", @nobits
	.p2align 12
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4 * 4096
	.globl hypercall_page
hypercall_page:	.skip 4096		/* Xen writes its call stubs here */
boot_stack:	.skip 65536
boot_stack_top:
