// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/watch/trigger.c: CPU window, memory levels, gate, retention. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "watch/trigger.h"

#define MS 1000000ULL

static void test_cpu_window_not_lifetime(void **state)
{
	struct cpu_window w;
	double pct = -1;

	assert_int_equal(cpu_window__init(&w, 64), 0);
	/* Idle for a long time, then one full core for 1 s: 100%, whatever the age. */
	cpu_window__add(&w, 0, 0);
	assert_false(cpu_window__percent(&w, 1000 * MS, &pct));
	cpu_window__add(&w, 30000 * MS, 0);
	for (uint64_t t = 100; t <= 1000; t += 100)
		cpu_window__add(&w, 30000 * MS + t * MS, t * MS);
	assert_true(cpu_window__percent(&w, 1000 * MS, &pct));
	assert_true(pct > 99.0 && pct < 101.0);
	/* Only 500 ms spanned since a reset: not yet. */
	cpu_window__reset(&w);
	for (uint64_t t = 0; t <= 500; t += 100)
		cpu_window__add(&w, t * MS, t * MS / 2);
	assert_false(cpu_window__percent(&w, 1000 * MS, &pct));
	assert_true(cpu_window__percent(&w, 500 * MS, &pct));
	assert_true(pct > 49.0 && pct < 51.0);
	/* A counter going back (threads gone) reads 0, never negative. */
	cpu_window__add(&w, 600 * MS, 0);
	assert_true(cpu_window__percent(&w, 500 * MS, &pct));
	assert_true(pct == 0);
	cpu_window__free(&w);
}

static void test_cpu_window_ring_wraps(void **state)
{
	struct cpu_window w;
	double pct;

	assert_int_equal(cpu_window__init(&w, 4), 0);
	for (uint64_t t = 0; t < 20; t++)
		cpu_window__add(&w, t * 100 * MS, t * 200 * MS); /* two cores */
	assert_true(cpu_window__percent(&w, 300 * MS, &pct));
	assert_true(pct > 199.0 && pct < 201.0);
	/* Older than the ring holds: never true. */
	assert_false(cpu_window__percent(&w, 400 * MS, &pct));
	cpu_window__free(&w);
}

static void test_mem_levels(void **state)
{
	struct mem_levels m;

	assert_int_equal(mem_levels__parse("100,200", false, &m), 0);
	assert_int_equal(m.count, 2);
	assert_int_equal(mem_levels__check(&m, 50ULL << 20), -1);
	assert_int_equal(mem_levels__check(&m, 100ULL << 20), 0);
	assert_int_equal(mem_levels__check(&m, 150ULL << 20), -1);
	assert_int_equal(mem_levels__check(&m, 100ULL << 20), -1);
	assert_int_equal(mem_levels__check(&m, 300ULL << 20), 1);
	assert_true(mem_levels__done(&m));

	/* A jump over both levels fires once, for the higher. */
	assert_int_equal(mem_levels__parse("100,200", false, &m), 0);
	assert_int_equal(mem_levels__check(&m, 500ULL << 20), 1);
	assert_int_equal(mem_levels__check(&m, 500ULL << 20), -1);

	assert_int_equal(mem_levels__parse("100,200", true, &m), 0);
	assert_int_equal(m.bytes[0], 200ULL << 20);
	assert_int_equal(mem_levels__check(&m, 250ULL << 20), -1);
	assert_int_equal(mem_levels__check(&m, 150ULL << 20), 0);
	assert_int_equal(mem_levels__check(&m, 50ULL << 20), 1);

	assert_int_equal(mem_levels__parse("200,100", false, &m), -EINVAL);
	assert_int_equal(mem_levels__parse("100,100", false, &m), -EINVAL);
	assert_int_equal(mem_levels__parse("", false, &m), -EINVAL);
	assert_int_equal(mem_levels__parse("100,", false, &m), -EINVAL);
	assert_int_equal(mem_levels__parse("0", false, &m), -EINVAL);
	assert_int_equal(mem_levels__parse("10MB", false, &m), -EINVAL);
	assert_int_equal(mem_levels__parse("-5", false, &m), -EINVAL);
}

static void test_gate(void **state)
{
	struct dump_gate g = { .limit = 2, .cooldown_ns = 1000 * MS };

	assert_true(dump_gate__ready(&g, 5 * MS));
	dump_gate__record(&g, 5 * MS);
	assert_false(dump_gate__ready(&g, 500 * MS));
	assert_true(dump_gate__ready(&g, 1005 * MS));
	dump_gate__record(&g, 1005 * MS);
	assert_true(dump_gate__spent(&g));
	assert_false(dump_gate__ready(&g, 100000 * MS));

	struct dump_gate unlimited = { 0 };

	for (int i = 0; i < 100; i++) {
		assert_true(dump_gate__ready(&unlimited, i));
		dump_gate__record(&unlimited, i);
	}
	assert_false(dump_gate__spent(&unlimited));
}

static void test_retention(void **state)
{
	uint64_t sizes[] = { 10, 20, 30, 40 };
	bool rm[4];

	assert_int_equal(retention__plan(sizes, 4, 2, 0, rm), 2);
	assert_true(rm[0] && rm[1] && !rm[2] && !rm[3]);
	assert_int_equal(retention__plan(sizes, 4, 0, 75, rm), 2);
	assert_true(rm[0] && rm[1] && !rm[2]);
	assert_int_equal(retention__plan(sizes, 4, 0, 0, rm), 0);
	/* The newest stays even when it alone is over the limit. */
	assert_int_equal(retention__plan(sizes, 4, 0, 5, rm), 3);
	assert_true(!rm[3]);
	assert_int_equal(retention__plan(sizes, 4, 3, 100, rm), 1);
	assert_true(rm[0] && !rm[1]);
}

static void test_subst(void **state)
{
	char out[64];

	assert_int_equal(watch_subst("{path}", "/x/a.core", 12, "signal", out, sizeof(out)), 0);
	assert_string_equal(out, "/x/a.core");
	assert_int_equal(watch_subst("--pid={pid} {trigger}:{path}{", "/p", 7, "cpu", out,
				     sizeof(out)), 0);
	assert_string_equal(out, "--pid=7 cpu:/p{");
	assert_int_equal(watch_subst("{nope}", "/p", 7, "cpu", out, sizeof(out)), 0);
	assert_string_equal(out, "{nope}");
	assert_int_equal(watch_subst("{path}{path}", "0123456789012345678901234567890123", 1, "x",
				     out, sizeof(out)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_window_not_lifetime),
		cmocka_unit_test(test_cpu_window_ring_wraps),
		cmocka_unit_test(test_mem_levels),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_subst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
