/* SPDX-License-Identifier: MIT */
/*
 * Bytes of a backing: host reads and writes of present pages, and the
 * mappings of its memfd that a VM's windows and an in-place file's host
 * mappings are (see pmem.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backing.h"

static bool range_present(struct gm_backing *b, uint64_t offset, size_t len)
{
	uint64_t last = (offset + len - (len ? 1 : 0)) >> GM_PAGE_SHIFT;

	if (offset + len < offset || last >= GM_PMEM_MAX_PAGES)
		return false;
	for (uint64_t p = offset >> GM_PAGE_SHIFT; p <= last; p++)
		if (!gm_backing_present(b, p))
			return false;
	return true;
}

int gm_backing_read(struct gm_backing *b, uint64_t offset, void *buf, size_t len)
{
	int fd = atomic_load(&b->fd);
	ssize_t n;

	if (!range_present(b, offset, len) || fd < 0)
		return -EINVAL;
	while (len) {
		n = pread(fd, buf, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * hugetlbfs has no write(): copy through a short-lived mapping of the
 * folios (zeros for a NULL @buf).
 */
static int write_huge(struct gm_backing *b, int fd, uint64_t offset, const void *buf, size_t len)
{
	uint64_t folio = GM_PAGE_SIZE << b->order;
	uint64_t start = offset & ~(folio - 1);
	uint64_t map_len = (offset + len - start + folio - 1) & ~(folio - 1);
	char *p;

	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
	if (p == MAP_FAILED)
		return -errno;
	if (buf)
		memcpy(p + (offset - start), buf, len);
	else
		memset(p + (offset - start), 0, len);
	munmap(p, map_len);
	return 0;
}

/* pwrite(2) @len bytes of @buf at @offset of @fd, or zeroes for a NULL @buf. */
static int write_all(int fd, uint64_t offset, const void *buf, uint64_t len)
{
	static const char zeros[64 * 1024];
	const void *from = buf ? buf : zeros;
	size_t chunk;
	ssize_t n;

	while (len) {
		chunk = buf || len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		n = pwrite(fd, from, chunk, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (buf)
			from = (const char *)from + n;
		offset += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Write @buf, or zeroes for a NULL @buf, over present pages. */
static int write_present(struct gm_backing *b, uint64_t offset, const void *buf, uint64_t len)
{
	int fd = atomic_load(&b->fd);

	if (!range_present(b, offset, len) || fd < 0)
		return -EINVAL;
	if (b->order)
		return write_huge(b, fd, offset, buf, len);
	return write_all(fd, offset, buf, len);
}

int gm_backing_write(struct gm_backing *b, uint64_t offset, const void *buf, size_t len)
{
	return write_present(b, offset, buf, len);
}

int gm_backing_zero(struct gm_backing *b, uint64_t offset, uint64_t len)
{
	return write_present(b, offset, NULL, len);
}

int gm_backing_map_host(struct gm_backing *b, uint64_t offset, uint64_t len, void *addr,
			int prot, int flags)
{
	int fd = gm_backing_memfd(b);
	void *p;

	if (fd < 0)
		return fd;
	if (!len || offset + len < offset || offset + len > (GM_PMEM_MAX_PAGES << GM_PAGE_SHIFT))
		return -EINVAL;
	p = mmap(addr, len, prot, flags | MAP_FIXED | MAP_NORESERVE, fd, (off_t)offset);
	return p == MAP_FAILED ? -errno : 0;
}

int gm_backing_map(struct gm_backing *b, uint64_t offset, uint64_t len, void *addr)
{
	return gm_backing_map_host(b, offset, len, addr, PROT_READ | PROT_WRITE, MAP_SHARED);
}

/* The empty memfd behind every gm_pmem_map_fault(): made once, never closed. */
static _Atomic int fault_fd = -1;

static int get_fault_fd(void)
{
	int fd = atomic_load(&fault_fd), expected = -1;

	if (fd >= 0)
		return fd;
	fd = memfd_create("guestmem-fault", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Size 0 for good: every page of a mapping of it is past the end. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (!atomic_compare_exchange_strong(&fault_fd, &expected, fd)) {
		close(fd);
		fd = expected;
	}
	return fd;
}

int gm_pmem_map_fault(void *addr, uint64_t len, int prot)
{
	int fd = get_fault_fd();
	void *p;

	if (fd < 0)
		return fd;
	p = mmap(addr, len, prot, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd, 0);
	return p == MAP_FAILED ? -errno : 0;
}
