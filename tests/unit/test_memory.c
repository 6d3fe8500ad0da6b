// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for what goes into a core (userspace/dump/memory.c): the kernel's
 * vma_dump_size() rules for each coredump_filter bit, and PT_LOAD planning. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dump/capture.h"
#include "dump/memory.h"

#define PAGE 4096ULL
#define WHOLE (16 * PAGE)

static struct capture_map map(const char *perms, const char *path, uint64_t offset,
			      unsigned int extra_flags)
{
	struct capture_map m = { .start = 0x10000000, .end = 0x10000000 + WHOLE,
				 .offset = offset, .path = (char *)path, .has_vmflags = true };

	memcpy(m.perms, perms, 4);
	m.vmflags = (perms[0] == 'r' ? VMF_READ : 0) | (perms[1] == 'w' ? VMF_WRITE : 0) |
		    (perms[2] == 'x' ? VMF_EXEC : 0) | (perms[3] == 's' ? VMF_SHARED : 0) |
		    extra_flags;
	if (path[0] == '/')
		m.inode = 1234;
	return m;
}

static uint64_t size(const struct capture_map *m, unsigned long filter)
{
	return memory__dump_size(m, filter, PAGE);
}

static void test_anonymous_private(void **state)
{
	struct capture_map m = map("rw-p", "", 0, 0);

	/* Never written (no anon_vma): nothing, whatever the filter. */
	assert_int_equal(size(&m, 0x1ff), 0);
	m.anonymous = PAGE;
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), WHOLE);
	assert_int_equal(size(&m, DUMP_FILTER_ANON_PRIVATE), WHOLE);
	assert_int_equal(size(&m, 0x1fe), 0);
	/* Swapped out counts as written. */
	m.anonymous = 0;
	m.swap = PAGE;
	assert_int_equal(size(&m, 1), WHOLE);
	/* [heap] and [stack] are ordinary anonymous memory. */
	m = map("rw-p", "[heap]", 0, 0);
	m.anonymous = PAGE;
	assert_int_equal(size(&m, 1), WHOLE);
	assert_int_equal(size(&m, 0), 0);
}

static void test_dontdump_io_unreadable(void **state)
{
	struct capture_map m = map("rw-p", "", 0, VMF_DONTDUMP);

	m.anonymous = PAGE;
	assert_int_equal(size(&m, 0x1ff), 0);
	m = map("rw-s", "/dev/mem", 0, VMF_IO);
	assert_int_equal(size(&m, 0x1ff), 0);
	/* PROT_NONE: nothing can be read, p_filesz 0. */
	m = map("---p", "", 0, 0);
	m.anonymous = PAGE;
	assert_int_equal(size(&m, 0x1ff), 0);
}

static void test_always_dumped(void **state)
{
	struct capture_map m = map("r-xp", "[vdso]", 0, 0);

	assert_true(memory__always_dump(&m));
	assert_int_equal(size(&m, 0), WHOLE);
	m = map("--xp", "[vsyscall]", 0, 0);
	assert_int_equal(size(&m, 0), WHOLE);
	m = map("r--p", "[vvar]", 0, VMF_DONTDUMP);
	assert_int_equal(size(&m, 0), WHOLE);
	m = map("rw-p", "[stack]", 0, 0);
	assert_false(memory__always_dump(&m));
}

static void test_file_private_and_elf_headers(void **state)
{
	struct capture_map m = map("r-xp", "/usr/bin/app", 0, 0);

	m.file_exec = true;
	/* The first page of an executable file, with bit 4. */
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), PAGE);
	assert_int_equal(size(&m, DUMP_FILTER_ELF_HEADERS), PAGE);
	assert_int_equal(size(&m, DUMP_FILTER_ANON_PRIVATE), 0);
	assert_int_equal(size(&m, DUMP_FILTER_MAPPED_PRIVATE), WHOLE);
	/* A library without the x bit: only when memory starts with the ELF magic. */
	m.file_exec = false;
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), 0);
	m.elf_magic = true;
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), PAGE);
	/* Not the start of the file: no header page. */
	m.offset = 0x1000;
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), 0);
	/* Copy-on-write data of a library (written: anon_vma): anonymous memory. */
	m = map("rw-p", "/usr/lib/libc.so.6", 0x1d3000, 0);
	m.anonymous = PAGE;
	assert_int_equal(size(&m, DUMP_FILTER_ANON_PRIVATE), WHOLE);
	assert_int_equal(size(&m, DUMP_FILTER_MAPPED_PRIVATE), WHOLE);
	assert_int_equal(size(&m, DUMP_FILTER_ELF_HEADERS), 0);
}

