// SPDX-License-Identifier: MIT
/*
 * vCPUs fault private pages in a loop (the race guest: vmtest.h) while a
 * host thread punches 4 KiB and 2 MiB holes in the private file and
 * converts ranges to shared and back, on the engine the argument names.
 * The host lets the guest finish only after its share of operations, so the
 * race happens however the threads are scheduled.
 *
 * Properties checked:
 *  - the guest never reads data from a frame it should no longer see: each
 *    page it reads holds either zero (freshly faulted after a punch or a
 *    conversion) or the page's own address, which it wrote there; on
 *    anything else the guest stops, reporting the value and the page;
 *  - the stage-2 map never points at a frame the file no longer holds:
 *    gm_vm_check_stage2() after every host operation, and at the end;
 *  - no frame is left in use once the VM and its files are gone.
 * The race must really happen: invalidations > 0 (retries are counted and
 * printed; they depend on timing).
 *
 * In the 'concurrency' suite, so CI also runs it under ThreadSanitizer:
 * sizes stay small, as TSan slows the emulator a lot.  On kvm, real vCPUs
 * fault (MMIO exits or KVM_EXIT_MEMORY_FAULT); RAM stays small there too, as
 * guest memory accesses are slow on nested KVM.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "runner.h"
#include "kvm-engine.h"
#include "vmtest.h"
#include "vm-test.h"

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

struct race_host {
	struct gm_vm *vm;
	struct gm_file *private;
	uint64_t mem;
	bool convert;			/* also convert (needs a memory-fault handler) */
	_Atomic bool *stop;
	unsigned int seed;
	uint64_t release_after;		/* set the guest's mailbox after this many ops (0: never) */
	bool released;			/* it is set */
	/* results */
	uint64_t ops, punches_4k, punches_2m, conversions;
	int failed_op;			/* first failure: 0, or a negative errno */
	const char *failed_what;
};

static void race_fail(struct race_host *h, const char *what, int ret)
{
	if (!h->failed_op) {
		h->failed_op = ret ? ret : -EUCLEAN;
		h->failed_what = what;
	}
}

/* One host operation on a random range, then the stage-2 check. */
static void race_host_op(struct race_host *h)
{
	unsigned int r = (unsigned int)rand_r(&h->seed);
	bool huge = (r & 3) == 0 && h->mem >= 2 * MiB;
	uint64_t len = huge ? 2 * MiB : GM_PAGE_SIZE;
	uint64_t off = ((uint64_t)rand_r(&h->seed) % (h->mem / len)) * len;
	int ret;

	if (h->convert && (r & 4)) {
		ret = gm_vm_set_memory_attributes(h->vm, GM_GUEST_RAM_BASE + off, len, 0, 0);
		if (ret)
			race_fail(h, "convert to shared", ret);
		ret = gm_vm_set_memory_attributes(h->vm, GM_GUEST_RAM_BASE + off, len, PRIVATE, 0);
		if (ret)
			race_fail(h, "convert to private", ret);
		h->conversions++;
	} else {
		ret = gm_fallocate(h->private, PUNCH, (off_t)off, (off_t)len);
		if (ret)
			race_fail(h, "punch", ret);
		if (huge)
			h->punches_2m++;
		else
			h->punches_4k++;
	}
	if (gm_vm_check_stage2(h->vm))
		race_fail(h, "gm_vm_check_stage2", -EUCLEAN);
	h->ops++;
}

/*
 * Release the guest once the host has made its operations and some of them
 * met pages the guest had let in: on a loaded machine the guest may not
 * have run at all yet.  Bounded: past 50 times the operations it goes
 * anyway, and the test's check of the invalidations says what happened.
 */
static bool race_may_release(struct race_host *h)
{
	struct gm_vm_stats s;

	if (!h->release_after || h->released || h->ops < h->release_after)
		return false;
	gm_vm_get_stats(h->vm, &s);
	return s.invalidations > 0 || h->ops >= 50 * h->release_after;
}

