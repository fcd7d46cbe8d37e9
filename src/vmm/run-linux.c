/* SPDX-License-Identifier: MIT */
/*
 * `guestmem run --kernel`: an unmodified Linux kernel on a PC whose RAM is
 * guest-only memory.  RAM is one memslot at gpa 0, private from the start;
 * the kernel, its initrd, boot parameters, page tables and MP table go in
 * by the private launch (measured into the launch digest), so the host
 * never has them in a page it can read.  The PC has KVM's interrupt
 * controllers and timer, and one device of ours: the serial console.
 *
 * After the run the host's view of RAM is searched, through every way the
 * public API offers (reads of shared memory, and its files), for the bytes
 * the caller names and for pages of the kernel image: with private RAM
 * nothing is found; with shared RAM (the comparison) both are.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "linux-boot.h"
#include "run-internal.h"
#include "serial.h"

#define PAGE		4096ULL
#define MAX_FILE	(512ULL << 20)	/* a kernel or initrd larger than this is a mistake */
#define DEFAULT_CMDLINE	"console=ttyS0 reboot=k panic=-1"
/* The keyboard controller's command port: 0xfe pulses the reset line (reboot=k). */
#define KBD_COMMAND	0x64
#define KBD_RESET	0xfe

struct linux_run {
	struct run_ctx *ctx;
	struct gm_serial serial;
	double start;
	size_t marker_len;		/* of cfg->ready_marker */
	char *tail;			/* the console's last marker_len bytes */
	size_t tail_len;
	struct gm_linux_image img;
	const uint8_t *payload;		/* the kernel as loaded (img's region) */
	void *kernel, *initrd;
	size_t kernel_len, initrd_len;
};

static int read_whole(const char *path, void **buf, size_t *len)
{
	struct stat st;
	ssize_t n = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EFBIG;
		goto out;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t done = 0; done < *len; done += (size_t)n) {
		n = pread(fd, (char *)*buf + done, *len - done, (off_t)done);
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
	}
out:
	close(fd);
	return ret;
}

/* ---- devices ---- */

static void console_tx(void *opaque, uint8_t byte)
{
	struct linux_run *l = opaque;
	const struct gm_run_config *cfg = l->ctx->cfg;

	if (cfg->console) {
		fputc(byte, cfg->console);
		if (byte == '\n')
			fflush(cfg->console);
	}
	if (!l->marker_len || l->ctx->result->ready_seconds >= 0)
		return;
	/* The last bytes, compared whole: a marker may repeat its own start ("aab" in "aaab"). */
	if (l->tail_len == l->marker_len)
		memmove(l->tail, l->tail + 1, --l->tail_len);
	l->tail[l->tail_len++] = (char)byte;
	if (l->tail_len == l->marker_len && !memcmp(l->tail, cfg->ready_marker, l->marker_len))
		l->ctx->result->ready_seconds = gm_clock_now() - l->start;
}

static void console_irq(void *opaque, bool level)
{
	struct linux_run *l = opaque;

	gm_vm_irq_line(l->ctx->vm, GM_SERIAL_IRQ, level);
}

static int on_port_io(void *opaque, struct gm_vm *vm, unsigned int vcpu, uint16_t port,
		      bool out, unsigned int size, void *data)
{
	struct linux_run *l = opaque;
	uint8_t *bytes = data;

	if (port >= GM_SERIAL_BASE && port < GM_SERIAL_BASE + GM_SERIAL_PORTS) {
		/* A wider access reaches the registers after it too, as on the bus. */
		for (unsigned int i = 0; i < size && port + i < GM_SERIAL_BASE + GM_SERIAL_PORTS; i++)
			gm_serial_io(&l->serial, port + i - GM_SERIAL_BASE, out, &bytes[i]);
		return 0;
	}
	if (out && port == KBD_COMMAND && bytes[0] == KBD_RESET)
		return 1;
	if (!out)
		memset(data, 0xff, size);	/* nothing there */
	return 0;
}

/* ---- the VM ---- */

