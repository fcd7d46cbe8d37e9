// SPDX-License-Identifier: MIT
/*
 * gm_register_guest / gm_unregister_guest / gm_provider_register: every
 * error the API documents, as a table, then the paths that succeed.
 *
 * -EOPNOTSUPP (no provider claims the file) cannot be reached from outside:
 * the built-in providers claim every store kind (shmem, hugetlb, kvm), and a
 * registered provider can only add claims.  It is not faked here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "array.h"
#include "../common.h"

static void noop_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static const struct gm_guest_ops ops = { .invalidate_page_range = noop_invalidate };
static const struct gm_guest_ops no_cb_ops = { .invalidate_page_range = NULL };

static struct gm_file *guest_file(void)
{
	struct gm_file *file;

	assert_int_equal(gm_memfd_create("reg", GM_MFD_GUEST | GM_MFD_ALLOW_SEALING, &file), 0);
	assert_int_equal(gm_ftruncate(file, 1 << 20), 0);
	return file;
}

static void test_register_errors(void **state)
{
	struct gm_file *guest = guest_file(), *ordinary;
	const struct gm_mem_ops *mem = NULL;
	int owner_a, owner_b;
	const struct {
		const char *what;
		struct gm_file *file;
		void *owner;
		const struct gm_guest_ops *ops;
		const struct gm_mem_ops **mem;
		int want;
	} cases[] = {
		{ "NULL owner", guest, NULL, &ops, &mem, -EINVAL },
		{ "NULL guest_ops", guest, &owner_a, NULL, &mem, -EINVAL },
		{ "NULL invalidate", guest, &owner_a, &no_cb_ops, &mem, -EINVAL },
		{ "NULL mem_ops", guest, &owner_a, &ops, NULL, -EINVAL },
		{ "NULL file", NULL, &owner_a, &ops, &mem, -EFAULT },
		{ "NULL file and owner", NULL, NULL, &ops, &mem, -EFAULT },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		int ret = gm_register_guest(cases[i].file, cases[i].owner, cases[i].ops,
					    cases[i].mem);

		if (ret != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, ret, cases[i].want);
	}
	assert_null(mem);

	/* An ordinary file is host memory: never a guest's. */
	assert_int_equal(gm_memfd_create("ordinary", GM_MFD_ALLOW_SEALING, &ordinary), 0);
	assert_int_equal(gm_register_guest(ordinary, &owner_a, &ops, &mem), -EPERM);
	assert_null(mem);
	/* Once sealed guest-only (empty), it can be registered. */
	assert_int_equal(gm_add_seals(ordinary, GM_SEAL_GUEST), 0);
	assert_int_equal(gm_register_guest(ordinary, &owner_a, &ops, &mem), 0);
	assert_non_null(mem);
	assert_int_equal(gm_unregister_guest(ordinary, &owner_a), 0);
	gm_file_put(ordinary);

	/* One owner per file. */
	mem = NULL;
	assert_int_equal(gm_register_guest(guest, &owner_a, &ops, &mem), 0);
	assert_non_null(mem);
	assert_non_null(mem->get_lock_pfn);
	assert_non_null(mem->put_unlock_pfn);
	assert_non_null(mem->pfn_mapping_level);
	assert_int_equal(gm_register_guest(guest, &owner_b, &ops, &mem), -EPERM);
	/* The same owner twice is still a second registration. */
	assert_int_equal(gm_register_guest(guest, &owner_a, &ops, &mem), -EPERM);

	/* Unregister: wrong owner, NULL owner, NULL file. */
	assert_int_equal(gm_unregister_guest(guest, &owner_b), -EINVAL);
	assert_int_equal(gm_unregister_guest(guest, NULL), -EINVAL);
	assert_int_equal(gm_unregister_guest(NULL, &owner_a), -EFAULT);
	assert_int_equal(gm_unregister_guest(guest, &owner_a), 0);
	/* Twice: no longer held. */
	assert_int_equal(gm_unregister_guest(guest, &owner_a), -EINVAL);

	/* The file is free again: the other owner, then the first, may take it. */
	assert_int_equal(gm_register_guest(guest, &owner_b, &ops, &mem), 0);
	assert_int_equal(gm_unregister_guest(guest, &owner_a), -EINVAL);
	assert_int_equal(gm_unregister_guest(guest, &owner_b), 0);
	assert_int_equal(gm_register_guest(guest, &owner_a, &ops, &mem), 0);
	assert_int_equal(gm_unregister_guest(guest, &owner_a), 0);

	gm_file_put(guest);
	gm_test_assert_no_frames();
}

