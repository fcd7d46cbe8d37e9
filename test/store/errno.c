// SPDX-License-Identifier: MIT
/*
 * Bad input to the store, as tables: every case runs on an ordinary file, on
 * a guest-only file (GM_MFD_GUEST) and, where the call is a system call, on a
 * real kernel memfd set up the same way.  An ordinary file must answer as the
 * kernel does; a guest-only file must answer as the kernel does wherever the
 * table says KERNEL, and as documented otherwise.  A call that fails must
 * leave the file as it was: size, seals and pages held.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <guestmem/file.h>
#include "array.h"
#include "../common.h"
#include "../frames.h"

#define PG		((int64_t)GM_PAGE_SIZE)
#define KERNEL		INT_MIN		/* expect the kernel memfd's answer */
#define S		GM_MFD_ALLOW_SEALING
#define KEEP		GM_FALLOC_KEEP_SIZE
#define PUNCH		GM_FALLOC_PUNCH_HOLE
#define CAP		(INT64_MIN + 1)	/* stands for the most a guest-only file addresses */
#define PAST_CAP	(INT64_MIN + 2)	/* and for one page past it */

enum op { FTRUNCATE, FALLOCATE, ADD_SEALS, PREAD, PWRITE, MMAP, FILE_FD };

struct ecase {
	const char *name;
	/* Setup: creation flags (besides GUEST), size and allocated pages, seals. */
	unsigned int flags;
	int64_t size_pages, alloc_pages;
	unsigned int seals;
	enum op op;
	int64_t a, b, c;	/* ftruncate(a); fallocate(a, b, c); add_seals(a);
				 * pread/pwrite(count a, offset b); mmap(len a) */
	bool null_file, null_buf;
	int64_t ordinary, guest;	/* expected results */
};

/* The most bytes a guest-only file can address (2^48): -EFBIG past it. */
static int64_t cap_bytes(void)
{
	return (int64_t)gm_test_max_file_bytes();
}

static int64_t arg(int64_t v)
{
	return v == CAP ? cap_bytes() : v == PAST_CAP ? cap_bytes() + PG : v;
}

