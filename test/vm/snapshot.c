/* SPDX-License-Identifier: MIT */
/*
 * Sealed snapshots and restore, on the engine the argument names (the
 * pattern guest: snaptest.h).
 *
 * - resume: a guest stopped at a hypercall (kvm: an I/O exit not yet
 *   completed) and one stopped by a timer anywhere in its loop are
 *   snapshotted, restored eagerly and lazily into a fresh VM, and finish
 *   as if never stopped: no mismatch, no second start; a vCPU that had
 *   ended reports its exit again.
 * - sealed: the stream never holds the guest's private pattern, nor its
 *   shared one, in the clear.
 * - diff: after a restore, the guest dirties N pages; a diff snapshot
 *   holds about N pages, and the full snapshot then the diff restore a VM
 *   that finishes the run.
 * - misuse: the errors the header documents, an unseekable stream.
 * - punched: the host punches one page out of the private RAM the guest
 *   wrote (let in 2 MiB at a time); a snapshot keeps every other page: the
 *   restored guest finds that page's words, and only those, changed.
 */
#include <fcntl.h>

#include "snaptest.h"

#define RAM		(4 * MiB)
#define WORDS		(RAM / 8)
#define DIRTY		37			/* pages the guest dirties in step 2 */

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/* Rounds of checking: long enough for the timer to find the guest in them. */
static uint64_t rounds_for(enum gm_engine_kind engine)
{
	return engine == GM_ENGINE_KVM ? 200 : 25;
}

