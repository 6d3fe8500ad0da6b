// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/common/jsonutil.c and parse.c. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/jsonutil.h"
#include "common/parse.h"

static void check_bytes(const char *in, size_t len, const char *want)
{
	json_t *j = json_string_bytes(in, len);

	assert_non_null(j);
	assert_string_equal(json_string_value(j), want);
	json_decref(j);
}

static void test_string_bytes(void **state)
{
	check_bytes("plain", 5, "plain");
	check_bytes("caf\xc3\xa9", 5, "caf\xc3\xa9");
	check_bytes("a\xff" "b", 3, "a\\xffb");
	check_bytes("nul\0in", 6, "nul\\x00in");
	check_bytes("\xc0\xaf", 2, "\\xc0\\xaf");	      /* overlong '/' */
	check_bytes("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"); /* surrogate */
	check_bytes("\xe2\x82", 2, "\\xe2\\x82");	      /* truncated */
	check_bytes("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
}

static void test_time_iso(void **state)
{
	json_t *j = json_time_iso(0.25);

	assert_string_equal(json_string_value(j), "1970-01-01T00:00:00.250Z");
	json_decref(j);
}

static void test_parse_pid(void **state)
{
	pid_t pid;

	assert_int_equal(parse_pid("42", &pid, 0), 0);
	assert_int_equal(pid, 42);
	assert_int_equal(parse_pid("0", &pid, 1), 0);
	assert_int_equal(pid, getpid());
	assert_int_equal(parse_pid("0", &pid, 0), -EINVAL);
	assert_int_equal(parse_pid("-1", &pid, 1), -EINVAL);
	assert_int_equal(parse_pid("12abc", &pid, 1), -EINVAL);
	assert_int_equal(parse_pid("", &pid, 1), -EINVAL);
	assert_int_equal(parse_pid("99999999999999999999", &pid, 1), -EINVAL);
	assert_int_equal(parse_pid(" 1", &pid, 1), -EINVAL);
}

static void test_parse_duration(void **state)
{
	uint64_t ns;

	assert_int_equal(parse_duration_ns("250ms", &ns), 0);
	assert_int_equal(ns, 250000000ULL);
	assert_int_equal(parse_duration_ns("1.5s", &ns), 0);
	assert_int_equal(ns, 1500000000ULL);
	assert_int_equal(parse_duration_ns("2m", &ns), 0);
	assert_int_equal(ns, 120000000000ULL);
	assert_int_equal(parse_duration_ns("3", &ns), 0);
	assert_int_equal(ns, 3000000000ULL);
	assert_int_equal(parse_duration_ns("10parsecs", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("-1s", &ns), -EINVAL);
	assert_int_equal(parse_duration_ns("", &ns), -EINVAL);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("0x33", &v), 0);
	assert_int_equal(v, 0x33);
	assert_int_equal(parse_u64("17", &v), 0);
	assert_int_equal(v, 17);
	assert_int_equal(parse_u64("0xzz", &v), -EINVAL);
	assert_int_equal(parse_u64("-3", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_bytes),   cmocka_unit_test(test_time_iso),
		cmocka_unit_test(test_parse_pid),      cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_u64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
