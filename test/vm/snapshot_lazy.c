/* SPDX-License-Identifier: MIT */
/*
 * A lazy restore reads what the guest reaches, on the engine the argument
 * names: a 1 GiB guest writes every page of its private RAM and is
 * snapshotted; a VM restored lazily from it runs a guest that checks 1% of
 * the pages and finishes having read about that much of the stream (the
 * pages come in 2 MiB let-ins, and the prefault thread reads a few ranges
 * ahead).
 */
#include "snaptest.h"

#define RAM		(1024 * MiB)
#define PAGES		(RAM / GM_PAGE_SIZE)
#define TOUCHED		(PAGES / 100)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static void lazy_on(enum gm_engine_kind engine)
{
	struct gm_vm_stats st;
	struct gm_exit e;
	struct vmtest t;
	uint64_t size, before;
	int fd;

	snaptest_vm(&t, engine, RAM, true, sparse_guest, sparse_guest_len, 1, TOUCHED);
	assert_int_equal(snaptest_run(&t, 1, &e), -EINTR);
	fd = snaptest_snapshot(t.vm, 0, NULL, 0, &size);
	vmtest_destroy(&t);
	assert_true(size > RAM);

	snaptest_vm(&t, engine, RAM, true, sparse_guest, sparse_guest_len, 1, TOUCHED);
	assert_int_equal(gm_vm_restore(t.vm, fd, snap_key, GM_RESTORE_LAZY, NULL, NULL), 0);
	gm_vm_get_stats(t.vm, &st);
	before = st.restore_bytes_read;
	assert_int_equal(snaptest_run(&t, 0, &e), 0);
	gm_vm_get_stats(t.vm, &st);
	assert_int_equal(e.status, 0);
	assert_int_equal(st.report[GM_REPORT_MISMATCHES], 0);
	printf("  %s: snapshot %llu MiB; restore read %llu KiB before the run, %.2f%% of the "
	       "stream by its end (the guest checked 1%% of its pages), %llu pages filled\n",
	       gm_vm_engine_name(t.vm), (unsigned long long)(size >> 20),
	       (unsigned long long)(before >> 10), 100.0 * (double)st.restore_bytes_read / (double)size,
	       (unsigned long long)st.restore_pages);
	assert_true(st.restore_bytes_read >= size / 100);
	assert_true(st.restore_bytes_read <= size / 100 * 3);
	vmtest_destroy(&t);
	close(fd);
	gm_test_assert_no_frames();
}

static void test_lazy_reads_what_is_touched(void **state)
{
	lazy_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_reads_what_is_touched),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
