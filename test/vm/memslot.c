// SPDX-License-Identifier: MIT
/*
 * gm_vm_set_memslot argument checking, on an emu VM: every bad argument is
 * refused with KVM's errno, and a refused call changes nothing (the slots
 * that were there still work, a file it named is not left registered, and a
 * later valid slot is accepted).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guestmem.h>

#include "array.h"
#include "../common.h"

#define MiB		(1ULL << 20)
#define RAM		GM_GUEST_RAM_BASE
#define FAR		(RAM + 64 * MiB)	/* the slot already there */

struct fixture {
	struct gm_vm *vm, *other;
	struct gm_file *shared, *ordinary, *private, *fresh, *held, *guest_shared;
};

static struct fixture fx;

static struct gm_file *file(unsigned int flags, uint64_t size)
{
	struct gm_file *f;

	assert_int_equal(gm_memfd_create("memslot", flags, &f), 0);
	assert_int_equal(gm_ftruncate(f, (off_t)size), 0);
	return f;
}

/* The slot every case starts from: valid, and free to add. */
static struct gm_memslot base(void)
{
	return (struct gm_memslot){
		.slot = 1, .flags = GM_SLOT_PRIVATE, .gpa = RAM, .size = 4 * MiB,
		.shared_file = fx.shared, .shared_offset = 0,
		.private_file = fx.fresh, .private_offset = 0,
	};
}

/* The slot already bound: private, 2 MiB at FAR, files at 8 MiB. */
static struct gm_memslot existing(void)
{
	return (struct gm_memslot){
		.slot = 2, .flags = GM_SLOT_PRIVATE, .gpa = FAR, .size = 2 * MiB,
		.shared_file = fx.shared, .shared_offset = 8 * MiB,
		.private_file = fx.private, .private_offset = 8 * MiB,
	};
}

static int setup(void **state)
{
	struct gm_memslot held = {
		.slot = 0, .flags = GM_SLOT_PRIVATE, .gpa = RAM, .size = 2 * MiB,
		.shared_file = NULL, .private_file = NULL,
	};
	struct gm_memslot m;

	memset(&fx, 0, sizeof(fx));
	assert_int_equal(gm_vm_create(GM_ENGINE_EMU, &fx.vm), 0);
	assert_int_equal(gm_vm_create(GM_ENGINE_EMU, &fx.other), 0);
	fx.shared = file(GM_MFD_CLOEXEC, 16 * MiB);
	fx.ordinary = file(GM_MFD_CLOEXEC, 16 * MiB);
	fx.private = file(GM_MFD_GUEST, 16 * MiB);
	fx.fresh = file(GM_MFD_GUEST, 16 * MiB);
	fx.held = file(GM_MFD_GUEST, 16 * MiB);
	fx.guest_shared = file(GM_MFD_GUEST, 16 * MiB);
	m = existing();
	assert_int_equal(gm_vm_set_memslot(fx.vm, &m), 0);
	/* Another VM holds fx.held. */
	held.shared_file = fx.ordinary;
	held.private_file = fx.held;
	assert_int_equal(gm_vm_set_memslot(fx.other, &held), 0);
	return 0;
}

static int teardown(void **state)
{
	gm_vm_destroy(fx.vm);
	gm_vm_destroy(fx.other);
	gm_file_put(fx.shared);
	gm_file_put(fx.ordinary);
	gm_file_put(fx.private);
	gm_file_put(fx.fresh);
	gm_file_put(fx.held);
	gm_file_put(fx.guest_shared);
	gm_test_assert_no_frames();
	return 0;
}

