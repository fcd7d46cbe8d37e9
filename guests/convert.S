/* SPDX-License-Identifier: MIT */
/*
 * convert: private <-> shared conversions, checked from both sides.  Only
 * vCPU 0 works; the others exit 0 at once.  RAM starts shared (rdi is the
 * shared alias); if r8 says it starts private, the program first converts
 * its first 8 MiB to shared.  It needs at least 8 MiB of RAM (else exit 3)
 * and uses one 2 MiB region of it per scenario:
 *
 *   region 0  a) one 4 KiB page round trip
 *   region 1  b) one 2 MiB-aligned 2 MiB range round trip
 *   region 2  d) a 4 KiB conversion inside a 2 MiB range: neighbours keep data
 *   region 3  c) bad arguments must be refused, and leave the page alone
 *
 * Round trip (a, b), on plain gpa P, shared alias S = P | GM_GUEST_SHARED_BIT:
 *   write A via S; read back via S; host (GM_HC_HOST_READ64 P) reads A;
 *   CONVERT(P, len, 1) == 0; read via P: zero (fresh private pages);
 *   write B via P; read back; host reads neither B nor A (shared side punched);
 *   CONVERT(P, len, 0) == 0; read via S: zero; host reads zero;
 *   write C via S; host reads C.
 * Data is checked on every qword from the guest, and on the first, middle
 * and last qword of each page from the host.  CONVERT and HOST_READ64 get
 * plain gpas (without GM_GUEST_SHARED_BIT).
 *
 * Each failed check prints one line naming the scenario.  Reports
 * GM_REPORT_CHECKS (checks made; a page counts as one check per step) and
 * GM_REPORT_MISMATCHES (failed checks); exit 0 iff none failed.
 */
#include "common.h"

#define REGION		0x200000
#define HALF		0x100000	/* the middle page, in d */
#define ABOVE		0x101000	/* the page after it */
#define ABOVE_LEN	0x0ff000	/* from there to the region's end */
#define RAM_MIN		0x800000

#define SALT_A		0x11111111
#define SALT_B		0x22222222
#define SALT_C		0x33333333
#define SALT_D		0x44444444
#define SALT_E		0x55555555
#define SALT_F		0x66666666

#define EXPECT_PATTERN	0	/* guest: every qword holds pattern ^ salt */
#define EXPECT_ZERO	1	/* guest and host: zero */
#define HOST_EQ		0	/* host: pattern ^ salt */
#define HOST_ZERO	1
#define HOST_NE		2	/* host: anything but pattern ^ salt */

/*
 * Registers for the whole program: r12 = checks, r13 = failures,
 * r14 = plain RAM base, r15 = RAM size, rbp = GM_GUEST_SHARED_BIT.
 * rbx = the current region's plain base.
 */

/* rdi = base + off (| shared bit), rsi = len, rdx = salt, rcx = mode. */
.macro args base:req, off:req, len:req, shared:req, salt=0, mode=0
	leaq	\off(\base), %rdi
	.if \shared
	orq	%rbp, %rdi
	.endif
	movq	$\len, %rsi
	movq	$\salt, %rdx
	movq	$\mode, %rcx
.endm

.macro do_fill base, off, len, shared, salt
	args	\base, \off, \len, \shared, \salt
	call	fill
.endm

.macro do_verify base, off, len, shared, salt, mode
	args	\base, \off, \len, \shared, \salt, \mode
	call	verify
.endm

.macro do_host base, off, len, salt, mode
	args	\base, \off, \len, 0, \salt, \mode
	call	host_verify
.endm

.macro do_convert base, off, len, to_private
	args	\base, \off, \len, 0, \to_private
	gm_hc	GM_HC_CONVERT
.endm

/* rax = failed pages out of \len bytes' worth of checked pages. */
.macro tally len:req, msg:req
	addq	$((\len) / 4096), %r12
	testq	%rax, %rax
	jz	.Lt\@
	addq	%rax, %r13
	gm_print "\msg"
