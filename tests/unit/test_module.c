// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for grouping /proc/PID/maps lines into modules (userspace/inspect/module.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/procfs.h"
#include "inspect/inspect.h"
#include "inspect/module.h"

static const char *const typical_maps[] = {
	"55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1001 /usr/bin/demo",
	"55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:00 1001 /usr/bin/demo",
	"55d0c0a02000-55d0c0a03000 r--p 00002000 fe:00 1001 /usr/bin/demo",
	"55d0c0a03000-55d0c0a04000 rw-p 00002000 fe:00 1001 /usr/bin/demo",
	"55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0    [heap]",
	"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ",
	"7f1000000000-7f1000028000 r--p 00000000 fe:00 2002 /usr/lib/x86_64-linux-gnu/libc.so.6",
	"7f1000028000-7f100019d000 r-xp 00028000 fe:00 2002 /usr/lib/x86_64-linux-gnu/libc.so.6",
	"7f100019d000-7f10001f5000 r--p 0019d000 fe:00 2002 /usr/lib/x86_64-linux-gnu/libc.so.6",
	"7f10001f5000-7f10001f9000 rw-p 001f5000 fe:00 2002 /usr/lib/x86_64-linux-gnu/libc.so.6",
	/* libc's .bss is anonymous and not part of the module. */
	"7f10001f9000-7f1000206000 rw-p 00000000 00:00 0",
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0    [stack]",
	"7ffd00100000-7ffd00104000 r--p 00000000 00:00 0    [vvar]",
	"7ffd00104000-7ffd00106000 r-xp 00000000 00:00 0    [vdso]",
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]",
};

static void add_lines(struct module_set *set, const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct proc_map m;

		assert_int_equal(procfs_parse_maps_line(lines[i], &m), 0);
		assert_in_range(module_set__add(set, &m), 0, 1);
	}
}

static void test_group_typical(void **state)
{
	struct module_set set = { 0 };
	const struct module *m;

	add_lines(&set, typical_maps, sizeof(typical_maps) / sizeof(typical_maps[0]));
	assert_int_equal(set.count, 3);

	m = &set.mods[0];
	assert_string_equal(m->path, "/usr/bin/demo");
	assert_int_equal(m->kind, MODULE_FILE);
	assert_int_equal(m->base, 0x55d0c0a00000ULL);
	assert_int_equal(m->nmaps, 4);
	assert_int_equal(m->size, 4 * 0x1000);
	assert_int_equal(m->inode, 1001);
	assert_string_equal(m->maps[1].perms, "r-xp");
	assert_int_equal(m->maps[1].offset, 0x1000);

	m = &set.mods[1];
	assert_string_equal(m->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(m->base, 0x7f1000000000ULL);
	assert_int_equal(m->nmaps, 4);
	assert_int_equal(m->size, 0x7f10001f9000ULL - 0x7f1000000000ULL);

	m = &set.mods[2];
	assert_int_equal(m->kind, MODULE_VDSO);
	assert_string_equal(m->path, "[vdso]");
	assert_int_equal(m->size, 0x2000);

	assert_ptr_equal(module_set__find(&set, 0x7f1000000000ULL), &set.mods[1]);
	assert_null(module_set__find(&set, 0x7f1000028000ULL)); /* a mapping, not a base */
	assert_null(module_set__find(&set, 0));
	module_set__free(&set);
	assert_int_equal(set.count, 0);
}

static void test_group_twice_mapped_and_interleaved(void **state)
{
	static const char *const lines[] = {
		"7f0000000000-7f0000001000 r--p 00000000 08:01 77 /data/blob",
		"7f0000001000-7f0000002000 r--p 00000000 08:01 88 /lib/liba.so",
		/* joins /data/blob, though another file came between */
		"7f0000002000-7f0000003000 r--p 00001000 08:01 77 /data/blob",
		/* offset 0 again: a second instance of the same file */
		"7f0000010000-7f0000011000 r--p 00000000 08:01 77 /data/blob",
		"7f0000011000-7f0000012000 r-xp 00001000 08:01 77 /data/blob",
		/* same path, other inode (replaced on disk): another module */
		"7f0000020000-7f0000021000 r--p 00001000 08:01 99 /lib/liba.so",
		/* same path and inode but deleted: another module */
		"7f0000030000-7f0000031000 r--p 00000000 08:01 88 /lib/liba.so (deleted)",
		"7f0000040000-7f0000041000 rw-s 00000000 00:01 5 /memfd:jit (deleted)",
	};
	struct module_set set = { 0 };

	add_lines(&set, lines, sizeof(lines) / sizeof(lines[0]));
	assert_int_equal(set.count, 6);
	assert_int_equal(set.mods[0].nmaps, 2);
	assert_int_equal(set.mods[0].size, 0x2000);
	assert_int_equal(set.mods[1].base, 0x7f0000001000ULL);
	assert_int_equal(set.mods[2].base, 0x7f0000010000ULL);
	assert_int_equal(set.mods[2].nmaps, 2);
	assert_int_equal(set.mods[3].inode, 99);
	assert_true(set.mods[4].deleted);
	assert_string_equal(set.mods[4].path, "/lib/liba.so");
	assert_true(set.mods[5].deleted);
	assert_string_equal(set.mods[5].path, "/memfd:jit");
	module_set__free(&set);
}

static void test_not_modules(void **state)
{
	static const char *const lines[] = {
		"7f0000000000-7f0000001000 rw-p 00000000 00:00 0",
		"7f0000001000-7f0000002000 rw-p 00000000 00:00 0 [heap]",
		"7f0000002000-7f0000003000 rw-p 00000000 00:00 0 [stack]",
		"7f0000003000-7f0000004000 rw-p 00000000 00:00 0 [anon:glibc]",
		"7f0000004000-7f0000005000 r--p 00000000 00:00 0 [vvar]",
		"7f0000005000-7f0000006000 r--p 00000000 00:00 0 [vvar_vclock]",
		"7f0000006000-7f0000007000 r-xp 00000000 00:00 0 [uprobes]",
	};
	struct module_set set = { 0 };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct proc_map m;

		assert_int_equal(procfs_parse_maps_line(lines[i], &m), 0);
		assert_int_equal(module_set__add(&set, &m), 1);
	}
	assert_int_equal(set.count, 0);
	module_set__free(&set);
}

