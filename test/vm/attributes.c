// SPDX-License-Identifier: MIT
/*
 * gm_vm_set_memory_attributes: KVM_SET_MEMORY_ATTRIBUTES' checks and errno,
 * all or nothing, and conversion freeing the side no longer in use (to
 * private: the shared file's range is punched; to shared: the private
 * file's frames are freed).  Making pages shared succeeds wherever they
 * are, as in KVM: over a hole or a slot with no private file it changes
 * nothing.  A slot over an in-place file starts from the file's page
 * states.  On an emu VM; the attribute logic is the vm layer's, whatever
 * the engine.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "array.h"
#include "vmtest.h"

#define SLOT_SIZE	(4 * MiB)
#define PLAIN		(GM_GUEST_RAM_BASE + 8 * MiB)	/* a slot without a private file */
#define PLAIN_SIZE	(2 * MiB)

static struct vmtest t;
static struct gm_file *plain_file;

static int setup(void **state)
{
	struct gm_memslot plain = { .slot = 2, .gpa = PLAIN, .size = PLAIN_SIZE };

	vmtest_create(&t, GM_ENGINE_EMU, SLOT_SIZE, true);
	plain_file = vmtest_file(GM_MFD_CLOEXEC, PLAIN_SIZE);
	plain.shared_file = plain_file;
	assert_int_equal(gm_vm_set_memslot(t.vm, &plain), 0);
	return 0;
}

static int teardown(void **state)
{
	vmtest_destroy(&t);
	gm_file_put(plain_file);
	gm_test_assert_no_frames();
	return 0;
}

/* One byte per page of the private slot: 1 if private. */
static void snapshot(uint8_t *attrs)
{
	for (uint64_t i = 0; i < SLOT_SIZE / GM_PAGE_SIZE; i++) {
		int64_t a = gm_vm_get_memory_attributes(t.vm, GM_GUEST_RAM_BASE + i * GM_PAGE_SIZE);

		assert_true(a == 0 || a == PRIVATE);
		attrs[i] = a == PRIVATE;
	}
}

static const struct {
	const char *name;
	uint64_t gpa, size, attributes, flags;
	int err;
} bad[] = {
	{ "flags != 0", GM_GUEST_RAM_BASE, GM_PAGE_SIZE, PRIVATE, 1, -EINVAL },
	{ "flags high bit", GM_GUEST_RAM_BASE, GM_PAGE_SIZE, 0, 1ULL << 63, -EINVAL },
	{ "unknown attribute bit 0", GM_GUEST_RAM_BASE, GM_PAGE_SIZE, 1, 0, -EINVAL },
	{ "unknown attribute bit 4", GM_GUEST_RAM_BASE, GM_PAGE_SIZE, PRIVATE | 16, 0, -EINVAL },
	{ "size 0", GM_GUEST_RAM_BASE, 0, PRIVATE, 0, -EINVAL },
	{ "gpa + size overflows", ~0xfffULL, 0x2000, PRIVATE, 0, -EINVAL },
	{ "gpa + size wraps to 0", ~0xfffULL + 1 - 0x1000, 0x1000 + (~0xfffULL + 1), PRIVATE, 0,
	  -EINVAL },
	{ "misaligned gpa", GM_GUEST_RAM_BASE + 0x800, GM_PAGE_SIZE, PRIVATE, 0, -EINVAL },
	{ "misaligned size", GM_GUEST_RAM_BASE, 0x800, PRIVATE, 0, -EINVAL },
	{ "no slot", GM_GUEST_RAM_BASE + 16 * MiB, GM_PAGE_SIZE, PRIVATE, 0, -EINVAL },
	{ "slot without a private file", PLAIN, GM_PAGE_SIZE, PRIVATE, 0, -EINVAL },
	{ "private slot, then past its end", GM_GUEST_RAM_BASE + 2 * MiB, 4 * MiB, PRIVATE, 0,
	  -EINVAL },
	{ "private slot, then a plain slot", GM_GUEST_RAM_BASE, 8 * MiB + GM_PAGE_SIZE, PRIVATE, 0,
	  -EINVAL },
};

