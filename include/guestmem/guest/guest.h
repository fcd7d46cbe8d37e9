/* SPDX-License-Identifier: MIT */
/*
 * The guest kit: what a C program needs to run as a guestmem guest with
 * `guestmem run --guest FILE`.  Freestanding (no libc); build with the
 * system gcc as README.md's "Your own guest" shows:
 *
 *   gcc -ffreestanding -nostdlib -static -fpie -mgeneral-regs-only
 *       -fno-stack-protector -fno-tree-loop-distribute-patterns -O2
 *       -I <guestmem>/include -T guests/kit/guest.ld
 *       guests/kit/start.S guests/kit/runtime.c prog.c -o prog.elf
 *
 * The program defines
 *
 *   int guest_main(unsigned int vcpu, const struct gm_guest_info *info);
 *
 * which every vCPU runs at once, each on its own stack; its return value
 * is the vCPU's exit status (0 = pass).  The run passes when every vCPU
 * returns 0 and no GM_REPORT_MISMATCHES or GM_REPORT_NONZERO was reported.
 *
 * Memory: the program (code, data, stacks) lives in RAM's *shared* alias
 * (guest.ld links it at GM_GUEST_SHARED_BIT | GM_GUEST_RAM_BASE), so the
 * VMM can load it and read the strings it prints whatever the run's
 * --private says.  The rest of RAM (info->free_base, free_size) is the
 * program's to use: private accesses through plain addresses, shared ones
 * through gm_shared_ptr().  An access whose kind does not match the page's
 * state stops the run with a memory fault (unless --convert-on-fault).
 *
 * The guest runs in 64-bit mode at CPL 3 on the kvm engine, with SSE off:
 * hence -mgeneral-regs-only.
 */
#ifndef GUESTMEM_GUEST_GUEST_H
#define GUESTMEM_GUEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <guestmem/guest-abi.h>
#include <guestmem/guest/info.h>

/* Defined by the program: see above. */
int guest_main(unsigned int vcpu, const struct gm_guest_info *info);

/*
 * gm_hypercall - the raw hypercall (guest-abi.h): call number @nr, up to
 * three arguments.  Return: the VMM's result, 0 or a negative errno for
 * every call but GM_HC_HOST_READ64.
 */
static inline long gm_hypercall(unsigned int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t ret = nr;

	__asm__ volatile("outl %%eax, %[port]"
			 : "+a"(ret)
			 : [port] "N"(GM_HC_PORT), "D"(a0), "S"(a1), "d"(a2)
			 : "memory");
	return (long)ret;
}

/* gm_shared_ptr - the shared alias of @p (the same page, a shared access). */
static inline void *gm_shared_ptr(const volatile void *p)
{
	return (void *)((uintptr_t)p | GM_GUEST_SHARED_BIT);
}

/* gm_private_ptr - the plain alias of @p (a private access in RAM). */
static inline void *gm_private_ptr(const volatile void *p)
{
	return (void *)((uintptr_t)p & ~(uintptr_t)GM_GUEST_SHARED_BIT);
}

/* gm_exit - end this vCPU with @status (0 = pass).  Does not return. */
static inline __attribute__((noreturn)) void gm_exit(int status)
{
	gm_hypercall(GM_HC_EXIT, (uint64_t)(int64_t)status, 0, 0);
	for (;;)	/* the VMM stops the vCPU; hlt would fault at CPL 3 */
		__asm__ volatile("pause");
}

/*
 * gm_print - print @len bytes at @text (at most GM_HC_MAX_PRINT) on the
 * VMM's console.  The text must be in shared memory: the program's own
 * strings, stack and globals are.  Return: 0, -EPERM (a private page),
 * -EFAULT, -EINVAL (too long).
 */
static inline long gm_print(const void *text, size_t len)
{
	return gm_hypercall(GM_HC_PRINT, (uint64_t)(uintptr_t)text, len, 0);
}

/* gm_strlen - strlen(), which the kit has no libc for. */
static inline size_t gm_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* gm_puts - print the string @s (no newline added).  Return: as gm_print. */
static inline long gm_puts(const char *s)
{
	return gm_print(s, gm_strlen(s));
}

/*
 * gm_convert - make [@p, @p + @size) private (@to_private != 0) or shared,
 * as a guest's page-state change does.  @p may be either alias; it and
 * @size must be page aligned (2 MiB aligned on the hugetlb store).  The
 * side no longer in use is freed: its contents read back as zero.  The
 * program's own span must stay shared: making it private stops the run.
 * Return: 0, or -EINVAL (misaligned, outside RAM).
 */
static inline long gm_convert(const volatile void *p, uint64_t size, int to_private)
{
	return gm_hypercall(GM_HC_CONVERT, (uint64_t)(uintptr_t)gm_private_ptr(p), size,
			    to_private ? 1 : 0);
}

/*
 * gm_convert_keep - gm_convert() that keeps the bytes: a shared buffer
 * handed to the guest, a private page published.  Only where RAM is in
 * place (info->flags has GM_GUEST_F_IN_PLACE: `guestmem run --in-place`).
 * Return: 0, or -EINVAL (misaligned, outside RAM, RAM in two files),
 * -EAGAIN (to private: the host still maps or pins a page).
 */
static inline long gm_convert_keep(const volatile void *p, uint64_t size, int to_private)
{
	return gm_hypercall(GM_HC_CONVERT, (uint64_t)(uintptr_t)gm_private_ptr(p), size,
			    (to_private ? GM_HC_CONVERT_PRIVATE : 0) | GM_HC_CONVERT_PRESERVE);
}

/* gm_to_private / gm_to_shared - gm_convert() one way. */
static inline long gm_to_private(const volatile void *p, uint64_t size)
{
	return gm_convert(p, size, 1);
}

static inline long gm_to_shared(const volatile void *p, uint64_t size)
{
	return gm_convert(p, size, 0);
}

/*
 * gm_report - add @value to the run's report @key (GM_REPORT_*, 1 to 7),
 * shown in the summary.  GM_REPORT_MISMATCHES and GM_REPORT_NONZERO above
 * zero fail the run.  Return: 0, or -EINVAL (unknown key).
 */
static inline long gm_report(unsigned int key, uint64_t value)
{
	return gm_hypercall(GM_HC_REPORT, key, value, 0);
}

/* gm_progress - this vCPU has done @bytes of its work (the progress bar). */
static inline void gm_progress(uint64_t bytes)
{
	gm_hypercall(GM_HC_PROGRESS, bytes, 0, 0);
}

/*
 * gm_host_read64 - what the *host* reads at @p (either alias, 8-byte
 * aligned) through the shared file, whatever the page's state: a private
 * page's contents never show there.  Return: the 8 bytes (a negative errno
 * for a bad address cannot be told from data; pass RAM addresses only).
 */
static inline uint64_t gm_host_read64(const volatile void *p)
{
	return (uint64_t)gm_hypercall(GM_HC_HOST_READ64, (uint64_t)(uintptr_t)gm_private_ptr(p),
				      0, 0);
}

/*
 * gm_printf - formatted gm_print().  Conversions: %d %i %u %x %X %p %s %c
 * %%, with the length modifiers l, ll, z and a field width (with 0 to pad
 * with zeros).  Return: 0, or gm_print()'s error.
 */
long gm_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long gm_vprintf(const char *fmt, va_list ap);

/* The C library functions gcc may call even in freestanding code. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
