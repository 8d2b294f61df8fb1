/*
 * Exception entry stubs. The appliance takes no interrupts (it polls), so
 * any of vectors 0-31 is a bug: each stub pushes a uniform frame (vector,
 * error code or 0) and calls uk_trap(), which reports and shuts down.
 */
	.text
	.code64

/* Vectors 8, 10-14, 17, 21, 29, 30 push an error code; the others don't. */
.macro stub vec:req
	.p2align 4
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
.endm

	.globl trap_stubs
	.p2align 4
trap_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub \vec
	.endr

trap_common:
	/* Frame: vector, error, rip, cs, rflags, rsp, ss. Save the registers a
	 * report needs, then call C with a pointer to the lot. */
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	uk_trap
1:	cli
	hlt
	jmp	1b