.Lt\@:
.endm

/* rax must equal \val. */
.macro expect_rc val:req, msg:req
	incq	%r12
	cmpq	$\val, %rax
	je	.Le\@
	incq	%r13
	gm_print "\msg"
.Le\@:
.endm

/* rax must be negative. */
.macro expect_neg msg:req
	incq	%r12
	testq	%rax, %rax
	js	.Ln\@
	incq	%r13
	gm_print "\msg"
.Ln\@:
.endm

/* Scenarios a and b: a round trip over [base, base + len). */
.macro round_trip name:req, base:req, len:req
	do_fill	\base, 0, \len, 1, SALT_A
	do_verify \base, 0, \len, 1, SALT_A, EXPECT_PATTERN
	tally	\len, "convert \name: shared data read back wrong\n"
	do_host	\base, 0, \len, SALT_A, HOST_EQ
	tally	\len, "convert \name: host did not see the shared data\n"

	do_convert \base, 0, \len, 1
	expect_rc 0, "convert \name: CONVERT to private failed\n"
	do_verify \base, 0, \len, 0, 0, EXPECT_ZERO
	tally	\len, "convert \name: private page not zero after conversion\n"
	do_fill	\base, 0, \len, 0, SALT_B
	do_verify \base, 0, \len, 0, SALT_B, EXPECT_PATTERN
	tally	\len, "convert \name: private data read back wrong\n"
	do_host	\base, 0, \len, SALT_B, HOST_NE
	tally	\len, "convert \name: host saw private data\n"
	do_host	\base, 0, \len, SALT_A, HOST_NE
	tally	\len, "convert \name: host saw stale shared data after conversion\n"

	do_convert \base, 0, \len, 0
	expect_rc 0, "convert \name: CONVERT to shared failed\n"
	do_verify \base, 0, \len, 1, 0, EXPECT_ZERO
	tally	\len, "convert \name: shared page not zero after round trip\n"
	do_host	\base, 0, \len, 0, HOST_ZERO
	tally	\len, "convert \name: host read not zero after round trip\n"
	do_fill	\base, 0, \len, 1, SALT_C
	do_host	\base, 0, \len, SALT_C, HOST_EQ
	tally	\len, "convert \name: host did not see shared data after round trip\n"
.endm

	gm_program
_start:
	testq	%rdx, %rdx
	jz	1f
	gm_exit	$0
1:
	movq	%rdi, %r14
	gm_plain %r14, %rax
	movq	%rsi, %r15
	movabsq	$GM_GUEST_SHARED_BIT, %rbp
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	cmpq	$RAM_MIN, %r15
	jae	1f
	gm_print "convert: needs at least 8 MiB of RAM\n"
	gm_exit	$3
1:
	testq	$GM_GUEST_F_PRIVATE, %r8
	jz	1f
	do_convert %r14, 0, RAM_MIN, 0
	testq	%rax, %rax
	jz	1f
	gm_print "convert: could not make RAM shared to start\n"
	gm_exit	$2
