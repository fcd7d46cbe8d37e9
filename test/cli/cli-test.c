// SPDX-License-Identifier: MIT
/* Running `guestmem` for the test/cli programs (cli-test.h). */
#include <sys/wait.h>

#include "cli-test.h"

void cli_slurp(FILE *f, char *buf, size_t size)
{
	size_t len = 0, n;

	while (len + 1 < size && (n = fread(buf + len, 1, size - 1 - len, f)) > 0)
		len += n;
	buf[len] = '\0';
}

struct cli_result *cli_run(const char *fmt, ...)
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

int cli_count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

int cli_count_json_objects(const char *out)
{
	int n = 0;

	if (out[0] != '{')
		return 0;
	for (const char *p = out; (p = strstr(p, "\n}")); p += 2)
		n++;
	return n;
}

void cli_expect(const struct cli_result *r, int status, const char *const *want)
{
	if (r->status != status)
		fail_msg("exit status %d, not %d; stdout '%s', stderr '%s'", r->status, status,
			 r->out, r->err);
	for (; *want; want++)
		if (!strstr(r->out, *want))
			fail_msg("no '%s' in stdout '%s' (stderr '%s')", *want, r->out, r->err);
}
