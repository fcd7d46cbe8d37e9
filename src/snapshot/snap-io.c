/* SPDX-License-Identifier: MIT */
/*
 * Sealing and opening snapshot records (libsodium); a private page is
 * opened straight into the slot's private alias (vm/alias.c).
 */
#include <errno.h>
#include <string.h>

#include "snapshot.h"

#define KDF_CONTEXT	"gmsnap01"

enum { SUBKEY_SEAL = 1, SUBKEY_HASH, SUBKEY_CHECK };

static int sodium_ready(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/* Derive the subkeys, and the key check of @c->fh.id. */
static void derive(struct snap_crypto *c, const uint8_t key[32], uint8_t check[16])
{
	uint8_t check_key[32];

	crypto_kdf_derive_from_key(c->seal_key, sizeof(c->seal_key), SUBKEY_SEAL, KDF_CONTEXT, key);
	crypto_kdf_derive_from_key(c->hash_key, sizeof(c->hash_key), SUBKEY_HASH, KDF_CONTEXT, key);
	crypto_kdf_derive_from_key(check_key, sizeof(check_key), SUBKEY_CHECK, KDF_CONTEXT, key);
	crypto_generichash(check, 16, c->fh.id, sizeof(c->fh.id), check_key, sizeof(check_key));
	sodium_memzero(check_key, sizeof(check_key));
	crypto_generichash_init(&c->tags, c->hash_key, sizeof(c->hash_key), 32);
}

int snap_crypto_new(struct snap_crypto *c, const uint8_t key[32])
{
	int ret = sodium_ready();

	if (ret)
		return ret;
	memset(c, 0, sizeof(*c));
	memcpy(c->fh.magic, SNAP_MAGIC, sizeof(c->fh.magic));
	c->fh.version = SNAP_VERSION;
	c->fh.size = sizeof(c->fh);
	randombytes_buf(c->fh.id, sizeof(c->fh.id));
	derive(c, key, c->fh.key_check);
	return 0;
}

int snap_crypto_open(struct snap_crypto *c, const struct snap_file_header *fh,
		     const uint8_t key[32])
{
	uint8_t check[16];
	int ret = sodium_ready();

	if (ret)
		return ret;
	if (memcmp(fh->magic, SNAP_MAGIC, sizeof(fh->magic)) || fh->version != SNAP_VERSION ||
	    fh->size != sizeof(*fh))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->fh = *fh;
	derive(c, key, check);
	if (sodium_memcmp(check, fh->key_check, sizeof(check))) {
		snap_crypto_wipe(c);
		return -EKEYREJECTED;
	}
	return 0;
}

void snap_crypto_wipe(struct snap_crypto *c)
{
	sodium_memzero(c, sizeof(*c));
}

/* Nonce: the id, then the record number; associated data: both headers. */
static void nonce_ad(const struct snap_crypto *c, const struct snap_rec *r, uint8_t nonce[24],
		     uint8_t ad[sizeof(struct snap_file_header) + sizeof(struct snap_rec)])
{
	memcpy(nonce, c->fh.id, 16);
	memcpy(nonce + 16, &r->recno, 8);
	memcpy(ad, &c->fh, sizeof(c->fh));
	memcpy(ad + sizeof(c->fh), r, sizeof(*r));
}

void snap_seal(struct snap_crypto *c, const struct snap_rec *r, const void *plain, size_t len,
	       uint8_t *out)
{
	uint8_t nonce[24], ad[sizeof(struct snap_file_header) + sizeof(struct snap_rec)];

	nonce_ad(c, r, nonce, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, out + len, NULL, plain, len,
							    ad, sizeof(ad), NULL, nonce,
							    c->seal_key);
	crypto_generichash_update(&c->tags, out + len, SNAP_TAG);
}

int snap_open(struct snap_crypto *c, const struct snap_rec *r, const uint8_t *sealed,
	      void *plain, bool hash)
{
	uint8_t nonce[24], ad[sizeof(struct snap_file_header) + sizeof(struct snap_rec)];
	size_t len = r->len - SNAP_TAG;

	nonce_ad(c, r, nonce, ad);
	/* libsodium checks the tag before it writes a byte of @plain. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(plain, NULL, sealed, len,
								sealed + len, ad, sizeof(ad),
								nonce, c->seal_key))
		return -EBADMSG;
	if (hash)
		crypto_generichash_update(&c->tags, sealed + len, SNAP_TAG);
	return 0;
}

void snap_tags_final(struct snap_crypto *c, uint8_t hash[32])
{
	crypto_generichash_final(&c->tags, hash, 32);
}

int snap_open_private_page(struct gm_slot *s, uint64_t page, struct snap_crypto *c,
			   const struct snap_rec *r, const uint8_t *sealed, bool hash)
{
	unsigned int order = GM_HUGE_2M_ORDER;	/* a hint: fill 2 MiB where the store can */
	gm_pfn_t pfn;
	int ret;

	ret = gm_slot_private_pin(s, page, &order, &pfn);
	if (ret)
		return ret;
	ret = snap_open(c, r, sealed, s->mm->private_alias.addr + (page << GM_PAGE_SHIFT), hash);
	s->mm->mem_ops->put_unlock_pfn(pfn);
	return ret;
}
