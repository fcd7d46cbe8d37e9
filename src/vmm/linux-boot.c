// SPDX-License-Identifier: MIT
/*
 * A Linux bzImage laid out in guest RAM for the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst), with an MP table (Intel MultiProcessor
 * Specification 1.4) so that the kernel finds every vCPU and the I/O APIC
 * without ACPI.  See linux-boot.h for the layout.
 *
 * Everything below 640 KiB is built in one buffer that mirrors guest
 * [0, LOW_END), so each structure is written at its own gpa; the regions
 * then point into that buffer, and into the caller's kernel and initrd.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "linux-boot.h"

#define MiB		(1ULL << 20)
#define PAGE_SIZE	4096ULL

/* Where things go in guest RAM. */
#define GDT_GPA		0x500ULL
#define GDT_ENTRIES	4
#define BOOT_PARAMS_GPA	0x7000ULL
#define PML4_GPA	0x9000ULL
#define PDPT_GPA	0xa000ULL
#define PD_GPA		0xb000ULL
#define NR_PDS		4		/* 4 GiB of 1 GiB each */
#define PT_END		(PD_GPA + NR_PDS * PAGE_SIZE)
#define CMDLINE_GPA	0x20000ULL
#define MP_GPA		0x9fc00ULL
#define LOW_END		0xa0000ULL	/* the legacy VGA hole starts here */
#define KERNEL_GPA	0x100000ULL
#define ENTRY_64	0x200		/* from the load address */

/* Setup header fields: the same offsets in the bzImage and in boot_params. */
#define HDR_SETUP_SECTS		0x1f1
#define HDR_VID_MODE		0x1fa
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP_OFFSET		0x201	/* the header ends at 0x202 + this byte */
#define HDR_HEADER		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_MIN_END		0x264	/* through init_size, the last field read */
#define HDR_MAX_END		0x280	/* boot_params' setup header ends here */

#define BOOT_FLAG		0xaa55
#define HDRS_MAGIC		"HdrS"
#define MIN_VERSION		0x020c	/* 2.12: xloadflags */
#define XLF_KERNEL_64		0x1
#define CAN_USE_HEAP		0x80
#define LOADER_UNDEFINED	0xff
#define HEAP_END		0xfe00
#define VID_MODE_NORMAL		0xffff

/* boot_params fields outside the setup header. */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0
#define E820_ENTRY_SIZE		20	/* packed: u64 addr, u64 size, u32 type */
#define E820_RAM		1
#define E820_RESERVED		2

/* Page-table entry bits; the CPU need not set accessed and dirty itself. */
#define PTE_P		0x01ULL
#define PTE_RW		0x02ULL
#define PDE_2M		(PTE_P | PTE_RW | 0x20 /* A */ | 0x40 /* D */ | 0x80 /* PS */)

/* MP table: sizes of its parts, entry types, the values we give. */
#define MPF_SIZE	16
#define MPC_HDR_SIZE	44
#define MP_CPU_SIZE	20
#define MP_ENTRY_SIZE	8	/* bus, I/O APIC, interrupt entries */
#define MP_IRQS		16
#define MP_SIZE(n)	(MPF_SIZE + MPC_HDR_SIZE + (n) * MP_CPU_SIZE + \
			 (2 + MP_IRQS + 2) * MP_ENTRY_SIZE)
#define MP_SPEC_REV	4
#define MP_CPU		0
#define MP_BUS		1
#define MP_IOAPIC	2
#define MP_IOINTR	3
#define MP_LINTR	4
#define MP_INT		0
#define MP_NMI		1
#define MP_EXTINT	3
#define CPU_ENABLED	0x1
#define CPU_BSP		0x2
#define CPU_SIGNATURE	0x600
#define CPU_FEATURES	0x201	/* FPU, APIC */
#define LAPIC_VERSION	0x14
#define LAPIC_ADDR	0xfee00000U
#define IOAPIC_VERSION	0x11
#define IOAPIC_ADDR	0xfec00000U
#define ALL_LAPICS	0xff

_Static_assert(MP_GPA + MP_SIZE(GM_LINUX_MAX_VCPUS) <= LOW_END,
	       "the MP table must fit below 640 KiB");
_Static_assert(PT_END <= CMDLINE_GPA, "page tables run into the command line");

