/* SPDX-License-Identifier: MIT */
/*
 * touch: every vCPU writes one qword (the page's own address) to each
 * 4 KiB page of its slice of RAM, once, in ascending order: the first-touch
 * workload of the population benchmarks.  GM_HC_PROGRESS every 1 MiB;
 * reports GM_REPORT_CHECKS = pages touched; exits 0.
 */
#include "common.h"

	gm_program
_start:
	gm_slice			/* rbx = slice start, rbp = length */
	shrq	$12, %rbp		/* whole pages */
	xorl	%r13d, %r13d		/* pages touched */
	movq	%rbx, %r15		/* cursor */
.Lchunk:
	cmpq	%rbp, %r13
	jae	.Ldone
	leaq	256(%r13), %r10		/* 1 MiB of pages at a time */
	cmpq	%rbp, %r10
	cmovaq	%rbp, %r10
.Lpage:
	movq	%r15, (%r15)
	addq	$0x1000, %r15
	incq	%r13
	cmpq	%r10, %r13
	jb	.Lpage
	movq	%r13, %rax
	shlq	$12, %rax
	gm_progress %rax
	jmp	.Lchunk
.Ldone:
	gm_report GM_REPORT_CHECKS, %r13
	gm_exit	$0
