// SPDX-License-Identifier: MIT
/*
 * gm_linux_image_build() on a synthetic bzImage: a buffer with just the
 * setup header fields the boot protocol asks a loader to read, and some
 * payload.  What the VMM would copy into RAM is read back through the
 * regions: the entry state, boot_params, the identity page tables, the MP
 * table; and each refusal returns its errno and leaves nothing to free.
 */
#include <errno.h>
#include <string.h>

#include "array.h"
#include "common.h"
#include "linux-boot.h"

#define MiB		(1ULL << 20)
#define GiB		(1ULL << 30)
#define SETUP_SECTS	4
#define PM_OFF		((SETUP_SECTS + 1) * 512)
#define PAYLOAD		8192
#define KERNEL_LEN	(PM_OFF + PAYLOAD)
#define INIT_SIZE	(8 * MiB)
#define PREF_ADDRESS	0x1000000ULL
#define CMDLINE_SIZE	2047
#define MEM		(64 * MiB)
#define CMDLINE		"console=ttyS0 panic=-1"

static uint8_t kernel[KERNEL_LEN];
static uint8_t initrd[16 * MiB];	/* bss: only the bytes a case touches are faulted in */

static void put(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* A bzImage as far as the boot protocol's loader sees one. */
static void make_kernel(void)
{
	memset(kernel, 0, sizeof(kernel));
	kernel[0x1f1] = SETUP_SECTS;
	put(kernel + 0x1fe, 0xaa55, 2);
	kernel[0x200] = 0xeb;			/* jmp short */
	kernel[0x201] = 0x66;			/* the header ends at 0x268 */
	memcpy(kernel + 0x202, "HdrS", 4);
	put(kernel + 0x206, 0x020f, 2);
	kernel[0x211] = 0x01;			/* LOADED_HIGH */
	put(kernel + 0x22c, 0x7fffffff, 4);	/* initrd_addr_max */
	put(kernel + 0x230, 2 * MiB, 4);	/* kernel_alignment */
	kernel[0x234] = 1;			/* relocatable_kernel */
	put(kernel + 0x236, 1, 2);		/* XLF_KERNEL_64 */
	put(kernel + 0x238, CMDLINE_SIZE, 4);
	put(kernel + 0x258, PREF_ADDRESS, 8);
	put(kernel + 0x260, INIT_SIZE, 4);
	for (size_t i = PM_OFF; i < KERNEL_LEN; i++)
		kernel[i] = (uint8_t)(i * 7);
}

/* The bytes the image puts at [gpa, gpa + len): all inside one region. */
static const uint8_t *at(const struct gm_linux_image *img, uint64_t gpa, size_t len)
{
	for (unsigned int i = 0; i < img->nr_regions; i++) {
		const struct gm_linux_region *r = &img->regions[i];

		if (gpa >= r->gpa && gpa + len <= r->gpa + r->len)
			return (const uint8_t *)r->data + (gpa - r->gpa);
	}
	fail_msg("nothing at gpa %#llx (+%zu)", (unsigned long long)gpa, len);
	return NULL;
}

static void build(struct gm_linux_image *img, size_t initrd_len, unsigned int nr_vcpus)
{
	make_kernel();
	assert_int_equal(gm_linux_image_build(img, kernel, KERNEL_LEN, initrd, initrd_len,
					      CMDLINE, MEM, nr_vcpus), 0);
}

static void test_entry_state(void **state)
{
	struct gm_linux_image img;

	build(&img, 0, 1);
	assert_int_equal(img.entry, 0x100200);
	assert_int_equal(img.kernel_load, 0x100000);
	assert_int_equal(img.kernel_len, PAYLOAD);
	assert_int_equal(img.boot_params, 0x7000);
	assert_int_equal(img.cr3, 0x9000);
	assert_int_equal(img.gdt_base, 0x500);
	assert_int_equal(img.gdt_limit, 31);
	assert_int_equal(get(at(&img, 0x500, 8), 8), 0);
	assert_int_equal(get(at(&img, 0x510, 8), 8), 0x00af9b000000ffffULL);
	assert_int_equal(get(at(&img, 0x518, 8), 8), 0x00cf93000000ffffULL);
	assert_memory_equal(at(&img, 0x100000, PAYLOAD), kernel + PM_OFF, PAYLOAD);
	assert_int_equal(img.initrd_len, 0);
	gm_linux_image_free(&img);
	assert_null(img.owned);
	assert_int_equal(img.nr_regions, 0);
}

static void test_regions(void **state)
{
	struct gm_linux_image img;
	uint64_t end = 0;

	build(&img, 5000, 4);
	assert_int_equal(img.nr_regions, 7);
	for (unsigned int i = 0; i < img.nr_regions; i++) {
		const struct gm_linux_region *r = &img.regions[i];

		assert_non_null(r->data);
		assert_true(r->len > 0);
		assert_true(r->gpa >= end);
		end = r->gpa + r->len;
		assert_true(end <= MEM);
	}
	assert_ptr_equal(img.regions[6].data, initrd);
	assert_int_equal(img.regions[6].gpa, img.initrd_gpa);
	gm_linux_image_free(&img);
}

static void check_e820(const uint8_t *bp, unsigned int i, uint64_t addr, uint64_t size,
		       uint32_t type)
{
	const uint8_t *e = bp + 0x2d0 + i * 20;

	assert_int_equal(get(e, 8), addr);
	assert_int_equal(get(e + 8, 8), size);
	assert_int_equal(get(e + 16, 4), type);
}

static void test_boot_params(void **state)
{
	struct gm_linux_image img;
	const uint8_t *bp;
	uint64_t cmd, rd;

	build(&img, 5000, 2);
	bp = at(&img, img.boot_params, 4096);
	assert_memory_equal(bp + 0x1f1, kernel + 0x1f1, 0x1fa - 0x1f1);	/* to vid_mode */
	assert_memory_equal(bp + 0x1fc, kernel + 0x1fc, 0x210 - 0x1fc);
	assert_int_equal(bp[0x210], 0xff);		/* type_of_loader */
	assert_int_equal(bp[0x211], 0x81);		/* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(get(bp + 0x224, 2), 0xfe00);
	assert_int_equal(get(bp + 0x1fa, 2), 0xffff);
	assert_int_equal(get(bp + 0x260, 4), INIT_SIZE);	/* header copied */

	cmd = get(bp + 0x228, 4) | get(bp + 0x0c8, 4) << 32;
	assert_int_equal(cmd, 0x20000);
	assert_string_equal((const char *)at(&img, cmd, sizeof(CMDLINE)), CMDLINE);

	rd = get(bp + 0x218, 4) | get(bp + 0x0c0, 4) << 32;
	assert_int_equal(rd, img.initrd_gpa);
	assert_int_equal(get(bp + 0x21c, 4) | get(bp + 0x0c4, 4) << 32, 5000);
	assert_int_equal(rd, (MEM - 5000) & ~0xfffULL);	/* as high as it goes */
	assert_true(rd >= PREF_ADDRESS + INIT_SIZE);

	assert_int_equal(bp[0x1e8], 3);
	check_e820(bp, 0, 0, 0x9fc00, 1);
	check_e820(bp, 1, 0x9fc00, 0x100000 - 0x9fc00, 2);
	check_e820(bp, 2, 0x100000, MEM - 0x100000, 1);
	gm_linux_image_free(&img);
}

/* The initrd ends at or below initrd_addr_max + 1 when that is below RAM's end. */
static void test_initrd_addr_max(void **state)
{
	struct gm_linux_image img;

	make_kernel();
	put(kernel + 0x22c, 48 * MiB - 1, 4);
	assert_int_equal(gm_linux_image_build(&img, kernel, KERNEL_LEN, initrd, 3 * MiB + 1,
					      NULL, MEM, 1), 0);
	assert_int_equal(img.initrd_gpa, (45 * MiB - 1) & ~0xfffULL);
	assert_int_equal(*at(&img, 0x20000, 1), 0);	/* NULL: an empty command line */
	gm_linux_image_free(&img);
}

/* Walk the tables from cr3: every 2 MiB of [0, 4 GiB) maps to itself. */
static void test_page_tables(void **state)
{
	struct gm_linux_image img;
	uint64_t va, pml4e, pdpte, pde;

	build(&img, 0, 1);
	for (va = 0; va < 4 * GiB; va += 2 * MiB) {
		pml4e = get(at(&img, img.cr3 + (va >> 39 & 511) * 8, 8), 8);
		assert_int_equal(pml4e & 3, 3);
		pdpte = get(at(&img, (pml4e & ~0xfffULL) + (va >> 30 & 511) * 8, 8), 8);
		assert_int_equal(pdpte & 0x83, 3);
		pde = get(at(&img, (pdpte & ~0xfffULL) + (va >> 21 & 511) * 8, 8), 8);
		assert_int_equal(pde & 0x83, 0x83);
		assert_int_equal(pde & ~0x1fffffULL, va);
	}
	gm_linux_image_free(&img);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static void check_mp_table(unsigned int nr_vcpus)
{
	unsigned int cpus = 0, ioints = 0, n, i;
	struct gm_linux_image img;
	const uint8_t *mpf, *mpc, *e;
	uint64_t len;

	build(&img, 0, nr_vcpus);
	mpf = at(&img, 0x9fc00, 16);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(sum(mpf, 16), 0);
	assert_int_equal(mpf[9], 4);
	mpc = at(&img, get(mpf + 4, 4), 44);
	assert_memory_equal(mpc, "PCMP", 4);
	len = get(mpc + 4, 2);
	assert_true(get(mpf + 4, 4) + len <= 0xa0000);
	mpc = at(&img, get(mpf + 4, 4), len);
	assert_int_equal(sum(mpc, len), 0);
	assert_int_equal(get(mpc + 36, 4), 0xfee00000);

	n = get(mpc + 34, 2);
	for (e = mpc + 44, i = 0; i < n; i++) {
		assert_true(e < mpc + len);
		if (e[0] == 0) {
			assert_int_equal(e[1], cpus);
			assert_int_equal(e[3], cpus == 0 ? 3 : 1);
			cpus++;
		} else if (e[0] == 2) {
			assert_int_equal(e[1], nr_vcpus);
			assert_int_equal(get(e + 4, 4), 0xfec00000);
		} else if (e[0] == 3) {
			assert_int_equal(e[5], e[7]);	/* ISA IRQ n to pin n */
			ioints++;
		}
		e += e[0] == 0 ? 20 : 8;
	}
	assert_ptr_equal(e, mpc + len);
	assert_int_equal(cpus, nr_vcpus);
	assert_int_equal(ioints, 16);
	gm_linux_image_free(&img);
}

static void test_mp_table(void **state)
{
	check_mp_table(1);
	check_mp_table(4);
	check_mp_table(GM_LINUX_MAX_VCPUS);
}

/* ---- refusals ---- */

struct args {
	const void *kernel;
	size_t kernel_len;
	size_t initrd_len;
	const char *cmdline;
	uint64_t mem;
	unsigned int nr_vcpus;
};

static char long_cmdline[CMDLINE_SIZE + 2];

static void no_kernel(struct args *a) { a->kernel = NULL; }
static void no_vcpus(struct args *a) { a->nr_vcpus = 0; }
static void many_vcpus(struct args *a) { a->nr_vcpus = GM_LINUX_MAX_VCPUS + 1; }
static void small_mem(struct args *a) { a->mem = 16 * MiB; }
static void odd_mem(struct args *a) { a->mem = MEM + 4096; }
static void huge_mem(struct args *a) { a->mem = 4 * GiB; }
static void bad_magic(struct args *a) { put(kernel + 0x1fe, 0x55aa, 2); }
static void no_hdrs(struct args *a) { memcpy(kernel + 0x202, "HdrZ", 4); }
static void old_version(struct args *a) { put(kernel + 0x206, 0x020b, 2); }
static void no_kernel_64(struct args *a) { put(kernel + 0x236, 0x2, 2); }
static void truncated(struct args *a) { a->kernel_len = 0x200; }
static void no_payload(struct args *a) { a->kernel_len = PM_OFF; }
static void setup_past_end(struct args *a) { kernel[0x1f1] = 40; }
static void cmdline_long(struct args *a) { a->cmdline = long_cmdline; }
static void initrd_big(struct args *a) { a->mem = 32 * MiB; a->initrd_len = 9 * MiB; }
static void initrd_low(struct args *a) { put(kernel + 0x22c, 16 * MiB - 1, 4); }
static void init_size_big(struct args *a) { a->mem = 32 * MiB; put(kernel + 0x260, 24 * MiB, 4); }
static void pref_past_mem(struct args *a) { put(kernel + 0x258, 1ULL << 40, 8); }

static const struct refusal {
	const char *name;
	void (*bend)(struct args *a);
	int err;
} refusals[] = {
	{ "NULL kernel", no_kernel, -EINVAL },
	{ "0 vCPUs", no_vcpus, -EINVAL },
	{ "17 vCPUs", many_vcpus, -EINVAL },
	{ "mem too small", small_mem, -EINVAL },
	{ "mem not 2 MiB-aligned", odd_mem, -EINVAL },
	{ "mem over 3 GiB", huge_mem, -EINVAL },
	{ "bad boot flag", bad_magic, -ENOEXEC },
	{ "no HdrS", no_hdrs, -ENOEXEC },
	{ "protocol 2.11", old_version, -ENOEXEC },
	{ "no XLF_KERNEL_64", no_kernel_64, -ENOEXEC },
	{ "truncated header", truncated, -ENOEXEC },
	{ "empty protected-mode part", no_payload, -ENOEXEC },
	{ "setup_sects past the end", setup_past_end, -ENOEXEC },
	{ "cmdline too long", cmdline_long, -E2BIG },
	{ "initrd too big", initrd_big, -E2BIG },
	{ "initrd_addr_max below the kernel", initrd_low, -E2BIG },
	{ "init_size past mem", init_size_big, -E2BIG },
	{ "pref_address past mem", pref_past_mem, -E2BIG },
};

static void test_refusals(void **state)
{
	for (size_t i = 0; i < GM_ARRAY_SIZE(refusals); i++) {
		const struct refusal *r = &refusals[i];
		struct args a = { kernel, KERNEL_LEN, 5000, CMDLINE, MEM, 2 };
		struct gm_linux_image img;
		int ret;

		make_kernel();
		r->bend(&a);
		ret = gm_linux_image_build(&img, a.kernel, a.kernel_len, initrd, a.initrd_len,
					   a.cmdline, a.mem, a.nr_vcpus);
		if (ret != r->err)
			fail_msg("%s: %d, expected %d", r->name, ret, r->err);
		assert_int_equal(img.nr_regions, 0);
		assert_null(img.owned);
		gm_linux_image_free(&img);
	}
}

/* The limits themselves are allowed. */
static void test_limits(void **state)
{
	struct gm_linux_image img;

	make_kernel();
	long_cmdline[CMDLINE_SIZE] = '\0';
	assert_int_equal(gm_linux_image_build(&img, kernel, KERNEL_LEN, initrd, 8 * MiB,
					      long_cmdline, 32 * MiB, 1), 0);
	assert_int_equal(img.initrd_gpa, 24 * MiB);
	assert_int_equal(img.regions[3].len, CMDLINE_SIZE + 1);
	gm_linux_image_free(&img);
	long_cmdline[CMDLINE_SIZE] = 'x';

	assert_int_equal(gm_linux_image_build(&img, kernel, KERNEL_LEN, NULL, 0, CMDLINE,
					      3 * GiB, GM_LINUX_MAX_VCPUS), 0);
	gm_linux_image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_state),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_boot_params),
		cmocka_unit_test(test_initrd_addr_max),
		cmocka_unit_test(test_page_tables),
		cmocka_unit_test(test_mp_table),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
	};

	memset(long_cmdline, 'x', CMDLINE_SIZE + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
