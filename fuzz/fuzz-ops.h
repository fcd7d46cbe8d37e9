/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ops (fuzz-ops.c says what it checks): the harness's model of the
 * files, pins, mappings and VM it made, shared by its three files.
 */
#ifndef GM_FUZZ_OPS_H
#define GM_FUZZ_OPS_H

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guestmem.h>

#include "pmem.h"
#include "store.h"
#include "fuzz.h"

#define MAX_OPS		64
#define NFILES		6
#define NPINS		16
#define NHIST		64
#define NMAPS		4
#define NSLOTS		32		/* the library's GM_VM_MAX_SLOTS */
#define MAX_BYTES	(4 * FZ_MiB)	/* no page is ever held past this */
#define MAX_PAGES	(MAX_BYTES >> GM_PAGE_SHIFT)
#define IO_MAX		(8 * FZ_KiB)
#define MAX_VMS		2
#define RESERVE		(8 * FZ_MiB)
#define PUNCH		(GM_FALLOC_PUNCH_HOLE | GM_FALLOC_KEEP_SIZE)
#define PRIVATE		GM_MEMORY_ATTRIBUTE_PRIVATE
#define ATTR_SAMPLE	1024

struct owner {
	struct gm_file *file;
	unsigned int nr;
	struct { uint64_t start, end; } r[64];
	bool overflow;
};

struct hfile {
	struct gm_file *f;
	bool reg;			/* the harness's owner holds it */
	struct owner owner;
	uint8_t written[MAX_PAGES / 8];	/* pages that hold their secret */
};

struct pin {
	gm_pfn_t pfn;
	int file;
	uint64_t index;
	unsigned int order;
};

struct hmap {
	int file;
	uint8_t *addr;
	size_t len;
	bool touchable;			/* shmem, shared, writable, size held */
};

struct hslot {
	bool used;
	struct gm_memslot m;
	int shared, priv;		/* file indexes */
};

struct ops_state {
	struct hfile files[NFILES];
	struct pin pins[NPINS];
	unsigned int npins;
	struct pin hist[NHIST];		/* every pin taken: its count must stay exact */
	unsigned int nhist;
	struct hmap maps[NMAPS];
	unsigned int nmaps;
	bool keep_pins;			/* frees leave pins held: pages are doomed */
	struct gm_vm *vm;
	unsigned int vms;
	struct hslot slots[NSLOTS];
	uint8_t *reserve;
};

/* The harness's model of all it made; cleared after each input. */
extern struct ops_state st;

/* Buffers for I/O: what was written, what came back. */
extern uint8_t iobuf[IO_MAX], iobuf2[IO_MAX];

/* ---- fuzz-ops-model.c: the owner, arguments, pins, slots, invariants, secrets ---- */

/* The harness's owner callbacks: record each invalidated range. */
extern const struct gm_guest_ops owner_ops;
bool invalidated(const struct owner *o, uint64_t index);
int pick_file(struct fz_in *in, struct gm_file **f);
off_t pick_length(struct fz_in *in);
void pick_range(struct fz_in *in, off_t *offset, off_t *len, off_t max_len);
const struct gm_mem_ops *mem_ops(struct gm_file *f);
void unpin_at(unsigned int i);
void unpin_all(int file);
void unpin_file(int file);
void unpin_doomed(int file);
bool doomed_pin(int file, uint64_t index);
void forget_history(int file);
bool file_in_slot(int file);
bool vm_holds(int file);
struct hslot *slot_at(uint64_t gpa);
uint64_t present_pages(struct gm_file *f);
void check_invariants(void);
void set_written(struct hfile *h, uint64_t index, bool on);
void forget_written(struct hfile *h, uint64_t start, uint64_t end);
void verify_secrets(struct hfile *h);

/* ---- fuzz-ops-vm.c: the VM's operations ---- */

void op_vm_create(struct fz_in *in);
void vm_destroy(void);
void op_vm_destroy(struct fz_in *in);
void op_memslot(struct fz_in *in);
void op_set_attributes(struct fz_in *in);
void op_shared_io(struct fz_in *in, bool write);

/* ---- fuzz-ops.c ---- */

void put_file(int i);

#endif
