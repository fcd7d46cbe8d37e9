/* SPDX-License-Identifier: MIT */
/*
 * Deleting the RAM slot while two vCPUs write all over it, many times: the
 * run ends with an exit reason or because it was stopped, never a crash,
 * and no frame is left behind.  The slot's attributes are mixed (one page
 * shared, the rest private), so that on the emulator every access goes
 * through the access hooks, which let pages in with their lock dropped:
 * the window in which a deletion used to leave them on a cleared slot.
 * On the engine the argument names.  GM_DELETE_RACE_ROUNDS sets the count
 * (default 300, 30 in the KVM lab).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmtest.h"

#define RAM		(16 * MiB)
#define WATCHDOG_US	(2 * 1000 * 1000)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/* rdi = RAM base (private alias), rsi = RAM size: write pages 1.. forever. */
static const uint8_t sweep_guest[] = {
	0x49, 0x89, 0xf1,			/* mov %rsi, %r9 */
	0x49, 0xc1, 0xe9, 0x0c,			/* shr $12, %r9: pages */
	0xb9, 0x01, 0x00, 0x00, 0x00,		/* 0: mov $1, %ecx */
	0x48, 0x89, 0xc8,			/* 1: mov %rcx, %rax */
	0x48, 0xc1, 0xe0, 0x0c,			/* shl $12, %rax */
	0x48, 0x89, 0x0c, 0x07,			/* mov %rcx, (%rdi,%rax) */
	0x48, 0xff, 0xc1,			/* inc %rcx */
	0x4c, 0x39, 0xc9,			/* cmp %r9, %rcx */
	0x72, 0xed,				/* jb 1b */
	0xeb, 0xe6,				/* jmp 0b */
};

struct deleter {
	struct gm_vm *vm;
	useconds_t delay;
	int ret;
	_Atomic bool run_ended;
};

static void *delete_ram(void *arg)
{
	struct deleter *d = arg;
	struct gm_memslot del = { .slot = 1 };

	usleep(d->delay);
	d->ret = gm_vm_set_memslot(d->vm, &del);
	for (unsigned int us = 0; us < WATCHDOG_US && !atomic_load(&d->run_ended); us += 1000)
		usleep(1000);
	gm_vm_stop(d->vm);	/* vCPUs that did not leave by themselves */
	return NULL;
}

static void one_round(enum gm_engine_kind engine, unsigned int round)
{
	struct vmtest t;
	struct deleter d;
	pthread_t thread;
	struct gm_exit e[2];
	int ret;

	vmtest_create(&t, engine, RAM, true);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + GM_PAGE_SIZE,
						     RAM - GM_PAGE_SIZE, PRIVATE, 0), 0);
	vmtest_boot(&t, sweep_guest, sizeof(sweep_guest), 2, 0, 0);
	d = (struct deleter) { .vm = t.vm, .delay = (useconds_t)(round * 7919 % 20000) };
	assert_int_equal(pthread_create(&thread, NULL, delete_ram, &d), 0);
	ret = gm_vm_run(t.vm, NULL, e);
	atomic_store(&d.run_ended, true);
	pthread_join(thread, NULL);
	assert_int_equal(d.ret, 0);
	/* A memory-fault or error exit, or stopped: never a pass, never a crash. */
	if (ret != -EIO && ret != -EINTR)
		fail_msg("round %u: gm_vm_run %d", round, ret);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_delete_race(void **state)
{
	const char *env = getenv("GM_DELETE_RACE_ROUNDS");
	unsigned int rounds = env ? (unsigned int)atoi(env) : gm_test_in_lab() ? 30 : 300;

	for (unsigned int i = 0; i < rounds; i++)
		one_round(engine_arg, i);
	printf("  %s: %u deletions under running vCPUs\n", gm_test_engine_name(engine_arg),
	       rounds);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_delete_race) };

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