/* What the checks found in the bzImage. */
struct bzimage {
	const uint8_t *bytes;
	size_t len;
	size_t hdr_end;		/* end of the setup header to copy */
	size_t pm_off;		/* the protected-mode part starts here */
	uint64_t top;		/* end of what the kernel uses in RAM */
};

/* ---- little-endian access ---- */

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

#define get16(p)	((uint16_t)get_le(p, 2))
#define get32(p)	((uint32_t)get_le(p, 4))
#define get64(p)	get_le(p, 8)
#define put16(p, v)	put_le(p, v, 2)
#define put32(p, v)	put_le(p, v, 4)
#define put64(p, v)	put_le(p, v, 8)

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* ---- the bzImage ---- */

static int parse_bzimage(struct bzimage *b, const uint8_t *k, size_t len)
{
	unsigned int sects;

	if (len < HDR_MIN_END)
		return -ENOEXEC;
	if (get16(k + HDR_BOOT_FLAG) != BOOT_FLAG ||
	    memcmp(k + HDR_HEADER, HDRS_MAGIC, 4) ||
	    get16(k + HDR_VERSION) < MIN_VERSION ||
	    !(get16(k + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return -ENOEXEC;

	/* setup_sects 0 means 4, from the days before the field. */
	sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
	b->pm_off = (sects + 1) * 512;
	if (b->pm_off >= len)
		return -ENOEXEC;

	b->bytes = k;
	b->len = len;
	b->hdr_end = HDR_HEADER + k[HDR_JUMP_OFFSET];
	if (b->hdr_end > HDR_MAX_END)
		b->hdr_end = HDR_MAX_END;
	if (b->hdr_end > len)
		b->hdr_end = len;
	return 0;
}

/*
 * Where the kernel runs (boot.rst, "kernel runtime start address"): it
 * moves itself there and needs init_size bytes from it before it reads the
 * memory map, so nothing of ours may lie in between.
 */
static int kernel_top(struct bzimage *b, uint64_t mem)
{
	const uint8_t *k = b->bytes;
	uint64_t pref = get64(k + HDR_PREF_ADDRESS);
	uint64_t init_size = get32(k + HDR_INIT_SIZE);
	uint64_t align = get32(k + HDR_KERNEL_ALIGNMENT);
	uint64_t start = pref;

	if (pref > mem)		/* also keeps the sums below from overflowing */
		return -E2BIG;
	if (k[HDR_RELOCATABLE]) {
		start = max_u64(KERNEL_GPA, pref);
		if (align > 1)
			start = (start + align - 1) / align * align;
	}
	b->top = max_u64(KERNEL_GPA + (b->len - b->pm_off), KERNEL_GPA + init_size);
	b->top = max_u64(b->top, start + init_size);
	return b->top > mem ? -E2BIG : 0;
}

/* The highest page below min(mem, initrd_addr_max + 1) that holds it. */
static int place_initrd(const struct bzimage *b, uint64_t mem, uint64_t len, uint64_t *gpa)
{
	uint64_t limit = (uint64_t)get32(b->bytes + HDR_INITRD_ADDR_MAX) + 1;

	if (limit > mem)
		limit = mem;
	if (len > limit)
		return -E2BIG;
	*gpa = (limit - len) & ~(PAGE_SIZE - 1);
	return *gpa < b->top ? -E2BIG : 0;
}

/* ---- what goes below 640 KiB ---- */

static void write_gdt(uint8_t *low)
{
	put64(low + GDT_GPA + GM_LINUX_BOOT_CS, 0x00af9b000000ffffULL);
	put64(low + GDT_GPA + GM_LINUX_BOOT_DS, 0x00cf93000000ffffULL);
}

static void write_page_tables(uint8_t *low)
{
	unsigned int i;

	put64(low + PML4_GPA, PDPT_GPA | PTE_P | PTE_RW);
	for (i = 0; i < NR_PDS; i++)
		put64(low + PDPT_GPA + i * 8, (PD_GPA + i * PAGE_SIZE) | PTE_P | PTE_RW);
	for (i = 0; i < NR_PDS * 512; i++)
		put64(low + PD_GPA + i * 8, (uint64_t)i * 2 * MiB | PDE_2M);
}

static void put_e820(uint8_t *bp, unsigned int i, uint64_t addr, uint64_t end, uint32_t type)
{
	uint8_t *e = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;

	put64(e, addr);
	put64(e + 8, end - addr);
	put32(e + 16, type);
}

static void write_boot_params(uint8_t *low, const struct bzimage *b,
			      const struct gm_linux_image *img, uint64_t mem)
{
	uint8_t *bp = low + BOOT_PARAMS_GPA;

	memcpy(bp + HDR_SETUP_SECTS, b->bytes + HDR_SETUP_SECTS, b->hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put16(bp + HDR_HEAP_END_PTR, HEAP_END);
	put16(bp + HDR_VID_MODE, VID_MODE_NORMAL);
	put32(bp + HDR_CMD_LINE_PTR, CMDLINE_GPA);
	put32(bp + BP_EXT_CMD_LINE_PTR, CMDLINE_GPA >> 32);
	put32(bp + HDR_RAMDISK_IMAGE, img->initrd_gpa);
	put32(bp + BP_EXT_RAMDISK_IMAGE, img->initrd_gpa >> 32);
	put32(bp + HDR_RAMDISK_SIZE, img->initrd_len);
	put32(bp + BP_EXT_RAMDISK_SIZE, img->initrd_len >> 32);

	bp[BP_E820_ENTRIES] = 3;
	put_e820(bp, 0, 0, MP_GPA, E820_RAM);
	put_e820(bp, 1, MP_GPA, KERNEL_GPA, E820_RESERVED);
	put_e820(bp, 2, KERNEL_GPA, mem, E820_RAM);
}

/* The byte that makes @len bytes at @p sum to 0. */
static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* One 8-byte interrupt entry (I/O or local) at @e; returns the next. */
static uint8_t *mp_intr(uint8_t *e, uint8_t type, uint8_t irqtype, uint8_t irq,
			uint8_t dst, uint8_t pin)
{
	e[0] = type;
	e[1] = irqtype;
	put16(e + 2, 0);	/* polarity and trigger conform to the bus */
	e[4] = 0;		/* bus 0 */
	e[5] = irq;
	e[6] = dst;
	e[7] = pin;
	return e + MP_ENTRY_SIZE;
}

static uint8_t *mp_entries(uint8_t *e, unsigned int nr_vcpus)
{
	unsigned int i;

	for (i = 0; i < nr_vcpus; i++, e += MP_CPU_SIZE) {
		e[0] = MP_CPU;
		e[1] = i;
		e[2] = LAPIC_VERSION;
		e[3] = CPU_ENABLED | (i == 0 ? CPU_BSP : 0);
		put32(e + 4, CPU_SIGNATURE);
		put32(e + 8, CPU_FEATURES);
	}
	e[0] = MP_BUS;
	memcpy(e + 2, "ISA   ", 6);
	e += MP_ENTRY_SIZE;
	e[0] = MP_IOAPIC;
	e[1] = nr_vcpus;	/* the first id after the local APICs' */
	e[2] = IOAPIC_VERSION;
	e[3] = CPU_ENABLED;
	put32(e + 4, IOAPIC_ADDR);
	e += MP_ENTRY_SIZE;
	for (i = 0; i < MP_IRQS; i++)
		e = mp_intr(e, MP_IOINTR, MP_INT, i, nr_vcpus, i);
	e = mp_intr(e, MP_LINTR, MP_EXTINT, 0, ALL_LAPICS, 0);
	return mp_intr(e, MP_LINTR, MP_NMI, 0, ALL_LAPICS, 1);
}

/* The floating pointer, then the config table right after it; its length. */
static size_t write_mp_table(uint8_t *low, unsigned int nr_vcpus)
{
	uint8_t *mpf = low + MP_GPA, *mpc = mpf + MPF_SIZE, *end;

	end = mp_entries(mpc + MPC_HDR_SIZE, nr_vcpus);
	memcpy(mpc, "PCMP", 4);
	put16(mpc + 4, end - mpc);
	mpc[6] = MP_SPEC_REV;
	memcpy(mpc + 8, "GUESTMEM", 8);
	memcpy(mpc + 16, "LINUX-BOOT  ", 12);
	put16(mpc + 34, nr_vcpus + 2 + MP_IRQS + 2);
	put32(mpc + 36, LAPIC_ADDR);
	mpc[7] = mp_checksum(mpc, end - mpc);

	memcpy(mpf, "_MP_", 4);
	put32(mpf + 4, MP_GPA + MPF_SIZE);
	mpf[8] = 1;		/* length in 16-byte units */
	mpf[9] = MP_SPEC_REV;
	mpf[10] = mp_checksum(mpf, MPF_SIZE);
	return end - mpf;
}

/* ---- putting it together ---- */

static void add_region(struct gm_linux_image *img, uint64_t gpa, const void *data, size_t len)
{
	img->regions[img->nr_regions++] = (struct gm_linux_region){ gpa, data, len };
}

static int check_args(const void *kernel, const void *initrd, size_t initrd_len,
		      uint64_t mem, unsigned int nr_vcpus)
{
	if (!kernel || (!initrd && initrd_len))
		return -EINVAL;
	if (!nr_vcpus || nr_vcpus > GM_LINUX_MAX_VCPUS)
		return -EINVAL;
	if (mem % (2 * MiB) || mem < GM_LINUX_MIN_MEM || mem > GM_LINUX_MAX_MEM)
		return -EINVAL;
	return 0;
}

/* Every check, in order: arguments, the file, then what fits where. */
static int check_all(struct bzimage *b, struct gm_linux_image *img, const void *kernel,
		     size_t kernel_len, size_t initrd_len, size_t cmdline_len, uint64_t mem)
{
	int ret;

	ret = parse_bzimage(b, kernel, kernel_len);
	if (ret)
		return ret;
	if (cmdline_len > get32(b->bytes + HDR_CMDLINE_SIZE) ||
	    CMDLINE_GPA + cmdline_len + 1 > MP_GPA)
		return -E2BIG;
	ret = kernel_top(b, mem);
	if (ret || !initrd_len)
		return ret;
	img->initrd_len = initrd_len;
	return place_initrd(b, mem, initrd_len, &img->initrd_gpa);
}

int gm_linux_image_build(struct gm_linux_image *img, const void *kernel, size_t kernel_len,
			 const void *initrd, size_t initrd_len, const char *cmdline,
			 uint64_t mem, unsigned int nr_vcpus)
{
	size_t cmdline_len = cmdline ? strlen(cmdline) : 0;
	struct bzimage b;
	uint8_t *low;
	size_t mp_len;
	int ret;

	if (!img)
		return -EINVAL;
	memset(img, 0, sizeof(*img));
	ret = check_args(kernel, initrd, initrd_len, mem, nr_vcpus);
	if (!ret)
		ret = check_all(&b, img, kernel, kernel_len, initrd_len, cmdline_len, mem);
	if (ret)
		goto err_clear;

	low = calloc(1, LOW_END);
	if (!low) {
		ret = -ENOMEM;
		goto err_clear;
	}
	img->owned = low;
	img->kernel_load = KERNEL_GPA;
	img->kernel_len = kernel_len - b.pm_off;
	img->entry = KERNEL_GPA + ENTRY_64;
	img->boot_params = BOOT_PARAMS_GPA;
	img->cr3 = PML4_GPA;
	img->gdt_base = GDT_GPA;
	img->gdt_limit = GDT_ENTRIES * 8 - 1;

	write_gdt(low);
	write_boot_params(low, &b, img, mem);
	write_page_tables(low);
	if (cmdline_len)
		memcpy(low + CMDLINE_GPA, cmdline, cmdline_len);
	mp_len = write_mp_table(low, nr_vcpus);

	add_region(img, GDT_GPA, low + GDT_GPA, GDT_ENTRIES * 8);
	add_region(img, BOOT_PARAMS_GPA, low + BOOT_PARAMS_GPA, PAGE_SIZE);
	add_region(img, PML4_GPA, low + PML4_GPA, PT_END - PML4_GPA);
	add_region(img, CMDLINE_GPA, low + CMDLINE_GPA, cmdline_len + 1);
	add_region(img, MP_GPA, low + MP_GPA, mp_len);
	add_region(img, KERNEL_GPA, b.bytes + b.pm_off, img->kernel_len);
	if (initrd_len)
		add_region(img, img->initrd_gpa, initrd, initrd_len);
	return 0;

err_clear:
	memset(img, 0, sizeof(*img));
	return ret;
}

void gm_linux_image_free(struct gm_linux_image *img)
{
	if (!img)
		return;
	free(img->owned);
	memset(img, 0, sizeof(*img));
}
