/* SPDX-License-Identifier: MIT */
/*
 * store: memory files with Linux memfd semantics.
 *
 * Every operation is named after the system call it stands for and returns
 * what that call would (a count or 0) or a negative errno.
 *
 * Ordinary files are backed by a kernel memfd of their own; their semantics
 * are the kernel's.  Guest-only files (created with GM_MFD_GUEST, or an
 * ordinary empty file sealed with GM_SEAL_GUEST) are backed by pmem frames:
 * the host can size, allocate, punch and seal them, but never read, write or
 * map their contents.
 *
 * Bad pointers.  No call crashes on a NULL struct gm_file * or on a NULL
 * pointer it would write through or read from; each checks its pointers
 * before anything else, so NULL wins over every other error:
 *  - calls that return int, ssize_t or int64_t return -EFAULT;
 *  - gm_file_get(NULL) returns NULL and gm_file_put(NULL) does nothing, as
 *    free(NULL);
 *  - the getters whose type cannot carry an errno return what no file has:
 *    GM_STORE_NONE, page shift 0, id 0, and 0 frames held.
 * An address that is not a pointer to an object (gm_munmap's @addr) is
 * checked as a value instead.
 */
#ifndef GUESTMEM_FILE_H
#define GUESTMEM_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gm_file;

/* Creation flags.  The first ones have the values of memfd_create(2)'s. */
#define GM_MFD_CLOEXEC		0x0001U
#define GM_MFD_ALLOW_SEALING	0x0002U
#define GM_MFD_HUGETLB		0x0004U	/* hugetlb store */
#define GM_MFD_GUEST		0x0100U	/* guest-only from birth */
#define GM_MFD_HUGE_1GB		0x0200U	/* with GM_MFD_HUGETLB: 1 GiB pages */
/*
 * In place (with GM_MFD_GUEST): each page of the file is shared or private,
 * in the file, and the host may read, write and map its shared pages
 * (gm_pread, gm_pwrite, gm_mmap), never its private ones.  A VM maps both
 * of its aliases onto the one file, and a conversion changes a page's
 * state without freeing it (gm_file_set_attributes).  After upstream's
 * GUEST_MEMFD_FLAG_MMAP and the in-place conversion series.
 *
 * The state is kept a 4 KiB page at a time, whatever the file's page size;
 * pages the file grows by (gm_ftruncate, gm_fallocate) start in the
 * initial state.  It costs one bit a 4 KiB page of the size (32 MiB a TiB),
 * so growing the file may fail with -ENOMEM.  Otherwise the file is a
 * guest-only file (sizes, seals, fallocate, the guest's path), but that
 * while a gm_mmap() mapping covers a page, a punch or truncate that would
 * free it is -EBUSY: pmem must account for every page the host can touch.
 */
#define GM_MFD_GUEST_MMAP	0x0400U
/* With GM_MFD_GUEST_MMAP: pages start shared (else private), as GUEST_MEMFD_FLAG_INIT_SHARED. */
#define GM_MFD_GUEST_INIT_SHARED	0x0800U

/* Seals: the first five are Linux's F_SEAL_* values. */
#define GM_SEAL_SEAL		0x0001U
#define GM_SEAL_SHRINK		0x0002U
#define GM_SEAL_GROW		0x0004U
#define GM_SEAL_WRITE		0x0008U
#define GM_SEAL_FUTURE_WRITE	0x0010U
#define GM_SEAL_GUEST		0x0020U	/* the seed thread's F_SEAL_GUEST */

/* fallocate(2) modes we accept (Linux's values). */
#define GM_FALLOC_KEEP_SIZE	0x01
#define GM_FALLOC_PUNCH_HOLE	0x02

#define GM_PAGE_SHIFT		12
#define GM_PAGE_SIZE		(1UL << GM_PAGE_SHIFT)
/* log2 of the huge page sizes: 2 MiB and 1 GiB. */
#define GM_HUGE_2M_SHIFT	21
#define GM_HUGE_1G_SHIFT	30
/* Orders (log2 of 4 KiB pages) of the huge folios. */
#define GM_HUGE_2M_ORDER	9
#define GM_HUGE_1G_ORDER	18