static void race_host_loop(struct race_host *h)
{
	while (!atomic_load(h->stop)) {
		race_host_op(h);
		if (race_may_release(h)) {
			uint64_t go = GM_MAILBOX_PUNCHED;

			if (gm_vm_write_shared(h->vm, GM_GUEST_MAILBOX, &go, sizeof(go)))
				race_fail(h, "setting the mailbox", -EIO);
			h->released = true;
		}
		/* Let the guest make progress between operations. */
		if (h->ops % 4 == 0)
			sched_yield();
	}
}

static void *race_host_thread(void *arg)
{
	race_host_loop(arg);
	return NULL;
}

/* The host may have made a page shared under the guest: make it private again. */
static int race_on_fault(void *opaque, struct gm_vm *vm, unsigned int vcpu,
			 const struct gm_exit *e)
{
	if (!e->fault.private || e->fault.gpa < GM_GUEST_RAM_BASE)
		return -EIO;
	return gm_vm_set_memory_attributes(vm, e->fault.gpa, GM_PAGE_SIZE, PRIVATE, 0);
}

static void race_report(const char *name, const struct race_host *h,
			const struct gm_vm_stats *s)
{
	printf("%s: host ops %" PRIu64 " (punch 4k %" PRIu64 ", punch 2m %" PRIu64
	       ", convert %" PRIu64 "); vm: invalidations %" PRIu64 ", retries %" PRIu64
	       ", conversions %" PRIu64 ", memory-fault exits %" PRIu64 ", faults 4k %" PRIu64
	       " 2m %" PRIu64 ", mmio %" PRIu64 "\n", name, h->ops, h->punches_4k,
	       h->punches_2m, h->conversions, s->invalidations, s->retries, s->conversions,
	       s->memory_fault_exits, s->faults[GM_LEVEL_4K], s->faults[GM_LEVEL_2M],
	       s->mmio_completions);
}

/*
 * The hand-built VM: @vcpus run race_guest over @mem of private RAM while
 * the host thread punches and converts, @ops operations before it lets the
 * guest finish; kvm guests at privilege level @cpl (-1: the default).
 */
static void race_by_hand(enum gm_engine_kind engine, uint64_t mem, unsigned int vcpus,
			 uint64_t ops, unsigned int seed, int cpl)
{
	struct gm_vm_handlers handlers = { .memory_fault = race_on_fault };
	struct gm_exit exits[GM_GUEST_MAX_VCPUS];
	_Atomic bool stop = false;
	struct race_host h = { .mem = mem, .convert = true, .stop = &stop, .seed = seed,
			       .release_after = ops };
	struct gm_vm_stats s;
	struct vmtest t;
	pthread_t thread;
	int ret;

	vmtest_create(&t, engine, mem, true);
	/* kvm: the guest's privilege level picks the engine's fault path (-1: default). */
	if (cpl >= 0)
		assert_int_equal(gm_kvm_set_guest_cpl(t.vm, (unsigned int)cpl), 0);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, mem, PRIVATE, 0), 0);
	vmtest_boot(&t, race_guest, race_guest_len, vcpus, 0, 0);
	h.vm = t.vm;
	h.private = t.private;
	assert_int_equal(pthread_create(&thread, NULL, race_host_thread, &h), 0);
	ret = gm_vm_run(t.vm, &handlers, exits);
	atomic_store(&stop, true);
	pthread_join(thread, NULL);
	gm_vm_get_stats(t.vm, &s);
	race_report("by hand", &h, &s);
	if (ret)
		fail_msg("gm_vm_run: %d (vCPU 0 exit %d status %" PRId64 ")", ret, exits[0].reason,
			 exits[0].status);
	if (h.failed_op)
		fail_msg("host: %s failed: %d", h.failed_what, h.failed_op);
	for (unsigned int i = 0; i < vcpus; i++)
		if (exits[i].status)
			fail_msg("vCPU %u found stale data in the page at %#" PRIx64
				 " (expected 0 or the page's address; values read, summed"
				 " over vCPUs: %#" PRIx64 ")", i, (uint64_t)exits[i].status,
				 s.report[GM_REPORT_VALUE]);
	assert_int_equal(gm_vm_check_stage2(t.vm), 0);
	assert_true(h.ops >= ops);
	assert_true(s.invalidations > 0);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

