/* SPDX-License-Identifier: MIT */
/*
 * guestmem run --kernel: the options that boot Linux instead of a guest
 * program, their checks, and what such a run adds to the summary.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "run.h"

#define CMD "run"

/* Hex digits, two per byte, at most @max bytes. */
static int parse_hex(const char *text, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(text);

	if (!n || n % 2 || n / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		char byte[3] = { text[i], text[i + 1], 0 };
		char *end;

		if (!isxdigit((unsigned char)byte[0]) || !isxdigit((unsigned char)byte[1]))
			return -EINVAL;
		out[i / 2] = (uint8_t)strtoul(byte, &end, 16);
	}
	*len = n / 2;
	return 0;
}

static int parse_search(const char *value, void *opts)
{
	struct run_opts *o = opts;

	if (parse_hex(value, o->search, sizeof(o->search), &o->cfg.search_len))
		return -EINVAL;
	o->cfg.search = o->search;
	return 0;
}

#define GM_OPT_STRUCT	struct run_opts

const struct gm_opt run_linux_options[] = {
	GM_OPT_GROUP("Linux (kvm engine):"),
	GM_OPT_STRING("kernel", "FILE", cfg.kernel,
		"boot FILE, an x86-64 Linux bzImage, instead of a guest program, on a PC "
		"whose RAM is guest-only; its serial console (ttyS0) goes to stdout, and the "
		"run reports the launch digest of what was loaded"),
	GM_OPT_STRING("initrd", "FILE", cfg.initrd, "its initramfs"),
	GM_OPT_STRING("cmdline", "TEXT", cfg.cmdline,
		"its command line (default \"console=ttyS0 reboot=k panic=-1\"); a reboot "
		"ends the run with result \"reset\""),
	GM_OPT_FLAG("shared", shared,
		"RAM is the kernel's own memfd, readable by the host (to compare)"),
	GM_OPT_STRING("ready-marker", "TEXT", cfg.ready_marker,
		"time the console's first TEXT (default \"guestmem-init: ready\")"),
	GM_OPT_CALL("search-host-view", "HEX", parse_search,
		"after the run, count the places where these bytes are in what the host "
		"can read of guest RAM"),
	GM_OPT_END,
};

int run_linux_check(struct run_opts *o)
{
	if (!o->cfg.kernel) {
		if (o->cfg.initrd || o->cfg.cmdline || o->shared || o->cfg.ready_marker ||
		    o->cfg.search) {
			gm_cli_error(CMD, "--initrd, --cmdline, --shared, --ready-marker and "
				     "--search-host-view need --kernel");
			return GM_STATUS_USAGE;
		}
		return 0;
	}
	if (o->workload_given || o->cfg.private) {
		gm_cli_error(CMD, "--kernel takes no --workload, and its RAM is private unless "
			     "--shared");
		return GM_STATUS_USAGE;
	}
	o->cfg.private = !o->shared;
	if (!o->cfg.ready_marker)
		o->cfg.ready_marker = "guestmem-init: ready";
	return 0;
}

bool run_linux_refused(const struct run_opts *o, int err)
{
	return o->cfg.kernel && (err == -ENOENT || err == -EACCES || err == -EISDIR ||
				 err == -EFBIG || err == -ENOEXEC || err == -E2BIG);
}

static void digest_hex(const struct gm_run_result *r, char hex[2 * GM_LAUNCH_DIGEST_SIZE + 1])
{
	for (int i = 0; i < GM_LAUNCH_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", r->launch_digest[i]);
}

/* What was launched, the console, and what the host could see. */
void run_linux_print_text(const struct run_opts *o, const struct gm_run_result *r)
{
	char hex[2 * GM_LAUNCH_DIGEST_SIZE + 1];

	digest_hex(r, hex);
	printf("launch digest   %s\n", hex);
	printf("console         %" PRIu64 " bytes; ", r->console_bytes);
	if (r->ready_seconds >= 0)
		printf("\"%s\" after %.3f s\n", o->cfg.ready_marker, r->ready_seconds);
	else
		printf("\"%s\" never seen\n", o->cfg.ready_marker);
	printf("host view       %" PRIu64 " of %" PRIu64 " RAM pages readable, %" PRIu64
	       " file bytes; %" PRIu64 " of %" PRIu64 " kernel pages seen",
	       r->host_view.pages_read, r->host_view.pages, r->host_view.file_bytes_read,
	       r->host_view.kernel_pages_seen, r->host_view.kernel_pages);
	if (o->cfg.search)
		printf("; searched bytes found %" PRIu64 " times", r->host_view.search_hits);
	printf("\n");
}

void run_linux_json(struct gm_json *w, const struct run_opts *o, const struct gm_run_result *r)
{
	char hex[2 * GM_LAUNCH_DIGEST_SIZE + 1];

	digest_hex(r, hex);
	gm_json_str(w, "kernel", o->cfg.kernel);
	gm_json_str(w, "launch_digest", hex);
	gm_json_u64(w, "console_bytes", r->console_bytes);
	if (r->ready_seconds >= 0)
		gm_json_num(w, "ready_seconds", r->ready_seconds);
	else
		gm_json_null(w, "ready_seconds");
	gm_json_num(w, "guest_seconds", r->guest_seconds);
	gm_json_bool(w, "reset", r->reset);
	gm_json_begin(w, "host_view", '{');
	gm_json_u64(w, "pages", r->host_view.pages);
	gm_json_u64(w, "pages_read", r->host_view.pages_read);
	gm_json_u64(w, "file_bytes_read", r->host_view.file_bytes_read);
	gm_json_u64(w, "kernel_pages", r->host_view.kernel_pages);
	gm_json_u64(w, "kernel_pages_seen", r->host_view.kernel_pages_seen);
	if (o->cfg.search)
		gm_json_u64(w, "search_hits", r->host_view.search_hits);
	else
		gm_json_null(w, "search_hits");
	gm_json_end(w);
}
