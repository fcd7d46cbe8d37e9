// SPDX-License-Identifier: MIT
/*
 * The kvm store: the host kernel's own guest_memfd behind a gm_file.  Its
 * semantics are the kernel's, so each call is made twice, once on the raw fd
 * and once through guestmem, and guestmem must return exactly -errno of the
 * kernel.  As a provider it registers like any guest file, but the kernel
 * does not lend its pages out by frame number: get_lock_pfn is -EOPNOTSUPP
 * and the mapping level is 4 KiB (order-0 folios, as in Linux 6.18).
 *
 * Needs /dev/kvm with KVM_CREATE_GUEST_MEMFD, on a VM of whichever type has
 * it (the default one from Linux 6.18, the software-protected one before:
 * the KVM lab's kernel); skips with the reason otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <guestmem/file.h>
#include <guestmem/provider.h>

#include "array.h"
#include "../common.h"
#include "kvm-caps.h"
#include "kvm-uapi.h"

#define MiB		(1ULL << 20)
#define GMEM_SIZE	(2 * MiB)
#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)

struct fixture {
	int kvm, vm;
	struct gm_file *file;
};

static int kernel_ret(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

static void noop_invalidate(struct gm_file *file, void *owner, uint64_t start, uint64_t end)
{
}

static const struct gm_guest_ops ops = { .invalidate_page_range = noop_invalidate };

/* What the kernel says for one operation, and what guestmem says. */
struct op {
	const char *what;
	int (*kernel)(int fd);
	int (*guestmem)(struct gm_file *file);
	int expect;		/* also required of the kernel; 1 = whatever it says */
};

static int k_truncate_down(int fd) { return kernel_ret(ftruncate(fd, GMEM_SIZE / 2)); }
static int g_truncate_down(struct gm_file *f) { return gm_ftruncate(f, GMEM_SIZE / 2); }
static int k_truncate_up(int fd) { return kernel_ret(ftruncate(fd, 2 * GMEM_SIZE)); }
static int g_truncate_up(struct gm_file *f) { return gm_ftruncate(f, 2 * GMEM_SIZE); }
static int k_truncate_neg(int fd) { return kernel_ret(ftruncate(fd, -1)); }
static int g_truncate_neg(struct gm_file *f) { return gm_ftruncate(f, -1); }
static int k_alloc(int fd) { return kernel_ret(fallocate(fd, 0, 0, GM_PAGE_SIZE)); }
static int g_alloc(struct gm_file *f) { return gm_fallocate(f, 0, 0, GM_PAGE_SIZE); }
static int k_alloc_keep(int fd)
{
	return kernel_ret(fallocate(fd, GM_FALLOC_KEEP_SIZE, 0, GMEM_SIZE));
}
static int g_alloc_keep(struct gm_file *f)
{
	return gm_fallocate(f, GM_FALLOC_KEEP_SIZE, 0, GMEM_SIZE);
}
static int k_alloc_past(int fd)
{
	return kernel_ret(fallocate(fd, GM_FALLOC_KEEP_SIZE, GMEM_SIZE, GM_PAGE_SIZE));
}
static int g_alloc_past(struct gm_file *f)
{
	return gm_fallocate(f, GM_FALLOC_KEEP_SIZE, GMEM_SIZE, GM_PAGE_SIZE);
}
static int k_alloc_unaligned(int fd)
{
	return kernel_ret(fallocate(fd, GM_FALLOC_KEEP_SIZE, 1, GM_PAGE_SIZE));
}
static int g_alloc_unaligned(struct gm_file *f)
{
	return gm_fallocate(f, GM_FALLOC_KEEP_SIZE, 1, GM_PAGE_SIZE);
}
static int k_punch(int fd) { return kernel_ret(fallocate(fd, PUNCH, 0, GMEM_SIZE / 2)); }
static int g_punch(struct gm_file *f) { return gm_fallocate(f, PUNCH, 0, GMEM_SIZE / 2); }
static int k_punch_nokeep(int fd)
{
	return kernel_ret(fallocate(fd, GM_FALLOC_PUNCH_HOLE, 0, GM_PAGE_SIZE));
}
static int g_punch_nokeep(struct gm_file *f)
{
	return gm_fallocate(f, GM_FALLOC_PUNCH_HOLE, 0, GM_PAGE_SIZE);
}
static int k_pread(int fd)
{
	char buf[16];

	return kernel_ret(pread(fd, buf, sizeof(buf), 0));
}
static int g_pread(struct gm_file *f)
{
	char buf[16];

	return (int)gm_pread(f, buf, sizeof(buf), 0);
}
static int k_pwrite(int fd)
{
	char buf[16] = "guestmem";

	return kernel_ret(pwrite(fd, buf, sizeof(buf), 0));
}
static int g_pwrite(struct gm_file *f)
{
	char buf[16] = "guestmem";

	return (int)gm_pwrite(f, buf, sizeof(buf), 0);
}
static int k_seal(int fd) { return kernel_ret(fcntl(fd, F_ADD_SEALS, GM_SEAL_GROW)); }
static int g_seal(struct gm_file *f) { return gm_add_seals(f, GM_SEAL_GROW); }

