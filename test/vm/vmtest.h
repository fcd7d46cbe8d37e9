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

static inline struct gm_file *vmtest_file(unsigned int flags, uint64_t size)
{
	struct gm_file *f;

	assert_int_equal(gm_memfd_create("vmtest", flags, &f), 0);
	assert_int_equal(gm_ftruncate(f, (off_t)size), 0);
	return f;
}

/* A VM on @engine with @ram_size of RAM; private-capable when @private_slot. */
static inline void vmtest_create(struct vmtest *t, enum gm_engine_kind engine,
				 uint64_t ram_size, bool private_slot)
{
	struct gm_memslot boot = { .slot = 0, .gpa = 0, .size = GM_GUEST_BOOT_SIZE };
	struct gm_memslot ram = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = ram_size };

	memset(t, 0, sizeof(*t));
	t->ram_size = ram_size;
	assert_int_equal(gm_vm_create(engine, &t->vm), 0);
	t->boot = vmtest_file(GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE);
	t->shared = vmtest_file(GM_MFD_CLOEXEC, ram_size);
	if (private_slot)
		t->private = vmtest_file(GM_MFD_GUEST, ram_size);
	boot.shared_file = t->boot;
	ram.shared_file = t->shared;
	ram.private_file = t->private;
	ram.flags = private_slot ? GM_SLOT_PRIVATE : 0;
	assert_int_equal(gm_vm_set_memslot(t->vm, &boot), 0);
	assert_int_equal(gm_vm_set_memslot(t->vm, &ram), 0);
}

/* Boot @code on @nr_vcpus; rdi = RAM base (@alias_bit or'ed in), r8 = @r8. */
static inline void vmtest_boot(struct vmtest *t, const void *code, size_t len,
			       unsigned int nr_vcpus, uint64_t alias_bit, uint64_t r8)
{
	struct gm_vm_boot boot = {
		.code = code, .code_size = len, .ram_base = GM_GUEST_RAM_BASE | alias_bit,
		.ram_size = t->ram_size, .flags = r8, .nr_vcpus = nr_vcpus,
	};

	assert_int_equal(gm_vm_boot(t->vm, &boot), 0);
}

static inline void vmtest_destroy(struct vmtest *t)
{
	gm_vm_destroy(t->vm);
	gm_file_put(t->boot);
	gm_file_put(t->shared);
	gm_file_put(t->private);
	memset(t, 0, sizeof(*t));
}

/*
 * Run @fn on every engine this host has, saying which it could not; with
 * neither, skip the program (77): a scenario that ran nowhere did not pass.
 */
static inline void vmtest_each_engine(void (*fn)(enum gm_engine_kind engine))
{
	const char *why_emu, *why_kvm;
	bool emu = gm_engine_available(GM_ENGINE_EMU, &why_emu);
	bool kvm = gm_test_have_kvm(&why_kvm);

	if (!emu && !kvm)
		gm_test_skip("no engine runs here: emu: %s; kvm: %s", why_emu, why_kvm);
	if (emu)
		fn(GM_ENGINE_EMU);
	else
		printf("  emu engine not run: %s\n", why_emu);
	if (kvm)
		fn(GM_ENGINE_KVM);
	else
		printf("  kvm engine not run: %s\n", why_kvm);
}

/* Skip the program (77) unless @engine runs here. */
static inline void vmtest_require(enum gm_engine_kind engine)
{
	const char *why;

	if (engine == GM_ENGINE_KVM && !gm_test_have_kvm(&why))
		gm_test_skip("kvm engine: %s", why);
	if (!gm_engine_available(engine, &why))
		gm_test_skip("%s engine: %s", engine == GM_ENGINE_KVM ? "kvm" : "emu", why);
}

#endif
