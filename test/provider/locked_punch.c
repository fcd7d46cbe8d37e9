// SPDX-License-Identifier: MIT
/*
 * A pinned frame is never freed under its pin: a punch (or truncate) over a
 * page that an owner holds through get_lock_pfn unpublishes it at once (no
 * new pin), tells the owner, and then waits, with no lock held, for the
 * owner's put_unlock_pfn, which punches the frame out of the backing and so
 * out of every window: when the punch returns, a guest reads zero there, as
 * after the kernel's own punch.  While it waits, pages outside its range can
 * still be looked up and holes filled: a pin holder that faults another
 * page is not deadlocked.  The wait is bounded: an owner that keeps its pin
 * past it keeps the old bytes visible to itself only until it lets go.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "../common.h"
#include "../frames.h"
#include "store.h"

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

/* A window on the backing of @file's first @pages pages, as a VM maps it. */
static unsigned char *map_window(struct gm_file *file, uint64_t pages)
{
	void *p = mmap(NULL, pages * GM_PAGE_SIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(gm_file_map_range(file, 0, pages * GM_PAGE_SIZE, p), 0);
	return p;
}

/* Every byte of page @page of the window is @byte. */
static int page_is(const unsigned char *window, uint64_t page, unsigned char byte)
{
	const unsigned char *p = window + page * GM_PAGE_SIZE;

	for (size_t i = 0; i < GM_PAGE_SIZE; i++)
		if (p[i] != byte)
			return 0;
	return 1;
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
	gm_pfn_t pfn, other, outside, hole;
	uint64_t index = UINT64_MAX;
	int64_t before, held;
	unsigned char *window;
	pthread_t t;

	assert_int_equal(gm_memfd_create("locked", GM_MFD_GUEST, &o.file), 0);
	assert_int_equal(gm_ftruncate(o.file, 64 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_register_guest(o.file, &o, &ops, &mem), 0);
	window = map_window(o.file, 64);
	before = gm_test_frames_in_use(0);

	/* Page 3 pinned; pages 4 and 20 populated but not pinned; all hold data. */
	assert_int_equal(mem->get_lock_pfn(o.file, 4, &other, NULL), 0);
	memset(window + 4 * GM_PAGE_SIZE, 0x44, GM_PAGE_SIZE);
	mem->put_unlock_pfn(other);
	assert_int_equal(mem->get_lock_pfn(o.file, 20, &outside, NULL), 0);
	memset(window + 20 * GM_PAGE_SIZE, 0x20, GM_PAGE_SIZE);
	mem->put_unlock_pfn(outside);
	assert_int_equal(mem->get_lock_pfn(o.file, 3, &pfn, NULL), 0);
	memset(window + 3 * GM_PAGE_SIZE, 0x33, GM_PAGE_SIZE);
	assert_int_equal(gm_test_frame_owner(pfn, o.file, &index), 0);
	assert_int_equal(index, 3);
	held = gm_test_frames_in_use(0);
	assert_int_equal(held, before + 3);

	r.file = o.file;
	assert_int_equal(pthread_create(&t, NULL, remove_thread, &r), 0);
	/* However slowly the remover gets going: first it tells the owner... */
	for (int i = 0; i < 10000 && !atomic_load(&o.calls); i++)
		sleep_ms(1);
	assert_int_equal(atomic_load(&o.calls), 1);
	/* ...then it waits for the pin: the pinned page is doomed, not freed. */
	sleep_ms(WAIT_MS);
	assert_int_equal(atomic_load(&r.done), 0);
	assert_int_equal(atomic_load(&o.calls), 1);
	/*
	 * The pinned frame is still the file's page 3 and still allocated: its
	 * data is intact in the backing.  It is unpublished already (no new
	 * pin), and its pin is still counted.
	 */
	assert_int_equal(gm_test_pins(pfn), 1);
	assert_int_equal(pfn, gm_test_pfn_of(o.file, 3));
	assert_int_equal(gm_test_frame_owner(pfn, o.file, &index), -ENOENT);
	assert_true(page_is(window, 3, 0x33));
	/*
	 * Outside the punched range a populated page is still reachable and a
	 * hole can be filled: the remover waits with no file lock held.
	 */
	if (!truncate) {
		gm_pfn_t far;

		assert_int_equal(mem->get_lock_pfn(o.file, 20, &far, NULL), 0);
		assert_int_equal(far, outside);
		mem->put_unlock_pfn(far);
		assert_int_equal(mem->get_lock_pfn(o.file, 30, &hole, NULL), 0);
		mem->put_unlock_pfn(hole);
	}
	assert_int_equal(atomic_load(&r.done), 0);

	mem->put_unlock_pfn(pfn);
	assert_true(wait_done(&r));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.ret, 0);
	assert_int_equal(atomic_load(&o.calls), 1);
	assert_int_equal(gm_test_pins(pfn), 0);
	assert_int_equal(gm_test_frame_owner(pfn, o.file, &index), -ENOENT);
	assert_int_equal(gm_test_frame_owner(other, o.file, &index), -ENOENT);
	assert_true(gm_test_frames_in_use(0) < held);
	/* A punch of [0, 16) keeps pages 20 and 30; the truncate to 0 does not. */
	assert_int_equal(gm_test_frames_in_use(0), before + (truncate ? 0 : 2));
	assert_int_equal(gm_file_pages_held(o.file), truncate ? 0 : 2);
	if (!truncate) {
		assert_int_equal(gm_test_frame_owner(outside, o.file, &index), 0);
		assert_int_equal(index, 20);
		assert_true(page_is(window, 20, 0x20));
	}
	/* Now the frames are freed: punched out of the backing and its windows. */
	assert_true(page_is(window, 3, 0));
	assert_true(page_is(window, 4, 0));
	assert_int_equal(munmap(window, 64 * GM_PAGE_SIZE), 0);

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
	uint64_t index = UINT64_MAX;
	unsigned char *window;
	pthread_t t;

	assert_int_equal(gm_memfd_create("nested", GM_MFD_GUEST, &o.file), 0);
	assert_int_equal(gm_ftruncate(o.file, 16 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_register_guest(o.file, &o, &ops, &mem), 0);
	window = map_window(o.file, 16);
	assert_int_equal(mem->get_lock_pfn(o.file, 0, &a, NULL), 0);
	assert_int_equal(mem->get_lock_pfn(o.file, 0, &b, NULL), 0);
	assert_int_equal(a, b);
	assert_int_equal(gm_test_pins(a), 2);
	memset(window, 0x77, GM_PAGE_SIZE);

	r.file = o.file;
	assert_int_equal(pthread_create(&t, NULL, remove_thread, &r), 0);
	sleep_ms(WAIT_MS / 2);
	mem->put_unlock_pfn(a);
	sleep_ms(WAIT_MS / 2);
	/* One pin left: the remover still waits, the frame is there, data intact. */
	assert_int_equal(atomic_load(&r.done), 0);
	assert_int_equal(gm_test_pins(b), 1);
	assert_int_equal(b, gm_test_pfn_of(o.file, 0));
	assert_true(page_is(window, 0, 0x77));
	mem->put_unlock_pfn(b);
	assert_true(wait_done(&r));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.ret, 0);
	assert_int_equal(gm_test_frame_owner(b, o.file, &index), -ENOENT);
	assert_int_equal(gm_test_pins(b), 0);
	assert_true(page_is(window, 0, 0));
	assert_int_equal(munmap(window, 16 * GM_PAGE_SIZE), 0);

	assert_int_equal(gm_unregister_guest(o.file, &o), 0);
	gm_file_put(o.file);
	gm_test_assert_no_frames();
}

/*
 * An owner that never lets go does not hang the remover: the punch returns
 * 0 within its bound, the owner's frame keeps its bytes for it, and its
 * late put_unlock_pfn punches it.
 */
static void test_punch_bounded(void **state)
{
	struct owner o = { 0 };
	const struct gm_mem_ops *mem;
	struct remover r = { 0 };
	unsigned char *window;
	gm_pfn_t pfn;
	pthread_t t;

	assert_int_equal(gm_memfd_create("bounded", GM_MFD_GUEST, &o.file), 0);
	assert_int_equal(gm_ftruncate(o.file, 16 * GM_PAGE_SIZE), 0);
	assert_int_equal(gm_register_guest(o.file, &o, &ops, &mem), 0);
	window = map_window(o.file, 16);
	assert_int_equal(mem->get_lock_pfn(o.file, 5, &pfn, NULL), 0);
	memset(window + 5 * GM_PAGE_SIZE, 0x55, GM_PAGE_SIZE);

	r.file = o.file;
	assert_int_equal(pthread_create(&t, NULL, remove_thread, &r), 0);
	assert_true(wait_done(&r));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.ret, 0);
	assert_int_equal(gm_test_pins(pfn), 1);
	assert_true(page_is(window, 5, 0x55));
	/* Refilling the page fails while the old frame is still held. */
	assert_int_equal(gm_fallocate(o.file, 0, 5 * GM_PAGE_SIZE, GM_PAGE_SIZE), -EBUSY);

	mem->put_unlock_pfn(pfn);
	assert_true(page_is(window, 5, 0));
	assert_int_equal(gm_file_pages_held(o.file), 0);
	assert_int_equal(gm_fallocate(o.file, 0, 5 * GM_PAGE_SIZE, GM_PAGE_SIZE), 0);
	assert_int_equal(munmap(window, 16 * GM_PAGE_SIZE), 0);

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
		cmocka_unit_test(test_punch_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
