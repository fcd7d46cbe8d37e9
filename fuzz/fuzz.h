/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses: reading the fuzz input, the tables of
 * errnos each public call may return (from its header), and failing loudly.
 *
 * A harness fails with abort() (libFuzzer saves the input as a crash) on
 * anything the headers do not allow; a sanitizer report does the same.
 */
#ifndef GM_FUZZ_FUZZ_H
#define GM_FUZZ_FUZZ_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

/* libFuzzer's entry point, one per harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_KiB		(1ULL << 10)
#define FZ_MiB		(1ULL << 20)

/* The input, read front to back; past its end every read gives 0. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_more(const struct fz_in *in)
{
	return in->n > 0;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)(fz_u8(in) | (unsigned int)fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	return fz_u16(in) | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	return fz_u32(in) | (uint64_t)fz_u32(in) << 32;
}

/* One of @n table entries (n > 0). */
#define fz_pick(in, table) ((table)[fz_u8(in) % GM_ARRAY_SIZE(table)])

static inline void __attribute__((noreturn, format(printf, 1, 2))) fz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "guestmem fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* FZ_TRACE=1 in the environment: every checked call and its result on stderr. */
static inline bool fz_tracing(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FZ_TRACE") != NULL;
	return on;
}

#define fz_assert(cond, ...) do { if (!(cond)) fz_fail(__VA_ARGS__); } while (0)

/*
 * Errnos (positive, 0-terminated) that each call's header documents.  A
 * call that forwards a system call's errno gets that call's man-page list.
 */
static const int fz_e_memfd_create[] = { EFAULT, EINVAL, ENOMEM, EMFILE, ENFILE, EPERM, EACCES, 0 };
static const int fz_e_ftruncate[] = { EINVAL, EPERM, EFBIG, EBUSY, EFAULT, 0 };
static const int fz_e_fallocate[] = { EINVAL, EOPNOTSUPP, EFBIG, EPERM, ENOSPC, ENOMEM, EFAULT, 0 };
/* pread(2)/pwrite(2) on a memfd: EFBIG past the limit, EPERM for a seal. */
static const int fz_e_rw[] = { EPERM, EINVAL, EFAULT, EFBIG, ENOSPC, ENOMEM, EIO, 0 };
static const int fz_e_add_seals[] = { EINVAL, EPERM, EBUSY, EFAULT, 0 };
static const int fz_e_get_seals[] = { EFAULT, 0 };
/* mmap(2)'s own: EACCES (sealed write), EAGAIN, ENOMEM, EOVERFLOW, EPERM. */
static const int fz_e_mmap[] = { EPERM, EINVAL, ENOMEM, EACCES, EAGAIN, EOVERFLOW, 0 };
static const int fz_e_munmap[] = { EINVAL, 0 };
static const int fz_e_file_fd[] = { EPERM, EFAULT, 0 };
static const int fz_e_register[] = { EINVAL, EFAULT, EPERM, EOPNOTSUPP, ENOMEM, 0 };
static const int fz_e_unregister[] = { EINVAL, EFAULT, 0 };
static const int fz_e_get_lock_pfn[] = { EINVAL, ENOMEM, ENOSPC, EPERM, EAGAIN, 0 };
static const int fz_e_mapping_level[] = { EINVAL, 0 };
static const int fz_e_map_range[] = { EINVAL, ENOMEM, EACCES, EAGAIN, EOVERFLOW, 0 };
static const int fz_e_vm_create[] = { EINVAL, ENODEV, ENOMEM, 0 };
static const int fz_e_set_memslot[] = { EINVAL, EEXIST, EPERM, ENOMEM, 0 };
static const int fz_e_set_attr[] = { EINVAL, EPERM, EFAULT, 0 };
static const int fz_e_shared_io[] = { EPERM, EFAULT, 0 };
static const int fz_e_boot[] = { EINVAL, ENOMEM, 0 };
static const int fz_e_run[] = { EIO, EINTR, EAGAIN, ENOMEM, 0 };

/* @ret is 0/positive, or minus one of @allowed; else the input fails. */
static inline long fz_check(const char *call, long ret, const int *allowed)
{
	if (fz_tracing())
		fprintf(stderr, "  %s = %ld\n", call, ret);
	if (ret >= 0)
		return ret;
	for (const int *e = allowed; *e; e++)
		if (ret == -*e)
			return ret;
	fz_fail("%s returned %ld (%s), which its header does not document", call, ret,
		strerror((int)-ret));
}

/* @ret must be exactly @want. */
static inline void fz_expect(const char *call, long ret, long want)
{
	if (fz_tracing())
		fprintf(stderr, "  %s = %ld\n", call, ret);
	if (ret != want)
		fz_fail("%s returned %ld (%s), expected %ld", call, ret,
			ret < 0 ? strerror((int)-ret) : "", want);
}

/*
 * A guest's secret: what a guest-only page holds when the harness wrote it
 * through the guest's path.  Every 16 bytes: the marker, then the file id
 * and the page index, so a page found elsewhere says whose it was.  Data
 * the host writes is scrubbed of the marker, so finding it on the host's
 * side means a guest-only byte got out.
 */
#define FZ_SECRET_MARK	0x5e3c7e7a11ab1e5aULL

static inline void fz_secret_page(uint8_t *page, uint32_t file_id, uint64_t index)
{
	for (size_t i = 0; i < 4096; i += 16) {
		uint64_t w[2] = { FZ_SECRET_MARK, (uint64_t)file_id << 40 | index };

		memcpy(page + i, w, sizeof(w));
	}
}

/* Does @buf hold a secret's marker anywhere? */
static inline bool fz_has_secret(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len;

	while ((p = memchr(p, (uint8_t)FZ_SECRET_MARK, (size_t)(end - p))) && end - p >= 8) {
		uint64_t w;

		memcpy(&w, p, sizeof(w));
		/* Split so that the fuzzer's comparison tracing never sees the whole marker. */
		if ((uint32_t)w == (uint32_t)FZ_SECRET_MARK &&
		    (uint32_t)(w >> 32) == (uint32_t)(FZ_SECRET_MARK >> 32))
			return true;
		p++;
	}
	return false;
}

/* Host data never holds the marker's first byte, so no marker can come from the host. */
static inline void fz_scrub(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] == (uint8_t)FZ_SECRET_MARK)
			buf[i] ^= 1;
}

#endif
