/* SPDX-License-Identifier: MIT */
/*
 * vm: the consumer of guest memory (KVM's side of the seed's design).
 *
 * A VM has memslots that bind guest-physical ranges to files, a shared or
 * private attribute per page, and vCPUs run by an engine (real /dev/kvm, or
 * the unicorn CPU emulator).  Each memslot reaches the guest through one
 * host mapping per side (the private one made by the file's provider),
 * mapped when the slot is made; pages enter them on first touch through
 * userfaultfd after the provider's get_lock_pfn(), and leave them when the
 * store punches them.  The VM records which private pages it let in, and at
 * what level (its stage-2 record).
 */
#ifndef GUESTMEM_VM_H
#define GUESTMEM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <guestmem/file.h>
#include <guestmem/provider.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gm_vm;

enum gm_engine_kind {
	GM_ENGINE_AUTO,		/* kvm where /dev/kvm works, else emu */
	GM_ENGINE_KVM,
	GM_ENGINE_EMU,
};

/*
 * Memslot flags.  A private-capable slot has a guest-only file for its
 * private pages; its shared pages are in an ordinary file (two files), or,
 * in place, in the same in-place file (GM_MFD_GUEST_MMAP) at the same
 * offset: shared_file == private_file, shared_offset == private_offset.
 * Then both aliases resolve to the one backing page, a conversion frees
 * nothing, and its content policy may keep the page's bytes.  An in-place
 * file backs in-place slots only: as the private file of two, its pages'
 * state in the file would not follow the slot's, and the host could read
 * a page the guest holds private.
 */
#define GM_SLOT_PRIVATE		0x1U

struct gm_memslot {
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;			/* 0 deletes the slot */
	struct gm_file *shared_file;	/* ordinary file, a kvm-store file, or in place */
	uint64_t shared_offset;
	struct gm_file *private_file;	/* guest-only file, with GM_SLOT_PRIVATE */
	uint64_t private_offset;
};

/* Page attributes: KVM's value for private. */
#define GM_MEMORY_ATTRIBUTE_PRIVATE	(1ULL << 3)

enum gm_exit_reason {
	GM_EXIT_NONE,
	GM_EXIT_GUEST_EXIT,	/* the guest asked to stop; status in .status */
	GM_EXIT_MEMORY_FAULT,	/* see .fault */
	GM_EXIT_ERROR,		/* the engine failed; -errno in .status */
	GM_EXIT_STOPPED,	/* another vCPU ended the run */
	GM_EXIT_RESET,		/* the guest reset the machine (gm_vm_boot_x86) */
};

struct gm_exit {
	enum gm_exit_reason reason;
	int64_t status;
	struct {
		uint64_t gpa;
		uint64_t size;
		bool private;	/* the access was private */
	} fault;
	uint64_t rip;		/* the guest's rip when the vCPU stopped */
};

struct gm_vm_stats {
	uint64_t faults[4];		/* indexed by gm_level; [0] unused */
	uint64_t retries;		/* faults that raced an invalidation */
	uint64_t invalidations;		/* provider callbacks */
	uint64_t conversions;
	uint64_t memory_fault_exits;
	uint64_t mmio_completions;	/* kvm engine: RAM accesses completed by the VMM */
	uint64_t prefaults;		/* 2 MiB ranges populated ahead of the guest */
	uint64_t hypercalls;
	uint64_t frames_mapped;		/* private 4 KiB frames mapped now */
	uint64_t frames_mapped_peak;
	uint64_t report[8];		/* GM_REPORT_* sums */
	/*
	 * Restore (gm_vm_restore): bytes read from the snapshot's stream, by
	 * the restore and, after a lazy one, by the first touches of the
	 * guest (an eager restore reads the stream twice: to check it, then
	 * to apply it); and pages filled from its records.
	 */
	uint64_t restore_bytes_read;
	uint64_t restore_pages;
	uint64_t snapshot_pages;	/* page records written by gm_vm_snapshot(), all told */
};

