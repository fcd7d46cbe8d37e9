/* SPDX-License-Identifier: MIT */
/*
 * Ordinary files: a kernel memfd of their own does the work, so their
 * semantics are Linux's by construction.  What guestmem adds is the guest
 * seal, which turns an empty, unmapped file guest-only for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define KERNEL_SEALS (GM_SEAL_SEAL | GM_SEAL_SHRINK | GM_SEAL_GROW | GM_SEAL_WRITE | \
		      GM_SEAL_FUTURE_WRITE)
/* Linux 6.3's F_SEAL_EXEC has GM_SEAL_GUEST's value; it must never pose as it. */
#define KERNEL_SEAL_EXEC 0x0020
/* What the old kernel memfd is sealed with when its file turns guest-only. */
#define SEALED_SHUT (GM_SEAL_SEAL | GM_SEAL_SHRINK | GM_SEAL_GROW | GM_SEAL_WRITE)

static unsigned int memfd_flags(unsigned int flags)
{
	unsigned int kflags = 0;

	if (flags & GM_MFD_CLOEXEC)
		kflags |= MFD_CLOEXEC;
	if (flags & GM_MFD_ALLOW_SEALING)
		kflags |= MFD_ALLOW_SEALING;
	if (flags & GM_MFD_HUGETLB)
		kflags |= MFD_HUGETLB | ((flags & GM_MFD_HUGE_1GB) ? MFD_HUGE_1GB : MFD_HUGE_2MB);
	return kflags;
}

/*
 * Under vm.memfd_noexec 1 or 2 the kernel makes a memfd_create() without
 * MFD_EXEC an MFD_NOEXEC_SEAL one, and that allows sealing whatever
 * MFD_ALLOW_SEALING says.  Add the F_SEAL_SEAL that the kernel gives such a
 * memfd under 0, so that a file created without GM_MFD_ALLOW_SEALING takes
 * no seal under any setting, not even through the fd the caller may keep.
 */
static int forbid_sealing(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return -errno;
	if (seals & GM_SEAL_SEAL)
		return 0;
	return fcntl(fd, F_ADD_SEALS, GM_SEAL_SEAL) < 0 ? -errno : 0;
}

int gm_ordinary_create(const char *name, unsigned int flags, struct gm_file *file)
{
	/* The library's own copy is always close-on-exec. */
	file->fd = memfd_create(name, memfd_flags(flags) | MFD_CLOEXEC);
	if (file->fd < 0)
		return -errno;
	return (flags & GM_MFD_ALLOW_SEALING) ? 0 : forbid_sealing(file->fd);
}

int gm_ordinary_ftruncate(struct gm_file *file, off_t length)
{
	return ftruncate(file->fd, length) < 0 ? -errno : 0;
}

int gm_ordinary_fallocate(struct gm_file *file, int mode, off_t offset, off_t len)
{
	return fallocate(file->fd, mode, offset, len) < 0 ? -errno : 0;
}

/* The guest seal is file->guest's alone: the kernel's F_SEAL_EXEC is masked. */
int gm_ordinary_get_seals(struct gm_file *file)
{
	int seals = fcntl(file->fd, F_GET_SEALS);

	return seals < 0 ? -errno : seals & ~KERNEL_SEAL_EXEC;
}

int gm_ordinary_add_seals(struct gm_file *file, unsigned int seals)
{
	if (seals & ~(KERNEL_SEALS | GM_SEAL_GUEST))
		return -EINVAL;
	if (seals & GM_SEAL_GUEST)
		return gm_ordinary_seal_guest(file, seals & ~GM_SEAL_GUEST);
	return fcntl(file->fd, F_ADD_SEALS, seals) < 0 ? -errno : 0;
}

/*
 * Checks in Linux's order (sealing allowed, then state), then one
 * irreversible step: the kernel memfd is sealed shut, so that an fd the
 * caller kept can never hold data.  Only then does the file turn guest-only.
 * Its backing is made before that step, so that a failure leaves the file
 * as it was: the seals of a kernel memfd cannot be taken back.
 */
int gm_ordinary_seal_guest(struct gm_file *file, unsigned int other_seals)
{
	int old, ret = 0;
	struct stat st;

	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	old = fcntl(file->fd, F_GET_SEALS);
	if (old < 0) {
		ret = -errno;
		goto out;
	}
	if (old & GM_SEAL_SEAL) {
		ret = -EPERM;
		goto out;
	}
	if (fstat(file->fd, &st) < 0 || st.st_size != 0 || file->host_mappings) {
		ret = -EBUSY;
		goto out;
	}
	ret = gm_guest_init(file);
	if (ret)
		goto out;
	/* Fails with EBUSY if anyone mapped the fd writable behind our back. */
	if (fcntl(file->fd, F_ADD_SEALS, SEALED_SHUT) < 0) {
		ret = -errno;
		goto out_abandon;
	}
	/* Grown through a kept fd between the check and the seal? */
	if (fstat(file->fd, &st) < 0 || st.st_size != 0) {
		ret = -EBUSY;
		goto out_abandon;
	}
	atomic_store(&file->seals, ((unsigned int)old | other_seals) & KERNEL_SEALS);
	atomic_store(&file->size, 0);
	/*
	 * The sealed-shut memfd stays open until the file is freed: a racing
	 * gm_pread() may still be using the number, and must not find it
	 * reused by another open file.
	 */
	gm_guest_enable(file);
	goto out;

out_abandon:
	gm_guest_abandon(file);
out:
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}