1:
	/* a) 4 KiB. */
	movq	%r14, %rbx
	round_trip a, %rbx, 0x1000

	/* b) 2 MiB, 2 MiB-aligned (RAM base is 1 GiB-aligned). */
	leaq	REGION(%r14), %rbx
	round_trip b, %rbx, REGION

	/* c) bad arguments. */
	leaq	3 * REGION(%r14), %rbx
	do_fill	%rbx, 0, 0x2000, 1, SALT_F
	do_convert %rbx, 0x800, 0x1000, 1
	expect_rc -22, "convert c: unaligned gpa not refused with -EINVAL\n"
	do_convert %rbx, 0, 0, 1
	expect_rc -22, "convert c: zero size not refused with -EINVAL\n"
	do_convert %rbx, 0, 100, 1
	expect_neg "convert c: unaligned size not refused\n"
	movabsq	$0x1000000000, %rdi
	movl	$0x1000, %esi
	movl	$1, %edx
	gm_hc	GM_HC_CONVERT
	expect_neg "convert c: range outside RAM not refused\n"
	leaq	-0x1000(%r14,%r15), %rdi	/* last page + one beyond RAM */
	movl	$0x2000, %esi
	movl	$1, %edx
	gm_hc	GM_HC_CONVERT
	expect_neg "convert c: range past the end of RAM not refused\n"
	xorl	%edi, %edi			/* the boot region, to shared */
	movl	$0x1000, %esi
	xorl	%edx, %edx
	gm_hc	GM_HC_CONVERT
	expect_neg "convert c: boot region conversion not refused\n"
	do_verify %rbx, 0, 0x2000, 1, SALT_F, EXPECT_PATTERN
	tally	0x2000, "convert c: refused conversion changed the data\n"
	do_host	%rbx, 0, 0x2000, SALT_F, HOST_EQ
	tally	0x2000, "convert c: refused conversion changed the host view\n"
	do_convert %rbx, 0, 0x1000, 2
	expect_neg "convert c: bad direction not refused\n"

	/* d) 4 KiB inside a 2 MiB range written as shared. */
	leaq	2 * REGION(%r14), %rbx
	do_fill	%rbx, 0, REGION, 1, SALT_D
	do_verify %rbx, 0, REGION, 1, SALT_D, EXPECT_PATTERN
	tally	REGION, "convert d: shared data read back wrong\n"
	do_convert %rbx, HALF, 0x1000, 1
	expect_rc 0, "convert d: CONVERT to private failed\n"
	do_verify %rbx, 0, HALF, 1, SALT_D, EXPECT_PATTERN
	tally	HALF, "convert d: neighbour below lost its data\n"
	do_verify %rbx, ABOVE, ABOVE_LEN, 1, SALT_D, EXPECT_PATTERN
	tally	ABOVE_LEN, "convert d: neighbour above lost its data\n"
	do_host	%rbx, 0, HALF, SALT_D, HOST_EQ
	tally	HALF, "convert d: host lost neighbour below\n"
	do_host	%rbx, ABOVE, ABOVE_LEN, SALT_D, HOST_EQ
	tally	ABOVE_LEN, "convert d: host lost neighbour above\n"
	do_verify %rbx, HALF, 0x1000, 0, 0, EXPECT_ZERO
	tally	0x1000, "convert d: private page not zero after conversion\n"
	do_fill	%rbx, HALF, 0x1000, 0, SALT_E
	do_verify %rbx, HALF, 0x1000, 0, SALT_E, EXPECT_PATTERN
	tally	0x1000, "convert d: private data read back wrong\n"
	do_host	%rbx, HALF, 0x1000, SALT_E, HOST_NE
	tally	0x1000, "convert d: host saw private data\n"
	do_host	%rbx, HALF, 0x1000, SALT_D, HOST_NE
	tally	0x1000, "convert d: host saw stale shared data after conversion\n"
	do_convert %rbx, HALF, 0x1000, 0
	expect_rc 0, "convert d: CONVERT to shared failed\n"
	do_verify %rbx, HALF, 0x1000, 1, 0, EXPECT_ZERO
	tally	0x1000, "convert d: shared page not zero after round trip\n"
	do_verify %rbx, 0, HALF, 1, SALT_D, EXPECT_PATTERN
	tally	HALF, "convert d: neighbour below lost its data after round trip\n"
	do_verify %rbx, ABOVE, ABOVE_LEN, 1, SALT_D, EXPECT_PATTERN
	tally	ABOVE_LEN, "convert d: neighbour above lost its data after round trip\n"

	gm_report GM_REPORT_CHECKS, %r12
	gm_report GM_REPORT_MISMATCHES, %r13
	testq	%r13, %r13
	jz	1f
	gm_print "convert: some checks failed\n"
