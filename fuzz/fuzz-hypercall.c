/* SPDX-License-Identifier: MIT */
/*
 * fuzz-hypercall: a guest on the emulator engine whose 2 or 3 vCPUs make
 * hypercalls with arguments taken from the input, all at once, and touch
 * memory where the input says (both aliases, so pages fault in and
 * mismatch).  The run must end with every vCPU exited (any status), the VM
 * consistent (gm_vm_check_stage2), no guest-only byte on the host's side,
 * and, once torn down, no frame in use.
 *
 * Input: a config byte, then records of 26 bytes (op, mode, three 64-bit
 * arguments, little-endian), at most MAX_RECORDS.  The host turns them
 * into a table of (nr, rdi, rsi, rdx) that it places after the guest code;
 * vCPU v runs records v, v + n, v + 2n...
 *   config: bit 0: 3 vCPUs (else 2); bit 1: RAM starts private; bit 2: a
 *           memory-fault exit converts the page and resumes (else the run
 *           stops); bit 3: the guest's private pages start with secrets.
 *   op:     bit 7: a memory access (load and store back) at rdi;
 *           else bit 6: hypercall number op & 0x3f (mostly unknown);
 *           else op & 7.
 *   mode:   bit 0: rdi inside RAM (bit 1: page-aligned, bit 2: shared
 *           alias); bit 3: rsi a size within RAM, page-aligned; bit 4:
 *           rdx 0 or 1; bit 5: rdi in the boot slot; bit 6: rsi < 64.
 */
#include <stdatomic.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guestmem.h>

#include "pmem.h"
#include "store.h"
#include "fuzz.h"
#include "vm-test.h"

#define RAM		(4 * FZ_MiB)
#define RAM_PAGES	(RAM >> GM_PAGE_SHIFT)
#define MAX_RECORDS	512
#define RECORD_BYTES	26
#define NR_ACCESS	0x100

/* rdx = vCPU, rcx = vCPUs; the table follows the code (see above). */
static const uint8_t guest_code[] = {
	0x4c, 0x8d, 0x35, 0x51, 0x00, 0x00, 0x00,	/* lea table(%rip), %r14 */
	0x4d, 0x8b, 0x3e,				/* mov (%r14), %r15: records */
	0x48, 0x89, 0xd3,				/* mov %rdx, %rbx: j = vCPU */
	0x49, 0x89, 0xcd,				/* mov %rcx, %r13: stride */
	0x4c, 0x39, 0xfb,				/* 1: cmp %r15, %rbx */
	0x73, 0x36,					/* jae 9f */
	0x48, 0x89, 0xd8,				/* mov %rbx, %rax */
	0x48, 0xc1, 0xe0, 0x05,				/* shl $5, %rax */
	0x4d, 0x8d, 0x64, 0x06, 0x08,			/* lea 8(%r14,%rax), %r12 */
	0x49, 0x8b, 0x7c, 0x24, 0x08,			/* mov 8(%r12), %rdi */
	0x49, 0x8b, 0x74, 0x24, 0x10,			/* mov 16(%r12), %rsi */
	0x49, 0x8b, 0x54, 0x24, 0x18,			/* mov 24(%r12), %rdx */
	0x49, 0x8b, 0x04, 0x24,				/* mov (%r12), %rax */
	0x48, 0x3d, 0x00, 0x01, 0x00, 0x00,		/* cmp $NR_ACCESS, %rax */
	0x74, 0x04,					/* je 2f */
	0xe7, 0xe0,					/* out %eax, $GM_HC_PORT */
	0xeb, 0x06,					/* jmp 3f */
	0x48, 0x8b, 0x07,				/* 2: mov (%rdi), %rax */
	0x48, 0x89, 0x07,				/* mov %rax, (%rdi) */
	0x4c, 0x01, 0xeb,				/* 3: add %r13, %rbx */
	0xeb, 0xc5,					/* jmp 1b */
	0xb8, 0x01, 0x00, 0x00, 0x00,			/* 9: mov $GM_HC_EXIT, %eax */
	0x31, 0xff,					/* xor %edi, %edi */
	0xe7, 0xe0,					/* out %eax, $GM_HC_PORT */
	0xf4,						/* hlt */
};
#define TABLE_OFFSET	0x58	/* where the lea above points */

struct record {
	uint64_t nr, a0, a1, a2;
};

static struct {
	uint8_t code[TABLE_OFFSET + 8 + MAX_RECORDS * sizeof(struct record)];
	struct gm_file *boot, *shared, *private;
	struct gm_vm *vm;
	_Atomic uint64_t faults;
} h;

static uint8_t buf[RAM];

