// SPDX-License-Identifier: MIT
/*
 * A pinned frame is never freed under its pin: a punch (or truncate) over a
 * page that an owner holds through get_lock_pfn blocks until the owner calls
 * put_unlock_pfn, and only then frees the frame.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "../common.h"

#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)
#define WAIT_MS		100

struct owner {
	struct gm_file *file;
	_Atomic unsigned int calls;
};

static void count_invalidate(struct gm_file *file, void *p, uint64_t start, uint64_t end)
{
	struct owner *o = p;

	atomic_fetch_add(&o->calls, 1);
}

static const struct gm_guest_ops ops = { .invalidate_page_range = count_invalidate };

struct remover {
	struct gm_file *file;
	int truncate;		/* 0: punch pages [0, 16); 1: truncate to 0 */
	_Atomic int done;
	int ret;
};

static void *remove_thread(void *p)
{
	struct remover *r = p;

	if (r->truncate)
		r->ret = gm_ftruncate(r->file, 0);
	else
		r->ret = gm_fallocate(r->file, PUNCH, 0, 16 * GM_PAGE_SIZE);
	atomic_store(&r->done, 1);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Wait (up to 10 s) for the remover to finish. */
static int wait_done(struct remover *r)
{
	for (int i = 0; i < 10000 && !atomic_load(&r->done); i++)
		sleep_ms(1);
	return atomic_load(&r->done);
}

static void run_case(int truncate)
{
	struct owner o = { 0 };
	const struct gm_mem_ops *mem;
	struct remover r = { .truncate = truncate };
	gm_pfn_t pfn, other, outside;
	uint32_t id, index;
	int64_t before, held;
	pthread_t t;

	assert_int_equal(gm_memfd_create("locked", GM_MFD_GUEST, &o.file), 0);
	assert_int_equal(gm_ftruncate(o.file, 64 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_register_guest(o.file, &o, &ops, &mem), 0);
	before = gm_pmem_frames_in_use(GM_POOL_4K);

	/* Page 3 pinned; pages 4 and 20 populated but not pinned. */
	assert_int_equal(mem->get_lock_pfn(o.file, 4, &other, NULL), 0);
	mem->put_unlock_pfn(other);
	assert_int_equal(mem->get_lock_pfn(o.file, 20, &outside, NULL), 0);
	mem->put_unlock_pfn(outside);
	assert_int_equal(mem->get_lock_pfn(o.file, 3, &pfn, NULL), 0);
	held = gm_pmem_frames_in_use(GM_POOL_4K);
	assert_int_equal(held, before + 3);

	r.file = o.file;
	assert_int_equal(pthread_create(&t, NULL, remove_thread, &r), 0);
	/* However slowly the remover gets going: first it tells the owner... */
	for (int i = 0; i < 10000 && !atomic_load(&o.calls); i++)
		sleep_ms(1);
	assert_int_equal(atomic_load(&o.calls), 1);
	/* ...then it waits for the pin, however long that takes. */
	sleep_ms(WAIT_MS);
	assert_int_equal(atomic_load(&r.done), 0);
	assert_int_equal(atomic_load(&o.calls), 1);
	/* The pinned frame is still allocated and still the file's page 3. */
	assert_int_equal(gm_frame_pins(pfn), 1);
	assert_int_equal(gm_frame_owner(pfn, &id, &index), 0);
	assert_int_equal(id, gm_file_id(o.file));
	assert_int_equal(index, 3);
	/*
	 * A populated page outside the punched range is still reachable: the
	 * lookup of a populated page takes no file lock.
	 */
	if (!truncate) {
		gm_pfn_t far;

		assert_int_equal(mem->get_lock_pfn(o.file, 20, &far, NULL), 0);
		assert_int_equal(far, outside);
		mem->put_unlock_pfn(far);
	}

	mem->put_unlock_pfn(pfn);
	assert_true(wait_done(&r));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.ret, 0);
	assert_int_equal(atomic_load(&o.calls), 1);
	assert_int_equal(gm_frame_owner(pfn, &id, &index), -ENOENT);
	assert_int_equal(gm_frame_owner(other, &id, &index), -ENOENT);
	assert_true(gm_pmem_frames_in_use(GM_POOL_4K) < held);
	/* A punch of [0, 16) keeps page 20; the truncate to 0 does not. */
	assert_int_equal(gm_pmem_frames_in_use(GM_POOL_4K), before + (truncate ? 0 : 1));
	assert_int_equal(gm_file_pages_held(o.file), truncate ? 0 : 1);

	assert_int_equal(gm_unregister_guest(o.file, &o), 0);
	gm_file_put(o.file);
	gm_test_assert_no_frames();
}

static void test_punch_waits_for_pin(void **state)
{
	run_case(0);
}

static void test_truncate_waits_for_pin(void **state)
{
	run_case(1);
}

/* Two pins on one frame: the punch waits for both. */
static void test_nested_pins(void **state)
{
	struct owner o = { 0 };
	const struct gm_mem_ops *mem;
	struct remover r = { 0 };
	gm_pfn_t a, b;
	uint32_t id, index;
	pthread_t t;

	assert_int_equal(gm_memfd_create("nested", GM_MFD_GUEST, &o.file), 0);
	assert_int_equal(gm_ftruncate(o.file, 16 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_register_guest(o.file, &o, &ops, &mem), 0);
	assert_int_equal(mem->get_lock_pfn(o.file, 0, &a, NULL), 0);
	assert_int_equal(mem->get_lock_pfn(o.file, 0, &b, NULL), 0);
	assert_int_equal(a, b);

	r.file = o.file;
	assert_int_equal(pthread_create(&t, NULL, remove_thread, &r), 0);
	sleep_ms(WAIT_MS / 2);
	mem->put_unlock_pfn(a);
	sleep_ms(WAIT_MS / 2);
	assert_int_equal(atomic_load(&r.done), 0);
	assert_int_equal(gm_frame_owner(b, &id, &index), 0);
	mem->put_unlock_pfn(b);
	assert_true(wait_done(&r));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.ret, 0);
	assert_int_equal(gm_frame_owner(b, &id, &index), -ENOENT);

	assert_int_equal(gm_unregister_guest(o.file, &o), 0);
	gm_file_put(o.file);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_punch_waits_for_pin),
		cmocka_unit_test(test_truncate_waits_for_pin),
		cmocka_unit_test(test_nested_pins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
