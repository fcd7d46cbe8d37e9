/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <guestmem/file.h>
#include <guestmem/vm.h>

#include "common.h"
#include "hugepages.h"

/* Where a pool's size is set; the library's helper reads it (hugepages.h). */
#define NR_HUGEPAGES_2M "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define NR_HUGEPAGES_1G "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"

#define HUGE_LOCK "/tmp/guestmem-test-hugepages.lock"

static long hugepages_before = -1;
static unsigned int hugepages_shift = GM_HUGE_2M_SHIFT;
static int huge_token = -1;		/* gm_test_huge_begin()'s lock */

int gm_test_huge_lock(void)
{
	int fd = open(HUGE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

void gm_test_huge_unlock(int token)
{
	if (token >= 0)
		close(token);
}

void gm_test_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(GM_TEST_SKIP);
}

void gm_test_assert_no_frames(void)
{
	assert_int_equal(gm_frames_in_use(), 0);
}

void gm_test_fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 31 + seed) | 1;
}

void gm_test_assert_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			fail_msg("byte %zu is %#x, not zero", i, p[i]);
}

const char *gm_test_guestmem_bin(void)
{
	const char *bin = getenv("GUESTMEM_BIN");

	if (!bin || !*bin)
		gm_test_skip("GUESTMEM_BIN is not set (run through meson test)");
	if (strchr(bin, '\'') || access(bin, X_OK) != 0)
		gm_test_skip("GUESTMEM_BIN '%s' is not a program this test can run", bin);
	return bin;
}

uint64_t gm_test_splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

bool gm_test_in_lab(void)
{
	const char *lab = getenv("GUESTMEM_LAB");

	return lab && *lab && strcmp(lab, "0");
}

int gm_test_have_kvm(const char **why)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (kvm < 0) {
		*why = "/dev/kvm cannot be opened";
		return 0;
	}
	vm = ioctl(kvm, _IO(0xAE, 0x01), 0);	/* KVM_CREATE_VM */
	close(kvm);
	if (vm < 0) {
		*why = "/dev/kvm opens but KVM_CREATE_VM fails";
		return 0;
	}
	close(vm);
	return 1;
}

void gm_test_require_engine(enum gm_engine_kind engine)
{
	const char *why;

	if (engine == GM_ENGINE_KVM && !gm_test_have_kvm(&why))
		gm_test_skip("the kvm engine cannot run here: %s", why);
	if (!gm_engine_available(engine, &why))
		gm_test_skip("the %s engine cannot run here: %s", gm_test_engine_name(engine), why);
}

const char *gm_test_engine_name(enum gm_engine_kind engine)
{
	return engine == GM_ENGINE_KVM ? "kvm" : "emu";
}

enum gm_engine_kind gm_test_engine(int argc, char **argv)
{
	enum gm_engine_kind engine;

	if (argc == 2 && !strcmp(argv[1], "emu")) {
		engine = GM_ENGINE_EMU;
	} else if (argc == 2 && !strcmp(argv[1], "kvm")) {
		engine = GM_ENGINE_KVM;
	} else {
		fprintf(stderr, "usage: %s emu|kvm\n", argc > 0 ? argv[0] : "test");
		exit(1);
	}
	gm_test_require_engine(engine);
	return engine;
}

/* The pool of 2^@shift-byte pages' size (nr_hugepages), or -1 without one. */
static long read_nr_hugepages(unsigned int shift)
{
	uint64_t total;

	return gm_host_hugepages_read(shift, &total, NULL) ? -1 : (long)total;
}

static int write_nr_hugepages(unsigned int shift, long nr)
{
	FILE *f = fopen(shift == GM_HUGE_1G_SHIFT ? NR_HUGEPAGES_1G : NR_HUGEPAGES_2M, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", nr) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	return ret;
}

/* Give back what the last reserve() took. */
static void release(void)
{
	if (hugepages_before >= 0)
		write_nr_hugepages(hugepages_shift, hugepages_before);
	hugepages_before = -1;
}

static int reserve(unsigned int shift, unsigned long nr, const char **why)
{
	long now = read_nr_hugepages(shift);

	if (now < 0) {
		*why = "the host has no huge pages of this size to reserve";
		return -ENOENT;
	}
	if (geteuid() != 0) {
		*why = "not root: cannot reserve huge pages";
		return -EPERM;
	}
	hugepages_shift = shift;
	hugepages_before = now;
	if (write_nr_hugepages(shift, now + (long)nr) < 0 ||
	    read_nr_hugepages(shift) < now + (long)nr) {
		release();
		*why = "the kernel could not reserve the huge pages asked for";
		return -ENOMEM;
	}
	return 0;
}

/* Held when this returns, whatever reserve() said: gm_test_huge_end() lets go. */
static int huge_take(unsigned long nr, bool one_gig, const char **why)
{
	huge_token = gm_test_huge_lock();
	return reserve(one_gig ? GM_HUGE_1G_SHIFT : GM_HUGE_2M_SHIFT, nr, why);
}

int gm_test_huge_try_begin(unsigned long nr, bool one_gig, const char **why)
{
	int ret = huge_take(nr, one_gig, why);

	if (ret)
		gm_test_huge_end();
	return ret;
}

void gm_test_huge_begin(unsigned long nr, bool one_gig, void (*no_pages)(void))
{
	const char *why;

	if (!huge_take(nr, one_gig, &why))
		return;
	if (no_pages)
		no_pages();
	gm_test_huge_end();
	printf("SKIP: %lu %s huge pages: %s\n", nr, one_gig ? "1 GiB" : "2 MiB", why);
	skip();
}

void gm_test_huge_end(void)
{
	release();
	gm_test_huge_unlock(huge_token);
	huge_token = -1;
}

int gm_test_huge_teardown(void **state)
{
	gm_test_huge_end();
	return 0;
}
