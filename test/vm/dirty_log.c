/* SPDX-License-Identifier: MIT */
/*
 * Dirty logging, on the engine named by the program's argument.
 *
 * - precopy: a guest writes every page of its RAM again and again while the
 *   host harvests the dirty log and copies the pages it names, round after
 *   round, as a live migration's pre-copy does.  After the guest stops, one
 *   last round; then the copy must equal memory page for page: a page
 *   written while it was being copied was reported again.
 * - private: pages the guest writes through the private alias are logged
 *   too (guest_memfd cannot do this), and so are pages the host zeroes by
 *   punching or converting; untouched pages are not.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmtest.h"

#define RAM		(1 * MiB)
#define PAGES		(RAM / GM_PAGE_SIZE)
#define WORDS		((PAGES + 63) / 64)
/*
 * The guest's passes over RAM: long enough that the copier runs beside it
 * even on a loaded machine (on emu 2,000 took 0.07 s, and a loaded CI run
 * once saw fewer than 2 busy rounds); kvm is a good deal faster already.
 */
#define ROUNDS_EMU	20000
#define ROUNDS_KVM	2000

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/* rdi = RAM base, rsi = size, r8 = rounds: page p gets (round << 20) | p, round after round. */
static const uint8_t writer_guest[] = {
	0x49, 0x89, 0xf1,			/* mov %rsi, %r9 */
	0x49, 0xc1, 0xe9, 0x0c,			/* shr $12, %r9: pages */
	0x49, 0xc7, 0xc2, 0x01, 0x00, 0x00, 0x00, /* mov $1, %r10: round */
	0x48, 0x31, 0xc9,			/* 1: xor %rcx, %rcx */
	0x4c, 0x89, 0xd0,			/* 2: mov %r10, %rax */
	0x48, 0xc1, 0xe0, 0x14,			/* shl $20, %rax */
	0x48, 0x09, 0xc8,			/* or %rcx, %rax */
	0x48, 0x89, 0xca,			/* mov %rcx, %rdx */
	0x48, 0xc1, 0xe2, 0x0c,			/* shl $12, %rdx */
	0x48, 0x89, 0x04, 0x17,			/* mov %rax, (%rdi,%rdx) */
	0x48, 0xff, 0xc1,			/* inc %rcx */
	0x4c, 0x39, 0xc9,			/* cmp %r9, %rcx */
	0x72, 0xe3,				/* jb 2b */
	0x49, 0xff, 0xc2,			/* inc %r10 */
	0x4d, 0x39, 0xc2,			/* cmp %r8, %r10 */
	0x76, 0xd8,				/* jbe 1b */
	GUEST_EXIT_OK,
};

struct copier {
	struct gm_vm *vm;
	uint64_t copy[PAGES];		/* the first qword of each page, as copied */
	_Atomic bool done;
	unsigned int busy_rounds;	/* harvests that found pages while the guest ran */
	int error;
};

/* One pre-copy round: harvest, copy what it names.  Return the pages copied. */
static int64_t copy_round(struct copier *c)
{
	uint64_t bitmap[WORDS];
	int64_t n = gm_vm_dirty_log_get(c->vm, 1, bitmap);

	if (n < 0) {
		c->error = (int)n;
		return n;
	}
	for (uint64_t p = 0; p < PAGES; p++)
		if ((bitmap[p / 64] >> (p % 64)) & 1)
			gm_vm_read_shared(c->vm, GM_GUEST_RAM_BASE + p * GM_PAGE_SIZE, &c->copy[p],
					  sizeof(c->copy[p]));
	return n;
}

static void *copier_thread(void *arg)
{
	struct copier *c = arg;

	while (!atomic_load(&c->done) && !c->error)
		if (copy_round(c) > 0)
			c->busy_rounds++;
	return NULL;
}