/* ---- the same race through gm_run's host_thread hook ---- */

struct race_run {
	unsigned int seed;
	struct race_host total;
};

static void race_run_host(void *opaque, struct gm_vm *vm, struct gm_file *private_file,
			  uint64_t ram_gpa, uint64_t mem, _Atomic bool *stop)
{
	struct race_run *rr = opaque;
	/* touch faults private pages and never converts: punch only. */
	struct race_host h = { .vm = vm, .private = private_file, .mem = mem, .stop = stop,
			       .seed = rr->seed++ };

	race_host_loop(&h);
	rr->total.ops += h.ops;
	rr->total.punches_4k += h.punches_4k;
	rr->total.punches_2m += h.punches_2m;
	if (h.failed_op)
		race_fail(&rr->total, h.failed_what, h.failed_op);
}

/* @rounds runs of the touch workload on private RAM, the host punching beneath. */
static void race_through_runner(enum gm_engine_kind engine, uint64_t mem,
				unsigned int vcpus, unsigned int rounds)
{
	struct race_run rr = { .seed = 1 };
	struct gm_run_config cfg = {
		.engine = engine, .store = GM_RUN_SHMEM, .mem = mem, .vcpus = vcpus,
		.workload = "touch", .private = true, .host_thread = race_run_host, .opaque = &rr,
	};
	struct gm_vm_stats sum = { 0 };
	struct gm_run_result r;

	for (unsigned int i = 0; i < rounds; i++) {
		assert_int_equal(gm_run(&cfg, &r), 0);
		if (!r.pass)
			fail_msg("round %u: %s", i, r.message);
		assert_int_equal(r.frames_end, 0);
		sum.invalidations += r.stats.invalidations;
		sum.retries += r.stats.retries;
		sum.faults[GM_LEVEL_4K] += r.stats.faults[GM_LEVEL_4K];
		sum.faults[GM_LEVEL_2M] += r.stats.faults[GM_LEVEL_2M];
		sum.mmio_completions += r.stats.mmio_completions;
	}
	race_report("gm_run touch", &rr.total, &sum);
	if (rr.total.failed_op)
		fail_msg("host: %s failed: %d", rr.total.failed_what, rr.total.failed_op);
	assert_true(rr.total.ops > 0);
	gm_test_assert_no_frames();
}

static void test_race_by_hand_1vcpu(void **state)
{
	race_by_hand(engine_arg, 4 * MiB, 1, 300, 1, -1);
}

static void test_race_by_hand_2vcpus(void **state)
{
	race_by_hand(engine_arg, 4 * MiB, 2, 300, 2, -1);
}

/* At CPL 0 this KVM reports empty windows as MMIO exits: the other fault path. */
static void test_race_by_hand_cpl0(void **state)
{
	race_by_hand(engine_arg, 4 * MiB, 2, 100, 3, 0);
}

static void test_race_through_runner(void **state)
{
	race_through_runner(engine_arg, 4 * MiB, 2, 20);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest emu_tests[] = {
		cmocka_unit_test(test_race_by_hand_1vcpu),
		cmocka_unit_test(test_race_by_hand_2vcpus),
		cmocka_unit_test(test_race_through_runner),
	};
	/* The guest's privilege level is a kvm setting: emu has one fault path. */
	const struct CMUnitTest kvm_tests[] = {
		cmocka_unit_test(test_race_by_hand_1vcpu),
		cmocka_unit_test(test_race_by_hand_2vcpus),
		cmocka_unit_test(test_race_by_hand_cpl0),
		cmocka_unit_test(test_race_through_runner),
	};

	engine_arg = gm_test_engine(argc, argv);
	if (engine_arg == GM_ENGINE_KVM)
		return cmocka_run_group_tests(kvm_tests, NULL, NULL);
	return cmocka_run_group_tests(emu_tests, NULL, NULL);
}
