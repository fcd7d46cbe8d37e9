/* SPDX-License-Identifier: MIT */
/*
 * Live rounds, the pre-copy of live migration: the pattern guest's memory
 * is copied with GM_SNAPSHOT_LIVE while it runs and writes (round 0 starts
 * as it fills RAM), then round after round of what it dirtied, until a
 * round finds next to nothing; then the guest is stopped and a last DIFF holds
 * the rest and the vCPUs.  Restored in order onto a new VM, the streams
 * make a guest that finishes as if it had never moved: no mismatch, no
 * second start.  Private and shared RAM.
 *
 * Emulator only: this was written on a machine without /dev/kvm, where
 * the kvm engine's dirty log under a running guest could not be tried
 * (vm-dirty-log covers the log itself on both engines).
 */
#include <pthread.h>
#include <stdio.h>

#include "snaptest.h"

#define RAM		(16 * MiB)
#define DIRTY		37		/* pages the guest rewrites in step 2 */
#define CHECK_ROUNDS	40		/* the guest's step 3: it only reads */
#define MAX_ROUNDS	5000		/* 2 ms apart: 10 s */
#define ROUND_GAP_US	2000
#define FEW_PAGES	4

struct source {
	struct vmtest t;
	struct snaptest_run run;
	struct gm_exit e[2];
	int ret;
};

static void *run_thread(void *arg)
{
	struct source *s = arg;
	struct gm_vm_handlers h = { .opaque = &s->run, .progress = snaptest_progress };

	s->ret = gm_vm_run(s->t.vm, &h, s->e);
	return NULL;
}

static uint64_t pages_written(struct gm_vm *vm)
{
	struct gm_vm_stats st;

	gm_vm_get_stats(vm, &st);
	return st.snapshot_pages;
}

static void live_one(bool private)
{
	const uint64_t r8 = DIRTY | (uint64_t)CHECK_ROUNDS << 32;
	static int fds[MAX_ROUNDS + 1];
	unsigned int n = 0;
	uint64_t before, pages = 0, first_pages;
	struct source s = { 0 };
	struct gm_exit e[2];
	struct gm_vm_stats st;
	struct vmtest d;
	pthread_t thread;

	snaptest_vm(&s.t, GM_ENGINE_EMU, RAM, private, pattern_guest, pattern_guest_len, 2, r8);
	s.run.vm = s.t.vm;
	assert_int_equal(gm_vm_dirty_log_start(s.t.vm, 0), 0);
	assert_int_equal(gm_vm_dirty_log_start(s.t.vm, 1), 0);
	assert_int_equal(pthread_create(&thread, NULL, run_thread, &s), 0);

	/* Round 0: everything, as the guest fills RAM. */
	fds[n++] = snaptest_snapshot(s.t.vm, GM_SNAPSHOT_LIVE, NULL, 0, NULL);
	first_pages = pages_written(s.t.vm);
	/*
	 * Then what it dirtied, until it only reads and a round finds no more
	 * than its stack page and a few others.
	 */
	do {
		before = pages_written(s.t.vm);
		assert_true(n < MAX_ROUNDS);
		usleep(ROUND_GAP_US);
		fds[n++] = snaptest_snapshot(s.t.vm, GM_SNAPSHOT_LIVE | GM_SNAPSHOT_DIFF, NULL, 0,
					     NULL);
		pages = pages_written(s.t.vm) - before;
	} while (pages > FEW_PAGES || atomic_load(&s.run.phase) < 3);

	/* Stop and copy: the last round, vCPUs included. */
	gm_vm_stop(s.t.vm);
	assert_int_equal(pthread_join(thread, NULL), 0);
	before = pages_written(s.t.vm);
	fds[n++] = snaptest_snapshot(s.t.vm, GM_SNAPSHOT_DIFF, NULL, 0, NULL);
	printf("  emu, %s: %u rounds, %llu pages in round 0, %llu in the last, guest %s\n",
	       private ? "private" : "shared", n, (unsigned long long)first_pages,
	       (unsigned long long)(pages_written(s.t.vm) - before),
	       s.ret == -EINTR ? "stopped" : "ended first");
	vmtest_destroy(&s.t);

	snaptest_vm(&d, GM_ENGINE_EMU, RAM, private, pattern_guest, pattern_guest_len, 2, r8);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(gm_vm_restore(d.vm, fds[i], snap_key, 0, NULL, NULL), 0);
		close(fds[i]);
	}
	assert_int_equal(snaptest_run(&d, 0, e), 0);
	gm_vm_get_stats(d.vm, &st);
	assert_int_equal(e[0].reason, GM_EXIT_GUEST_EXIT);
	assert_int_equal(e[0].status, 0);
	assert_int_equal(st.report[GM_REPORT_MISMATCHES], 0);
	/* Resumed where it stood (or reported its end again): never started over. */
	assert_int_equal(st.report[GM_REPORT_VALUE], 0);
	vmtest_destroy(&d);
	gm_test_assert_no_frames();
}

static void test_live_private(void **state)
{
	gm_test_require_engine(GM_ENGINE_EMU);
	live_one(true);
}

static void test_live_shared(void **state)
{
	gm_test_require_engine(GM_ENGINE_EMU);
	live_one(false);
}

/* LIVE needs a booted VM; LIVE | DIFF needs the dirty log; a live stream holds no vCPU. */
static void test_live_misuse(void **state)
{
	struct vmtest t;
	int fd = snaptest_memfd();

	gm_test_require_engine(GM_ENGINE_EMU);
	vmtest_create(&t, GM_ENGINE_EMU, RAM, true);
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, GM_SNAPSHOT_LIVE, NULL, 0), -EINVAL);
	vmtest_boot(&t, pattern_guest, pattern_guest_len, 2, 0, 0);
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, GM_SNAPSHOT_LIVE | GM_SNAPSHOT_DIFF,
					NULL, 0), -EINVAL);
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, 0x80, NULL, 0), -EINVAL);
	/* Booted, not run: a live stream of it is whole, and restores as booted. */
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, GM_SNAPSHOT_LIVE, NULL, 0), 0);
	vmtest_destroy(&t);
	close(fd);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_private),
		cmocka_unit_test(test_live_shared),
		cmocka_unit_test(test_live_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
