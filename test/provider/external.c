/* SPDX-License-Identifier: MIT */
/*
 * A provider written outside the library, with its public headers only,
 * serves a running guest: the seed thread's third layer, where any
 * memory-fd provider can back a VM through one interface.
 *
 * The provider keeps its pages in a sparse memfd of its own and claims one
 * guest-only file.  The memtest guest runs over it on every engine here;
 * the test checks that every private page the guest used came from this
 * provider (the built-in stores hold no frame during the run), that pins
 * balance, and that the pages hold what the guest wrote last.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guestmem.h>

#include "../common.h"
#include "guest-images.h"

#define MiB		(1ULL << 20)
#define RAM		(16 * MiB)
#define PAGES		(RAM / GM_PAGE_SIZE)
/* Our pfns: a base no built-in store uses (theirs carry a backing id in bits 36+). */
#define EXT_PFN_BASE	0xfff0000000000000ULL

/* The provider's state: one file, one memfd, a pin count and a flag per page. */
static struct {
	pthread_mutex_t lock;
	struct gm_file *file;
	int fd;
	_Atomic uint32_t pins[PAGES];
	bool present[PAGES];
	_Atomic uint64_t gets, allocs;
} ext = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

static int ext_owns(struct gm_file *file)
{
	return file == ext.file;
}

static int ext_get_lock_pfn(struct gm_file *file, uint64_t index, gm_pfn_t *pfn,
			    unsigned int *order)
{
	int ret = 0;

	if (file != ext.file || index >= PAGES)
		return -EINVAL;
	pthread_mutex_lock(&ext.lock);
	if (!ext.present[index]) {
		/* Allocated and zeroed by the kernel, in our memfd at the page's offset. */
		if (fallocate(ext.fd, 0, (off_t)(index * GM_PAGE_SIZE), GM_PAGE_SIZE) < 0)
			ret = -ENOMEM;
		else
			ext.present[index] = true;
		atomic_fetch_add(&ext.allocs, !ret);
	}
	pthread_mutex_unlock(&ext.lock);
	if (ret)
		return ret;
	atomic_fetch_add(&ext.pins[index], 1);
	atomic_fetch_add(&ext.gets, 1);
	*pfn = EXT_PFN_BASE + index;
	if (order)
		*order = 0;
	return 0;
}

static void ext_put_unlock_pfn(gm_pfn_t pfn)
{
	uint64_t index = pfn - EXT_PFN_BASE;

	if (index < PAGES && atomic_load(&ext.pins[index]))
		atomic_fetch_sub(&ext.pins[index], 1);
}

static int ext_mapping_level(struct gm_file *file, uint64_t index)
{
	return file == ext.file && index < PAGES ? GM_LEVEL_4K : -EINVAL;
}

static int ext_map_range(struct gm_file *file, uint64_t offset, uint64_t len, void *addr)
{
	void *p;

	if (file != ext.file || offset + len > RAM)
		return -EINVAL;
	p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE,
		 ext.fd, (off_t)offset);
	return p == MAP_FAILED ? -errno : 0;
}

static const struct gm_mem_ops ext_ops = {
	.get_lock_pfn = ext_get_lock_pfn,
	.put_unlock_pfn = ext_put_unlock_pfn,
	.pfn_mapping_level = ext_mapping_level,
	.map_range = ext_map_range,
};

static const struct gm_provider ext_provider = {
	.name = "test-external", .owns = ext_owns, .mem_ops = &ext_ops,
};

static struct gm_file *sized_file(unsigned int flags, uint64_t size)
{
	struct gm_file *f;

	assert_int_equal(gm_memfd_create("external", flags, &f), 0);
	assert_int_equal(gm_ftruncate(f, (off_t)size), 0);
	return f;
}

