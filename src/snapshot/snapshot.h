/* SPDX-License-Identifier: MIT */
/*
 * Sealed snapshots, private to the snapshot layer: the stream's format, its
 * sealing, and the helpers that snapshot.c (writing), restore.c (reading
 * and applying) and lazy.c (filling pages on first touch) share.
 *
 * The stream (little-endian, as the host):
 *
 *   file header   64 bytes in the clear (struct snap_file_header): magic,
 *                 version, the snapshot's random id, and a check value
 *                 of the key (a keyed hash of the id), so that a wrong key
 *                 is told from a damaged stream.
 *   records       each a 32-byte header in the clear (struct snap_rec:
 *                 kind, slot, index, length, number) and its payload
 *                 sealed with XChaCha20-Poly1305: nonce = id || number,
 *                 associated data = file header || record header.  In
 *                 this order:
 *     HEAD        struct snap_head (counts, flags)
 *     SLOT x n    struct snap_slot and three bitmaps of the slot's pages:
 *                 private attribute, has a PAGE record, reads zero
 *     VCPU x n    struct snap_vcpu (registers, or how it ended)
 *     APP         the caller's bytes
 *     PAGE x n    4 KiB each, slots in number order, pages in order, so a
 *                 page's record is found from the bitmaps (its rank)
 *     TRAILER     struct snap_trailer: record count, stream length, and a
 *                 keyed BLAKE2b of every earlier record's tag in order
 *
 * Keys: the caller's 32-byte key is only used to derive three subkeys
 * (crypto_kdf, context "gmsnap01"): one seals the records, one keys the
 * trailer's hash, one the key check.  Nonces never repeat under a key
 * because each snapshot draws a new 128-bit id.
 */
#ifndef GM_SNAPSHOT_SNAPSHOT_H
#define GM_SNAPSHOT_SNAPSHOT_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm-internal.h"

#define SNAP_MAGIC		"GMSNAP\0\1"
#define SNAP_VERSION		1
#define SNAP_TAG		crypto_aead_xchacha20poly1305_ietf_ABYTES	/* 16 */

enum snap_kind {
	SNAP_HEAD = 1,
	SNAP_SLOT,
	SNAP_VCPU,
	SNAP_APP,
	SNAP_PAGE,
	SNAP_TRAILER,
};

struct snap_file_header {
	uint8_t magic[8];
	uint32_t version;
	uint32_t size;			/* of this header: 64 */
	uint8_t id[16];
	uint8_t key_check[16];
	uint8_t reserved[16];
};

struct snap_rec {
	uint32_t kind;
	uint32_t slot;
	uint64_t index;			/* page (PAGE), vCPU (VCPU), else 0 */
	uint64_t len;			/* sealed bytes that follow: payload + tag */
	uint64_t recno;			/* its place in the stream, from 0 */
};

#define SNAP_F_DIFF		0x1U
#define SNAP_F_LIVE		0x2U	/* no vCPU state: every VCPU record is FRESH */

struct snap_head {
	uint32_t flags;
	uint32_t nr_slots;
	uint32_t nr_vcpus;
	uint32_t page_size;
	uint64_t nr_pages;		/* PAGE records */
	uint64_t app_len;
};

struct snap_slot {
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	uint64_t nr_pages;
	uint64_t nr_data;		/* bits set in the second bitmap */
	/* Then three bitmaps of (nr_pages + 63) / 64 words: attr, data, zero. */
};

enum snap_vcpu_state {
	SNAP_VCPU_FRESH,		/* never ran: starts from its entry state */
	SNAP_VCPU_RESUME,		/* stopped: goes on from @regs */
	SNAP_VCPU_ENDED,		/* ended: its exit is reported again */
};

struct snap_vcpu {
	uint32_t index;
	uint32_t state;
	int32_t reason;			/* enum gm_exit_reason, ENDED */
	uint32_t fault_private;
	int64_t status;
	uint64_t fault_gpa;
	uint64_t fault_size;
	uint64_t rip;
	struct gm_vcpu_regs regs;
};

struct snap_trailer {
	uint64_t nr_records;		/* the trailer included */
	uint64_t length;		/* of the stream, the trailer included */
	uint8_t hash[32];
};