/* A file held by an owner keeps the store's provider ops usable. */
static void test_mem_ops_of_provider(void **state)
{
	struct gm_file *file = guest_file();
	const struct gm_provider *p = gm_provider_find(file);
	const struct gm_mem_ops *mem;
	int owner;

	assert_non_null(p);
	assert_string_equal(p->name, "shmem");
	assert_null(gm_provider_find(NULL));
	assert_int_equal(gm_register_guest(file, &owner, &ops, &mem), 0);
	assert_ptr_equal(mem, p->mem_ops);
	assert_int_equal(gm_unregister_guest(file, &owner), 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

static int fake_owns(struct gm_file *file)
{
	return 0;
}

static int fake_get_lock_pfn(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			     unsigned int *order)
{
	return -EOPNOTSUPP;
}

static void fake_put_unlock_pfn(gm_pfn_t pfn)
{
}

static int fake_level(struct gm_file *file, uint64_t index)
{
	return -EINVAL;
}

static int fake_map_range(struct gm_file *file, uint64_t offset, uint64_t len, void *addr)
{
	return -EINVAL;
}

static void test_provider_register_errors(void **state)
{
	static const struct gm_mem_ops full = {
		.get_lock_pfn = fake_get_lock_pfn,
		.put_unlock_pfn = fake_put_unlock_pfn,
		.pfn_mapping_level = fake_level,
		.map_range = fake_map_range,
	};
	static const struct gm_mem_ops no_get = {
		.put_unlock_pfn = fake_put_unlock_pfn, .pfn_mapping_level = fake_level,
		.map_range = fake_map_range,
	};
	static const struct gm_mem_ops no_put = {
		.get_lock_pfn = fake_get_lock_pfn, .pfn_mapping_level = fake_level,
		.map_range = fake_map_range,
	};
	static const struct gm_mem_ops no_level = {
		.get_lock_pfn = fake_get_lock_pfn, .put_unlock_pfn = fake_put_unlock_pfn,
		.map_range = fake_map_range,
	};
	static const struct gm_mem_ops no_map = {
		.get_lock_pfn = fake_get_lock_pfn, .put_unlock_pfn = fake_put_unlock_pfn,
		.pfn_mapping_level = fake_level,
	};
	static const struct gm_provider cases[] = {
		{ .name = NULL, .owns = fake_owns, .mem_ops = &full },
		{ .name = "t-no-owns", .owns = NULL, .mem_ops = &full },
		{ .name = "t-no-ops", .owns = fake_owns, .mem_ops = NULL },
		{ .name = "t-no-get", .owns = fake_owns, .mem_ops = &no_get },
		{ .name = "t-no-put", .owns = fake_owns, .mem_ops = &no_put },
		{ .name = "t-no-level", .owns = fake_owns, .mem_ops = &no_level },
		{ .name = "t-no-map", .owns = fake_owns, .mem_ops = &no_map },
	};
	static const struct gm_provider dup_shmem = {
		.name = "shmem", .owns = fake_owns, .mem_ops = &full,
	};
	static const struct gm_provider dup_hugetlb = {
		.name = "hugetlb", .owns = fake_owns, .mem_ops = &full,
	};
	static const struct gm_provider fresh = {
		.name = "test-never-claims", .owns = fake_owns, .mem_ops = &full,
	};
	struct gm_file *file;

	assert_int_equal(gm_provider_register(NULL), -EINVAL);
	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		int ret = gm_provider_register(&cases[i]);

		if (ret != -EINVAL)
			fail_msg("incomplete provider %zu (%s): got %d, want -EINVAL", i,
				 cases[i].name ? cases[i].name : "(null name)", ret);
	}
	/* The built-ins are in the registry before anyone registers. */
	assert_int_equal(gm_provider_register(&dup_shmem), -EEXIST);
	assert_int_equal(gm_provider_register(&dup_hugetlb), -EEXIST);
	assert_int_equal(gm_provider_register(&fresh), 0);
	assert_int_equal(gm_provider_register(&fresh), -EEXIST);

	/* The registry holds 16: fill it, then one more is -ENOSPC. */
	{
		static char names[16][16];
		static struct gm_provider more[16];
		int ret = 0, n = 0;

		for (; n < 16; n++) {
			snprintf(names[n], sizeof(names[n]), "test-fill-%d", n);
			more[n] = (struct gm_provider){ .name = names[n], .owns = fake_owns,
						       .mem_ops = &full };
			ret = gm_provider_register(&more[n]);
			if (ret)
				break;
		}
		assert_int_equal(ret, -ENOSPC);
		/* The built-ins and "test-never-claims" took some of the 16. */
		assert_true(n > 0 && n <= 12);
		assert_int_equal(gm_provider_register(&dup_shmem), -EEXIST);
	}

	/* A provider that claims nothing changes nothing for shmem files. */
	file = guest_file();
	assert_string_equal(gm_provider_find(file)->name, "shmem");
	gm_file_put(file);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_mem_ops_of_provider),
		cmocka_unit_test(test_provider_register_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
