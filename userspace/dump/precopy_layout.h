/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pure part of the pre-copy snapshot (precopy.h): where each piece of memory
 * lies in the core file, and what freeze #2 must read. Unit-tested.
 */
#ifndef TRACEDUMP_DUMP_PRECOPY_LAYOUT_H
#define TRACEDUMP_DUMP_PRECOPY_LAYOUT_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "dump/memory.h"

#ifndef PAGEMAP_SCAN /* include/uapi/linux/fs.h, Linux 6.7 */
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region {
	uint64_t start, end, categories;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#endif

/* A read goes through a buffer of this size at most: longer ranges are cut. */
#define IO_CHUNK (64ULL << 20)

/* [start, end) of memory, found in the file from offset @off. */
struct span {
	uint64_t start, end, off;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

/* What PAGEMAP_SCAN returned, sorted by address. */
struct regions {
	struct page_region *v;
	size_t n, cap;
};

/* Appends [start, end) at @off, merged with the last span when it continues it in
 * memory and in the file. 0 or -ENOMEM. */
int spans__push(struct spans *s, uint64_t start, uint64_t end, uint64_t off);

/* The same for memory to read: cut at IO_CHUNK, never merged past it; *@bytes grows by
 * end - start. */
int spans__push_io(struct spans *s, uint64_t *bytes, uint64_t start, uint64_t end,
		   uint64_t off);

/* The first span (region) ending after @addr: binary search of a sorted list. */
size_t spans__at(const struct spans *s, uint64_t addr);
size_t regions__at(const struct regions *r, uint64_t addr);

struct piece {
	uint64_t start, end, off;
	bool covered; /* pre-copied and tracked since */
};

struct precopy_layout {
	struct piece *pieces;
	size_t n, cap;
	Elf64_Phdr *ph; /* PT_NOTE first, then the PT_LOADs */
	size_t phnum, ph_cap;
};

/* What freeze #2 reads, and where each piece goes in the file. */
struct precopy_reads {
	struct spans ios;
	uint64_t written, untracked; /* bytes of each kind */
};
/*
 * The core's program headers for @plan (the one of freeze #2): a PT_NOTE to fill in,
 * then the PT_LOADs. Each segment's data is cut where the tracked, pre-copied spans
 * @tracked (sorted) begin and end: those pieces stay where the pre-copy put them, the
 * others get room from *@tail on (advanced). 0 or -ENOMEM.
 */
int precopy_layout__build(const struct dump_plan *plan, const struct spans *tracked,
			  uint64_t *tail, struct precopy_layout *l);

/*
 * What freeze #2 must read for @plan laid out in @l: in tracked pieces, the pages of
 * @written (PAGE_IS_WRITTEN regions) only; in the others every byte not known zero.
 */
int precopy_layout__reads(const struct dump_plan *plan, const struct precopy_layout *l,
			  const struct regions *written, struct precopy_reads *f);

void precopy_layout__free(struct precopy_layout *l);

#endif /* TRACEDUMP_DUMP_PRECOPY_LAYOUT_H */
