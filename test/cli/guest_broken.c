// SPDX-License-Identifier: MIT
/*
 * `guestmem run --guest FILE` with files that will not do: each case is a
 * good kit program (examples/guests/hello.c) bent one way, or no program at
 * all.  Every one must end with exit status 2, nothing on stdout (no guest
 * ran, no summary) and one line on stderr that names the file and says
 * what is wrong and where.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "array.h"
#include "cli-test.h"
#include "guest-elfs.h"

struct image {
	unsigned char *bytes;
	size_t len;
	char path[64];		/* where the case's file is */
};

static Elf64_Ehdr *ehdr(struct image *im)
{
	return (Elf64_Ehdr *)(void *)im->bytes;
}

/* The loadable segment with exactly the flags @flags (the kit has one each). */
static Elf64_Phdr *segment(struct image *im, unsigned int flags)
{
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(im->bytes + ehdr(im)->e_phoff);

	for (unsigned int i = 0; i < ehdr(im)->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_flags == flags)
			return &ph[i];
	fail_msg("hello.elf has no PT_LOAD with flags %#x", flags);
	return NULL;
}

#define TEXT(im)	segment(im, PF_R | PF_X)
#define RODATA(im)	segment(im, PF_R)
#define DATA(im)	segment(im, PF_R | PF_W)

/* ---- the bends ---- */

static void not_elf(struct image *im)
{
	memcpy(im->bytes, "#!/bin/sh\necho hello\n", 21);
	im->len = 21;
}

static void elf32(struct image *im)
{
	ehdr(im)->e_ident[EI_CLASS] = ELFCLASS32;
}

static void arm64(struct image *im)
{
	ehdr(im)->e_machine = EM_AARCH64;
}

static void pie(struct image *im)
{
	ehdr(im)->e_type = ET_DYN;
}

static void interp(struct image *im)
{
	RODATA(im)->p_type = PT_INTERP;
}

static void dynamic(struct image *im)
{
	RODATA(im)->p_type = PT_DYNAMIC;
}

static void in_boot_area(struct image *im)
{
	DATA(im)->p_vaddr = 0x180000;
}

static void private_alias(struct image *im)
{
	DATA(im)->p_vaddr &= ~(Elf64_Addr)0x8000000000;
}

static void past_ram(struct image *im)
{
	DATA(im)->p_vaddr = 0x8080000000;
}

static void below_ram(struct image *im)
{
	DATA(im)->p_vaddr = 0x20000000;
}

static void too_large_for_ram(struct image *im)
{
	DATA(im)->p_memsz = 64 << 20;
}

static void entry_outside(struct image *im)
{
	ehdr(im)->e_entry = 0x8050000000;
}

static void overlap(struct image *im)
{
	RODATA(im)->p_vaddr = TEXT(im)->p_vaddr + 16;
}

static void bytes_past_end(struct image *im)
{
	TEXT(im)->p_filesz = TEXT(im)->p_memsz = 1 << 30;
}

static void no_load(struct image *im)
{
	TEXT(im)->p_type = RODATA(im)->p_type = DATA(im)->p_type = PT_NULL;
}

static void cut_header(struct image *im)
{
	im->len = 40;
}

static void empty(struct image *im)
{
	im->len = 0;
}

struct broken_case {
	const char *name;
	void (*bend)(struct image *im);
	const char *args;	/* before --guest */
	const char *want;	/* after "guestmem run: <path>: " */
};

