/* SPDX-License-Identifier: MIT */
/* The emu engine where guestmem was built without unicorn: never available. */
#include "engine.h"

static int emu_absent(const char **why)
{
	*why = "built without the unicorn emulator";
	return 0;
}

const struct gm_engine_ops gm_emu_engine = {
	.name = "emu",
	.available = emu_absent,
};
