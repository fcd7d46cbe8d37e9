// SPDX-License-Identifier: MIT
/*
 * fuzz-ops' model: what the owner was told, arguments picked from the
 * input, the pins it holds, the VM's slots, and the invariants and secrets
 * checked after every step.
 */
#include "fuzz-ops.h"
#include "vm-test.h"

/* ---- the owner's side ---- */

static void record_invalidate(struct gm_file *file, void *opaque, uint64_t start, uint64_t end)
{
	struct owner *o = opaque;

	fz_assert(file == o->file, "invalidate for file %u reached the owner of file %u",
		  gm_file_id(file), gm_file_id(o->file));
	fz_assert(start < end, "invalidate of an empty range [%llu, %llu)",
		  (unsigned long long)start, (unsigned long long)end);
	if (o->nr == GM_ARRAY_SIZE(o->r)) {
		o->overflow = true;
		return;
	}
	o->r[o->nr].start = start;
	o->r[o->nr].end = end;
	o->nr++;
}

const struct gm_guest_ops owner_ops = { .invalidate_page_range = record_invalidate };

bool invalidated(const struct owner *o, uint64_t index)
{
	if (o->overflow)
		return true;
	for (unsigned int i = 0; i < o->nr; i++)
		if (index >= o->r[i].start && index < o->r[i].end)
			return true;
	return false;
}

/* ---- picking arguments ---- */

/* A file slot: NFILES and an empty slot both give NULL. */
int pick_file(struct fz_in *in, struct gm_file **f)
{
	int i = fz_u8(in) % (NFILES + 1);

	*f = i < NFILES ? st.files[i].f : NULL;
	return i < NFILES ? i : -1;
}

off_t pick_length(struct fz_in *in)
{
	static const int64_t sizes[] = {
		0, 4096, 8192, 65536, FZ_MiB, 2 * FZ_MiB, 2 * FZ_MiB + 4096, 4 * FZ_MiB,
		4097, -1, -4096, 1LL << 40, (int64_t)(GM_PMEM_MAX_PAGES << GM_PAGE_SHIFT) + 4096,
		INT64_MAX,
	};
	uint8_t k = fz_u8(in);

	if (k < 128)
		return (off_t)(fz_u32(in) & (MAX_BYTES - 1) & ~(k & 1 ? 0ULL : 4095ULL));
	return (off_t)sizes[k % GM_ARRAY_SIZE(sizes)];
}

/* An offset and a length for fallocate or I/O, huge lengths only past offset 0. */
void pick_range(struct fz_in *in, off_t *offset, off_t *len, off_t max_len)
{
	uint8_t k = fz_u8(in);

	*offset = (off_t)(fz_u32(in) & (MAX_BYTES - 1) & ~(k & 1 ? 0ULL : 4095ULL));
	*len = (off_t)(fz_u32(in) % (uint64_t)max_len) & ~(k & 2 ? 0LL : 4095LL);
	switch (k >> 5) {
	case 0:
		*len = -4096;
		break;
	case 1:
		*len = INT64_MAX;
		*offset += 4096;	/* overflows: -EFBIG, never a real allocation */
		break;
	case 2:
		*offset = -4096;
		break;
	case 3:
		*len = 0;
		break;
	default:
		if (!*len)
			*len = 4096;
		if (*offset + *len > (off_t)MAX_BYTES)
			*offset = (off_t)MAX_BYTES - *len;
		break;
	}
}

/* ---- pins ---- */

const struct gm_mem_ops *mem_ops(struct gm_file *f)
{
	const struct gm_provider *p = gm_provider_find(f);

	fz_assert(p && p->mem_ops, "no provider serves file %u", gm_file_id(f));
	return p->mem_ops;
}

void unpin_at(unsigned int i)
{
	mem_ops(st.files[st.pins[i].file].f)->put_unlock_pfn(st.pins[i].pfn);
	st.pins[i] = st.pins[--st.npins];
}

/* Drop the harness's pins on @file's pages (all files: -1). */
void unpin_all(int file)
{
	for (unsigned int i = 0; i < st.npins;)
		if (file < 0 || st.pins[i].file == file)
			unpin_at(i);
		else
			i++;
}

