/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The memory of a core: which mappings go in and how much of each (the kernel's
 * rules, fs/coredump.c vma_dump_size()), the PT_LOAD segments that describe them, and
 * the copy from a process's memory to a sink, reading and writing at the same time.
 */
#ifndef TRACEDUMP_DUMP_MEMORY_H
#define TRACEDUMP_DUMP_MEMORY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct capture;
struct capture_map;
struct core_sink;

/* /proc/PID/coredump_filter bits (the kernel's MMF_DUMP_*). */
enum {
	DUMP_FILTER_ANON_PRIVATE = 1 << 0,
	DUMP_FILTER_ANON_SHARED = 1 << 1,
	DUMP_FILTER_MAPPED_PRIVATE = 1 << 2,
	DUMP_FILTER_MAPPED_SHARED = 1 << 3,
	DUMP_FILTER_ELF_HEADERS = 1 << 4,
	DUMP_FILTER_HUGETLB_PRIVATE = 1 << 5,
	DUMP_FILTER_HUGETLB_SHARED = 1 << 6,
	DUMP_FILTER_DAX_PRIVATE = 1 << 7,
	DUMP_FILTER_DAX_SHARED = 1 << 8,
	DUMP_FILTER_MASK = 0x1ff,
	DUMP_FILTER_DEFAULT = 0x33, /* the kernel's default, and --type default */
};

enum plan_mode {
	PLAN_FILTER, /* a coredump_filter mask, as the kernel decides */
	PLAN_FULL,   /* every readable mapping, whole */
	PLAN_MINI,   /* used stacks, ELF headers, the dynamic linker's module list */
};

/*
 * What the kernel's vma_dump_size() gives mapping @m under @filter: 0, one page (the
 * ELF header of a file mapped from offset 0) or the whole mapping. Pure: unit-tested.
 */
uint64_t memory__dump_size(const struct capture_map *m, unsigned long filter, uint64_t page);

/* A mapping the kernel always dumps whole: [vdso], [vsyscall], ... */
bool memory__always_dump(const struct capture_map *m);

/* One PT_LOAD: [vaddr, vaddr + memsz), the first filesz bytes in the file. */
struct dump_segment {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags; /* PF_R | PF_W | PF_X */
};

/* A run of core data in file order: read from memory, or known zero (a hole). */
struct dump_extent {
	uint64_t addr, len;
	bool hole;
};

struct dump_plan {
	struct dump_segment *segs;
	size_t seg_count;
	struct dump_extent *ext; /* the data of every segment, in order */
	size_t ext_count;
	uint64_t data_bytes;	 /* sum of filesz: memory covered */
	uint64_t read_bytes;	 /* extents to read (the rest is known zero) */
};

/*
 * Plans the segments of @cap's mappings. @mem_pid is the process whose memory will be
 * read (its /proc/PID/pagemap tells untouched anonymous pages, which are holes; for
 * mini, its memory gives the dynamic linker's module list).
 */
int memory__plan(pid_t mem_pid, const struct capture *cap, enum plan_mode mode,
		 unsigned long filter, struct dump_plan *plan);

void memory__plan_free(struct dump_plan *plan);

struct copy_opts {
	volatile sig_atomic_t *cancel;
	void (*progress)(uint64_t done, uint64_t total, void *ctx);
	void *progress_ctx;
	uint64_t total; /* for progress: the whole core's size */
	/* Called once from the writing thread when all memory has been read (the rest is
	 * in buffers): the dumper releases the target there. */
	void (*read_done)(void *ctx);
	void *read_done_ctx;
	/* Read with /proc/PID/mem only. process_vm_readv pins the pages it reads
	 * (FOLL_PIN), and pinning a copy-on-write page shared with another process copies
	 * it (gup_must_unshare(), Linux 5.19+): read from a forked snapshot, it would
	 * duplicate all of its memory. /proc/PID/mem takes plain references (FOLL_GET). */
	bool no_pin;
};

struct copy_stats {
	uint64_t unreadable; /* bytes neither process_vm_readv nor /proc/PID/mem gave */
	uint64_t zero;	     /* bytes read and found zero, left as holes */
};

/*
 * Appends the plan's data to @sink: a reader thread fills large buffers with
 * process_vm_readv (falling back to /proc/PID/mem for what it refuses; what neither
 * reads stays zero) and turns zero pages into holes, while this thread writes.
 * -ESRCH when @mem_pid died, -ECANCELED when *cancel was set, -errno from the sink.
 */
int memory__copy(pid_t mem_pid, const struct dump_plan *plan, struct core_sink *sink,
		 const struct copy_opts *o, struct copy_stats *stats, char *why, size_t why_len);

#endif /* TRACEDUMP_DUMP_MEMORY_H */