/* Mapping levels, as KVM counts them. */
enum gm_level {
	GM_LEVEL_4K = 1,
	GM_LEVEL_2M = 2,
	GM_LEVEL_1G = 3,
};

/** Order (log2 of 4 KiB frames) of a level: 0, 9 or 18. */
static inline unsigned int gm_level_order(enum gm_level level)
{
	return (unsigned int)(level - 1) * 9;
}

enum gm_store_kind {
	GM_STORE_NONE = -1,	/* gm_file_store(NULL) only */
	GM_STORE_SHMEM,		/* 4 KiB pages */
	GM_STORE_HUGETLB,	/* 2 MiB or 1 GiB pages */
	GM_STORE_KVM,		/* the host kernel's guest_memfd */
};

/**
 * gm_memfd_create - create a memory file.
 * @name: a name for debugging (as memfd_create's), at most 249 bytes.  As
 *	the kernel does, at most 250 bytes are read: a name with no NUL in
 *	its first 250 bytes is too long, terminated or not.
 * @flags: GM_MFD_*.
 * @filep: the new file, with one reference.
 *
 * Without GM_MFD_ALLOW_SEALING the file carries GM_SEAL_SEAL and takes no
 * seal, whatever the host's vm.memfd_noexec says.  An ordinary file's
 * kernel memfd is created with neither MFD_EXEC nor MFD_NOEXEC_SEAL, so it
 * follows that setting: under 0 it is executable; under 1 or 2 it is not
 * and carries F_SEAL_EXEC, which the kernel's MFD_NOEXEC_SEAL pairs with
 * "sealing allowed" (guestmem adds F_SEAL_SEAL back, and gm_get_seals
 * never shows F_SEAL_EXEC).  Linux 6.18 refuses only MFD_EXEC under 2; a
 * kernel that refuses every memfd_create() without MFD_NOEXEC_SEAL there
 * makes this call fail with its -EACCES.
 *
 * Return: 0, or -EFAULT (NULL argument), -EINVAL (unknown flag, name too
 * long, GM_MFD_HUGE_1GB without GM_MFD_HUGETLB, GM_MFD_GUEST_MMAP without
 * GM_MFD_GUEST, GM_MFD_GUEST_INIT_SHARED without GM_MFD_GUEST_MMAP),
 * -ENOMEM, or the negative errno of memfd_create(2).
 */
int gm_memfd_create(const char *name, unsigned int flags, struct gm_file **filep);

/* KVM's guest_memfd creation flags (Linux 6.18), with KVM's values. */
#define GM_GUEST_MEMFD_FLAG_MMAP	(1ULL << 0)	/* the host may mmap() it */
#define GM_GUEST_MEMFD_FLAG_INIT_SHARED	(1ULL << 1)	/* pages start shared */

/**
 * gm_guest_memfd_create - wrap the host kernel's guest_memfd (the kvm store).
 * @vm_fd: a KVM VM fd; the guest_memfd is bound to it for life.
 * @size: the file's fixed size, a multiple of the page size.
 * @flags: KVM's guest_memfd creation flags (GM_GUEST_MEMFD_FLAG_*; which
 *	this KVM accepts: gm_host_caps_get(), kvm.guest_memfd_flags).
 *
 * Return: 0, or the negative errno of KVM_CREATE_GUEST_MEMFD (-EINVAL for a
 * bad size or flag, -ENOTTY where KVM lacks guest_memfd), -EFAULT for NULL.
 */
int gm_guest_memfd_create(int vm_fd, uint64_t size, uint64_t flags,
			  struct gm_file **filep);

/** gm_file_get - take another reference on @file; returns @file (or NULL). */
struct gm_file *gm_file_get(struct gm_file *file);

/**
 * gm_file_put - drop a reference; the last one frees the file and its pages.
 * A NULL @file is ignored.
 */
void gm_file_put(struct gm_file *file);

/**
 * gm_ftruncate - set the size.  As shmem, a truncate that does not grow the
 * file frees every page past the new end (those that fallocate with
 * GM_FALLOC_KEEP_SIZE put there too), telling the registered guest first.
 *
 * Return: 0, or -EINVAL (negative length; guest-only: not page aligned),
 * -EPERM (GM_SEAL_GROW/GM_SEAL_SHRINK forbid it), -EFBIG (past what the
 * store can hold), -EBUSY (ordinary file: a GM_MAP_HOLD_SIZE mapping, such
 * as a VM's memslot window, reaches past @length; in-place file: a
 * gm_mmap() mapping covers a page it would cut), -ENOMEM (in-place file:
 * no memory for the new pages' state), -EFAULT (NULL file).
 * Pages pinned by a guest are never freed under the pin.
 */