static const struct ecase cases[] = {
	/* ftruncate */
	{ "ftruncate NULL file", S, 4, 2, 0, FTRUNCATE, PG, .null_file = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "ftruncate -1", S, 4, 2, 0, FTRUNCATE, -1, .ordinary = KERNEL, .guest = KERNEL },
	{ "ftruncate INT64_MIN", S, 4, 2, 0, FTRUNCATE, INT64_MIN,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "ftruncate unaligned", S, 4, 2, 0, FTRUNCATE, PG + 1,
	  .ordinary = KERNEL, .guest = -EINVAL },
	{ "ftruncate unaligned small", S, 4, 2, 0, FTRUNCATE, 100,
	  .ordinary = KERNEL, .guest = -EINVAL },
	{ "ftruncate unaligned under GROW", S, 4, 2, GM_SEAL_GROW, FTRUNCATE, 8 * PG + 1,
	  .ordinary = KERNEL, .guest = -EINVAL },
	{ "ftruncate to capacity", S, 4, 2, 0, FTRUNCATE, CAP, .ordinary = KERNEL, .guest = 0 },
	{ "ftruncate past capacity", 0, 4, 2, 0, FTRUNCATE, PAST_CAP,
	  .ordinary = KERNEL, .guest = -EFBIG },
	{ "ftruncate INT64_MAX page", S, 4, 2, 0, FTRUNCATE, INT64_MAX & ~(PG - 1),
	  .ordinary = KERNEL, .guest = -EFBIG },
	{ "ftruncate INT64_MAX", S, 4, 2, 0, FTRUNCATE, INT64_MAX,
	  .ordinary = KERNEL, .guest = -EINVAL },
	{ "ftruncate grow under GROW", S, 4, 2, GM_SEAL_GROW, FTRUNCATE, 8 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "ftruncate shrink under SHRINK", S, 4, 2, GM_SEAL_SHRINK, FTRUNCATE, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "ftruncate to 0 under SHRINK", S, 4, 2, GM_SEAL_SHRINK, FTRUNCATE, 0,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "ftruncate same size under SHRINK|GROW", S, 4, 2, GM_SEAL_SHRINK | GM_SEAL_GROW,
	  FTRUNCATE, 4 * PG, .ordinary = KERNEL, .guest = KERNEL },
	{ "ftruncate shrink under WRITE", S, 4, 2, GM_SEAL_WRITE, FTRUNCATE, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "ftruncate grow under SEAL", S, 4, 2, GM_SEAL_SEAL, FTRUNCATE, 8 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },

	/* fallocate: range, then mode, then size limits, then seals */
	{ "fallocate NULL file", S, 4, 2, 0, FALLOCATE, 0, 0, PG, .null_file = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "fallocate offset -1", S, 4, 2, 0, FALLOCATE, 0, -1, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate offset INT64_MIN", S, 4, 2, 0, FALLOCATE, KEEP, INT64_MIN, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate len 0", S, 4, 2, 0, FALLOCATE, 0, 0, 0, .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate len -4096", S, 4, 2, 0, FALLOCATE, 0, 0, -PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate bad mode and bad range", S, 4, 2, 0, FALLOCATE, 0x100, -1, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate PUNCH without KEEP_SIZE", S, 4, 2, 0, FALLOCATE, PUNCH, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate NO_HIDE_STALE", S, 4, 2, 0, FALLOCATE, 0x04, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate COLLAPSE_RANGE", S, 4, 2, 0, FALLOCATE, 0x08, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate ZERO_RANGE", S, 4, 2, 0, FALLOCATE, 0x10, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate ZERO_RANGE|KEEP", S, 4, 2, 0, FALLOCATE, 0x11, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate INSERT_RANGE", S, 4, 2, 0, FALLOCATE, 0x20, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate UNSHARE_RANGE", S, 4, 2, 0, FALLOCATE, 0x40, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate mode 0x80", S, 4, 2, 0, FALLOCATE, 0x80, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate mode 0x100", S, 4, 2, 0, FALLOCATE, 0x100, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate mode -1", S, 4, 2, 0, FALLOCATE, -1, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate overflow", S, 4, 2, 0, FALLOCATE, 0, INT64_MAX - PG + 1, 2 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate overflow len", S, 4, 2, 0, FALLOCATE, KEEP, PG, INT64_MAX,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate punch overflow", S, 4, 2, 0, FALLOCATE, PUNCH | KEEP,
	  INT64_MAX - PG + 1, 2 * PG, .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate ZERO_RANGE overflow", S, 4, 2, 0, FALLOCATE, 0x10,
	  INT64_MAX - PG + 1, 2 * PG, .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate COLLAPSE|KEEP overflow", S, 4, 2, 0, FALLOCATE, 0x09,
	  INT64_MAX - PG + 1, 2 * PG, .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate mode 0x100 overflow", S, 4, 2, 0, FALLOCATE, 0x100,
	  INT64_MAX - PG + 1, 2 * PG, .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate past capacity", S, 4, 2, 0, FALLOCATE, PUNCH | KEEP, CAP, PG,
	  .ordinary = KERNEL, .guest = -EFBIG },
	{ "fallocate KEEP past capacity", S, 4, 2, 0, FALLOCATE, KEEP, CAP, PG,
	  .ordinary = KERNEL, .guest = -EFBIG },
	{ "fallocate unaligned offset", S, 4, 2, 0, FALLOCATE, KEEP, 100, PG,
	  .ordinary = KERNEL, .guest = -EINVAL },
	{ "fallocate unaligned len", S, 4, 2, 0, FALLOCATE, 0, 0, PG + 1,
	  .ordinary = KERNEL, .guest = -EINVAL },
	{ "fallocate unaligned punch", S, 4, 2, 0, FALLOCATE, PUNCH | KEEP, PG / 2, PG,
	  .ordinary = KERNEL, .guest = -EINVAL },
	{ "fallocate punch under WRITE", S, 4, 2, GM_SEAL_WRITE, FALLOCATE, PUNCH | KEEP, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate punch under FUTURE_WRITE", S, 4, 2, GM_SEAL_FUTURE_WRITE, FALLOCATE,
	  PUNCH | KEEP, 0, PG, .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate punch under SHRINK", S, 4, 2, GM_SEAL_SHRINK, FALLOCATE, PUNCH | KEEP, 0, PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate punch past EOF", S, 4, 2, 0, FALLOCATE, PUNCH | KEEP, 8 * PG, 4 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate grow under GROW", S, 4, 2, GM_SEAL_GROW, FALLOCATE, 0, 2 * PG, 4 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate KEEP past EOF under GROW", S, 4, 2, GM_SEAL_GROW, FALLOCATE, KEEP, 0, 8 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate inside under GROW", S, 4, 2, GM_SEAL_GROW, FALLOCATE, 0, 0, 4 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate under WRITE", S, 4, 2, GM_SEAL_WRITE, FALLOCATE, 0, 0, 8 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "fallocate past EOF, no sealing", 0, 4, 2, 0, FALLOCATE, 0, 6 * PG, 2 * PG,
	  .ordinary = KERNEL, .guest = KERNEL },

	/* add_seals: unknown bits, then F_SEAL_SEAL, then state */
	{ "add_seals NULL file", S, 4, 2, 0, ADD_SEALS, GM_SEAL_GROW, .null_file = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "add_seals 0x40", S, 4, 2, 0, ADD_SEALS, 0x40, .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals 0x1000", S, 4, 2, 0, ADD_SEALS, 0x1000, .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals high bit", S, 4, 2, 0, ADD_SEALS, 0x80000000LL,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals after SEAL", S, 4, 2, GM_SEAL_SEAL, ADD_SEALS, GM_SEAL_GROW,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals 0 after SEAL", S, 4, 2, GM_SEAL_SEAL, ADD_SEALS, 0,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals unknown after SEAL", S, 4, 2, GM_SEAL_SEAL, ADD_SEALS, 0x40,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals without ALLOW_SEALING", 0, 4, 2, 0, ADD_SEALS, GM_SEAL_GROW,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals 0 without ALLOW_SEALING", 0, 4, 2, 0, ADD_SEALS, 0,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals unknown without ALLOW_SEALING", 0, 4, 2, 0, ADD_SEALS, 0x40,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals SHRINK|GROW", S, 4, 2, 0, ADD_SEALS, GM_SEAL_SHRINK | GM_SEAL_GROW,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals WRITE twice", S, 4, 2, GM_SEAL_WRITE, ADD_SEALS, GM_SEAL_WRITE,
	  .ordinary = KERNEL, .guest = KERNEL },
	{ "add_seals GUEST on a non-empty file", S, 4, 2, 0, ADD_SEALS, GM_SEAL_GUEST,
	  .ordinary = -EBUSY, .guest = 0 },
	{ "add_seals GUEST after SEAL", S, 0, 0, GM_SEAL_SEAL, ADD_SEALS, GM_SEAL_GUEST,
	  .ordinary = -EPERM, .guest = -EPERM },
	{ "add_seals GUEST without ALLOW_SEALING", 0, 0, 0, 0, ADD_SEALS, GM_SEAL_GUEST,
	  .ordinary = -EPERM, .guest = -EPERM },
	{ "add_seals GUEST|0x40", S, 0, 0, 0, ADD_SEALS, GM_SEAL_GUEST | 0x40,
	  .ordinary = -EINVAL, .guest = -EINVAL },

	/* host I/O */
	{ "pread NULL file", S, 4, 2, 0, PREAD, 10, 0, .null_file = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "pread NULL buf", S, 4, 2, 0, PREAD, 10, 0, .null_buf = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "pread NULL buf, count 0", S, 4, 2, 0, PREAD, 0, 0, .null_buf = true,
	  .ordinary = 0, .guest = -EPERM },
	{ "pread offset -1", S, 4, 2, 0, PREAD, 10, -1, .ordinary = KERNEL, .guest = -EINVAL },
	{ "pread", S, 4, 2, 0, PREAD, 100, 10, .ordinary = KERNEL, .guest = -EPERM },
	{ "pread past EOF", S, 4, 2, 0, PREAD, 100, 8 * PG, .ordinary = KERNEL, .guest = -EPERM },
	{ "pread overflowing offset", S, 4, 2, 0, PREAD, 10, INT64_MAX - 5,
	  .ordinary = KERNEL, .guest = -EPERM },
	{ "pwrite NULL file", S, 4, 2, 0, PWRITE, 10, 0, .null_file = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "pwrite NULL buf", S, 4, 2, 0, PWRITE, 10, 0, .null_buf = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "pwrite offset -1", S, 4, 2, 0, PWRITE, 10, -1, .ordinary = KERNEL, .guest = -EINVAL },
	{ "pwrite", S, 4, 2, 0, PWRITE, 100, 10, .ordinary = KERNEL, .guest = -EPERM },
	{ "pwrite overflowing offset", S, 4, 2, 0, PWRITE, 10, INT64_MAX - 5,
	  .ordinary = KERNEL, .guest = -EPERM },
	{ "pwrite under WRITE", S, 4, 2, GM_SEAL_WRITE, PWRITE, 10, 0,
	  .ordinary = KERNEL, .guest = -EPERM },
	{ "pwrite under FUTURE_WRITE", S, 4, 2, GM_SEAL_FUTURE_WRITE, PWRITE, 10, 0,
	  .ordinary = KERNEL, .guest = -EPERM },
	{ "pwrite past EOF under GROW", S, 4, 2, GM_SEAL_GROW, PWRITE, 10, 4 * PG,
	  .ordinary = KERNEL, .guest = -EPERM },

	/* host mappings and the fd */
	{ "mmap NULL file", S, 4, 2, 0, MMAP, PG, .null_file = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "mmap NULL addrp", S, 4, 2, 0, MMAP, PG, .null_buf = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "mmap", S, 4, 2, 0, MMAP, PG, .ordinary = 0, .guest = -EPERM },
	{ "mmap length 0", S, 4, 2, 0, MMAP, 0, .ordinary = -EINVAL, .guest = -EPERM },
	{ "file_fd NULL file", S, 4, 2, 0, FILE_FD, .null_file = true,
	  .ordinary = -EFAULT, .guest = -EFAULT },
	{ "file_fd", S, 4, 2, 0, FILE_FD, .ordinary = 1 /* an fd */, .guest = -EPERM },
};

