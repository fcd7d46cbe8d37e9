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

#include "common.h"

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define NR_HUGEPAGES_1G "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"

#define HUGE_LOCK "/tmp/guestmem-test-hugepages.lock"

static long hugepages_before = -1;
static const char *hugepages_path = NR_HUGEPAGES;

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

const char *gm_test_guestmem_bin(void)
{
	const char *bin = getenv("GUESTMEM_BIN");

	if (!bin || !*bin)
		gm_test_skip("GUESTMEM_BIN is not set (run through meson test)");
	if (strchr(bin, '\'') || access(bin, X_OK) != 0)
		gm_test_skip("GUESTMEM_BIN '%s' is not a program this test can run", bin);
	return bin;
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

static long read_nr_hugepages(const char *path)
{
	FILE *f = fopen(path, "r");
	long nr = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr;
}

static int write_nr_hugepages(const char *path, long nr)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", nr) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	return ret;
}

static int reserve(const char *path, unsigned long nr, const char **why)
{
	long now = read_nr_hugepages(path);

	if (now < 0) {
		*why = "the host has no huge pages of this size to reserve";
		return -ENOENT;
	}
	if (geteuid() != 0) {
		*why = "not root: cannot reserve huge pages";
		return -EPERM;
	}
	hugepages_path = path;
	hugepages_before = now;
	if (write_nr_hugepages(path, now + (long)nr) < 0 || read_nr_hugepages(path) < now + (long)nr) {
		gm_test_hugepages_release();
		*why = "the kernel could not reserve the huge pages asked for";
		return -ENOMEM;
	}
	return 0;
}

int gm_test_hugepages_reserve(unsigned long nr, const char **why)
{
	return reserve(NR_HUGEPAGES, nr, why);
}

int gm_test_hugepages_reserve_1g(unsigned long nr, const char **why)
{
	return reserve(NR_HUGEPAGES_1G, nr, why);
}

void gm_test_hugepages_release(void)
{
	if (hugepages_before >= 0)
		write_nr_hugepages(hugepages_path, hugepages_before);
	hugepages_before = -1;
}

int gm_test_hugepages_teardown(void **state)
{
	gm_test_hugepages_release();
	return 0;
}