int gm_ftruncate(struct gm_file *file, off_t length);

/**
 * gm_fallocate - allocate pages (mode 0 or GM_FALLOC_KEEP_SIZE) or free them
 * (GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE).
 *
 * Return: 0, or -EINVAL (offset < 0, len <= 0; guest-only: unaligned),
 * -EOPNOTSUPP (unknown mode, or PUNCH_HOLE without KEEP_SIZE), -EFBIG
 * (offset + len overflows or passes the store's limit), -EPERM (a seal
 * forbids it), -ENOSPC (guest-only: past gm_guest_memory_set_limit()'s
 * limit; nothing is left half done), -ENOMEM (the kernel refused the
 * memory: huge pages ran out; nothing is left half done), -EBUSY
 * (guest-only: a page to allocate was freed while a guest pinned it, and
 * the pin stayed for a second; in-place: a gm_mmap() mapping covers a page
 * to punch), -EFAULT.
 */
int gm_fallocate(struct gm_file *file, int mode, off_t offset, off_t len);

/**
 * gm_guest_memory_set_limit - cap the host memory that all guest-only files
 * of this process hold together, at @bytes (a multiple of 4 KiB; 0, the
 * default: no cap).  An allocation that would pass it, by the host
 * (gm_fallocate) or by a guest's first touch, fails with -ENOSPC and
 * allocates nothing; a guest's touch of a 2 MiB range falls back to the
 * page it needs.  A lower cap than what is held frees nothing: allocations
 * fail until enough is freed.
 *
 * With no cap, guest-only memory is a kernel memfd's: the kernel backs it
 * as it allocates, and a host that runs out handles it as it handles any
 * process's memory (the OOM killer may end this process); no call returns
 * -ENOSPC for it.  Huge pages are bounded by the pool reserved (-ENOMEM).
 * Return: 0, or -EINVAL (@bytes not a multiple of 4 KiB).
 */
int gm_guest_memory_set_limit(uint64_t bytes);

/** gm_guest_memory_limit - the cap gm_guest_memory_set_limit() set (0: none). */
uint64_t gm_guest_memory_limit(void);

/**
 * gm_pread / gm_pwrite - host I/O.
 *
 * In-place files: a call that touches a private page transfers nothing
 * (-EPERM); one whose pages are all shared transfers as pread(2) and
 * pwrite(2) on a file would, but that the size is a limit, as RLIMIT_FSIZE
 * is: a write never grows the file (at or past the end: -EFBIG; across it:
 * short, up to the end).  A read past the end returns 0 or a short count; a
 * hole reads zero and stays a hole; a write allocates its pages first, so
 * gm_guest_memory_set_limit() holds (-ENOSPC, nothing written).  A page
 * cannot turn private during a call.
 *
 * Return: bytes transferred, or -EPERM (guest-only file; in-place: a
 * private page, or a write seal), -EFBIG (in-place write at or past the
 * end), -ENOSPC (in-place write past the limit, or out of huge pages),
 * -EBUSY (in-place write: a page freed under a guest's pin stayed pinned),
 * -EINVAL (negative offset), -EFAULT (NULL), or the negative errno of
 * pread(2)/pwrite(2).
 */
ssize_t gm_pread(struct gm_file *file, void *buf, size_t count, off_t offset);
ssize_t gm_pwrite(struct gm_file *file, const void *buf, size_t count, off_t offset);

/**
 * gm_add_seals - add seals (fcntl F_ADD_SEALS).  GM_SEAL_GUEST turns an
 * empty, unmapped ordinary file guest-only.
 *
 * Return: 0, or -EINVAL (unknown seal), -EPERM (GM_SEAL_SEAL is set, or the
 * file was not created with GM_MFD_ALLOW_SEALING), -EBUSY (GM_SEAL_GUEST on
 * a non-empty or mapped file; GM_SEAL_WRITE with writable mappings), -EFAULT.
 */
int gm_add_seals(struct gm_file *file, unsigned int seals);

