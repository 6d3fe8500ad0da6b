// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/watch/signal_log.c: the bounded log and the time order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "trace/event_json.h"
#include "watch/signal_log.h"
#include "../../bpf/tracer.h"

static struct signals_event sent(int i)
{
	struct signals_event e;

	memset(&e, 0, sizeof(e));
	e.type = TRACER_EV_SIGNAL;
	e.ts_ns = 1000 + (uint64_t)i;
	e.sig = 10;
	e.sender_pid = 100 + i;
	e.target_pid = 7;
	e.target_tid = 8;
	memcpy(e.sender_comm, "sender", 7);
	return e;
}

/* The last SIGNAL_LOG_MAX are kept, oldest first, as the tracer's JSON. */
static void test_bounded_oldest_first(void **state)
{
	static struct signal_log log;
	struct event_json_ctx c = {};
	json_t *arr = json_array();

	for (int i = 0; i < SIGNAL_LOG_MAX + 6; i++) {
		struct signals_event e = sent(i);

		signal_log__add(&log, &e);
	}
	assert_int_equal(log.count, SIGNAL_LOG_MAX);
	assert_int_equal(log.dropped, 6);
	signal_log__append_json(&log, &c, arr);
	assert_int_equal(json_array_size(arr), SIGNAL_LOG_MAX);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "type")),
			    "signal");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
				 json_array_get(arr, 0), "sender"), "pid")), 106);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
				 json_array_get(arr, SIGNAL_LOG_MAX - 1), "sender"), "pid")),
			 100 + SIGNAL_LOG_MAX + 5);
	json_decref(arr);
}

/* Events of the two sources interleave by mono_ns; one without it goes last. */
static void test_flight_sort(void **state)
{
	json_t *arr = json_pack("[{s:I, s:s}, {s:s}, {s:I, s:s}, {s:I, s:s}]", "mono_ns",
				(json_int_t)30, "n", "c", "n", "none", "mono_ns", (json_int_t)10,
				"n", "a", "mono_ns", (json_int_t)20, "n", "b");
	const char *want[] = { "a", "b", "c", "none" };

	flight_sort(arr);
	assert_int_equal(json_array_size(arr), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(arr, i), "n")),
				    want[i]);
	json_decref(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded_oldest_first),
		cmocka_unit_test(test_flight_sort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
