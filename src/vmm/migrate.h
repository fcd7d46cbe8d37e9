/* SPDX-License-Identifier: MIT */
/*
 * Live migration over plain TCP: `guestmem run --migrate-to HOST:PORT`
 * sends a running guest to `guestmem receive --listen PORT`.
 *
 * The sender sends rounds, each one sealed snapshot stream (vm.h) in a
 * frame: a 24-byte header in the clear (magic, kind, round, the stream's
 * length), then the stream.  Round 0 is all of memory, taken beside the
 * running guest (GM_SNAPSHOT_LIVE); rounds 1.. are what the guest dirtied
 * meanwhile (LIVE | DIFF), until a round is small or stops shrinking; then
 * the guest is stopped and the last round (DIFF, vCPUs included) goes.
 * The receiver checks and restores each stream onto its VM as it comes
 * and answers each frame with a 16-byte ack (magic, round, 0 or -errno);
 * after the last it runs the guest to its end.  The sender's guest stops
 * only for the last round: until then a refusal or a dropped connection
 * leaves it running where it is.
 *
 * Every stream is sealed with the key both sides read from --key-file: no
 * page, private or shared, and no register crosses the wire in the clear;
 * a frame that is changed or cut short fails its stream's checks and is
 * refused.  A migration is bound to its connection: the receiver speaks
 * first, with a fresh random nonce (a 40-byte hello), and each round's
 * stream is followed by a 32-byte tag, keyed BLAKE2b over the nonce, the
 * frame, the round before's tag and the stream, so a migration recorded
 * and played again, or rounds spliced from two, are refused.  Sockets time out (MIG_IO_TIMEOUT_S in migrate.c), so a
 * peer that goes silent ends the migration, never hangs it.
 */
#ifndef GM_CLI_MIGRATE_H
#define GM_CLI_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <guestmem/guestmem.h>

#define GM_MIG_MAX_ROUNDS	30	/* pre-copy rounds before the stop, at most */

/* What a migration did, for the summary. */
struct gm_mig_report {
	bool attempted;			/* --migrate-to was given */
	bool done;			/* the receiver confirmed the last round */
	bool stopped;			/* the sender stopped its guest for the last round */
	unsigned int rounds;		/* sent, the last one included */
	uint64_t round_pages[GM_MIG_MAX_ROUNDS + 1];
	uint64_t bytes;			/* streams sent */
	double seconds;			/* from the connection to the receiver's last ack */
	double downtime;		/* from the guest's stop to the receiver's last ack */
	char message[256];		/* why it did not happen, one line */
};

struct gm_mig_sender;

/*
 * gm_mig_send_start - a thread that, @after seconds from now, connects to
 * @to ("HOST:PORT"), starts the dirty log of @vm's memslots @slots (ids,
 * @nr_slots of them), sends the pre-copy rounds of @vm (running, or about
 * to run) sealed with @key, with @app (the run's configuration, for the
 * receiver to build its VM) in each, and then stops @vm.  Return: 0 or
 * -errno (the thread could not start).
 */
int gm_mig_send_start(struct gm_mig_sender **out, struct gm_vm *vm, const char *to,
		      double after, const uint32_t *slots, unsigned int nr_slots,
		      const uint8_t *key, const void *app, size_t app_len);

/*
 * gm_mig_send_finish - once @vm's run has returned: end the pre-copy (its
 * thread is joined), and if the sender stopped the guest and @ready (every
 * other vCPU ended well), send the last round, carrying @app, and wait for
 * the receiver's word.  Fills @report; frees @m.  Return: 0 when the
 * receiver confirmed (the guest goes on there), else -errno with the
 * reason in report->message (report->stopped says whether the guest was
 * stopped and must go on here).
 */
int gm_mig_send_finish(struct gm_mig_sender *m, bool ready, const void *app, size_t app_len,
		       struct gm_mig_report *report);

struct mig_chain;

/* The receiving end: one connection, its frames in turn. */
struct gm_mig_receiver {
	int listen_fd, fd;
	struct mig_chain *chain;	/* the nonce sent, the tags so far */
	int stream_fd;			/* a memfd holding the last frame's stream */
	uint32_t round;			/* the next frame's */
	bool last;			/* the last frame has come */
	char message[256];
};

/*
 * gm_mig_listen - listen on @where ("PORT" or "HOST:PORT"; port 0 picks a
 * free one), and say where in *@port.  Return: 0 or -errno, reason in
 * r->message.
 */
int gm_mig_listen(struct gm_mig_receiver *r, const char *where, uint16_t *port);

/*
 * gm_mig_accept - wait for the sender and greet it with a fresh nonce; its
 * rounds must be tagged with @key's MAC key over it.  Return: 0 or -errno
 * (message).
 */
int gm_mig_accept(struct gm_mig_receiver *r, const uint8_t *key);

/*
 * gm_mig_next - answer the frame before with @status (not before the
 * first), then read the next frame's stream into r->stream_fd (rewound).
 * Return: 0, -ENODATA once the last frame was answered, -ECANCELED when
 * the sender gave up, -EBADMSG for a round that is not this connection's
 * (replayed, spliced or changed), or -errno (message).
 */
int gm_mig_next(struct gm_mig_receiver *r, int status);

void gm_mig_close(struct gm_mig_receiver *r);

#endif
