/* SPDX-License-Identifier: MIT */
/*
 * The 16550A, reduced: a byte written to the transmit register leaves at
 * once, so the transmitter is always empty, and its interrupt (when the
 * guest enables it) is pending again after every byte until the guest reads
 * the interrupt identification register.  The receiver never has data.
 * Register map, reset values and interrupt rules from the 16550 data sheet.
 */
#include <string.h>

#include "serial.h"

enum {
	REG_DATA = 0,		/* THR out, RBR in; DLL when DLAB */
	REG_IER = 1,		/* DLM when DLAB */
	REG_IIR = 2,		/* FCR out */
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define LCR_DLAB	0x80
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_FIFO	0xc0	/* FIFOs enabled: a 16550A */
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_LOOP	0x10
#define MSR_IDLE	0xb0	/* DCD, DSR, CTS: a line that is always ready */

void gm_serial_init(struct gm_serial *s, void (*tx)(void *opaque, uint8_t byte),
		    void (*set_irq)(void *opaque, bool level), void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->tx = tx;
	s->set_irq = set_irq;
	s->opaque = opaque;
}

void gm_serial_destroy(struct gm_serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* The line follows whether an enabled interrupt is pending. */
static void update_irq(struct gm_serial *s)
{
	bool level = (s->ier & IER_THRI) && s->thre_pending;

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (s->set_irq)
		s->set_irq(s->opaque, level);
}

static void transmit(struct gm_serial *s, uint8_t byte)
{
	s->bytes++;
	/* In loopback the byte goes back to the receiver, which we do not have. */
	if (!(s->mcr & MCR_LOOP) && s->tx)
		s->tx(s->opaque, byte);
	s->thre_pending = true;
}

static void reg_write(struct gm_serial *s, unsigned int offset, uint8_t val)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (offset) {
	case REG_DATA:
		if (dlab)
			s->dll = val;
		else
			transmit(s, val);
		break;
	case REG_IER:
		if (dlab) {
			s->dlm = val;
			break;
		}
		/* Enabling the interrupt with the transmitter empty raises it at once. */
		if ((val & IER_THRI) && !(s->ier & IER_THRI))
			s->thre_pending = true;
		s->ier = val & 0x0f;
		break;
	case REG_LCR:
		s->lcr = val;
		break;
	case REG_MCR:
		s->mcr = val & 0x1f;
		break;
	case REG_SCR:
		s->scr = val;
		break;
	default:		/* FCR, and the read-only LSR and MSR */
		break;
	}
}

static uint8_t reg_read(struct gm_serial *s, unsigned int offset)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t iir;

	switch (offset) {
	case REG_DATA:
		return dlab ? s->dll : 0;
	case REG_IER:
		return dlab ? s->dlm : s->ier;
	case REG_IIR:
		iir = IIR_FIFO | IIR_NONE;
		if ((s->ier & IER_THRI) && s->thre_pending) {
			iir = IIR_FIFO | IIR_THRI;
			s->thre_pending = false;	/* reading it takes the interrupt */
		}
		return iir;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT;
	case REG_MSR:
		/* In loopback the modem inputs follow the outputs (RTS, DTR, OUT1, OUT2). */
		if (s->mcr & MCR_LOOP)
			return (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
					 ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		return MSR_IDLE;
	default:
		return s->scr;
	}
}

void gm_serial_io(struct gm_serial *s, unsigned int offset, bool out, uint8_t *val)
{
	if (offset >= GM_SERIAL_PORTS)
		return;
	pthread_mutex_lock(&s->lock);
	if (out)
		reg_write(s, offset, *val);
	else
		*val = reg_read(s, offset);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}
