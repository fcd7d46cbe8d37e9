/* SPDX-License-Identifier: MIT */
/*
 * `guestmem run --kernel`: an unmodified Linux kernel (the lab's, named by
 * GUESTMEM_LINUX_KERNEL) boots our init (guests/linux) with its RAM
 * guest-only, to the init's exit status, and on 2 vCPUs.  After the run
 * the host's view of RAM holds neither the secret the init wrote nor a page
 * of the kernel, and with --shared RAM it holds both, so the search can
 * fail.  The launch digest is the same for the same files and changes with
 * one byte of the initrd.
 *
 * Each boot is a minute or two in the KVM lab (nested on an emulated CPU).
 */
#include <inttypes.h>

#include "../../guests/linux/secret.h"
#include "cli-test.h"
#include "linux-guest.h"

/*
 * idle=poll: in the KVM lab a halted vCPU of a nested guest now and then
 * missed its wake-up (1 boot in 8 on 2 vCPUs hung, one vCPU halted and the
 * other spinning on a lock; none in 6 with idle=poll).
 */
#define CMDLINE	"console=ttyS0 reboot=k panic=-1 quiet idle=poll gm.touch_mb=%u gm.seed=%u"

static const char *kernel;

struct host_view {
	uint64_t readable, pages, file_bytes, kernel_seen, kernel_pages, hits;
};

static void parse_host_view(const char *out, struct host_view *v)
{
	const char *line = strstr(out, "host view ");

	if (!line || sscanf(line, "host view %" SCNu64 " of %" SCNu64 " RAM pages readable, %"
			    SCNu64 " file bytes; %" SCNu64 " of %" SCNu64
			    " kernel pages seen; searched bytes found %" SCNu64 " times",
			    &v->readable, &v->pages, &v->file_bytes, &v->kernel_seen,
			    &v->kernel_pages, &v->hits) != 6)
		fail_msg("no host view line in '%s'", out);
}

/*
 * The known bug (README, "Booting Linux"): now and then in the KVM lab a
 * boot stops early with a vCPU spinning on a lock nobody holds, until the
 * timeout; the init never says it is ready.  Seen with RAM guest-only or
 * the kernel's memfd alike, not understood yet (in CI's lab, loaded, about
 * one boot in four hung so this round).  Such a boot is tried again, up to
 * three times, saying so; any other failure, or three hangs, fails.
 */
#define KNOWN_HANG_TRIES	3

static bool known_hang(const struct cli_result *r)
{
	return r->status && strstr(r->out, "result          timeout") &&
	       strstr(r->out, "\"guestmem-init: ready\" never seen");
}

/*
 * Boot with @vcpus, private RAM unless @shared; the init touches @touch_mb
 * MiB and must pass.
 */
