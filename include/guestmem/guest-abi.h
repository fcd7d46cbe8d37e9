/* SPDX-License-Identifier: MIT */
/*
 * The contract between guestmem's VMM and its guest programs.  Included by
 * the guests' assembly as well as by C, so only #defines live here.
 *
 * Guest-physical layout:
 *   [0, GM_GUEST_BOOT_SIZE)       boot slot (shared): page tables, code, stacks
 *   [GM_GUEST_RAM_BASE, +ram)     RAM slot, private-capable
 * An access is *private* when its address lacks GM_GUEST_SHARED_BIT and it
 * hits a private-capable slot; the same page is reached as a *shared* access
 * at address | GM_GUEST_SHARED_BIT (as TDX's shared bit does).  The page
 * tables identity-map both aliases.
 *
 * Entry: 64-bit mode, paging on, at GM_GUEST_CODE_BASE with
 *   rdi = RAM base (the alias the workload should use), rsi = RAM size,
 *   rdx = vCPU index, rcx = number of vCPUs, r8 = GM_GUEST_F_* flags,
 *   rsp = the vCPU's stack top.
 *
 * Hypercalls: `outl %eax, $GM_HC_PORT` with the call number in eax and the
 * arguments in rdi, rsi, rdx; the result (0 or a negative errno) in rax.
 */
#ifndef GUESTMEM_GUEST_ABI_H
#define GUESTMEM_GUEST_ABI_H

#define GM_GUEST_BOOT_SIZE	0x200000
#define GM_GUEST_PT_BASE	0x1000		/* page tables grow from here */
#define GM_GUEST_STACK_TOP	0x100000	/* vCPU i: top - i * stack size */
#define GM_GUEST_STACK_SIZE	0x4000
#define GM_GUEST_CODE_BASE	0x100000
#define GM_GUEST_CODE_MAX	0x100000
#define GM_GUEST_RAM_BASE	0x40000000
#define GM_GUEST_SHARED_BIT	0x8000000000	/* bit 39 */
#define GM_GUEST_MAX_VCPUS	16
/* A qword in the boot slot that guest and host may both poll (retouch). */
#define GM_GUEST_MAILBOX	0x800
#define GM_MAILBOX_TOUCHED	1	/* guest: first pass done */
#define GM_MAILBOX_PUNCHED	2	/* host: RAM punched, go on */

/* r8 flags at entry. */
#define GM_GUEST_F_PRIVATE	0x1	/* RAM starts private */
#define GM_GUEST_F_IN_PLACE	0x2	/* RAM is in place: a conversion can keep the bytes */
#define GM_GUEST_F_KEEP		0x4	/* in place: the host asks conversions to keep them (benchmarks) */

#define GM_HC_PORT		0xe0

#define GM_HC_EXIT		1	/* rdi = status (0 = pass) */
#define GM_HC_PRINT		2	/* rdi = gpa of text (shared), rsi = length */
#define GM_HC_CONVERT		3	/* rdi = gpa, rsi = size, rdx = GM_HC_CONVERT_* flags */
#define GM_HC_CONVERT_PRIVATE	0x1	/* to private; without it, to shared */
#define GM_HC_CONVERT_PRESERVE	0x2	/* keep the bytes (in-place slots); without it, zero */
#define GM_HC_REPORT		4	/* rdi = key (GM_REPORT_*), rsi = value */
#define GM_HC_HOST_READ64	5	/* rdi = gpa: the host reads 8 bytes of the shared file there */
#define GM_HC_PROGRESS		6	/* rdi = bytes done by this vCPU so far */

#define GM_HC_MAX_PRINT		4096

#define GM_REPORT_MISMATCHES	1	/* words that read back wrong */
#define GM_REPORT_NONZERO	2	/* fresh private pages that were not zero */
#define GM_REPORT_CHECKS	3	/* checks made */
#define GM_REPORT_VALUE		4	/* a free-form value, for tests */

#endif
