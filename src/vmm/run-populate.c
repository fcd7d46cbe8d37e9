/* SPDX-License-Identifier: MIT */
/*
 * The kernel side's helper (gm_run_config.populate_ahead): a thread that
 * populates the RAM memslot's mapping of a plain memfd 2 MiB at a time ahead
 * of the guest, as guestmem's prefault thread does for its private memory,
 * so that the benchmarks compare like with like.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "run-internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

/*
 * The RAM memslot's mapping of @fd (@size bytes from offset 0).  The
 * library maps each memslot once and keeps the address to itself, so look
 * for it in /proc/self/maps by the memfd's device and inode.  NULL: none.
 */
static uint8_t *find_window(int fd, uint64_t size)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	uint8_t *win = NULL;
	char line[512];
	struct stat st;
	FILE *maps;

	if (fstat(fd, &st))
		return NULL;
	maps = fopen("/proc/self/maps", "re");
	if (!maps)
		return NULL;
	while (!win && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &end, &off, &maj, &min,
			   &ino) == 6 && ino == st.st_ino && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && !off && end - start == size)
			win = (uint8_t *)(uintptr_t)start;
	fclose(maps);
	return win;
}

static void *populate_thread(void *arg)
{
	struct populate *p = arg;
	uint64_t off, len, generation;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->done >= p->want) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		off = p->done;
		len = p->size - off < SZ_2M ? p->size - off : SZ_2M;
		generation = p->generation;
		pthread_mutex_unlock(&p->lock);
		madvise(p->win + off, len, MADV_POPULATE_WRITE);
		pthread_mutex_lock(&p->lock);
		if (generation == p->generation)	/* else RAM was punched meanwhile */
			p->done = off + len;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Populate up to the end of the range after @pos's and populate_ahead more; @restart: from 0. */
void run_populate_upto(struct run_ctx *ctx, uint64_t pos, bool restart)
{
	struct populate *p = &ctx->pop;
	uint64_t want = (pos & ~(SZ_2M - 1)) + (1 + (uint64_t)ctx->cfg->populate_ahead) * SZ_2M;

	pthread_mutex_lock(&p->lock);
	if (restart) {
		p->generation++;
		p->done = 0;
		p->want = 0;
	}
	if (want > p->size)
		want = p->size;
	if (want > p->want) {
		p->want = want;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

/* GM_HC_PROGRESS from a vCPU: bytes done; retouch's second pass counts from RAM's size. */
void run_populate_follow(struct run_ctx *ctx, uint64_t done)
{
	run_populate_upto(ctx, done > ctx->cfg->mem ? done - ctx->cfg->mem : done, false);
}

int run_populate_start(struct run_ctx *ctx)
{
	struct populate *p = &ctx->pop;
	int fd = gm_file_fd(ctx->shared);

	p->win = fd >= 0 ? find_window(fd, ctx->cfg->mem) : NULL;
	if (!p->win)
		return -ENOENT;
	p->size = ctx->cfg->mem;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	run_populate_upto(ctx, 0, true);	/* as a guest's first fault starts the library's */
	if (pthread_create(&p->thread, NULL, populate_thread, p)) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		return -EAGAIN;
	}
	p->running = true;
	return 0;
}

void run_populate_stop(struct populate *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->running = false;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}