struct gm_vm_handlers {
	void *opaque;
	/* Text the guest printed (not NUL-terminated). */
	void (*print)(void *opaque, unsigned int vcpu, const char *text, size_t len);
	/*
	 * A memory-fault exit.  Return 0 to resume the vCPU (after fixing the
	 * cause, e.g. converting), or a negative errno to stop the run.
	 * NULL: stop the run.
	 */
	int (*memory_fault)(void *opaque, struct gm_vm *vm, unsigned int vcpu,
			    const struct gm_exit *exit);
	/* Guest progress (GM_HC_PROGRESS), for progress bars. */
	void (*progress)(void *opaque, unsigned int vcpu, uint64_t done);
	/*
	 * Port I/O other than hypercalls: the VMM's devices (a serial port)
	 * on a VM booted with gm_vm_boot_x86().  @data holds the @size bytes
	 * (1, 2 or 4) of an out, and takes those of an in.  Return 0 to go
	 * on, 1 to end the machine with GM_EXIT_RESET (the guest pressed a
	 * reset), or a negative errno to stop the run.  NULL: ins read all
	 * ones and outs are dropped.  Called on the vCPU's thread.
	 */
	int (*port_io)(void *opaque, struct gm_vm *vm, unsigned int vcpu, uint16_t port,
		       bool out, unsigned int size, void *data);
};

/**
 * gm_vm_create - create a VM run by @engine.
 * Return: 0, or -EINVAL (unknown engine), -ENODEV (kvm asked for and
 * /dev/kvm does not work), -ENOMEM, or the engine's negative errno.
 */
int gm_vm_create(enum gm_engine_kind engine, struct gm_vm **vmp);

/** gm_vm_destroy - stop using every file, free every frame mapping. */
void gm_vm_destroy(struct gm_vm *vm);

/** gm_vm_engine_name - "kvm" or "emu" ("none" for NULL). */
const char *gm_vm_engine_name(struct gm_vm *vm);

/** gm_vm_kvm_fd - the KVM VM fd (kvm engine), or -ENODEV. */
int gm_vm_kvm_fd(struct gm_vm *vm);

/**
 * gm_vm_set_memslot - create or delete (size 0) a memslot.
 * Return: 0, or -EINVAL (no such slot to delete, unaligned gpa/size/offset,
 * bad flags, file range
 * past the file's end, a private slot changed rather than deleted, missing
 * files, slot number out of range, an in-place file in a slot that is not
 * in place), -EEXIST (guest range overlaps another
 * slot, or the file range is already bound), -EPERM (private file not
 * guest-only, or held by another VM), -ENOMEM, or the engine's errno.
 */
int gm_vm_set_memslot(struct gm_vm *vm, const struct gm_memslot *slot);

/**
 * gm_vm_set_memory_attributes - set the attribute of [gpa, gpa + size),
 * all or nothing, as KVM_SET_MEMORY_ATTRIBUTES does, and convert: mappings
 * of the range are dropped and the side no longer in use is freed.
 * Conversions run one at a time.  Making pages shared where no
 * private-capable slot holds them changes nothing and succeeds, as in KVM
 * (attributes are the VM's; such pages are shared already).
 * Return: 0, or -EINVAL (flags != 0, unknown attribute, size 0, overflow,
 * misalignment, a page with no private-capable slot made private), -EPERM
 * (the side to free is sealed against writes: nothing changed), -EFAULT.
 */
int gm_vm_set_memory_attributes(struct gm_vm *vm, uint64_t gpa, uint64_t size,
				uint64_t attributes, uint64_t flags);