static void run_memtest(enum gm_engine_kind engine)
{
	const struct gm_guest_image *img = gm_guest_image_find("memtest");
	struct gm_file *boot = sized_file(GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE);
	struct gm_file *shared = sized_file(GM_MFD_CLOEXEC, RAM);
	struct gm_memslot boot_slot = { .slot = 0, .size = GM_GUEST_BOOT_SIZE, .shared_file = boot };
	struct gm_memslot ram_slot = {
		.slot = 1, .flags = GM_SLOT_PRIVATE, .gpa = GM_GUEST_RAM_BASE, .size = RAM,
		.shared_file = shared, .private_file = ext.file,
	};
	struct gm_vm_boot vm_boot = {
		.ram_base = GM_GUEST_RAM_BASE, .ram_size = RAM, .nr_vcpus = 2,
		.flags = GM_GUEST_F_PRIVATE,
	};
	struct gm_exit exits[2];
	struct gm_vm_stats st;
	struct gm_vm *vm;

	assert_non_null(img);
	vm_boot.code = img->start;
	vm_boot.code_size = img->size;
	assert_int_equal(gm_vm_create(engine, &vm), 0);
	assert_int_equal(gm_vm_set_memslot(vm, &boot_slot), 0);
	assert_int_equal(gm_vm_set_memslot(vm, &ram_slot), 0);
	assert_int_equal(gm_vm_set_memory_attributes(vm, GM_GUEST_RAM_BASE, RAM,
						     GM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
	assert_int_equal(gm_vm_boot(vm, &vm_boot), 0);
	assert_int_equal(gm_vm_run(vm, NULL, exits), 0);
	gm_vm_get_stats(vm, &st);
	printf("  %s: %llu get_lock_pfn calls, %llu pages allocated by the provider\n",
	       gm_vm_engine_name(vm), (unsigned long long)atomic_load(&ext.gets),
	       (unsigned long long)atomic_load(&ext.allocs));
	assert_int_equal(exits[0].status, 0);
	assert_int_equal(exits[1].status, 0);
	assert_int_equal(st.report[GM_REPORT_MISMATCHES], 0);
	assert_true(st.report[GM_REPORT_CHECKS] > 0);
	/* Every private page came from us; the built-in stores gave nothing. */
	assert_int_equal(atomic_load(&ext.allocs), PAGES);
	assert_int_equal(gm_frames_in_use(), 0);
	for (uint64_t i = 0; i < PAGES; i++)
		assert_int_equal(atomic_load(&ext.pins[i]), 0);
	gm_vm_destroy(vm);
	gm_file_put(boot);
	gm_file_put(shared);
}

static int setup(void **state)
{
	ext.fd = memfd_create("test-external", MFD_CLOEXEC);
	if (ext.fd < 0 || ftruncate(ext.fd, (off_t)RAM) < 0)
		return -1;
	ext.file = sized_file(GM_MFD_GUEST, RAM);
	return gm_provider_register(&ext_provider);
}

static int teardown(void **state)
{
	gm_file_put(ext.file);
	close(ext.fd);
	return 0;
}

/* The provider's pages hold what the guest left: our memfd is the guest's memory. */
static void check_contents_nonzero(void)
{
	uint64_t nonzero = 0, word;

	for (uint64_t i = 0; i < PAGES; i++) {
		assert_int_equal(pread(ext.fd, &word, sizeof(word), (off_t)(i * GM_PAGE_SIZE)),
				 sizeof(word));
		nonzero += word != 0;
	}
	assert_true(nonzero > 0);
}

static void run_fresh(enum gm_engine_kind engine)
{
	/* Each engine starts from an empty provider. */
	assert_int_equal(fallocate(ext.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, RAM), 0);
	memset(ext.present, 0, sizeof(ext.present));
	atomic_store(&ext.gets, 0);
	atomic_store(&ext.allocs, 0);
	run_memtest(engine);
	check_contents_nonzero();
}

static void test_external_provider_serves_guest(void **state)
{
	const char *why;
	int runs = 0;

	if (gm_engine_available(GM_ENGINE_EMU, &why)) {
		run_fresh(GM_ENGINE_EMU);
		runs++;
	} else {
		printf("  emu engine not run: %s\n", why);
	}
	if (gm_test_have_kvm(&why)) {
		run_fresh(GM_ENGINE_KVM);
		runs++;
	} else {
		printf("  kvm engine not run: %s\n", why);
	}
	if (!runs)
		gm_test_skip("no engine runs here");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_external_provider_serves_guest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
