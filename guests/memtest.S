/* SPDX-License-Identifier: MIT */
/*
 * memtest: every vCPU fills its slice of RAM (through the alias it was
 * given in rdi) with a pattern derived from each 8-byte word's address,
 * then reads it all back and counts the words that differ.
 *
 * Reports GM_REPORT_MISMATCHES (words that read back wrong) and
 * GM_REPORT_CHECKS (words checked); GM_HC_PROGRESS every 1 MiB, with the
 * bytes done meaning (bytes written + bytes verified) / 2, so that it ends
 * at the slice size.  Exit 0 if nothing mismatched, else 1.
 */
#include "common.h"

	gm_program
_start:
	gm_slice			/* rbx = slice start, rbp = length */
	andq	$~7, %rbp		/* whole words only */
	movabsq	$GM_PAT_MUL, %r12
	xorl	%r13d, %r13d		/* mismatches */
	leaq	(%rbx,%rbp), %r14	/* end */

	/* Write. */
	movq	%rbx, %r15		/* cursor */
.Lw_chunk:
	cmpq	%r14, %r15
	jae	.Lw_done
	leaq	0x100000(%r15), %r10	/* chunk end = min(cursor + 1 MiB, end) */
	cmpq	%r14, %r10
	cmovaq	%r14, %r10
.Lw_word:
	movq	%r15, %rax
	imulq	%r12, %rax
	xorq	$GM_PAT_XOR, %rax
	movq	%rax, (%r15)
	addq	$8, %r15
	cmpq	%r10, %r15
	jb	.Lw_word
	movq	%r15, %rax
	subq	%rbx, %rax
	shrq	$1, %rax
	gm_progress %rax
	jmp	.Lw_chunk
.Lw_done:

	/* Verify. */
	movq	%rbx, %r15
.Lv_chunk:
	cmpq	%r14, %r15
	jae	.Lv_done
	leaq	0x100000(%r15), %r10
	cmpq	%r14, %r10
	cmovaq	%r14, %r10
.Lv_word:
	movq	%r15, %rax
	imulq	%r12, %rax
	xorq	$GM_PAT_XOR, %rax
	cmpq	(%r15), %rax
	je	1f
	incq	%r13
1:	addq	$8, %r15
	cmpq	%r10, %r15
	jb	.Lv_word
	movq	%r15, %rax		/* (len + verified) / 2 */
	subq	%rbx, %rax
	addq	%rbp, %rax
	shrq	$1, %rax
	gm_progress %rax
	jmp	.Lv_chunk
.Lv_done:

	gm_report GM_REPORT_MISMATCHES, %r13
	movq	%rbp, %rax
	shrq	$3, %rax
	gm_report GM_REPORT_CHECKS, %rax
	testq	%r13, %r13
	jz	1f
	gm_print "memtest: words read back wrong\n"
1:	gm_exit_zero %r13, 1
