/* SPDX-License-Identifier: MIT */
/*
 * Punched pages leave every window by the time the call returns.  A guest
 * touches all of its private RAM, then waits (the fault path may still pin
 * the page it let in last: the punch waits for that pin); the host punches
 * half of the private file, truncates a quarter off its end, and looks at
 * the private window with mincore(): no punched or truncated page may still
 * be there, and every other page must be.  Then the guest touches
 * everything again and finds each page either zero or what it wrote.  A
 * conversion to private likewise empties the shared window.
 *
 * And a private slot's host window stays a few host mappings where its
 * frames are contiguous, never one per page: a guest touches all 8 MiB of
 * private RAM, and while the VM is alive the lines of /proc/self/maps inside
 * the window are counted.  A 4 KiB hole punched in the middle splits at most
 * one mapping.
 *
 * On the engine the argument names.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm-internal.h"
#include "vmtest.h"
#include "vm-test.h"

#define RAM		(16 * MiB)
#define WIN_SIZE	(8 * MiB)
#define WAIT_LIMIT_US	(60 * 1000 * 1000)

/* rdi = RAM base, rsi = size: write each page's address, mailbox = 1, wait for 2, check and write again. */
static const uint8_t guest[] = {
	0x48, 0x89, 0xfb,			/* mov %rdi, %rbx */
	0x48, 0x89, 0xf5,			/* mov %rsi, %rbp */
	0x4d, 0x31, 0xf6,			/* xor %r14, %r14 */
	0x4e, 0x8d, 0x3c, 0x33,			/* 1: lea (%rbx,%r14), %r15 */
	0x4d, 0x89, 0x3f,			/* mov %r15, (%r15) */
	0x49, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add $0x1000, %r14 */
	0x49, 0x39, 0xee,			/* cmp %rbp, %r14 */
	0x72, 0xed,				/* jb 1b */
	0xb8, 0x01, 0x00, 0x00, 0x00,		/* mov $GM_MAILBOX_TOUCHED, %eax */
	0x48, 0x89, 0x04, 0x25, 0x00, 0x08, 0x00, 0x00, /* mov %rax, GM_GUEST_MAILBOX */
	0x48, 0x83, 0x3c, 0x25, 0x00, 0x08, 0x00, 0x00, 0x02, /* 2: cmpq $2, GM_GUEST_MAILBOX */
	0x75, 0xf5,				/* jne 2b */
	0x4d, 0x31, 0xf6,			/* xor %r14, %r14 */
	0x4d, 0x31, 0xd2,			/* xor %r10, %r10: mismatches */
	0x4e, 0x8d, 0x3c, 0x33,			/* 3: lea (%rbx,%r14), %r15 */
	0x49, 0x8b, 0x07,			/* mov (%r15), %rax */
	0x48, 0x85, 0xc0,			/* test %rax, %rax */
	0x74, 0x08,				/* jz 4f */
	0x4c, 0x39, 0xf8,			/* cmp %r15, %rax */
	0x74, 0x03,				/* je 4f */
	0x49, 0xff, 0xc2,			/* inc %r10 */
	0x4d, 0x89, 0x3f,			/* 4: mov %r15, (%r15) */
	0x49, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add $0x1000, %r14 */
	0x49, 0x39, 0xee,			/* cmp %rbp, %r14 */
	0x72, 0xdd,				/* jb 3b */
	0xbf, 0x01, 0x00, 0x00, 0x00,		/* mov $GM_REPORT_MISMATCHES, %edi */
	0x4c, 0x89, 0xd6,			/* mov %r10, %rsi */
	0xb8, 0x04, 0x00, 0x00, 0x00,		/* mov $GM_HC_REPORT, %eax */
	0xe7, 0xe0,				/* out %eax, $GM_HC_PORT */
	GUEST_EXIT_OK,
};

struct host {
	struct vmtest *t;
	uint8_t *window;		/* the RAM slot's private window */
	int failed;			/* 0, or the line of the first failed check */
};

/* Pages of [first, end) resident in @win: all (want 1) or none (want 0)? */
static bool window_pages_are(const uint8_t *win, uint64_t first, uint64_t end, int want)
{
	unsigned char vec[RAM / 4096];

	if (mincore((void *)(win + first * GM_PAGE_SIZE), (end - first) * GM_PAGE_SIZE, vec))
		return false;
	for (uint64_t i = 0; i < end - first; i++)
		if ((vec[i] & 1) != want)
			return false;
	return true;
}

static int wait_mailbox(struct gm_vm *vm, uint64_t want)
{
	uint64_t v = 0;

	for (long us = 0; us < WAIT_LIMIT_US; us += 100) {
		if (gm_vm_read_shared(vm, GM_GUEST_MAILBOX, &v, sizeof(v)))
			return -EIO;
		if (v == want)
			return 0;
		usleep(100);
	}
	return -ETIMEDOUT;
}

#define CHECK(h, cond) do { if (!(cond) && !(h)->failed) (h)->failed = __LINE__; } while (0)

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