/**
 * gm_get_seals - the seals, or -EFAULT for NULL.  Bit 0x20 is GM_SEAL_GUEST,
 * set exactly when the file is guest-only: the kernel's F_SEAL_EXEC, which
 * shares the value, is never reported.
 */
int gm_get_seals(struct gm_file *file);

/*
 * A gm_mmap() flag of guestmem's own, beside mmap(2)'s: while the mapping
 * lives, gm_ftruncate() may not shrink the file below its end (-EBUSY), so
 * that touching it never raises SIGBUS.  A VM's memslot windows use it.
 */
#define GM_MAP_HOLD_SIZE	0x00800000

/**
 * gm_mmap / gm_munmap - host mappings of an ordinary or an in-place file.
 * gm_munmap takes back one whole mapping that gm_mmap of the same file
 * made and that is still mapped: @addr as gm_mmap returned it, @length as
 * given to gm_mmap (or any length that rounds up to as many of the file's
 * pages).  Anything else, a part of a mapping included, is -EINVAL and
 * stays mapped.
 *
 * In-place files, as guest_memfd: MAP_SHARED (or MAP_SHARED_VALIDATE) only,
 * guestmem places it (no MAP_FIXED), @offset a multiple of the file's page
 * size.  A host page of the mapping (the file's page: 4 KiB, 2 MiB or
 * 1 GiB) shows the file only while all its 4 KiB pages are shared and it
 * lies inside the file; any other raises SIGBUS when touched, a huge page
 * whole while any 4 KiB page of it is private.  Each page shown is
 * allocated by gm_mmap() (or by the conversion that shows it), so that a
 * touch never allocates behind pmem's back.  A page that turns shared
 * shows in every mapping that covers it; the pages the file grows by do
 * not show in a mapping made before (map again).
 *
 * Return: 0 and *@addrp, or -EPERM (guest-only but not in place; in place:
 * writable and a write seal), -EINVAL, -ENOMEM/-ENOSPC (in place: the pages
 * to show), -EBUSY (in place: a page to show was freed under a guest's pin
 * that stayed), or mmap's/munmap's errno.
 */
int gm_mmap(struct gm_file *file, size_t length, int prot, int flags,
	    off_t offset, void **addrp);
int gm_munmap(struct gm_file *file, void *addr, size_t length);

/* A page's attribute in an in-place file: KVM_MEMORY_ATTRIBUTE_PRIVATE's value. */
#define GM_FILE_ATTR_PRIVATE	(1ULL << 3)

/* What a conversion does with a page's contents. */
#define GM_CONVERT_ZERO		0U	/* discarded: the page reads zero on its new side */
#define GM_CONVERT_PRESERVE	1U	/* kept: a shared buffer handed over, a private page published */

/**
 * gm_file_set_attributes - convert pages [@offset, @offset + @len) of an
 * in-place file (GM_MFD_GUEST_MMAP) to private (@attributes =
 * GM_FILE_ATTR_PRIVATE) or shared (0), in place: no page is freed, and a
 * huge page stays one allocation whatever its 4 KiB pages are.  @policy:
 * GM_CONVERT_ZERO or GM_CONVERT_PRESERVE.
 *
 * To private is refused, changing nothing, while the host could still reach
 * a page of the range: a gm_mmap() mapping covers it (guestmem cannot see
 * what the kernel holds through a mapping, so it never revokes one: unmap
 * first), or a pin holds its frame (a huge page's pin holds all of it).
 * To shared is never refused for that.  At no time can the host read a page
 * while it is private, and a private page the host maps reads as SIGBUS.
 * A file a guest holds (gm_register_guest) is converted by its guest's VM
 * (gm_vm_set_memory_attributes), never from here.
 *
 * A page already on the side asked for is left as it is, its bytes too,
 * whatever @policy.  GM_CONVERT_ZERO zeroes the present pages that change
 * side before they change (a hole stays a hole); it rewrites the file, so a
 * write seal forbids it, as it forbids a punch.  To shared, the pages a
 * mapping is to show are allocated first (refused as gm_mmap's: nothing
 * changes), then shown; should a remap of a mapping fail after the pages
 * turned shared, the call returns mmap's errno and that part of the mapping
 * stays SIGBUS: never a private page reachable.
 *
 * Return: 0, or -EAGAIN (to private: a page is mapped or pinned; its offset
 * in *@error_offset if @error_offset), -EINVAL (not an in-place file,
 * @offset or @len not 4 KiB aligned or <= 0, past the end, unknown
 * attribute or policy), -EBUSY (a guest holds the file), -EPERM
 * (GM_CONVERT_ZERO and a write seal), -ENOMEM/-ENOSPC (to shared: the pages
 * a mapping is to show), -EFAULT (NULL file).
 */