static void record_decode(struct fz_in *in, struct record *r)
{
	uint8_t op = fz_u8(in), mode = fz_u8(in);

	r->a0 = fz_u64(in);
	r->a1 = fz_u64(in);
	r->a2 = fz_u64(in);
	if (op & 0x80)
		r->nr = NR_ACCESS;
	else
		r->nr = op & 0x40 ? op & 0x3f : op & 7;
	if (mode & 1) {
		r->a0 = GM_GUEST_RAM_BASE + (r->a0 % RAM & ~(mode & 2 ? 4095ULL : 7ULL));
		if (mode & 4)
			r->a0 |= GM_GUEST_SHARED_BIT;
	} else if (mode & 0x20) {
		r->a0 = r->a0 % GM_GUEST_BOOT_SIZE & ~7ULL;
	}
	if (mode & 8)
		r->a1 = r->a1 % (RAM + 4096) & ~4095ULL;
	else if (mode & 0x40)
		r->a1 %= 64;
	if (mode & 0x10)
		r->a2 &= 1;
}

static size_t build_guest(struct fz_in *in)
{
	uint64_t n = 0;

	memset(h.code, 0, sizeof(h.code));
	memcpy(h.code, guest_code, sizeof(guest_code));
	while (fz_more(in) && n < MAX_RECORDS) {
		struct record r;

		record_decode(in, &r);
		memcpy(h.code + TABLE_OFFSET + 8 + n * sizeof(r), &r, sizeof(r));
		n++;
	}
	memcpy(h.code + TABLE_OFFSET, &n, sizeof(n));
	/* The table is host data in the boot slot: no secret's marker in it. */
	fz_scrub(h.code + TABLE_OFFSET, 8 + n * sizeof(struct record));
	return TABLE_OFFSET + 8 + n * sizeof(struct record);
}

static struct gm_file *new_file(unsigned int flags, uint64_t size)
{
	struct gm_file *f;

	fz_expect("gm_memfd_create", gm_memfd_create("fz-hc", flags, &f), 0);
	fz_expect("gm_ftruncate", gm_ftruncate(f, (off_t)size), 0);
	return f;
}

static void vm_create(void)
{
	struct gm_memslot boot = { .slot = 0, .gpa = 0, .size = GM_GUEST_BOOT_SIZE };
	struct gm_memslot ram = { .slot = 1, .flags = GM_SLOT_PRIVATE, .gpa = GM_GUEST_RAM_BASE,
				  .size = RAM };

	fz_expect("gm_vm_create", gm_vm_create(GM_ENGINE_EMU, &h.vm), 0);
	h.boot = new_file(GM_MFD_CLOEXEC, GM_GUEST_BOOT_SIZE);
	h.shared = new_file(GM_MFD_CLOEXEC, RAM);
	h.private = new_file(GM_MFD_GUEST, RAM);
	boot.shared_file = h.boot;
	ram.shared_file = h.shared;
	ram.private_file = h.private;
	fz_expect("gm_vm_set_memslot(boot)", gm_vm_set_memslot(h.vm, &boot), 0);
	fz_expect("gm_vm_set_memslot(ram)", gm_vm_set_memslot(h.vm, &ram), 0);
}

/* --- what the guest may do to the host: print, fault --- */

static void on_print(void *opaque, unsigned int vcpu, const char *text, size_t len)
{
	fz_assert(len <= GM_HC_MAX_PRINT, "a print of %zu bytes reached the handler", len);
	fz_assert(!fz_has_secret((const uint8_t *)text, len), "a guest print carried a secret");
}

static int convert_back(void *opaque, struct gm_vm *vm, unsigned int vcpu,
			const struct gm_exit *exit)
{
	int ret;

	atomic_fetch_add(&h.faults, 1);
	fz_assert(exit->reason == GM_EXIT_MEMORY_FAULT, "memory_fault handler for exit %d",
		  exit->reason);
	ret = gm_vm_set_memory_attributes(vm, exit->fault.gpa, exit->fault.size,
					  exit->fault.private ? GM_MEMORY_ATTRIBUTE_PRIVATE : 0, 0);
	return (int)fz_check("gm_vm_set_memory_attributes(fault)", ret, fz_e_set_attr);
}

/* --- after the run --- */

/* The guest's private pages: each word zero or the one its secret put there. */
static void check_private_pages(void)
{
	static uint8_t page[4096], want[4096];

	for (uint64_t i = 0; i < RAM_PAGES; i++) {
		if (!gm_backing_present(h.private->backing, i))
			continue;
		fz_expect("gm_file_guest_read", gm_file_guest_read(h.private, i << GM_PAGE_SHIFT,
								   page, sizeof(page)), 0);
		fz_secret_page(want, gm_file_id(h.private), i);
		for (size_t w = 0; w < sizeof(page); w += 8)
			fz_assert(!memcmp(page + w, want + w, 8) ||
				  !memcmp(page + w, (uint64_t[]){ 0 }, 8),
				  "private page %llu holds a word that is not its own", (unsigned long long)i);
	}
}