static int build_pc(struct linux_run *l)
{
	struct run_ctx *ctx = l->ctx;
	const struct gm_run_config *cfg = ctx->cfg;
	unsigned int huge = cfg->store == GM_RUN_HUGETLB ? GM_MFD_HUGETLB : 0;
	struct gm_memslot ram = { .slot = 0, .gpa = 0, .size = cfg->mem };
	int ret;

	ret = gm_vm_create(cfg->engine, &ctx->vm);
	if (ret)
		return ret;
	if (cfg->private && cfg->in_place) {
		ret = run_in_place_file(cfg->mem, huge, &ctx->shared, &ctx->private);
	} else {
		ret = run_make_sized("guestmem-ram", GM_MFD_CLOEXEC | huge, cfg->mem, &ctx->shared);
		if (!ret && cfg->private)
			ret = run_make_sized("guestmem-private", GM_MFD_GUEST | huge, cfg->mem,
					     &ctx->private);
	}
	if (ret)
		return ret;
	ram.shared_file = ctx->shared;
	ram.private_file = ctx->private;
	ram.flags = cfg->private ? GM_SLOT_PRIVATE : 0;
	ret = gm_vm_set_memslot(ctx->vm, &ram);
	if (ret || !cfg->private)
		return ret;
	return gm_vm_set_memory_attributes(ctx->vm, 0, cfg->mem, GM_MEMORY_ATTRIBUTE_PRIVATE, 0);
}

static int launch(struct linux_run *l)
{
	struct run_ctx *ctx = l->ctx;
	const struct gm_run_config *cfg = ctx->cfg;
	struct gm_vm_x86_boot boot = { .nr_vcpus = cfg->vcpus };
	int ret;

	ret = gm_linux_image_build(&l->img, l->kernel, l->kernel_len, l->initrd, l->initrd_len,
				   cfg->cmdline ? cfg->cmdline : DEFAULT_CMDLINE, cfg->mem,
				   cfg->vcpus);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < l->img.nr_regions && !ret; i++)
		ret = gm_vm_launch_populate(ctx->vm, l->img.regions[i].gpa, l->img.regions[i].data,
					    l->img.regions[i].len);
	if (ret)
		return ret;
	ret = gm_vm_launch_digest(ctx->vm, ctx->result->launch_digest);
	if (ret)
		return ret;
	boot.rip = l->img.entry;
	boot.rsi = l->img.boot_params;
	boot.cr3 = l->img.cr3;
	boot.gdt_base = l->img.gdt_base;
	boot.gdt_limit = l->img.gdt_limit;
	return gm_vm_boot_x86(ctx->vm, &boot);
}

/* ---- after the run: what the host can see ---- */

/* A page's fingerprint, to find kernel pages among RAM's quickly. */
static uint64_t page_hash(const uint8_t *p)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;

	for (size_t i = 0; i < PAGE; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	return h;
}

/* A page of the kernel image, by its fingerprint. */
struct kernel_page {
	uint64_t hash;
	uint32_t index;			/* the page's number in the image */
	bool seen;			/* found in the host's view */
};

struct kernel_pages {
	struct kernel_page *page;	/* sorted by hash */
	size_t n;
};

static int cmp_hash(const void *a, const void *b)
{
	uint64_t x = ((const struct kernel_page *)a)->hash, y = ((const struct kernel_page *)b)->hash;

	return x < y ? -1 : x > y;
}

/* The kernel image's whole pages, but those all one byte (padding says nothing). */
static int kernel_pages_init(struct kernel_pages *k, const uint8_t *kernel, size_t len)
{
	k->page = calloc(len / PAGE + 1, sizeof(*k->page));
	k->n = 0;
	if (!k->page)
		return -ENOMEM;
	for (size_t i = 0; i + PAGE <= len; i += PAGE) {
		const uint8_t *p = kernel + i;

		if (p[0] == p[PAGE - 1] && !memcmp(p, p + 1, PAGE - 1))
			continue;
		k->page[k->n++] = (struct kernel_page){ .hash = page_hash(p), .index = i / PAGE };
	}
	qsort(k->page, k->n, sizeof(*k->page), cmp_hash);
	return 0;
}

