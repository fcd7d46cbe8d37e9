/* SPDX-License-Identifier: MIT */
/*
 * In-place files (GM_MFD_GUEST | GM_MFD_GUEST_MMAP): guest-only files whose
 * 4 KiB pages are each shared or private, in the file, as upstream's
 * guest_memfd with in-place conversion.  The host reads, writes and maps
 * the shared pages; the owner's windows reach both kinds; a conversion
 * changes a page's state and frees nothing, so a huge folio stays one
 * allocation whatever its 4 KiB pages are.
 *
 * Host mappings.  A gm_mmap() mapping shows a host page (the file's page:
 * 4 KiB, 2 MiB or 1 GiB) of the backing only while the page is inside the
 * file, all its 4 KiB pages are shared and its folio is present: the folio
 * is allocated when the page comes to be shown, because a hole touched
 * through the mapping would be allocated by the kernel behind pmem's back
 * (no budget, no count).  Every other host page maps pmem's empty memfd,
 * where a touch is SIGBUS.  What would hide a shown page again (conversion
 * to private, a punch, a shrink) is refused while a mapping covers the
 * page, so once a mapping is made its pages only ever go from SIGBUS to
 * shown: a remap that fails leaves a page unreachable, never a private page
 * reachable.  Only a conversion to shared remaps; the pages the file grows
 * into stay SIGBUS in the mappings made before (so growing allocates
 * nothing and cannot fail half-way).
 *
 * Locking: file->lock (GM_LOCK_FILE) guards the state bits and the host
 * maps.  Host I/O, mapping and conversion run under it whole, so no page
 * changes state under a read or a write of it.  Nothing here calls the
 * owner's invalidate callback: a conversion frees no page, and the owner
 * keeps its own windows in step with the conversions it asks for.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pmem.h"
#include "store.h"

/* What one read(2) or write(2) moves at most (the kernel's MAX_RW_COUNT). */
#define MAX_RW_COUNT	((size_t)INT_MAX & ~(size_t)(GM_PAGE_SIZE - 1))

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t size_pages(struct gm_file *file)
{
	return (uint64_t)atomic_load(&file->size) >> GM_PAGE_SHIFT;
}

/* 4 KiB pages per host page (the file's page): 1, 512 or 262144. */
static uint64_t host_pages(const struct gm_file *file)
{
	return 1ULL << (file->page_shift - GM_PAGE_SHIFT);
}

/* ---- the state bits ---- */

/* Set or clear bits [first, end) of @w. */
static void bits_assign(uint64_t *w, uint64_t first, uint64_t end, bool set)
{
	while (first < end) {
		uint64_t lo = first % 64, n = min_u64(64 - lo, end - first);
		uint64_t mask = (n == 64 ? ~0ULL : (1ULL << n) - 1) << lo;

		if (set)
			w[first / 64] |= mask;
		else
			w[first / 64] &= ~mask;
		first += n;
	}
}

/* The first bit of [first, end) of @w that is @set, or @end. */
static uint64_t bits_find(const uint64_t *w, uint64_t first, uint64_t end, bool set)
{
	while (first < end) {
		uint64_t lo = first % 64, n = min_u64(64 - lo, end - first);
		uint64_t word = (set ? w[first / 64] : ~w[first / 64]) >> lo;

		if (n < 64)
			word &= (1ULL << n) - 1;
		if (word)
			return first + (uint64_t)__builtin_ctzll(word);
		first += n;
	}
	return end;
}

/* The first page of [first, end) that is @private (or shared), or @end.  Under lock. */
static uint64_t find_state(struct gm_file *file, uint64_t first, uint64_t end, bool private)
{
	return bits_find(file->flipped, first, end, private != file->init_private);
}

static bool page_private(struct gm_file *file, uint64_t index)
{
	return find_state(file, index, index + 1, true) == index;
}

static void set_state(struct gm_file *file, uint64_t first, uint64_t end, bool private)
{
	bits_assign(file->flipped, first, end, private != file->init_private);
}

void gm_inplace_init(struct gm_file *file, bool init_shared)
{
	file->in_place = true;
	file->init_private = !init_shared;
}

void gm_inplace_release(struct gm_file *file)
{
	free(file->flipped);
	file->flipped = NULL;
	file->flipped_words = 0;
}

/*
 * Put the bits of [first, end) back to 0 (the initial state), writing only
 * the words that are not: a word never set stays the kernel's zero page.
 */
