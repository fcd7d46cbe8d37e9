// SPDX-License-Identifier: MIT
/*
 * The seed thread's lifetime bug: an invalidate callback reaching an owner
 * that was already freed.  Once gm_unregister_guest() returns, no callback
 * for that owner runs or can start, so the owner may be freed at once; the
 * file may outlive its owner; and the registration holds its own reference,
 * so the file lives until unregistered even if every other reference is put.
 *
 * Run under ASan, a callback reaching a freed owner is a use-after-free
 * report; under TSan, a missing grace period is a race on owner->magic.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "../common.h"
#include "../frames.h"

#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)
#define OWNER_MAGIC	0x4f574e45524f4b21ULL
#define OWNER_DEAD	0xdeaddeaddeaddeadULL
#define ROUNDS		200
#define RACE_PAGES	8

struct owner {
	uint64_t magic;			/* plain: TSan checks the grace period */
	_Atomic unsigned int calls;
};

static _Atomic unsigned int total_calls;
static _Atomic unsigned int bad_calls;

static void check_invalidate(struct gm_file *file, void *p, uint64_t start, uint64_t end)
{
	struct owner *o = p;

	if (o->magic != OWNER_MAGIC) {
		atomic_fetch_add(&bad_calls, 1);
		return;
	}
	atomic_fetch_add(&o->calls, 1);
	atomic_fetch_add(&total_calls, 1);
}

static const struct gm_guest_ops ops = { .invalidate_page_range = check_invalidate };

static struct owner *owner_new(void)
{
	struct owner *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	o->magic = OWNER_MAGIC;
	return o;
}

static void owner_free(struct owner *o)
{
	o->magic = OWNER_DEAD;
	free(o);
}

static struct gm_file *guest_file(uint64_t pages)
{
	struct gm_file *file;

	assert_int_equal(gm_memfd_create("life", GM_MFD_GUEST, &file), 0);
	assert_int_equal(gm_ftruncate(file, (off_t)(pages * GM_PAGE_SIZE)), 0);
	return file;
}

static void fault_range(const struct gm_mem_ops *mem, struct gm_file *file, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		gm_pfn_t pfn;

		assert_int_equal(mem->get_lock_pfn(file, i, &pfn, NULL), 0);
		mem->put_unlock_pfn(pfn);
	}
}

