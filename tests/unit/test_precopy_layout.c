// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the pre-copy core's layout (userspace/dump/precopy_layout.c): where
 * each piece of memory lies in the file, the PT_LOADs that describe it, and what
 * freeze #2 reads. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dump/memory.h"
#include "dump/precopy_layout.h"

#define K 0x1000ULL

static void test_spans_merge_only_what_continues_in_memory_and_file(void **state)
{
	struct spans s = {};
	uint64_t bytes = 0;

	(void)state;
	assert_int_equal(spans__push(&s, 0x1000, 0x2000, 0x10000), 0);
	assert_int_equal(spans__push(&s, 0x2000, 0x3000, 0x11000), 0); /* continues */
	assert_int_equal(spans__push(&s, 0x3000, 0x4000, 0x90000), 0); /* elsewhere in file */
	assert_int_equal(spans__push(&s, 0x5000, 0x5000, 0), 0);	  /* empty: nothing */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.v[0].end, 0x3000);
	assert_int_equal(spans__at(&s, 0x2fff), 0);
	assert_int_equal(spans__at(&s, 0x3000), 1);
	assert_int_equal(spans__at(&s, 0x4000), 2);
	s.n = 0;
	/* ios are cut at IO_CHUNK, even where they continue */
	assert_int_equal(spans__push_io(&s, &bytes, 0, IO_CHUNK + K, 0), 0);
	assert_int_equal(spans__push_io(&s, &bytes, IO_CHUNK + K, IO_CHUNK + 2 * K, IO_CHUNK + K),
			 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.v[0].end - s.v[0].start, IO_CHUNK);
	assert_int_equal(s.v[1].end - s.v[1].start, 2 * K);
	assert_int_equal(bytes, IO_CHUNK + 2 * K);
	free(s.v);
}

/* One heap grown since the pre-copy (its first half pre-copied at 0x10000), one
 * mapping with no data (filesz 0), one new mapping. */
static void test_layout_cuts_segments_at_tracked_spans(void **state)
{
	struct dump_segment segs[] = {
		{ .vaddr = 0x100000, .memsz = 8 * K, .filesz = 4 * K, .flags = PF_R | PF_W },
		{ .vaddr = 0x200000, .memsz = 2 * K, .filesz = 0, .flags = PF_R },
		{ .vaddr = 0x300000, .memsz = 2 * K, .filesz = 2 * K, .flags = PF_R | PF_X },
	};
	struct dump_extent ext[] = {
		{ 0x100000, 4 * K, false },
		{ 0x300000, K, false },
		{ 0x301000, K, true }, /* known zero */
	};
	struct dump_plan plan = { .segs = segs, .seg_count = 3, .ext = ext, .ext_count = 3,
				  .data_bytes = 6 * K, .read_bytes = 5 * K };
	struct span tracked_v[] = { { 0x100000, 0x102000, 0x10000 } };
	struct spans tracked = { tracked_v, 1, 1 };
	struct page_region written_v[] = {
		{ 0x101000, 0x102000, PAGE_IS_WRITTEN }, /* in the tracked piece */
		{ 0x102000, 0x104000, PAGE_IS_WRITTEN },	   /* untracked: read anyway */
	};
	struct regions written = { written_v, 2, 2 };
	struct precopy_layout l = {};
	struct precopy_reads f = {};
	uint64_t tail = 0x80000;

	(void)state;
	assert_int_equal(precopy_layout__build(&plan, &tracked, &tail, &l), 0);
	/* PT_NOTE, heap in two pieces, the empty one, the new one */
	assert_int_equal(l.phnum, 5);
	assert_int_equal(l.ph[1].p_vaddr, 0x100000);
	assert_int_equal(l.ph[1].p_offset, 0x10000);
	assert_int_equal(l.ph[1].p_filesz, 2 * K);
	assert_int_equal(l.ph[1].p_memsz, 2 * K);
	assert_int_equal(l.ph[2].p_vaddr, 0x102000);
	assert_int_equal(l.ph[2].p_offset, 0x80000);
	assert_int_equal(l.ph[2].p_filesz, 2 * K);
	assert_int_equal(l.ph[2].p_memsz, 6 * K); /* to the mapping's end */
	assert_int_equal(l.ph[2].p_flags, PF_R | PF_W);
	assert_int_equal(l.ph[3].p_filesz, 0);
	assert_int_equal(l.ph[3].p_memsz, 2 * K);
	assert_int_equal(l.ph[4].p_offset, 0x82000);
	assert_int_equal(l.ph[4].p_flags, PF_R | PF_X);
	assert_int_equal(tail, 0x84000);

	assert_int_equal(precopy_layout__reads(&plan, &l, &written, &f), 0);
	/* the written page of the tracked piece; the untracked heap half whole; the new
	 * mapping's data, not its known-zero page */
	assert_int_equal(f.ios.n, 3);
	assert_int_equal(f.ios.v[0].start, 0x101000);
	assert_int_equal(f.ios.v[0].end, 0x102000);
	assert_int_equal(f.ios.v[0].off, 0x11000);
	assert_int_equal(f.ios.v[1].start, 0x102000);
	assert_int_equal(f.ios.v[1].end, 0x104000);
	assert_int_equal(f.ios.v[1].off, 0x80000);
	assert_int_equal(f.ios.v[2].start, 0x300000);
	assert_int_equal(f.ios.v[2].end, 0x301000);
	assert_int_equal(f.ios.v[2].off, 0x82000);
	assert_int_equal(f.written, K);
	assert_int_equal(f.untracked, 3 * K);
	free(f.ios.v);
	precopy_layout__free(&l);
}

/* Nothing written since the last round, everything tracked: nothing to read. */
static void test_nothing_written_nothing_read(void **state)
{
	struct dump_segment segs[] = { { .vaddr = 0x100000, .memsz = 4 * K, .filesz = 4 * K } };
	struct dump_extent ext[] = { { 0x100000, 4 * K, false } };
	struct dump_plan plan = { .segs = segs, .seg_count = 1, .ext = ext, .ext_count = 1 };
	struct span tracked_v[] = { { 0x100000, 0x104000, 0x1000 } };
	struct spans tracked = { tracked_v, 1, 1 };
	struct regions written = {};
	struct precopy_layout l = {};
	struct precopy_reads f = {};
	uint64_t tail = 0x5000;

	(void)state;
	assert_int_equal(precopy_layout__build(&plan, &tracked, &tail, &l), 0);
	assert_int_equal(l.phnum, 2);
	assert_int_equal(l.ph[1].p_offset, 0x1000);
	assert_int_equal(tail, 0x5000);
	assert_int_equal(precopy_layout__reads(&plan, &l, &written, &f), 0);
	assert_int_equal(f.ios.n, 0);
	free(f.ios.v);
	precopy_layout__free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spans_merge_only_what_continues_in_memory_and_file),
		cmocka_unit_test(test_layout_cuts_segments_at_tracked_spans),
		cmocka_unit_test(test_nothing_written_nothing_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
