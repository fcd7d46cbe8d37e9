/* SPDX-License-Identifier: MIT */
/*
 * A PC's first serial port (COM1: ports 0x3f8-0x3ff, interrupt 4), as a
 * 16550A that transmits at once and never receives: what a Linux guest's
 * console needs of it.
 */
#ifndef GM_VMM_SERIAL_H
#define GM_VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define GM_SERIAL_BASE	0x3f8
#define GM_SERIAL_PORTS	8
#define GM_SERIAL_IRQ	4

struct gm_serial {
	pthread_mutex_t lock;		/* the registers below; vCPUs write at once */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thre_pending;		/* "transmitter empty" interrupt not yet taken */
	bool irq_level;			/* the line as last driven */
	uint64_t bytes;			/* bytes the guest sent */
	/* Called under @lock: a byte leaves; drive the interrupt line. */
	void (*tx)(void *opaque, uint8_t byte);
	void (*set_irq)(void *opaque, bool level);
	void *opaque;
};

/** gm_serial_init - a port at reset, its bytes to @tx, its interrupt to @set_irq. */
void gm_serial_init(struct gm_serial *s, void (*tx)(void *opaque, uint8_t byte),
		    void (*set_irq)(void *opaque, bool level), void *opaque);

/** gm_serial_destroy - free what gm_serial_init() made. */
void gm_serial_destroy(struct gm_serial *s);

/**
 * gm_serial_io - a guest's access to register @offset (0-7) of the port:
 * an out of *@val, or an in into *@val.  Other sizes than a byte are the
 * caller's to split.
 */
void gm_serial_io(struct gm_serial *s, unsigned int offset, bool out, uint8_t *val);

#endif
