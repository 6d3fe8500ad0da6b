// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/trace/spec.c: --latency specs, --events, the histogram. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "trace/spec.h"
#include "trace/loader.h"

static void test_symbol_and_offset(void **state)
{
	struct latency_spec s;
	char err[128];

	assert_int_equal(latency_spec_parse("/usr/bin/srv:handle_request", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, LATENCY_SYMBOL);
	assert_string_equal(s.binary, "/usr/bin/srv");
	assert_string_equal(s.symbol, "handle_request");

	assert_int_equal(latency_spec_parse("libc.so.6:malloc", &s, err, sizeof(err)), 0);
	assert_string_equal(s.binary, "libc.so.6");
	assert_string_equal(s.symbol, "malloc");

	/* C++ and versioned names keep their characters. */
	assert_int_equal(latency_spec_parse("srv:_ZN3app6handleEv", &s, err, sizeof(err)), 0);
	assert_int_equal(latency_spec_parse("libc.so.6:memcpy@@GLIBC_2.14", &s, err, sizeof(err)), 0);

	assert_int_equal(latency_spec_parse("srv:0x1a2B", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, LATENCY_OFFSET);
	assert_int_equal(s.offset, 0x1a2b);
}

static void test_usdt(void **state)
{
	struct latency_spec s;
	char err[128];

	assert_int_equal(latency_spec_parse("/bin/srv:app:req_begin:req_end", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, LATENCY_USDT);
	assert_string_equal(s.provider, "app");
	assert_string_equal(s.start, "req_begin");
	assert_string_equal(s.end, "req_end");

	assert_int_equal(latency_spec_parse("srv:app:request", &s, err, sizeof(err)), 0);
	assert_string_equal(s.start, "request_start");
	assert_string_equal(s.end, "request_end");
}

static void test_bad_specs(void **state)
{
	static const char *const bad[] = {
		"", "srv", ":sym", "srv:", "srv:0xzz", "srv:0x", "srv:has space", "srv:a;b",
		"srv:p:n:e:x", "srv::n", "srv:p:", "srv:0x12345678901234567890",
	};
	struct latency_spec s;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (latency_spec_parse(bad[i], &s, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(strlen(err) > 0);
	}
	/* A name too long for the buffer is refused, not cut. */
	{
		char longname[400];

		memset(longname, 'a', sizeof(longname));
		memcpy(longname, "srv:", 4);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(latency_spec_parse(longname, &s, err, sizeof(err)), -EINVAL);
	}
	assert_int_equal(latency_spec_parse(NULL, &s, NULL, 0), -EINVAL);
}

static void test_classes(void **state)
{
	const char *bad = NULL;
	unsigned m;

	assert_int_equal(tracer_classes_parse("cpu", &m, &bad), 0);
	assert_int_equal(m, TRACER_CPU);
	assert_int_equal(tracer_classes_parse("signal,exit,latency,exception,cpu", &m, &bad), 0);
	assert_int_equal(m, TRACER_CLASS_ALL);
	assert_int_equal(tracer_classes_parse("cpu,cpu", &m, &bad), 0);
	assert_int_equal(m, TRACER_CPU);
	assert_int_equal(tracer_classes_parse("cpu,sig", &m, &bad), -EINVAL);
	assert_string_equal(bad, "sig");
	assert_int_equal(tracer_classes_parse("cpu,", &m, &bad), -EINVAL);
	assert_int_equal(tracer_classes_parse(",cpu", &m, &bad), -EINVAL);
	assert_int_equal(tracer_classes_parse("", &m, &bad), -EINVAL);
	assert_int_equal(tracer_classes_parse("CPU", &m, &bad), -EINVAL);
}

static void test_hist_slots(void **state)
{
	assert_int_equal(latency_hist_slot(0), 0);
	assert_int_equal(latency_hist_slot(1), 0);
	assert_int_equal(latency_hist_slot(2), 1);
	assert_int_equal(latency_hist_slot(3), 1);
	assert_int_equal(latency_hist_slot(1024), 10);
	assert_int_equal(latency_hist_slot(250000000), 27);
	assert_int_equal(latency_hist_slot(UINT64_MAX), 63);
}

static void test_hist_json_and_text(void **state)
{
	uint64_t slots[64] = { 0 };
	json_t *j;
	char *s;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	slots[0] = 1;
	slots[10] = 4;
	slots[27] = 2;
	slots[63] = 1;
	j = latency_hist_to_json(slots, 64);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "[{\"from_ns\":0,\"to_ns\":2,\"count\":1},"
			       "{\"from_ns\":1024,\"to_ns\":2048,\"count\":4},"
			       "{\"from_ns\":134217728,\"to_ns\":268435456,\"count\":2},"
			       "{\"from_ns\":9.2233720368547758e18,"
			       "\"to_ns\":1.8446744073709552e19,\"count\":1}]");
	free(s);
	json_decref(j);

	/* Empty: an empty array, not null. */
	memset(slots, 0, sizeof(slots));
	j = latency_hist_to_json(slots, 64);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);

	slots[10] = 4;
	slots[27] = 2;
	f = open_memstream(&text, &len);
	latency_hist_print(f, slots, 64, 8);
	fclose(f);
	assert_string_equal(text, "     1.0us .. 2.0us               4 |********\n"
				  "   134.2ms .. 268.4ms             2 |****\n");
	free(text);
}

static void test_format_ns(void **state)
{
	char b[32];

	latency_format_ns(0, b, sizeof(b));
	assert_string_equal(b, "0ns");
	latency_format_ns(999, b, sizeof(b));
	assert_string_equal(b, "999ns");
	latency_format_ns(1500, b, sizeof(b));
	assert_string_equal(b, "1.5us");
	latency_format_ns(250000000, b, sizeof(b));
	assert_string_equal(b, "250.0ms");
	latency_format_ns(4300000000ULL, b, sizeof(b));
	assert_string_equal(b, "4.3s");
}

static void test_entry_cost(void **state)
{
	static const unsigned char nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x55 };
	static const unsigned char push[] = { 0x55, 0x48, 0x89, 0xe5 };
	static const unsigned char endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55 };

	assert_non_null(strstr(uprobe_entry_cost(nop5, sizeof(nop5)), "nop5"));
	assert_non_null(strstr(uprobe_entry_cost(push, sizeof(push)), "push %rbp"));
	assert_non_null(strstr(uprobe_entry_cost(endbr, sizeof(endbr)), "single-stepped"));
	assert_non_null(strstr(uprobe_entry_cost(nop5, 3), "single-stepped"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbol_and_offset), cmocka_unit_test(test_usdt),
		cmocka_unit_test(test_bad_specs),	  cmocka_unit_test(test_classes),
		cmocka_unit_test(test_hist_slots),	  cmocka_unit_test(test_hist_json_and_text),
		cmocka_unit_test(test_format_ns),	  cmocka_unit_test(test_entry_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
