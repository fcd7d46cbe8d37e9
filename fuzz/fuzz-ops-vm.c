// SPDX-License-Identifier: MIT
/* fuzz-ops' operations on an emulator VM: memslots, attributes, shared I/O. */
#include "fuzz-ops.h"

/* ---- the VM ---- */

void op_vm_create(struct fz_in *in)
{
	uint8_t k = fz_u8(in);
	int ret;

	if (st.vm || st.vms == MAX_VMS)
		return;
	if (k % 8 == 0) {
		struct gm_vm *vm = NULL;

		fz_expect("gm_vm_create(bad engine)", gm_vm_create((enum gm_engine_kind)7, &vm), -EINVAL);
		return;
	}
	ret = (int)fz_check("gm_vm_create", gm_vm_create(GM_ENGINE_EMU, &st.vm), fz_e_vm_create);
	fz_expect("gm_vm_create(emu)", ret, 0);
	st.vms++;
	memset(st.slots, 0, sizeof(st.slots));
}

void vm_destroy(void)
{
	gm_vm_destroy(st.vm);
	st.vm = NULL;
	memset(st.slots, 0, sizeof(st.slots));
}

void op_vm_destroy(struct fz_in *in)
{
	if (st.vm)
		vm_destroy();
}

void op_memslot(struct fz_in *in)
{
	static const uint64_t gpas[] = {
		0, 2 * FZ_MiB, 4 * FZ_MiB, 8 * FZ_MiB, GM_GUEST_RAM_BASE, GM_GUEST_RAM_BASE + 2 * FZ_MiB,
		GM_GUEST_RAM_BASE + 4096, 4096, 1ULL << 30, GM_GUEST_SHARED_BIT - 2 * FZ_MiB,
		GM_GUEST_SHARED_BIT, 0x123,
	};
	static const uint64_t sizes[] = { 0, 0, 4096, 65536, 2 * FZ_MiB, 4 * FZ_MiB, 5000 };
	static const uint64_t offs[] = { 0, 0, 4096, 2 * FZ_MiB, 1 };
	static const uint32_t slot_ids[] = { 0, 1, 2, 3, 31, 32 };
	static const uint32_t flags[] = { 0, GM_SLOT_PRIVATE, GM_SLOT_PRIVATE, 2 };
	struct gm_memslot m = { 0 };
	int shared, priv = -1, ret;
	uint8_t k;

	if (!st.vm)
		return;
	m.slot = fz_pick(in, slot_ids);
	m.flags = fz_pick(in, flags);
	m.gpa = fz_pick(in, gpas);
	m.size = fz_pick(in, sizes);
	shared = pick_file(in, &m.shared_file);
	m.shared_offset = fz_pick(in, offs);
	k = fz_u8(in);
	if ((m.flags & GM_SLOT_PRIVATE) || k % 8 == 0) {
		priv = pick_file(in, &m.private_file);
		m.private_offset = fz_pick(in, offs);
	}
	ret = (int)fz_check("gm_vm_set_memslot", gm_vm_set_memslot(st.vm, &m), fz_e_set_memslot);
	if (m.slot >= NSLOTS || (!m.size && !st.slots[m.slot].used))
		fz_expect("gm_vm_set_memslot(no such slot)", ret, -EINVAL);
	if (m.size && (m.size & 4095 || m.gpa & 4095 || m.shared_offset & 4095 ||
		       (m.gpa + m.size) > GM_GUEST_SHARED_BIT || !m.shared_file))
		fz_expect("gm_vm_set_memslot(bad slot)", ret, -EINVAL);
	if (ret)
		return;
	if (!m.size) {
		memset(&st.slots[m.slot], 0, sizeof(st.slots[m.slot]));
		return;
	}
	st.slots[m.slot] = (struct hslot) { .used = true, .m = m, .shared = shared,
					    .priv = m.private_file ? priv : -1 };
}