/**
 * gm_vm_set_memory_attributes2 - gm_vm_set_memory_attributes() with a
 * content policy and an error address, after upstream's
 * KVM_SET_MEMORY_ATTRIBUTES2.  @policy: GM_CONVERT_ZERO (as
 * gm_vm_set_memory_attributes: the pages read zero on their new side) or
 * GM_CONVERT_PRESERVE (their bytes are kept: only in-place slots).
 * To private is refused, changing nothing, while the host still maps or
 * pins a page of an in-place file (see gm_file_set_attributes()); the
 * page's address then goes in *@error_gpa (if not NULL).
 * Return: as gm_vm_set_memory_attributes(), and -EAGAIN (refused: mapped
 * or pinned), -EINVAL (unknown policy; GM_CONVERT_PRESERVE on a range
 * that is not all in in-place slots).
 */
int gm_vm_set_memory_attributes2(struct gm_vm *vm, uint64_t gpa, uint64_t size,
				 uint64_t attributes, unsigned int policy, uint64_t *error_gpa);

/** gm_vm_get_memory_attributes - attributes of the page at @gpa (>= 0). */
int64_t gm_vm_get_memory_attributes(struct gm_vm *vm, uint64_t gpa);

/**
 * gm_vm_write_shared / gm_vm_read_shared - host access to guest memory that
 * is shared (through the shared file).  Return: 0, or -EPERM (a private
 * page), -EFAULT (no slot covers part of the range: then nothing is copied).
 */
int gm_vm_write_shared(struct gm_vm *vm, uint64_t gpa, const void *buf, size_t len);
int gm_vm_read_shared(struct gm_vm *vm, uint64_t gpa, void *buf, size_t len);

struct gm_vm_boot {
	const void *code;	/* guest program (flat binary) */
	size_t code_size;
	uint64_t ram_base;	/* passed to the guest in rdi */
	uint64_t ram_size;	/* rsi */
	uint64_t flags;		/* r8: GM_GUEST_F_* */
	unsigned int nr_vcpus;
};

/**
 * gm_vm_dirty_log_start - record which pages of memslot @slot are written
 * from now on, through either alias, private or shared: by the guest, and
 * by the host changing them (a conversion or punch zeroes a page).  The
 * kernel's guest_memfd refuses dirty logging; guestmem's private memory
 * does not.  Return: 0, -EINVAL (no such slot), -EEXIST (logging already),
 * -ENOMEM, -EFAULT (NULL), or the engine's errno.
 */
int gm_vm_dirty_log_start(struct gm_vm *vm, uint32_t slot);

/**
 * gm_vm_dirty_log_get - copy the dirty bitmap of memslot @slot into
 * @bitmap (bit i of word i / 64 = page i of the slot; (pages + 63) / 64
 * words) and clear it.  Every write that lands after this returns is in
 * the next call's bitmap, so copying the pages it names after it returns
 * loses nothing: a page written during the copy is reported again.
 * Return: the number of dirty pages (>= 0), -EINVAL (no such slot, or not
 * logging), -EFAULT (NULL), or the engine's errno.
 */
int64_t gm_vm_dirty_log_get(struct gm_vm *vm, uint32_t slot, uint64_t *bitmap);

/** gm_vm_dirty_log_stop - stop logging.  Return: 0, -EINVAL (not logging), -EFAULT. */
int gm_vm_dirty_log_stop(struct gm_vm *vm, uint32_t slot);

/**
 * gm_vm_boot - write page tables and @boot's code into the boot slot (which
 * must exist: slot covering [0, GM_GUEST_BOOT_SIZE)) and create the vCPUs.
 * Return: 0, or -EINVAL (code too large, no boot slot, bad vCPU count), or
 * the engine's errno.
 */
int gm_vm_boot(struct gm_vm *vm, const struct gm_vm_boot *boot);

/*
 * Private launch.  Before a VM first runs, the VMM may fill its memory,
 * private pages included (upstream's kvm_gmem_populate, SEV-SNP's
 * LAUNCH_UPDATE and TDX's page add do this for them); once a vCPU has run,
 * only the guest can write its private pages.  Every fill is folded, in
 * order, into the VM's launch digest: BLAKE2b-256 (libsodium) over each
 * call's gpa and length (little-endian u64s) and bytes, so that two
 * launches of the same image can be compared, as a measured launch is.
 */
