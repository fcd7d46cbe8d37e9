/* SPDX-License-Identifier: MIT */
/*
 * Streams a restore must refuse, on the engine the argument names: a changed
 * byte (in a page, in the index, in a record's clear header), a stream cut
 * short (by a byte, at a record's end, in the middle), two records swapped,
 * a record replayed from another snapshot, and a wrong key.  Each is refused
 * with its errno, and the VM given to the restore is left as it was: same
 * attributes, no private page allocated, the boot slot untouched, and it
 * still runs its guest from the start and passes.  A lazy restore refuses
 * what it checks before the run the same way; a page it checks on first
 * touch stops the run with -EBADMSG.
 */
#include "snaptest.h"

#define RAM		(2 * MiB)
#define R8		(5 | 1ULL << 32)

struct rec {
	uint32_t kind, slot;
	uint64_t index, len, recno;
};

#define KIND_SLOT	2	/* snapshot.h's record kinds, as the stream carries them */
#define KIND_PAGE	5

/* The engine this run is on: the program's argument (gm_test_engine()). */
static enum gm_engine_kind engine_arg;

/* The offset of the @nth record of @kind (of slot @slot for pages), and its length. */
static uint64_t find_rec(const uint8_t *buf, uint64_t size, uint32_t kind, uint32_t slot,
			 unsigned int nth, uint64_t *len)
{
	for (uint64_t off = 64; off + sizeof(struct rec) <= size;) {
		struct rec r;

		memcpy(&r, buf + off, sizeof(r));
		if (r.kind == kind && (kind != KIND_PAGE || r.slot == slot) && !nth--) {
			*len = sizeof(r) + r.len;
			return off;
		}
		off += sizeof(r) + r.len;
	}
	fail_msg("no record of kind %u in the stream", kind);
	return 0;
}

struct source {
	uint8_t *bytes, *other;		/* two snapshots of one stopped guest */
	uint64_t size, other_size;
};

static void make_source(enum gm_engine_kind engine, struct source *src)
{
	struct gm_exit e[2];
	struct vmtest t;
	int fd;

	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, R8);
	assert_int_equal(snaptest_run(&t, 2, e), -EINTR);
	fd = snaptest_snapshot(t.vm, 0, NULL, 0, NULL);
	src->bytes = snaptest_slurp(fd, &src->size);
	close(fd);
	fd = snaptest_snapshot(t.vm, 0, NULL, 0, NULL);
	src->other = snaptest_slurp(fd, &src->other_size);
	close(fd);
	vmtest_destroy(&t);
}

/* The VM is as snaptest_vm() left it, and runs its guest from the start. */
static void expect_untouched(struct vmtest *t, const uint8_t *boot_before)
{
	uint8_t *boot_now = malloc(GM_GUEST_BOOT_SIZE);
	struct gm_vm_stats st;
	struct gm_exit e[2];

	assert_non_null(boot_now);
	gm_vm_get_stats(t->vm, &st);
	assert_int_equal(st.restore_pages, 0);
	assert_int_equal(gm_file_pages_held(t->private), 0);
	for (uint64_t off = 0; off < RAM; off += GM_PAGE_SIZE)
		assert_int_equal(gm_vm_get_memory_attributes(t->vm, GM_GUEST_RAM_BASE + off), PRIVATE);
	assert_int_equal(gm_vm_read_shared(t->vm, 0, boot_now, GM_GUEST_BOOT_SIZE), 0);
	assert_memory_equal(boot_now, boot_before, GM_GUEST_BOOT_SIZE);
	free(boot_now);
	assert_int_equal(snaptest_run(t, 0, e), 0);
	gm_vm_get_stats(t->vm, &st);
	assert_int_equal(st.report[GM_REPORT_VALUE], 1);	/* started from its entry */
	assert_int_equal(st.report[GM_REPORT_MISMATCHES], 0);
}

/* Restore @len bytes of @buf with @key and @flags: @want, and nothing of it applied. */
static void expect_refused(enum gm_engine_kind engine, const uint8_t *buf, uint64_t len,
			   const uint8_t *key, unsigned int flags, int want, const char *what)
{
	uint8_t *boot = malloc(GM_GUEST_BOOT_SIZE);
	struct vmtest t;
	int fd = snaptest_stream(buf, len), ret;

	assert_non_null(boot);
	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, R8);
	assert_int_equal(gm_vm_read_shared(t.vm, 0, boot, GM_GUEST_BOOT_SIZE), 0);
	ret = gm_vm_restore(t.vm, fd, key, flags, NULL, NULL);
	if (ret != want)
		fail_msg("%s (%s): restore returned %d, not %d", what, flags ? "lazy" : "eager",
			 ret, want);
	expect_untouched(&t, boot);
	vmtest_destroy(&t);
	close(fd);
	free(boot);
}

/* Both ways, eager and lazy. */
static void expect_refused_both(enum gm_engine_kind engine, const uint8_t *buf, uint64_t len,
				const uint8_t *key, int want, const char *what)
{
	expect_refused(engine, buf, len, key, 0, want, what);
	expect_refused(engine, buf, len, key, GM_RESTORE_LAZY, want, what);
}