/* Pick a guest-physical range: mostly inside a slot of the model, sometimes wild. */
static void pick_gpa_range(struct fz_in *in, uint64_t *gpa, uint64_t *size, uint64_t max)
{
	uint8_t k = fz_u8(in);
	const struct hslot *s = &st.slots[k % NSLOTS];
	uint64_t pages, first, n;

	for (unsigned int i = 0; i < NSLOTS && !s->used; i++)
		s = &st.slots[(k + i) % NSLOTS];
	if (k >= 0xf0 || !s->used) {
		*gpa = fz_u64(in);
		*size = fz_u64(in) % (max + 1);
		return;
	}
	pages = s->m.size >> GM_PAGE_SHIFT;
	first = fz_u16(in) % pages;
	n = fz_u16(in) % (pages - first + 2);
	*gpa = s->m.gpa + (first << GM_PAGE_SHIFT) + (k & 0x40 ? fz_u16(in) % 4096 : 0);
	*size = k & 0x20 ? n << GM_PAGE_SHIFT : (n << GM_PAGE_SHIFT) + fz_u16(in) % 4096;
	if (*size > max)
		*size = max;
	if (k & 0x80)
		*gpa |= GM_GUEST_SHARED_BIT;
}

static bool page_private(uint64_t gpa)
{
	int64_t a = gm_vm_get_memory_attributes(st.vm, gpa);

	fz_assert(a == 0 || a == PRIVATE, "gm_vm_get_memory_attributes returned %lld", (long long)a);
	return a == PRIVATE;
}

/* The lowest slot start in (gpa, end), or @end: past a hole. */
static uint64_t next_slot_start(uint64_t gpa, uint64_t end)
{
	for (unsigned int i = 0; i < NSLOTS; i++)
		if (st.slots[i].used && st.slots[i].m.gpa > gpa && st.slots[i].m.gpa < end)
			end = st.slots[i].m.gpa;
	return end;
}

/*
 * The side a conversion frees has no page left in [gpa, gpa + size).  A
 * conversion to shared succeeds over holes and plain slots too (nothing
 * there to free); one to private only where every page has a private file.
 */
static void check_converted(uint64_t gpa, uint64_t size, bool to_private)
{
	for (uint64_t g = gpa & ~GM_GUEST_SHARED_BIT, end = g + size; g < end;) {
		const struct hslot *s = slot_at(g);
		uint64_t off, n;

		fz_assert(s || !to_private, "gpa %#llx turned private with no slot",
			  (unsigned long long)g);
		if (!s) {
			g = next_slot_start(g, end);
			continue;
		}
		off = g - s->m.gpa;
		n = s->m.size - off;
		if (n > end - g)
			n = end - g;
		fz_assert(!to_private || (s->m.flags & GM_SLOT_PRIVATE),
			  "gpa %#llx turned private in a slot without a private file",
			  (unsigned long long)g);
		if (!(s->m.flags & GM_SLOT_PRIVATE)) {
			g += n;
			continue;
		}
		if (to_private && gm_file_store(s->m.shared_file) == GM_STORE_SHMEM) {
			off_t data = lseek(gm_file_fd(s->m.shared_file),
					   (off_t)(s->m.shared_offset + off), SEEK_DATA);

			fz_assert(data < 0 || (uint64_t)data >= s->m.shared_offset + off + n,
				  "gpa %#llx turned private, its shared copy is still there",
				  (unsigned long long)g);
		} else if (!to_private) {
			struct hfile *h = &st.files[s->priv];
			uint64_t first = (s->m.private_offset + off) >> GM_PAGE_SHIFT;

			for (uint64_t p = first; p < first + (n >> GM_PAGE_SHIFT); p++)
				fz_assert(!gm_backing_present(h->f->backing, p),
					  "gpa %#llx turned shared, its private page is still there",
					  (unsigned long long)(g + ((p - first) << GM_PAGE_SHIFT)));
			forget_written(h, first, first + (n >> GM_PAGE_SHIFT));
		}
		g += n;
	}
}

