/* SPDX-License-Identifier: MIT */
/*
 * Assembler helpers shared by guestmem's guest programs (GNU as, AT&T
 * syntax; include from a .S file after nothing else has emitted code).
 *
 * Layout of every program: one .text section linked at GM_GUEST_CODE_BASE
 * and copied out as a flat binary.  Subsection 0 holds the code, with
 * _start first; subsection 1 holds string literals placed by gm_print.
 * There is no .data or .bss: mutable state lives in registers, on the
 * stack, or in guest RAM.
 *
 * Hypercall convention (guest-abi.h): the call number in eax, arguments in
 * rdi, rsi, rdx, `outl %eax, $GM_HC_PORT`; the VMM clobbers only rax, which
 * holds the result.  The gm_hc* macros below preserve rdi, rsi and rdx, so
 * callers may keep live values there.  Their operands are pushed, so they
 * may be registers (any of rdi/rsi/rdx/rax included), memory, or
 * immediates that fit in a sign-extended 32 bits; nothing %rsp-relative.
 */
#ifndef GUESTMEM_GUESTS_COMMON_H
#define GUESTMEM_GUESTS_COMMON_H

#include <guestmem/guest-abi.h>

/* The raw hypercall: arguments already in rdi, rsi, rdx; result in rax. */
.macro gm_hc nr:req
	movl	$\nr, %eax
	outl	%eax, $GM_HC_PORT
.endm

.macro gm_hc1 nr:req, a:req
	pushq	%rdi
	pushq	\a
	popq	%rdi
	gm_hc	\nr
	popq	%rdi
.endm

.macro gm_hc2 nr:req, a:req, b:req
	pushq	%rdi
	pushq	%rsi
	pushq	\a
	pushq	\b
	popq	%rsi
	popq	%rdi
	gm_hc	\nr
	popq	%rsi
	popq	%rdi
.endm

.macro gm_hc3 nr:req, a:req, b:req, c:req
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	\a
	pushq	\b
	pushq	\c
	popq	%rdx
	popq	%rsi
	popq	%rdi
	gm_hc	\nr
	popq	%rdx
	popq	%rsi
	popq	%rdi
.endm

/* Print a string literal (placed in the code, hence in the shared boot
 * region).  Clobbers rax only.  Usage: gm_print "text\n" */
.macro gm_print str:req
	.pushsection .text, 1
.Lgm_str\@:
	.ascii	"\str"
.Lgm_str_end\@:
	.popsection
	pushq	%rdi
	pushq	%rsi
	leaq	.Lgm_str\@(%rip), %rdi
	movl	$(.Lgm_str_end\@ - .Lgm_str\@), %esi
	gm_hc	GM_HC_PRINT
	popq	%rsi
	popq	%rdi
.endm

/* GM_HC_REPORT(key, value).  Clobbers rax. */
.macro gm_report key:req, val:req
	gm_hc2	GM_HC_REPORT, $\key, \val
.endm

/* GM_HC_PROGRESS(bytes done by this vCPU so far).  Clobbers rax. */
.macro gm_progress val:req
	gm_hc1	GM_HC_PROGRESS, \val
.endm

/* Exit with a status (0 = pass); never returns.  The hypercall should not
 * come back; if it does, the vCPU halts for good. */
.macro gm_exit status:req
	gm_hc1	GM_HC_EXIT, \status
.Lgm_dead\@:
	hlt
	jmp	.Lgm_dead\@
.endm

/* Exit with status 0 if \reg is zero, else with \fail. */
.macro gm_exit_zero reg:req, fail=1
	testq	\reg, \reg
	jz	.Lgm_pass\@
	gm_exit	$\fail
.Lgm_pass\@:
	gm_exit	$0
.endm

/*
 * gm_slice: this vCPU's part of RAM, from the entry registers (rdi = RAM
 * base alias, rsi = RAM size, rdx = vCPU index, rcx = number of vCPUs).
 *   slice = size / nr, rounded down to 2 MiB when that leaves at least
 *           2 MiB, else down to 4 KiB; the last vCPU also takes the rest.
 * Out: rbx = start of the slice (same alias as rdi), rbp = its length.
 * A vCPU whose index is out of range gets an empty slice.
 * Clobbers rax, r9, r10, r11; preserves rdi, rsi, rdx, rcx.
 */
.macro gm_slice
	movq	%rdx, %r9		/* vCPU index */
	movq	%rcx, %r10		/* nr of vCPUs, at least 1 */
	testq	%r10, %r10
	jnz	.Lgm_s1\@
	movl	$1, %r10d
.Lgm_s1\@:
	movq	%rsi, %rax
	xorl	%edx, %edx
	divq	%r10			/* rax = size / nr */
	cmpq	$0x200000, %rax
	jb	.Lgm_s2\@
	andq	$~0x1fffff, %rax
	jmp	.Lgm_s3\@
.Lgm_s2\@:
	andq	$~0xfff, %rax
.Lgm_s3\@:
	movq	%rax, %rbp		/* length, unless last */
	imulq	%r9, %rax		/* offset of this slice */
	leaq	(%rdi,%rax), %rbx
	leaq	1(%r9), %r11
	cmpq	%r10, %r11
	jb	.Lgm_s5\@		/* not the last vCPU */
	je	.Lgm_s4\@		/* the last: takes the rest */
	xorl	%ebp, %ebp		/* index out of range: nothing */
	movq	%rdi, %rbx
	jmp	.Lgm_s5\@
.Lgm_s4\@:
	movq	%rsi, %rbp
	subq	%rax, %rbp
.Lgm_s5\@:
	movq	%r9, %rdx
.endm

/* Data patterns: pattern(addr) = addr * GM_PAT_MUL ^ GM_PAT_XOR (^ salt). */
#define GM_PAT_MUL	0x9E3779B97F4A7C15
#define GM_PAT_XOR	0x5bd1e995

/* Clearing the shared bit of an address in \reg (clobbers \tmp). */
.macro gm_plain reg:req, tmp:req
	movabsq	$~GM_GUEST_SHARED_BIT, \tmp
	andq	\tmp, \reg
.endm

/* Setting it. */
.macro gm_shared reg:req, tmp:req
	movabsq	$GM_GUEST_SHARED_BIT, \tmp
	orq	\tmp, \reg
.endm

/* The start of a program: marks the stack as non-executable for the linker
 * and opens the code section. */
.macro gm_program
	.section .note.GNU-stack, "", @progbits
	.text
	.globl	_start
.endm

#endif