static void test_name_version(void **state)
{
	char v[16];

	assert_int_equal(module_name_version("libz.so.1.2.13", v, sizeof(v)), 1);
	assert_string_equal(v, "1.2.13");
	assert_int_equal(module_name_version("libc.so.6", v, sizeof(v)), 1);
	assert_string_equal(v, "6");
	assert_int_equal(module_name_version("ld-linux-x86-64.so.2", v, sizeof(v)), 1);
	assert_string_equal(v, "2");
	assert_int_equal(module_name_version("libstdc++.so.6.0.30", v, sizeof(v)), 1);
	assert_string_equal(v, "6.0.30");
	assert_int_equal(module_name_version("libfoo.so.x.so.3", v, sizeof(v)), 1);
	assert_string_equal(v, "3");
	assert_int_equal(module_name_version("demo", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(module_name_version("libfoo.so", v, sizeof(v)), 0);
	assert_int_equal(module_name_version("libfoo.so.", v, sizeof(v)), 0);
	assert_int_equal(module_name_version("libfoo.so.1.", v, sizeof(v)), 0);
	assert_int_equal(module_name_version("libfoo.so.1a", v, sizeof(v)), 0);
	assert_int_equal(module_name_version("libfoo.so.1.2.3.4.5.6.7.8.9", v, 8), 0);
	assert_int_equal(module_name_version("", v, sizeof(v)), 0);
}

static void test_basename(void **state)
{
	assert_string_equal(module_basename("/usr/lib/libc.so.6"), "libc.so.6");
	assert_string_equal(module_basename("[vdso]"), "[vdso]");
	assert_string_equal(module_basename("/"), "");
	assert_string_equal(module_basename("/memfd:a/b"), "b");
}

/* This process: the test binary is the first module, libc has a build-id. */
static void test_list_self(void **state)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	json_t *list = NULL, *first, *again = NULL;
	const char *base;
	uint64_t base_v;

	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(inspect__module_list(getpid(), &list), 0);
	first = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(first, "file_path")), exe);
	assert_int_equal(strlen(json_string_value(json_object_get(first, "build_id"))), 40);
	base = json_string_value(json_object_get(first, "base_address"));
	base_v = strtoull(base, NULL, 16);
	assert_int_equal(inspect__module_detail(getpid(), base_v, &again), 0);
	assert_true(json_equal(first, again));
	json_decref(again);
	assert_int_equal(inspect__module_detail(getpid(), base_v + 1, &again), -ENOENT);
	assert_int_equal(inspect__module_list(999999999, &again), -ESRCH);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_typical),
		cmocka_unit_test(test_group_twice_mapped_and_interleaved),
		cmocka_unit_test(test_not_modules),
		cmocka_unit_test(test_name_version),
		cmocka_unit_test(test_basename),
		cmocka_unit_test(test_list_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