static void test_errors(void **state)
{
	uint8_t before[SLOT_SIZE / GM_PAGE_SIZE], after[SLOT_SIZE / GM_PAGE_SIZE];

	/* A mixed starting state, so that "nothing changed" means something. */
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + MiB, MiB,
						     PRIVATE, 0), 0);
	snapshot(before);
	for (size_t i = 0; i < GM_ARRAY_SIZE(bad); i++) {
		int ret = gm_vm_set_memory_attributes(t.vm, bad[i].gpa, bad[i].size,
						      bad[i].attributes, bad[i].flags);

		if (ret != bad[i].err)
			fail_msg("%s: %d, expected %d", bad[i].name, ret, bad[i].err);
		snapshot(after);
		if (memcmp(before, after, sizeof(before)))
			fail_msg("%s: refused, yet attributes changed", bad[i].name);
	}
	assert_int_equal(gm_vm_set_memory_attributes(NULL, GM_GUEST_RAM_BASE, GM_PAGE_SIZE,
						     PRIVATE, 0), -EFAULT);
	/* Pages outside any private slot read as shared. */
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, PLAIN), 0);
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, GM_GUEST_RAM_BASE + 16 * MiB), 0);
	gm_test_assert_no_frames();
}

/* Exactly the range converts; the default is shared; converting twice is fine. */
static void test_range_exact(void **state)
{
	uint64_t lo = GM_GUEST_RAM_BASE + 3 * GM_PAGE_SIZE, len = 5 * GM_PAGE_SIZE;

	assert_int_equal(gm_vm_get_memory_attributes(t.vm, lo), 0);
	for (int round = 0; round < 2; round++)
		assert_int_equal(gm_vm_set_memory_attributes(t.vm, lo, len, PRIVATE, 0), 0);
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, lo - GM_PAGE_SIZE), 0);
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, lo), PRIVATE);
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, lo + len - GM_PAGE_SIZE), PRIVATE);
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, lo + len), 0);
	/* The shared alias names the same page. */
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, lo | GM_GUEST_SHARED_BIT), PRIVATE);
	for (int round = 0; round < 2; round++)
		assert_int_equal(gm_vm_set_memory_attributes(t.vm, lo, len, 0, 0), 0);
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, lo), 0);
	gm_test_assert_no_frames();
}

/* To private: the shared copy is punched (reads zero), and the host cannot reach it. */
static void test_to_private_frees_shared(void **state)
{
	static uint8_t buf[2 * GM_PAGE_SIZE], back[2 * GM_PAGE_SIZE];
	uint64_t gpa = GM_GUEST_RAM_BASE + 2 * MiB;

	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(gm_vm_write_shared(t.vm, gpa, buf, sizeof(buf)), 0);
	assert_int_equal(gm_pread(t.shared, back, sizeof(back), 2 * MiB), (ssize_t)sizeof(back));
	assert_memory_equal(back, buf, sizeof(buf));
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, gpa, GM_PAGE_SIZE, PRIVATE, 0), 0);
	assert_int_equal(gm_pread(t.shared, back, sizeof(back), 2 * MiB), (ssize_t)sizeof(back));
	gm_test_assert_zero(back, GM_PAGE_SIZE);
	/* The neighbour stays shared and keeps its data. */
	assert_memory_equal(back + GM_PAGE_SIZE, buf, GM_PAGE_SIZE);
	assert_int_equal(gm_vm_read_shared(t.vm, gpa, back, 8), -EPERM);
	assert_int_equal(gm_vm_write_shared(t.vm, gpa, buf, 8), -EPERM);
	assert_int_equal(gm_vm_read_shared(t.vm, gpa + GM_PAGE_SIZE, back, 8), 0);
	/* Back to shared: reads zero, not the old data. */
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, gpa, GM_PAGE_SIZE, 0, 0), 0);
	assert_int_equal(gm_vm_read_shared(t.vm, gpa, back, GM_PAGE_SIZE), 0);
	gm_test_assert_zero(back, GM_PAGE_SIZE);
	gm_test_assert_no_frames();
}

/* To shared: the private file's frames for the range are freed. */
static void test_to_shared_frees_private(void **state)
{
	uint64_t off = MiB, len = 16 * GM_PAGE_SIZE;
	uint64_t held;

	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, SLOT_SIZE,
						     PRIVATE, 0), 0);
	/* Populate the whole private file, as a guest touching it all would. */
	assert_int_equal(gm_fallocate(t.private, GM_FALLOC_KEEP_SIZE, 0, SLOT_SIZE), 0);
	held = gm_file_pages_held(t.private);
	assert_int_equal(held, SLOT_SIZE / GM_PAGE_SIZE);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + off, len, 0, 0), 0);
	assert_int_equal(gm_file_pages_held(t.private), held - len / GM_PAGE_SIZE);
	/* All or nothing: a refused conversion frees nothing. */
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + 2 * MiB, 4 * MiB,
						     PRIVATE, 0), -EINVAL);
	assert_int_equal(gm_file_pages_held(t.private), held - len / GM_PAGE_SIZE);
	/* The rest, then nothing is held. */
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, SLOT_SIZE, 0, 0), 0);
	assert_int_equal(gm_file_pages_held(t.private), 0);
	gm_test_assert_no_frames();
}

