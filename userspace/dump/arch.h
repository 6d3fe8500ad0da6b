/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a core needs that differs by architecture: the ELF machine, the register sets
 * written after NT_PRSTATUS, and where the stack and program counters sit in the
 * general registers. One file per architecture (arch_x86_64.c); on any other the
 * dumper reports "unsupported" at run time (arch_other.c).
 */
#ifndef TRACEDUMP_DUMP_ARCH_H
#define TRACEDUMP_DUMP_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/procfs.h> /* elf_gregset_t, struct elf_prstatus, struct elf_prpsinfo */

#define ARCH_MAX_REGSETS 4

/* A register set read with PTRACE_GETREGSET and written as a note of the same type. */
struct arch_regset {
	unsigned int type; /* NT_PRFPREG, NT_X86_XSTATE, ... */
	const char *note_name; /* "CORE" or "LINUX", as the kernel names it */
	size_t max_size;   /* buffer for PTRACE_GETREGSET; the kernel says the real size */
};

extern const bool arch_supported;
extern const char arch_name[];
extern const uint16_t arch_elf_machine;
extern const struct arch_regset arch_regsets[];
extern const size_t arch_regset_count;

struct capture;
struct note_buf;

/* Notes the kernel appends after every thread's (elf_coredump_extra_notes_write):
 * on x86_64 the XSAVE layout, so debuggers read NT_X86_XSTATE right on CPUs whose
 * layout is not the classic one. 0 or -ENOMEM. */
int arch__extra_notes(const struct capture *cap, struct note_buf *nb);

uint64_t arch__sp(const elf_gregset_t *regs);
uint64_t arch__pc(const elf_gregset_t *regs);

#endif /* TRACEDUMP_DUMP_ARCH_H */