static struct cli_result *boot(unsigned int vcpus, bool shared, unsigned int seed,
			       unsigned int touch_mb)
{
	uint8_t secret[64];
	char hex[129], want[64], touched[64];
	struct cli_result *r;

	gm_linux_secret(seed, secret);
	for (int i = 0; i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", secret[i]);
	for (int tries = 0;; tries++) {
		r = cli_run("run --engine kvm --kernel '%s' --initrd '%s' --mem 256M --vcpus %u %s "
			    "--timeout 120 --cmdline '" CMDLINE "' --search-host-view %s", kernel,
			    GM_LINUX_INITRAMFS, vcpus, shared ? "--shared" : "", touch_mb, seed,
			    hex);
		if (tries == KNOWN_HANG_TRIES - 1 || !known_hang(r))
			break;
		printf("  the known hang (README, Booting Linux): trying again\n");
		free(r);
	}
	snprintf(want, sizeof(want), "guestmem-init: %u CPUs online", vcpus);
	snprintf(touched, sizeof(touched), "guestmem-init: touched %u MiB, 0 mismatches", touch_mb);
	cli_expect(r, 0, (const char *const[]){
		"guestmem-init: ready", want, touched,
		"guestmem-init: secret written", "exit status     0", "result          pass",
		NULL });
	return r;
}

static void test_private_ram_unseen(void **state)
{
	struct cli_result *r = boot(1, false, 7, 8);
	struct host_view v;

	parse_host_view(r->out, &v);
	assert_int_equal(v.pages, 65536);
	assert_int_equal(v.readable, 0);
	assert_true(v.kernel_pages > 100);
	assert_int_equal(v.kernel_seen, 0);
	assert_int_equal(v.hits, 0);
	assert_non_null(strstr(r->out, "private, kernel"));
	free(r);
}

/*
 * The same search, where the host can read RAM: it finds both.  The kernel
 * image is found where it was loaded, below the 16 MiB it runs from, in
 * pages Linux has not reused: a guest that touches little leaves them.
 */
static void test_shared_ram_seen(void **state)
{
	struct cli_result *r = boot(1, true, 7, 8);
	struct host_view v;

	parse_host_view(r->out, &v);
	assert_int_equal(v.readable, 65536);
	assert_true(v.kernel_seen > 0);
	assert_true(v.hits >= 256);
	free(r);
}

/*
 * Two vCPUs: the MP table, the APs' start by SIPI, the interrupt
 * controllers.  With shared RAM: with guest-only RAM Linux on 2 vCPUs
 * hangs or oopses in the lab in about 1 boot in 8 (README, "Booting
 * Linux": a known bug, not understood yet), which a test cannot tell from
 * a new one.
 */
static void test_two_vcpus(void **state)
{
	struct cli_result *r = boot(2, true, 9, 64);
	struct host_view v;

	parse_host_view(r->out, &v);
	assert_int_equal(v.readable, 65536);
	assert_true(v.hits >= 256);
	free(r);
}

/* The digest, from a run stopped at once (it is taken before the guest runs). */
static void digest(const char *initrd, char out[65])
{
	struct cli_result *r = cli_run("run --engine kvm --kernel '%s' --initrd '%s' --mem 64M "
				       "--timeout 0.01", kernel, initrd);
	const char *line = strstr(r->out, "launch digest   ");

	if (!line || sscanf(line, "launch digest   %64[0-9a-f]", out) != 1)
		fail_msg("no launch digest in '%s' (stderr '%s')", r->out, r->err);
	free(r);
}

static void test_launch_digest(void **state)
{
	char path[] = "/tmp/guestmem-initrd-XXXXXX", a[65], b[65], c[65];
	FILE *in = fopen(GM_LINUX_INITRAMFS, "rb");
	int fd = mkstemp(path), ch;
	FILE *out = fdopen(fd, "wb");
	long n = 0;

	assert_non_null(in);
	assert_non_null(out);
	/* A copy with its 1000th byte changed. */
	while ((ch = fgetc(in)) != EOF)
		fputc(n++ == 999 ? ch ^ 1 : ch, out);
	fclose(in);
	fclose(out);
	digest(GM_LINUX_INITRAMFS, a);
	digest(GM_LINUX_INITRAMFS, b);
	digest(path, c);
	unlink(path);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launch_digest),
		cmocka_unit_test(test_private_ram_unseen),
		cmocka_unit_test(test_shared_ram_seen),
		cmocka_unit_test(test_two_vcpus),
	};

	kernel = getenv("GUESTMEM_LINUX_KERNEL");
	if (!kernel || !*kernel) {
		printf("skip: GUESTMEM_LINUX_KERNEL does not name a kernel to boot "
		       "(scripts/test.sh sets it to the lab's)\n");
		return 77;
	}
	gm_test_require_engine(GM_ENGINE_KVM);
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_amd", F_OK) &&
	    access("/sys/module/kvm_intel", F_OK)) {
		printf("skip: this host's KVM (kvm_pvm) emulates each instruction of CPL-0 guest "
		       "code, too slow to boot Linux: it boots in the KVM lab\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
