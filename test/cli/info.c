// SPDX-License-Identifier: MIT
/*
 * `guestmem info` and the KVM probe behind it.
 *
 * The program is run as a user would (GUESTMEM_BIN, set by test/meson.build)
 * and its JSON is checked with a plain key search: the output is ours and
 * small, so no JSON parser is needed.  gm_kvm_probe() is checked against the
 * same ioctls issued directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "array.h"
#include "../common.h"
#include "kvm-caps.h"
#include "kvm-uapi.h"

#define OUT_MAX	65536

static const char *bin;

/*
 * Run `guestmem <args>` through the shell.  @args is a literal from this
 * file; the binary's path is single-quoted.  With @stderr_only the captured
 * text is stderr and stdout is dropped.  Return: the exit status, or -1.
 */
static int run_guestmem(const char *args, int stderr_only, char *out, size_t size)
{
	char cmd[4096];
	size_t len = 0, n;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "'%s' %s %s", bin, args,
		 stderr_only ? "2>&1 >/dev/null" : "");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (len + 1 < size && (n = fread(out + len, 1, size - 1 - len, p)) > 0)
		len += n;
	out[len] = '\0';
	status = pclose(p);
	if (status < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/*
 * The value of the first "key": in @json.  Return: a pointer to the first
 * character of the value, or NULL.
 */
static const char *json_value(const char *json, const char *key)
{
	char pattern[128];
	const char *p;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	p = strstr(json, pattern);
	if (!p)
		return NULL;
	p += strlen(pattern);
	while (*p == ' ')
		p++;
	return p;
}

/* Whether the array value of @key in @json holds the string @name. */
static int array_has(const char *json, const char *key, const char *name)
{
	const char *arr = json_value(json, key), *end, *hit;
	char quoted[64];

	if (!arr || *arr != '[')
		return 0;
	end = strchr(arr, ']');
	snprintf(quoted, sizeof(quoted), "\"%s\"", name);
	hit = strstr(arr, quoted);
	return hit && end && hit < end;
}

static void test_info_json_keys(void **state)
{
	static const char *const keys[] = {
		"kvm", "available", "guest_memfd", "flags", "flag_names",
		"memory_attributes", "vm_types", "hugepages_2m_total",
		"hugepages_2m_free", "hugepages_1g_total", "hugepages_1g_free",
		"engines", "stores", "why",
	};
	char *out = malloc(OUT_MAX);

	assert_non_null(out);
	assert_int_equal(run_guestmem("info --json", 0, out, OUT_MAX), 0);
	assert_int_equal(out[0], '{');
	for (size_t i = 0; i < GM_ARRAY_SIZE(keys); i++) {
		if (!json_value(out, keys[i]))
			fail_msg("key \"%s\" missing from: %s", keys[i], out);
	}
	assert_true(array_has(out, "stores", "shmem"));
	free(out);
}

static void test_info_text(void **state)
{
	char *out = malloc(OUT_MAX);

	assert_non_null(out);
	assert_int_equal(run_guestmem("info", 0, out, OUT_MAX), 0);
	assert_non_null(strstr(out, "stores"));
	assert_int_equal(run_guestmem("info --help", 0, out, OUT_MAX), 0);
	assert_non_null(strstr(out, "--json"));
	assert_int_equal(run_guestmem("--help", 0, out, OUT_MAX), 0);
	assert_non_null(strstr(out, "info"));
	free(out);
}

/* Usage errors: exit 2 and exactly one line on stderr. */
static void test_bad_usage(void **state)
{
	static const char *const cases[] = {
		"info --bogus", "info -x", "info extra", "nosuchcmd", "help nosuchcmd",
	};
	char out[4096];

	for (size_t i = 0; i < GM_ARRAY_SIZE(cases); i++) {
		int status = run_guestmem(cases[i], 1, out, sizeof(out));

		if (status != 2 || count_lines(out) != 1)
			fail_msg("'guestmem %s': status %d, stderr: %s", cases[i], status, out);
	}
}

/* /dev/kvm, or skip this test where it is missing or is not KVM. */
static int kvm_or_skip(void)
{
	const char *why;
	int fd;

	if (!gm_test_have_kvm(&why)) {
		print_message("SKIP: %s\n", why);
		skip();
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip();
	return fd;
}

static int create_guest_memfd_works(int vm)
{
	struct kvm_create_guest_memfd gmem = { .size = 2 << 20 };
	int fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gmem);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static void test_probe_matches_ioctls(void **state)
{
	struct gm_kvm_caps caps;
	int kvm = kvm_or_skip(), vm, flags;

	assert_int_equal(gm_kvm_probe(&caps), 0);
	assert_int_equal(ioctl(kvm, KVM_GET_API_VERSION, 0), 12);
	assert_int_equal(caps.api_version, 12);
	vm = gm_kvm_create_vm(kvm, KVM_X86_DEFAULT_VM);
	assert_true(vm >= 0);
	assert_true(caps.kvm);

	flags = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	assert_int_equal(caps.guest_memfd_flags, flags > 0 ? (uint64_t)flags : 0);
	assert_int_equal(caps.guest_memfd, create_guest_memfd_works(vm));
	assert_int_equal(caps.user_memory2,
			 ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2) > 0);
	close(vm);
	close(kvm);
}

/* The program reports what the probe finds. */
static void test_json_matches_probe(void **state)
{
	struct gm_kvm_caps caps;
	char *out = malloc(OUT_MAX);
	const char *gmem, *avail, *flags;

	assert_non_null(out);
	assert_int_equal(gm_kvm_probe(&caps), 0);
	assert_int_equal(run_guestmem("info --json", 0, out, OUT_MAX), 0);
	gmem = json_value(out, "guest_memfd");
	assert_non_null(gmem);
	avail = json_value(gmem, "available");
	flags = json_value(gmem, "flags");
	assert_non_null(avail);
	assert_non_null(flags);
	assert_int_equal(strncmp(avail, "true", 4) == 0, caps.guest_memfd);
	assert_int_equal(strtoull(flags, NULL, 10), caps.guest_memfd_flags);
	/* The kvm store holds shared RAM: a default VM's guest_memfd the host maps. */
	assert_int_equal(array_has(out, "stores", "kvm"),
			 caps.guest_memfd && caps.guest_memfd_vm_type == KVM_X86_DEFAULT_VM &&
			 (caps.guest_memfd_flags & (GUEST_MEMFD_FLAG_MMAP |
						    GUEST_MEMFD_FLAG_INIT_SHARED)) ==
			 (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED));
	/* Where guest_memfd is, the VM type that has it is named. */
	if (caps.guest_memfd)
		assert_non_null(strstr(gmem, caps.guest_memfd_vm_type == KVM_X86_DEFAULT_VM ?
					     "\"vm_type\": \"default\"" :
					     "\"vm_type\": \"sw_protected\""));
	assert_int_equal(array_has(out, "engines", "kvm"), caps.kvm);
	free(out);
}

/* The lowest free fd: the probe must leave it the same. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void test_probe_closes_fds(void **state)
{
	struct gm_kvm_caps caps;
	int before = lowest_free_fd();

	for (int i = 0; i < 4; i++)
		assert_int_equal(gm_kvm_probe(&caps), 0);
	assert_int_equal(lowest_free_fd(), before);
}

/* The library's errors are -errno, never a crash. */
static void test_probe_errors(void **state)
{
	assert_int_equal(gm_kvm_probe(NULL), -EINVAL);
	assert_int_equal(gm_kvm_create_vm(-1, 0), -EBADF);
	assert_int_equal(gm_kvm_check_extension(-1, KVM_CAP_GUEST_MEMFD), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_json_keys),
		cmocka_unit_test(test_info_text),
		cmocka_unit_test(test_bad_usage),
		cmocka_unit_test(test_probe_matches_ioctls),
		cmocka_unit_test(test_json_matches_probe),
		cmocka_unit_test(test_probe_closes_fds),
		cmocka_unit_test(test_probe_errors),
	};

	bin = gm_test_guestmem_bin();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
