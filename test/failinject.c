/* SPDX-License-Identifier: MIT */
/* Allocation-failure injection: the --wrap targets and their switch (failinject.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failinject.h"

/*
 * What the linker sends here, and the real calls it names __real_*.  With
 * _FILE_OFFSET_BITS=64 (meson's default) glibc's headers call the *64 ones.
 */
void *__real_malloc(size_t size);
void *__real_calloc(size_t nmemb, size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_memfd_create(const char *name, unsigned int flags);
int __real_eventfd(unsigned int initval, int flags);
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __real_fallocate(int fd, int mode, off_t offset, off_t len);
int __real_fallocate64(int fd, int mode, off_t offset, off_t len);
int __real_ftruncate(int fd, off_t length);
int __real_ftruncate64(int fd, off_t length);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_memfd_create(const char *name, unsigned int flags);
int __wrap_eventfd(unsigned int initval, int flags);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __wrap_fallocate(int fd, int mode, off_t offset, off_t len);
int __wrap_fallocate64(int fd, int mode, off_t offset, off_t len);
int __wrap_ftruncate(int fd, off_t length);
int __wrap_ftruncate64(int fd, off_t length);

static _Atomic bool armed, counting, fired, sticky;
static _Atomic unsigned long calls, target, failures;
static struct fi_site fired_site;	/* written once per arming, before fired */

static const char *const kind_names[FI_NR_KINDS] = {
	[FI_MALLOC] = "malloc",
	[FI_CALLOC] = "calloc",
	[FI_REALLOC] = "realloc",
	[FI_MMAP] = "mmap",
	[FI_MEMFD_CREATE] = "memfd_create",
	[FI_EVENTFD] = "eventfd",
	[FI_PTHREAD_CREATE] = "pthread_create",
	[FI_FALLOCATE] = "fallocate",
	[FI_FTRUNCATE] = "ftruncate",
};

static void arm(unsigned long n, bool from_n_on)
{
	atomic_store(&counting, false);
	atomic_store(&sticky, from_n_on);
	atomic_store(&calls, 0);
	atomic_store(&failures, 0);
	atomic_store(&target, n);
	atomic_store(&fired, false);
	atomic_store(&armed, true);
	atomic_store(&counting, true);
}

void fi_arm(unsigned long n)
{
	arm(n, false);
}

void fi_arm_from(unsigned long n)
{
	arm(n, true);
}

void fi_disarm(void)
{
	atomic_store(&counting, false);
	atomic_store(&armed, false);
}

void fi_pause(void)
{
	atomic_store(&counting, false);
}

void fi_resume(void)
{
	atomic_store(&counting, atomic_load(&armed));
}

unsigned long fi_calls(void)
{
	return atomic_load(&calls);
}

unsigned long fi_failures(void)
{
	return atomic_load(&failures);
}

bool fi_fired(struct fi_site *site)
{
	bool f = atomic_load_explicit(&fired, memory_order_acquire);

	if (f && site)
		*site = fired_site;
	return f;
}

const char *fi_kind_name(enum fi_kind kind)
{
	return (unsigned int)kind < FI_NR_KINDS ? kind_names[kind] : "?";
}

void fi_describe(const struct fi_site *site, char *buf, size_t len)
{
	const char *name = "?";
	uintptr_t off = (uintptr_t)site->caller;
	Dl_info info;

	if (dladdr(site->caller, &info) && info.dli_fname) {
		name = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 :
		       info.dli_fname;
		/* The return address is past the call: back into it for addr2line. */
		off = (uintptr_t)site->caller - (uintptr_t)info.dli_fbase - 1;
	}
	snprintf(buf, len, "#%lu %s from %s+0x%lx", site->nr, fi_kind_name(site->kind), name,
		 (unsigned long)off);
}

/* Is this call the one to fail?  Counts it when counting. */
static bool should_fail(enum fi_kind kind, const void *caller)
{
	unsigned long nr;

	if (!atomic_load(&counting))
		return false;
	nr = atomic_fetch_add(&calls, 1) + 1;
	if (nr > atomic_load(&target) && atomic_load(&target) && atomic_load(&sticky)) {
		atomic_fetch_add(&failures, 1);
		return true;
	}
	if (nr != atomic_load(&target))
		return false;
	fired_site = (struct fi_site){ .nr = nr, .kind = kind, .caller = caller };
	atomic_fetch_add(&failures, 1);
	atomic_store_explicit(&fired, true, memory_order_release);
	return true;
}

/* Fail with ENOMEM?  Sets errno when it does. */
static bool fails(enum fi_kind kind, const void *caller)
{
	if (!should_fail(kind, caller))
		return false;
	errno = ENOMEM;
	return true;
}

#define CALLER	__builtin_return_address(0)

void *__wrap_malloc(size_t size)
{
	return fails(FI_MALLOC, CALLER) ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t nmemb, size_t size)
{
	return fails(FI_CALLOC, CALLER) ? NULL : __real_calloc(nmemb, size);
}

void *__wrap_realloc(void *ptr, size_t size)
{
	return fails(FI_REALLOC, CALLER) ? NULL : __real_realloc(ptr, size);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return fails(FI_MMAP, CALLER) ? MAP_FAILED : __real_mmap(addr, len, prot, flags, fd, off);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return fails(FI_MMAP, CALLER) ? MAP_FAILED : __real_mmap64(addr, len, prot, flags, fd, off);
}

int __wrap_memfd_create(const char *name, unsigned int flags)
{
	return fails(FI_MEMFD_CREATE, CALLER) ? -1 : __real_memfd_create(name, flags);
}

int __wrap_eventfd(unsigned int initval, int flags)
{
	return fails(FI_EVENTFD, CALLER) ? -1 : __real_eventfd(initval, flags);
}

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	/* EAGAIN: what it returns when it cannot get a stack. */
	if (should_fail(FI_PTHREAD_CREATE, CALLER))
		return EAGAIN;
	return __real_pthread_create(thread, attr, fn, arg);
}

/* A punch frees: it is not counted. */
static bool fallocate_fails(int mode, const void *caller)
{
	return !(mode & FALLOC_FL_PUNCH_HOLE) && fails(FI_FALLOCATE, caller);
}

int __wrap_fallocate(int fd, int mode, off_t offset, off_t len)
{
	return fallocate_fails(mode, CALLER) ? -1 : __real_fallocate(fd, mode, offset, len);
}

int __wrap_fallocate64(int fd, int mode, off_t offset, off_t len)
{
	return fallocate_fails(mode, CALLER) ? -1 : __real_fallocate64(fd, mode, offset, len);
}

/* Only a truncate that grows the file is counted. */
static bool ftruncate_fails(int fd, off_t length, const void *caller)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && length <= st.st_size)
		return false;
	return fails(FI_FTRUNCATE, caller);
}

int __wrap_ftruncate(int fd, off_t length)
{
	return ftruncate_fails(fd, length, CALLER) ? -1 : __real_ftruncate(fd, length);
}

int __wrap_ftruncate64(int fd, off_t length)
{
	return ftruncate_fails(fd, length, CALLER) ? -1 : __real_ftruncate64(fd, length);
}
