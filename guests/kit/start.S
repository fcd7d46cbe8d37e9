/* SPDX-License-Identifier: MIT */
/*
 * The guest kit's entry point.  `guestmem run --guest` starts every vCPU in
 * a trampoline at GM_GUEST_CODE_BASE that jumps here with the entry
 * registers of guest-abi.h (rdx = vCPU index) and r9 = the struct
 * gm_guest_info it wrote into the boot slot.  The VMM's own stacks are
 * 16 KiB in the boot slot; C code gets GM_KIT_STACK_SIZE each, here in the
 * program's .bss (shared memory, like the rest of the program).
 */
#include <guestmem/guest-abi.h>

#define GM_KIT_STACK_SHIFT	16	/* 64 KiB per vCPU */
#define GM_KIT_STACK_SIZE	(1 << GM_KIT_STACK_SHIFT)

	.section .note.GNU-stack, "", @progbits

	.section .text.gm_start, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	cmpq	$GM_GUEST_MAX_VCPUS, %rdx
	jae	.Lno_stack
	leaq	1(%rdx), %rax
	shlq	$GM_KIT_STACK_SHIFT, %rax
	leaq	gm_kit_stacks(%rip), %rsp
	addq	%rax, %rsp		/* the top of this vCPU's stack, 16-byte aligned */
	xorl	%ebp, %ebp		/* the end of the frame chain, for debuggers */
	movl	%edx, %edi
	movq	%r9, %rsi
	call	gm_kit_main		/* does not return */
.Lno_stack:
	movl	$GM_HC_EXIT, %eax
	movl	$126, %edi		/* a vCPU index the kit has no stack for */
	outl	%eax, $GM_HC_PORT
.Lhang:
	pause
	jmp	.Lhang
	.size	_start, . - _start

	.section .bss.gm_kit_stacks, "aw", @nobits
	.balign	64
gm_kit_stacks:
	.skip	GM_GUEST_MAX_VCPUS * GM_KIT_STACK_SIZE
	.size	gm_kit_stacks, . - gm_kit_stacks
