/* SPDX-License-Identifier: MIT */
/*
 * `guestmem run --guest FILE`: a static x86-64 ELF built with the guest kit
 * (include/guestmem/guest/guest.h), checked, loaded into RAM and started.
 *
 * Placement: every PT_LOAD segment must lie in RAM's shared alias,
 * [GM_GUEST_SHARED_BIT | GM_GUEST_RAM_BASE, + --mem), where the kit's
 * guest.ld links it.  The span of RAM the segments cover, rounded out to
 * 2 MiB, is the program's: the runner keeps it shared (with --private it
 * converts the span back to shared before writing the segments, since the
 * host cannot write private pages and converting to private frees the
 * shared copy) and the guest reaches it through the shared alias.
 *
 * Start: every vCPU enters a trampoline at GM_GUEST_CODE_BASE, in the boot
 * slot, that points r9 at a struct gm_guest_info (also in the boot slot)
 * and jumps to the ELF's entry with the other entry registers untouched.
 */
#ifndef GM_CLI_GUEST_ELF_H
#define GM_CLI_GUEST_ELF_H

#include <stddef.h>
#include <stdint.h>


#define GM_GUEST_ELF_MAX_SEGMENTS	16
#define GM_GUEST_ELF_MAX_FILE		(256ULL << 20)	/* bytes read into memory */
#define GM_GUEST_ARGS_MAX		65536		/* --guest-arg values, NULs included */

struct gm_guest_segment {
	unsigned int phdr;		/* its program header's index, for messages */
	uint64_t vaddr;			/* as linked: the shared alias */
	uint64_t memsz;
	uint64_t filesz;		/* <= memsz; the rest reads zero */
	const unsigned char *data;	/* filesz bytes of the file */
};

struct gm_guest_elf {
	const char *path;		/* as given, for messages */
	unsigned char *file;		/* the whole file */
	size_t file_size;
	uint64_t entry;
	unsigned int nr_segments;
	struct gm_guest_segment seg[GM_GUEST_ELF_MAX_SEGMENTS];
	uint64_t lo, hi;		/* lowest vaddr and highest end of the segments */
	unsigned int argc;		/* --guest-arg values, the caller's */
	char **argv;
};

/*
 * gm_guest_elf_open - read @path and check that it is a static x86-64
 * executable whose entry lies in a segment.  On failure, one line in @why
 * that starts with the path and says what is wrong and where.
 * Return: 0, or -ENOENT/-EACCES/... (cannot read it), -EFBIG (too large),
 * -ENOEXEC (not such an ELF), -ENOMEM.
 */
int gm_guest_elf_open(const char *path, struct gm_guest_elf *elf, char *why, size_t why_len);

/* gm_guest_elf_close - free what gm_guest_elf_open() read. */
void gm_guest_elf_close(struct gm_guest_elf *elf);

/*
 * gm_guest_elf_check_ram - check that every segment fits RAM of @ram_size
 * bytes as described at the top, and the arguments the boot slot.
 * Return: 0, or -EINVAL with one line in @why.
 */
int gm_guest_elf_check_ram(const struct gm_guest_elf *elf, uint64_t ram_size, char *why,
			   size_t why_len);

/*
 * gm_guest_elf_span - the program's span of RAM (plain guest-physical
 * addresses, 2 MiB aligned): [*@base, *@base + *@size).
 */
void gm_guest_elf_span(const struct gm_guest_elf *elf, uint64_t *base, uint64_t *size);

/*
 * gm_guest_elf_copy - copy the segments into @span, a host mapping of the
 * program's span (gm_guest_elf_span()).  The bytes past each segment's
 * file size are left as they are: fresh RAM reads zero.
 */
void gm_guest_elf_copy(const struct gm_guest_elf *elf, void *span);

/*
 * gm_guest_elf_boot_code - build the boot code for @elf: the trampoline
 * and the struct gm_guest_info for RAM of @ram_size bytes, @nr_vcpus and
 * @flags (GM_GUEST_F_*), to be loaded at GM_GUEST_CODE_BASE.
 * Return: 0 with a malloc'ed *@code of *@size bytes, or -ENOMEM, -E2BIG.
 */
int gm_guest_elf_boot_code(const struct gm_guest_elf *elf, uint64_t ram_size,
			   unsigned int nr_vcpus, uint64_t flags, void **code, size_t *size);

#endif
