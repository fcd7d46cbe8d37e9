/* SPDX-License-Identifier: MIT */
/*
 * leakcheck: a freshly faulted private page must read as zero, whatever
 * the frame that serves it held before.  RAM is normally private at entry
 * (r8 has GM_GUEST_F_PRIVATE and rdi is the private alias); if it is not,
 * the program first converts its slice to private.
 *
 * Each vCPU, over the whole pages of its slice:
 *   1. via the private alias: every qword must be zero; then fill the page
 *      with a non-zero pattern;
 *   2. CONVERT the slice to shared (frees the private frames), and read it
 *      via the shared alias: every qword must be zero (private data must not
 *      show through on the shared side);
 *   3. CONVERT it back to private and read it via the private alias: every
 *      qword must be zero again (new, fresh frames).
 * CONVERT gets the plain gpa (without GM_GUEST_SHARED_BIT).
 *
 * Reports GM_REPORT_NONZERO (non-zero qwords seen) and GM_REPORT_CHECKS
 * (pages checked, 3 per page); GM_HC_PROGRESS every 1 MiB, (all bytes
 * scanned) / 3 so that it ends at the slice size.  Exit 0 iff no non-zero
 * qword was seen, 2 if a CONVERT failed.
 */
#include "common.h"

	gm_program
_start:
	gm_slice			/* rbx = slice start, rbp = length */
	andq	$~0xfff, %rbp		/* whole pages */
	gm_plain %rbx, %rax		/* rbx = plain gpa = private alias */
	movabsq	$GM_GUEST_SHARED_BIT, %r14
	xorl	%r12d, %r12d		/* non-zero qwords */
	xorl	%r13d, %r13d		/* pages checked */
	xorl	%r15d, %r15d		/* bytes scanned, all passes */
	testq	%rbp, %rbp
	jz	.Lreport

	testq	$GM_GUEST_F_PRIVATE, %r8
	jnz	1f
	gm_hc3	GM_HC_CONVERT, %rbx, %rbp, $1
	testq	%rax, %rax
	jnz	.Lconvert_failed
1:
	/* 1: fresh private pages, then dirty them. */
	movq	%rbx, %rdi
	movl	$1, %esi
	call	scan

	/* 2: to shared; the shared side must not show private data. */
	gm_hc3	GM_HC_CONVERT, %rbx, %rbp, $0
	testq	%rax, %rax
	jnz	.Lconvert_failed
	movq	%rbx, %rdi
	orq	%r14, %rdi
	xorl	%esi, %esi
	call	scan

	/* 3: back to private; new frames, zero again. */
	gm_hc3	GM_HC_CONVERT, %rbx, %rbp, $1
	testq	%rax, %rax
	jnz	.Lconvert_failed
	movq	%rbx, %rdi
	xorl	%esi, %esi
	call	scan
	gm_progress %rbp

.Lreport:
	gm_report GM_REPORT_NONZERO, %r12
	gm_report GM_REPORT_CHECKS, %r13
	testq	%r12, %r12
	jz	1f
	gm_print "leakcheck: fresh pages were not zero\n"
1:	gm_exit_zero %r12, 1

.Lconvert_failed:
	gm_report GM_REPORT_VALUE, %rax
	gm_print "leakcheck: CONVERT failed\n"
	gm_exit	$2

/*
 * scan: rdi = address of the first page, rbp = length (whole pages),
 * esi = 1 to fill each page with a non-zero pattern after checking it.
 * Adds non-zero qwords to r12, pages to r13, bytes to r15 (reporting
 * progress every 1 MiB).  Clobbers rax, rcx, rdx, rdi, r8-r11.
 */
scan:
	leaq	(%rdi,%rbp), %r8	/* end */
	movabsq	$GM_PAT_MUL, %r9
.Lpage:
	leaq	0x1000(%rdi), %r10	/* page end */
	movq	%rdi, %rcx
.Lread:
	cmpq	$0, (%rcx)
	je	1f
	incq	%r12
1:	addq	$8, %rcx
	cmpq	%r10, %rcx
	jb	.Lread
	testl	%esi, %esi
	jz	.Lnext
	movq	%rdi, %rcx
.Lfill:
	movq	%rcx, %rax
	imulq	%r9, %rax
	orq	$1, %rax
	movq	%rax, (%rcx)
	addq	$8, %rcx
	cmpq	%r10, %rcx
	jb	.Lfill
.Lnext:
	incq	%r13
	addq	$0x1000, %r15
	movq	%r10, %rdi
	testl	$0xfffff, %r15d
	jnz	1f
	movq	%r15, %rax		/* progress = r15 / 3 */
	xorl	%edx, %edx
	movl	$3, %ecx
	divq	%rcx
	gm_progress %rax
1:	cmpq	%r8, %rdi
	jb	.Lpage
	ret
