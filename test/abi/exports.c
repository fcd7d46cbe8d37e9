/* SPDX-License-Identifier: MIT */
/*
 * The shared library exports the public headers' functions and nothing
 * else: no frame-level call (gm_pmem_*, gm_frame_*, gm_backing_*, gm_pfn_*)
 * is exported or declared in a public header, and every exported name is
 * declared in one.  Reads `nm -D` of the libguestmem.so that meson built.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "../common.h"

#define MAX_HEADERS	(64 * 1024)

/* The last one is checked in exports only: gm_pfn_t is a public type. */
static const char *const frame_prefixes[] = { "gm_pmem_", "gm_frame_", "gm_backing_", "gm_pfn_" };

static bool frame_level(const char *name)
{
	for (size_t i = 0; i < GM_ARRAY_SIZE(frame_prefixes); i++)
		if (!strncmp(name, frame_prefixes[i], strlen(frame_prefixes[i])))
			return true;
	return false;
}

/* The text of every public header, one after the other, in @buf. */
static size_t read_headers(char *buf, size_t cap)
{
	static const char *const headers[] = { "guestmem.h", "file.h", "host.h", "provider.h", "vm.h",
					       "guest-abi.h" };
	size_t len = 0;

	for (size_t i = 0; i < GM_ARRAY_SIZE(headers); i++) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/../include/guestmem/%s", GM_TEST_SRCDIR, headers[i]);
		f = fopen(path, "r");
		if (!f)
			fail_msg("cannot read %s", path);
		len += fread(buf + len, 1, cap - 1 - len, f);
		fclose(f);
	}
	buf[len] = '\0';
	return len;
}

/* Is @name declared as a function (name followed by '(') in @text? */
static bool declared(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
		bool starts = p == text || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
					     (p[-1] >= '0' && p[-1] <= '9'));

		if (starts && p[n] == '(')
			return true;
	}
	return false;
}

static void test_exports(void **state)
{
	static char headers[MAX_HEADERS];
	const char *lib = getenv("GUESTMEM_LIB");
	char cmd[1024], line[512];
	int exported = 0;
	FILE *nm;

	if (!lib || !*lib)
		gm_test_skip("GUESTMEM_LIB is not set (run through meson test)");
	read_headers(headers, sizeof(headers));
	/* gm_pfn_t is public (the provider's frame number); the rest never is. */
	for (size_t i = 0; i < GM_ARRAY_SIZE(frame_prefixes) - 1; i++)
		if (strstr(headers, frame_prefixes[i]))
			fail_msg("a public header mentions %s", frame_prefixes[i]);
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", lib);
	nm = popen(cmd, "r");
	assert_non_null(nm);
	while (fgets(line, sizeof(line), nm)) {
		char type, name[256];

		if (sscanf(line, "%*s %c %255s", &type, name) != 2 || type != 'T')
			continue;
		name[strcspn(name, "@")] = '\0';	/* the symbol version */
		if (frame_level(name))
			fail_msg("the library exports %s", name);
		if (!declared(headers, name))
			fail_msg("the library exports %s, which no public header declares", name);
		exported++;
	}
	assert_int_equal(pclose(nm), 0);
	printf("  %d functions exported, each declared in include/guestmem/\n", exported);
	assert_true(exported > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_exports) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