/* Restore @fd into a fresh VM like @engine's source, run it to the end, judge it. */
static void restore_and_finish(enum gm_engine_kind engine, int fd, bool private, bool lazy,
			       uint64_t r8, uint64_t size)
{
	struct gm_exit e[2];
	struct gm_vm_stats st;
	struct vmtest t;

	snaptest_vm(&t, engine, RAM, private, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(gm_vm_restore(t.vm, fd, snap_key, lazy ? GM_RESTORE_LAZY : 0, NULL,
				       NULL), 0);
	gm_vm_get_stats(t.vm, &st);
	if (lazy)	/* the index, not the pages */
		assert_true(st.restore_bytes_read < size / 4);
	assert_int_equal(snaptest_run(&t, 0, e), 0);
	gm_vm_get_stats(t.vm, &st);
	assert_int_equal(e[0].reason, GM_EXIT_GUEST_EXIT);
	assert_int_equal(e[0].status, 0);
	assert_int_equal(e[1].reason, GM_EXIT_GUEST_EXIT);	/* ended before: ends again */
	assert_int_equal(st.report[GM_REPORT_MISMATCHES], 0);
	assert_int_equal(st.report[GM_REPORT_VALUE], 0);	/* resumed, not started again */
	assert_true(st.restore_pages >= WORDS / 512);
	printf("  %s, %s, %s: %llu pages restored, %llu of %llu bytes read\n",
	       gm_vm_engine_name(t.vm), private ? "private" : "shared", lazy ? "lazy" : "eager",
	       (unsigned long long)st.restore_pages, (unsigned long long)st.restore_bytes_read,
	       (unsigned long long)size);
	vmtest_destroy(&t);
}

/* Stop @t's VM @ms after the guest starts step 3.  Returns gm_vm_run's result. */
struct timer {
	struct snaptest_run run;
	unsigned int ms;
};

static void *timer_thread(void *arg)
{
	struct timer *tm = arg;

	while (atomic_load(&tm->run.phase) < 3)
		usleep(1000);
	usleep(tm->ms * 1000);
	gm_vm_stop(tm->run.vm);
	return NULL;
}

static int run_with_timer(struct vmtest *t, unsigned int ms, struct gm_exit *e)
{
	struct timer tm = { .run = { .vm = t->vm }, .ms = ms };
	struct gm_vm_handlers h = { .opaque = &tm.run, .progress = snaptest_progress };
	pthread_t thread;
	int ret;

	assert_int_equal(pthread_create(&thread, NULL, timer_thread, &tm), 0);
	ret = gm_vm_run(t->vm, &h, e);
	atomic_store(&tm.run.phase, 3);	/* the thread ends even if step 3 never came */
	pthread_join(thread, NULL);
	return ret;
}

static void resume_one(enum gm_engine_kind engine, bool private, bool timer)
{
	uint64_t r8 = DIRTY | (timer ? rounds_for(engine) : 3) << 32, size;
	struct gm_exit e[2];
	struct vmtest t;
	int fd;

	snaptest_vm(&t, engine, RAM, private, pattern_guest, pattern_guest_len, 2, r8);
	/* At a hypercall (progress 4: after the first round), or anywhere in a round. */
	assert_int_equal(timer ? run_with_timer(&t, 5, e) : snaptest_run(&t, 4, e), -EINTR);
	assert_int_equal(e[0].reason, GM_EXIT_STOPPED);
	fd = snaptest_snapshot(t.vm, 0, NULL, 0, &size);
	vmtest_destroy(&t);
	restore_and_finish(engine, fd, private, false, r8, size);
	restore_and_finish(engine, fd, private, true, r8, size);
	close(fd);
	gm_test_assert_no_frames();
}

static void resume_on(enum gm_engine_kind engine)
{
	resume_one(engine, true, false);
	resume_one(engine, false, false);
	resume_one(engine, true, true);
}

static void test_resume(void **state)
{
	resume_on(engine_arg);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Does @buf hold, at any byte offset, a word of the pattern (every 61st, all over RAM)? */
static bool holds_pattern(const uint8_t *buf, uint64_t len)
{
	static uint64_t words[WORDS / 61 + 1];
	size_t n = 0;

	for (uint64_t i = 0; i < WORDS; i += 61)
		words[n++] = pattern(i);
	qsort(words, n, sizeof(words[0]), cmp_u64);
	for (uint64_t off = 0; off + 8 <= len; off++) {
		uint64_t word;

		memcpy(&word, buf + off, sizeof(word));
		if (bsearch(&word, words, n, sizeof(words[0]), cmp_u64))
			return true;
	}
	return false;
}

static void sealed_on(enum gm_engine_kind engine)
{
	for (int private = 1; private >= 0; private--) {
		uint64_t size, in_clear[WORDS / 61 + 1];
		struct gm_exit e[2];
		struct vmtest t;
		uint8_t *bytes;
		int fd;

		snaptest_vm(&t, engine, RAM, private, pattern_guest, pattern_guest_len, 2,
			    DIRTY | 1ULL << 32);
		assert_int_equal(snaptest_run(&t, 2, e), -EINTR);
		fd = snaptest_snapshot(t.vm, 0, NULL, 0, &size);
		bytes = snaptest_slurp(fd, &size);
		assert_true(size > RAM);	/* all of RAM is in it */
		assert_false(holds_pattern(bytes, size));
		/* The search finds the pattern where it is in the clear. */
		for (uint64_t k = 0; k < WORDS / 61 + 1; k++)
			in_clear[k] = pattern(k * 61);
		assert_true(holds_pattern((uint8_t *)in_clear, sizeof(in_clear)));
		free(bytes);
		close(fd);
		vmtest_destroy(&t);
	}
	gm_test_assert_no_frames();
}

static void test_sealed(void **state)
{
	sealed_on(engine_arg);
}

/* Page records in a stream: about its size over a record's (4 KiB + 48 bytes). */
static uint64_t pages_in(uint64_t size)
{
	return size / (GM_PAGE_SIZE + 48);
}

static void diff_on(enum gm_engine_kind engine)
{
	uint64_t r8 = DIRTY | 1ULL << 32, full_size, diff_size;
	struct gm_vm_stats st;
	struct gm_exit e[2];
	struct vmtest t;
	int full, diff;

	/* The base: stopped once all of RAM is written. */
	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(snaptest_run(&t, 1, e), -EINTR);
	full = snaptest_snapshot(t.vm, 0, NULL, 0, &full_size);
	vmtest_destroy(&t);

	/* Restored, logged, and stopped again once it dirtied DIRTY pages. */
	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(gm_vm_restore(t.vm, full, snap_key, 0, NULL, NULL), 0);
	assert_int_equal(gm_vm_snapshot(t.vm, full, snap_key, GM_SNAPSHOT_DIFF, NULL, 0), -EINVAL);
	assert_int_equal(gm_vm_dirty_log_start(t.vm, 0), 0);
	assert_int_equal(gm_vm_dirty_log_start(t.vm, 1), 0);
	assert_int_equal(snaptest_run(&t, 2, e), -EINTR);
	diff = snaptest_snapshot(t.vm, GM_SNAPSHOT_DIFF, NULL, 0, &diff_size);
	printf("  %s: full snapshot %llu bytes (~%llu pages), diff after %d dirtied pages "
	       "%llu bytes (~%llu pages)\n", gm_vm_engine_name(t.vm),
	       (unsigned long long)full_size, (unsigned long long)pages_in(full_size), DIRTY,
	       (unsigned long long)diff_size, (unsigned long long)pages_in(diff_size));
	/*
	 * RAM's pages and the boot slot's code page, and on AMD's nested paging
	 * (the KVM lab) the guest's page tables that map them: the CPU's walk
	 * of a guest table counts as a write to it (PML4, PDPT, one PD per GiB
	 * touched), give or take one.
	 */
	assert_true(pages_in(full_size) >= RAM / GM_PAGE_SIZE);
	assert_true(pages_in(diff_size) >= DIRTY && pages_in(diff_size) <= DIRTY + 6);
	/* The log was harvested: a second diff holds nothing written since. */
	close(snaptest_snapshot(t.vm, GM_SNAPSHOT_DIFF, NULL, 0, &diff_size));
	assert_true(pages_in(diff_size) == 0);
	vmtest_destroy(&t);

	/* The base, then the diff: the run finishes. */
	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(lseek(full, 0, SEEK_SET), 0);
	assert_int_equal(gm_vm_restore(t.vm, full, snap_key, 0, NULL, NULL), 0);
	assert_int_equal(gm_vm_restore(t.vm, diff, snap_key, 0, NULL, NULL), 0);
	assert_int_equal(snaptest_run(&t, 0, e), 0);
	gm_vm_get_stats(t.vm, &st);
	assert_int_equal(e[0].status, 0);
	assert_int_equal(st.report[GM_REPORT_MISMATCHES], 0);
	assert_int_equal(st.report[GM_REPORT_VALUE], 0);
	vmtest_destroy(&t);
	close(full);
	close(diff);
	gm_test_assert_no_frames();
}

static void test_diff(void **state)
{
	diff_on(engine_arg);
}

struct feeder {
	const uint8_t *buf;
	uint64_t len;
	int fd;
};

static void *feed_pipe(void *arg)
{
	struct feeder *f = arg;
	uint64_t done = 0;

	while (done < f->len) {
		ssize_t n = write(f->fd, f->buf + done, f->len - done);

		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	close(f->fd);
	return NULL;
}

/* Restore from a pipe: eager copies it, lazy cannot. */
static void restore_from_pipe(enum gm_engine_kind engine, int fd, uint64_t r8)
{
	struct feeder f;
	struct gm_exit e[2];
	struct vmtest t;
	pthread_t thread;
	uint64_t size;
	int pipefd[2];
	uint8_t *bytes = snaptest_slurp(fd, &size);

	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(gm_vm_restore(t.vm, pipefd[0], snap_key, GM_RESTORE_LAZY, NULL, NULL),
			 -ESPIPE);
	f = (struct feeder){ .buf = bytes, .len = size, .fd = pipefd[1] };
	assert_int_equal(pthread_create(&thread, NULL, feed_pipe, &f), 0);
	assert_int_equal(gm_vm_restore(t.vm, pipefd[0], snap_key, 0, NULL, NULL), 0);
	pthread_join(thread, NULL);
	close(pipefd[0]);
	assert_int_equal(snaptest_run(&t, 0, e), 0);
	vmtest_destroy(&t);
	free(bytes);
}

static void misuse_on(enum gm_engine_kind engine)
{
	static const char app[] = "the run's configuration";
	uint64_t r8 = DIRTY | 1ULL << 32;
	char back[sizeof(app)];
	size_t len = sizeof(back);
	struct vmtest t, other;
	struct gm_exit e[2];
	int fd;

	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	fd = snaptest_memfd();
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, 0, NULL, 0), -EINVAL);	/* not run */
	assert_int_equal(gm_vm_snapshot(NULL, fd, snap_key, 0, NULL, 0), -EFAULT);
	assert_int_equal(gm_vm_snapshot(t.vm, fd, NULL, 0, NULL, 0), -EFAULT);
	assert_int_equal(gm_vm_snapshot(t.vm, -1, snap_key, 0, NULL, 0), -EINVAL);
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, 0x80, NULL, 0), -EINVAL);
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, 0, NULL, 1), -EFAULT);
	assert_int_equal(gm_vm_snapshot(t.vm, fd, snap_key, 0, app, GM_SNAPSHOT_APP_MAX + 1),
			 -EINVAL);
	close(fd);
	assert_int_equal(snaptest_run(&t, 2, e), -EINTR);
	fd = snaptest_snapshot(t.vm, 0, app, sizeof(app), NULL);
	/* The caller's bytes, before any VM exists; too small a buffer says how much. */
	len = 3;
	assert_int_equal(gm_snapshot_app(fd, snap_key, back, &len), -ENOBUFS);
	assert_int_equal(len, sizeof(app));
	assert_int_equal(gm_snapshot_app(fd, snap_key, back, &len), 0);
	assert_string_equal(back, app);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);	/* not moved */
	/* A VM that ran takes no restore; one of another size neither. */
	assert_int_equal(gm_vm_restore(t.vm, fd, snap_key, 0, NULL, NULL), -EINVAL);
	snaptest_vm(&other, engine, 2 * RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(gm_vm_restore(other.vm, fd, snap_key, 0, NULL, NULL), -EINVAL);
	assert_int_equal(gm_vm_restore(other.vm, fd, snap_key, 2, NULL, NULL), -EINVAL);
	assert_int_equal(gm_vm_restore(other.vm, fd, NULL, 0, NULL, NULL), -EFAULT);
	assert_int_equal(gm_vm_restore(other.vm, fd, snap_key, 0, back, NULL), -EFAULT);
	vmtest_destroy(&other);
	/* The app buffer too small: refused before anything is applied. */
	snaptest_vm(&other, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	len = 3;
	assert_int_equal(gm_vm_restore(other.vm, fd, snap_key, 0, back, &len), -ENOBUFS);
	len = sizeof(back);
	assert_int_equal(gm_vm_restore(other.vm, fd, snap_key, GM_RESTORE_LAZY, back, &len), 0);
	assert_string_equal(back, app);
	/* A lazy restore under way takes no other. */
	assert_int_equal(gm_vm_restore(other.vm, fd, snap_key, 0, NULL, NULL), -EBUSY);
	vmtest_destroy(&other);
	restore_from_pipe(engine, fd, r8);
	close(fd);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_misuse(void **state)
{
	misuse_on(engine_arg);
}

#define PUNCHED		700	/* a page inside the second 2 MiB, past the DIRTY ones */

static void punched_on(enum gm_engine_kind engine)
{
	uint64_t r8 = DIRTY | 1ULL << 32, size;
	struct gm_vm_stats st;
	struct gm_exit e[2];
	struct vmtest t;
	int fd;

	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(snaptest_run(&t, 2, e), -EINTR);
	assert_int_equal(gm_fallocate(t.private, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE,
				      PUNCHED * GM_PAGE_SIZE, GM_PAGE_SIZE), 0);
	fd = snaptest_snapshot(t.vm, 0, NULL, 0, &size);
	vmtest_destroy(&t);

	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, r8);
	assert_int_equal(gm_vm_restore(t.vm, fd, snap_key, 0, NULL, NULL), 0);
	assert_int_equal(snaptest_run(&t, 0, e), 0);
	gm_vm_get_stats(t.vm, &st);
	assert_int_equal(e[0].reason, GM_EXIT_GUEST_EXIT);
	assert_int_equal(st.report[GM_REPORT_MISMATCHES], GM_PAGE_SIZE / 8);
	vmtest_destroy(&t);
	close(fd);
	gm_test_assert_no_frames();
}

static void test_punched(void **state)
{
	punched_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_sealed),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_punched),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