static char iobuf[1 << 16];

static bool kernel_op(enum op op)
{
	return op == FTRUNCATE || op == FALLOCATE || op == ADD_SEALS || op == PREAD ||
	       op == PWRITE;
}


static int64_t run_kernel(const struct ecase *c, int fd)
{
	int64_t r;

	switch (c->op) {
	case FTRUNCATE:
		r = ftruncate(fd, arg(c->a));
		break;
	case FALLOCATE:
		r = fallocate(fd, (int)c->a, arg(c->b), arg(c->c));
		break;
	case ADD_SEALS:
		r = fcntl(fd, F_ADD_SEALS, (unsigned int)c->a);
		break;
	case PREAD:
		r = pread(fd, iobuf, (size_t)c->a, c->b);
		break;
	case PWRITE:
		r = pwrite(fd, iobuf, (size_t)c->a, c->b);
		break;
	default:
		return 0;
	}
	return r < 0 ? -errno : r;
}

static int64_t run_gm(const struct ecase *c, struct gm_file *file)
{
	struct gm_file *f = c->null_file ? NULL : file;
	void *buf = c->null_buf ? NULL : iobuf;
	void *addr = NULL;
	int64_t r;

	switch (c->op) {
	case FTRUNCATE:
		return gm_ftruncate(f, arg(c->a));
	case FALLOCATE:
		return gm_fallocate(f, (int)c->a, arg(c->b), arg(c->c));
	case ADD_SEALS:
		return gm_add_seals(f, (unsigned int)c->a);
	case PREAD:
		return gm_pread(f, buf, (size_t)c->a, c->b);
	case PWRITE:
		return gm_pwrite(f, buf, (size_t)c->a, c->b);
	case MMAP:
		r = gm_mmap(f, (size_t)c->a, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			    c->null_buf ? NULL : &addr);
		if (!r)
			assert_int_equal(gm_munmap(file, addr, (size_t)c->a), 0);
		return r;
	case FILE_FD:
		r = gm_file_fd(f);
		return r >= 0 ? 1 : r;
	}
	return -ENOSYS;
}

