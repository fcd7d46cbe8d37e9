// SPDX-License-Identifier: MIT
/*
 * Sealing of ordinary files under every vm.memfd_noexec setting (0, 1, 2),
 * against the real kernel.  Under 1 and 2 the kernel turns a memfd_create()
 * without MFD_EXEC into an MFD_NOEXEC_SEAL one: it carries F_SEAL_EXEC
 * (0x20, GM_SEAL_GUEST's value) and takes seals even without
 * MFD_ALLOW_SEALING.  A new ordinary file must still read back as neither
 * guest-sealed nor guest-only, and without GM_MFD_ALLOW_SEALING it must
 * refuse every seal (-EPERM), through its kept fd too.
 *
 * The setting belongs to a pid namespace, so the cases run in one of their
 * own: programs that meson runs beside this one (store-differential compares
 * against the kernel's memfd) never see it change.  Each case still puts the
 * value back in its teardown, and main() checks the host's value is as it
 * was.  The namespace gets a /proc of its own too, where its pid 1 is itself
 * (LeakSanitizer reads /proc/<getpid()>).  Needs root and the sysctl (Linux
 * 6.3); skips (77) otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <guestmem/file.h>
#include "array.h"
#include "../common.h"

#define NOEXEC		"/proc/sys/vm/memfd_noexec"
#define SEAL_EXEC	0x20	/* the kernel's F_SEAL_EXEC */

struct setting {
	int value;		/* what the case runs under */
	int saved;		/* what the teardown puts back */
	int set_err;		/* the write's errno, 0 when it took */
};

static int read_noexec(void)
{
	FILE *f = fopen(NOEXEC, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_noexec(int value)
{
	FILE *f = fopen(NOEXEC, "w");
	int err;

	if (!f)
		return errno;
	fprintf(f, "%d\n", value);
	err = fclose(f) ? errno : 0;
	return err ? err : read_noexec() == value ? 0 : EIO;
}

static int setup_noexec(void **state)
{
	struct setting *s = *state;

	s->saved = read_noexec();
	if (s->saved < 0)
		return -1;
	s->set_err = write_noexec(s->value);
	return 0;
}

static int restore_noexec(void **state)
{
	struct setting *s = *state;

	return write_noexec(s->saved) ? -1 : 0;
}

struct kind {
	const char *name;
	unsigned int flags;	/* GM_MFD_* */
	unsigned int kflags;	/* the same as memfd_create(2) flags */
};

static const struct kind kinds[] = {
	{ "shmem", 0, 0 },
	{ "shmem, sealing", GM_MFD_ALLOW_SEALING, MFD_ALLOW_SEALING },
	{ "hugetlb", GM_MFD_HUGETLB, MFD_HUGETLB },
	{ "hugetlb, sealing", GM_MFD_HUGETLB | GM_MFD_ALLOW_SEALING,
	  MFD_HUGETLB | MFD_ALLOW_SEALING },
};

/* No seal, not by guestmem and not through the fd the caller may keep. */
static void assert_takes_no_seal(struct gm_file *file)
{
	assert_int_equal(gm_add_seals(file, GM_SEAL_GROW), -EPERM);
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), -EPERM);
	assert_int_equal(fcntl(gm_file_fd(file), F_ADD_SEALS, F_SEAL_GROW), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(gm_get_seals(file), GM_SEAL_SEAL);
	assert_int_equal(gm_file_is_guest(file), 0);
}

/*
 * Seals go on; F_SEAL_EXEC added through the kept fd still does not read
 * back as the guest seal; the guest seal itself turns the file guest-only.
 */
static void assert_takes_seals(struct gm_file *file, const struct kind *k)
{
	int fd = gm_file_fd(file), seals;

	assert_int_equal(gm_add_seals(file, GM_SEAL_GROW), 0);
	assert_int_equal(gm_get_seals(file), GM_SEAL_GROW);
	/* On an executable memfd (setting 0) the kernel adds the write seals too. */
	assert_int_equal(fcntl(fd, F_ADD_SEALS, SEAL_EXEC), 0);
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals & SEAL_EXEC);
	assert_int_equal(gm_get_seals(file), seals & ~SEAL_EXEC);
	assert_int_equal(gm_file_is_guest(file), 0);
	if (k->flags & GM_MFD_HUGETLB)
		return;		/* a guest-only hugetlb file needs huge pages */
	assert_int_equal(gm_add_seals(file, GM_SEAL_GUEST), 0);
	assert_int_equal(gm_file_is_guest(file), 1);
	assert_int_equal(gm_get_seals(file), (seals & ~SEAL_EXEC) | GM_SEAL_GUEST);
}

