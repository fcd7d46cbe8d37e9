/* SPDX-License-Identifier: MIT */
/*
 * Deleting a memslot under a running guest takes effect: a guest whose code
 * is in the boot slot counts in RAM (another slot), and once the host
 * deletes the boot slot the count stops growing, rather than the guest
 * running on from a cache.  How the vCPU then ends is the engine's, and
 * the kernel's:
 * - emu: its next block finds no slot: a memory-fault exit at the loop;
 * - kvm: the fetch finds no memslot and KVM cannot emulate it: an error
 *   exit (-EIO) at the loop (Linux 6.18, kvm_pvm); Linux 6.12 on SVM
 *   retries the faulting fetch inside KVM_RUN instead, so the vCPU stays
 *   there, making no progress, until gm_vm_stop() (-EINTR).
 * Either way the count must stand still.  A watchdog stops the run.
 */
#include <pthread.h>
#include <unistd.h>

#include "vmtest.h"

#define RUNNING_US	(20 * 1000 * 1000)	/* the guest must start counting by then */
#define SETTLE_US	(1000 * 1000)		/* a vCPU's way out of the deleted code */
#define STILL_US	(500 * 1000)		/* the count must not move meanwhile */

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static const uint8_t count_guest[] = {
	0x48, 0xff, 0x07,	/* 1: incq (%rdi) */
	0xeb, 0xfb,		/* jmp 1b */
};

struct deleter {
	struct vmtest *t;
	int failed;		/* 1: the guest never ran; 2: the delete failed */
	uint64_t after_delete, later;
};

static uint64_t count(struct vmtest *t)
{
	uint64_t n = 0;

	assert_int_equal(gm_pread(t->shared, &n, sizeof(n), 0), (ssize_t)sizeof(n));
	return n;
}

static void *delete_boot_slot(void *arg)
{
	struct deleter *d = arg;
	struct gm_memslot del = { .slot = 0 };
	uint64_t waited = 0;

	while (!count(d->t) && waited < RUNNING_US) {
		usleep(10 * 1000);
		waited += 10 * 1000;
	}
	if (!count(d->t))
		d->failed = 1;
	else if (gm_vm_set_memslot(d->t->vm, &del))
		d->failed = 2;
	usleep(SETTLE_US);
	d->after_delete = count(d->t);
	usleep(STILL_US);
	d->later = count(d->t);
	gm_vm_stop(d->t->vm);	/* where the vCPU did not leave by itself */
	return NULL;
}

static void delete_under_guest(enum gm_engine_kind engine)
{
	struct vmtest t;
	struct deleter d = { .t = &t };
	pthread_t thread;
	struct gm_exit e;
	int ret;

	vmtest_create(&t, engine, 2 * MiB, false);
	vmtest_boot(&t, count_guest, sizeof(count_guest), 1, 0, 0);
	assert_int_equal(pthread_create(&thread, NULL, delete_boot_slot, &d), 0);
	ret = gm_vm_run(t.vm, NULL, &e);
	pthread_join(thread, NULL);
	printf("  %s: run %d, exit reason %d, status %lld, rip %#llx, gpa %#llx; count %llu, "
	       "%llu later\n", gm_vm_engine_name(t.vm), ret, e.reason, (long long)e.status,
	       (unsigned long long)e.rip, (unsigned long long)e.fault.gpa,
	       (unsigned long long)d.after_delete, (unsigned long long)d.later);
	assert_int_equal(d.failed, 0);
	assert_true(d.after_delete > 0);
	assert_int_equal(d.later, d.after_delete);
	if (engine == GM_ENGINE_EMU) {
		assert_int_equal(ret, -EIO);
		assert_int_equal(e.reason, GM_EXIT_MEMORY_FAULT);
		assert_int_equal(e.fault.gpa, GM_GUEST_CODE_BASE);
	} else if (ret == -EIO) {
		assert_int_equal(e.reason, GM_EXIT_ERROR);
		assert_int_equal(e.status, -EIO);
	} else {
		assert_int_equal(ret, -EINTR);	/* stopped inside KVM's retries */
	}
	if (ret == -EIO)
		assert_true(e.rip == GM_GUEST_CODE_BASE || e.rip == GM_GUEST_CODE_BASE + 3);
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