/* The kernel memfd, set up as the case says.  Return: the fd. */
static int kernel_setup(const struct ecase *c)
{
	int fd = memfd_create("errno-oracle", MFD_CLOEXEC |
			      ((c->flags & S) ? MFD_ALLOW_SEALING : 0));

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, c->size_pages * PG), 0);
	if (c->alloc_pages)
		assert_int_equal(fallocate(fd, KEEP, 0, c->alloc_pages * PG), 0);
	if (c->seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, c->seals), 0);
	return fd;
}

static struct gm_file *gm_setup(const struct ecase *c, bool guest)
{
	struct gm_file *file;

	assert_int_equal(gm_memfd_create("errno", c->flags | (guest ? GM_MFD_GUEST : 0), &file), 0);
	assert_int_equal(gm_ftruncate(file, c->size_pages * PG), 0);
	if (c->alloc_pages)
		assert_int_equal(gm_fallocate(file, KEEP, 0, c->alloc_pages * PG), 0);
	if (c->seals)
		assert_int_equal(gm_add_seals(file, c->seals), 0);
	return file;
}

struct file_state {
	int64_t size;
	int seals;
	uint64_t pages;
	int guest;
};

static struct file_state state_of(struct gm_file *file)
{
	struct file_state s = {
		.size = gm_file_size(file),
		.seals = gm_get_seals(file),
		.guest = gm_file_is_guest(file),
	};
	struct stat st;