/* A lazy restore takes @buf, and the run stops on the page it cannot open. */
static void expect_lazy_stop(enum gm_engine_kind engine, const uint8_t *buf, uint64_t len)
{
	struct gm_exit e[2];
	struct vmtest t;
	int fd = snaptest_stream(buf, len);

	snaptest_vm(&t, engine, RAM, true, pattern_guest, pattern_guest_len, 2, R8);
	assert_int_equal(gm_vm_restore(t.vm, fd, snap_key, GM_RESTORE_LAZY, NULL, NULL), 0);
	assert_int_equal(snaptest_run(&t, 0, e), -EIO);
	assert_int_equal(e[0].reason, GM_EXIT_ERROR);
	assert_int_equal(e[0].status, -EBADMSG);
	vmtest_destroy(&t);
	close(fd);
}

static void refused_on(enum gm_engine_kind engine)
{
	uint8_t wrong_key[GM_SNAPSHOT_KEY_SIZE], *copy;
	uint64_t off, len, off2, len2;
	struct source src;
	size_t app_len = 0;
	int fd;

	make_source(engine, &src);
	copy = malloc(src.size);
	assert_non_null(copy);

	/* A changed byte in a page of RAM: refused eagerly; lazily, the run stops on it. */
	off = find_rec(src.bytes, src.size, KIND_PAGE, 1, 100, &len);
	memcpy(copy, src.bytes, src.size);
	copy[off + len / 2] ^= 0x20;
	expect_refused(engine, copy, src.size, snap_key, 0, -EBADMSG, "a byte of a page");
	expect_lazy_stop(engine, copy, src.size);
	/* ... in the index, or in a record's clear header. */
	off = find_rec(src.bytes, src.size, KIND_SLOT, 0, 1, &len);
	memcpy(copy, src.bytes, src.size);
	copy[off + len - 40] ^= 0x01;
	expect_refused_both(engine, copy, src.size, snap_key, -EBADMSG, "a byte of the index");
	off = find_rec(src.bytes, src.size, KIND_PAGE, 0, 0, &len);
	memcpy(copy, src.bytes, src.size);
	copy[off + 8] ^= 0x01;		/* the page number of a boot slot page */
	expect_refused_both(engine, copy, src.size, snap_key, -EBADMSG, "a record's header");

	/* Cut short: by a byte, at the last page's end (no trailer), in the middle. */
	expect_refused_both(engine, src.bytes, src.size - 1, snap_key, -EBADMSG, "one byte short");
	off = find_rec(src.bytes, src.size, KIND_PAGE, 1, RAM / GM_PAGE_SIZE - 1, &len);
	expect_refused_both(engine, src.bytes, off + len, snap_key, -EBADMSG, "no trailer");
	expect_refused_both(engine, src.bytes, src.size / 2, snap_key, -EBADMSG, "half");
	expect_refused_both(engine, src.bytes, 40, snap_key, -EINVAL, "a header's worth");

	/* Two records swapped: pages of RAM, then of the boot slot (filled at once). */
	off = find_rec(src.bytes, src.size, KIND_PAGE, 1, 10, &len);
	off2 = find_rec(src.bytes, src.size, KIND_PAGE, 1, 11, &len2);
	memcpy(copy, src.bytes, src.size);
	memcpy(copy + off, src.bytes + off2, len2);
	memcpy(copy + off + len2, src.bytes + off, len);
	expect_refused(engine, copy, src.size, snap_key, 0, -EBADMSG, "RAM pages swapped");
	expect_lazy_stop(engine, copy, src.size);
	off = find_rec(src.bytes, src.size, KIND_PAGE, 0, 1, &len);
	off2 = find_rec(src.bytes, src.size, KIND_PAGE, 0, 2, &len2);
	memcpy(copy, src.bytes, src.size);
	memcpy(copy + off, src.bytes + off2, len2);
	memcpy(copy + off + len2, src.bytes + off, len);
	expect_refused_both(engine, copy, src.size, snap_key, -EBADMSG, "boot pages swapped");

	/* A record of another snapshot (same key, same guest, same place). */
	assert_int_equal(src.other_size, src.size);
	off = find_rec(src.bytes, src.size, KIND_PAGE, 0, 3, &len);
	memcpy(copy, src.bytes, src.size);
	memcpy(copy + off, src.other + off, len);
	expect_refused_both(engine, copy, src.size, snap_key, -EBADMSG, "a replayed record");

	/* A wrong key: told from damage. */
	memcpy(wrong_key, snap_key, sizeof(wrong_key));
	wrong_key[31] ^= 1;
	expect_refused_both(engine, src.bytes, src.size, wrong_key, -EKEYREJECTED, "a wrong key");
	fd = snaptest_stream(src.bytes, src.size);
	assert_int_equal(gm_snapshot_app(fd, wrong_key, NULL, &app_len), -EKEYREJECTED);
	close(fd);

	free(copy);
	free(src.bytes);
	free(src.other);
	gm_test_assert_no_frames();
}

static void test_refused(void **state)
{
	refused_on(engine_arg);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
	};

	engine_arg = gm_test_engine(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
