// SPDX-License-Identifier: MIT
/*
 * fuzz-ops: random sequences of host operations on memory files, guest
 * registrations, pins and an emulator VM's memslots and attributes, decoded
 * from the input (an opcode byte, then the bytes its arguments need; at most
 * MAX_OPS operations), with the invariants checked after every step:
 *
 *  - every return value is 0/positive or an errno its header documents
 *    (fuzz.h's tables), and where the harness knows the answer, that one;
 *  - no frame leaked: gm_frames_in_use() is the sum of gm_file_pages_held()
 *    over the live guest-only files, each of which holds exactly the pages
 *    pmem shows present; zero once everything is torn down;
 *  - pins balance: each folio the harness pinned shows exactly its pins,
 *    also when it was freed under them (doomed: it leaves the file at once,
 *    and allocating it again is -EAGAIN until the last unpin);
 *  - no guest-only byte reaches the host: a guest-only file's pread,
 *    pwrite, mmap and fd are -EPERM, a private page's gm_vm_read_shared is
 *    -EPERM, and no secret the harness wrote through the guest's path ever
 *    turns up in what the host reads (nor in another page, nor after the
 *    page was freed);
 *  - the owner hears of every page freed under it (invalidate), and a
 *    conversion is all or nothing and frees the side no longer in use.
 *
 * Files stay under MAX_BYTES of pages, so an input runs in milliseconds.
 */


#include "fuzz-ops.h"

struct ops_state st;
uint8_t iobuf[IO_MAX], iobuf2[IO_MAX];

/* ---- operations on files ---- */

static void op_create(struct fz_in *in)
{
	static const unsigned int flags[] = {
		0, GM_MFD_ALLOW_SEALING, GM_MFD_GUEST, GM_MFD_GUEST | GM_MFD_ALLOW_SEALING,
		GM_MFD_CLOEXEC | GM_MFD_ALLOW_SEALING, GM_MFD_GUEST | GM_MFD_CLOEXEC,
		GM_MFD_HUGETLB | GM_MFD_GUEST, GM_MFD_HUGETLB | GM_MFD_ALLOW_SEALING,
		GM_MFD_HUGE_1GB, 0x8000,
	};
	static char long_name[300];
	unsigned int fl = fz_pick(in, flags);
	uint8_t how = fz_u8(in);
	off_t size = pick_length(in);
	struct gm_file *f = NULL;
	int slot = -1, ret;

	for (int i = 0; i < NFILES && slot < 0; i++)
		if (!st.files[i].f)
			slot = i;
	if (slot < 0)
		return;
	if (how % 8 == 0) {
		memset(long_name, 'n', sizeof(long_name) - 1);
		fz_expect("gm_memfd_create(long name)", gm_memfd_create(long_name, fl, &f), -EINVAL);
		return;
	}
	if (how % 8 == 1) {
		fz_expect("gm_memfd_create(NULL)", gm_memfd_create("fz", fl, NULL), -EFAULT);
		return;
	}
	ret = (int)fz_check("gm_memfd_create", gm_memfd_create("fz", fl, &f), fz_e_memfd_create);
	if ((fl & 0x8000) || (fl & GM_MFD_HUGE_1GB && !(fl & GM_MFD_HUGETLB)))
		fz_expect("gm_memfd_create(bad flags)", ret, -EINVAL);
	if (ret)
		return;
	memset(&st.files[slot], 0, sizeof(st.files[slot]));
	st.files[slot].f = f;
	st.files[slot].owner.file = f;
	fz_expect("gm_file_is_guest(new)", gm_file_is_guest(f), !!(fl & GM_MFD_GUEST));
	fz_expect("gm_file_size(new)", gm_file_size(f), 0);
	if (!(fl & GM_MFD_ALLOW_SEALING))
		fz_expect("gm_add_seals(no sealing)", gm_add_seals(f, GM_SEAL_GROW), -EPERM);
	fz_check("gm_ftruncate", gm_ftruncate(f, size), fz_e_ftruncate);
}

void put_file(int i)
{
	struct hfile *h = &st.files[i];

	unpin_all(i);
	forget_history(i);
	for (unsigned int m = 0; m < st.nmaps;) {
		if (st.maps[m].file == i) {
			fz_expect("gm_munmap", gm_munmap(h->f, st.maps[m].addr, st.maps[m].len), 0);
			st.maps[m] = st.maps[--st.nmaps];
		} else {
			m++;
		}
	}
	if (h->reg)
		fz_expect("gm_unregister_guest", gm_unregister_guest(h->f, &h->owner), 0);
	gm_file_put(h->f);
	memset(h, 0, sizeof(*h));
}

