// SPDX-License-Identifier: MIT
/*
 * `guestmem bench --quick --json --plot FILE` as a user runs it, once: it
 * exits 0, its JSON carries every headline figure that issue 10 asks for
 * as a finite number, and the chart is a well-formed SVG with one polyline
 * per series.  No figure is judged: targets belong to the bench, not to
 * timed tests.  --only runs the parts it names and no other.  Usage errors
 * exit 2 with one line.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-test.h"

static const char *const headline_keys[] = {
	"first_touch_ratio", "first_touch_cpu_ratio", "retouch_ratio", "convert_4k_over_exit",
	"host_punch_ratio", "lookup_random_ns", "stall_ratio", "scaling_worst",
	"metadata_bytes_per_frame", "churn_rss_growth", "plot_series", NULL,
};

/* The number of top-level member @key (indented by two spaces); fails if absent. */
static double top_level_number(const char *json, const char *key)
{
	char pattern[128], *end;
	const char *at;
	double v;

	snprintf(pattern, sizeof(pattern), "\n  \"%s\": ", key);
	at = strstr(json, pattern);
	if (!at)
		fail_msg("no top-level \"%s\" in '%s'", key, json);
	at += strlen(pattern);
	v = strtod(at, &end);
	if (end == at || !isfinite(v))
		fail_msg("\"%s\" is not a finite number: '%.20s'", key, at);
	return v;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static char *slurp_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1 << 20);
	size_t len;

	assert_non_null(f);
	assert_non_null(text);
	len = fread(text, 1, (1 << 20) - 1, f);
	text[len] = '\0';
	fclose(f);
	return text;
}

/* The one run: JSON keys, then the chart. */
static void test_quick_json_plot(void **state)
{
	char svg_path[] = "/tmp/guestmem-test-bench-XXXXXX";
	int fd = mkstemp(svg_path), series;
	struct cli_result *r;
	char *svg, *end;

	assert_true(fd >= 0);
	close(fd);
	r = cli_run("bench --quick --json --plot '%s'", svg_path);
	if (r->status != 0)
		fail_msg("exit status %d; stderr '%s'", r->status, r->err);
	assert_int_equal(r->out[0], '{');
	for (const char *const *k = headline_keys; *k; k++)
		printf("  %-26s %g\n", *k, top_level_number(r->out, *k));
	assert_non_null(strstr(r->out, "\n  \"table\": ["));
	series = (int)top_level_number(r->out, "plot_series");
	assert_true(series > 0);

	svg = slurp_file(svg_path);
	unlink(svg_path);
	end = svg + strlen(svg);
	while (end > svg && isspace((unsigned char)end[-1]))
		*--end = '\0';
	assert_int_equal(strncmp(svg, "<svg", 4), 0);
	assert_true(end - svg > 6 && !strcmp(end - 6, "</svg>"));
	assert_int_equal(count(svg, "<polyline"), series);
	assert_int_equal(count(svg, "</polyline>"), series);
	assert_int_equal(count(svg, "<svg"), 1);
	free(svg);
	free(r);
}

/* Is top-level member @key null (not measured)? */
static bool top_level_null(const char *json, const char *key)
{
	char pattern[128];

	snprintf(pattern, sizeof(pattern), "\n  \"%s\": null", key);
	return strstr(json, pattern) != NULL;
}

/* --only memory: the memory figures, none of the guests' or the host files'. */
static void test_only(void **state)
{
	struct cli_result *r = cli_run("bench --quick --json --only memory");

	if (r->status != 0)
		fail_msg("exit status %d; stderr '%s'", r->status, r->err);
	assert_true(top_level_number(r->out, "churn_rss_growth") >= 0);
	assert_true(top_level_number(r->out, "invalidate_ratio") > 0);
	assert_true(top_level_null(r->out, "engine"));
	assert_true(top_level_null(r->out, "first_touch_ratio"));
	assert_true(top_level_null(r->out, "lookup_random_ns"));
	assert_null(strstr(r->out, "\"measure\": \"first_touch\""));
	assert_null(strstr(r->out, "\"measure\": \"punch\""));
	free(r);
}

/* Bad options: exit 2, one line on stderr, nothing on stdout. */
static void test_usage(void **state)
{
	static const char *const bad[] = {
		"bench --bogus", "bench --mem 3M", "bench --mem 9M", "bench --engine nope",
		"bench --plot", "bench extra", "bench --only", "bench --only bogus",
		"bench --only host,", "bench --only host,,guest", NULL,
	};

	for (const char *const *a = bad; *a; a++) {
		struct cli_result *r = cli_run("%s", *a);

		if (r->status != 2 || cli_count_lines(r->err) != 1 || r->out[0])
			fail_msg("'guestmem %s': status %d, stdout '%s', stderr '%s'", *a,
				 r->status, r->out, r->err);
		free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_quick_json_plot),
		cmocka_unit_test(test_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