1:	gm_exit_zero %r13, 1

/* The pattern of qword address rdi (shared bit ignored) ^ rdx, into rax.
 * Clobbers r11. */
.macro pattern
	movq	%rdi, %rax
	movabsq	$~GM_GUEST_SHARED_BIT, %r11
	andq	%r11, %rax
	movabsq	$GM_PAT_MUL, %r11
	imulq	%r11, %rax
	xorq	$GM_PAT_XOR, %rax
	xorq	%rdx, %rax
.endm

/* fill: rdi = address, rsi = length, rdx = salt: every qword gets its
 * pattern.  Clobbers rax, rcx, rdi, rsi, r8-r11. */
fill:
	leaq	(%rdi,%rsi), %r8
1:	pattern
	movq	%rax, (%rdi)
	addq	$8, %rdi
	cmpq	%r8, %rdi
	jb	1b
	ret

/* verify: rdi = address, rsi = length (whole pages), rdx = salt, rcx =
 * EXPECT_*; rax = pages with at least one wrong qword.  Clobbers rcx,
 * rdi, rsi, r8-r11. */
verify:
	leaq	(%rdi,%rsi), %r8	/* end */
	xorl	%r9d, %r9d		/* bad pages */
	movq	%rcx, %r10		/* mode */
.Lv_page:
	xorl	%esi, %esi		/* this page is bad */
	leaq	0x1000(%rdi), %rcx
.Lv_word:
	xorl	%eax, %eax
	cmpq	$EXPECT_ZERO, %r10
	je	1f
	pattern
1:	cmpq	(%rdi), %rax
	je	2f
	movl	$1, %esi
2:	addq	$8, %rdi
	cmpq	%rcx, %rdi
	jb	.Lv_word
	addq	%rsi, %r9
	cmpq	%r8, %rdi
	jb	.Lv_page
	movq	%r9, %rax
	ret

/* host_verify: rdi = plain gpa, rsi = length (whole pages), rdx = salt,
 * rcx = HOST_*: GM_HC_HOST_READ64 of the first, middle and last qword of
 * each page; rax = pages where one was wrong.  Clobbers rcx, rdx, rdi,
 * rsi, r8-r11. */
host_verify:
	pushq	%rbx
	leaq	(%rdi,%rsi), %r8	/* end */
	xorl	%r9d, %r9d		/* bad pages */
	movq	%rcx, %r10		/* mode */
	movq	%rdx, %rsi		/* salt */
	movq	%rdi, %rbx		/* page */
.Lh_page:
	xorl	%ecx, %ecx		/* this page is bad */
	xorl	%edx, %edx		/* offset: 0, 2048, 4088 */
.Lh_word:
	leaq	(%rbx,%rdx), %rdi
	pushq	%rdx
	movq	%rsi, %rdx
	pattern				/* rax = expected */
	popq	%rdx
	pushq	%rax
	gm_hc	GM_HC_HOST_READ64	/* rdi = gpa; rax = the host view */
	popq	%r11			/* expected */
	cmpq	$HOST_ZERO, %r10
	jne	1f
	xorl	%r11d, %r11d
1:	cmpq	$HOST_NE, %r10
	je	2f
	cmpq	%r11, %rax		/* must equal */
	je	3f
	movl	$1, %ecx
	jmp	3f
2:	cmpq	%r11, %rax		/* must differ */
	jne	3f
	movl	$1, %ecx
3:	cmpq	$4088, %rdx		/* 0 -> 2048 -> 4088 -> next page */
	je	4f
	addq	$2040, %rdx
	cmpq	$2040, %rdx
	jne	.Lh_word
	movl	$2048, %edx
	jmp	.Lh_word
4:	addq	%rcx, %r9
	addq	$0x1000, %rbx
	cmpq	%r8, %rbx
	jb	.Lh_page
	movq	%r9, %rax
	popq	%rbx
	ret