static void test_shared(void **state)
{
	struct capture_map m = map("rw-s", "/data/file", 0, 0);

	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), 0);
	assert_int_equal(size(&m, DUMP_FILTER_MAPPED_SHARED), WHOLE);
	assert_int_equal(size(&m, DUMP_FILTER_ANON_SHARED), 0);
	/* MAP_SHARED|MAP_ANONYMOUS, SysV shm, memfd: an inode with no links. */
	m = map("rw-s", "/dev/zero", 0, 0);
	m.deleted = m.file_unlinked = true;
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), WHOLE);
	assert_int_equal(size(&m, DUMP_FILTER_ANON_SHARED), WHOLE);
	assert_int_equal(size(&m, DUMP_FILTER_MAPPED_SHARED), 0);
}

static void test_hugetlb(void **state)
{
	struct capture_map m = map("rw-p", "/anon_hugepage", 0, VMF_HUGETLB);

	m.file_unlinked = true;
	m.anonymous = PAGE;
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), WHOLE); /* 0x33 has bit 5 */
	assert_int_equal(size(&m, DUMP_FILTER_HUGETLB_PRIVATE), WHOLE);
	assert_int_equal(size(&m, DUMP_FILTER_ANON_PRIVATE), 0);
	m = map("rw-s", "/SYSV00000000", 0, VMF_HUGETLB);
	assert_int_equal(size(&m, DUMP_FILTER_DEFAULT), 0);
	assert_int_equal(size(&m, DUMP_FILTER_HUGETLB_SHARED), WHOLE);
}

/* Planning file-backed mappings (no pagemap involved): one PT_LOAD per mapping, the
 * data first, flags from the permissions. */
static void test_plan_segments(void **state)
{
	struct capture cap = {};
	struct dump_plan plan;
	struct capture_map maps[3];

	maps[0] = map("r-xp", "/usr/bin/app", 0, 0);
	maps[0].file_exec = true;
	maps[1] = map("r--p", "/usr/bin/app", 0x10000, 0);
	maps[1].start += WHOLE;
	maps[1].end += WHOLE;
	maps[2] = map("rw-p", "/usr/bin/app", 0x20000, 0);
	maps[2].start += 2 * WHOLE;
	maps[2].end += 2 * WHOLE;
	maps[2].anonymous = PAGE;
	cap.maps = maps;
	cap.map_count = 3;

	assert_int_equal(memory__plan(getpid(), &cap, PLAN_FILTER, DUMP_FILTER_DEFAULT, &plan), 0);
	assert_int_equal(plan.seg_count, 3);
	assert_int_equal(plan.segs[0].vaddr, maps[0].start);
	assert_int_equal(plan.segs[0].memsz, WHOLE);
	assert_int_equal(plan.segs[0].filesz, PAGE);
	assert_int_equal(plan.segs[0].flags, PF_R | PF_X);
	assert_int_equal(plan.segs[1].filesz, 0);
	assert_int_equal(plan.segs[1].flags, PF_R);
	assert_int_equal(plan.segs[2].filesz, WHOLE);
	assert_int_equal(plan.segs[2].flags, PF_R | PF_W);
	assert_int_equal(plan.data_bytes, PAGE + WHOLE);
	/* Extents in file order: the header page, then the data mapping. */
	assert_int_equal(plan.ext_count, 2);
	assert_int_equal(plan.ext[0].addr, maps[0].start);
	assert_int_equal(plan.ext[0].len, PAGE);
	assert_int_equal(plan.ext[1].addr, maps[2].start);
	assert_int_equal(plan.ext[1].len, WHOLE);
	memory__plan_free(&plan);

	/* Full: every readable mapping whole. */
	assert_int_equal(memory__plan(getpid(), &cap, PLAN_FULL, 0, &plan), 0);
	assert_int_equal(plan.data_bytes, 3 * WHOLE);
	assert_int_equal(plan.ext_count, 1); /* contiguous: one extent */
	memory__plan_free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anonymous_private),
		cmocka_unit_test(test_dontdump_io_unreadable),
		cmocka_unit_test(test_always_dumped),
		cmocka_unit_test(test_file_private_and_elf_headers),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_hugetlb),
		cmocka_unit_test(test_plan_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