static const struct broken_case cases[] = {
	{ "not ELF", not_elf, "", "not an ELF file (no ELF magic at offset 0)" },
	{ "32-bit", elf32, "", "not x86-64: a 32-bit little-endian ELF" },
	{ "arm64", arm64, "", "not x86-64: e_machine is 183 (x86-64 is 62)" },
	{ "PIE", pie, "", "not static: e_type is ET_DYN" },
	{ "PT_INTERP", interp, "", "not static: program header 1 is PT_INTERP" },
	{ "PT_DYNAMIC", dynamic, "", "not static: program header 1 is PT_DYNAMIC" },
	{ "boot area", in_boot_area, "--mem 4M",
	  "segment 2 [0x180000, 0x280000) overlaps the boot area [0, 0x200000)" },
	{ "private alias", private_alias, "--mem 4M",
	  "segment 2 [0x40002000, 0x40102000) is in RAM's private alias" },
	{ "past RAM", past_ram, "--mem 4M", "segment 2 [0x8080000000, 0x8080100000) is outside "
	  "RAM's shared alias [0x8040000000, 0x8040400000) (--mem 4M)" },
	{ "below RAM", below_ram, "--mem 4M", "segment 2 [0x20000000, 0x20100000) is outside "
	  "RAM's shared alias" },
	{ "too large", too_large_for_ram, "--mem 4M", "segment 2 [0x8040002000, 0x8044002000) "
	  "ends past the end of RAM 0x8040400000: the program is too large for --mem 4M" },
	{ "entry", entry_outside, "", "entry point 0x8050000000 is outside every loadable segment" },
	{ "overlap", overlap, "", "segments 0 and 1 overlap" },
	{ "bytes past end", bytes_past_end, "", "segment 0's bytes [0x1000, 0x40001000) run past "
	  "the end of the file" },
	{ "no PT_LOAD", no_load, "", "no loadable segment (PT_LOAD)" },
	{ "cut short", cut_header, "", "ELF header cut short: the file has 40 bytes" },
	{ "empty", empty, "", "empty file, not an ELF executable" },
	/* A good file, on a store whose RAM has no shared alias to hold it. */
	{ "kvm store", NULL, "--store kvm", "--guest needs RAM with a shared alias" },
};

static struct image good;

static void read_good(void)
{
	FILE *f = fopen(GM_GUEST_ELF_HELLO, "rb");
	struct stat st;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	good.len = (size_t)st.st_size;
	good.bytes = malloc(good.len);
	assert_non_null(good.bytes);
	assert_int_equal(fread(good.bytes, 1, good.len, f), good.len);
	fclose(f);
}

static void write_file(const char *path, const struct image *im)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, im->bytes, im->len), (ssize_t)im->len);
	close(fd);
}

/* Exit 2, one line "guestmem run: <path>: <want>...", nothing on stdout. */
static void expect_refused(const char *name, const char *path, const char *args,
			   const char *want, bool names_file)
{
	struct cli_result *r = cli_run("run %s --guest '%s'", args, path);
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "guestmem run: %s: ", path);
	if (r->status != 2 || r->out[0] || cli_count_lines(r->err) != 1 || !strstr(r->err, want) ||
	    (names_file && strncmp(r->err, prefix, strlen(prefix))))
		fail_msg("%s: status %d, stdout '%s', stderr '%s'; wanted '%s%s'", name, r->status,
			 r->out, r->err, names_file ? prefix : "", want);
	printf("  %-15s %s", name, r->err);
	free(r);
}

static void test_bent_files(void **state)
{
	struct image im = { .len = 0 };

	read_good();
	im.bytes = malloc(good.len);
	assert_non_null(im.bytes);
	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		memcpy(im.bytes, good.bytes, good.len);
		im.len = good.len;
		if (cases[i].bend)
			cases[i].bend(&im);
		snprintf(im.path, sizeof(im.path), "/tmp/guestmem-broken-%d.elf", (int)getpid());
		write_file(im.path, &im);
		expect_refused(cases[i].name, im.path, cases[i].args, cases[i].want,
			       cases[i].bend != NULL);
		unlink(im.path);
	}
	free(im.bytes);
	free(good.bytes);
}

/* More than the 256 MiB a guest file may be (sparse: it costs no disk). */
static void test_too_large_file(void **state)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/guestmem-broken-%d.elf", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (256 << 20) + 1), 0);
	close(fd);
	expect_refused("too large file", path, "", "too large: 268435457 bytes, more than the "
		       "256 MiB a guest file may have", true);
	unlink(path);
}

static void test_not_a_file(void **state)
{
	char dir[] = "/tmp/guestmem-broken-dir-XXXXXX";

	assert_non_null(mkdtemp(dir));
	expect_refused("directory", dir, "", "not a regular file (a directory)", true);
	rmdir(dir);
	expect_refused("missing", "/nonexistent/hello.elf", "",
		       "cannot open it: No such file or directory", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bent_files),
		cmocka_unit_test(test_too_large_file),
		cmocka_unit_test(test_not_a_file),
	};

	gm_test_guestmem_bin();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