	if (s.guest) {
		s.pages = gm_file_pages_held(file);
	} else {
		assert_int_equal(fstat(gm_file_fd(file), &st), 0);
		s.pages = (uint64_t)st.st_blocks / (GM_PAGE_SIZE / 512);
	}
	return s;
}

static void check_case(const struct ecase *c, bool guest, int64_t kernel)
{
	struct gm_file *file = gm_setup(c, guest);
	struct file_state before = state_of(file), after;
	int64_t want = guest ? c->guest : c->ordinary;
	int64_t got;

	if (want == KERNEL)
		want = kernel;
	got = run_gm(c, file);
	if (got != want)
		fail_msg("%s (%s file): got %lld (%s), want %lld (%s); the kernel said %lld",
			 c->name, guest ? "guest-only" : "ordinary", (long long)got,
			 got < 0 ? strerror((int)-got) : "ok", (long long)want,
			 want < 0 ? strerror((int)-want) : "ok", (long long)kernel);
	after = state_of(file);
	if (got < 0 && (before.size != after.size || before.seals != after.seals ||
			before.pages != after.pages || before.guest != after.guest))
		fail_msg("%s (%s file) failed but changed the file: size %lld -> %lld, "
			 "seals %#x -> %#x, pages %llu -> %llu, guest %d -> %d", c->name,
			 guest ? "guest-only" : "ordinary", (long long)before.size,
			 (long long)after.size, before.seals, after.seals,
			 (unsigned long long)before.pages, (unsigned long long)after.pages,
			 before.guest, after.guest);
	gm_file_put(file);
}

static void test_errno_table(void **state)
{
	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		const struct ecase *c = &cases[i];
		int64_t kernel = 0;

		if (kernel_op(c->op) && !c->null_file && !c->null_buf) {
			int fd = kernel_setup(c);

			kernel = run_kernel(c, fd);
			close(fd);
		} else {
			assert_true(c->ordinary != KERNEL && c->guest != KERNEL);
		}
		check_case(c, false, kernel);
		check_case(c, true, kernel);
	}
	gm_test_assert_no_frames();
}

