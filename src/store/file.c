/* SPDX-License-Identifier: MIT */
/*
 * The memory-file object and the calls named after system calls.  Each call
 * checks its arguments, then sends the file to its kind: ordinary.c (a kernel
 * memfd does the work) or guest-only.c (a pmem backing, Linux's semantics rebuilt).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmem.h"
#include "rcu.h"
#include "store.h"

#define KNOWN_MFD_FLAGS (GM_MFD_CLOEXEC | GM_MFD_ALLOW_SEALING | GM_MFD_HUGETLB | \
			 GM_MFD_GUEST | GM_MFD_HUGE_1GB | GM_MFD_GUEST_MMAP | \
			 GM_MFD_GUEST_INIT_SHARED)
/* memfd_create(2) takes names of at most 249 bytes ("memfd:" + 249 = 255). */
#define MFD_NAME_MAX 249

/* Ids name files in messages and tests; 0 is never one. */
static _Atomic uint32_t next_file_id = 1;

static uint32_t new_file_id(void)
{
	uint32_t id;

	do
		id = atomic_fetch_add(&next_file_id, 1);
	while (!id);
	return id;
}

struct gm_file *gm_file_alloc(enum gm_store_kind store, unsigned int page_shift)
{
	struct gm_file *file = calloc(1, sizeof(*file));

	if (!file)
		return NULL;
	atomic_init(&file->refcount, 1);
	file->store = store;
	file->page_shift = page_shift;
	file->id = new_file_id();
	file->fd = -1;
	pthread_mutex_init(&file->lock, NULL);
	return file;
}

static void file_free(struct gm_file *file)
{
	struct gm_host_map *map;

	/* Mappings the caller never took back stay; the kernel holds the memfd. */
	while ((map = file->host_maps)) {
		file->host_maps = map->next;
		free(map);
	}
	if (atomic_load(&file->guest))
		gm_guest_release(file);
	gm_inplace_release(file);
	if (file->fd >= 0)
		close(file->fd);
	pthread_mutex_destroy(&file->lock);
	free(file);
}

int gm_memfd_create(const char *name, unsigned int flags, struct gm_file **filep)
{
	bool huge = flags & GM_MFD_HUGETLB;
	struct gm_file *file;
	int ret;

	if (!name || !filep)
		return -EFAULT;
	/* strnlen: never read past the 250 bytes the kernel would. */
	if ((flags & ~KNOWN_MFD_FLAGS) || strnlen(name, MFD_NAME_MAX + 1) > MFD_NAME_MAX)
		return -EINVAL;
	if ((flags & GM_MFD_HUGE_1GB) && !huge)
		return -EINVAL;
	if (((flags & GM_MFD_GUEST_MMAP) && !(flags & GM_MFD_GUEST)) ||
	    ((flags & GM_MFD_GUEST_INIT_SHARED) && !(flags & GM_MFD_GUEST_MMAP)))
		return -EINVAL;
	file = gm_file_alloc(huge ? GM_STORE_HUGETLB : GM_STORE_SHMEM,
			  !huge ? 12 : (flags & GM_MFD_HUGE_1GB) ? 30 : 21);
	if (!file)
		return -ENOMEM;
	if (flags & GM_MFD_GUEST) {
		/* As memfd_create: no F_SEAL_SEAL only when sealing is allowed. */
		atomic_store(&file->seals, (flags & GM_MFD_ALLOW_SEALING) ? 0 : GM_SEAL_SEAL);
		if (flags & GM_MFD_GUEST_MMAP)
			gm_inplace_init(file, flags & GM_MFD_GUEST_INIT_SHARED);
		ret = gm_guest_init(file);
		if (!ret)
			gm_guest_enable(file);
	} else {
		ret = gm_ordinary_create(name, flags, file);
	}
	if (ret) {
		file_free(file);
		return ret;
	}
	*filep = file;
	return 0;
}

struct gm_file *gm_file_get(struct gm_file *file)
{
	if (file)
		atomic_fetch_add(&file->refcount, 1);
	return file;
}

void gm_file_put(struct gm_file *file)
{
	if (file && atomic_fetch_sub(&file->refcount, 1) == 1)
		file_free(file);
}