/* The VM is as setup() left it: slot 2 works, nothing at RAM. */
static void assert_unchanged(const char *name)
{
	uint64_t v = 0x1234, r = 0;
	int ret;

	ret = gm_vm_write_shared(fx.vm, FAR | GM_GUEST_SHARED_BIT, &v, sizeof(v));
	if (ret)
		fail_msg("%s: the existing slot stopped working: %d", name, ret);
	assert_int_equal(gm_vm_read_shared(fx.vm, FAR, &r, sizeof(r)), 0);
	assert_int_equal(r, v);
	ret = gm_vm_read_shared(fx.vm, RAM, &r, sizeof(r));
	if (ret != -EFAULT)
		fail_msg("%s: a refused slot was added (read at RAM: %d)", name, ret);
}

enum mutation {
	GPA_UNALIGNED, SIZE_UNALIGNED, SHARED_OFF_UNALIGNED, PRIVATE_OFF_UNALIGNED,
	GPA_OVERLAP, GPA_OVERFLOW, GPA_PAST_SHARED_BIT, SHARED_RANGE_TWICE,
	PRIVATE_RANGE_TWICE, SHARED_PAST_END, PRIVATE_PAST_END, PRIVATE_NOT_GUEST,
	PRIVATE_HELD, SHARED_GUEST_ONLY, SLOT_OUT_OF_RANGE, SLOT_HUGE, UNKNOWN_FLAGS,
	PRIVATE_FLAG_NO_FILE, PRIVATE_FILE_NO_FLAG, NO_SHARED_FILE, CHANGE_PRIVATE_SIZE,
	CHANGE_PRIVATE_GPA, CHANGE_PRIVATE_FLAGS, SAME_PRIVATE_AGAIN,
};

static const struct {
	const char *name;
	enum mutation what;
	int err;
} cases[] = {
	{ "unaligned gpa", GPA_UNALIGNED, -EINVAL },
	{ "unaligned size", SIZE_UNALIGNED, -EINVAL },
	{ "unaligned shared offset", SHARED_OFF_UNALIGNED, -EINVAL },
	{ "unaligned private offset", PRIVATE_OFF_UNALIGNED, -EINVAL },
	{ "guest range overlaps a slot", GPA_OVERLAP, -EEXIST },
	{ "gpa + size overflows", GPA_OVERFLOW, -EINVAL },
	{ "range reaches the shared bit", GPA_PAST_SHARED_BIT, -EINVAL },
	{ "shared file range bound twice", SHARED_RANGE_TWICE, -EEXIST },
	{ "private file range bound twice", PRIVATE_RANGE_TWICE, -EEXIST },
	{ "shared range past the file's end", SHARED_PAST_END, -EINVAL },
	{ "private range past the file's end", PRIVATE_PAST_END, -EINVAL },
	{ "private file not guest-only", PRIVATE_NOT_GUEST, -EPERM },
	{ "private file held by another VM", PRIVATE_HELD, -EPERM },
	{ "shared file guest-only", SHARED_GUEST_ONLY, -EINVAL },
	{ "slot id 32", SLOT_OUT_OF_RANGE, -EINVAL },
	{ "slot id 0xffffffff", SLOT_HUGE, -EINVAL },
	{ "unknown flags", UNKNOWN_FLAGS, -EINVAL },
	{ "private flag without a file", PRIVATE_FLAG_NO_FILE, -EINVAL },
	{ "private file without the flag", PRIVATE_FILE_NO_FLAG, -EINVAL },
	{ "no shared file", NO_SHARED_FILE, -EINVAL },
	{ "private slot resized", CHANGE_PRIVATE_SIZE, -EINVAL },
	{ "private slot moved", CHANGE_PRIVATE_GPA, -EINVAL },
	{ "private slot made shared", CHANGE_PRIVATE_FLAGS, -EINVAL },
	{ "private slot set again unchanged", SAME_PRIVATE_AGAIN, -EINVAL },
};

static struct gm_memslot mutate(enum mutation what)
{
	struct gm_memslot m = base();