static void *host_thread(void *arg)
{
	struct host *h = arg;
	struct gm_file *f = h->t->private;
	const uint64_t pages = RAM / GM_PAGE_SIZE;
	uint64_t punched = 2;

	CHECK(h, wait_mailbox(h->t->vm, GM_MAILBOX_TOUCHED) == 0);
	CHECK(h, window_pages_are(h->window, 0, pages, 1));
	/* Punch the first half: gone from the window when the call returns. */
	CHECK(h, gm_fallocate(f, PUNCH, 0, RAM / 2) == 0);
	CHECK(h, window_pages_are(h->window, 0, pages / 2, 0));
	CHECK(h, window_pages_are(h->window, pages / 2, pages * 3 / 4, 1));
	/* Truncate the last quarter off, then give the file its size back. */
	CHECK(h, gm_ftruncate(f, RAM * 3 / 4) == 0);
	CHECK(h, window_pages_are(h->window, pages * 3 / 4, pages, 0));
	CHECK(h, window_pages_are(h->window, pages / 2, pages * 3 / 4, 1));
	CHECK(h, gm_ftruncate(f, RAM) == 0);
	CHECK(h, gm_vm_write_shared(h->t->vm, GM_GUEST_MAILBOX, &punched, sizeof(punched)) == 0);
	return NULL;
}

static void punch_under_guest(enum gm_engine_kind engine)
{
	struct gm_vm_stats s;
	struct vmtest t;
	struct gm_exit e;
	struct host h = { .t = &t };
	pthread_t thread;

	vmtest_create(&t, engine, RAM, true);
	h.window = t.vm->slots[1].private_win;
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, RAM, PRIVATE, 0), 0);
	vmtest_boot(&t, guest, sizeof(guest), 1, 0, 0);
	assert_int_equal(pthread_create(&thread, NULL, host_thread, &h), 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, &e), 0);
	pthread_join(thread, NULL);
	if (h.failed)
		fail_msg("%s: check at line %d failed", gm_vm_engine_name(t.vm), h.failed);
	gm_vm_get_stats(t.vm, &s);
	assert_int_equal(s.report[GM_REPORT_MISMATCHES], 0);
	assert_true(s.invalidations >= 2);
	/* The guest's second pass let every page back in. */
	assert_true(window_pages_are(h.window, 0, RAM / GM_PAGE_SIZE, 1));
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

/* Converting to private punches the shared side: its window shows nothing there. */
static void convert_empties_shared(enum gm_engine_kind engine)
{
	static uint8_t bytes[RAM / 2];
	struct vmtest t;
	uint8_t *shared;

	vmtest_create(&t, engine, RAM, true);
	shared = t.vm->slots[1].shared_win;
	memset(bytes, 0x5a, sizeof(bytes));
	assert_int_equal(gm_vm_write_shared(t.vm, GM_GUEST_RAM_BASE, bytes, sizeof(bytes)), 0);
	assert_true(window_pages_are(shared, 0, RAM / 2 / GM_PAGE_SIZE, 1));
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, RAM / 4, PRIVATE, 0), 0);
	assert_true(window_pages_are(shared, 0, RAM / 4 / GM_PAGE_SIZE, 0));
	assert_true(window_pages_are(shared, RAM / 4 / GM_PAGE_SIZE, RAM / 2 / GM_PAGE_SIZE, 1));
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_punch_under_guest(void **state)
{
	punch_under_guest(engine_arg);
}

static void test_convert_empties_shared(void **state)
{
	convert_empties_shared(engine_arg);
}

/* Mappings in /proc/self/maps that overlap [start, end). */
static unsigned int count_mappings(uintptr_t start, uintptr_t end)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < end && start < hi)
			n++;
	}
	fclose(f);
	return n;
}

static void test_window_runs(void **state)
{
	uint64_t go = GM_MAILBOX_PUNCHED;
	struct gm_exit exits[1];
	struct gm_vm_stats s;
	struct vmtest t;
	uintptr_t win;
	unsigned int whole, holed;

	vmtest_create(&t, engine_arg, WIN_SIZE, true);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, WIN_SIZE,
						     PRIVATE, 0), 0);
	/*
	 * One round of race_guest, read then write every page privately: the
	 * mailbox already says go, so it stops after its first round.
	 */
	vmtest_boot(&t, race_guest, race_guest_len, 1, 0, 0);
	assert_int_equal(gm_vm_write_shared(t.vm, GM_GUEST_MAILBOX, &go, sizeof(go)), 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, exits), 0);
	assert_int_equal(exits[0].status, 0);
	gm_vm_get_stats(t.vm, &s);
	assert_int_equal(s.frames_mapped, WIN_SIZE / GM_PAGE_SIZE);

	win = (uintptr_t)t.vm->slots[1].private_win;
	assert_true(win != 0);
	whole = count_mappings(win, win + WIN_SIZE);
	printf("window %#lx: %u mappings for %llu pages (faults 4k %llu, 2m %llu)\n",
	       (unsigned long)win, whole, (unsigned long long)(WIN_SIZE / GM_PAGE_SIZE),
	       (unsigned long long)s.faults[GM_LEVEL_4K], (unsigned long long)s.faults[GM_LEVEL_2M]);
	/* At most one per 2 MiB run of frames. */
	assert_true(whole >= 1);
	assert_true(whole <= WIN_SIZE / (2 * MiB));

	/* A hole in the middle: the window loses that page, the rest stays whole. */
	assert_int_equal(gm_fallocate(t.private, PUNCH, 3 * MiB, GM_PAGE_SIZE), 0);
	assert_int_equal(gm_vm_check_stage2(t.vm), 0);
	holed = count_mappings(win, win + WIN_SIZE);
	printf("after a 4 KiB punch: %u mappings\n", holed);
	assert_true(holed <= whole + 2 + 2);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_punch_under_guest),
		cmocka_unit_test(test_convert_empties_shared),
		cmocka_unit_test(test_window_runs),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