static void check_kind(const struct kind *k, int value)
{
	int kfd = memfd_create("noexec", k->kflags | MFD_CLOEXEC), kerr = errno, kseals;
	struct gm_file *file;
	int ret = gm_memfd_create("noexec", k->flags, &file);

	print_message("memfd_noexec=%d %-17s kernel: %s", value, k->name,
		      kfd < 0 ? strerror(kerr) : "");
	if (kfd < 0) {
		/* Where the kernel refuses, so does guestmem, with its errno. */
		print_message("\n");
		assert_int_equal(ret, -kerr);
		return;
	}
	kseals = fcntl(kfd, F_GET_SEALS);
	print_message("seals %#x\n", kseals);
	close(kfd);
	/* The premise: from 1 on, the kernel sets 0x20 on every new memfd. */
	assert_int_equal(!!(kseals & SEAL_EXEC), value >= 1);
	assert_int_equal(ret, 0);
	assert_int_equal(gm_file_is_guest(file), 0);
	if (k->flags & GM_MFD_ALLOW_SEALING) {
		assert_int_equal(gm_get_seals(file), 0);
		assert_takes_seals(file, k);
	} else {
		assert_int_equal(gm_get_seals(file), GM_SEAL_SEAL);
		assert_takes_no_seal(file);
	}
	gm_file_put(file);
}

static void test_noexec(void **state)
{
	struct setting *s = *state;
	size_t i;

	if (s->set_err) {
		print_message("cannot set memfd_noexec=%d here: %s\n", s->value,
			      strerror(s->set_err));
		skip();
	}
	for (i = 0; i < GM_ARRAY_SIZE(kinds); i++)
		check_kind(&kinds[i], s->value);
	gm_test_assert_no_frames();
}

static int run_cases(void)
{
	static struct setting settings[] = { { .value = 0 }, { .value = 1 }, { .value = 2 } };
	static const char *const names[] = { "memfd_noexec=0", "memfd_noexec=1",
					     "memfd_noexec=2" };
	struct CMUnitTest tests[3];

	for (int i = 0; i < 3; i++)
		tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = test_noexec,
						.setup_func = setup_noexec,
						.teardown_func = restore_noexec,
						.initial_state = &settings[i] };
	return cmocka_run_group_tests(tests, NULL, NULL);
}

int main(void)
{
	int before, status;
	pid_t pid;

	if (geteuid() != 0)
		gm_test_skip("setting %s needs root", NOEXEC);
	before = read_noexec();
	if (before < 0)
		gm_test_skip("no %s (Linux before 6.3)", NOEXEC);
	fflush(stdout);
	/*
	 * clone(), as fork() into new namespaces: unshare() would put this
	 * process's later children there too, LeakSanitizer's helper at exit
	 * among them, and the namespace is gone by then.
	 */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, NULL, NULL,
			     NULL, 0L);
	if (pid < 0)
		gm_test_skip("clone(CLONE_NEWPID | CLONE_NEWNS): %s", strerror(errno));
	if (pid == 0) {	/* pid 1 of the new namespace: its setting is its own */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
			gm_test_skip("a /proc for the new pid namespace: %s", strerror(errno));
		exit(run_cases());
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (read_noexec() != before) {
		printf("the host's memfd_noexec changed from %d to %d\n", before, read_noexec());
		return 1;
	}
	if (WIFSIGNALED(status))
		printf("the cases died of signal %d\n", WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
