/* SPDX-License-Identifier: MIT */
/*
 * guestmem restore FILE --key-file F [--lazy] [--json]: resume a run that
 * `guestmem run --snapshot-after` wrote to FILE, and run it to its end,
 * with run's summary and exit status.  The VM is built from the
 * configuration sealed in the snapshot; a stream that a wrong key, a
 * change, a reordering or a cut makes unreadable is refused before the
 * guest runs (exit 2, one line).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "key-file.h"
#include "options.h"
#include "runner.h"

#define CMD "restore"

struct restore_opts {
	const char *file;
	const char *key_file;
	bool lazy;
	bool json;
};

#define GM_OPT_STRUCT	struct restore_opts

static const struct gm_opt restore_options[] = {
	GM_OPT_KEY_FILE(key_file),
	GM_OPT_FLAG("lazy", lazy,
		"start at once: each page of RAM is read from FILE, and checked, when the "
		"guest first touches it (a page that fails then stops the guest with an error)"),
	GM_OPT_JSON(json),
	GM_OPT_END,
};

static const struct gm_opt_cmd restore_cmd = {
	.name = CMD,
	.synopsis = "restore FILE --key-file KEYFILE [--lazy] [--json]",
	.about = "resume the run that `guestmem run --snapshot-after` wrote to FILE and run "
		 "it to its end; the summary, --json and exit status are run's",
	.options = restore_options,
	.operands = true,
};

void gm_cmd_restore_usage(FILE *out)
{
	gm_opt_usage(&restore_cmd, out);
}

static int parse_args(int argc, char **argv, struct restore_opts *o)
{
	int ret = gm_opt_parse(&restore_cmd, argc, argv, o);

	if (ret)
		return ret;
	if (optind + 1 != argc) {
		gm_cli_error(CMD, optind < argc ? "one snapshot FILE, not more" :
			     "which snapshot? (guestmem restore FILE --key-file KEYFILE)");
		return GM_STATUS_USAGE;
	}
	o->file = argv[optind];
	if (!o->key_file) {
		gm_cli_error(CMD, "--key-file is needed: the snapshot is sealed");
		return GM_STATUS_USAGE;
	}
	return 0;
}

/* Read the run's configuration from the snapshot at @fd, and resume it. */
static int restore(const struct restore_opts *o, int fd, const uint8_t *key)
{
	struct gm_run_config cfg = { 0 };
	struct gm_run_saved saved;
	char why[256];
	int err, ret;

	if (gm_run_saved_read(fd, key, &cfg, &saved, why, sizeof(why))) {
		gm_cli_error(CMD, "%s: %s", o->file, why);
		return GM_STATUS_USAGE;
	}
	cfg.restore = true;
	cfg.restore_fd = fd;
	cfg.restore_lazy = o->lazy;
	cfg.key = key;
	ret = gm_cmd_run_restored(&cfg, CMD, o->json, &err);
	/* Refused before the guest ran: the input's fault, as a bad option is. */
	if (err == -EKEYREJECTED || err == -EBADMSG || err == -EINVAL)
		ret = GM_STATUS_USAGE;
	return ret;
}

int gm_cmd_restore(int argc, char **argv)
{
	struct restore_opts o = { 0 };
	uint8_t key[GM_SNAPSHOT_KEY_SIZE];
	int fd, ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret == GM_ARGS_HELP ? GM_STATUS_OK : ret;
	ret = gm_cli_read_key(CMD, o.key_file, key);
	if (ret)
		return ret;
	fd = open(o.file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		gm_cli_error(CMD, "cannot open '%s': %s", o.file, strerror(errno));
		ret = GM_STATUS_USAGE;
	} else {
		ret = restore(&o, fd, key);
		close(fd);
	}
	explicit_bzero(key, sizeof(key));
	return ret;
}
