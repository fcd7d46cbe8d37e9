/* SPDX-License-Identifier: MIT */
/*
 * Deleting a memslot under a running guest takes effect: a guest spinning
 * in `jmp .` in the boot slot stops by itself once the host deletes that
 * slot, rather than running on from a cache.  On the emulator its next
 * block finds no slot: a memory-fault exit at the spinning instruction.  On
 * kvm the page tables go with the boot slot, so the next fetch's page walk
 * fails and the guest shuts down (triple fault): an error exit.  A
 * watchdog stops the run after a few seconds so that a failure cannot hang.
 */
#include <pthread.h>
#include <unistd.h>

#include "vmtest.h"

#define SPIN_US		(100 * 1000)
#define GIVE_UP_US	(5 * 1000 * 1000)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static const uint8_t spin_guest[] = { 0xeb, 0xfe };	/* 1: jmp 1b */

static void *delete_boot_slot(void *arg)
{
	struct gm_memslot del = { .slot = 0 };
	struct gm_vm *vm = arg;

	usleep(SPIN_US);
	if (gm_vm_set_memslot(vm, &del))
		return (void *)1;
	usleep(GIVE_UP_US);
	gm_vm_stop(vm);	/* only if the guest did not notice */
	return NULL;
}

static void delete_under_guest(enum gm_engine_kind engine)
{
	pthread_t thread;
	struct vmtest t;
	struct gm_exit e;
	void *deleted;

	vmtest_create(&t, engine, 2 * MiB, false);
	vmtest_boot(&t, spin_guest, sizeof(spin_guest), 1, 0, 0);
	assert_int_equal(pthread_create(&thread, NULL, delete_boot_slot, t.vm), 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, &e), -EIO);
	pthread_cancel(thread);
	pthread_join(thread, &deleted);
	printf("  %s: exit reason %d, status %lld, rip %#llx, gpa %#llx\n",
	       gm_vm_engine_name(t.vm), e.reason, (long long)e.status, (unsigned long long)e.rip,
	       (unsigned long long)e.fault.gpa);
	assert_int_equal(e.rip, GM_GUEST_CODE_BASE);
	if (engine == GM_ENGINE_KVM) {
		assert_int_equal(e.reason, GM_EXIT_ERROR);
		assert_int_equal(e.status, -EIO);
	} else {
		assert_int_equal(e.reason, GM_EXIT_MEMORY_FAULT);
		assert_int_equal(e.fault.gpa, GM_GUEST_CODE_BASE);
	}
	vmtest_destroy(&t);
}

static void test_delete_under_guest(void **state)
{
	delete_under_guest(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_delete_under_guest) };

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