/* ---- gm_memfd_create ---- */

static void test_create(void **state)
{
	static char name250[251], name249[250];
	static const struct {
		const char *what;
		const char *name;	/* "250"/"249": the long names */
		unsigned int flags;
		bool null_filep;
		int want;
		bool kernel;		/* the same call to memfd_create(2) must agree */
	} t[] = {
		{ "NULL name", NULL, 0, false, -EFAULT, false },
		{ "NULL filep", "x", 0, true, -EFAULT, false },
		{ "unknown flag 0x8", "x", 0x8, false, -EINVAL, false },
		{ "unknown flag 0x1000", "x", 0x1000, false, -EINVAL, false },
		{ "unknown flag bit 31", "x", 0x80000000U, false, -EINVAL, true },
		{ "HUGE_1GB without HUGETLB", "x", GM_MFD_HUGE_1GB, false, -EINVAL, false },
		{ "name of 250 bytes", "250", 0, false, -EINVAL, true },
		{ "name of 249 bytes", "249", 0, false, 0, true },
		{ "empty name", "", 0, false, 0, true },
	};
	struct gm_file *file;

	memset(name250, 'n', 250);
	memset(name249, 'n', 249);
	for (size_t i = 0; i < GM_ARRAY_SIZE(t); i++) {
		const char *name = t[i].name;

		if (name && !strcmp(name, "250"))
			name = name250;
		else if (name && !strcmp(name, "249"))
			name = name249;
		for (int guest = 0; guest < 2; guest++) {
			unsigned int flags = t[i].flags | (guest ? GM_MFD_GUEST : 0);
			int ret;

			file = NULL;
			ret = gm_memfd_create(name, flags, t[i].null_filep ? NULL : &file);
			if (ret != t[i].want)
				fail_msg("create %s%s: got %d, want %d", t[i].what,
					 guest ? " (guest-only)" : "", ret, t[i].want);
			if (ret)
				assert_null(file);
			else
				assert_int_equal(gm_file_is_guest(file), guest);
			gm_file_put(file);
		}
		if (t[i].kernel) {
			int fd = memfd_create(name, t[i].flags);

			assert_int_equal(fd < 0 ? -errno : 0, t[i].want);
			if (fd >= 0)
				close(fd);
		}
	}
	gm_test_assert_no_frames();
}

/* ---- getters ---- */

static void test_getters(void **state)
{
	struct gm_file *file;

	assert_int_equal(gm_get_seals(NULL), -EFAULT);
	assert_int_equal(gm_file_size(NULL), -EFAULT);
	assert_int_equal(gm_file_is_guest(NULL), -EFAULT);
	assert_int_equal(gm_file_fd(NULL), -EFAULT);
	assert_int_equal(gm_munmap(NULL, NULL, 0), -EFAULT);
	gm_file_put(NULL);

	/* Seals a new file starts with, as memfd_create(2). */
	assert_int_equal(gm_memfd_create("g", GM_MFD_GUEST, &file), 0);
	assert_int_equal(gm_get_seals(file), GM_SEAL_SEAL | GM_SEAL_GUEST);
	assert_int_equal(gm_file_size(file), 0);
	assert_int_equal(gm_file_page_shift(file), 12);
	assert_int_equal(gm_file_store(file), GM_STORE_SHMEM);
	/* munmap of something never mapped */
	assert_int_equal(gm_munmap(file, iobuf, GM_PAGE_SIZE), -EINVAL);
	gm_file_put(file);
	assert_int_equal(gm_memfd_create("g", GM_MFD_GUEST | S, &file), 0);
	assert_int_equal(gm_get_seals(file), GM_SEAL_GUEST);
	gm_file_put(file);
	assert_int_equal(gm_memfd_create("o", S, &file), 0);
	assert_int_equal(gm_get_seals(file) & ~GM_SEAL_GUEST, 0);
	gm_file_put(file);
	gm_test_assert_no_frames();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_table),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_getters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
