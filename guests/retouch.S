/* SPDX-License-Identifier: MIT */
/*
 * retouch: the punch-and-retouch benchmark.  vCPU 0 touches every 4 KiB
 * page of RAM, sets the mailbox (GM_GUEST_MAILBOX) to GM_MAILBOX_TOUCHED
 * and waits for the host to punch the RAM and set GM_MAILBOX_PUNCHED; then
 * it reads every page again (each must read zero: its frame was freed) and
 * touches it anew.  GM_HC_PROGRESS every 1 MiB, counting both passes (the
 * second pass reports RAM size + bytes done), as touch does, so that a
 * host helper can follow the guest.  Reports GM_REPORT_NONZERO = pages
 * that did not read zero; exits 0 iff none.  Other vCPUs exit 0 at once.
 */
#include "common.h"

/* Progress after every 256 pages: r14 = bytes reported before this pass. */
.macro progress_every_mib
	testq	$0xff, %r13
	jnz	.Lp\@
	movq	%rbp, %rax
	subq	%r13, %rax
	shlq	$12, %rax
	addq	%r14, %rax
	gm_progress %rax
.Lp\@:
.endm

	gm_program
_start:
	testq	%rdx, %rdx
	jz	1f
	gm_exit	$0
1:	movq	%rsi, %rbp
	shrq	$12, %rbp		/* pages */
	movq	%rdi, %rbx		/* RAM base */

	xorl	%r14d, %r14d
	movq	%rbx, %r15
	movq	%rbp, %r13
.Lfirst:
	movq	%r15, (%r15)
	addq	$0x1000, %r15
	decq	%r13
	progress_every_mib
	testq	%r13, %r13
	jnz	.Lfirst

	movq	$GM_MAILBOX_TOUCHED, GM_GUEST_MAILBOX
.Lwait:
	pause
	cmpq	$GM_MAILBOX_PUNCHED, GM_GUEST_MAILBOX
	jne	.Lwait

	movq	%rbp, %r14
	shlq	$12, %r14		/* the first pass's bytes */
	xorl	%r12d, %r12d		/* pages that kept data */
	movq	%rbx, %r15
	movq	%rbp, %r13
.Lagain:
	cmpq	$0, (%r15)
	je	2f
	incq	%r12
2:	movq	%r15, (%r15)
	addq	$0x1000, %r15
	decq	%r13
	progress_every_mib
	testq	%r13, %r13
	jnz	.Lagain

	gm_report GM_REPORT_NONZERO, %r12
	gm_exit_zero %r12, 1
