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