/* Would a mapping that holds the size be cut by a truncate to @length?  Under lock. */
static bool size_held_past(struct gm_file *file, off_t length)
{
	for (struct gm_host_map *map = file->host_maps; map; map = map->next)
		if (map->hold_end > (uint64_t)length)
			return true;
	return false;
}

int gm_ftruncate(struct gm_file *file, off_t length)
{
	int ret;

	if (!file)
		return -EFAULT;
	if (file->store == GM_STORE_KVM)
		return gm_ordinary_ftruncate(file, length);
	if (length < 0)
		return -EINVAL;
	if (atomic_load(&file->guest))
		return gm_guest_ftruncate(file, length);
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	ret = size_held_past(file, length) ? -EBUSY : gm_ordinary_ftruncate(file, length);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

int gm_fallocate(struct gm_file *file, int mode, off_t offset, off_t len)
{
	if (!file)
		return -EFAULT;
	if (atomic_load(&file->guest))
		return gm_guest_fallocate(file, mode, offset, len);
	return gm_ordinary_fallocate(file, mode, offset, len);
}

ssize_t gm_pread(struct gm_file *file, void *buf, size_t count, off_t offset)
{
	ssize_t n;

	if (!file || (!buf && count))
		return -EFAULT;
	if (offset < 0)
		return -EINVAL;
	if (file->in_place)
		return gm_inplace_pread(file, buf, count, (uint64_t)offset);
	if (atomic_load(&file->guest))
		return -EPERM;
	n = pread(file->fd, buf, count, offset);
	if (n < 0)
		return -errno;
	/*
	 * Check the seal again after the read, as the seed's
	 * shmem_file_read_iter comment asks: a file sealed meanwhile must not
	 * hand out what was read.
	 */
	if (atomic_load(&file->guest)) {
		memset(buf, 0, (size_t)n);
		return -EPERM;
	}
	return n;
}

ssize_t gm_pwrite(struct gm_file *file, const void *buf, size_t count, off_t offset)
{
	ssize_t n;

	if (!file || (!buf && count))
		return -EFAULT;
	if (offset < 0)
		return -EINVAL;
	if (file->in_place)
		return gm_inplace_pwrite(file, buf, count, (uint64_t)offset);
	if (atomic_load(&file->guest))
		return -EPERM;
	n = pwrite(file->fd, buf, count, offset);
	return n < 0 ? -errno : n;
}

int gm_add_seals(struct gm_file *file, unsigned int seals)
{
	if (!file)
		return -EFAULT;
	if (file->store == GM_STORE_KVM)
		return fcntl(file->fd, F_ADD_SEALS, seals) < 0 ? -errno : 0;
	if (atomic_load(&file->guest))
		return gm_guest_add_seals(file, seals);
	return gm_ordinary_add_seals(file, seals);
}

int gm_get_seals(struct gm_file *file)
{
	if (!file)
		return -EFAULT;
	if (atomic_load(&file->guest))
		return (int)(atomic_load(&file->seals) | GM_SEAL_GUEST);
	return gm_ordinary_get_seals(file);
}

size_t gm_file_map_length(struct gm_file *file, size_t length)
{
	size_t mask = ((size_t)1 << file->page_shift) - 1;

	return length > SIZE_MAX - mask ? 0 : (length + mask) & ~mask;
}

void gm_file_add_host_map(struct gm_file *file, struct gm_host_map *map)
{
	gm_lock_assert_held(GM_LOCK_FILE);
	map->next = file->host_maps;
	file->host_maps = map;
	file->host_mappings++;
}

/* gm_mmap() of an ordinary file: the kernel memfd's own mapping. */
static int ordinary_mmap(struct gm_file *file, struct gm_host_map *map, size_t length, int prot,
			 int flags, off_t offset, void **addrp)
{
	int ret = 0;

	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	if (atomic_load(&file->guest)) {
		ret = -EPERM;
		goto out;
	}
	map->addr = mmap(NULL, length, prot, flags & ~GM_MAP_HOLD_SIZE, file->fd, offset);
	if (map->addr == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	map->length = gm_file_map_length(file, length);
	map->offset = (uint64_t)offset;
	map->prot = prot;
	map->flags = flags & ~GM_MAP_HOLD_SIZE;
	map->hold_end = (flags & GM_MAP_HOLD_SIZE) ? (uint64_t)offset + map->length : 0;
	gm_file_add_host_map(file, map);
	*addrp = map->addr;
out:
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

int gm_mmap(struct gm_file *file, size_t length, int prot, int flags, off_t offset,
	    void **addrp)
{
	struct gm_host_map *map;
	int ret;

	if (!file || !addrp)
		return -EFAULT;
	/* Allocated first, so that a mapping made is always recorded. */
	map = malloc(sizeof(*map));
	if (!map)
		return -ENOMEM;
	if (file->in_place)
		ret = gm_inplace_mmap(file, map, length, prot, flags, offset, addrp);
	else
		ret = ordinary_mmap(file, map, length, prot, flags, offset, addrp);
	if (ret)
		free(map);
	return ret;
}

/*
 * Only a whole mapping that gm_mmap() of this file made: munmap() of any
 * other range would take memory from whoever owns it.  Caller holds lock.
 */
static struct gm_host_map **find_host_map(struct gm_file *file, void *addr, size_t length)
{
	struct gm_host_map **link;

	length = gm_file_map_length(file, length);
	for (link = &file->host_maps; *link; link = &(*link)->next)
		if ((*link)->addr == addr && (*link)->length == length)
			return link;
	return NULL;
}

int gm_munmap(struct gm_file *file, void *addr, size_t length)
{
	struct gm_host_map **link, *map;
	int ret = 0;

	if (!file)
		return -EFAULT;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	link = find_host_map(file, addr, length);
	if (!link) {
		ret = -EINVAL;
		goto out;
	}
	map = *link;
	if (munmap(map->addr, map->length) < 0) {
		ret = -errno;
		goto out;
	}
	*link = map->next;
	free(map);
	file->host_mappings--;
out:
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

int gm_file_fd(struct gm_file *file)
{
	if (!file)
		return -EFAULT;
	if (atomic_load(&file->guest))
		return -EPERM;
	return file->fd;
}

int64_t gm_file_size(struct gm_file *file)
{
	struct stat st;

	if (!file)
		return -EFAULT;
	if (atomic_load(&file->guest))
		return atomic_load(&file->size);
	if (fstat(file->fd, &st) < 0)
		return -errno;
	return st.st_size;
}

int gm_file_is_guest(struct gm_file *file)
{
	if (!file)
		return -EFAULT;
	return atomic_load(&file->guest) ? 1 : 0;
}

/* The getters below cannot return -EFAULT: NULL gets what no file has (file.h). */
enum gm_store_kind gm_file_store(struct gm_file *file)
{
	return file ? file->store : GM_STORE_NONE;
}

unsigned int gm_file_page_shift(struct gm_file *file)
{
	return file ? file->page_shift : 0;
}

uint32_t gm_file_id(struct gm_file *file)
{
	return file ? file->id : 0;
}

uint64_t gm_file_pages_held(struct gm_file *file)
{
	return file ? atomic_load(&file->pages_held) : 0;
}

int gm_guest_memory_set_limit(uint64_t bytes)
{
	if (bytes & (GM_PAGE_SIZE - 1))
		return -EINVAL;
	gm_pmem_set_limit(bytes >> GM_PAGE_SHIFT);
	return 0;
}

uint64_t gm_guest_memory_limit(void)
{
	return gm_pmem_limit() << GM_PAGE_SHIFT;
}

/* ---- the binding to a guest (set by the provider layer) ---- */

struct gm_file_binding *gm_file_binding(struct gm_file *file)
{
	return atomic_load_explicit(&file->binding, memory_order_acquire);
}

int gm_file_bind(struct gm_file *file, struct gm_file_binding *binding)
{
	int ret = 0;

	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	if (atomic_load(&file->binding))
		ret = -EBUSY;
	else
		atomic_store_explicit(&file->binding, binding, memory_order_release);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

int gm_file_unbind(struct gm_file *file, struct gm_file_binding *binding)
{
	int ret = 0;

	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	if (atomic_load(&file->binding) != binding)
		ret = -EINVAL;
	else
		atomic_store_explicit(&file->binding, NULL, memory_order_release);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

void gm_file_invalidate(struct gm_file *file, uint64_t start, uint64_t end)
{
	struct gm_file_binding *binding;

	gm_rcu_read_lock();
	binding = atomic_load_explicit(&file->binding, memory_order_acquire);
	if (binding)
		binding->invalidate(binding, file, start, end);
	gm_rcu_read_unlock();
}
