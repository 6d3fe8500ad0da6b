// SPDX-License-Identifier: GPL-2.0-only
/* x86_64: general registers are struct user_regs_struct (elf_gregset_t). */
#ifdef __x86_64__
#include <elf.h>
#include <sys/user.h>

#include "dump/arch.h"

const bool arch_supported = true;
const char arch_name[] = "x86_64";
const uint16_t arch_elf_machine = EM_X86_64;

/* The kernel's x86_64 core: NT_PRFPREG (fxsave, 512 bytes), then NT_X86_XSTATE (its
 * size is the CPU's XSAVE area, e.g. 832 or 2696 bytes). */
const struct arch_regset arch_regsets[] = {
	{ NT_PRFPREG, "CORE", sizeof(struct user_fpregs_struct) },
	{ NT_X86_XSTATE, "LINUX", 16384 },
};
const size_t arch_regset_count = sizeof(arch_regsets) / sizeof(arch_regsets[0]);

uint64_t arch__sp(const elf_gregset_t *regs)
{
	return ((const struct user_regs_struct *)regs)->rsp;
}

uint64_t arch__pc(const elf_gregset_t *regs)
{
	return ((const struct user_regs_struct *)regs)->rip;
}
#endif