/*
 * Before anything that may free @file's pages.  A page freed under a pin is
 * doomed: it leaves the file at once and the last unpin punches it; with
 * keep_pins the harness holds such pins on.
 */
void unpin_file(int file)
{
	if (!st.keep_pins)
		unpin_all(file);
}

/*
 * Before allocating @file's pages with fallocate, which waits a second for
 * a doomed page's pin to go (-EBUSY after): drop the pins on doomed pages.
 */
void unpin_doomed(int file)
{
	for (unsigned int i = 0; i < st.npins;) {
		struct pin *p = &st.pins[i];

		if (p->file == file && !gm_backing_present(st.files[file].f->backing, p->index))
			unpin_at(i);
		else
			i++;
	}
}

/* Does the harness pin the folio of page @index of @file though it was freed? */
bool doomed_pin(int file, uint64_t index)
{
	for (unsigned int i = 0; i < st.npins; i++) {
		const struct pin *p = &st.pins[i];

		if (p->file == file && p->index >> p->order == index >> p->order &&
		    !gm_backing_present(st.files[file].f->backing, index))
			return true;
	}
	return false;
}

void forget_history(int file)
{
	for (unsigned int i = 0; i < st.nhist;)
		if (st.hist[i].file == file)
			st.hist[i] = st.hist[--st.nhist];
		else
			i++;
}

static uint64_t folio_of(const struct pin *p)
{
	return p->pfn & ~((1ULL << p->order) - 1);
}

/* ---- the model of the VM's slots ---- */

bool file_in_slot(int file)
{
	for (unsigned int i = 0; i < NSLOTS; i++)
		if (st.slots[i].used && (st.slots[i].shared == file || st.slots[i].priv == file))
			return true;
	return false;
}

bool vm_holds(int file)
{
	for (unsigned int i = 0; i < NSLOTS; i++)
		if (st.slots[i].used && st.slots[i].priv == file)
			return true;
	return false;
}

struct hslot *slot_at(uint64_t gpa)
{
	gpa &= ~GM_GUEST_SHARED_BIT;
	for (unsigned int i = 0; i < NSLOTS; i++) {
		struct hslot *s = &st.slots[i];

		if (s->used && gpa >= s->m.gpa && gpa - s->m.gpa < s->m.size)
			return s;
	}
	return NULL;
}

/* ---- invariants ---- */

uint64_t present_pages(struct gm_file *f)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < MAX_PAGES; i++)
		n += gm_backing_present(f->backing, i);
	return n;
}

static void check_host_refused(struct gm_file *f)
{
	void *p;

	fz_expect("gm_pread(guest-only)", gm_pread(f, iobuf, 1, 0), -EPERM);
	fz_expect("gm_pwrite(guest-only)", gm_pwrite(f, iobuf, 1, 0), -EPERM);
	fz_expect("gm_mmap(guest-only)", gm_mmap(f, 4096, PROT_READ, MAP_SHARED, 0, &p), -EPERM);
	fz_expect("gm_file_fd(guest-only)", gm_file_fd(f), -EPERM);
}

static void check_file(struct hfile *h)
{
	struct gm_file *f = h->f;
	int guest = gm_file_is_guest(f);
	int seals = gm_get_seals(f);

	fz_assert(guest == 0 || guest == 1, "gm_file_is_guest returned %d", guest);
	fz_check("gm_get_seals", seals, fz_e_get_seals);
	fz_assert(!!(seals & GM_SEAL_GUEST) == guest, "seals %#x on a file that is%s guest-only",
		  seals, guest ? "" : " not");
	fz_assert(gm_file_size(f) >= 0, "gm_file_size %lld", (long long)gm_file_size(f));
	if (!guest) {
		fz_assert(gm_file_fd(f) >= 0, "gm_file_fd of an ordinary file: %d", gm_file_fd(f));
		fz_assert(gm_file_pages_held(f) == 0, "an ordinary file holds %llu frames",
			  (unsigned long long)gm_file_pages_held(f));
		fz_assert(!h->reg, "an ordinary file is registered");
		return;
	}
	check_host_refused(f);
}