/* Nothing the host can read holds a guest-only byte; private pages stay private. */
static void check_host_side(void)
{
	static uint8_t page[4096];
	ssize_t n;

	n = gm_pread(h.shared, buf, RAM, 0);
	fz_expect("gm_pread(shared)", n, (ssize_t)RAM);
	fz_assert(!fz_has_secret(buf, RAM), "the shared file holds a guest's secret");
	n = gm_pread(h.boot, buf, GM_GUEST_BOOT_SIZE, 0);
	fz_expect("gm_pread(boot)", n, (ssize_t)GM_GUEST_BOOT_SIZE);
	fz_assert(!fz_has_secret(buf, GM_GUEST_BOOT_SIZE), "the boot slot holds a guest's secret");
	for (uint64_t i = 0; i < RAM_PAGES; i++) {
		uint64_t gpa = GM_GUEST_RAM_BASE + (i << GM_PAGE_SHIFT);
		int64_t attr = gm_vm_get_memory_attributes(h.vm, gpa);
		int ret = gm_vm_read_shared(h.vm, gpa, page, sizeof(page));

		fz_assert(attr == 0 || attr == GM_MEMORY_ATTRIBUTE_PRIVATE, "attributes %lld",
			  (long long)attr);
		fz_expect("gm_vm_read_shared", ret, attr ? -EPERM : 0);
		if (!ret)
			fz_assert(!fz_has_secret(page, sizeof(page)),
				  "gm_vm_read_shared of gpa %#llx returned a secret", (unsigned long long)gpa);
	}
}

static void put_secrets(void)
{
	static uint8_t page[4096];

	for (uint64_t i = 0; i < RAM_PAGES; i += 7) {
		fz_secret_page(page, gm_file_id(h.private), i);
		fz_expect("gm_file_guest_write", gm_file_guest_write(h.private, i << GM_PAGE_SHIFT,
								     page, sizeof(page)), 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t config = fz_u8(&in);
	struct gm_vm_handlers handlers = {
		.print = on_print, .memory_fault = config & 4 ? convert_back : NULL,
	};
	struct gm_vm_boot boot = {
		.ram_base = GM_GUEST_RAM_BASE, .ram_size = RAM,
		.nr_vcpus = config & 1 ? 3 : 2,
	};
	struct gm_exit exits[3];
	struct gm_vm_stats stats;
	uint64_t records;
	int ret;

	fz_assert(gm_frames_in_use() == 0, "an input starts with frames in use");
	atomic_store(&h.faults, 0);
	boot.code = h.code;
	boot.code_size = build_guest(&in);
	memcpy(&records, h.code + TABLE_OFFSET, sizeof(records));
	vm_create();
	if (config & 2) {
		boot.flags = GM_GUEST_F_PRIVATE;
		fz_expect("gm_vm_set_memory_attributes(RAM private)",
			  gm_vm_set_memory_attributes(h.vm, GM_GUEST_RAM_BASE, RAM,
						      GM_MEMORY_ATTRIBUTE_PRIVATE, 0), 0);
		if (config & 8)
			put_secrets();
	}
	fz_expect("gm_vm_boot", gm_vm_boot(h.vm, &boot), 0);
	memset(exits, 0, sizeof(exits));
	ret = (int)fz_check("gm_vm_run", gm_vm_run(h.vm, &handlers, exits), fz_e_run);
	for (unsigned int i = 0; i < boot.nr_vcpus; i++) {
		fz_assert(exits[i].reason != GM_EXIT_NONE, "vCPU %u did not exit", i);
		if (!ret)
			fz_expect("exit reason of a run that returned 0", exits[i].reason,
				  GM_EXIT_GUEST_EXIT);
	}
	gm_vm_get_stats(h.vm, &stats);
	if (fz_tracing())
		for (unsigned int i = 0; i < boot.nr_vcpus; i++)
			fprintf(stderr, "vCPU %u: exit %d status %lld; %llu hypercalls, %llu conversions, "
				"%llu faults converted back\n", i, exits[i].reason,
				(long long)exits[i].status, (unsigned long long)stats.hypercalls,
				(unsigned long long)stats.conversions,
				(unsigned long long)atomic_load(&h.faults));
	fz_assert(stats.hypercalls <= records + boot.nr_vcpus, "%llu hypercalls from %llu records",
		  (unsigned long long)stats.hypercalls, (unsigned long long)records);
	fz_expect("gm_vm_check_stage2", gm_vm_check_stage2(h.vm), 0);
	fz_assert(gm_frames_in_use() == (int64_t)gm_file_pages_held(h.private),
		  "%lld frames in use, the VM's private file holds %llu", (long long)gm_frames_in_use(),
		  (unsigned long long)gm_file_pages_held(h.private));
	check_host_side();
	check_private_pages();

	gm_vm_destroy(h.vm);
	gm_file_put(h.boot);
	gm_file_put(h.shared);
	gm_file_put(h.private);
	h.vm = NULL;
	fz_assert(gm_frames_in_use() == 0, "%lld frames in use after teardown",
		  (long long)gm_frames_in_use());
	fz_assert(gm_frames_meta_bytes() == 0, "%lld bytes of frame metadata left after teardown",
		  (long long)gm_frames_meta_bytes());
	return 0;
}