/* Look at one page the host could read. */
static void scan_page(struct linux_run *l, struct kernel_pages *k, const uint8_t *page)
{
	const struct gm_run_config *cfg = l->ctx->cfg;
	uint64_t h = page_hash(page);
	size_t lo = 0, hi = k->n;

	for (const uint8_t *p = page; cfg->search_len && p + cfg->search_len <= page + PAGE; p++) {
		p = memmem(p, (size_t)(page + PAGE - p), cfg->search, cfg->search_len);
		if (!p)
			break;
		l->ctx->result->host_view.search_hits++;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->page[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < k->n && k->page[lo].hash == h; lo++)
		if (!memcmp(page, l->payload + (size_t)k->page[lo].index * PAGE, PAGE))
			k->page[lo].seen = true;
}

/*
 * Every way the public API lets the host read guest RAM: the VM's shared
 * reads, page by page, and reads of the slot's files.
 */
static int search_host_view(struct linux_run *l)
{
	struct run_ctx *ctx = l->ctx;
	struct gm_file *files[2] = { ctx->shared, ctx->private };
	struct gm_run_result *r = ctx->result;
	struct kernel_pages k = { 0 };
	uint8_t *page = malloc(PAGE);
	int ret = -ENOMEM;

	if (!page)
		return ret;
	ret = kernel_pages_init(&k, l->payload, l->img.kernel_len);
	if (ret)
		goto out;
	for (uint64_t gpa = 0; gpa < ctx->cfg->mem; gpa += PAGE) {
		r->host_view.pages++;
		if (gm_vm_read_shared(ctx->vm, gpa, page, PAGE))
			continue;
		r->host_view.pages_read++;
		scan_page(l, &k, page);
	}
	for (unsigned int f = 0; f < 2 && files[f]; f++) {
		for (uint64_t off = 0; off < ctx->cfg->mem; off += PAGE) {
			ssize_t n = gm_pread(files[f], page, PAGE, (off_t)off);

			if (n <= 0)
				break;		/* a guest-only file: -EPERM, as it should */
			memset(page + n, 0, PAGE - (size_t)n);
			r->host_view.file_bytes_read += (uint64_t)n;
			scan_page(l, &k, page);
		}
	}
	r->host_view.kernel_pages = k.n;
	for (size_t i = 0; i < k.n; i++)
		r->host_view.kernel_pages_seen += k.page[i].seen;
out:
	free(k.page);
	free(page);
	return ret;
}

/* ---- the run ---- */

static void judge_pc(struct gm_run_result *r, const struct gm_exit *exits, unsigned int n,
		     int run_ret)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct gm_exit *e = &exits[i];

		if (e->reason == GM_EXIT_GUEST_EXIT) {
			r->exited = true;
			r->exit_status = e->status;
			r->pass = e->status == 0;
			if (!r->pass)
				snprintf(r->message, sizeof(r->message),
					 "the guest exited with status %lld", (long long)e->status);
			return;
		}
		if (e->reason == GM_EXIT_RESET) {
			r->reset = true;
			r->pass = true;
			return;
		}
	}
	r->pass = false;
	for (unsigned int i = 0; i < n; i++) {
		if (exits[i].reason == GM_EXIT_STOPPED)
			continue;
		if (exits[i].reason == GM_EXIT_MEMORY_FAULT)
			snprintf(r->message, sizeof(r->message), "vCPU %u: memory fault at gpa %#llx",
				 i, (unsigned long long)exits[i].fault.gpa);
		else
			snprintf(r->message, sizeof(r->message), "vCPU %u: engine error at rip %#llx: "
				 "%s", i, (unsigned long long)exits[i].rip,
				 strerror((int)-exits[i].status));
		return;
	}
	snprintf(r->message, sizeof(r->message), "the run was stopped (%s)", strerror(-run_ret));
}

/* Where each vCPU was when time ran out: what a hung kernel's symbols explain. */
static void timeout_message(struct gm_run_result *r, const struct gm_run_config *cfg,
			    const struct gm_exit *exits)
{
	int n = snprintf(r->message, sizeof(r->message), "timed out after %g s; rip", cfg->timeout);

	for (unsigned int i = 0; i < cfg->vcpus && n > 0 && (size_t)n < sizeof(r->message); i++)
		n += snprintf(r->message + n, sizeof(r->message) - (size_t)n, "%s %#llx",
			      i ? "," : "", (unsigned long long)exits[i].rip);
}

