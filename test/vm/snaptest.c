// SPDX-License-Identifier: MIT
/* The snapshot tests' guests, key and helpers (snaptest.h says what each does). */
#include "snaptest.h"

uint64_t pattern(uint64_t i)
{
	return (i * PATTERN_MUL) ^ PATTERN_XOR;
}

const uint8_t pattern_guest[] = {
	0x48, 0x85, 0xd2,                               /* 0: test   %rdx,%rdx */
	0x74, 0x0a,                                     /* 3: je     f <_start+0xf> */
	0xb8, 0x01, 0x00, 0x00, 0x00,                   /* 5: mov    $0x1,%eax */
	0x31, 0xff,                                     /* a: xor    %edi,%edi */
	0xe7, 0xe0,                                     /* c: out    %eax,$0xe0 */
	0xf4,                                           /* e: hlt */
	0x48, 0x89, 0xfb,                               /* f: mov    %rdi,%rbx */
	0x48, 0x89, 0xf5,                               /* 12: mov    %rsi,%rbp */
	0x48, 0xc1, 0xed, 0x03,                         /* 15: shr    $0x3,%rbp */
	0x4d, 0x89, 0xc6,                               /* 19: mov    %r8,%r14 */
	0x49, 0xc1, 0xee, 0x20,                         /* 1c: shr    $0x20,%r14 */
	0x45, 0x89, 0xc7,                               /* 20: mov    %r8d,%r15d */
	0x49, 0xbc, 0x15, 0x7c, 0x4a, 0x7f, 0xb9,       /* 23: movabs $0x9e3779b97f4a7c15,%r12 */
	0x79, 0x37, 0x9e,
	0x49, 0xbb, 0x7a, 0x2e, 0xc1, 0x5e, 0x7a,       /* 2d: movabs $0x5ec12e7a5ec12e7a,%r11 */
	0x2e, 0xc1, 0x5e,
	0x4d, 0x31, 0xed,                               /* 37: xor    %r13,%r13 */
	0xb8, 0x04, 0x00, 0x00, 0x00,                   /* 3a: mov    $0x4,%eax */
	0xbf, 0x04, 0x00, 0x00, 0x00,                   /* 3f: mov    $0x4,%edi */
	0xbe, 0x01, 0x00, 0x00, 0x00,                   /* 44: mov    $0x1,%esi */
	0xe7, 0xe0,                                     /* 49: out    %eax,$0xe0 */
	0x31, 0xc9,                                     /* 4b: xor    %ecx,%ecx */
	0x48, 0x89, 0xc8,                               /* 4d: mov    %rcx,%rax */
	0x49, 0x0f, 0xaf, 0xc4,                         /* 50: imul   %r12,%rax */
	0x4c, 0x31, 0xd8,                               /* 54: xor    %r11,%rax */
	0x48, 0x89, 0x04, 0xcb,                         /* 57: mov    %rax,(%rbx,%rcx,8) */
	0x48, 0xff, 0xc1,                               /* 5b: inc    %rcx */
	0x48, 0x39, 0xe9,                               /* 5e: cmp    %rbp,%rcx */
	0x72, 0xea,                                     /* 61: jb     4d <_start+0x4d> */
	0xb8, 0x06, 0x00, 0x00, 0x00,                   /* 63: mov    $0x6,%eax */
	0xbf, 0x01, 0x00, 0x00, 0x00,                   /* 68: mov    $0x1,%edi */
	0xe7, 0xe0,                                     /* 6d: out    %eax,$0xe0 */
	0x31, 0xc9,                                     /* 6f: xor    %ecx,%ecx */
	0x4c, 0x39, 0xf9,                               /* 71: cmp    %r15,%rcx */
	0x73, 0x1d,                                     /* 74: jae    93 <_start+0x93> */
	0x48, 0x89, 0xc8,                               /* 76: mov    %rcx,%rax */
	0x48, 0xc1, 0xe0, 0x09,                         /* 79: shl    $0x9,%rax */
	0x48, 0x89, 0xc6,                               /* 7d: mov    %rax,%rsi */
	0x49, 0x0f, 0xaf, 0xc4,                         /* 80: imul   %r12,%rax */
	0x4c, 0x31, 0xd8,                               /* 84: xor    %r11,%rax */
	0x48, 0xf7, 0xd0,                               /* 87: not    %rax */
	0x48, 0x89, 0x04, 0xf3,                         /* 8a: mov    %rax,(%rbx,%rsi,8) */
	0x48, 0xff, 0xc1,                               /* 8e: inc    %rcx */
	0xeb, 0xde,                                     /* 91: jmp    71 <_start+0x71> */
	0xb8, 0x06, 0x00, 0x00, 0x00,                   /* 93: mov    $0x6,%eax */
	0xbf, 0x02, 0x00, 0x00, 0x00,                   /* 98: mov    $0x2,%edi */
	0xe7, 0xe0,                                     /* 9d: out    %eax,$0xe0 */
	0x4d, 0x31, 0xd2,                               /* 9f: xor    %r10,%r10 */
	0x31, 0xc9,                                     /* a2: xor    %ecx,%ecx */
	0x48, 0x89, 0xc8,                               /* a4: mov    %rcx,%rax */
	0x49, 0x0f, 0xaf, 0xc4,                         /* a7: imul   %r12,%rax */
	0x4c, 0x31, 0xd8,                               /* ab: xor    %r11,%rax */
	0x48, 0x89, 0xca,                               /* ae: mov    %rcx,%rdx */
	0x48, 0x81, 0xe2, 0xff, 0x01, 0x00, 0x00,       /* b1: and    $0x1ff,%rdx */
	0x75, 0x0f,                                     /* b8: jne    c9 <_start+0xc9> */
	0x48, 0x89, 0xca,                               /* ba: mov    %rcx,%rdx */
	0x48, 0xc1, 0xea, 0x09,                         /* bd: shr    $0x9,%rdx */
	0x4c, 0x39, 0xfa,                               /* c1: cmp    %r15,%rdx */
	0x73, 0x03,                                     /* c4: jae    c9 <_start+0xc9> */
	0x48, 0xf7, 0xd0,                               /* c6: not    %rax */
	0x48, 0x3b, 0x04, 0xcb,                         /* c9: cmp    (%rbx,%rcx,8),%rax */
	0x74, 0x03,                                     /* cd: je     d2 <_start+0xd2> */
	0x49, 0xff, 0xc5,                               /* cf: inc    %r13 */
	0x48, 0xff, 0xc1,                               /* d2: inc    %rcx */
	0x48, 0x39, 0xe9,                               /* d5: cmp    %rbp,%rcx */
	0x72, 0xca,                                     /* d8: jb     a4 <_start+0xa4> */
	0x49, 0x8d, 0x7a, 0x03,                         /* da: lea    0x3(%r10),%rdi */
	0xb8, 0x06, 0x00, 0x00, 0x00,                   /* de: mov    $0x6,%eax */
	0xe7, 0xe0,                                     /* e3: out    %eax,$0xe0 */
	0x49, 0xff, 0xc2,                               /* e5: inc    %r10 */
	0x4d, 0x39, 0xf2,                               /* e8: cmp    %r14,%r10 */
	0x72, 0xb5,                                     /* eb: jb     a2 <_start+0xa2> */
	0xb8, 0x04, 0x00, 0x00, 0x00,                   /* ed: mov    $0x4,%eax */
	0xbf, 0x01, 0x00, 0x00, 0x00,                   /* f2: mov    $0x1,%edi */
	0x4c, 0x89, 0xee,                               /* f7: mov    %r13,%rsi */
	0xe7, 0xe0,                                     /* fa: out    %eax,$0xe0 */
	0xb8, 0x01, 0x00, 0x00, 0x00,                   /* fc: mov    $0x1,%eax */
	0x4c, 0x89, 0xef,                               /* 101: mov    %r13,%rdi */
	0xe7, 0xe0,                                     /* 104: out    %eax,$0xe0 */
	0xf4,                                           /* 106: hlt */
};

