/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ELF core layout, as the kernel writes it (fs/binfmt_elf.c elf_core_dump): ELF
 * header, program headers (PT_NOTE, then one PT_LOAD per mapping piece), the notes,
 * then from the next page boundary the memory of each PT_LOAD in order.
 */
#ifndef TRACEDUMP_DUMP_CORE_H
#define TRACEDUMP_DUMP_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct capture;
struct dump_plan;
struct note_buf;
struct core_sink;
struct copy_opts;
struct copy_stats;

struct core_layout {
	uint64_t headers_len; /* ELF header + program headers */
	uint64_t notes_off;
	uint64_t data_off;    /* page-aligned */
	uint64_t size;	      /* the whole file, holes included */
	uint64_t estimate;    /* bytes really written at most (untouched memory excluded) */
};

/* -E2BIG when there are more segments than an ELF header can count. */
int core__layout(const struct dump_plan *plan, const struct note_buf *notes,
		 struct core_layout *l);

/*
 * Writes the core: headers and notes from @cap/@notes, memory read from @mem_pid (the
 * frozen target, or a snapshot of it). Calls the sink's begin() first.
 */
int core__write(const struct dump_plan *plan, const struct note_buf *notes,
		const struct core_layout *l, pid_t mem_pid, struct core_sink *sink,
		const struct copy_opts *o, struct copy_stats *stats, char *why, size_t why_len);

#endif /* TRACEDUMP_DUMP_CORE_H */
