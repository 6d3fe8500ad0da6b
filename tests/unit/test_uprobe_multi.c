// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/trace/uprobe_multi.c's function lookup: the file offset a
 * uprobe_multi link is given must hold the function's first bytes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "trace/uprobe_multi.h"

/* A function of this test binary, looked up by name in its own symbol table. */
__attribute__((noinline, used)) int uprobe_multi_test_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

static void test_offset_holds_the_function(void **state)
{
	unsigned char in_file[16];
	uint64_t off = 0;
	int fd;

	(void)state;
	assert_int_equal(uprobe_file_function_offset("/proc/self/exe", "uprobe_multi_test_target",
						     &off), 0);
	assert_true(off > 0);
	fd = open("/proc/self/exe", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, in_file, sizeof(in_file), off), (ssize_t)sizeof(in_file));
	close(fd);
	/* The code at that file offset is the code this process runs for the function. */
	assert_memory_equal(in_file, (const void *)uprobe_multi_test_target, sizeof(in_file));
}

static void test_missing_function_or_file(void **state)
{
	uint64_t off = 0;

	(void)state;
	assert_int_equal(uprobe_file_function_offset("/proc/self/exe", "no_such_function_here",
						     &off), -ENOENT);
	assert_int_equal(uprobe_file_function_offset("/nonexistent/binary", "main", &off),
			 -ENOENT);
	/* Not ELF */
	assert_int_not_equal(uprobe_file_function_offset("/proc/self/status", "main", &off), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_holds_the_function),
		cmocka_unit_test(test_missing_function_or_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