#define GM_LAUNCH_DIGEST_SIZE	32

/**
 * gm_vm_launch_populate - copy @len bytes of @buf to guest memory at @gpa,
 * before the VM's first run: each page goes to the private file where its
 * attribute is private and to the shared file elsewhere; then fold
 * (gpa, len, bytes) into the launch digest.  Every page is checked before
 * any is written.
 * Return: 0, or -EFAULT (NULL), -EPERM (gm_vm_run() was called: nothing
 * changes), -EINVAL (a page of the range is in no memslot, the shared bit
 * is set, or @len is 0), -ENOMEM, or the store's errno (then the pages
 * before the failing one may hold their new bytes, and the digest is
 * unchanged).
 */
int gm_vm_launch_populate(struct gm_vm *vm, uint64_t gpa, const void *buf, size_t len);

/**
 * gm_vm_launch_digest - the launch digest of every gm_vm_launch_populate()
 * so far (of none: BLAKE2b-256 of nothing).  Return: 0, or -EFAULT (NULL),
 * -ENOMEM.
 */
int gm_vm_launch_digest(struct gm_vm *vm, uint8_t digest[GM_LAUNCH_DIGEST_SIZE]);

/*
 * An x86-64 PC, for an operating system the VMM loads itself (a Linux
 * kernel): memory laid out by gm_vm_launch_populate(), KVM's in-kernel
 * interrupt controllers (PIC, I/O APIC, a local APIC per vCPU) and timer
 * (PIT), and the VMM's devices on port I/O (gm_vm_handlers.port_io).  The
 * guest runs at CPL 0; GM_HC_EXIT from any vCPU (an `out` to GM_HC_PORT,
 * as from the guest's user space with ioperm), a triple fault, or a reset
 * that port_io reports ends the whole machine.
 */
struct gm_vm_x86_boot {
	unsigned int nr_vcpus;
	uint64_t rip;		/* vCPU 0's entry, in 64-bit mode, interrupts off */
	uint64_t rsi;		/* its rsi (Linux: the boot parameters' gpa) */
	uint64_t cr3;		/* page tables mapping what the entry touches */
	uint64_t gdt_base;	/* a GDT: 64-bit code at selector 0x10, data at 0x18 */
	uint16_t gdt_limit;
};

/**
 * gm_vm_boot_x86 - make @vm a PC and create its vCPUs: vCPU 0 starts at
 * @boot's entry, the others wait for the guest's INIT and SIPI (their local
 * APIC ids are their indexes).  gm_vm_run() then returns 0 when a vCPU
 * ended the machine with GM_EXIT_GUEST_EXIT or GM_EXIT_RESET (the others
 * read GM_EXIT_STOPPED).
 * Return: 0, or -EFAULT (NULL), -EINVAL (0 or more than GM_GUEST_MAX_VCPUS
 * vCPUs, vCPUs made already), -EOPNOTSUPP (the engine is not kvm), or
 * KVM's errno.
 */
int gm_vm_boot_x86(struct gm_vm *vm, const struct gm_vm_x86_boot *boot);

/**
 * gm_vm_irq_line - drive interrupt line @irq (an I/O APIC input, 0-23; 0-15
 * reach the PIC too) of a VM booted with gm_vm_boot_x86() to @level.  A
 * device raises and lowers it; an edge-triggered line fires on the rise.
 * Any thread.  Return: 0, or -EFAULT (NULL), -EINVAL (@irq out of range,
 * not a PC), or KVM's errno.
 */
int gm_vm_irq_line(struct gm_vm *vm, unsigned int irq, bool level);

