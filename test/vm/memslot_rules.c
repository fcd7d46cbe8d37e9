/* SPDX-License-Identifier: MIT */
/*
 * Memslot rules that keep the VMM alive and its state whole:
 * - a shared file bound to a memslot cannot be truncated below the slot
 *   (-EBUSY): the guest's next touch would otherwise be SIGBUS in the VMM;
 *   it can after the slot is gone, and growing it is always fine;
 * - a memslot over a shared file sealed against writes fails with the
 *   real cause (-EPERM), not -ENOMEM;
 * - moving an ordinary slot is all or nothing: when the new placement
 *   fails, the old slot is still there and still works;
 * - once a private file is unregistered, get_lock_pfn() on it is -EPERM;
 * - an in-place file backs in-place slots only (-EINVAL as the private file
 *   of two: the host could read its shared-in-the-file pages while the
 *   guest holds them private; fuzz-ops found it).
 */
#include "vmtest.h"

#define RAM	(4 * MiB)

static const uint8_t guest[] = { GUEST_EXIT_OK };

static void test_truncate_bound_shared_file(void **state)
{
	struct gm_memslot del = { .slot = 1 };
	struct gm_exit e;
	struct vmtest t;

	vmtest_create(&t, GM_ENGINE_AUTO, RAM, true);
	assert_int_equal(gm_ftruncate(t.shared, 0), -EBUSY);
	assert_int_equal(gm_ftruncate(t.shared, RAM - GM_PAGE_SIZE), -EBUSY);
	assert_int_equal(gm_ftruncate(t.shared, 2 * RAM), 0);
	assert_int_equal(gm_ftruncate(t.shared, RAM), 0);
	assert_int_equal(gm_file_size(t.shared), RAM);
	vmtest_boot(&t, guest, sizeof(guest), 1, GM_GUEST_SHARED_BIT, 0);
	assert_int_equal(gm_vm_run(t.vm, NULL, &e), 0);
	del.gpa = GM_GUEST_RAM_BASE;
	assert_int_equal(gm_vm_set_memslot(t.vm, &del), 0);
	assert_int_equal(gm_ftruncate(t.shared, 0), 0);
	vmtest_destroy(&t);
	gm_test_assert_no_frames();
}

static void test_write_sealed_shared_file(void **state)
{
	struct gm_file *sealed;
	struct gm_memslot m = { .slot = 2, .gpa = 1ULL << 32, .size = RAM };
	struct vmtest t;

	vmtest_create(&t, GM_ENGINE_AUTO, RAM, false);
	assert_int_equal(gm_memfd_create("sealed", GM_MFD_ALLOW_SEALING, &sealed), 0);
	assert_int_equal(gm_ftruncate(sealed, RAM), 0);
	assert_int_equal(gm_add_seals(sealed, GM_SEAL_WRITE), 0);
	m.shared_file = sealed;
	assert_int_equal(gm_vm_set_memslot(t.vm, &m), -EPERM);
	gm_file_put(sealed);
	vmtest_destroy(&t);
}

static void test_move_all_or_nothing(void **state)
{
	struct gm_file *sealed;
	struct gm_memslot moved = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = RAM };
	uint64_t v = 0x1234, back = 0;
	struct vmtest t;

	vmtest_create(&t, GM_ENGINE_AUTO, RAM, false);
	assert_int_equal(gm_vm_write_shared(t.vm, GM_GUEST_RAM_BASE, &v, sizeof(v)), 0);
	assert_int_equal(gm_memfd_create("sealed", GM_MFD_ALLOW_SEALING, &sealed), 0);
	assert_int_equal(gm_ftruncate(sealed, RAM), 0);
	assert_int_equal(gm_add_seals(sealed, GM_SEAL_WRITE), 0);
	moved.shared_file = sealed;
	assert_int_equal(gm_vm_set_memslot(t.vm, &moved), -EPERM);
	/* The old slot is whole: same file, same bytes. */
	assert_int_equal(gm_vm_read_shared(t.vm, GM_GUEST_RAM_BASE, &back, sizeof(back)), 0);
	assert_int_equal(back, v);
	/* And a move that works still does. */
	moved.shared_file = t.shared;
	moved.gpa = 2ULL * GM_GUEST_RAM_BASE;
	assert_int_equal(gm_vm_set_memslot(t.vm, &moved), 0);
	assert_int_equal(gm_vm_read_shared(t.vm, 2ULL * GM_GUEST_RAM_BASE, &back, sizeof(back)), 0);
	assert_int_equal(back, v);
	assert_int_equal(gm_vm_read_shared(t.vm, GM_GUEST_RAM_BASE, &back, sizeof(back)), -EFAULT);
	gm_file_put(sealed);
	vmtest_destroy(&t);
}

static void noop(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static void test_unregistered_file_is_nobodys(void **state)
{
	static const struct gm_guest_ops ops = { .invalidate_page_range = noop };
	const struct gm_mem_ops *mem;
	struct gm_file *file;
	gm_pfn_t pfn;
	int owner;

	assert_int_equal(gm_memfd_create("unreg", GM_MFD_GUEST, &file), 0);
	assert_int_equal(gm_ftruncate(file, RAM), 0);
	assert_int_equal(gm_register_guest(file, &owner, &ops, &mem), 0);
	assert_int_equal(mem->get_lock_pfn(file, 0, &pfn, NULL), 0);
	mem->put_unlock_pfn(pfn);
	/* A second put of the same pin changes nothing (no underflow). */
	mem->put_unlock_pfn(pfn);
	assert_int_equal(gm_fallocate(file, GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE, 0,
				      GM_PAGE_SIZE), 0);
	assert_int_equal(gm_unregister_guest(file, &owner), 0);
	assert_int_equal(mem->get_lock_pfn(file, 0, &pfn, NULL), -EPERM);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static void test_in_place_file_in_place_only(void **state)
{
	struct gm_file *in_place, *plain;
	struct gm_memslot m = { .slot = 2, .gpa = 1ULL << 32, .size = RAM,
				.flags = GM_SLOT_PRIVATE };
	struct vmtest t;

	vmtest_create(&t, GM_ENGINE_EMU, RAM, false);
	in_place = vmtest_file(GM_MFD_GUEST | GM_MFD_GUEST_MMAP | GM_MFD_GUEST_INIT_SHARED,
			       2 * RAM);
	plain = vmtest_file(GM_MFD_CLOEXEC, RAM);
	m.shared_file = plain;
	m.private_file = in_place;
	assert_int_equal(gm_vm_set_memslot(t.vm, &m), -EINVAL);
	/* In place, at another offset of the file than the shared side's: also not in place. */
	m.shared_file = in_place;
	m.private_offset = RAM;
	assert_int_equal(gm_vm_set_memslot(t.vm, &m), -EINVAL);
	m.private_offset = 0;
	assert_int_equal(gm_vm_set_memslot(t.vm, &m), 0);
	assert_int_equal(gm_vm_set_memslot(t.vm, &(struct gm_memslot){ .slot = 2 }), 0);
	gm_file_put(plain);
	gm_file_put(in_place);
	vmtest_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncate_bound_shared_file),
		cmocka_unit_test(test_write_sealed_shared_file),
		cmocka_unit_test(test_move_all_or_nothing),
		cmocka_unit_test(test_unregistered_file_is_nobodys),
		cmocka_unit_test(test_in_place_file_in_place_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
