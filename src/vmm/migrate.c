/* SPDX-License-Identifier: MIT */
/*
 * Live migration over TCP (the protocol: migrate.h).
 *
 * Sender: one thread does the pre-copy beside the running guest; the last
 * round is sent by the run's own thread once gm_vm_run() has returned
 * (a snapshot with vCPU state needs the run ended).  Lock order: m->lock
 * alone; it guards quit and stopping, which the two threads share.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "array.h"
#include "clock.h"
#include "migrate.h"

#define MIG_MAGIC		"GMMIG\0\0\2"
#define MIG_ACK_MAGIC		"GMACK\0\0\2"
#define MIG_HELLO_MAGIC		"GMHELO\0\2"
/* The MAC key's derivation context (libsodium's crypto_kdf: 8 bytes). */
#define MIG_KDF_CONTEXT		"gmmigrat"
#define MIG_TAG_BYTES		crypto_generichash_BYTES	/* 32 */
#define MIG_NONCE_BYTES		32
/* A peer silent this long ends the migration (a stream of 64 GiB moves in less). */
#define MIG_IO_TIMEOUT_S	30
/* A round this small (1 MiB) is sent with the guest stopped: stop and copy. */
#define MIG_STOP_PAGES		256
/* Rounds in a row that did not shrink before the guest is stopped anyway. */
#define MIG_NO_GAIN		3
/* No stream is longer: 64 GiB of RAM in page records, and room for the index. */
#define MIG_MAX_STREAM		(80ULL << 30)
#define MIG_BUF			(1U << 20)

enum mig_kind {
	MIG_ROUND = 1,			/* a pre-copy round (LIVE) */
	MIG_LAST,			/* the last round: the guest goes on there */
	MIG_ABORT,			/* the sender gave up; no stream follows */
};

struct mig_frame {
	char magic[8];
	uint32_t kind;
	uint32_t round;
	uint64_t len;
};

struct mig_ack {
	char magic[8];
	uint32_t round;
	int32_t status;			/* 0: restored; else -errno */
};

/* The receiver's first words: a nonce that every round's tag must cover. */
struct mig_hello {
	char magic[8];
	uint8_t nonce[MIG_NONCE_BYTES];
};

/*
 * One migration's chain of tags.  Each round's frame and stream are
 * followed by a tag: keyed BLAKE2b (a key derived from the migration key)
 * over the receiver's nonce, the frame, the tag before it (zeros for round
 * 0) and the stream.  A migration recorded and played again meets a fresh
 * nonce; a round of another migration, or out of its place, breaks the
 * chain: either is refused, whatever the streams' own seals say.
 */
struct mig_chain {
	uint8_t snapshot_key[GM_SNAPSHOT_KEY_SIZE];	/* the receiver's, to say why */
	uint8_t key[crypto_generichash_KEYBYTES];
	uint8_t nonce[MIG_NONCE_BYTES];
	uint8_t prev[MIG_TAG_BYTES];
	crypto_generichash_state state;
};

static int chain_init(struct mig_chain *c, const uint8_t *key)
{
	memset(c, 0, sizeof(*c));
	if (sodium_init() < 0)
		return -ENOSYS;
	memcpy(c->snapshot_key, key, sizeof(c->snapshot_key));
	return crypto_kdf_derive_from_key(c->key, sizeof(c->key), 1, MIG_KDF_CONTEXT, key) ?
	       -EINVAL : 0;
}

static void chain_begin(struct mig_chain *c, const struct mig_frame *f)
{
	crypto_generichash_init(&c->state, c->key, sizeof(c->key), MIG_TAG_BYTES);
	crypto_generichash_update(&c->state, c->nonce, sizeof(c->nonce));
	crypto_generichash_update(&c->state, (const uint8_t *)f, sizeof(*f));
	crypto_generichash_update(&c->state, c->prev, sizeof(c->prev));
}

static void chain_end(struct mig_chain *c, uint8_t tag[MIG_TAG_BYTES])
{
	crypto_generichash_final(&c->state, tag, MIG_TAG_BYTES);
	memcpy(c->prev, tag, MIG_TAG_BYTES);
}