const size_t pattern_guest_len = sizeof(pattern_guest);

const uint8_t sparse_guest[] = {
	0x48, 0x89, 0xfb,                               /* 0: mov    %rdi,%rbx */
	0x48, 0x89, 0xf5,                               /* 3: mov    %rsi,%rbp */
	0x48, 0xc1, 0xed, 0x0c,                         /* 6: shr    $0xc,%rbp */
	0x49, 0xbc, 0x15, 0x7c, 0x4a, 0x7f, 0xb9,       /* a: movabs $0x9e3779b97f4a7c15,%r12 */
	0x79, 0x37, 0x9e,
	0x49, 0xbb, 0x7a, 0x2e, 0xc1, 0x5e, 0x7a,       /* 14: movabs $0x5ec12e7a5ec12e7a,%r11 */
	0x2e, 0xc1, 0x5e,
	0x4d, 0x31, 0xed,                               /* 1e: xor    %r13,%r13 */
	0x31, 0xc9,                                     /* 21: xor    %ecx,%ecx */
	0x48, 0x89, 0xc8,                               /* 23: mov    %rcx,%rax */
	0x49, 0x0f, 0xaf, 0xc4,                         /* 26: imul   %r12,%rax */
	0x4c, 0x31, 0xd8,                               /* 2a: xor    %r11,%rax */
	0x48, 0x89, 0xca,                               /* 2d: mov    %rcx,%rdx */
	0x48, 0xc1, 0xe2, 0x0c,                         /* 30: shl    $0xc,%rdx */
	0x48, 0x89, 0x04, 0x13,                         /* 34: mov    %rax,(%rbx,%rdx,1) */
	0x48, 0xff, 0xc1,                               /* 38: inc    %rcx */
	0x48, 0x39, 0xe9,                               /* 3b: cmp    %rbp,%rcx */
	0x72, 0xe3,                                     /* 3e: jb     23 <_start+0x23> */
	0xb8, 0x06, 0x00, 0x00, 0x00,                   /* 40: mov    $0x6,%eax */
	0xbf, 0x01, 0x00, 0x00, 0x00,                   /* 45: mov    $0x1,%edi */
	0xe7, 0xe0,                                     /* 4a: out    %eax,$0xe0 */
	0x31, 0xc9,                                     /* 4c: xor    %ecx,%ecx */
	0x48, 0x89, 0xc8,                               /* 4e: mov    %rcx,%rax */
	0x49, 0x0f, 0xaf, 0xc4,                         /* 51: imul   %r12,%rax */
	0x4c, 0x31, 0xd8,                               /* 55: xor    %r11,%rax */
	0x48, 0x89, 0xca,                               /* 58: mov    %rcx,%rdx */
	0x48, 0xc1, 0xe2, 0x0c,                         /* 5b: shl    $0xc,%rdx */
	0x48, 0x3b, 0x04, 0x13,                         /* 5f: cmp    (%rbx,%rdx,1),%rax */
	0x74, 0x03,                                     /* 63: je     68 <_start+0x68> */
	0x49, 0xff, 0xc5,                               /* 65: inc    %r13 */
	0x48, 0xff, 0xc1,                               /* 68: inc    %rcx */
	0x4c, 0x39, 0xc1,                               /* 6b: cmp    %r8,%rcx */
	0x72, 0xde,                                     /* 6e: jb     4e <_start+0x4e> */
	0xb8, 0x04, 0x00, 0x00, 0x00,                   /* 70: mov    $0x4,%eax */
	0xbf, 0x01, 0x00, 0x00, 0x00,                   /* 75: mov    $0x1,%edi */
	0x4c, 0x89, 0xee,                               /* 7a: mov    %r13,%rsi */
	0xe7, 0xe0,                                     /* 7d: out    %eax,$0xe0 */
	0xb8, 0x01, 0x00, 0x00, 0x00,                   /* 7f: mov    $0x1,%eax */
	0x4c, 0x89, 0xef,                               /* 84: mov    %r13,%rdi */
	0xe7, 0xe0,                                     /* 87: out    %eax,$0xe0 */
	0xf4,                                           /* 89: hlt */
};

