// SPDX-License-Identifier: MIT
/* The hand-built VM of vmtest.h. */
#include "vmtest.h"

const uint8_t race_guest[] = {
	0x48, 0x89, 0xfb,			/* mov %rdi, %rbx */
	0x48, 0x89, 0xf5,			/* mov %rsi, %rbp */
	0x45, 0x31, 0xe4,			/* xor %r12d, %r12d */
	0x45, 0x31, 0xf6,			/* 1: xor %r14d, %r14d */
	0x4e, 0x8d, 0x3c, 0x33,			/* 2: lea (%rbx,%r14), %r15 */
	0x49, 0x8b, 0x07,			/* mov (%r15), %rax */
	0x48, 0x85, 0xc0,			/* test %rax, %rax */
	0x74, 0x1f,				/* jz 3f */
	0x4c, 0x39, 0xf8,			/* cmp %r15, %rax */
	0x74, 0x1a,				/* je 3f */
	0x48, 0x89, 0xc6,			/* mov %rax, %rsi */
	0xbf, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_REPORT_VALUE, %edi */
	0xb8, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_HC_REPORT, %eax */
	0xe7, 0xe0,				/* out %eax, $GM_HC_PORT */
	0x4c, 0x89, 0xff,			/* mov %r15, %rdi */
	0xb8, 0x01, 0x00, 0x00, 0x00,		/* mov $GM_HC_EXIT, %eax */
	0xe7, 0xe0,				/* out %eax, $GM_HC_PORT */
	0xf4,					/* hlt */
	0x4d, 0x89, 0x3f,			/* 3: mov %r15, (%r15) */
	0x49, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add $0x1000, %r14 */
	0x49, 0x39, 0xee,			/* cmp %rbp, %r14 */
	0x72, 0xc6,				/* jb 2b */
	0x48, 0x83, 0x3c, 0x25, 0x00, 0x08, 0x00, 0x00, 0x02,
						/* cmpq $GM_MAILBOX_PUNCHED, GM_GUEST_MAILBOX */
	0x75, 0xb8,				/* jne 1b */
	GUEST_EXIT_OK,
};

const size_t race_guest_len = sizeof(race_guest);

struct gm_file *vmtest_file(unsigned int flags, uint64_t size)
{
	struct gm_file *f;

	assert_int_equal(gm_memfd_create("vmtest", flags, &f), 0);
	assert_int_equal(gm_ftruncate(f, (off_t)size), 0);
	return f;
}

void vmtest_create(struct vmtest *t, enum gm_engine_kind engine, uint64_t ram_size,
		   bool private_slot)
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

void vmtest_boot(struct vmtest *t, const void *code, size_t len, unsigned int nr_vcpus,
		 uint64_t alias_bit, uint64_t r8)
{
	struct gm_vm_boot boot = {
		.code = code, .code_size = len, .ram_base = GM_GUEST_RAM_BASE | alias_bit,
		.ram_size = t->ram_size, .flags = r8, .nr_vcpus = nr_vcpus,
	};

	assert_int_equal(gm_vm_boot(t->vm, &boot), 0);
}

void vmtest_destroy(struct vmtest *t)
{
	gm_vm_destroy(t->vm);
	gm_file_put(t->boot);
	gm_file_put(t->shared);
	gm_file_put(t->private);
	memset(t, 0, sizeof(*t));
}