static void chain_wipe(struct mig_chain *c)
{
	sodium_memzero(c, sizeof(*c));
}

/* ---- bytes on a socket ---- */

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (errno == EAGAIN ? -ETIMEDOUT : -errno) : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Return: 0, -ECONNRESET (the peer closed), -ETIMEDOUT, or read's errno. */
static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = MIG_IO_TIMEOUT_S };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Split "HOST:PORT" (or "PORT", with @host NULL) into malloc'ed parts. */
static int split_address(const char *where, char **host, char **port)
{
	const char *colon = strrchr(where, ':');

	*host = colon ? strndup(where, (size_t)(colon - where)) : NULL;
	*port = strdup(colon ? colon + 1 : where);
	if ((colon && !*host) || !*port) {
		free(*host);
		free(*port);
		return -ENOMEM;
	}
	return 0;
}

static const char *why(int err)
{
	switch (err) {
	case -ECONNRESET:
		return "the connection was closed";
	case -ETIMEDOUT:
		return "the peer went silent";
	case -EPROTO:
		return "the peer does not speak guestmem's migration protocol";
	default:
		return strerror(-err);
	}
}

/* ---- sending ---- */

struct gm_mig_sender {
	struct gm_vm *vm;
	char *host, *port;
	double after;
	uint32_t slots[8];
	unsigned int nr_slots;
	uint8_t key[GM_SNAPSHOT_KEY_SIZE];
	void *app;
	size_t app_len;
	int fd;				/* the connection, or -1 */
	int stream;			/* a memfd: one round's stream at a time */
	struct mig_chain chain;		/* the receiver's nonce, the tags so far */
	double start, stop_at;
	int error;			/* the pre-copy's, 0 while it goes well */
	struct gm_mig_report rep;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool quit;			/* under lock: the run ended, stop now */
	bool stopping;			/* under lock: the thread stopped the guest */
};

static uint64_t pages_written(struct gm_vm *vm)
{
	struct gm_vm_stats st;

	gm_vm_get_stats(vm, &st);
	return st.snapshot_pages;
}

/* Wait @after seconds, unless the run ends first.  Return: true to go on. */
static bool wait_after(struct gm_mig_sender *m)
{
	struct timespec deadline;
	double at = gm_clock_now() + m->after;
	bool go;

	deadline.tv_sec = (time_t)at;
	deadline.tv_nsec = (long)((at - (double)deadline.tv_sec) * 1e9);
	pthread_mutex_lock(&m->lock);
	while (!m->quit && pthread_cond_timedwait(&m->cond, &m->lock, &deadline) != ETIMEDOUT)
		;
	go = !m->quit;
	pthread_mutex_unlock(&m->lock);
	return go;
}

static bool quitting(struct gm_mig_sender *m)
{
	bool quit;

	pthread_mutex_lock(&m->lock);
	quit = m->quit;
	pthread_mutex_unlock(&m->lock);
	return quit;
}

/* The receiver speaks first: its nonce binds every round to this connection. */
static int read_hello(struct gm_mig_sender *m)
{
	struct mig_hello h;
	int ret = read_all(m->fd, &h, sizeof(h));

	if (!ret && memcmp(h.magic, MIG_HELLO_MAGIC, sizeof(h.magic)))
		ret = -EPROTO;
	if (ret) {
		snprintf(m->rep.message, sizeof(m->rep.message), "%s:%s: %s", m->host, m->port,
			 why(ret));
		return ret;
	}
	memcpy(m->chain.nonce, h.nonce, sizeof(h.nonce));
	return 0;
}