	switch (what) {
	case GPA_UNALIGNED: m.gpa += 0x800; break;
	case SIZE_UNALIGNED: m.size += 0x800; break;
	case SHARED_OFF_UNALIGNED: m.shared_offset = 0x800; break;
	case PRIVATE_OFF_UNALIGNED: m.private_offset = 0x800; break;
	case GPA_OVERLAP: m.gpa = FAR + MiB; break;
	case GPA_OVERFLOW: m.gpa = ~0xfffULL - MiB; break;
	case GPA_PAST_SHARED_BIT: m.gpa = GM_GUEST_SHARED_BIT - 2 * MiB; break;
	case SHARED_RANGE_TWICE: m.shared_offset = 7 * MiB; break;
	case PRIVATE_RANGE_TWICE: m.private_file = fx.private; m.private_offset = 9 * MiB; break;
	case SHARED_PAST_END: m.shared_offset = 14 * MiB; break;
	case PRIVATE_PAST_END: m.private_offset = 14 * MiB; break;
	case PRIVATE_NOT_GUEST: m.private_file = fx.ordinary; break;
	case PRIVATE_HELD: m.private_file = fx.held; break;
	case SHARED_GUEST_ONLY: m.shared_file = fx.guest_shared; break;
	case SLOT_OUT_OF_RANGE: m.slot = 32; break;
	case SLOT_HUGE: m.slot = 0xffffffffU; break;
	case UNKNOWN_FLAGS: m.flags |= 0x2; break;
	case PRIVATE_FLAG_NO_FILE: m.private_file = NULL; break;
	case PRIVATE_FILE_NO_FLAG: m.flags = 0; break;
	case NO_SHARED_FILE: m.shared_file = NULL; break;
	case CHANGE_PRIVATE_SIZE: m = existing(); m.size = 4 * MiB; break;
	case CHANGE_PRIVATE_GPA: m = existing(); m.gpa = RAM; break;
	case CHANGE_PRIVATE_FLAGS:
		m = existing();
		m.flags = 0;
		m.private_file = NULL;
		break;
	case SAME_PRIVATE_AGAIN: m = existing(); break;
	}
	return m;
}

static void test_bad_arguments(void **state)
{
	struct gm_memslot m;

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		int ret;

		m = mutate(cases[i].what);
		ret = gm_vm_set_memslot(fx.vm, &m);
		if (ret != cases[i].err)
			fail_msg("%s: %d, expected %d", cases[i].name, ret, cases[i].err);
		assert_unchanged(cases[i].name);
	}
	/* Nothing the refused calls named was kept: the other VM may take fx.fresh. */
	m = base();
	m.slot = 5;
	m.gpa = FAR;
	m.shared_file = fx.ordinary;
	m.shared_offset = 4 * MiB;
	assert_int_equal(gm_vm_set_memslot(fx.other, &m), 0);
	m.size = 0;
	assert_int_equal(gm_vm_set_memslot(fx.other, &m), 0);
	/* And a valid slot is accepted after all those refusals. */
	m = base();
	assert_int_equal(gm_vm_set_memslot(fx.vm, &m), 0);
	gm_test_assert_no_frames();
}

static void test_null(void **state)
{
	struct gm_memslot m = base();

	assert_int_equal(gm_vm_set_memslot(fx.vm, NULL), -EFAULT);
	assert_int_equal(gm_vm_set_memslot(NULL, &m), -EFAULT);
	assert_unchanged("NULL");
	gm_test_assert_no_frames();
}

/* A private slot cannot change, but it can be deleted and added again. */
static void test_delete_and_readd(void **state)
{
	struct gm_memslot m = existing(), del = { .slot = 2 };
	uint64_t r = 1;

	assert_int_equal(gm_vm_set_memslot(fx.vm, &del), 0);
	assert_int_equal(gm_vm_read_shared(fx.vm, FAR, &r, sizeof(r)), -EFAULT);
	/* Now the ranges it held are free: bind them, changed. */
	m.size = 4 * MiB;
	assert_int_equal(gm_vm_set_memslot(fx.vm, &m), 0);
	assert_int_equal(gm_vm_read_shared(fx.vm, FAR + 3 * MiB, &r, sizeof(r)), 0);
	assert_int_equal(gm_vm_set_memslot(fx.vm, &del), 0);
	m = existing();
	assert_int_equal(gm_vm_set_memslot(fx.vm, &m), 0);
	assert_unchanged("re-added");
	gm_test_assert_no_frames();
}

