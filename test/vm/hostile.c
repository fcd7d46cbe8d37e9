/* SPDX-License-Identifier: MIT */
/*
 * Hostile guests, several vCPUs at once, on the engine the argument names:
 *
 * - convert race: vCPU 0 converts a page to private, vCPU 1 converts it to
 *   shared, vCPU 2 reads and writes it through both aliases, each in a
 *   loop; mismatches go to a handler that converts the page back (as
 *   run --convert-on-fault does).  This once crashed the VMM (SIGSEGV):
 *   two conversions ran together and left a shared page over a window
 *   made inaccessible.  Every vCPU must finish and exit 0.
 * - random hypercalls: every vCPU makes hypercalls with pseudo-random
 *   numbers and arguments (print, convert, report, host read, progress,
 *   unknown); each ends in an error code or a change the VMM allows, and
 *   the VMM survives to see every vCPU exit 0.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "vmtest.h"

#define RAM		(16 * MiB)
#define VCPUS		3
#define CONVERT_ROUNDS	20000
#define RANDOM_CALLS	20000

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/* rdi = RAM base, rdx = vCPU, r8 = rounds (see above). */
static const uint8_t convert_race_guest[] = {
	0x49, 0x89, 0xfc,			/* mov %rdi, %r12 */
	0x49, 0x89, 0xd5,			/* mov %rdx, %r13 */
	0x4d, 0x89, 0xc6,			/* mov %r8, %r14 */
	0x49, 0x83, 0xfd, 0x02,			/* 1: cmp $2, %r13 */
	0x73, 0x19,				/* jae 3f */
	0x4c, 0x89, 0xe7,			/* mov %r12, %rdi */
	0xbe, 0x00, 0x10, 0x00, 0x00,		/* mov $0x1000, %esi */
	0x31, 0xd2,				/* xor %edx, %edx */
	0x4d, 0x85, 0xed,			/* test %r13, %r13 */
	0x0f, 0x94, 0xc2,			/* sete %dl: vCPU 0 to private */
	0xb8, 0x03, 0x00, 0x00, 0x00,		/* mov $GM_HC_CONVERT, %eax */
	0xe7, 0xe0,				/* out %eax, $GM_HC_PORT */
	0xeb, 0x17,				/* jmp 5f */
	0x4c, 0x89, 0xe0,			/* 3: mov %r12, %rax */
	0x49, 0xf7, 0xc6, 0x01, 0x00, 0x00, 0x00, /* test $1, %r14 */
	0x74, 0x05,				/* jz 4f */
	0x48, 0x0f, 0xba, 0xe8, 0x27,		/* bts $39, %rax: the shared alias */
	0x48, 0x8b, 0x18,			/* 4: mov (%rax), %rbx */
	0x48, 0x89, 0x18,			/* mov %rbx, (%rax) */
	0x49, 0xff, 0xce,			/* 5: dec %r14 */
	0x75, 0xc5,				/* jnz 1b */
	GUEST_EXIT_OK,
};

