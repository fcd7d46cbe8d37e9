/* SPDX-License-Identifier: MIT */
/*
 * convbench: the conversion benchmark.  Only vCPU 0 works; the others exit
 * 0 at once.  RAM starts private (rdi is its plain address; the host runs
 * it with private RAM) and must be at least 4 MiB (else exit 3).  Each
 * phase starts with GM_HC_PROGRESS(phase), so that the host can time it
 * (the counts are in convbench.h):
 *
 *   1  CB_EXITS bare hypercall exits (GM_HC_REPORT of 0): the floor
 *   2  CB_4K round trips of the first 4 KiB page, private -> shared ->
 *      private, touching nothing
 *   3  the same, writing the page after each conversion (through the
 *      shared alias, then through the plain address)
 *   4  CB_2M round trips of the 2 MiB range at RAM + 2 MiB, writing one
 *      qword to each of its pages after each conversion
 *   5  done
 *
 * Where the host asks (GM_GUEST_F_KEEP: RAM in place), conversions keep the bytes
 * (GM_HC_CONVERT_PRESERVE).  A conversion that fails counts in
 * GM_REPORT_MISMATCHES; exit 0 iff none.
 */
#include "common.h"
#include "convbench.h"

/*
 * CONVERT(\base, \len, \to_private), keeping the bytes where RAM is in
 * place (r15); a failure counts in r12.  Clobbers rdi, rsi, rdx, rax.
 */
.macro conv base:req, len:req, to_private:req
	movq	\base, %rdi
	movq	$\len, %rsi
	movl	$\to_private, %edx
	orl	%r15d, %edx
	gm_hc	GM_HC_CONVERT
	testq	%rax, %rax
	jz	.Lc\@
	incq	%r12
.Lc\@:
.endm

/* Write one qword to each page of [\base, +\len), through the shared alias if \shared. */
.macro touch base:req, len:req, shared:req
	movq	\base, %rdi
	.if \shared
	orq	%rbp, %rdi
	.endif
	movq	$(\len / 0x1000), %rcx
.Lt\@:
	movq	%rdi, (%rdi)
	addq	$0x1000, %rdi
	decq	%rcx
	jnz	.Lt\@
.endm

	gm_program
_start:
	testq	%rdx, %rdx
	jz	1f
	gm_exit	$0
1:	xorl	%r15d, %r15d		/* GM_HC_CONVERT_PRESERVE where RAM is in place */
	testq	$GM_GUEST_F_KEEP, %r8
	jz	2f
	movl	$GM_HC_CONVERT_PRESERVE, %r15d
2:	movq	%rdi, %rbx
	gm_plain %rbx, %rax		/* rbx = plain RAM base */
	movabsq	$GM_GUEST_SHARED_BIT, %rbp
	xorl	%r12d, %r12d		/* failed conversions */
	cmpq	$CB_RAM_MIN, %rsi
	jae	1f
	gm_print "convbench: needs at least 4 MiB of RAM\n"
	gm_exit	$3
1:	leaq	0x200000(%rbx), %r14	/* the 2 MiB range */

	gm_progress $CB_PHASE_EXITS
	movl	$CB_EXITS, %r13d
	movl	$GM_REPORT_VALUE, %edi	/* as conv: the arguments, then the exit */
	xorl	%esi, %esi
	xorl	%edx, %edx
.Lexit:
	gm_hc	GM_HC_REPORT
	decl	%r13d
	jnz	.Lexit

	gm_progress $CB_PHASE_4K
	movl	$CB_4K, %r13d
.Lbare:
	conv	%rbx, 0x1000, 0
	conv	%rbx, 0x1000, 1
	decl	%r13d
	jnz	.Lbare

	gm_progress $CB_PHASE_4K_TOUCH
	movl	$CB_4K, %r13d
.Lpage:
	conv	%rbx, 0x1000, 0
	touch	%rbx, 0x1000, 1
	conv	%rbx, 0x1000, 1
	touch	%rbx, 0x1000, 0
	decl	%r13d
	jnz	.Lpage

	gm_progress $CB_PHASE_2M
	movl	$CB_2M, %r13d
.Lhuge:
	conv	%r14, 0x200000, 0
	touch	%r14, 0x200000, 1
	conv	%r14, 0x200000, 1
	touch	%r14, 0x200000, 0
	decl	%r13d
	jnz	.Lhuge

	gm_progress $CB_DONE
	gm_report GM_REPORT_MISMATCHES, %r12
	gm_exit_zero %r12, 1
