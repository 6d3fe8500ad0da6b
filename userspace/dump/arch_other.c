// SPDX-License-Identifier: GPL-2.0-only
/* Any architecture without its arch_<name>.c: the dumper says "unsupported". */
#ifndef __x86_64__
#include "dump/arch.h"

const bool arch_supported = false;
const char arch_name[] = "this architecture";
const uint16_t arch_elf_machine = 0;
const struct arch_regset arch_regsets[1];
const size_t arch_regset_count = 0;

int arch__extra_notes(const struct capture *cap, struct note_buf *nb)
{
	return 0;
}

uint64_t arch__sp(const elf_gregset_t *regs)
{
	return 0;
}

uint64_t arch__pc(const elf_gregset_t *regs)
{
	return 0;
}
#endif
