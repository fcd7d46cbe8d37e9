/* SPDX-License-Identifier: MIT */
/*
 * What the snapshot tests share: their guests (machine code, the assembly
 * beside it), a VM built and run to a chosen point, and streams in memfds.
 *
 * The pattern guest (vCPU 0; other vCPUs exit 0 at once), rdi = RAM base,
 * rsi = RAM size, r8 = N | R << 32:
 *   it reports GM_REPORT_VALUE 1 ("started from the entry"), then
 *   1. writes word i of RAM with pattern(i), then GM_HC_PROGRESS 1;
 *   2. writes the first word of pages 0..N-1 with ~pattern, then PROGRESS 2;
 *   3. checks all of RAM R times, PROGRESS 3 + round after each round;
 * and reports the words that read back wrong (GM_REPORT_MISMATCHES) and
 * exits with their number.  A run stopped anywhere and resumed from a
 * snapshot must end as one that was never stopped, without a second
 * "started" report.
 *
 * The sparse guest, r8 = pages to check: writes the first word of every
 * page of RAM with pattern(page), then PROGRESS 1, then checks the first
 * r8 pages, reports mismatches and exits with their number.
 */
#ifndef GM_TEST_VM_SNAPTEST_H
#define GM_TEST_VM_SNAPTEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmtest.h"

#define PATTERN_MUL	0x9E3779B97F4A7C15ULL
#define PATTERN_XOR	0x5EC12E7A5EC12E7AULL

/* Word @i of the pattern guest's RAM: (i * PATTERN_MUL) ^ PATTERN_XOR. */
uint64_t pattern(uint64_t i);

/* The pattern guest and the sparse guest (above), and their lengths. */
extern const uint8_t pattern_guest[];
extern const size_t pattern_guest_len;
extern const uint8_t sparse_guest[];
extern const size_t sparse_guest_len;

/* The key every snapshot test seals with. */
extern const uint8_t snap_key[GM_SNAPSHOT_KEY_SIZE];

/* A VM with @ram of RAM (private when @private), @code booted on @vcpus. */
void snaptest_vm(struct vmtest *t, enum gm_engine_kind engine, uint64_t ram, bool private,
		 const uint8_t *code, size_t len, unsigned int vcpus, uint64_t r8);

/* A run that stops when the guest reports progress @stop_at (0: never). */
struct snaptest_run {
	struct gm_vm *vm;
	uint64_t stop_at;
	_Atomic uint64_t phase;		/* the last progress reported */
};

/* The progress handler of a struct snaptest_run (@opaque). */
void snaptest_progress(void *opaque, unsigned int vcpu, uint64_t done);

/* Run @t's VM, stopping it at progress @stop_at: gm_vm_run's result, exits in @exits. */
int snaptest_run(struct vmtest *t, uint64_t stop_at, struct gm_exit *exits);

/* A new empty memfd. */
int snaptest_memfd(void);

/* Snapshot @vm into a new memfd, rewound; its size in *@size. */
int snaptest_snapshot(struct gm_vm *vm, unsigned int flags, const void *app, size_t app_len,
		      uint64_t *size);

/* The whole stream at @fd, malloc'ed. */
uint8_t *snaptest_slurp(int fd, uint64_t *size);

/* A memfd holding @len bytes of @buf, rewound. */
int snaptest_stream(const uint8_t *buf, uint64_t len);

#endif