static int mig_connect(struct gm_mig_sender *m)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int ret = getaddrinfo(m->host, m->port, &hints, &res);

	if (ret) {
		snprintf(m->rep.message, sizeof(m->rep.message), "cannot resolve '%s': %s",
			 m->host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	ret = -ECONNREFUSED;
	for (ai = res; ai && m->fd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

		if (fd < 0)
			continue;
		set_timeouts(fd);
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			m->fd = fd;
			break;
		}
		ret = -errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (m->fd < 0) {
		snprintf(m->rep.message, sizeof(m->rep.message), "cannot connect to %s:%s: %s",
			 m->host, m->port, strerror(-ret));
		return ret;
	}
	return read_hello(m);
}

static int start_logs(struct gm_mig_sender *m)
{
	for (unsigned int i = 0; i < m->nr_slots; i++) {
		int ret = gm_vm_dirty_log_start(m->vm, m->slots[i]);

		if (ret && ret != -EEXIST) {
			snprintf(m->rep.message, sizeof(m->rep.message),
				 "cannot log memslot %u's dirty pages: %s", m->slots[i], strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int send_frame(struct gm_mig_sender *m, enum mig_kind kind, uint32_t round, uint64_t len)
{
	struct mig_frame f = { .kind = kind, .round = round, .len = len };

	memcpy(f.magic, MIG_MAGIC, sizeof(f.magic));
	if (kind != MIG_ABORT)
		chain_begin(&m->chain, &f);
	return write_all(m->fd, &f, sizeof(f));
}

/* The round's tag, once its stream is sent. */
static int send_tag(struct gm_mig_sender *m)
{
	uint8_t tag[MIG_TAG_BYTES];

	chain_end(&m->chain, tag);
	return write_all(m->fd, tag, sizeof(tag));
}

/* Through a buffer, not sendfile(): send() can be told not to raise SIGPIPE. */
static int send_stream(struct gm_mig_sender *m, uint64_t len)
{
	uint8_t *buf = malloc(MIG_BUF);
	uint64_t off = 0;
	int ret = buf ? 0 : -ENOMEM;

	while (!ret && off < len) {
		size_t want = len - off < MIG_BUF ? (size_t)(len - off) : MIG_BUF;
		ssize_t n = pread(m->stream, buf, want, (off_t)off);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		crypto_generichash_update(&m->chain.state, buf, (size_t)n);
		ret = write_all(m->fd, buf, (size_t)n);
		off += ret ? 0 : (uint64_t)n;
	}
	free(buf);
	return ret;
}

/* The receiver's answer to round @round: *@status is 0 (restored) or its -errno. */
static int read_ack(struct gm_mig_sender *m, uint32_t round, int *status)
{
	struct mig_ack a;
	int ret = read_all(m->fd, &a, sizeof(a));

	if (ret)
		return ret;
	if (memcmp(a.magic, MIG_ACK_MAGIC, sizeof(a.magic)) || a.round != round || a.status > 0)
		return -EPROTO;
	*status = a.status;
	return 0;
}

/*
 * Snapshot @m->vm with @flags into the memfd, send it as round @round of
 * @kind, and wait for the receiver's answer.  *@pages: page records in it.
 */
static int send_round(struct gm_mig_sender *m, enum mig_kind kind, unsigned int flags,
		      const void *app, size_t app_len, uint64_t *pages)
{
	uint32_t round = m->rep.rounds;
	uint64_t before = pages_written(m->vm);
	int ret, status = 0;
	off_t len;

	if (ftruncate(m->stream, 0) || lseek(m->stream, 0, SEEK_SET))
		return -errno;
	ret = gm_vm_snapshot(m->vm, m->stream, m->key, flags, app, app_len);
	if (ret) {
		snprintf(m->rep.message, sizeof(m->rep.message), "round %u: cannot snapshot: %s",
			 round, strerror(-ret));
		return ret;
	}
	*pages = pages_written(m->vm) - before;
	len = lseek(m->stream, 0, SEEK_CUR);
	if (len < 0)
		return -errno;
	ret = send_frame(m, kind, round, (uint64_t)len) ?: send_stream(m, (uint64_t)len) ?:
	      send_tag(m) ?: read_ack(m, round, &status);
	if (ret) {
		snprintf(m->rep.message, sizeof(m->rep.message), "round %u: %s", round, why(ret));
		return ret;
	}
	if (status) {
		snprintf(m->rep.message, sizeof(m->rep.message),
			 "the receiver refused round %u: %s", round, strerror(-status));
		return status;
	}
	m->rep.round_pages[m->rep.rounds++] = *pages;
	m->rep.bytes += (uint64_t)len;
	return 0;
}

/*
 * Rounds beside the running guest until one is small (MIG_STOP_PAGES), or
 * MIG_NO_GAIN rounds in a row were no smaller than the one before (the
 * guest dirties as fast as rounds go), or there were GM_MIG_MAX_ROUNDS.
 */
static int precopy(struct gm_mig_sender *m)
{
	uint64_t pages, prev = UINT64_MAX;
	unsigned int no_gain = 0;
	int ret;

	for (;;) {
		if (quitting(m)) {
			snprintf(m->rep.message, sizeof(m->rep.message),
				 "the guest ended before the migration could finish");
			return -ECANCELED;
		}
		ret = send_round(m, MIG_ROUND,
				 GM_SNAPSHOT_LIVE | (m->rep.rounds ? GM_SNAPSHOT_DIFF : 0),
				 m->app, m->app_len, &pages);
		if (ret)
			return ret;
		no_gain = m->rep.rounds > 1 && pages >= prev ? no_gain + 1 : 0;
		if (m->rep.rounds > 1 && (pages <= MIG_STOP_PAGES || no_gain == MIG_NO_GAIN))
			return 0;
		if (m->rep.rounds == GM_MIG_MAX_ROUNDS)
			return 0;
		prev = m->rep.rounds > 1 ? pages : UINT64_MAX;
	}
}

static void *send_thread(void *arg)
{
	struct gm_mig_sender *m = arg;
	int ret;

	if (!wait_after(m))
		return NULL;	/* the guest ended first: finish says so */
	m->start = gm_clock_now();
	ret = mig_connect(m) ?: start_logs(m) ?: precopy(m);
	pthread_mutex_lock(&m->lock);
	m->error = ret;
	/* The run may have ended meanwhile: then its end, not ours, stands. */
	if (!ret && !m->quit) {
		m->stopping = true;
		m->stop_at = gm_clock_now();
		gm_vm_stop(m->vm);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static void sender_free(struct gm_mig_sender *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->stream >= 0)
		close(m->stream);
	explicit_bzero(m->key, sizeof(m->key));
	chain_wipe(&m->chain);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->app);
	free(m->host);
	free(m->port);
	free(m);
}

int gm_mig_send_start(struct gm_mig_sender **out, struct gm_vm *vm, const char *to,
		      double after, const uint32_t *slots, unsigned int nr_slots,
		      const uint8_t *key, const void *app, size_t app_len)
{
	struct gm_mig_sender *m = calloc(1, sizeof(*m));
	pthread_condattr_t attr;
	int ret;

	if (!m)
		return -ENOMEM;
	if (nr_slots > GM_ARRAY_SIZE(m->slots)) {
		free(m);
		return -EINVAL;
	}
	m->vm = vm;
	m->after = after;
	m->fd = -1;
	m->stream = memfd_create("guestmem-migrate", MFD_CLOEXEC);
	memcpy(m->slots, slots, nr_slots * sizeof(*slots));
	m->nr_slots = nr_slots;
	memcpy(m->key, key, sizeof(m->key));
	m->app = malloc(app_len);
	m->app_len = app_len;
	m->rep.attempted = true;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &attr);
	pthread_condattr_destroy(&attr);
	ret = m->stream < 0 ? -errno : !m->app ? -ENOMEM : chain_init(&m->chain, key) ?:
	      split_address(to, &m->host, &m->port);
	if (!ret && !m->host)
		ret = -EINVAL;	/* the caller checked: HOST:PORT */
	if (!ret) {
		memcpy(m->app, app, app_len);
		ret = -pthread_create(&m->thread, NULL, send_thread, m);
	}
	if (ret) {
		sender_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

static void send_abort(struct gm_mig_sender *m)
{
	if (m->fd >= 0)
		send_frame(m, MIG_ABORT, m->rep.rounds, 0);
}

int gm_mig_send_finish(struct gm_mig_sender *m, bool ready, const void *app, size_t app_len,
		       struct gm_mig_report *report)
{
	uint64_t pages;
	int ret;

	pthread_mutex_lock(&m->lock);
	m->quit = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);

	if (!m->stopping) {
		/* The guest ran to its end here. */
		send_abort(m);
		ret = m->error ? m->error : -ECANCELED;
		if (!m->rep.message[0])
			snprintf(m->rep.message, sizeof(m->rep.message),
				 "the guest ended before the migration could finish");
		goto out;
	}
	if (!ready) {
		send_abort(m);
		snprintf(m->rep.message, sizeof(m->rep.message),
			 "the guest failed before its last round could be sent");
		ret = -ECANCELED;
		goto out;
	}
	m->rep.stopped = true;
	ret = send_round(m, MIG_LAST, GM_SNAPSHOT_DIFF, app, app_len, &pages);
	if (!ret) {
		m->rep.done = true;
		m->rep.downtime = gm_clock_now() - m->stop_at;
	}
out:
	m->rep.seconds = m->start ? gm_clock_now() - m->start : 0;
	*report = m->rep;
	sender_free(m);
	return ret;
}

/* ---- receiving ---- */

int gm_mig_listen(struct gm_mig_receiver *r, const char *where, uint16_t *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct addrinfo *res;
	char *host, *service;
	int one = 1, ret;

	memset(r, 0, sizeof(*r));
	r->listen_fd = r->fd = r->stream_fd = -1;
	if (split_address(where, &host, &service))
		return -ENOMEM;
	ret = getaddrinfo(host, service, &hints, &res);
	if (ret) {
		snprintf(r->message, sizeof(r->message), "cannot listen on '%s': %s", where,
			 gai_strerror(ret));
		ret = -EINVAL;
		goto out;
	}
	r->listen_fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (r->listen_fd >= 0)
		setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r->listen_fd < 0 || bind(r->listen_fd, res->ai_addr, res->ai_addrlen) ||
	    listen(r->listen_fd, 1) || getsockname(r->listen_fd, (struct sockaddr *)&ss, &len)) {
		ret = -errno;
		snprintf(r->message, sizeof(r->message), "cannot listen on '%s': %s", where,
			 strerror(errno));
	} else {
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
			      ((struct sockaddr_in *)&ss)->sin_port);
	}
	freeaddrinfo(res);
out:
	free(host);
	free(service);
	return ret;
}

/* Speak first: a fresh nonce, which every round's tag must cover. */
static int send_hello(struct gm_mig_receiver *r)
{
	struct mig_hello h;

	memcpy(h.magic, MIG_HELLO_MAGIC, sizeof(h.magic));
	randombytes_buf(r->chain->nonce, sizeof(r->chain->nonce));
	memcpy(h.nonce, r->chain->nonce, sizeof(h.nonce));
	return write_all(r->fd, &h, sizeof(h));
}

int gm_mig_accept(struct gm_mig_receiver *r, const uint8_t *key)
{
	int ret;

	r->chain = malloc(sizeof(*r->chain));
	ret = r->chain ? chain_init(r->chain, key) : -ENOMEM;
	if (ret) {
		snprintf(r->message, sizeof(r->message), "cannot set up: %s", strerror(-ret));
		return ret;
	}
	do
		r->fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (r->fd < 0 && errno == EINTR);
	if (r->fd < 0) {
		snprintf(r->message, sizeof(r->message), "cannot accept: %s", strerror(errno));
		return -errno;
	}
	set_timeouts(r->fd);
	r->stream_fd = memfd_create("guestmem-receive", MFD_CLOEXEC);
	if (r->stream_fd < 0) {
		snprintf(r->message, sizeof(r->message), "no memfd: %s", strerror(errno));
		return -errno;
	}
	ret = send_hello(r);
	if (ret)
		snprintf(r->message, sizeof(r->message), "cannot greet the sender: %s", why(ret));
	return ret;
}

static int send_ack(struct gm_mig_receiver *r, uint32_t round, int status)
{
	struct mig_ack a = { .round = round, .status = status };

	memcpy(a.magic, MIG_ACK_MAGIC, sizeof(a.magic));
	return write_all(r->fd, &a, sizeof(a));
}

/* Copy @len bytes of the connection into the stream memfd, rewound. */
static int receive_stream(struct gm_mig_receiver *r, uint64_t len)
{
	uint8_t *buf = malloc(MIG_BUF);
	int ret = buf ? 0 : -ENOMEM;

	if (!ret && (ftruncate(r->stream_fd, 0) || lseek(r->stream_fd, 0, SEEK_SET)))
		ret = -errno;
	while (!ret && len) {
		size_t n = len < MIG_BUF ? (size_t)len : MIG_BUF;

		ret = read_all(r->fd, buf, n);
		if (ret)
			break;
		crypto_generichash_update(&r->chain->state, buf, n);
		if (write(r->stream_fd, buf, n) != (ssize_t)n)
			ret = -EIO;
		len -= ret ? 0 : n;
	}
	if (!ret && lseek(r->stream_fd, 0, SEEK_SET))
		ret = -errno;
	free(buf);
	return ret;
}

/*
 * The round's tag must be the one this connection's chain gives.  If not,
 * say which: a stream our key does not open (-EKEYREJECTED: the other side
 * has another key), or one that is not this migration's (-EBADMSG).
 */
static int check_tag(struct gm_mig_receiver *r)
{
	uint8_t tag[MIG_TAG_BYTES], want[MIG_TAG_BYTES], app[64];
	size_t len = sizeof(app);
	int ret = read_all(r->fd, tag, sizeof(tag));

	if (ret)
		return ret;
	chain_end(r->chain, want);
	if (!sodium_memcmp(tag, want, sizeof(tag)))
		return 0;
	ret = gm_snapshot_app(r->stream_fd, r->chain->snapshot_key, app, &len);
	return ret == -EKEYREJECTED ? ret : -EBADMSG;
}

int gm_mig_next(struct gm_mig_receiver *r, int status)
{
	struct mig_frame f;
	int ret;

	if (r->round) {
		ret = send_ack(r, r->round - 1, status);
		if (status)
			return status;
		if (ret) {
			snprintf(r->message, sizeof(r->message), "cannot answer round %u: %s",
				 r->round - 1, why(ret));
			return ret;
		}
		if (r->last)
			return -ENODATA;
	}
	ret = read_all(r->fd, &f, sizeof(f));
	if (!ret && (memcmp(f.magic, MIG_MAGIC, sizeof(f.magic)) || f.round != r->round ||
		     f.kind < MIG_ROUND || f.kind > MIG_ABORT || f.len > MIG_MAX_STREAM))
		ret = -EPROTO;
	if (!ret && f.kind == MIG_ABORT) {
		snprintf(r->message, sizeof(r->message),
			 "the sender gave up after %u rounds (its guest goes on there)", r->round);
		return -ECANCELED;
	}
	if (!ret) {
		chain_begin(r->chain, &f);
		ret = receive_stream(r, f.len) ?: check_tag(r);
	}
	if (ret == -EBADMSG || ret == -EKEYREJECTED) {
		snprintf(r->message, sizeof(r->message), ret == -EBADMSG ?
			 "round %u is not this migration's: replayed, spliced from another, or "
			 "changed" : "round %u refused: the key does not open it", r->round);
		send_ack(r, r->round, ret);	/* the sender hears why */
		return ret;
	}
	if (ret) {
		snprintf(r->message, sizeof(r->message), "round %u: %s", r->round, why(ret));
		return ret;
	}
	r->last = f.kind == MIG_LAST;
	r->round++;
	return 0;
}

void gm_mig_close(struct gm_mig_receiver *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->stream_fd >= 0)
		close(r->stream_fd);
	r->fd = r->listen_fd = r->stream_fd = -1;
	if (r->chain)
		chain_wipe(r->chain);
	free(r->chain);
	r->chain = NULL;
}