/* (a) Owner unregistered and freed; the file lives on and loses pages. */
static void test_owner_freed_file_lives(void **state)
{
	struct gm_file *file = guest_file(64);
	struct owner *o = owner_new();
	const struct gm_mem_ops *mem;
	unsigned int before = atomic_load(&total_calls);

	assert_int_equal(gm_register_guest(file, o, &ops, &mem), 0);
	fault_range(mem, file, 16);
	assert_int_equal(gm_fallocate(file, PUNCH, 0, GM_PAGE_SIZE), 0);
	assert_int_equal(atomic_load(&o->calls), 1);
	assert_int_equal(gm_unregister_guest(file, o), 0);
	owner_free(o);

	/* The file goes on without an owner: no callback can reach it. */
	assert_int_equal(gm_fallocate(file, PUNCH, 0, 8 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_fallocate(file, 0, 0, 32 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_ftruncate(file, 4 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_ftruncate(file, 0), 0);
	assert_int_equal(atomic_load(&total_calls), before + 1);
	assert_int_equal(atomic_load(&bad_calls), 0);

	/* And a new owner may take it. */
	o = owner_new();
	assert_int_equal(gm_ftruncate(file, 4 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_register_guest(file, o, &ops, &mem), 0);
	fault_range(mem, file, 4);
	assert_int_equal(gm_ftruncate(file, 0), 0);
	assert_int_equal(atomic_load(&o->calls), 1);
	assert_int_equal(gm_unregister_guest(file, o), 0);
	owner_free(o);

	gm_file_put(file);
	gm_test_assert_no_frames();
}

struct churn {
	struct gm_file *file;
	const struct gm_mem_ops *mem;
	_Atomic int stop;
	unsigned long punches;
};

/* Thread A: fault the pages in and punch them out, over and over. */
static void *churn_thread(void *p)
{
	struct churn *c = p;

	while (!atomic_load(&c->stop)) {
		for (uint64_t i = 0; i < RACE_PAGES; i++) {
			gm_pfn_t pfn;

			if (c->mem->get_lock_pfn(c->file, i, &pfn, NULL) == 0)
				c->mem->put_unlock_pfn(pfn);
		}
		if (gm_fallocate(c->file, PUNCH, 0, RACE_PAGES * GM_PAGE_SIZE) == 0)
			c->punches++;
	}
	return NULL;
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000L };

	nanosleep(&ts, NULL);
}

/* (b) Owners come and go while another thread punches the file. */
static void test_unregister_races_invalidate(void **state)
{
	struct churn c = { .file = guest_file(RACE_PAGES) };
	struct owner *first = owner_new();
	pthread_t t;

	/* Thread A needs the memory ops: take them from a first registration. */
	assert_int_equal(gm_register_guest(c.file, first, &ops, &c.mem), 0);
	assert_int_equal(gm_unregister_guest(c.file, first), 0);
	owner_free(first);
	atomic_store(&bad_calls, 0);

	assert_int_equal(pthread_create(&t, NULL, churn_thread, &c), 0);
	for (int round = 0; round < ROUNDS; round++) {
		struct owner *o = owner_new();
		const struct gm_mem_ops *mem;

		assert_int_equal(gm_register_guest(c.file, o, &ops, &mem), 0);
		assert_ptr_equal(mem, c.mem);
		/* Let at least one callback in (up to 10 s: CI may be slow), then a little more. */
		for (int i = 0; i < 100000 && !atomic_load(&o->calls); i++)
			sleep_us(100);
		sleep_us(50 + (round % 7) * 30);
		assert_int_equal(gm_unregister_guest(c.file, o), 0);
		/* From here on no callback may touch it. */
		owner_free(o);
	}
	atomic_store(&c.stop, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(atomic_load(&bad_calls), 0);
	assert_true(atomic_load(&total_calls) >= ROUNDS);
	assert_true(c.punches > 0);

	gm_file_put(c.file);
	gm_test_assert_no_frames();
}

/* (c) The caller puts its reference while registered: the file lives on. */
static void test_registration_holds_file(void **state)
{
	struct gm_file *file = guest_file(32);
	struct owner *o = owner_new();
	const struct gm_mem_ops *mem;
	gm_pfn_t pfn;

	assert_int_equal(gm_register_guest(file, o, &ops, &mem), 0);
	gm_file_put(file);	/* the caller's only reference */

	/* Still usable by the owner through the registration's reference. */
	fault_range(mem, file, 8);
	assert_int_equal(gm_file_pages_held(file), 8);
	assert_int_equal(mem->get_lock_pfn(file, 31, &pfn, NULL), 0);
	mem->put_unlock_pfn(pfn);
	assert_int_equal(mem->pfn_mapping_level(file, 0), GM_LEVEL_4K);
	assert_int_equal(gm_fallocate(file, PUNCH, 0, 4 * GM_PAGE_SIZE), 0);
	assert_int_equal(atomic_load(&o->calls), 1);
	assert_true(gm_test_frames_in_use(0) > 0);

	/* Unregistering drops the last reference: the file and its frames go. */
	assert_int_equal(gm_unregister_guest(file, o), 0);
	gm_test_assert_no_frames();
	/* Freeing the file's frames told nobody: the owner had gone. */
	assert_int_equal(atomic_load(&o->calls), 1);
	owner_free(o);
}

/* (c) The owner is destroyed first, the file later, each at its own time. */
static void test_file_outlives_owner(void **state)
{
	struct gm_file *file = guest_file(32);
	struct gm_file *extra = gm_file_get(file);
	struct owner *o = owner_new();
	const struct gm_mem_ops *mem;

	assert_ptr_equal(extra, file);
	assert_int_equal(gm_register_guest(file, o, &ops, &mem), 0);
	fault_range(mem, file, 32);
	assert_int_equal(gm_unregister_guest(file, o), 0);
	owner_free(o);

	gm_file_put(extra);
	/* One reference left: the pages are still there. */
	assert_int_equal(gm_file_pages_held(file), 32);
	assert_int_equal(gm_test_frames_in_use(0), 32);
	gm_file_put(file);
	assert_int_equal(atomic_load(&bad_calls), 0);
	gm_test_assert_no_frames();
}

struct impostor {
	struct gm_file *file;
	_Atomic int stop;
	unsigned long tries, wrong_ret;
};

/* Thread B: keep trying to unregister an owner that never held the file. */
static void *impostor_thread(void *p)
{
	struct impostor *im = p;
	int not_an_owner;

	while (!atomic_load(&im->stop)) {
		if (gm_unregister_guest(im->file, &not_an_owner) != -EINVAL)
			im->wrong_ret++;
		im->tries++;
	}
	return NULL;
}

/*
 * (d) A wrong owner's unregister racing with the real owner's: always
 * -EINVAL, and it never reads a binding the real unregister freed (ASan).
 */
static void test_wrong_owner_races_unregister(void **state)
{
	struct impostor im = { .file = guest_file(4) };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, impostor_thread, &im), 0);
	for (int round = 0; round < 20 * ROUNDS; round++) {
		struct owner *o = owner_new();
		const struct gm_mem_ops *mem;

		assert_int_equal(gm_register_guest(im.file, o, &ops, &mem), 0);
		assert_int_equal(gm_unregister_guest(im.file, o), 0);
		owner_free(o);
	}
	atomic_store(&im.stop, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(im.wrong_ret, 0);
	assert_true(im.tries > 0);
	gm_file_put(im.file);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_freed_file_lives),
		cmocka_unit_test(test_unregister_races_invalidate),
		cmocka_unit_test(test_registration_holds_file),
		cmocka_unit_test(test_file_outlives_owner),
		cmocka_unit_test(test_wrong_owner_races_unregister),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
