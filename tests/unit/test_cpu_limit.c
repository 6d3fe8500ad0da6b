// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/watch/cpu_limit.c: cpu.max, CPU lists, the walk up a tree. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "watch/cpu_limit.h"

static void test_cpu_max_parse(void **state)
{
	double cpus = -1;

	assert_int_equal(cpu_max_parse("max 100000\n", &cpus), 0);
	assert_true(cpus == 0);
	assert_int_equal(cpu_max_parse("50000 100000\n", &cpus), 0);
	assert_true(cpus == 0.5);
	assert_int_equal(cpu_max_parse("250000 100000", &cpus), 0);
	assert_true(cpus == 2.5);
	assert_int_equal(cpu_max_parse("", &cpus), -EINVAL);
	assert_int_equal(cpu_max_parse("50000", &cpus), -EINVAL);
	assert_int_equal(cpu_max_parse("50000 0", &cpus), -EINVAL);
	assert_int_equal(cpu_max_parse("-1 100000", &cpus), -EINVAL);
	assert_int_equal(cpu_max_parse("abc 100000", &cpus), -EINVAL);
}

static void test_cpu_list_count(void **state)
{
	assert_int_equal(cpu_list_count("0-3,6\n"), 5);
	assert_int_equal(cpu_list_count("0"), 1);
	assert_int_equal(cpu_list_count("0-1"), 2);
	assert_int_equal(cpu_list_count("1,3,5-7"), 5);
	assert_int_equal(cpu_list_count("\n"), 0);
	assert_int_equal(cpu_list_count("3-1"), -EINVAL);
	assert_int_equal(cpu_list_count("a"), -EINVAL);
	assert_int_equal(cpu_list_count("1;2"), -EINVAL);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A made-up cgroup v2 tree: the tightest cpu.max of the cgroup and its ancestors
 * wins, and the cpuset counts when it is tighter still. */
static void test_tree_v2(void **state)
{
	char root[] = "/tmp/td_cpu_limit_XXXXXX", a[PATH_MAX], b[PATH_MAX];
	struct cpu_limit l = { .cpus = 8, .online = 8, .source = "online_cpus" };

	assert_non_null(mkdtemp(root));
	snprintf(a, sizeof(a), "%s/svc", root);
	snprintf(b, sizeof(b), "%s/svc/worker", root);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	put(root, "cpuset.cpus.effective", "0-7\n");
	put(a, "cpu.max", "150000 100000\n");
	put(b, "cpu.max", "max 100000\n");
	cpu_limit__apply_tree(&l, root, "/svc/worker", 1);
	assert_true(l.cpus == 1.5);
	assert_string_equal(l.source, "cpu.max");
	assert_non_null(strstr(l.path, "/svc/cpu.max"));
	/* A cpuset of one CPU below it is tighter. */
	put(b, "cpuset.cpus.effective", "3\n");
	cpu_limit__apply_tree(&l, root, "/svc/worker/", 1);
	assert_true(l.cpus == 1);
	assert_string_equal(l.source, "cpuset.cpus.effective");
	/* v1 files are not read as v2, and the other way round. */
	put(b, "cpu.cfs_quota_us", "20000\n");
	put(b, "cpu.cfs_period_us", "100000\n");
	cpu_limit__apply_tree(&l, root, "/svc/worker", 1);
	assert_true(l.cpus == 1);
	cpu_limit__apply_tree(&l, root, "/svc/worker", 0);
	assert_true(l.cpus > 0.19 && l.cpus < 0.21);
	assert_string_equal(l.source, "cpu.cfs_quota_us");
	/* No escape above the mount. */
	{
		struct cpu_limit m = { .cpus = 8, .source = "online_cpus" };

		cpu_limit__apply_tree(&m, b, "/../../..", 1);
		assert_true(m.cpus == 8);
	}
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		assert_int_equal(system(cmd), 0);
	}
}

/* This process: at most the online CPUs, from a named source. */
static void test_read_self(void **state)
{
	struct cpu_limit l;

	cpu_limit__read(getpid(), &l);
	assert_true(l.online >= 1);
	assert_true(l.cpus > 0 && l.cpus <= l.online);
	assert_non_null(l.source);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_max_parse),
		cmocka_unit_test(test_cpu_list_count),
		cmocka_unit_test(test_tree_v2),
		cmocka_unit_test(test_read_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