/**
 * gm_vm_run - run every vCPU (one host thread each) until each exits.  A
 * VM runs once: its vCPUs start from the state gm_vm_boot() gave them, or
 * gm_vm_restore() did.
 * @exits: one gm_exit per vCPU, filled on return.
 * Return: 0 when every vCPU exited with GM_EXIT_GUEST_EXIT, else a negative
 * errno (-EIO when a guest stopped on an error; -EINTR when gm_vm_stop()
 * ended the run; -EINVAL when the VM was not booted or has run already).
 */
int gm_vm_run(struct gm_vm *vm, const struct gm_vm_handlers *handlers,
	      struct gm_exit *exits);

/**
 * gm_vm_stop - end @vm's run soon: every vCPU leaves guest code and exits
 * with GM_EXIT_STOPPED, and gm_vm_run() returns -EINTR.  Callable from any
 * thread, from a handler, from a signal handler, and before the run (which
 * then stops at once).  Return: 0, or -EFAULT (NULL).
 */
int gm_vm_stop(struct gm_vm *vm);

/*
 * Sealed snapshots.  A snapshot is a stream of records, each sealed on its
 * own (XChaCha20-Poly1305, libsodium) with keys derived from a 32-byte key
 * the caller supplies: the VMM never writes a page, private or shared, nor
 * a register, in the clear.  A 64-byte header in the clear names the
 * snapshot (a random 16-byte id) and which key sealed it; then come a
 * header record, one record per memslot (its attributes, and which pages
 * have a record and which read zero: the index), one per vCPU (registers,
 * or how it ended), the caller's own bytes (@app), one record per page,
 * and a trailer (record count, length, and a keyed hash of every record's
 * tag).  Each record's nonce is the id and its number, and its associated
 * data the header and the record's kind, slot and page, so a record that
 * is changed, moved, swapped, replayed from another snapshot or cut off
 * fails to open.
 */
#define GM_SNAPSHOT_KEY_SIZE	32
#define GM_SNAPSHOT_APP_MAX	(1U << 20)	/* bytes of @app at most */
/* gm_vm_snapshot() flags. */
#define GM_SNAPSHOT_DIFF	0x1U	/* only the pages the dirty log names */
#define GM_SNAPSHOT_LIVE	0x2U	/* memory only, of a VM that may be running */
/* gm_vm_restore() flags. */
#define GM_RESTORE_LAZY		0x1U	/* pages come from the stream on first touch */

/**
 * gm_vm_snapshot - write @vm to @fd (a file, pipe or socket, written in
 * order from where it stands), sealed with @key: the vCPUs' registers (or
 * how each ended), every memslot's attributes, and its memory, with
 * @app_len bytes of the caller's own (the run's configuration, say) that
 * gm_vm_restore() and gm_snapshot_app() hand back.  For a VM whose run has
 * ended (gm_vm_stop() stops it where it stands; a vCPU stopped so goes on
 * from there when restored).  Private pages are read inside the library
 * and leave it only sealed.  Pages that read zero (holes) are not written;
 * the restore makes them zero.  With GM_SNAPSHOT_DIFF only the pages
 * written since the dirty log was started or last harvested are written
 * (it harvests the log: gm_vm_dirty_log_get() then starts from here), and
 * the restore leaves the others as they are: restore the full snapshot,
 * then each diff in order, onto one VM.  Pages of a lazy restore the guest
 * has not touched yet are brought in first.
 *
 * With GM_SNAPSHOT_LIVE (live migration's pre-copy rounds) the VM may be
 * running, or booted and not run yet: the stream holds memslots,
 * attributes and memory as the harvest of the dirty log found them, and
 * no vCPU state (its vCPU records say "as booted"), so the restore leaves
 * the vCPUs as they are.  A page the guest writes while it is copied is in
 * the dirty log again: the next round (LIVE | DIFF) carries it, and the
 * last round, a DIFF taken once the run has ended, makes the restored VM
 * whole, vCPUs included.
 *
 * Return: 0, or -EFAULT (NULL vm or key, or app with a length), -EINVAL
 * (bad fd or flags, @app_len over GM_SNAPSHOT_APP_MAX, the VM has not run
 * (LIVE: is not booted), or DIFF without dirty logging on every memslot),
 * -EBUSY (the VM is running and LIVE was not asked; LIVE: a lazy restore
 * of it is under way), -EOPNOTSUPP (a memslot of the kvm store), -ENOMEM,
 * or write's errno (the stream is then incomplete, and a diff's pages
 * stay logged).
 */