const size_t sparse_guest_len = sizeof(sparse_guest);

const uint8_t snap_key[GM_SNAPSHOT_KEY_SIZE] = {
	0x6b, 0x65, 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x73, 0x6e, 0x61, 0x70, 0x73, 0x68, 0x6f, 0x74,
	0x20, 0x74, 0x65, 0x73, 0x74, 0x73, 0x20, 0x6f, 0x6e, 0x6c, 0x79, 0x2e, 0x2e, 0x2e, 0x2e, 0x21,
};

void snaptest_vm(struct vmtest *t, enum gm_engine_kind engine, uint64_t ram, bool private,
		 const uint8_t *code, size_t len, unsigned int vcpus, uint64_t r8)
{
	vmtest_create(t, engine, ram, true);
	if (private)
		assert_int_equal(gm_vm_set_memory_attributes(t->vm, GM_GUEST_RAM_BASE, ram,
							     PRIVATE, 0), 0);
	vmtest_boot(t, code, len, vcpus, private ? 0 : GM_GUEST_SHARED_BIT, r8);
}

void snaptest_progress(void *opaque, unsigned int vcpu, uint64_t done)
{
	struct snaptest_run *r = opaque;

	atomic_store(&r->phase, done);
	if (r->stop_at && done == r->stop_at)
		gm_vm_stop(r->vm);
}

int snaptest_run(struct vmtest *t, uint64_t stop_at, struct gm_exit *exits)
{
	struct snaptest_run r = { .vm = t->vm, .stop_at = stop_at };
	struct gm_vm_handlers h = { .opaque = &r, .progress = snaptest_progress };

	return gm_vm_run(t->vm, &h, exits);
}

int snaptest_memfd(void)
{
	int fd = memfd_create("snaptest", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

int snaptest_snapshot(struct gm_vm *vm, unsigned int flags, const void *app, size_t app_len,
		      uint64_t *size)
{
	int fd = snaptest_memfd();
	struct stat st;

	assert_int_equal(gm_vm_snapshot(vm, fd, snap_key, flags, app, app_len), 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (size)
		*size = (uint64_t)st.st_size;
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

uint8_t *snaptest_slurp(int fd, uint64_t *size)
{
	struct stat st;
	uint8_t *buf;

	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	*size = (uint64_t)st.st_size;
	return buf;
}

int snaptest_stream(const uint8_t *buf, uint64_t len)
{
	int fd = snaptest_memfd();

	assert_int_equal(pwrite(fd, buf, (size_t)len, 0), (ssize_t)len);
	return fd;
}