void op_set_attributes(struct fz_in *in)
{
	static const uint64_t attrs[] = { 0, PRIVATE, PRIVATE, PRIVATE | 1 };
	static bool before[ATTR_SAMPLE];
	uint64_t gpa, size, attr = fz_pick(in, attrs), flags = fz_u8(in) % 16 == 0;
	unsigned int sample;
	int ret;

	if (!st.vm)
		return;
	pick_gpa_range(in, &gpa, &size, 1ULL << 40);
	sample = (gpa & 4095) || size > (uint64_t)ATTR_SAMPLE << GM_PAGE_SHIFT ? 0 :
		 (unsigned int)(size >> GM_PAGE_SHIFT);
	for (unsigned int p = 0; p < sample; p++)
		before[p] = page_private(gpa + ((uint64_t)p << GM_PAGE_SHIFT));
	unpin_file(-1);
	ret = (int)fz_check("gm_vm_set_memory_attributes",
			    gm_vm_set_memory_attributes(st.vm, gpa, size, attr, flags), fz_e_set_attr);
	if (flags || (attr & ~PRIVATE) || !size || (gpa | size) & 4095)
		fz_expect("gm_vm_set_memory_attributes(bad arguments)", ret, -EINVAL);
	for (unsigned int p = 0; p < sample; p++) {
		bool now = page_private(gpa + ((uint64_t)p << GM_PAGE_SHIFT));

		fz_assert(now == (ret ? before[p] : attr == PRIVATE),
			  "page %u of a conversion to %s that returned %d is %s", p,
			  attr ? "private" : "shared", ret, now ? "private" : "shared");
	}
	if (!ret)
		check_converted(gpa, size, attr == PRIVATE);
}

/*
 * What gm_vm_{read,write}_shared must return for [gpa, gpa + len), from the
 * model: slot piece by slot piece, the first that has no slot (-EFAULT), a
 * private page (-EPERM), or a shared file sealed against writes (-EPERM).
 */
static int expected_shared_io(uint64_t gpa, uint64_t len, bool write)
{
	uint64_t g = gpa & ~GM_GUEST_SHARED_BIT, end = g + len;

	if (end < g)
		return -EFAULT;
	/* A range that runs into a hole is -EFAULT before anything is copied. */
	for (uint64_t c = g; c < end; c = slot_at(c)->m.gpa + slot_at(c)->m.size)
		if (!slot_at(c))
			return -EFAULT;
	while (g < end) {
		const struct hslot *s = slot_at(g);
		uint64_t n;

		n = s->m.gpa + s->m.size - g;
		if (n > end - g)
			n = end - g;
		for (uint64_t p = g & ~4095ULL; p < g + n; p += 4096)
			if (page_private(p))
				return -EPERM;
		if (write && gm_get_seals(s->m.shared_file) & (GM_SEAL_WRITE | GM_SEAL_FUTURE_WRITE))
			return -EPERM;
		g += n;
	}
	return 0;
}

void op_shared_io(struct fz_in *in, bool write)
{
	uint64_t gpa, len;
	int want, ret;

	if (!st.vm)
		return;
	pick_gpa_range(in, &gpa, &len, IO_MAX);
	if (write) {
		memset(iobuf, fz_u8(in), (size_t)len);
		fz_scrub(iobuf, (size_t)len);
	}
	want = expected_shared_io(gpa, len, write);
	ret = write ? gm_vm_write_shared(st.vm, gpa, iobuf, (size_t)len)
		    : gm_vm_read_shared(st.vm, gpa, iobuf2, (size_t)len);
	fz_check(write ? "gm_vm_write_shared" : "gm_vm_read_shared", ret, fz_e_shared_io);
	fz_expect(write ? "gm_vm_write_shared" : "gm_vm_read_shared", ret, want);
	if (ret)
		return;
	fz_expect("gm_vm_read_shared(after write)", gm_vm_read_shared(st.vm, gpa, iobuf2, (size_t)len), 0);
	fz_assert(!fz_has_secret(iobuf2, (size_t)len), "gm_vm_read_shared returned a guest's secret");
	if (write)
		fz_assert(!memcmp(iobuf, iobuf2, (size_t)len),
			  "gm_vm_read_shared differs from what gm_vm_write_shared wrote");
}
