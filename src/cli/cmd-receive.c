/* SPDX-License-Identifier: MIT */
/*
 * guestmem receive --listen [HOST:]PORT --key-file F [--json]: take one
 * guest that `guestmem run --migrate-to` sends, and run it to its end here,
 * with run's summary and exit status.  The VM is built from the
 * configuration sealed in the first round; each round is checked and
 * restored as it comes, and answered; after the last the guest runs.  A
 * round that does not open with the key, or was changed, is refused (the
 * sender's guest goes on there), and so is the whole migration: exit 2.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "key-file.h"
#include "migrate.h"
#include "options.h"
#include "runner.h"

#define CMD "receive"

struct receive_opts {
	const char *listen;
	const char *key_file;
	bool json;
};

#define GM_OPT_STRUCT	struct receive_opts

static const struct gm_opt receive_options[] = {
	GM_OPT_STRING("listen", "[HOST:]PORT", listen,
		"where to wait (port 0: any free port); the port is printed on stderr as "
		"\"receive: listening on port N\""),
	GM_OPT_KEY_FILE(key_file),
	GM_OPT_JSON(json),
	GM_OPT_END,
};

static const struct gm_opt_cmd receive_cmd = {
	.name = CMD,
	.synopsis = "receive --listen [HOST:]PORT --key-file KEYFILE [--json]",
	.about = "wait for one guest that `guestmem run --migrate-to` sends, and run it to "
		 "its end here; the summary, --json and exit status are run's",
	.options = receive_options,
};

void gm_cmd_receive_usage(FILE *out)
{
	gm_opt_usage(&receive_cmd, out);
}

static int parse_args(int argc, char **argv, struct receive_opts *o)
{
	int ret = gm_opt_parse(&receive_cmd, argc, argv, o);

	if (ret)
		return ret;
	if (!o->listen || !o->key_file) {
		gm_cli_error(CMD, "--listen and --key-file are needed");
		return GM_STATUS_USAGE;
	}
	return 0;
}

/* cfg->restore_next: the next round from the sender, once the last is answered. */
static int next_round(void *opaque, int status)
{
	struct gm_mig_receiver *r = opaque;
	int ret = gm_mig_next(r, status);

	return ret ? ret : r->stream_fd;
}

static int receive(struct gm_mig_receiver *r, const uint8_t *key, bool json)
{
	struct gm_run_config cfg = { 0 };
	struct gm_run_saved saved;
	char why[256];
	int err, ret;

	ret = gm_mig_accept(r, key) ?: gm_mig_next(r, 0);
	if (ret) {
		gm_cli_error(CMD, "%s", r->message);
		/* A round 0 that is not this migration's, or not our key's: refused input. */
		return ret == -EBADMSG || ret == -EKEYREJECTED ? GM_STATUS_USAGE : GM_STATUS_FAIL;
	}
	ret = gm_run_saved_read(r->stream_fd, key, &cfg, &saved, why, sizeof(why));
	if (ret) {
		gm_mig_next(r, ret);	/* the sender hears why, and goes on */
		gm_cli_error(CMD, "round 0 refused: %s", why);
		return GM_STATUS_USAGE;
	}
	cfg.restore = true;
	cfg.restore_fd = r->stream_fd;
	cfg.key = key;
	cfg.restore_next = next_round;
	cfg.restore_opaque = r;
	ret = gm_cmd_run_restored(&cfg, CMD, json, &err);
	if (r->message[0])
		gm_cli_error(CMD, "%s", r->message);
	/* Refused before the guest ran: the input's fault, as a bad option is. */
	if (err == -EKEYREJECTED || err == -EBADMSG || err == -EINVAL)
		ret = GM_STATUS_USAGE;
	return ret;
}

int gm_cmd_receive(int argc, char **argv)
{
	struct receive_opts o = { 0 };
	uint8_t key[GM_SNAPSHOT_KEY_SIZE];
	struct gm_mig_receiver r;
	uint16_t port;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret == GM_ARGS_HELP ? GM_STATUS_OK : ret;
	ret = gm_cli_read_key(CMD, o.key_file, key);
	if (ret)
		return ret;
	if (gm_mig_listen(&r, o.listen, &port)) {
		gm_cli_error(CMD, "%s", r.message);
		ret = GM_STATUS_USAGE;
	} else {
		fprintf(stderr, "receive: listening on port %u\n", port);
		fflush(stderr);
		ret = receive(&r, key, o.json);
	}
	gm_mig_close(&r);
	explicit_bzero(key, sizeof(key));
	return ret;
}