static void op_close(struct fz_in *in)
{
	int i = fz_u8(in) % NFILES;

	/* A file a memslot uses stays: the VM holds it, and its frames count. */
	if (st.files[i].f && !file_in_slot(i))
		put_file(i);
}

/* Pages of @h present in [start, end) before a call that frees them. */
static void snapshot_present(struct hfile *h, uint64_t start, uint64_t end, uint8_t *bits)
{
	memset(bits, 0, MAX_PAGES / 8);
	for (uint64_t i = start; i < end && i < MAX_PAGES; i++)
		if (gm_backing_present(h->f->backing, i))
			bits[i / 8] |= (uint8_t)(1U << (i % 8));
}

/* After a successful free of [start, end): gone, and the owner was told first. */
static void check_freed(struct hfile *h, uint64_t start, uint64_t end, const uint8_t *before)
{
	for (uint64_t i = start; i < end && i < MAX_PAGES; i++) {
		fz_assert(!gm_backing_present(h->f->backing, i),
			  "page %llu of file %u is still present after it was freed",
			  (unsigned long long)i, gm_file_id(h->f));
		if (h->reg && (before[i / 8] >> (i % 8) & 1))
			fz_assert(invalidated(&h->owner, i),
				  "page %llu of file %u was freed without telling its owner",
				  (unsigned long long)i, gm_file_id(h->f));
	}
	forget_written(h, start, end);
}

static void op_ftruncate(struct fz_in *in)
{
	static uint8_t before[MAX_PAGES / 8];
	struct gm_file *f;
	int i = pick_file(in, &f);
	off_t len = pick_length(in);
	int guest = f ? gm_file_is_guest(f) : 0;
	int64_t old;
	int ret;

	if (!f) {
		fz_expect("gm_ftruncate(NULL)", gm_ftruncate(f, len), -EFAULT);
		return;
	}
	old = gm_file_size(f);
	unpin_file(i);
	st.files[i].owner.nr = 0;
	st.files[i].owner.overflow = false;
	if (guest && len >= 0)
		snapshot_present(&st.files[i], (uint64_t)len >> GM_PAGE_SHIFT, MAX_PAGES, before);
	ret = (int)fz_check("gm_ftruncate", gm_ftruncate(f, len), fz_e_ftruncate);
	if (len < 0)
		fz_expect("gm_ftruncate(negative)", ret, -EINVAL);
	if (ret)
		return;
	fz_expect("gm_file_size(after ftruncate)", gm_file_size(f), len);
	/* As shmem: a truncate that does not grow frees every page past the end. */
	if (guest && len <= old)
		check_freed(&st.files[i], ((uint64_t)len + 4095) >> GM_PAGE_SHIFT, MAX_PAGES, before);
}

static void op_fallocate(struct fz_in *in)
{
	static const int modes[] = { 0, GM_FALLOC_KEEP_SIZE, PUNCH, PUNCH, GM_FALLOC_PUNCH_HOLE,
				     0x10, 0x40, 0x08, 0x100 };
	static uint8_t before[MAX_PAGES / 8];
	struct gm_file *f;
	int i = pick_file(in, &f);
	int mode = fz_pick(in, modes);
	off_t off, len;
	int64_t size;
	int guest, ret;

	pick_range(in, &off, &len, (off_t)MAX_BYTES);
	if (!f) {
		fz_expect("gm_fallocate(NULL)", gm_fallocate(f, mode, off, len), -EFAULT);
		return;
	}
	guest = gm_file_is_guest(f);
	size = gm_file_size(f);
	if (mode & GM_FALLOC_PUNCH_HOLE)
		unpin_file(i);
	else
		unpin_doomed(i);
	st.files[i].owner.nr = 0;
	st.files[i].owner.overflow = false;
	if (guest && off >= 0 && len > 0 && len <= (off_t)MAX_BYTES)
		snapshot_present(&st.files[i], (uint64_t)off >> GM_PAGE_SHIFT,
				 (uint64_t)(off + len) >> GM_PAGE_SHIFT, before);
	ret = (int)fz_check("gm_fallocate", gm_fallocate(f, mode, off, len), fz_e_fallocate);
	if (off < 0 || len <= 0)
		fz_expect("gm_fallocate(bad range)", ret, -EINVAL);
	if (ret || !guest)
		return;
	if (mode == PUNCH) {
		check_freed(&st.files[i], (uint64_t)off >> GM_PAGE_SHIFT,
			    (uint64_t)(off + len) >> GM_PAGE_SHIFT, before);
		fz_expect("gm_file_size(after punch)", gm_file_size(f), size);
		return;
	}
	for (uint64_t p = (uint64_t)off >> GM_PAGE_SHIFT; p < (uint64_t)(off + len) >> GM_PAGE_SHIFT; p++)
		fz_assert(gm_backing_present(f->backing, p), "page %llu not present after fallocate",
			  (unsigned long long)p);
	if (mode == GM_FALLOC_KEEP_SIZE)
		fz_expect("gm_file_size(after KEEP_SIZE)", gm_file_size(f), size);
	else
		fz_expect("gm_file_size(after fallocate)", gm_file_size(f),
			  off + len > size ? off + len : size);
}