int gm_vm_snapshot(struct gm_vm *vm, int fd, const uint8_t key[GM_SNAPSHOT_KEY_SIZE],
		   unsigned int flags, const void *app, size_t app_len);

/**
 * gm_vm_restore - put the snapshot at @fd's offset into @vm, which the
 * caller built with the same memslots (numbers, addresses, sizes, flags)
 * over files of its own and booted (gm_vm_boot, the same vCPU count) but
 * has not run: attributes, memory and vCPU state; gm_vm_run() then goes
 * on where the snapshot was taken (a vCPU that had ended reports its exit
 * again).  A diff snapshot goes onto a VM restored from its base.
 * @app, *@app_len: room for the caller's bytes, and on return their length
 * (NULL, NULL: not wanted).
 *
 * The whole stream is checked before anything of it is applied: a stream
 * that fails is refused and @vm is left as it was.  With GM_RESTORE_LAZY
 * (@fd must be seekable; it is duplicated and read until @vm goes) the
 * header, index, vCPU records and trailer are checked, memslots that are
 * not private-capable are filled now, and each page of a private-capable
 * slot is read and checked when the guest (or the host, through
 * gm_vm_read_shared) first reaches it, and let in only then: a page that
 * fails there stops the run, each vCPU with a GM_EXIT_ERROR exit of
 * -EBADMSG (the access in flight reads zeros).  A host punch of a private
 * page not yet reached is not seen by the lazy restore.
 *
 * Return: 0, or -EFAULT (NULL vm or key; app_len NULL with app), -EINVAL
 * (bad fd or flags, not a guestmem snapshot, a version this library does
 * not read, the VM not booted or run already, or its memslots or vCPU
 * count differ from the snapshot's), -EKEYREJECTED (@key did not seal it),
 * -EBADMSG (a record fails to open, is out of order, or is missing: the
 * stream was changed, reordered or cut short), -ENOBUFS (*@app_len is too
 * small; it holds the length needed), -EBUSY (a lazy restore of @vm is
 * under way), -ESPIPE (lazy from an unseekable fd), -ENOMEM, or read's
 * errno.  Once checked, a stream that changes while it is applied, or a
 * store that runs out of memory, leaves @vm partly restored: destroy it.
 */
int gm_vm_restore(struct gm_vm *vm, int fd, const uint8_t key[GM_SNAPSHOT_KEY_SIZE],
		  unsigned int flags, void *app, size_t *app_len);

/**
 * gm_snapshot_app - the caller's bytes of the snapshot at @fd's offset
 * (which must be seekable, and is not moved), after checking the header
 * and @key: what a VMM needs to build the VM to restore into.
 * Return: 0, or the errors of gm_vm_restore() that concern the stream.
 */
int gm_snapshot_app(int fd, const uint8_t key[GM_SNAPSHOT_KEY_SIZE], void *app,
		    size_t *app_len);

/** gm_vm_get_stats - a snapshot of the counters (nothing for a NULL argument). */
void gm_vm_get_stats(struct gm_vm *vm, struct gm_vm_stats *stats);

/**
 * gm_engine_available - whether @engine can run here; if not, why in @why.
 * Return: 1 or 0.
 */
int gm_engine_available(enum gm_engine_kind engine, const char **why);

#ifdef __cplusplus
}
#endif
#endif
