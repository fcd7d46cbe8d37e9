// SPDX-License-Identifier: MIT
/*
 * `guestmem run --guest FILE`: read and check a guest kit ELF, load it and
 * build the boot code that starts it (see guest-elf.h for the placement).
 * Every refusal is one line that starts with the file's name and says what
 * is wrong and where (which program header, which addresses).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guest/info.h>

#include "guest-elf.h"

#define RAM_SHARED	((uint64_t)(GM_GUEST_SHARED_BIT | GM_GUEST_RAM_BASE))
#define ALIGN_2M	GM_GUEST_IMAGE_ALIGN
#define INFO_OFFSET	64	/* the trampoline is 22 bytes */

static int refuse(int err, const struct gm_guest_elf *elf, char *why, size_t len,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "<path>: <message>" into @why; returns @err. */
static int refuse(int err, const struct gm_guest_elf *elf, char *why, size_t len,
		  const char *fmt, ...)
{
	int n = snprintf(why, len, "%s: ", elf->path);
	va_list ap;

	if (n >= 0 && (size_t)n < len) {
		va_start(ap, fmt);
		vsnprintf(why + n, len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return err;
}

static uint64_t canonical(uint64_t gpa)
{
	return gpa & ~(uint64_t)GM_GUEST_SHARED_BIT;
}

/* ---- reading ---- */

static int read_all(int fd, unsigned char *buf, size_t size)
{
	size_t done = 0;
	ssize_t n;

	while (done < size) {
		n = read(fd, buf + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the file shrank under us */
		done += (size_t)n;
	}
	return 0;
}

/* The file's bytes into elf->file, refusing what is not a regular, sane-sized file. */
static int read_file(struct gm_guest_elf *elf, char *why, size_t len)
{
	int fd = open(elf->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int ret;

	if (fd < 0)
		return refuse(-errno, elf, why, len, "cannot open it: %s", strerror(errno));
	if (fstat(fd, &st)) {
		ret = refuse(-errno, elf, why, len, "cannot stat it: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = refuse(-ENOEXEC, elf, why, len, "not a regular file (%s)",
			     S_ISDIR(st.st_mode) ? "a directory" : "a device, pipe or socket");
		goto out;
	}
	if (st.st_size == 0) {
		ret = refuse(-ENOEXEC, elf, why, len, "empty file, not an ELF executable");
		goto out;
	}
	if ((uint64_t)st.st_size > GM_GUEST_ELF_MAX_FILE) {
		ret = refuse(-EFBIG, elf, why, len, "too large: %" PRIu64 " bytes, more than "
			     "the %llu MiB a guest file may have", (uint64_t)st.st_size,
			     GM_GUEST_ELF_MAX_FILE >> 20);
		goto out;
	}
	elf->file_size = (size_t)st.st_size;
	elf->file = malloc(elf->file_size);
	ret = elf->file ? read_all(fd, elf->file, elf->file_size) : -ENOMEM;
	if (ret)
		refuse(ret, elf, why, len, "cannot read it: %s", strerror(-ret));
out:
	close(fd);
	return ret;
}

/* ---- checking the file on its own ---- */

static int check_header(const struct gm_guest_elf *elf, const Elf64_Ehdr *eh, char *why,
			size_t len)
{
	if (elf->file_size < EI_NIDENT || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return refuse(-ENOEXEC, elf, why, len, "not an ELF file (no ELF magic at offset 0)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return refuse(-ENOEXEC, elf, why, len, "not x86-64: a %s-bit %s-endian ELF",
			      eh->e_ident[EI_CLASS] == ELFCLASS32 ? "32" : "non-64",
			      eh->e_ident[EI_DATA] == ELFDATA2MSB ? "big" : "little");
	if (elf->file_size < sizeof(*eh))
		return refuse(-ENOEXEC, elf, why, len, "ELF header cut short: the file has "
			      "%zu bytes", elf->file_size);
	if (eh->e_machine != EM_X86_64)
		return refuse(-ENOEXEC, elf, why, len, "not x86-64: e_machine is %u (x86-64 is %u)",
			      eh->e_machine, EM_X86_64);
	if (eh->e_type == ET_DYN)
		return refuse(-ENOEXEC, elf, why, len, "not static: e_type is ET_DYN (a "
			      "position-independent executable or a shared object); link with "
			      "-static and the kit's guest.ld");
	if (eh->e_type != ET_EXEC)
		return refuse(-ENOEXEC, elf, why, len, "not an executable: e_type is %u",
			      eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phoff > elf->file_size ||
	    (elf->file_size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return refuse(-ENOEXEC, elf, why, len, "bad program header table: %u entries of "
			      "%u bytes at offset %#" PRIx64 " in a file of %zu bytes",
			      eh->e_phnum, eh->e_phentsize, (uint64_t)eh->e_phoff, elf->file_size);
	return 0;
}

/* A program header other than PT_LOAD: refuse what a static guest cannot have. */
static int check_other(const struct gm_guest_elf *elf, unsigned int i, const Elf64_Phdr *ph,
		       char *why, size_t len)
{
	switch (ph->p_type) {
	case PT_INTERP:
		return refuse(-ENOEXEC, elf, why, len, "not static: program header %u is PT_INTERP "
			      "(it asks for a dynamic loader)", i);
	case PT_DYNAMIC:
		return refuse(-ENOEXEC, elf, why, len, "not static: program header %u is "
			      "PT_DYNAMIC (it needs dynamic linking)", i);
	case PT_TLS:
		return refuse(-ENOEXEC, elf, why, len, "program header %u is PT_TLS: guests have "
			      "no thread-local storage", i);
	default:
		return 0;
	}
}

static int add_segment(struct gm_guest_elf *elf, unsigned int i, const Elf64_Phdr *ph,
		       char *why, size_t len)
{
	struct gm_guest_segment *s;

	if (ph->p_filesz > ph->p_memsz)
		return refuse(-ENOEXEC, elf, why, len, "segment %u has more file bytes (%#" PRIx64
			      ") than memory (%#" PRIx64 ")", i, (uint64_t)ph->p_filesz,
			      (uint64_t)ph->p_memsz);
	if (ph->p_offset > elf->file_size || elf->file_size - ph->p_offset < ph->p_filesz)
		return refuse(-ENOEXEC, elf, why, len, "segment %u's bytes [%#" PRIx64 ", %#" PRIx64
			      ") run past the end of the file (%zu bytes)", i,
			      (uint64_t)ph->p_offset, (uint64_t)(ph->p_offset + ph->p_filesz),
			      elf->file_size);
	if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
		return refuse(-ENOEXEC, elf, why, len, "segment %u at %#" PRIx64 " wraps around "
			      "the address space", i, (uint64_t)ph->p_vaddr);
	if (elf->nr_segments == GM_GUEST_ELF_MAX_SEGMENTS)
		return refuse(-ENOEXEC, elf, why, len, "more than %d loadable segments",
			      GM_GUEST_ELF_MAX_SEGMENTS);
	s = &elf->seg[elf->nr_segments++];
	*s = (struct gm_guest_segment){ .phdr = i, .vaddr = ph->p_vaddr, .memsz = ph->p_memsz,
					.filesz = ph->p_filesz, .data = elf->file + ph->p_offset };
	return 0;
}

static int read_segments(struct gm_guest_elf *elf, const Elf64_Ehdr *eh, char *why, size_t len)
{
	const unsigned char *table = elf->file + eh->e_phoff;
	Elf64_Phdr ph;
	int ret;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		/* The table need not be aligned in the file: copy each entry out. */
		memcpy(&ph, table + (size_t)i * sizeof(ph), sizeof(ph));
		ret = check_other(elf, i, &ph, why, len);
		if (!ret && ph.p_type == PT_LOAD && ph.p_memsz)
			ret = add_segment(elf, i, &ph, why, len);
		if (ret)
			return ret;
	}
	if (!elf->nr_segments)
		return refuse(-ENOEXEC, elf, why, len, "no loadable segment (PT_LOAD)");
	return 0;
}

/* Segments may not share a byte; the entry must be in one of them. */
static int check_layout(struct gm_guest_elf *elf, char *why, size_t len)
{
	const struct gm_guest_segment *a, *b;
	bool entry_found = false;

	elf->lo = UINT64_MAX;
	elf->hi = 0;
	for (unsigned int i = 0; i < elf->nr_segments; i++) {
		a = &elf->seg[i];
		for (unsigned int j = i + 1; j < elf->nr_segments; j++) {
			b = &elf->seg[j];
			if (a->vaddr < b->vaddr + b->memsz && b->vaddr < a->vaddr + a->memsz)
				return refuse(-ENOEXEC, elf, why, len, "segments %u and %u overlap",
					      a->phdr, b->phdr);
		}
		entry_found |= elf->entry >= a->vaddr && elf->entry - a->vaddr < a->memsz;
		elf->lo = a->vaddr < elf->lo ? a->vaddr : elf->lo;
		elf->hi = a->vaddr + a->memsz > elf->hi ? a->vaddr + a->memsz : elf->hi;
	}
	if (!entry_found)
		return refuse(-ENOEXEC, elf, why, len, "entry point %#" PRIx64 " is outside every "
			      "loadable segment", elf->entry);
	return 0;
}

int gm_guest_elf_open(const char *path, struct gm_guest_elf *elf, char *why, size_t len)
{
	Elf64_Ehdr eh;
	int ret;

	memset(elf, 0, sizeof(*elf));
	elf->path = path;
	ret = read_file(elf, why, len);
	if (ret)
		goto err;
	/* Copy out: malloc's alignment suits Elf64_Ehdr, but a short file may not hold one. */
	memset(&eh, 0, sizeof(eh));
	memcpy(&eh, elf->file, elf->file_size < sizeof(eh) ? elf->file_size : sizeof(eh));
	ret = check_header(elf, &eh, why, len);
	if (ret)
		goto err;
	elf->entry = eh.e_entry;
	ret = read_segments(elf, &eh, why, len) ?: check_layout(elf, why, len);
	if (ret)
		goto err;
	return 0;
err:
	gm_guest_elf_close(elf);
	return ret;
}

void gm_guest_elf_close(struct gm_guest_elf *elf)
{
	free(elf->file);
	elf->file = NULL;
	elf->file_size = 0;
	elf->nr_segments = 0;
}

/* ---- placing it in a VM ---- */

/* One segment against the boot area and RAM's two aliases. */
static int check_segment(const struct gm_guest_elf *elf, const struct gm_guest_segment *s,
			 uint64_t ram_size, char *why, size_t len)
{
	uint64_t end = s->vaddr + s->memsz;

	if (s->vaddr < GM_GUEST_BOOT_SIZE)
		return refuse(-EINVAL, elf, why, len, "segment %u [%#" PRIx64 ", %#" PRIx64 ") "
			      "overlaps the boot area [0, %#x)", s->phdr, s->vaddr, end,
			      GM_GUEST_BOOT_SIZE);
	if (s->vaddr >= GM_GUEST_RAM_BASE && s->vaddr < GM_GUEST_RAM_BASE + ram_size)
		return refuse(-EINVAL, elf, why, len, "segment %u [%#" PRIx64 ", %#" PRIx64 ") "
			      "is in RAM's private alias: link it at the shared alias %#" PRIx64 ", as "
			      "the kit's guest.ld does", s->phdr, s->vaddr, end, RAM_SHARED);
	if (s->vaddr < RAM_SHARED || s->vaddr >= RAM_SHARED + ram_size)
		return refuse(-EINVAL, elf, why, len, "segment %u [%#" PRIx64 ", %#" PRIx64 ") "
			      "is outside RAM's shared alias [%#" PRIx64 ", %#" PRIx64 ") (--mem %" PRIu64
			      "M)", s->phdr, s->vaddr, end, RAM_SHARED, RAM_SHARED + ram_size,
			      ram_size >> 20);
	if (end > RAM_SHARED + ram_size)
		return refuse(-EINVAL, elf, why, len, "segment %u [%#" PRIx64 ", %#" PRIx64 ") "
			      "ends past the end of RAM %#" PRIx64 ": the program is too large for "
			      "--mem %" PRIu64 "M", s->phdr, s->vaddr, end, RAM_SHARED + ram_size,
			      ram_size >> 20);
	return 0;
}

/* Bytes the boot code takes: trampoline, info, argv[] and the strings. */
static size_t boot_code_size(const struct gm_guest_elf *elf)
{
	size_t n = INFO_OFFSET + sizeof(struct gm_guest_info) + elf->argc * sizeof(uint64_t);

	for (unsigned int i = 0; i < elf->argc; i++)
		n += strlen(elf->argv[i]) + 1;
	return n;
}

int gm_guest_elf_check_ram(const struct gm_guest_elf *elf, uint64_t ram_size, char *why,
			   size_t len)
{
	size_t args = boot_code_size(elf) - INFO_OFFSET - sizeof(struct gm_guest_info);
	int ret;

	for (unsigned int i = 0; i < elf->nr_segments; i++) {
		ret = check_segment(elf, &elf->seg[i], ram_size, why, len);
		if (ret)
			return ret;
	}
	if (args > GM_GUEST_ARGS_MAX) {
		snprintf(why, len, "--guest-arg values take %zu bytes, more than the %d the boot "
			 "slot holds", args, GM_GUEST_ARGS_MAX);
		return -EINVAL;
	}
	return 0;
}

void gm_guest_elf_span(const struct gm_guest_elf *elf, uint64_t *base, uint64_t *size)
{
	uint64_t lo = canonical(elf->lo) & ~(ALIGN_2M - 1);
	uint64_t hi = (canonical(elf->hi) + ALIGN_2M - 1) & ~(ALIGN_2M - 1);

	*base = lo;
	*size = hi - lo;
}

void gm_guest_elf_copy(const struct gm_guest_elf *elf, void *span)
{
	uint64_t base, size;

	gm_guest_elf_span(elf, &base, &size);
	for (unsigned int i = 0; i < elf->nr_segments; i++)
		memcpy((char *)span + (canonical(elf->seg[i].vaddr) - base), elf->seg[i].data,
		       elf->seg[i].filesz);
}

/*
 * The trampoline, at GM_GUEST_CODE_BASE:
 *   movabs $info, %r9	49 b9 imm64
 *   movabs $entry, %rax	48 b8 imm64
 *   jmp *%rax		ff e0
 * rdi, rsi, rdx, rcx, r8 and rsp pass through as the VMM set them.
 */
static void put_trampoline(unsigned char *code, uint64_t info_gpa, uint64_t entry)
{
	code[0] = 0x49;
	code[1] = 0xb9;
	memcpy(code + 2, &info_gpa, 8);
	code[10] = 0x48;
	code[11] = 0xb8;
	memcpy(code + 12, &entry, 8);
	code[20] = 0xff;
	code[21] = 0xe0;
}

static void put_info(const struct gm_guest_elf *elf, unsigned char *code, uint64_t ram_size,
		     unsigned int nr_vcpus, uint64_t flags)
{
	uint64_t argv_off = INFO_OFFSET + sizeof(struct gm_guest_info);
	uint64_t str_off = argv_off + elf->argc * sizeof(uint64_t);
	struct gm_guest_info info = {
		.magic = GM_GUEST_INFO_MAGIC, .ram_base = GM_GUEST_RAM_BASE, .ram_size = ram_size,
		.flags = flags, .nr_vcpus = nr_vcpus, .argc = elf->argc,
		/* A guest address, never followed on the host. */
		.argv = (const char *const *)(uintptr_t)(GM_GUEST_CODE_BASE + argv_off),
	};

	gm_guest_elf_span(elf, &info.image_base, &info.image_size);
	info.free_base = info.image_base + info.image_size;
	info.free_size = GM_GUEST_RAM_BASE + ram_size - info.free_base;
	memcpy(code + INFO_OFFSET, &info, sizeof(info));
	for (unsigned int i = 0; i < elf->argc; i++) {
		uint64_t gpa = GM_GUEST_CODE_BASE + str_off;
		size_t n = strlen(elf->argv[i]) + 1;

		memcpy(code + argv_off + i * sizeof(uint64_t), &gpa, sizeof(gpa));
		memcpy(code + str_off, elf->argv[i], n);
		str_off += n;
	}
}

int gm_guest_elf_boot_code(const struct gm_guest_elf *elf, uint64_t ram_size,
			   unsigned int nr_vcpus, uint64_t flags, void **code, size_t *size)
{
	size_t n = boot_code_size(elf);
	unsigned char *c;

	if (n > GM_GUEST_CODE_MAX)
		return -E2BIG;
	c = calloc(1, n);
	if (!c)
		return -ENOMEM;
	put_trampoline(c, GM_GUEST_CODE_BASE + INFO_OFFSET, elf->entry);
	put_info(elf, c, ram_size, nr_vcpus, flags);
	*code = c;
	*size = n;
	return 0;
}
