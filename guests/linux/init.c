// SPDX-License-Identifier: MIT
/*
 * PID 1 of the Linux guest's initramfs (guestmem run --kernel --initrd).
 *
 * It touches gm.touch_mb MiB of anonymous memory and checks it reads back,
 * writes a secret derived from gm.seed into 256 pages that stay mapped,
 * and ends the run with the VMM's exit hypercall, status 0 when every page
 * read back.  The lines it prints on ttyS0 are what the host-side test
 * looks for, so their wording is part of the contract.
 *
 * Built static with the system compiler: cc -static -Os init.c.  PID 1
 * must never return (the kernel would panic), so every path ends in
 * gm_exit().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/sysinfo.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* Relative, so that a plain `cc -static init.c` builds it too. */
#include "../../include/guestmem/guest-abi.h"
#include "secret.h"

#define PAGE_SIZE	4096UL
#define SECRET_PAGES	256

struct params {
	uint64_t touch_mb;
	uint64_t seed;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* The kernel may have given us no fds at all; without a console, go on blind. */
static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static void parse_u64(const char *tok, const char *key, uint64_t *val)
{
	size_t n = strlen(key);
	char *end;
	uint64_t v;

	if (strncmp(tok, key, n) != 0)
		return;
	errno = 0;
	v = strtoull(tok + n, &end, 10);
	if (errno || end == tok + n || *end) {
		say("guestmem-init: ignoring bad %s\n", tok);
		return;
	}
	*val = v;
}

/* Dotted parameters are not passed to init as arguments: read them here. */
static void read_params(struct params *p)
{
	char buf[4096], *tok, *save;
	ssize_t n;
	int fd;

	if (mkdir("/proc", 0555) < 0 && errno != EEXIST)
		say("guestmem-init: mkdir /proc: %s\n", strerror(errno));
	if (mount("proc", "/proc", "proc", 0, NULL) < 0 && errno != EBUSY)
		say("guestmem-init: mount /proc: %s\n", strerror(errno));

	fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0) {
		say("guestmem-init: /proc/cmdline: %s\n", strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return;
	buf[n] = '\0';

	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		parse_u64(tok, "gm.touch_mb=", &p->touch_mb);
		parse_u64(tok, "gm.seed=", &p->seed);
	}
}

static uint64_t page_value(uint64_t seed, uint64_t index)
{
	uint64_t state = seed ^ (index * 0x9e3779b97f4a7c15ULL);

	return gm_linux_splitmix64(&state);
}

/*
 * One word per page is enough to fault every page in; volatile so that the
 * compiler really reads memory back instead of the values it just wrote.
 * Returns the number of mismatches, or -1 when the memory could not be had.
 */
static int64_t touch(uint64_t mb, uint64_t seed)
{
	uint64_t pages = mb * (1024 * 1024 / PAGE_SIZE);
	volatile uint64_t *mem;
	int64_t bad = 0;

	if (mb == 0)
		return 0;
	if (mb > SIZE_MAX / (1024 * 1024)) {
		say("guestmem-init: gm.touch_mb=%" PRIu64 " is too large\n", mb);
		return -1;
	}
	mem = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		say("guestmem-init: mmap %" PRIu64 " MiB: %s\n", mb, strerror(errno));
		return -1;
	}
	for (uint64_t i = 0; i < pages; i++)
		mem[i * (PAGE_SIZE / 8)] = page_value(seed, i);
	for (uint64_t i = 0; i < pages; i++)
		if (mem[i * (PAGE_SIZE / 8)] != page_value(seed, i))
			bad++;
	munmap((void *)mem, mb << 20);
	return bad;
}

/* The mapping is never unmapped: the secret must stay in guest RAM. */
static int write_secret(uint64_t seed)
{
	uint8_t secret[GM_LINUX_SECRET_SIZE];
	uint8_t *mem;

	mem = mmap(NULL, SECRET_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		say("guestmem-init: mmap secret: %s\n", strerror(errno));
		return -1;
	}
	gm_linux_secret(seed, secret);
	for (int i = 0; i < SECRET_PAGES; i++)
		memcpy(mem + i * PAGE_SIZE, secret, sizeof(secret));
	/* The stores must reach memory even though nothing here reads them. */
	__asm__ volatile("" : : "r"(mem) : "memory");
	return 0;
}

static __attribute__((noreturn)) void hang(void)
{
	for (;;)
		__asm__ volatile("pause");
}

/* GM_HC_EXIT: the VMM stops the vCPU on the out; we never come back. */
static __attribute__((noreturn)) void gm_exit(uint64_t status)
{
	uint64_t rax = GM_HC_EXIT;

	/*
	 * The console is a tty: a write returns once the bytes are queued,
	 * and the serial driver sends them by interrupt later.  Ending the
	 * machine before they left would lose the last lines.
	 */
	tcdrain(STDOUT_FILENO);
	if (ioperm(GM_HC_PORT, 4, 1) < 0) {
		say("guestmem-init: ioperm: %s; rebooting\n", strerror(errno));
		reboot(RB_AUTOBOOT);
		say("guestmem-init: reboot: %s\n", strerror(errno));
		hang();
	}
	__asm__ volatile("outl %%eax, %%dx"
			 : "+a"(rax)
			 : "d"((uint16_t)GM_HC_PORT), "D"(status)
			 : "memory");
	hang();
}

int main(void)
{
	struct params p = { .touch_mb = 64, .seed = 1 };
	int64_t bad;

	open_console();
	read_params(&p);
	say("guestmem-init: ready\n");
	say("guestmem-init: %d CPUs online\n", get_nprocs());

	bad = touch(p.touch_mb, p.seed);
	if (bad >= 0)
		say("guestmem-init: touched %" PRIu64 " MiB, %" PRId64 " mismatches\n",
		    p.touch_mb, bad);

	if (write_secret(p.seed) == 0)
		say("guestmem-init: secret written\n");

	gm_exit(bad == 0 ? 0 : 1);
}