static const struct op ops_table[] = {
	{ "ftruncate down", k_truncate_down, g_truncate_down, 1 },
	{ "ftruncate up", k_truncate_up, g_truncate_up, 1 },
	{ "ftruncate -1", k_truncate_neg, g_truncate_neg, -EINVAL },
	{ "fallocate without KEEP_SIZE", k_alloc, g_alloc, -EOPNOTSUPP },
	{ "fallocate KEEP_SIZE", k_alloc_keep, g_alloc_keep, 0 },
	{ "fallocate KEEP_SIZE past the end", k_alloc_past, g_alloc_past, 1 },
	{ "fallocate KEEP_SIZE unaligned", k_alloc_unaligned, g_alloc_unaligned, 1 },
	{ "punch hole", k_punch, g_punch, 0 },
	{ "punch hole without KEEP_SIZE", k_punch_nokeep, g_punch_nokeep, -EOPNOTSUPP },
	{ "pread", k_pread, g_pread, 1 },
	{ "pwrite", k_pwrite, g_pwrite, 1 },
	{ "add seals", k_seal, g_seal, 1 },
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct gm_kvm_caps caps;
	const char *why;

	if (!gm_test_have_kvm(&why))
		gm_test_skip("kvm store: %s", why);
	/* The VM type whose guest_memfd works: default (6.18) or sw_protected. */
	gm_kvm_probe(&caps);
	if (!caps.guest_memfd)
		gm_test_skip("kvm store: %s", caps.why);
	if (!f)
		return -1;
	f->kvm = gm_kvm_open();
	assert_true(f->kvm >= 0);
	f->vm = gm_kvm_create_vm(f->kvm, (unsigned long)caps.guest_memfd_vm_type);
	assert_true(f->vm >= 0);
	assert_int_equal(gm_guest_memfd_create(f->vm, GMEM_SIZE, 0, &f->file), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gm_file_put(f->file);
	close(f->vm);
	close(f->kvm);
	free(f);
	gm_test_assert_no_frames();
	return 0;
}

static void test_kernel_semantics(void **state)
{
	struct fixture *f = *state;
	int fd = gm_file_fd(f->file);

	assert_true(fd >= 0);
	assert_int_equal(gm_file_store(f->file), GM_STORE_KVM);
	assert_int_equal(gm_file_size(f->file), GMEM_SIZE);
	for (size_t i = 0; i < GM_ARRAY_SIZE(ops_table); i++) {
		const struct op *op = &ops_table[i];
		int k = op->kernel(fd), g = op->guestmem(f->file);

		print_message("# %-34s kernel %d (%s), guestmem %d\n", op->what, k,
			      k < 0 ? strerror(-k) : "ok", g);
		if (g != k)
			fail_msg("%s: guestmem %d, kernel %d", op->what, g, k);
		if (op->expect != 1 && k != op->expect)
			fail_msg("%s: kernel %d, expected %d", op->what, k, op->expect);
	}
	/* Whatever the kernel allowed, the size is fixed. */
	assert_int_equal(gm_file_size(f->file), GMEM_SIZE);
	/* No pmem frame was ever used: the kernel keeps the pages. */
	assert_int_equal(gm_frames_in_use(), 0);
}

static void test_create_errors(void **state)
{
	struct fixture *f = *state;
	struct gm_file *file = NULL;
	const struct {
		const char *what;
		uint64_t size, flags;
		int want;
	} cases[] = {
		{ "flags 4", GMEM_SIZE, 4, -EINVAL },
		{ "flags bit 63", GMEM_SIZE, 1ULL << 63, -EINVAL },
		{ "size not page aligned", GMEM_SIZE + 1, 0, -EINVAL },
		{ "size 100", 100, 0, -EINVAL },
		{ "size 0", 0, 0, -EINVAL },
	};

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		int ret = gm_guest_memfd_create(f->vm, cases[i].size, cases[i].flags, &file);

		if (ret != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, ret, cases[i].want);
		assert_null(file);
	}
	assert_int_equal(gm_guest_memfd_create(f->vm, GMEM_SIZE, 0, NULL), -EFAULT);
	/* Not a VM fd: whatever /dev/kvm itself answers. */
	{
		struct kvm_create_guest_memfd args = { .size = GMEM_SIZE };
		int k = kernel_ret(ioctl(f->kvm, KVM_CREATE_GUEST_MEMFD, &args));

		assert_true(k < 0);
		assert_int_equal(gm_guest_memfd_create(f->kvm, GMEM_SIZE, 0, &file), k);
	}
	assert_int_equal(gm_guest_memfd_create(-1, GMEM_SIZE, 0, &file), -EBADF);
	assert_null(file);
}

static void test_provider(void **state)
{
	struct fixture *f = *state;
	const struct gm_provider *p = gm_provider_find(f->file);
	const struct gm_mem_ops *mem = NULL;
	gm_pfn_t pfn = GM_PFN_NONE;
	unsigned int order = 0;
	int owner, other;

	assert_non_null(p);
	assert_string_equal(p->name, "kvm");
	assert_int_equal(gm_register_guest(f->file, &owner, &ops, &mem), 0);
	assert_ptr_equal(mem, p->mem_ops);
	assert_int_equal(gm_register_guest(f->file, &other, &ops, &mem), -EPERM);

	assert_int_equal(mem->get_lock_pfn(f->file, 0, &pfn, &order), -EOPNOTSUPP);
	assert_int_equal(pfn, GM_PFN_NONE);
	assert_int_equal(mem->pfn_mapping_level(f->file, 0), GM_LEVEL_4K);
	assert_int_equal(mem->pfn_mapping_level(f->file, GMEM_SIZE / GM_PAGE_SIZE - 1),
			 GM_LEVEL_4K);
	assert_int_equal(mem->pfn_mapping_level(f->file, GMEM_SIZE / GM_PAGE_SIZE), -EINVAL);
	/* The kernel's own punch still works while registered. */
	assert_int_equal(gm_fallocate(f->file, PUNCH, 0, GMEM_SIZE), 0);

	assert_int_equal(gm_unregister_guest(f->file, &other), -EINVAL);
	assert_int_equal(gm_unregister_guest(f->file, &owner), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kernel_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