static void op_seal(struct fz_in *in)
{
	struct gm_file *f;
	int i = pick_file(in, &f);
	uint8_t k = fz_u8(in);
	unsigned int seals = k & 0x3f;
	int before, after, was_guest, ret;

	if (k & 0x40)
		seals |= 0x40U << (k >> 7);	/* unknown bits */
	if (!f) {
		fz_expect("gm_add_seals(NULL)", gm_add_seals(f, seals), -EFAULT);
		fz_expect("gm_get_seals(NULL)", gm_get_seals(f), -EFAULT);
		return;
	}
	before = gm_get_seals(f);
	was_guest = gm_file_is_guest(f);
	ret = (int)fz_check("gm_add_seals", gm_add_seals(f, seals), fz_e_add_seals);
	after = gm_get_seals(f);
	if (seals & ~0x3fU)
		fz_expect("gm_add_seals(unknown)", ret, -EINVAL);
	if (ret) {
		fz_expect("gm_get_seals(after a refused seal)", after, before);
		return;
	}
	fz_assert((after & (int)seals) == (int)seals, "seals %#x after adding %#x", after, seals);
	if (seals & GM_SEAL_GUEST) {
		fz_expect("gm_file_is_guest(after GM_SEAL_GUEST)", gm_file_is_guest(f), 1);
		if (!was_guest)
			fz_expect("pages after GM_SEAL_GUEST", (long)present_pages(f), 0);
	}
	(void)i;
}

static void op_io(struct fz_in *in)
{
	struct gm_file *f;
	off_t off, len;
	ssize_t w, r;

	pick_file(in, &f);

	pick_range(in, &off, &len, (off_t)IO_MAX);
	if (len < 0 || len > (off_t)IO_MAX)
		len = (off_t)IO_MAX;
	if (fz_u8(in) & 1)
		off += 1LL << 40;	/* far past the end: sparse */
	for (off_t k = 0; k < len; k++)
		iobuf[k] = fz_u8(in);
	fz_scrub(iobuf, (size_t)len);
	w = gm_pwrite(f, iobuf, (size_t)len, off);
	r = gm_pread(f, iobuf2, (size_t)len, off);
	if (!f) {
		fz_expect("gm_pwrite(NULL)", w, -EFAULT);
		fz_expect("gm_pread(NULL)", r, -EFAULT);
		return;
	}
	fz_check("gm_pwrite", w, fz_e_rw);
	fz_check("gm_pread", r, fz_e_rw);
	if (off < 0) {
		fz_expect("gm_pwrite(negative offset)", w, -EINVAL);
		fz_expect("gm_pread(negative offset)", r, -EINVAL);
		return;
	}
	if (gm_file_is_guest(f) == 1) {
		fz_expect("gm_pwrite(guest-only)", w, -EPERM);
		fz_expect("gm_pread(guest-only)", r, -EPERM);
		return;
	}
	if (r > 0)
		fz_assert(!fz_has_secret(iobuf2, (size_t)r), "gm_pread of file %u returned a guest's secret",
			  gm_file_id(f));
	if (w > 0) {
		fz_assert(r >= w, "gm_pread read %zd of the %zd bytes just written", r, w);
		fz_assert(!memcmp(iobuf, iobuf2, (size_t)w), "gm_pread differs from what gm_pwrite wrote");
	}
}