/* To shared anywhere: holes and plain slots are skipped, private slots convert. */
static void test_shared_anywhere(void **state)
{
	const uint64_t hole = GM_GUEST_RAM_BASE + 16 * MiB;
	uint8_t attrs[SLOT_SIZE / GM_PAGE_SIZE];

	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE, SLOT_SIZE,
						     PRIVATE, 0), 0);
	assert_int_equal(gm_fallocate(t.private, GM_FALLOC_KEEP_SIZE, 0, SLOT_SIZE), 0);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, hole, GM_PAGE_SIZE, 0, 0), 0);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, PLAIN, PLAIN_SIZE, 0, 0), 0);
	assert_int_equal(gm_file_pages_held(t.private), SLOT_SIZE / GM_PAGE_SIZE);
	/* The slot's last 2 MiB, the hole after it, and the plain slot. */
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_RAM_BASE + 2 * MiB,
						     PLAIN + PLAIN_SIZE - GM_GUEST_RAM_BASE - 2 * MiB,
						     0, 0), 0);
	snapshot(attrs);
	for (uint64_t i = 0; i < SLOT_SIZE / GM_PAGE_SIZE; i++)
		assert_int_equal(attrs[i], i < 2 * MiB / GM_PAGE_SIZE);
	assert_int_equal(gm_file_pages_held(t.private), 2 * MiB / GM_PAGE_SIZE);
	/* Private is refused wherever a page cannot be private. */
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, hole, GM_PAGE_SIZE, PRIVATE, 0), -EINVAL);
}

/*
 * An address with the shared bit is an alias, in no slot: made shared it
 * changes nothing, made private it is -EINVAL, and a range that runs from
 * the top slot past the bit is refused whole.  Looked up as the page it
 * aliases, it once gave a piece that ended before it began (fuzz-ops).
 */
static void test_alias_addresses(void **state)
{
	struct gm_memslot top = { .slot = 3, .gpa = GM_GUEST_SHARED_BIT - 2 * MiB, .size = 2 * MiB,
				  .flags = GM_SLOT_PRIVATE };
	struct gm_file *file = vmtest_file(GM_MFD_GUEST | GM_MFD_GUEST_MMAP, 2 * MiB);
	uint64_t alias = (GM_GUEST_RAM_BASE + GM_PAGE_SIZE) | GM_GUEST_SHARED_BIT;
	uint8_t before[SLOT_SIZE / GM_PAGE_SIZE], after[SLOT_SIZE / GM_PAGE_SIZE];

	top.shared_file = top.private_file = file;
	assert_int_equal(gm_vm_set_memslot(t.vm, &top), 0);
	snapshot(before);
	assert_int_equal(gm_vm_set_memory_attributes2(t.vm, alias, 4 * GM_PAGE_SIZE, 0,
						      GM_CONVERT_ZERO, NULL), 0);
	assert_int_equal(gm_vm_set_memory_attributes2(t.vm, alias, 4 * GM_PAGE_SIZE, PRIVATE,
						      GM_CONVERT_PRESERVE, NULL), -EINVAL);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, alias, 4 * GM_PAGE_SIZE, PRIVATE, 0),
			 -EINVAL);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_SHARED_BIT - GM_PAGE_SIZE,
						     2 * GM_PAGE_SIZE, PRIVATE, 0), -EINVAL);
	assert_int_equal(gm_vm_set_memory_attributes(t.vm, GM_GUEST_SHARED_BIT - GM_PAGE_SIZE,
						     2 * GM_PAGE_SIZE, 0, 0), 0);
	snapshot(after);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(gm_vm_get_memory_attributes(t.vm, GM_GUEST_SHARED_BIT - GM_PAGE_SIZE),
			 0);
	assert_int_equal(gm_vm_set_memslot(t.vm, &(struct gm_memslot){ .slot = 3 }), 0);
	gm_file_put(file);
}

/*
 * In place, zeroing rewrites the file: a write seal refuses it before the
 * VM's attribute changes, as the file itself refuses it; keeping the bytes
 * is allowed (fuzz-ops found the attribute changed and the file not).
 */