/* KVM's own answer to deleting a memslot that does not exist, or 0 without KVM. */
static int kvm_delete_missing_slot(void)
{
	struct kvm_userspace_memory_region r = { .slot = 5, .memory_size = 0 };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, ret;
	const char *why;

	if (!gm_test_have_kvm(&why) || kvm < 0) {
		if (kvm >= 0)
			close(kvm);
		printf("  (no KVM to compare with: %s)\n", why);
		return 0;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ret = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
	close(vm);
	close(kvm);
	return ret;
}

/* Deleting a slot that is not there is -EINVAL, as KVM says on this host. */
static void test_delete_missing(void **state)
{
	struct gm_memslot del = { .slot = 5 };
	int kernel = kvm_delete_missing_slot();

	assert_int_equal(gm_vm_set_memslot(fx.vm, &del), -EINVAL);
	if (kernel)
		assert_int_equal(kernel, -EINVAL);
	assert_unchanged("after deleting a missing slot");
}

/* Once the other VM lets go of its private file, this VM may bind it. */
static void test_held_file_released(void **state)
{
	struct gm_memslot m = base(), del = { .slot = 0 };

	m.private_file = fx.held;
	assert_int_equal(gm_vm_set_memslot(fx.vm, &m), -EPERM);
	assert_int_equal(gm_vm_set_memslot(fx.other, &del), 0);
	assert_int_equal(gm_vm_set_memslot(fx.vm, &m), 0);
	gm_test_assert_no_frames();
}

/* One private file may back two slots of the same VM at different offsets. */
static void test_two_slots_one_private_file(void **state)
{
	struct gm_memslot m = base(), del = { .slot = 2 };

	m.private_file = fx.private;
	m.private_offset = 0;
	assert_int_equal(gm_vm_set_memslot(fx.vm, &m), 0);
	/* Deleting one leaves the other registered and working. */
	assert_int_equal(gm_vm_set_memslot(fx.vm, &del), 0);
	assert_int_equal(gm_vm_set_memory_attributes(fx.vm, RAM, 2 * MiB,
						     GM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	assert_int_equal(gm_vm_set_memory_attributes(fx.vm, RAM, 2 * MiB, 0, 0), 0);
	/* The other VM still cannot take it. */
	m.slot = 7;
	m.gpa = FAR;
	m.shared_file = fx.ordinary;
	m.shared_offset = 4 * MiB;
	assert_int_equal(gm_vm_set_memslot(fx.other, &m), -EPERM);
	gm_test_assert_no_frames();
}

/*
 * The VM's hold on a private file its memslot maps is its own: a caller
 * who passes the VM's handle as the owner cannot end it (the fuzzer found
 * that it could, after which the file took a new owner while mapped), and
 * the file stays held against other VMs.
 */
static void ignore_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static void test_vm_hold_not_unregistered(void **state)
{
	static const struct gm_guest_ops guest_ops = { .invalidate_page_range = ignore_invalidate };
	const struct gm_mem_ops *ops;
	int owner;

	assert_int_equal(gm_unregister_guest(fx.held, fx.other), -EINVAL);
	assert_int_equal(gm_register_guest(fx.held, &owner, &guest_ops, &ops), -EPERM);
	assert_int_equal(gm_unregister_guest(fx.held, &owner), -EINVAL);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_readd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_file_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_slots_one_private_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_hold_not_unregistered, setup, teardown),
	};
	const char *why;

	if (!gm_engine_available(GM_ENGINE_EMU, &why))
		gm_test_skip("emu engine: %s", why);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