static void op_mmap(struct fz_in *in)
{
	static const size_t lens[] = { 4096, 65536, 2 * FZ_MiB, 0, 5000 };
	static const off_t offs[] = { 0, 0, 4096, 2 * FZ_MiB, 1 };
	struct gm_file *f;
	int i = pick_file(in, &f);
	size_t len = fz_pick(in, lens);
	off_t off = fz_pick(in, offs);
	uint8_t k = fz_u8(in);
	int prot = k & 1 ? PROT_READ : PROT_READ | PROT_WRITE;
	int flags = (k & 2 ? MAP_PRIVATE : MAP_SHARED) | (k & 4 ? GM_MAP_HOLD_SIZE : 0);
	int64_t size;
	void *p = NULL;
	int ret;

	if (!f || st.nmaps == NMAPS) {
		if (!f)
			fz_expect("gm_mmap(NULL)", gm_mmap(f, len, prot, flags, off, &p), -EFAULT);
		return;
	}
	size = gm_file_size(f);
	ret = (int)fz_check("gm_mmap", gm_mmap(f, len, prot, flags, off, &p), fz_e_mmap);
	if (gm_file_is_guest(f) == 1)
		fz_expect("gm_mmap(guest-only)", ret, -EPERM);
	if (ret)
		return;
	st.maps[st.nmaps++] = (struct hmap) {
		.file = i, .addr = p, .len = len,
		.touchable = (flags & GM_MAP_HOLD_SIZE) && (flags & MAP_SHARED) &&
			     (prot & PROT_WRITE) && gm_file_store(f) == GM_STORE_SHMEM &&
			     (uint64_t)off + ((len + 4095) & ~4095ULL) <= (uint64_t)size,
	};
}

/* Unmap one of the harness's mappings, or write a byte through it and read it back. */
static void op_map_use(struct fz_in *in)
{
	struct hmap *m;
	uint8_t k = fz_u8(in);
	uint32_t at = fz_u32(in);
	uint8_t byte = fz_u8(in);

	if (!st.nmaps)
		return;
	m = &st.maps[k % st.nmaps];
	if (k & 0x80) {
		struct gm_file *f = st.files[m->file].f;
		bool next_is_mapped = false;

		for (unsigned int j = 0; j < st.nmaps; j++)
			next_is_mapped |= st.maps[j].addr == m->addr + 4096;
		if (!next_is_mapped)
			fz_expect("gm_munmap(not a mapping's start)",
				  gm_munmap(f, m->addr + 4096, 4096), -EINVAL);
		fz_expect("gm_munmap", gm_munmap(f, m->addr, m->len), 0);
		*m = st.maps[--st.nmaps];
		return;
	}
	if (m->touchable) {
		size_t pos = at % m->len;

		fz_scrub(&byte, 1);
		m->addr[pos] = byte;
		fz_assert(!fz_has_secret(m->addr + (pos & ~4095UL), 4096),
			  "a host mapping shows a guest's secret");
	}
}

/* ---- registration and the provider's memory operations ---- */

static void op_register(struct fz_in *in)
{
	const struct gm_mem_ops *ops = NULL;
	struct gm_file *f;
	int i = pick_file(in, &f);
	uint8_t k = fz_u8(in);
	int ret;

	if (!f) {
		fz_expect("gm_register_guest(NULL)", gm_register_guest(f, &ops, &owner_ops, &ops),
			  -EFAULT);
		return;
	}
	if (k % 4 == 0) {
		fz_expect("gm_register_guest(no ops)",
			  gm_register_guest(f, &st.files[i].owner, NULL, &ops), -EINVAL);
		return;
	}
	ret = (int)fz_check("gm_register_guest",
			    gm_register_guest(f, &st.files[i].owner, &owner_ops, &ops), fz_e_register);
	if (gm_file_is_guest(f) != 1 || st.files[i].reg || vm_holds(i))
		fz_expect("gm_register_guest(not guest-only, or held)", ret, -EPERM);
	else
		fz_check("gm_register_guest(free guest-only file)", ret, (const int[]){ ENOMEM, 0 });
	if (ret)
		return;
	fz_assert(ops == mem_ops(f), "gm_register_guest gave other mem_ops");
	st.files[i].reg = true;
}