static int64_t guest_pages_held(bool count_present)
{
	int64_t sum = 0;

	for (int i = 0; i < NFILES; i++) {
		struct gm_file *f = st.files[i].f;
		uint64_t held;

		if (!f || gm_file_is_guest(f) != 1)
			continue;
		held = gm_file_pages_held(f);
		sum += (int64_t)held;
		if (count_present)
			fz_assert(present_pages(f) == held, "file %u holds %llu pages, %llu present",
				  gm_file_id(f), (unsigned long long)held,
				  (unsigned long long)present_pages(f));
	}
	return sum;
}

static void check_pins(void)
{
	for (unsigned int i = 0; i < st.nhist; i++) {
		const struct pin *h = &st.hist[i];
		uint32_t mine = 0;

		for (unsigned int j = 0; j < st.npins; j++)
			if (folio_of(&st.pins[j]) == folio_of(h))
				mine++;
		fz_assert(gm_pfn_pins(h->pfn) == mine, "pfn %#llx shows %u pins, the harness holds %u",
			  (unsigned long long)h->pfn, gm_pfn_pins(h->pfn), mine);
	}
	for (unsigned int j = 0; j < st.npins; j++) {
		const struct pin *p = &st.pins[j];
		struct gm_file *f = st.files[p->file].f;

		/* Present, or freed under the pin (doomed): still this page's frame. */
		fz_assert(gm_backing_pfn(f->backing, p->index) == p->pfn,
			  "the pin on page %llu of file %u names another frame",
			  (unsigned long long)p->index, gm_file_id(f));
	}
}

void check_invariants(void)
{
	int64_t in_use, held;

	for (int i = 0; i < NFILES; i++)
		if (st.files[i].f)
			check_file(&st.files[i]);
	held = guest_pages_held(true);
	in_use = gm_frames_in_use();
	fz_assert(in_use == held, "%lld frames in use, live guest-only files hold %lld",
		  (long long)in_use, (long long)held);
	check_pins();
	if (st.vm)
		fz_expect("gm_vm_check_stage2", gm_vm_check_stage2(st.vm), 0);
}

/* ---- secrets: what only the guest may see ---- */

static bool written(struct hfile *h, uint64_t index)
{
	return index < MAX_PAGES && (h->written[index / 8] >> (index % 8) & 1);
}

void set_written(struct hfile *h, uint64_t index, bool on)
{
	if (index >= MAX_PAGES)
		return;
	if (on)
		h->written[index / 8] |= (uint8_t)(1U << (index % 8));
	else
		h->written[index / 8] &= (uint8_t)~(1U << (index % 8));
}

void forget_written(struct hfile *h, uint64_t start, uint64_t end)
{
	for (uint64_t i = start; i < end && i < MAX_PAGES; i++)
		set_written(h, i, false);
}

/* Every present page of a guest-only file: zero, or its own secret if it was written. */
void verify_secrets(struct hfile *h)
{
	static uint8_t page[4096], want[4096];
	static const uint8_t zero[4096];
	struct gm_file *f = h->f;
	int64_t size = gm_file_size(f);

	for (uint64_t i = 0; i < MAX_PAGES && (int64_t)(i << GM_PAGE_SHIFT) < size; i++) {
		if (!gm_backing_present(f->backing, i))
			continue;
		fz_expect("gm_file_guest_read", gm_file_guest_read(f, i << GM_PAGE_SHIFT, page, 4096), 0);
		if (!memcmp(page, zero, sizeof(page)))
			continue;
		fz_secret_page(want, gm_file_id(f), i);
		fz_assert(!memcmp(page, want, sizeof(page)),
			  "page %llu of file %u holds data that is not its own secret (%s)",
			  (unsigned long long)i, gm_file_id(f),
			  fz_has_secret(page, sizeof(page)) ? "another page's secret" : "garbage");
		fz_assert(written(h, i), "page %llu of file %u was freed, came back with its old data",
			  (unsigned long long)i, gm_file_id(f));
	}
}