static void bits_clear_sparse(uint64_t *w, uint64_t first, uint64_t end)
{
	uint64_t i = first / 64;

	if (first >= end)
		return;
	if (first % 64)
		w[i++] &= (1ULL << (first % 64)) - 1;
	for (; i < (end + 63) / 64; i++)
		if (w[i])
			w[i] = 0;
}

int gm_inplace_resize(struct gm_file *file, uint64_t old_pages, uint64_t new_pages)
{
	uint64_t words = (new_pages + 63) / 64, room;
	uint64_t *w;

	gm_lock_assert_held(GM_LOCK_FILE);
	if (new_pages < old_pages) {
		bits_clear_sparse(file->flipped, new_pages, old_pages);
		return 0;
	}
	if (words <= file->flipped_words)
		return 0;	/* the bits past the old end are 0 already */
	/* Twice the room, so that growing page by page copies little. */
	room = max_u64(words, 2 * file->flipped_words);
	w = calloc(room, sizeof(*w));
	if (!w && room > words)
		w = calloc(room = words, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (file->flipped)
		memcpy(w, file->flipped, (old_pages + 63) / 64 * sizeof(*w));
	free(file->flipped);
	file->flipped = w;
	file->flipped_words = room;
	return 0;
}

/* ---- host mappings ---- */

static uint64_t map_first(const struct gm_host_map *map)
{
	return map->offset >> GM_PAGE_SHIFT;
}

static uint64_t map_end(const struct gm_host_map *map)
{
	return (map->offset + map->length) >> GM_PAGE_SHIFT;
}

/* The first page of [start, end) a host mapping covers, or @end.  Under lock. */
static uint64_t first_mapped(struct gm_file *file, uint64_t start, uint64_t end)
{
	uint64_t first = end;

	for (struct gm_host_map *map = file->host_maps; map; map = map->next) {
		uint64_t s = max_u64(start, map_first(map)), e = min_u64(end, map_end(map));

		if (s < e && s < first)
			first = s;
	}
	return first;
}

bool gm_inplace_mapped(struct gm_file *file, uint64_t start, uint64_t end)
{
	gm_lock_assert_held(GM_LOCK_FILE);
	return first_mapped(file, start, end) < end;
}

bool gm_inplace_mapped_writable(struct gm_file *file)
{
	gm_lock_assert_held(GM_LOCK_FILE);
	for (struct gm_host_map *map = file->host_maps; map; map = map->next)
		if (map->prot & PROT_WRITE)
			return true;	/* every in-place mapping is MAP_SHARED */
	return false;
}

/*
 * Is host page @h inside the file with all its pages shared, counting
 * pages [first, end) as shared (first == end: none)?  Under lock.
 */
static bool host_page_shared(struct gm_file *file, uint64_t h, uint64_t first, uint64_t end)
{
	uint64_t p0 = h * host_pages(file), p1 = p0 + host_pages(file);
	uint64_t below = min_u64(p1, max_u64(p0, first)), above = max_u64(p0, end);

	if (p1 > size_pages(file))
		return false;
	if (first >= end)
		return find_state(file, p0, p1, true) == p1;
	/* The pages below [first, end), then those above it. */
	return find_state(file, p0, below, true) == below &&
	       find_state(file, above, p1, true) == p1;
}

/* Host pages [*h0, *h1) of @map that pages [first, end) touch; false if none. */
static bool map_host_range(struct gm_file *file, struct gm_host_map *map, uint64_t first,
			   uint64_t end, uint64_t *h0, uint64_t *h1)
{
	unsigned int shift = file->page_shift - GM_PAGE_SHIFT;
	uint64_t s = max_u64(first, map_first(map)), e = min_u64(end, map_end(map));

	if (s >= e)
		return false;
	*h0 = s >> shift;
	*h1 = (e + host_pages(file) - 1) >> shift;
	return true;
}

/* Does host page @h qualify?  [first, end): pages a conversion makes shared. */
typedef bool host_page_test(struct gm_file *file, uint64_t h, uint64_t first, uint64_t end);

/* Shown in a mapping now: shared whole, and its folio present. */
static bool host_page_shown(struct gm_file *file, uint64_t h, uint64_t first, uint64_t end)
{
	return host_page_shared(file, h, 0, 0) &&
	       gm_backing_present(file->backing, h * host_pages(file));
}

/*
 * The next run of host pages in [*h, h1) that @test accepts: its first
 * page returned, its end left in *h; h1 when there is none.
 */
static uint64_t next_run(struct gm_file *file, uint64_t *h, uint64_t h1, host_page_test *test,
			 uint64_t first, uint64_t end)
{
	uint64_t run;

	while (*h < h1 && !test(file, *h, first, end))
		(*h)++;
	run = *h;
	while (*h < h1 && test(file, *h, first, end))
		(*h)++;
	return run;
}

/*
 * Allocate the folios of host pages [h0, h1) of @map that will be shown
 * once pages [first, end) are shared (first == end: as they are).  Under
 * lock.  Return: 0, -ENOMEM, -ENOSPC, -EAGAIN (a folio freed under a pin).
 */
static int populate_shown(struct gm_file *file, struct gm_host_map *map, uint64_t h0,
			  uint64_t h1, uint64_t first, uint64_t end)
{
	uint64_t n = host_pages(file), h = h0, run;
	int ret;

	while ((run = next_run(file, &h, h1, host_page_shared, first, end)) < h1) {
		/* Present folios are skipped, without a system call. */
		ret = gm_guest_alloc_pages(file, run * n, (h - run) * n);
		if (ret)
			return ret;
	}
	return 0;
}

/* Map the backing over the host pages [h0, h1) of @map that are shown now.  Under lock. */
static int show_range(struct gm_file *file, struct gm_host_map *map, uint64_t h0, uint64_t h1,
		      uint64_t first, uint64_t end)
{
	unsigned int shift = file->page_shift;
	uint64_t h = h0, run;
	int ret;

	while ((run = next_run(file, &h, h1, host_page_shown, 0, 0)) < h1) {
		ret = gm_backing_map_host(file->backing, run << shift, (h - run) << shift,
					  (char *)map->addr + ((run << shift) - map->offset),
					  map->prot, map->flags);
		if (ret)
			return ret;
	}
	return 0;
}

/* Call @fn on the host pages of each mapping that pages [first, end) touch.  Under lock. */
static int for_each_map(struct gm_file *file, uint64_t first, uint64_t end,
			int (*fn)(struct gm_file *file, struct gm_host_map *map, uint64_t h0,
				  uint64_t h1, uint64_t first, uint64_t end))
{
	uint64_t h0, h1;
	int ret;

	for (struct gm_host_map *map = file->host_maps; map; map = map->next) {
		if (!map_host_range(file, map, first, end, &h0, &h1))
			continue;
		ret = fn(file, map, h0, h1, first, end);
		if (ret)
			return ret;
	}
	return 0;
}

/* As mmap(2) and guest_memfd's mmap check, in that order. */
static int check_mmap(struct gm_file *file, size_t length, int flags, off_t offset)
{
	uint64_t mask = (1ULL << file->page_shift) - 1;
	size_t len = gm_file_map_length(file, length);
	int type = flags & MAP_TYPE;

	if (!length || offset < 0 || ((uint64_t)offset & mask))
		return -EINVAL;
	if (!len)
		return -ENOMEM;
	if ((uint64_t)offset > UINT64_MAX - len)
		return -EOVERFLOW;
	/* Shared only, as guest_memfd: a private copy would outlive the page's state. */
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	/* guestmem places the mapping: nothing of the caller's is to be replaced. */
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
		return -EINVAL;
	return 0;
}

/*
 * @len bytes of address space aligned to @align (a huge page's mapping
 * must start on one), every page of it SIGBUS.  Return: 0 or -errno.
 */
static int map_faulting(size_t len, size_t align, int prot, void **addrp)
{
	size_t span;
	char *p, *a;
	int ret;

	if (len > SIZE_MAX - align)
		return -ENOMEM;
	span = len + align - GM_PAGE_SIZE;
	p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + span > a + len)
		munmap(a + len, (size_t)(p + span - (a + len)));
	ret = gm_pmem_map_fault(a, len, prot);
	if (ret) {
		munmap(a, len);
		return ret;
	}
	*addrp = a;
	return 0;
}