static void op_unregister(struct fz_in *in)
{
	struct gm_file *f;
	int i = pick_file(in, &f);
	uint8_t k = fz_u8(in);
	int ret;

	if (!f) {
		fz_expect("gm_unregister_guest(NULL)", gm_unregister_guest(f, &st), -EFAULT);
		return;
	}
	if (k & 1 && st.vm) {
		/*
		 * A careless caller passes the VM as the owner: while a memslot
		 * maps the file, the VM's hold must not end under it.
		 */
		ret = (int)fz_check("gm_unregister_guest(vm)", gm_unregister_guest(f, st.vm),
				    fz_e_unregister);
		if (vm_holds(i))
			fz_assert(ret != 0, "gm_unregister_guest(file, vm) succeeded while a memslot "
				  "of that VM still maps the file");
		else
			fz_expect("gm_unregister_guest(vm, not held)", ret, -EINVAL);
		return;
	}
	ret = (int)fz_check("gm_unregister_guest", gm_unregister_guest(f, &st.files[i].owner),
			    fz_e_unregister);
	fz_expect("gm_unregister_guest", ret, st.files[i].reg ? 0 : -EINVAL);
	st.files[i].reg = false;
}

static void op_get_lock_pfn(struct fz_in *in)
{
	int i = fz_u8(in) % NFILES;
	struct gm_file *f = st.files[i].f;
	uint64_t index = fz_u16(in) % (MAX_PAGES + 16);
	unsigned int order = fz_u8(in) & 1 ? GM_HUGE_2M_ORDER : 0;
	const struct gm_mem_ops *ops;
	int64_t size;
	gm_pfn_t pfn = GM_PFN_NONE;
	bool doomed;
	int ret;

	if (!f || st.npins == NPINS)
		return;
	ops = mem_ops(f);
	size = gm_file_size(f);
	doomed = gm_file_is_guest(f) == 1 && doomed_pin(i, index);
	ret = (int)fz_check("get_lock_pfn", ops->get_lock_pfn(f, index, &pfn, &order),
			    fz_e_get_lock_pfn);
	if (!st.files[i].reg && !vm_holds(i)) {
		fz_expect("get_lock_pfn(no owner)", ret, -EPERM);
		return;
	}
	if (index >= (uint64_t)size >> GM_PAGE_SHIFT)
		fz_expect("get_lock_pfn(past the end)", ret, -EINVAL);
	else if (doomed)
		fz_expect("get_lock_pfn(freed, still pinned)", ret, -EAGAIN);
	if (ret)
		return;
	fz_expect("get_lock_pfn order", order, gm_file_page_shift(f) - GM_PAGE_SHIFT);
	fz_assert(pfn == gm_backing_pfn(f->backing, index) && gm_backing_present(f->backing, index),
		  "get_lock_pfn gave pfn %#llx for page %llu of file %u, not that page's frame",
		  (unsigned long long)pfn, (unsigned long long)index, gm_file_id(f));
	st.pins[st.npins++] = (struct pin) { .pfn = pfn, .file = i, .index = index, .order = order };
	if (st.nhist < NHIST)
		st.hist[st.nhist++] = st.pins[st.npins - 1];
	fz_check("pfn_mapping_level", ops->pfn_mapping_level(f, index), fz_e_mapping_level);
}

static void op_put_unlock_pfn(struct fz_in *in)
{
	if (st.npins)
		unpin_at(fz_u8(in) % st.npins);
}

static void op_mapping_level(struct fz_in *in)
{
	int i = fz_u8(in) % NFILES;
	struct gm_file *f = st.files[i].f;
	uint64_t index = fz_u16(in) % (MAX_PAGES + 16);
	int64_t size;
	int ret;

	if (!f)
		return;
	size = gm_file_size(f);
	ret = (int)fz_check("pfn_mapping_level",
			    mem_ops(f)->pfn_mapping_level(f, index),
			    fz_e_mapping_level);
	if (gm_file_is_guest(f) != 1 || index >= (uint64_t)size >> GM_PAGE_SHIFT)
		fz_expect("pfn_mapping_level(not a page)", ret, -EINVAL);
	else
		fz_assert(ret >= GM_LEVEL_4K && ret <= GM_LEVEL_1G, "pfn_mapping_level %d", ret);
}

