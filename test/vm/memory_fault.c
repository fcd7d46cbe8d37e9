// SPDX-License-Identifier: MIT
/* Memory-fault exits on the emu engine (memory_fault.h says what is checked). */
#include "memory_fault.h"

int main(void)
{
	return memory_fault_main(GM_ENGINE_EMU);
}
