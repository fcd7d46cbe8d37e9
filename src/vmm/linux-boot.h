/* SPDX-License-Identifier: MIT */
/*
 * Booting a Linux x86 bzImage through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): from the kernel's and the initrd's
 * bytes, the command line, the RAM size and the vCPU count, the list of
 * guest-physical regions a VMM copies into RAM and the state the boot
 * vCPU enters with.  Memory only: no I/O, no KVM.
 *
 * RAM is one range, [0, mem).  The layout:
 *
 *	0x00500		GDT: null, null, code (0x10), data (0x18)
 *	0x07000		boot_params (the zero page)
 *	0x09000		page tables: PML4, PDPT at 0xa000, four PDs at
 *			0xb000..0xefff: [0, 4 GiB) identity, 2 MiB pages
 *	0x20000		command line, NUL-terminated
 *	0x9fc00		MP table (floating pointer, then its config table)
 *	0x100000	the bzImage's protected-mode part; entry at +0x200
 *	top		the initrd, page-aligned, as high as the kernel allows
 *
 * e820: [0, 0x9fc00) RAM, [0x9fc00, 0x100000) reserved, [0x100000, mem) RAM.
 *
 * The boot vCPU starts in 64-bit mode with paging on (cr3 = @cr3, CR0.PE|PG,
 * CR4.PAE, EFER.LME|LMA), the GDT at @gdt_base, cs = 0x10, ds/es/ss = 0x18,
 * interrupts off, rip = @entry, rsi = @boot_params.
 */
#ifndef GM_VMM_LINUX_BOOT_H
#define GM_VMM_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#define GM_LINUX_MAX_REGIONS	16
#define GM_LINUX_MAX_VCPUS	16
#define GM_LINUX_MIN_MEM	(32ULL << 20)
#define GM_LINUX_MAX_MEM	(3ULL << 30)	/* below the 32-bit PCI hole */

#define GM_LINUX_BOOT_CS	0x10
#define GM_LINUX_BOOT_DS	0x18

/* A range of guest RAM to fill: @len bytes of @data at @gpa. */
struct gm_linux_region {
	uint64_t gpa;
	const void *data;
	size_t len;
};

struct gm_linux_image {
	struct gm_linux_region regions[GM_LINUX_MAX_REGIONS];
	unsigned int nr_regions;	/* in increasing gpa order, non-overlapping */
	uint64_t entry;			/* rip: the 64-bit entry (load address + 0x200) */
	uint64_t boot_params;		/* rsi at entry: gpa of the zero page */
	uint64_t cr3;			/* identity page tables */
	uint64_t gdt_base;
	uint16_t gdt_limit;		/* code selector 0x10, data 0x18 */
	uint64_t kernel_load, kernel_len, initrd_gpa, initrd_len;	/* for reports */
	void *owned;			/* buffers the regions point into (freed by _free) */
};

/**
 * gm_linux_image_build - lay out @kernel (a bzImage), @initrd and @cmdline
 * in a guest of @mem bytes of RAM and @nr_vcpus vCPUs, into @img.
 *
 * The kernel's and the initrd's regions point straight into @kernel and
 * @initrd: the caller keeps those bytes alive, unchanged, until
 * gm_linux_image_free().  The other regions point into @img->owned.
 * A NULL @cmdline is an empty one; @initrd_len 0 means no initrd.  On
 * failure @img holds nothing (gm_linux_image_free() on it is harmless).
 *
 * Return: 0, or
 * -EINVAL (NULL @kernel or @img, NULL @initrd with @initrd_len > 0,
 * @nr_vcpus 0 or > GM_LINUX_MAX_VCPUS, @mem not a multiple of 2 MiB or
 * outside [GM_LINUX_MIN_MEM, GM_LINUX_MAX_MEM]),
 * -ENOEXEC (not a bzImage this can boot: too short for its setup header,
 * no 0xAA55 boot flag, no "HdrS", boot protocol older than 2.12, no 64-bit
 * entry (XLF_KERNEL_64 clear), a protected-mode part empty or past the
 * file's end),
 * -E2BIG (the kernel's load or its init_size from its runtime start
 * address past @mem, the initrd not fitting between the kernel and
 * min(@mem, initrd_addr_max + 1), the command line longer than the
 * kernel's cmdline_size or than the room at 0x20000),
 * -ENOMEM.
 */
int gm_linux_image_build(struct gm_linux_image *img, const void *kernel, size_t kernel_len,
			 const void *initrd, size_t initrd_len, const char *cmdline,
			 uint64_t mem, unsigned int nr_vcpus);

/** gm_linux_image_free - free @img->owned and clear @img (NULL is fine). */
void gm_linux_image_free(struct gm_linux_image *img);

#endif