static void op_map_range(struct fz_in *in)
{
	static const uint64_t offs[] = { 0, 4096, 2 * FZ_MiB, 1 };
	static const uint64_t lens[] = { 4096, 2 * FZ_MiB, 4 * FZ_MiB, 0, 100 };
	int i = fz_u8(in) % NFILES;
	struct gm_file *f = st.files[i].f;
	uint64_t off = fz_pick(in, offs), len = fz_pick(in, lens);
	uint64_t at = (fz_u8(in) % 4) * 2 * FZ_MiB;
	int ret;

	if (!f)
		return;
	if (!st.reserve) {
		void *p = mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);

		fz_assert(p != MAP_FAILED, "mmap of the reserve failed");
		st.reserve = p;
	}
	if (at + len > RESERVE)
		return;
	ret = (int)fz_check("map_range", mem_ops(f)->map_range(f, off, len,
				st.reserve + at), fz_e_map_range);
	if (gm_file_is_guest(f) != 1 && gm_file_store(f) != GM_STORE_KVM)
		fz_expect("map_range(ordinary)", ret, -EINVAL);
}

/* The guest writes its secret into a page of a guest-only file. */
static void op_guest_write(struct fz_in *in)
{
	static uint8_t page[4096];
	int i = fz_u8(in) % NFILES;
	struct hfile *h = &st.files[i];
	uint64_t index = fz_u16(in) % MAX_PAGES;
	int ret;

	if (!h->f || gm_file_is_guest(h->f) != 1 ||
	    index >= (uint64_t)gm_file_size(h->f) >> GM_PAGE_SHIFT)
		return;
	fz_secret_page(page, gm_file_id(h->f), index);
	ret = gm_file_guest_write(h->f, index << GM_PAGE_SHIFT, page, sizeof(page));
	fz_check("gm_file_guest_write", ret, (const int[]){ ENOMEM, ENOSPC, EAGAIN, 0 });
	if (!ret)
		set_written(h, index, true);
}

static void op_keep_pins(struct fz_in *in)
{
	st.keep_pins = !st.keep_pins;
}

static void op_verify(struct fz_in *in)
{
	int i = fz_u8(in) % NFILES;

	if (st.files[i].f && gm_file_is_guest(st.files[i].f) == 1)
		verify_secrets(&st.files[i]);
}

/* ---- one input ---- */

static void teardown(void)
{
	unpin_all(-1);
	for (int i = 0; i < NFILES; i++)
		if (st.files[i].f && gm_file_is_guest(st.files[i].f) == 1)
			verify_secrets(&st.files[i]);
	if (st.vm)
		vm_destroy();
	for (int i = 0; i < NFILES; i++)
		if (st.files[i].f)
			put_file(i);
	if (st.reserve)
		munmap(st.reserve, RESERVE);
	fz_assert(gm_frames_in_use() == 0, "%lld frames in use after everything was torn down",
		  (long long)gm_frames_in_use());
	fz_assert(gm_frames_meta_bytes() == 0, "%lld bytes of frame metadata left after teardown",
		  (long long)gm_frames_meta_bytes());
	memset(&st, 0, sizeof(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };

	fz_assert(gm_frames_in_use() == 0, "an input starts with frames in use");
	for (unsigned int n = 0; n < MAX_OPS && fz_more(&in); n++) {
		unsigned int op = fz_u8(&in) % 23;

		if (fz_tracing())
			fprintf(stderr, "op %u: %u\n", n, op);
		switch (op) {
		case 0: op_create(&in); break;
		case 1: op_close(&in); break;
		case 2: op_ftruncate(&in); break;
		case 3: op_fallocate(&in); break;
		case 4: op_seal(&in); break;
		case 5: op_io(&in); break;
		case 6: op_mmap(&in); break;
		case 7: op_map_use(&in); break;
		case 8: op_register(&in); break;
		case 9: op_unregister(&in); break;
		case 10: op_get_lock_pfn(&in); break;
		case 11: op_put_unlock_pfn(&in); break;
		case 12: op_mapping_level(&in); break;
		case 13: op_map_range(&in); break;
		case 14: op_guest_write(&in); break;
		case 15: op_verify(&in); break;
		case 16: op_vm_create(&in); break;
		case 17: op_vm_destroy(&in); break;
		case 18: op_memslot(&in); break;
		case 19: op_set_attributes(&in); break;
		case 20: op_shared_io(&in, true); break;
		case 21: op_shared_io(&in, false); break;
		default: op_keep_pins(&in); break;
		}
		check_invariants();
	}
	teardown();
	return 0;
}
