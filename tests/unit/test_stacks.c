// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for grouping identical stacks and the frame text (userspace/analyze/
 * stacks.c), the thread order (report.c) and member names of bundles (unpack.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "analyze/report.h"
#include "analyze/stacks.h"
#include "analyze/unpack.h"

static json_t *frame(const char *fn, const char *mod, const char *off)
{
	return json_pack("{s:s?, s:s?, s:s, s:s, s:i, s:n, s:n}", "function", fn, "module", mod,
			 "module_offset", off, "pc", off, "offset", 4, "file", "line");
}

static json_t *thread(int id, json_t *frames)
{
	return json_pack("{s:i, s:o}", "id", id, "frames", frames);
}

static json_t *waiting(void)
{
	return json_pack("[o, o]", frame("__lll_lock_wait", "libc.so.6", "0x9112b"),
			 frame("worker", "/app", "0x1200"));
}

static void test_group_counts_and_order(void **state)
{
	json_t *threads = json_array(), *groups;

	json_array_append_new(threads, thread(1, json_pack("[o]", frame("main", "/app",
									 "0x1000"))));
	for (int i = 0; i < 5; i++)
		json_array_append_new(threads, thread(10 + i, waiting()));
	json_array_append_new(threads, thread(20, json_pack("[o]", frame("crash", "/app",
									  "0x1300"))));
	/* The same function at another place is another stack. */
	json_array_append_new(threads, thread(21, json_pack("[o, o]",
		frame("__lll_lock_wait", "libc.so.6", "0x9112b"), frame("worker", "/app", "0x1208"))));

	groups = stacks__group(threads, 20);
	assert_non_null(groups);
	assert_int_equal(json_array_size(groups), 4);
	/* The crashing thread's group first, even though it is alone... */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 0), "count")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(
		json_array_get(groups, 0), "thread_ids"), 0)), 20);
	/* ...then the largest. */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 1), "count")), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(groups, 1),
							      "top_function")), "__lll_lock_wait");
	assert_int_equal(json_array_size(json_object_get(json_array_get(groups, 1), "thread_ids")), 5);
	/* Equal counts: in thread order. */
	assert_int_equal(json_integer_value(json_array_get(json_object_get(
		json_array_get(groups, 2), "thread_ids"), 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(
		json_array_get(groups, 3), "thread_ids"), 0)), 21);
	json_decref(groups);

	/* No crashing thread: largest first. */
	groups = stacks__group(threads, 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 0), "count")), 5);
	json_decref(groups);
	json_decref(threads);
}

static void test_group_unknown_frames_and_empty(void **state)
{
	json_t *threads = json_array(), *groups;

	/* Frames outside any module are told apart by pc. */
	json_array_append_new(threads, thread(1, json_pack("[o]", frame(NULL, NULL, "0x10"))));
	json_array_append_new(threads, thread(2, json_pack("[o]", frame(NULL, NULL, "0x10"))));
	json_array_append_new(threads, thread(3, json_pack("[o]", frame(NULL, NULL, "0x20"))));
	json_array_append_new(threads, thread(4, json_array())); /* nothing unwound */
	groups = stacks__group(threads, 0);
	assert_int_equal(json_array_size(groups), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 0), "count")), 2);
	assert_true(json_is_null(json_object_get(json_array_get(groups, 0), "top_function")));
	json_decref(groups);
	json_decref(threads);

	threads = json_array();
	groups = stacks__group(threads, 0);
	assert_int_equal(json_array_size(groups), 0);
	json_decref(groups);
	json_decref(threads);
}

static void test_frame_text(void **state)
{
	char buf[256];
	json_t *f = frame("pthread_mutex_lock", "/lib/x86_64-linux-gnu/libc.so.6", "0x9f482");

	stacks__frame_text(f, buf, sizeof(buf));
	assert_string_equal(buf, "pthread_mutex_lock+0x4 (libc.so.6)");
	json_object_set_new(f, "file", json_string("/src/nptl/pthread_mutex_lock.c"));
	json_object_set_new(f, "line", json_integer(48));
	stacks__frame_text(f, buf, sizeof(buf));
	assert_string_equal(buf, "pthread_mutex_lock+0x4 (libc.so.6) at pthread_mutex_lock.c:48");
	json_decref(f);
	f = frame(NULL, "/opt/app", "0x11d5");
	stacks__frame_text(f, buf, sizeof(buf));
	assert_string_equal(buf, "?? app+0x11d5");
	json_decref(f);
	f = frame(NULL, NULL, "0xdead");
	stacks__frame_text(f, buf, sizeof(buf));
	assert_string_equal(buf, "?? 0xdead (no module)");
	json_object_set_new(f, "inlined", json_pack("[{s:s}, {s:s}]", "function", "inner",
						    "function", "middle"));
	stacks__frame_text(f, buf, sizeof(buf));
	assert_string_equal(buf, "?? 0xdead (no module) [inlined: inner < middle]");
	/* Never past the buffer. */
	stacks__frame_text(f, buf, 5);
	assert_string_equal(buf, "?? 0");
	json_decref(f);
}

static void test_order_threads(void **state)
{
	json_t *threads = json_pack("[{s:i}, {s:i}, {s:i}]", "id", 5, "id", 6, "id", 7);

	report__order_threads(threads, 7, 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(threads, 0), "id")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(threads, 1), "id")), 5);
	assert_true(json_is_true(json_object_get(json_array_get(threads, 1), "is_main_thread")));
	assert_true(json_is_false(json_object_get(json_array_get(threads, 0), "is_main_thread")));
	/* An id that is not there changes nothing. */
	report__order_threads(threads, 99, 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(threads, 0), "id")), 7);
	json_decref(threads);
}

static void test_safe_names(void **state)
{
	assert_true(unpack__safe_name("app.core"));
	assert_true(unpack__safe_name("usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_true(unpack__safe_name(".build-id/93/ac61ec"));
	assert_true(unpack__safe_name("a/..b/c.."));
	assert_false(unpack__safe_name("/etc/passwd"));
	assert_false(unpack__safe_name("../x"));
	assert_false(unpack__safe_name("usr/../../x"));
	assert_false(unpack__safe_name("usr/.."));
	assert_false(unpack__safe_name(""));
	assert_false(unpack__safe_name(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_counts_and_order),
		cmocka_unit_test(test_group_unknown_frames_and_empty),
		cmocka_unit_test(test_frame_text),
		cmocka_unit_test(test_order_threads),
		cmocka_unit_test(test_safe_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
