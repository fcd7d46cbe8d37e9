// SPDX-License-Identifier: MIT
/*
 * The guest kit's run-time: the C entry that start.S calls, the few libc
 * functions gcc may emit calls to, and gm_printf.  Freestanding; build with
 * -fno-tree-loop-distribute-patterns, or gcc turns the loops below into
 * calls to themselves.
 */
#include <guestmem/guest/guest.h>

/* Exit statuses of the kit itself, out of the way of a program's own. */
#define GM_KIT_NOT_STARTED_BY_GUESTMEM	127

void gm_kit_main(unsigned int vcpu, const struct gm_guest_info *info)
	__attribute__((noreturn, used));

void gm_kit_main(unsigned int vcpu, const struct gm_guest_info *info)
{
	/* A program entered some other way (a built-in's entry registers) has no info. */
	if (!info || info->magic != GM_GUEST_INFO_MAGIC) {
		gm_puts("guest kit: no struct gm_guest_info from `guestmem run --guest`\n");
		gm_exit(GM_KIT_NOT_STARTED_BY_GUESTMEM);
	}
	gm_exit(guest_main(vcpu, info));
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

/* ---- gm_printf: into a buffer on the stack (shared memory), flushed when full ---- */

struct out {
	char buf[256];
	size_t len;
	long err;
};

static void flush(struct out *o)
{
	long ret = o->len ? gm_print(o->buf, o->len) : 0;

	if (ret && !o->err)
		o->err = ret;
	o->len = 0;
}

static void put(struct out *o, char c)
{
	if (o->len == sizeof(o->buf))
		flush(o);
	o->buf[o->len++] = c;
}

/* @v in @base, at least @width characters wide, padded with @pad. */
static void put_number(struct out *o, uint64_t v, unsigned int base, bool upper,
		       bool negative, unsigned int width, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (negative && pad == '0')
		put(o, '-');
	for (unsigned int w = n + (negative ? 1 : 0); w < width; w++)
		put(o, pad);
	if (negative && pad != '0')
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
}

/* The argument of an integer conversion with @longs 'l's (2 for ll, z as l). */
static uint64_t take_unsigned(va_list *ap, int longs)
{
	return longs ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

static int64_t take_signed(va_list *ap, int longs)
{
	return longs ? va_arg(*ap, long) : va_arg(*ap, int);
}

/* One conversion after the '%' at *@fmt; returns where the format goes on. */
static const char *convert(struct out *o, const char *fmt, va_list *ap)
{
	unsigned int width = 0;
	char pad = ' ';
	int longs = 0;
	int64_t s;

	if (*fmt == '0')
		pad = *fmt++;
	while (*fmt >= '0' && *fmt <= '9')
		width = width * 10 + (unsigned int)(*fmt++ - '0');
	while (*fmt == 'l' || *fmt == 'z') {
		longs++;
		fmt++;
	}
	switch (*fmt) {
	case 'd': case 'i':
		s = take_signed(ap, longs);
		put_number(o, s < 0 ? -(uint64_t)s : (uint64_t)s, 10, false, s < 0, width, pad);
		break;
	case 'u':
		put_number(o, take_unsigned(ap, longs), 10, false, false, width, pad);
		break;
	case 'x': case 'X':
		put_number(o, take_unsigned(ap, longs), 16, *fmt == 'X', false, width, pad);
		break;
	case 'p':
		put(o, '0');
		put(o, 'x');
		put_number(o, (uintptr_t)va_arg(*ap, void *), 16, false, false, width, pad);
		break;
	case 's':
		for (const char *str = va_arg(*ap, const char *); str && *str; str++)
			put(o, *str);
		break;
	case 'c':
		put(o, (char)va_arg(*ap, int));
		break;
	case '\0':
		return fmt;
	default:	/* %% and anything unknown: the character itself */
		put(o, *fmt);
		break;
	}
	return fmt + 1;
}

long gm_vprintf(const char *fmt, va_list ap)
{
	struct out o = { .len = 0 };
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%')
			put(&o, *fmt++);
		else
			fmt = convert(&o, fmt + 1, &args);
	}
	va_end(args);
	flush(&o);
	return o.err;
}

long gm_printf(const char *fmt, ...)
{
	va_list ap;
	long ret;

	va_start(ap, fmt);
	ret = gm_vprintf(fmt, ap);
	va_end(ap);
	return ret;
}