int gm_file_set_attributes(struct gm_file *file, off_t offset, off_t len, uint64_t attributes,
			   unsigned int policy, off_t *error_offset);

/**
 * gm_file_get_attributes - the attribute of the page at @offset of an
 * in-place file: GM_FILE_ATTR_PRIVATE or 0.
 * Return: that, or -EINVAL (not an in-place file, past the end), -EFAULT.
 */
int64_t gm_file_get_attributes(struct gm_file *file, off_t offset);

/**
 * gm_file_find_attributes - the offset of the first page at or after
 * @offset of an in-place file whose attribute is @attributes
 * (GM_FILE_ATTR_PRIVATE or 0), as lseek(SEEK_DATA) finds data: a range's
 * pages are read a run at a time, not a call per page.
 * Return: that offset, or -ENXIO (no such page before the end, or @offset
 * at or past it), -EINVAL (not an in-place file, @offset negative or not
 * 4 KiB aligned, unknown attribute), -EFAULT (NULL file).
 */
int64_t gm_file_find_attributes(struct gm_file *file, off_t offset, uint64_t attributes);

/** gm_file_in_place - 1 for an in-place file (GM_MFD_GUEST_MMAP), 0 if not, -EFAULT. */
int gm_file_in_place(struct gm_file *file);

/**
 * gm_file_fd - the kernel fd of an ordinary file (owned by the file: dup it
 * to keep it).  Return: the fd, or -EPERM for a guest-only file, -EFAULT.
 */
int gm_file_fd(struct gm_file *file);

/** gm_file_size - the size in bytes, or -EFAULT. */
int64_t gm_file_size(struct gm_file *file);

/** gm_file_is_guest - 1 when the file is guest-only, 0 if not, -EFAULT. */
int gm_file_is_guest(struct gm_file *file);

/** gm_file_store - the store that backs @file (NULL: GM_STORE_NONE). */
enum gm_store_kind gm_file_store(struct gm_file *file);

/**
 * gm_file_page_shift - log2 of the page size: GM_PAGE_SHIFT, GM_HUGE_2M_SHIFT
 * or GM_HUGE_1G_SHIFT (NULL: 0).
 */
unsigned int gm_file_page_shift(struct gm_file *file);

/**
 * gm_file_id - a small number that names the file in frame metadata
 * (NULL: 0).
 */
uint32_t gm_file_id(struct gm_file *file);

/**
 * gm_file_pages_held - 4 KiB frames the file holds now (guest-only;
 * NULL: 0).
 */
uint64_t gm_file_pages_held(struct gm_file *file);

/**
 * gm_frames_in_use - 4 KiB pages held now by all guest-only files of the
 * shmem and hugetlb stores together (a leak check for VMMs and tests).
 */
int64_t gm_frames_in_use(void);

/**
 * gm_frames_meta_bytes - bytes of per-page metadata that guest-only files
 * hold now (at most 4 per 4 KiB page held, given back with the pages).
 */
int64_t gm_frames_meta_bytes(void);

/**
 * gm_hugetlb_free_pages - huge pages of 2^@page_shift bytes (GM_HUGE_2M_SHIFT or
 * GM_HUGE_1G_SHIFT) that
 * the host has free now.  Return: the count, -EINVAL (another size),
 * -ENOENT (the host kernel has no huge pages of that size).
 */
int64_t gm_hugetlb_free_pages(unsigned int page_shift);

/**
 * gm_hugetlb_available - whether the hugetlb store can hold pages of
 * 2^@page_shift bytes now; if not, why in *@why (a static string; @why may
 * be NULL).  Return: 1 or 0.
 */
int gm_hugetlb_available(unsigned int page_shift, const char **why);

#ifdef __cplusplus
}
#endif
#endif