/*
 * Allocate and show the pages @map is to show (it faults everywhere so
 * far), then record it.  On failure it is unmapped before the lock is let
 * go: unrecorded, it would not hold back a conversion to private.
 */
static int mmap_locked(struct gm_file *file, struct gm_host_map *map, void **addrp)
{
	unsigned int shift = file->page_shift - GM_PAGE_SHIFT;
	uint64_t h0 = map_first(map) >> shift, h1 = map_end(map) >> shift;
	int ret;

	gm_lock_assert_held(GM_LOCK_FILE);
	/* As memfd's mmap: no writable shared mapping of a write-sealed file. */
	if ((map->prot & PROT_WRITE) &&
	    (atomic_load(&file->seals) & (GM_SEAL_WRITE | GM_SEAL_FUTURE_WRITE))) {
		ret = -EPERM;
		goto err_unmap;
	}
	ret = populate_shown(file, map, h0, h1, 0, 0);
	if (ret)
		goto err_unmap;
	ret = show_range(file, map, h0, h1, 0, 0);
	if (ret)
		goto err_unmap;
	gm_file_add_host_map(file, map);
	*addrp = map->addr;
	return 0;
err_unmap:
	munmap(map->addr, map->length);
	return ret;
}

static int mmap_once(struct gm_file *file, struct gm_host_map *map, void **addrp)
{
	int ret;

	ret = map_faulting(map->length, (size_t)1 << file->page_shift, map->prot, &map->addr);
	if (ret)
		return ret;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	ret = mmap_locked(file, map, addrp);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

int gm_inplace_mmap(struct gm_file *file, struct gm_host_map *map, size_t length, int prot,
		    int flags, off_t offset, void **addrp)
{
	int ret = check_mmap(file, length, flags, offset);

	if (ret)
		return ret;
	map->length = gm_file_map_length(file, length);
	map->offset = (uint64_t)offset;
	map->prot = prot;
	map->flags = flags & ~GM_MAP_HOLD_SIZE;
	/* Every in-place mapping holds the pages it covers; this is for the record. */
	map->hold_end = (flags & GM_MAP_HOLD_SIZE) ? map->offset + map->length : 0;
	ret = mmap_once(file, map, addrp);
	if (ret != -EAGAIN)
		return ret;
	/* A page to show was freed under a guest's pin: wait for it, once, as fallocate. */
	gm_guest_wait_doomed(file, map_first(map), map_end(map));
	ret = mmap_once(file, map, addrp);
	return ret == -EAGAIN ? -EBUSY : ret;
}

/* ---- host I/O ---- */

/* What of [offset, offset + count) one call moves: up to the end of the file. */
static size_t clip_to_size(struct gm_file *file, uint64_t offset, size_t count)
{
	uint64_t size = (uint64_t)atomic_load(&file->size);

	if (count > MAX_RW_COUNT)
		count = MAX_RW_COUNT;
	return offset >= size ? 0 : (size_t)min_u64(count, size - offset);
}

/* -EPERM unless every page that [offset, offset + count) touches is shared.  Under lock. */
static int check_shared(struct gm_file *file, uint64_t offset, size_t count)
{
	uint64_t first = offset >> GM_PAGE_SHIFT;
	uint64_t end = (offset + count + GM_PAGE_SIZE - 1) >> GM_PAGE_SHIFT;

	return count && find_state(file, first, end, true) < end ? -EPERM : 0;
}

/* Copy [offset, offset + count) out, a run of present or absent pages at a time. */
static int read_locked(struct gm_file *file, char *buf, size_t count, uint64_t offset)
{
	int ret;

	while (count) {
		uint64_t p = offset >> GM_PAGE_SHIFT, q = p + 1;
		bool present = gm_backing_present(file->backing, p);
		size_t n;

		while ((q << GM_PAGE_SHIFT) < offset + count &&
		       gm_backing_present(file->backing, q) == present)
			q++;
		n = (size_t)min_u64(count, (q << GM_PAGE_SHIFT) - offset);
		if (present) {
			ret = gm_backing_read(file->backing, offset, buf, n);
			if (ret)
				return ret;
		} else {
			memset(buf, 0, n);	/* a hole: nothing to allocate for it */
		}
		buf += n;
		offset += n;
		count -= n;
	}
	return 0;
}

ssize_t gm_inplace_pread(struct gm_file *file, void *buf, size_t count, uint64_t offset)
{
	int ret;

	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	count = clip_to_size(file, offset, count);
	ret = check_shared(file, offset, count);
	if (!ret)
		ret = read_locked(file, buf, count, offset);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret ? ret : (ssize_t)count;
}

/*
 * In the kernel's order: nothing to write, past the end (the size is a
 * limit here, as RLIMIT_FSIZE is: -EFBIG, and a write across it is short),
 * seals, then the pages' state.  The folios are allocated before anything
 * is written, so that pmem counts them and its limit holds.  Under lock.
 */
static ssize_t pwrite_locked(struct gm_file *file, const void *buf, size_t count,
			     uint64_t offset)
{
	uint64_t n = host_pages(file), first, end;
	int ret;

	if (!count)
		return 0;
	count = clip_to_size(file, offset, count);
	if (!count)
		return -EFBIG;
	if (atomic_load(&file->seals) & (GM_SEAL_WRITE | GM_SEAL_FUTURE_WRITE))
		return -EPERM;
	ret = check_shared(file, offset, count);
	if (ret)
		return ret;
	first = (offset >> GM_PAGE_SHIFT) & ~(n - 1);
	end = (((offset + count + GM_PAGE_SIZE - 1) >> GM_PAGE_SHIFT) + n - 1) & ~(n - 1);
	ret = gm_guest_alloc_pages(file, first, end - first);
	if (ret)
		return ret == -ENOMEM ? -ENOSPC : ret;
	ret = gm_backing_write(file->backing, offset, buf, count);
	return ret ? ret : (ssize_t)count;
}

ssize_t gm_inplace_pwrite(struct gm_file *file, const void *buf, size_t count, uint64_t offset)
{
	ssize_t ret;

	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	ret = pwrite_locked(file, buf, count, offset);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	if (ret != -EAGAIN)
		return ret;
	/* A page to write was freed under a guest's pin: wait for it, once, as fallocate. */
	gm_guest_wait_doomed(file, offset >> GM_PAGE_SHIFT,
			     (offset + count + GM_PAGE_SIZE - 1) >> GM_PAGE_SHIFT);
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	ret = pwrite_locked(file, buf, count, offset);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret == -EAGAIN ? -EBUSY : ret;
}

/* ---- conversion ---- */

/*
 * To private: the first page of [first, end) that is shared now and that a
 * host mapping covers or a pin holds (a huge folio's pin holds all its
 * pages), or @end.  Under lock.
 */
static uint64_t first_held(struct gm_file *file, uint64_t first, uint64_t end)
{
	for (uint64_t p = find_state(file, first, end, false); p < end;
	     p = find_state(file, p + 1, end, false))
		if (first_mapped(file, p, p + 1) == p || gm_backing_pins(file->backing, p))
			return p;
	return end;
}

/* Zero the present pages of [first, end), in place.  Under lock. */
static int zero_present(struct gm_file *file, uint64_t first, uint64_t end)
{
	int ret;

	for (uint64_t p = first, q; p < end; p = q) {
		bool present = gm_backing_present(file->backing, p);

		for (q = p + 1; q < end && gm_backing_present(file->backing, q) == present; q++)
			;
		if (!present)
			continue;	/* a hole reads zero already */
		ret = gm_backing_zero(file->backing, p << GM_PAGE_SHIFT, (q - p) << GM_PAGE_SHIFT);
		if (ret)
			return ret;
	}
	return 0;
}

/* GM_CONVERT_ZERO: zero the pages of [first, end) that change side.  Under lock. */
static int zero_changing(struct gm_file *file, uint64_t first, uint64_t end, bool private)
{
	int ret;

	for (uint64_t p = find_state(file, first, end, !private), q; p < end;
	     p = find_state(file, q, end, !private)) {
		q = find_state(file, p, end, private);
		ret = zero_present(file, p, q);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Checks first, so that a refusal changes nothing; then, to shared, the
 * folios a mapping is to show; then the contents (ZERO: before the state
 * flips, so that the host never sees a private page's bytes); then the
 * state; last, to shared, the mappings.  A page already on the side asked
 * for is left as it is, contents too.  Under lock.
 */
static int convert_locked(struct gm_file *file, uint64_t first, uint64_t end, bool private,
			  unsigned int policy, uint64_t *error_index)
{
	uint64_t held;
	int ret;

	gm_lock_assert_held(GM_LOCK_FILE);
	if (end > size_pages(file))
		return -EINVAL;
	if (private) {
		held = first_held(file, first, end);
		if (held < end) {
			if (error_index)
				*error_index = held;
			return -EAGAIN;
		}
	}
	if (find_state(file, first, end, !private) == end)
		return 0;	/* nothing changes side */
	if (policy == GM_CONVERT_ZERO &&
	    (atomic_load(&file->seals) & (GM_SEAL_WRITE | GM_SEAL_FUTURE_WRITE)))
		return -EPERM;	/* as a punch of a write-sealed file */
	if (!private && file->host_maps) {
		ret = for_each_map(file, first, end, populate_shown);
		if (ret)
			return ret;
	}
	if (policy == GM_CONVERT_ZERO) {
		ret = zero_changing(file, first, end, private);
		if (ret)
			return ret;
	}
	set_state(file, first, end, private);
	return private || !file->host_maps ? 0 : for_each_map(file, first, end, show_range);
}

/* convert_locked() under the lock; a file a guest holds is its guest's to convert. */
static int convert_once(struct gm_file *file, uint64_t index, uint64_t n, bool private,
			unsigned int policy, uint64_t *error_index, bool owner)
{
	int ret;

	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	if (!owner && gm_file_binding(file))
		ret = -EBUSY;
	else
		ret = convert_locked(file, index, index + n, private, policy, error_index);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

/* @owner: the bound guest's call (the provider checked); else a file no guest holds. */
static int convert(struct gm_file *file, uint64_t index, uint64_t n, bool private,
		   unsigned int policy, uint64_t *error_index, bool owner)
{
	int ret;

	if (!file->in_place || !n || index >= GM_PMEM_MAX_PAGES || n > GM_PMEM_MAX_PAGES - index ||
	    (policy != GM_CONVERT_ZERO && policy != GM_CONVERT_PRESERVE))
		return -EINVAL;
	ret = convert_once(file, index, n, private, policy, error_index, owner);
	if (ret != -EAGAIN || private)
		return ret;
	/* To shared, a folio a mapping is to show was freed under a pin: wait, once. */
	gm_guest_wait_doomed(file, index, index + n);
	ret = convert_once(file, index, n, private, policy, error_index, owner);
	return ret == -EAGAIN ? -EBUSY : ret;
}

int gm_file_convert(struct gm_file *file, uint64_t index, uint64_t n, bool private,
		    unsigned int policy, uint64_t *error_index)
{
	return convert(file, index, n, private, policy, error_index, true);
}

/* ---- the public calls ---- */

int gm_file_set_attributes(struct gm_file *file, off_t offset, off_t len, uint64_t attributes,
			   unsigned int policy, off_t *error_offset)
{
	uint64_t error_index = 0;
	int ret;

	if (!file)
		return -EFAULT;
	if (offset < 0 || len <= 0 || (((uint64_t)offset | (uint64_t)len) & (GM_PAGE_SIZE - 1)) ||
	    offset > INT64_MAX - len || (attributes & ~GM_FILE_ATTR_PRIVATE))
		return -EINVAL;
	ret = convert(file, (uint64_t)offset >> GM_PAGE_SHIFT, (uint64_t)len >> GM_PAGE_SHIFT,
		      attributes & GM_FILE_ATTR_PRIVATE, policy, &error_index, false);
	if (ret == -EAGAIN && error_offset)
		*error_offset = (off_t)(error_index << GM_PAGE_SHIFT);
	return ret;
}

int64_t gm_file_get_attributes(struct gm_file *file, off_t offset)
{
	int64_t ret;

	if (!file)
		return -EFAULT;
	if (!file->in_place || offset < 0)
		return -EINVAL;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	if ((uint64_t)offset >= (uint64_t)atomic_load(&file->size))
		ret = -EINVAL;
	else
		ret = page_private(file, (uint64_t)offset >> GM_PAGE_SHIFT) ? GM_FILE_ATTR_PRIVATE : 0;
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return ret;
}

int64_t gm_file_find_attributes(struct gm_file *file, off_t offset, uint64_t attributes)
{
	uint64_t size, found;

	if (!file)
		return -EFAULT;
	if (!file->in_place || offset < 0 || ((uint64_t)offset & (GM_PAGE_SIZE - 1)) ||
	    (attributes & ~GM_FILE_ATTR_PRIVATE))
		return -EINVAL;
	gm_mutex_lock(&file->lock, GM_LOCK_FILE);
	size = size_pages(file);
	found = size;
	if ((uint64_t)offset >> GM_PAGE_SHIFT < size)
		found = find_state(file, (uint64_t)offset >> GM_PAGE_SHIFT, size, attributes != 0);
	gm_mutex_unlock(&file->lock, GM_LOCK_FILE);
	return found < size ? (int64_t)(found << GM_PAGE_SHIFT) : -ENXIO;
}

int gm_file_in_place(struct gm_file *file)
{
	if (!file)
		return -EFAULT;
	return file->in_place ? 1 : 0;
}