static void test_in_place_write_seal(void **state)
{
	struct gm_memslot ram = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = SLOT_SIZE,
				  .flags = GM_SLOT_PRIVATE };
	struct gm_file *file = vmtest_file(GM_MFD_GUEST | GM_MFD_GUEST_MMAP |
					   GM_MFD_ALLOW_SEALING, SLOT_SIZE);
	struct gm_vm *vm;

	assert_int_equal(gm_vm_create(GM_ENGINE_EMU, &vm), 0);
	ram.shared_file = ram.private_file = file;
	assert_int_equal(gm_vm_set_memslot(vm, &ram), 0);
	assert_int_equal(gm_add_seals(file, GM_SEAL_WRITE), 0);
	assert_int_equal(gm_vm_set_memory_attributes2(vm, GM_GUEST_RAM_BASE, 4 * GM_PAGE_SIZE, 0,
						      GM_CONVERT_ZERO, NULL), -EPERM);
	assert_int_equal(gm_vm_get_memory_attributes(vm, GM_GUEST_RAM_BASE), PRIVATE);
	assert_int_equal(gm_file_get_attributes(file, 0), GM_FILE_ATTR_PRIVATE);
	assert_int_equal(gm_vm_set_memory_attributes2(vm, GM_GUEST_RAM_BASE, 4 * GM_PAGE_SIZE, 0,
						      GM_CONVERT_PRESERVE, NULL), 0);
	assert_int_equal(gm_vm_get_memory_attributes(vm, GM_GUEST_RAM_BASE), 0);
	assert_int_equal(gm_file_get_attributes(file, 0), 0);
	gm_vm_destroy(vm);
	gm_file_put(file);
}

/*
 * A slot over an in-place file starts from the file's attributes, page by
 * page, however they are mixed, and at an offset into the file.
 */
static void test_in_place_slot_takes_file_state(void **state)
{
	/* File pages made shared; the slot maps file pages [16, 1040). */
	static const uint64_t shared[][2] = { { 0, 1 }, { 5, 9 }, { 511, 513 }, { 700, 1024 },
					      { 1039, 1041 }, { 1050, 1056 } };
	struct gm_memslot ram = { .slot = 1, .gpa = GM_GUEST_RAM_BASE, .size = SLOT_SIZE,
				  .private_offset = 16 * GM_PAGE_SIZE,
				  .shared_offset = 16 * GM_PAGE_SIZE, .flags = GM_SLOT_PRIVATE };
	struct gm_file *file = vmtest_file(GM_MFD_GUEST | GM_MFD_GUEST_MMAP,
					   SLOT_SIZE + 32 * GM_PAGE_SIZE);
	uint8_t attrs[SLOT_SIZE / GM_PAGE_SIZE];
	struct gm_vm *vm;

	for (size_t i = 0; i < GM_ARRAY_SIZE(shared); i++)
		assert_int_equal(gm_file_set_attributes(file, (off_t)(shared[i][0] * GM_PAGE_SIZE),
							(off_t)((shared[i][1] - shared[i][0]) *
								GM_PAGE_SIZE),
							0, GM_CONVERT_ZERO, NULL), 0);
	assert_int_equal(gm_vm_create(GM_ENGINE_EMU, &vm), 0);
	ram.shared_file = ram.private_file = file;
	assert_int_equal(gm_vm_set_memslot(vm, &ram), 0);
	for (uint64_t i = 0; i < SLOT_SIZE / GM_PAGE_SIZE; i++) {
		int64_t a = gm_vm_get_memory_attributes(vm, GM_GUEST_RAM_BASE + i * GM_PAGE_SIZE);
		int64_t f = gm_file_get_attributes(file, (off_t)((16 + i) * GM_PAGE_SIZE));

		assert_true(f == 0 || f == GM_FILE_ATTR_PRIVATE);
		if ((a == PRIVATE) != (f == GM_FILE_ATTR_PRIVATE))
			fail_msg("page %llu: the slot says %lld, the file %lld",
				 (unsigned long long)i, (long long)a, (long long)f);
		attrs[i] = a == PRIVATE;
	}
	/* Both kinds are there: the file's runs did not collapse into one. */
	assert_non_null(memchr(attrs, 0, sizeof(attrs)));
	assert_non_null(memchr(attrs, 1, sizeof(attrs)));
	gm_vm_destroy(vm);
	gm_file_put(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_to_private_frees_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_to_shared_frees_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_addresses, setup, teardown),
		cmocka_unit_test(test_in_place_slot_takes_file_state),
		cmocka_unit_test(test_in_place_write_seal),
	};

	gm_test_require_engine(GM_ENGINE_EMU);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
