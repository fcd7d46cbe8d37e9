/* SPDX-License-Identifier: MIT */
/*
 * The conversion benchmark's counts, shared by its guest program
 * (convbench.S) and the host that times it (src/cli/bench-guest.c).  Only
 * #defines: the assembler includes it too.
 */
#ifndef GUESTMEM_GUESTS_CONVBENCH_H
#define GUESTMEM_GUESTS_CONVBENCH_H

#define CB_EXITS	2000	/* phase 1: bare hypercall exits */
#define CB_4K		500	/* phases 2 and 3: 4 KiB round trips */
#define CB_2M		50	/* phase 4: 2 MiB round trips */
#define CB_RAM_MIN	0x400000	/* RAM it needs */

/* GM_HC_PROGRESS values: phase k starts at k; CB_DONE ends the last. */
#define CB_PHASE_EXITS	1
#define CB_PHASE_4K	2
#define CB_PHASE_4K_TOUCH 3
#define CB_PHASE_2M	4
#define CB_DONE		5

#endif
