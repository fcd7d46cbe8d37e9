/* SPDX-License-Identifier: MIT */
/*
 * A VM built by hand for the vm tests: a boot slot (slot 0, shared) and a
 * RAM slot (slot 1 at GM_GUEST_RAM_BASE, private-capable when asked) over
 * shmem files, and a guest given as machine code (there is no assembler at
 * test time: each program lists its bytes with the assembly beside them).
 */
#ifndef GM_TEST_VM_VMTEST_H
#define GM_TEST_VM_VMTEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guestmem.h>

#include "../common.h"

#define MiB		(1ULL << 20)
#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)
#define PRIVATE		GM_MEMORY_ATTRIBUTE_PRIVATE

/* Tail shared by the guests: GM_HC_EXIT with status 0, then hlt. */
#define GUEST_EXIT_OK \
	0xb8, 0x01, 0x00, 0x00, 0x00,	/* mov $GM_HC_EXIT, %eax */ \
	0x48, 0x31, 0xff,		/* xor %rdi, %rdi */ \
	0xe7, 0xe0,			/* out %eax, $GM_HC_PORT */ \
	0xf4				/* hlt */

/* @v as the eight bytes of a 64-bit immediate, low byte first. */
#define IMM64(v) \
	(uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24), \
	(uint8_t)((uint64_t)(v) >> 32), (uint8_t)((uint64_t)(v) >> 40), \
	(uint8_t)((uint64_t)(v) >> 48), (uint8_t)((uint64_t)(v) >> 56)

/*
 * Head of the read-modify-write guests (rmw.c, alloc_failure.c): the first
 * touches of page @a (`addq $5`) and page @b (`xchg` with 7), then a report
 * (GM_REPORT_VALUE) of (A) + (B) + the old (B): 5 + 7 + 0 = 12 on fresh
 * pages.  Leaves @b in rcx for what follows; GUEST_EXIT_OK ends it.
 */
#define GUEST_RMW(a, b) \
	0x48, 0xbb, IMM64(a),			/* movabs $a, %rbx */ \
	0x48, 0x83, 0x03, 0x05,			/* addq $5, (%rbx) */ \
	0x48, 0xb9, IMM64(b),			/* movabs $b, %rcx */ \
	0x48, 0xc7, 0xc0, 0x07, 0x00, 0x00, 0x00, /* mov $7, %rax */ \
	0x48, 0x87, 0x01,			/* xchg %rax, (%rcx) */ \
	0x48, 0x8b, 0x33,			/* mov (%rbx), %rsi */ \
	0x48, 0x03, 0x31,			/* add (%rcx), %rsi */ \
	0x48, 0x01, 0xc6,			/* add %rax, %rsi */ \
	0xbf, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_REPORT_VALUE, %edi */ \
	0xb8, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_HC_REPORT, %eax */ \
	0xe7, 0xe0				/* out %eax, $GM_HC_PORT */

struct vmtest {
	struct gm_vm *vm;
	struct gm_file *boot, *shared, *private;
	uint64_t ram_size;
};

/*
 * The race guest (race.c, windows.c): rdi = RAM base (private alias), rsi =
 * RAM size.  Each round visits every page: read the first qword, which must
 * be 0 or the page's address, then store the page's address there.  Rounds
 * go on until the mailbox (GM_GUEST_MAILBOX) says GM_MAILBOX_PUNCHED.  On a
 * bad value: report it (GM_REPORT_VALUE) and exit with the page's address
 * as the status; else exit 0.
 */
extern const uint8_t race_guest[];
extern const size_t race_guest_len;

/* A memory file "vmtest" made with @flags, @size bytes long. */
struct gm_file *vmtest_file(unsigned int flags, uint64_t size);

/* A VM on @engine with @ram_size of RAM; private-capable when @private_slot. */
void vmtest_create(struct vmtest *t, enum gm_engine_kind engine, uint64_t ram_size,
		   bool private_slot);

/* Boot @code on @nr_vcpus; rdi = RAM base (@alias_bit or'ed in), r8 = @r8. */
void vmtest_boot(struct vmtest *t, const void *code, size_t len, unsigned int nr_vcpus,
		 uint64_t alias_bit, uint64_t r8);

/* Destroy @t's VM and put its files. */
void vmtest_destroy(struct vmtest *t);

#endif
