/* SPDX-License-Identifier: MIT */
/*
 * Running `guestmem` (GUESTMEM_BIN) as a user does, for the test/cli
 * programs: the exit status, stdout and stderr of one command line, and
 * the engine checks that decide whether a program runs or skips (77).
 * Static inline functions: each program includes this once.
 */
#ifndef GM_TEST_CLI_TEST_H
#define GM_TEST_CLI_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <guestmem/vm.h>

#include "../common.h"

#define CLI_OUT_MAX	65536

struct cli_result {
	int status;			/* exit status, -1 when killed */
	char out[CLI_OUT_MAX];
	char err[4096];
};

static inline void cli_slurp(FILE *f, char *buf, size_t size)
{
	size_t len = 0, n;

	while (len + 1 < size && (n = fread(buf + len, 1, size - 1 - len, f)) > 0)
		len += n;
	buf[len] = '\0';
}

/*
 * Run `guestmem <args>` through the shell; @fmt builds the arguments, and
 * the caller quotes what needs it.  Returns a result to free().
 */
static inline struct cli_result *cli_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline struct cli_result *cli_run(const char *fmt, ...)
{
	struct cli_result *r = calloc(1, sizeof(*r));
	char args[4096], cmd[8192], errpath[] = "/tmp/guestmem-test-cli-XXXXXX";
	int fd = mkstemp(errpath), status;
	va_list ap;
	FILE *p, *e;

	assert_non_null(r);
	assert_true(fd >= 0);
	close(fd);
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>'%s'", gm_test_guestmem_bin(), args, errpath);
	p = popen(cmd, "r");
	assert_non_null(p);
	cli_slurp(p, r->out, sizeof(r->out));
	status = pclose(p);
	r->status = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	e = fopen(errpath, "r");
	assert_non_null(e);
	cli_slurp(e, r->err, sizeof(r->err));
	fclose(e);
	unlink(errpath);
	return r;
}

static inline int cli_count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* Fail unless @r exited with @status and its stdout holds every string in @want (NULL-ended). */
static inline void cli_expect(const struct cli_result *r, int status, const char *const *want)
{
	if (r->status != status)
		fail_msg("exit status %d, not %d; stdout '%s', stderr '%s'", r->status, status,
			 r->out, r->err);
	for (; *want; want++)
		if (!strstr(r->out, *want))
			fail_msg("no '%s' in stdout '%s' (stderr '%s')", *want, r->out, r->err);
}

/*
 * The engine named @engine ("emu" or "kvm") for this program, or exit 77
 * with the reason the host cannot run it.
 */
static inline const char *cli_engine_or_skip(const char *engine)
{
	const char *why;

	if (!strcmp(engine, "kvm")) {
		if (!gm_test_have_kvm(&why) || !gm_engine_available(GM_ENGINE_KVM, &why))
			gm_test_skip("the kvm engine cannot run here: %s", why);
	} else if (!gm_engine_available(GM_ENGINE_EMU, &why)) {
		gm_test_skip("the emu engine cannot run here: %s", why);
	}
	return engine;
}

#endif