/* rdx = vCPU (the seed), r8 = calls: xorshift64 picks each call and its arguments. */
static const uint8_t random_hypercall_guest[] = {
	0x49, 0x89, 0xd7,			/* mov %rdx, %r15 */
	0x48, 0xb8, 0x15, 0x7c, 0x4a, 0x7f, 0xb9, 0x79, 0x37, 0x9e, /* movabs $golden, %rax */
	0x4c, 0x0f, 0xaf, 0xf8,			/* imul %rax, %r15 */
	0x49, 0xff, 0xc7,			/* inc %r15 */
	0x4d, 0x89, 0xc6,			/* mov %r8, %r14 */
	0x4c, 0x89, 0xf8,			/* 1: mov %r15, %rax */
	0x48, 0xc1, 0xe0, 0x0d,			/* shl $13, %rax */
	0x49, 0x31, 0xc7,			/* xor %rax, %r15 */
	0x4c, 0x89, 0xf8,			/* mov %r15, %rax */
	0x48, 0xc1, 0xe8, 0x07,			/* shr $7, %rax */
	0x49, 0x31, 0xc7,			/* xor %rax, %r15 */
	0x4c, 0x89, 0xf8,			/* mov %r15, %rax */
	0x48, 0xc1, 0xe0, 0x11,			/* shl $17, %rax */
	0x49, 0x31, 0xc7,			/* xor %rax, %r15 */
	0x4c, 0x89, 0xff,			/* mov %r15, %rdi */
	0x4c, 0x89, 0xfe,			/* mov %r15, %rsi */
	0x48, 0xc1, 0xee, 0x14,			/* shr $20, %rsi */
	0x4c, 0x89, 0xfa,			/* mov %r15, %rdx */
	0x48, 0xc1, 0xea, 0x28,			/* shr $40, %rdx */
	0x4c, 0x89, 0xf8,			/* mov %r15, %rax */
	0x83, 0xe0, 0x07,			/* and $7, %eax: calls 0..7 */
	0x83, 0xf8, 0x01,			/* cmp $GM_HC_EXIT, %eax */
	0x75, 0x05,				/* jne 2f */
	0xb8, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_HC_REPORT, %eax */
	0x49, 0xf7, 0xc7, 0x00, 0x01, 0x00, 0x00, /* 2: test $0x100, %r15 */
	0x74, 0x18,				/* jz 3f: wild arguments */
	0x48, 0x81, 0xe7, 0x00, 0xf0, 0xff, 0x00, /* and $0xfff000, %rdi: a page of RAM */
	0x48, 0x81, 0xc7, 0x00, 0x00, 0x00, 0x40, /* add $GM_GUEST_RAM_BASE, %rdi */
	0x48, 0x81, 0xe6, 0x00, 0xf0, 0x3f, 0x00, /* and $0x3ff000, %rsi: up to 4 MiB */
	0x83, 0xe2, 0x01,			/* and $1, %edx: to private or shared */
	0xe7, 0xe0,				/* 3: out %eax, $GM_HC_PORT */
	0x49, 0xff, 0xce,			/* dec %r14 */
	0x75, 0x99,				/* jnz 1b */
	GUEST_EXIT_OK,
};

struct converter {
	_Atomic uint64_t faults;
};

/* A mismatch: give the page the kind the guest asked for, as --convert-on-fault does. */
static int convert_back(void *opaque, struct gm_vm *vm, unsigned int vcpu,
			const struct gm_exit *exit)
{
	struct converter *c = opaque;

	atomic_fetch_add(&c->faults, 1);
	return gm_vm_set_memory_attributes(vm, exit->fault.gpa, exit->fault.size,
					   exit->fault.private ? PRIVATE : 0, 0);
}

/* @callers: vCPUs that make a hypercall every round (and one to exit each). */
static void run_hostile(enum gm_engine_kind engine, const uint8_t *code, size_t len,
			uint64_t rounds, unsigned int callers)
{
	struct converter c = { 0 };
	struct gm_vm_handlers h = { .opaque = &c, .memory_fault = convert_back };
	struct gm_exit exits[VCPUS];
	struct gm_vm_stats s;
	struct vmtest t;

	vmtest_create(&t, engine, RAM, true);
	vmtest_boot(&t, code, len, VCPUS, 0, rounds);
	assert_int_equal(gm_vm_run(t.vm, &h, exits), 0);
	gm_vm_get_stats(t.vm, &s);
	printf("  %s: %llu hypercalls, %llu conversions, %llu mismatches converted back\n",
	       gm_vm_engine_name(t.vm), (unsigned long long)s.hypercalls,
	       (unsigned long long)s.conversions, (unsigned long long)atomic_load(&c.faults));
	for (int i = 0; i < VCPUS; i++)
		assert_int_equal(exits[i].status, 0);
	assert_int_equal(s.hypercalls, callers * rounds + VCPUS);
	/* Some of the calls must have done something: conversions went through. */
	assert_true(s.conversions > 0);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void convert_race_on(enum gm_engine_kind engine)
{
	run_hostile(engine, convert_race_guest, sizeof(convert_race_guest), CONVERT_ROUNDS, 2);
}

static void random_hypercalls_on(enum gm_engine_kind engine)
{
	run_hostile(engine, random_hypercall_guest, sizeof(random_hypercall_guest), RANDOM_CALLS,
		    VCPUS);
}

static void test_convert_race(void **state)
{
	convert_race_on(engine_arg);
}

static void test_random_hypercalls(void **state)
{
	random_hypercalls_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert_race),
		cmocka_unit_test(test_random_hypercalls),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
