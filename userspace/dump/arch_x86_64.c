// SPDX-License-Identifier: GPL-2.0-only
/* x86_64: general registers are struct user_regs_struct (elf_gregset_t). */
#ifdef __x86_64__
#include <cpuid.h>
#include <elf.h>
#include <stdint.h>
#include <string.h>
#include <sys/user.h>

#include "dump/arch.h"
#include "dump/capture.h"
#include "dump/notes.h"

#ifndef NT_X86_XSAVE_LAYOUT
#define NT_X86_XSAVE_LAYOUT 0x205 /* Linux 6.11, include/uapi/linux/elf.h */
#endif
#define XSAVE_XCR0_OFFSET 464	  /* sw_reserved.xfeatures in the fxsave area */

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

/* One record per enabled extended feature (from YMM on): CPUID leaf 0xD gives its
 * size and offset in the standard XSAVE format, as arch/x86/kernel/fpu/xstate.c
 * dump_xsave_layout_desc() writes them. */
int arch__extra_notes(const struct capture *cap, struct note_buf *nb)
{
	struct {
		uint32_t type, size, offset, flags;
	} rec[64];
	uint64_t xcr0 = 0;
	unsigned int n = 0, eax, ebx, ecx, edx;

	for (size_t i = 0; cap->thread_count && i < cap->threads[0].regset_count; i++)
		if (cap->threads[0].regsets[i].type == NT_X86_XSTATE &&
		    cap->threads[0].regsets[i].len >= XSAVE_XCR0_OFFSET + 8)
			memcpy(&xcr0, (char *)cap->threads[0].regsets[i].data + XSAVE_XCR0_OFFSET, 8);
	if (!xcr0 || __get_cpuid_max(0, NULL) < 0xd)
		return 0;
	for (unsigned int f = 2; f < 64; f++) {
		if (!(xcr0 & (1ULL << f)))
			continue;
		__cpuid_count(0xd, f, eax, ebx, ecx, edx);
		if (!eax)
			continue;
		rec[n++] = (typeof(rec[0])){ f, eax, ebx, 0 };
	}
	return n ? notes__add(nb, "LINUX", NT_X86_XSAVE_LAYOUT, rec, n * sizeof(rec[0])) : 0;
}

uint64_t arch__sp(const elf_gregset_t *regs)
{
	return ((const struct user_regs_struct *)regs)->rsp;
}

uint64_t arch__pc(const elf_gregset_t *regs)
{
	return ((const struct user_regs_struct *)regs)->rip;
}
#endif