static int run_pc(struct linux_run *l)
{
	struct run_ctx *ctx = l->ctx;
	struct gm_vm_handlers handlers = { .opaque = l, .port_io = on_port_io };
	struct watchdog dog = { .vm = ctx->vm, .seconds = ctx->cfg->timeout };
	struct gm_exit exits[GM_GUEST_MAX_VCPUS];
	pthread_t dog_thread;
	bool watched = false;
	int ret;

	if (ctx->cfg->timeout > 0) {
		ret = run_watchdog_start(&dog, &dog_thread);
		if (ret)
			return ret;
		watched = true;
	}
	l->start = gm_clock_now();
	ret = gm_vm_run(ctx->vm, &handlers, exits);
	ctx->result->guest_seconds = gm_clock_now() - l->start;
	if (watched)
		ctx->result->timed_out = run_watchdog_end(&dog, dog_thread);
	if (ret && ret != -EIO && ret != -EINTR)
		return ret;
	gm_vm_get_stats(ctx->vm, &ctx->result->stats);
	/* A kernel keeps what it touched: the end of the run is about its peak. */
	atomic_store(&ctx->frames_peak, gm_frames_in_use());
	ctx->result->console_bytes = l->serial.bytes;
	judge_pc(ctx->result, exits, ctx->cfg->vcpus, ret);
	if (ctx->result->timed_out) {
		ctx->result->pass = false;
		timeout_message(ctx->result, ctx->cfg, exits);
	}
	return search_host_view(l);
}

static void launch_error(struct gm_run_result *r, const struct gm_run_config *cfg, int err)
{
	if (err == -ENOEXEC)
		snprintf(r->message, sizeof(r->message), "%s is not a bzImage this VMM can boot "
			 "(x86 boot protocol 2.12 or later, with a 64-bit entry)", cfg->kernel);
	else if (err == -E2BIG)
		snprintf(r->message, sizeof(r->message), "%s, its initrd and command line do not "
			 "fit in --mem %lluM", cfg->kernel, (unsigned long long)(cfg->mem >> 20));
	else
		snprintf(r->message, sizeof(r->message), "could not set up the VM: %s",
			 strerror(-err));
}

int run_linux(struct run_ctx *ctx)
{
	const struct gm_run_config *cfg = ctx->cfg;
	struct linux_run *l = calloc(1, sizeof(*l));
	const char *what = "the kernel";
	int ret;

	if (!l)
		return -ENOMEM;
	l->ctx = ctx;
	ctx->result->linux_boot = true;
	ctx->result->ready_seconds = -1;
	l->marker_len = cfg->ready_marker ? strlen(cfg->ready_marker) : 0;
	l->tail = malloc(l->marker_len + 1);
	if (!l->tail) {
		free(l);
		return -ENOMEM;
	}
	gm_serial_init(&l->serial, console_tx, console_irq, l);
	ret = read_whole(cfg->kernel, &l->kernel, &l->kernel_len);
	if (!ret && cfg->initrd) {
		what = "the initrd";
		ret = read_whole(cfg->initrd, &l->initrd, &l->initrd_len);
	}
	if (ret) {
		snprintf(ctx->result->message, sizeof(ctx->result->message), "cannot read %s: %s",
			 what, strerror(-ret));
		goto out;
	}
	ret = build_pc(l) ?: launch(l);
	if (ret) {
		launch_error(ctx->result, cfg, ret);
		goto out;
	}
	ctx->result->engine = gm_vm_engine_name(ctx->vm);
	l->payload = NULL;
	for (unsigned int i = 0; i < l->img.nr_regions; i++)
		if (l->img.regions[i].gpa == l->img.kernel_load)
			l->payload = l->img.regions[i].data;
	ret = run_pc(l);
	if (ret)
		snprintf(ctx->result->message, sizeof(ctx->result->message),
			 "could not run the VM: %s", strerror(-ret));
out:
	gm_linux_image_free(&l->img);
	gm_serial_destroy(&l->serial);
	free(l->kernel);
	free(l->initrd);
	free(l->tail);
	free(l);
	return ret;
}