#define SNAP_PAGE_REC		(sizeof(struct snap_rec) + GM_PAGE_SIZE + SNAP_TAG)
#define SNAP_TRAILER_REC	(sizeof(struct snap_rec) + sizeof(struct snap_trailer) + SNAP_TAG)

/* The keys and running state of one stream being sealed or opened. */
struct snap_crypto {
	struct snap_file_header fh;
	uint8_t seal_key[32];
	uint8_t hash_key[32];
	crypto_generichash_state tags;	/* of every record sealed or opened, in order */
};

static inline uint64_t snap_words(uint64_t pages)
{
	return (pages + 63) / 64;
}

static inline bool snap_bit(const uint64_t *map, uint64_t i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

static inline void snap_set_bit(uint64_t *map, uint64_t i)
{
	map[i / 64] |= 1ULL << (i % 64);
}

/* snap-io.c: sealing.  -EIO when libsodium cannot start. */
int snap_crypto_new(struct snap_crypto *c, const uint8_t key[32]);
/* For a stream read: derive from @fh's id.  Return: 0, -EINVAL (not ours), -EKEYREJECTED. */
int snap_crypto_open(struct snap_crypto *c, const struct snap_file_header *fh,
		     const uint8_t key[32]);
void snap_crypto_wipe(struct snap_crypto *c);
/* Seal @len bytes of @plain for record @r into @out (@len + SNAP_TAG bytes). */
void snap_seal(struct snap_crypto *c, const struct snap_rec *r, const void *plain, size_t len,
	       uint8_t *out);
/*
 * Open @sealed (r->len bytes) into @plain (r->len - SNAP_TAG bytes), which
 * is written only once the tag checks (zeroed if it does not).  @hash: add
 * the tag to the trailer's hash.  Return: 0 or -EBADMSG.
 */
int snap_open(struct snap_crypto *c, const struct snap_rec *r, const uint8_t *sealed,
	      void *plain, bool hash);
/* The trailer's hash of the tags so far. */
void snap_tags_final(struct snap_crypto *c, uint8_t hash[32]);

/*
 * Write @len bytes of a private page's record (decrypting @sealed) into
 * page @page of private-capable slot @s: the page is made present and
 * pinned with get_lock_pfn first, so nothing is written that the provider
 * did not make present.  Return: 0, -EBADMSG, or the provider's errno.
 */
int snap_open_private_page(struct gm_slot *s, uint64_t page, struct snap_crypto *c,
			   const struct snap_rec *r, const uint8_t *sealed, bool hash);

/* restore.c: the stream of a lazy restore, shared by its slots (lazy.c). */
struct gm_lazy_src {
	_Atomic unsigned int refs;
	int fd;
	uint64_t base;			/* the stream's offset in fd */
	uint64_t pages_off;		/* of the first PAGE record, from base */
	uint64_t page_recno;		/* its number */
	struct snap_crypto crypto;	/* keys only: tags are not hashed */
	struct gm_vm *vm;		/* for its counters and its failure */
};

/*
 * A lazily restored slot's pages: each page with a record goes from
 * PENDING to FILLING (claimed by the one thread that fills it, with no
 * lock held) to DONE; a conversion or punch meanwhile makes PENDING DONE
 * and FILLING FORGOTTEN (the filler then writes nothing it could leave
 * behind).  Nothing lets a page in while it is FILLING or FORGOTTEN.
 */
enum lazy_state {
	LAZY_DONE,			/* no record to apply (any more) */
	LAZY_PENDING,
	LAZY_FILLING,
	LAZY_FORGOTTEN,
};

struct gm_lazy_slot {
	struct gm_lazy_src *src;
	uint32_t slot;
	uint64_t nr_pages;
	uint64_t *data;			/* pages with a record (the index) */
	uint64_t *rank;			/* per word: its first data page's PAGE record, from 0 */
	_Atomic uint8_t *state;		/* per page: enum lazy_state */
};

void gm_lazy_src_put(struct gm_lazy_src *src);
/* lazy.c: the slot hook of a lazily restored slot (hook_data: its gm_lazy_slot). */
extern const struct gm_slot_hook gm_lazy_hook;
/*
 * Bring every page a lazy restore still owes in, through the fault path
 * (a snapshot wants them).  Caller holds memslot_lock only.
 */
int gm_lazy_bring_all(struct gm_vm *vm);

#endif