static void precopy_on(enum gm_engine_kind engine)
{
	struct copier *c = calloc(1, sizeof(*c));
	pthread_t thread;
	struct vmtest t;
	struct gm_exit e;

	assert_non_null(c);
	vmtest_create(&t, engine, RAM, true);
	c->vm = t.vm;
	assert_int_equal(gm_vm_dirty_log_start(t.vm, 1), 0);
	assert_int_equal(gm_vm_dirty_log_start(t.vm, 1), -EEXIST);
	vmtest_boot(&t, writer_guest, sizeof(writer_guest), 1, GM_GUEST_SHARED_BIT,
		    engine == GM_ENGINE_EMU ? ROUNDS_EMU : ROUNDS_KVM);
	assert_int_equal(pthread_create(&thread, NULL, copier_thread, c), 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, &e), 0);
	atomic_store(&c->done, true);
	pthread_join(thread, NULL);
	assert_int_equal(c->error, 0);
	assert_true(copy_round(c) >= 0);	/* the last round, the guest stopped */
	printf("  %s: %u rounds found dirty pages while the guest wrote\n",
	       gm_vm_engine_name(t.vm), c->busy_rounds);
	assert_true(c->busy_rounds >= 2);
	for (uint64_t p = 0; p < PAGES; p++) {
		uint64_t now;

		assert_int_equal(gm_vm_read_shared(t.vm, GM_GUEST_RAM_BASE + p * GM_PAGE_SIZE, &now,
						   sizeof(now)), 0);
		if (c->copy[p] != now)
			fail_msg("page %llu: copied %#llx, memory holds %#llx",
				 (unsigned long long)p, (unsigned long long)c->copy[p],
				 (unsigned long long)now);
	}
	assert_int_equal(gm_vm_dirty_log_stop(t.vm, 1), 0);
	assert_int_equal(gm_vm_dirty_log_stop(t.vm, 1), -EINVAL);
	vmtest_destroy(&t);
	free(c);
}

static bool page_dirty(const uint64_t *bitmap, uint64_t p)
{
	return (bitmap[p / 64] >> (p % 64)) & 1;
}

static void private_on(enum gm_engine_kind engine)
{
	uint64_t bitmap[WORDS];
	struct vmtest t;
	struct gm_exit e;

	vmtest_create(&t, engine, RAM, true);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, RAM, PRIVATE, 0), 0);
	assert_int_equal(gm_vm_dirty_log_start(t.vm, 1), 0);
	/* The guest writes the first half of RAM only, privately. */
	t.ram_size = RAM / 2;
	vmtest_boot(&t, writer_guest, sizeof(writer_guest), 1, 0, 1);
	assert_int_equal(gm_vm_run(t.vm, NULL, &e), 0);
	assert_int_equal(gm_vm_dirty_log_get(t.vm, 1, bitmap), PAGES / 2);
	assert_true(page_dirty(bitmap, 0) && page_dirty(bitmap, PAGES / 2 - 1));
	assert_false(page_dirty(bitmap, PAGES / 2));
	assert_int_equal(gm_vm_dirty_log_get(t.vm, 1, bitmap), 0);
	/* Punching a private page and converting another zero them: both logged. */
	assert_int_equal(gm_fallocate(t.private, PUNCH, 3 * GM_PAGE_SIZE, GM_PAGE_SIZE), 0);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + 7 * GM_PAGE_SIZE,
						     GM_PAGE_SIZE, 0, 0), 0);
	assert_int_equal(gm_vm_dirty_log_get(t.vm, 1, bitmap), 2);
	assert_true(page_dirty(bitmap, 3) && page_dirty(bitmap, 7));
	assert_int_equal(gm_vm_dirty_log_get(t.vm, 2, bitmap), -EINVAL);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_precopy(void **state)
{
	precopy_on(engine_arg);
}

static void test_private_writes_logged(void **state)
{
	private_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precopy),
		cmocka_unit_test(test_private_writes_logged),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
