// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/trace/event_json.c: raw tracer events to JSON. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>

#include "trace/event_json.h"
#include "trace/sample.h"
#include "tracer.h"
#include "cputime.h"
#include "signals.h"
#include "latency.h"
#include "exceptions.h"

static const struct event_json_ctx plain = { .mono_to_epoch = 1000.0, .probe = "srv:handle" };

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static long long num(json_t *j, const char *key)
{
	return json_integer_value(json_object_get(j, key));
}

static void test_signal_generate(void **state)
{
	struct signals_event e = {
		.type = TRACER_EV_SIGNAL, .cpu = 1, .ts_ns = 2500000000ULL, .sig = SIGUSR1,
		.code = SI_TKILL, .sender_pid = 10, .sender_tid = 11, .target_pid = 20,
		.target_tid = 21, .result = SIGNALS_IGNORED, .group = 0, .blocked = 1,
		.sender_comm = "killer", .target_comm = "vic\xfftim",
	};
	json_t *j = tracer_event_to_json(&e, sizeof(e), &plain), *s;

	assert_non_null(j);
	assert_string_equal(str(j, "type"), "signal");
	assert_string_equal(str(j, "time"), "1970-01-01T00:16:42.500Z");
	assert_int_equal(num(j, "mono_ns"), 2500000000LL);
	assert_string_equal(str(j, "signal"), "SIGUSR1");
	assert_int_equal(num(j, "signo"), SIGUSR1);
	assert_string_equal(str(j, "code_name"), "SI_TKILL");
	assert_int_equal(num(j, "pid"), 20);
	assert_int_equal(num(j, "tid"), 21);
	assert_string_equal(str(j, "comm"), "vic\\xfftim");
	assert_string_equal(str(j, "result"), "ignored");
	assert_true(json_is_true(json_object_get(j, "blocked")));
	assert_true(json_is_false(json_object_get(j, "group")));
	s = json_object_get(j, "sender");
	assert_int_equal(num(s, "pid"), 10);
	assert_int_equal(num(s, "tid"), 11);
	assert_string_equal(str(s, "comm"), "killer");
	assert_null(json_object_get(j, "handler"));
	json_decref(j);

	/* Unknown result and code: said, not invented. */
	e.result = 42;
	e.code = 12345;
	j = tracer_event_to_json(&e, sizeof(e), &plain);
	assert_string_equal(str(j, "result"), "unknown");
	assert_true(json_is_null(json_object_get(j, "code_name")));
	json_decref(j);
}

static void test_signal_deliver(void **state)
{
	struct signals_event e = {
		.type = TRACER_EV_DELIVER, .sig = SIGRTMIN + 3, .target_pid = 5, .target_tid = 6,
		.handler = SIGNALS_HANDLER_CUSTOM, .sa_flags = 0x14000000,
		.target_comm = "exactly16bytes!!", /* no NUL inside the 16 bytes */
	};
	json_t *j = tracer_event_to_json(&e, sizeof(e), &plain);

	assert_string_equal(str(j, "type"), "signal_deliver");
	assert_string_equal(str(j, "signal"), "SIGRTMIN+3");
	assert_string_equal(str(j, "handler"), "handler");
	assert_string_equal(str(j, "sa_flags"), "0x14000000");
	assert_string_equal(str(j, "comm"), "exactly16bytes!!");
	assert_null(json_object_get(j, "sender"));
	json_decref(j);
}

static void test_exit_status(void **state)
{
	struct signals_exit_event e = {
		.type = TRACER_EV_EXIT, .pid = 7, .tid = 8, .exit_code = 3 << 8, .comm = "srv",
	};
	json_t *j = tracer_event_to_json(&e, sizeof(e), &plain), *f;

	assert_string_equal(str(j, "type"), "exit");
	assert_int_equal(num(j, "exit_code"), 3);
	assert_true(json_is_null(json_object_get(j, "signal")));
	assert_true(json_is_false(json_object_get(j, "core_requested")));
	assert_true(json_is_null(json_object_get(j, "fatal_signal")));
	json_decref(j);

	/* Killed by SIGSEGV on thread 9, core dumped (0x80). */
	e.exit_code = SIGSEGV | 0x80;
	e.group_exit = 1;
	e.fatal_sig = SIGSEGV;
	e.fatal_tid = 9;
	memcpy(e.fatal_comm, "worker", 7);
	j = tracer_event_to_json(&e, sizeof(e), &plain);
	assert_true(json_is_null(json_object_get(j, "exit_code")));
	assert_string_equal(str(j, "signal"), "SIGSEGV");
	assert_true(json_is_true(json_object_get(j, "core_requested")));
	assert_true(json_is_true(json_object_get(j, "core_dumped")));
	assert_true(json_is_true(json_object_get(j, "group_exit")));
	f = json_object_get(j, "fatal_signal");
	assert_string_equal(str(f, "signal"), "SIGSEGV");
	assert_int_equal(num(f, "tid"), 9);
	assert_string_equal(str(f, "comm"), "worker");
	json_decref(j);

	/* SIGTERM: no core requested. */
	e.exit_code = SIGTERM;
	j = tracer_event_to_json(&e, sizeof(e), &plain);
	assert_true(json_is_false(json_object_get(j, "core_requested")));
	assert_true(json_is_false(json_object_get(j, "core_dumped")));
	json_decref(j);
}

static json_t *fake_frame(void *ctx, pid_t pid, uint64_t addr, bool ret)
{
	int *calls = ctx;

	(*calls)++;
	return json_pack("{s:I, s:b, s:i}", "addr", (json_int_t)addr, "ret", ret, "pid", pid);
}

static void test_latency(void **state)
{
	struct latency_event e = {
		.type = TRACER_EV_LATENCY, .ts_ns = 3000000000ULL, .start_ns = 2750000000ULL,
		.duration_ns = 250000000ULL, .pid = 40, .tid = 41, .comm = "reqworker",
		.stack_len = 3, .stack = { 0x1000, 0x2000, 0x3000 },
	};
	int calls = 0;
	struct event_json_ctx c = plain;
	json_t *j, *st;

	c.frame = fake_frame;
	c.sym_ctx = &calls;
	j = tracer_event_to_json(&e, sizeof(e), &c);
	assert_string_equal(str(j, "type"), "latency");
	assert_string_equal(str(j, "probe"), "srv:handle");
	assert_int_equal(num(j, "duration_ns"), 250000000);
	assert_true(json_real_value(json_object_get(j, "duration_ms")) == 250.0);
	assert_string_equal(str(j, "start"), "1970-01-01T00:16:42.750Z");
	st = json_object_get(j, "stack");
	assert_int_equal(json_array_size(st), 3);
	assert_int_equal(calls, 3);
	/* The first frame is a PC, the others return addresses. */
	assert_true(json_is_false(json_object_get(json_array_get(st, 0), "ret")));
	assert_true(json_is_true(json_object_get(json_array_get(st, 1), "ret")));
	assert_int_equal(num(json_array_get(st, 2), "addr"), 0x3000);
	assert_int_equal(num(json_array_get(st, 2), "pid"), 40);
	json_decref(j);

	/* A failed stack read: empty stack and the error; a lying length is capped. */
	e.stack_len = -EFAULT;
	j = tracer_event_to_json(&e, sizeof(e), &plain);
	assert_int_equal(json_array_size(json_object_get(j, "stack")), 0);
	assert_int_equal(num(j, "stack_error"), -EFAULT);
	json_decref(j);
	e.stack_len = 1000;
	j = tracer_event_to_json(&e, sizeof(e), &plain);
	assert_int_equal(json_array_size(json_object_get(j, "stack")), LATENCY_STACK_DEPTH);
	assert_string_equal(str(json_array_get(json_object_get(j, "stack"), 0), "address"),
			    "0x1000");
	json_decref(j);
}

static void test_exception(void **state)
{
	struct exceptions_event e = {
		.type = TRACER_EV_EXCEPTION, .pid = 1, .tid = 2, .comm = "thrower",
		.type_len = 18, .type_name = "St13runtime_error", .caller = 0xbbb,
		.stack_len = 3, .stack = { 0xaaa, 0xccc, 0xddd },
	};
	json_t *j = tracer_event_to_json(&e, sizeof(e), &plain), *st;

	assert_string_equal(str(j, "exception_type"), "std::runtime_error");
	assert_string_equal(str(j, "mangled_type"), "St13runtime_error");
	/* The thrower (the return address at entry) goes second. */
	st = json_object_get(j, "stack");
	assert_int_equal(json_array_size(st), 4);
	assert_string_equal(str(json_array_get(st, 1), "address"), "0xbbb");
	assert_string_equal(str(json_array_get(st, 2), "address"), "0xccc");
	json_decref(j);

	/* Already there (a kernel that adds it): not twice. */
	e.stack[1] = 0xbbb;
	j = tracer_event_to_json(&e, sizeof(e), &plain);
	assert_int_equal(json_array_size(json_object_get(j, "stack")), 3);
	json_decref(j);

	/* Unreadable type_info: null type, still an event. */
	e.type_len = -EFAULT;
	j = tracer_event_to_json(&e, sizeof(e), &plain);
	assert_true(json_is_null(json_object_get(j, "exception_type")));
	json_decref(j);
}

static void test_short_and_unknown(void **state)
{
	struct signals_event e = { .type = TRACER_EV_SIGNAL };
	struct tracer_header h = { .type = 99 };

	assert_null(tracer_event_to_json(&e, sizeof(e) - 1, &plain));
	assert_null(tracer_event_to_json(&e, 4, &plain));
	assert_null(tracer_event_to_json(&h, sizeof(h), &plain));
	h.type = TRACER_EV_LATENCY;
	assert_null(tracer_event_to_json(&h, sizeof(h), &plain));
}

static void test_names(void **state)
{
	char b[32];

	signal_name(SIGSEGV, b, sizeof(b));
	assert_string_equal(b, "SIGSEGV");
	signal_name(SIGRTMIN, b, sizeof(b));
	assert_string_equal(b, "SIGRTMIN");
	signal_name(0, b, sizeof(b));
	assert_string_equal(b, "SIG0");
	signal_name(200, b, sizeof(b));
	assert_string_equal(b, "SIG200");
	assert_string_equal(si_code_name(SIGSEGV, SEGV_MAPERR), "SEGV_MAPERR");
	assert_string_equal(si_code_name(SIGCHLD, CLD_KILLED), "CLD_KILLED");
	assert_null(si_code_name(SIGUSR1, 77));
	assert_true(signal_dumps_core(SIGABRT));
	assert_false(signal_dumps_core(SIGKILL));
}

static void test_demangle(void **state)
{
	char b[128];

	assert_int_equal(demangle_type("St13runtime_error", b, sizeof(b)), 1);
	assert_string_equal(b, "std::runtime_error");
	assert_int_equal(demangle_type("N3app13RequestFailedE", b, sizeof(b)), 1);
	assert_string_equal(b, "app::RequestFailed");
	/* A local type's name starts with '*'. */
	assert_int_equal(demangle_type("*Z4mainE5Local", b, sizeof(b)), 1);
	assert_string_equal(b, "main::Local");
	assert_int_equal(demangle_type("i", b, sizeof(b)), 1);
	assert_string_equal(b, "int");
	/* Not a mangled name: copied as is. */
	assert_int_equal(demangle_type("not mangled!", b, sizeof(b)), 0);
	assert_string_equal(b, "not mangled!");
	/* Truncated into a small buffer, still terminated. */
	demangle_type("St13runtime_error", b, 6);
	assert_string_equal(b, "std::");
}

static void test_thread_cpu_delta(void **state)
{
	struct thread_cpu_delta d = { .pid = 1, .tid = 2, .comm = "burner", .oncpu_ns = 250000000,
				      .runq_ns = 1000000, .voluntary = 3, .involuntary = 4,
				      .last_cpu = 1, .interval_ns = 500000000 };
	json_t *j = thread_cpu_delta_to_json(&d);

	assert_true(json_real_value(json_object_get(j, "cpu_percent")) == 50.0);
	assert_true(json_real_value(json_object_get(j, "on_cpu_s")) == 0.25);
	assert_int_equal(num(j, "voluntary_switches"), 3);
	assert_string_equal(str(j, "name"), "burner");
	json_decref(j);
	d.interval_ns = 0;
	j = thread_cpu_delta_to_json(&d);
	assert_true(json_real_value(json_object_get(j, "cpu_percent")) == 0.0);
	json_decref(j);
}

static void test_thread_cpu_deltas(void **state)
{
	struct tracer_thread_cpu prev[] = {
		{ .tid = 12, .tgid = 10, .oncpu_ns = 100, .runq_ns = 5, .voluntary = 1 },
		{ .tid = 11, .tgid = 10, .oncpu_ns = 1000, .voluntary = 2, .involuntary = 1 },
	};
	struct tracer_thread_cpu cur[] = {
		{ .tid = 11, .tgid = 10, .comm = "a", .oncpu_ns = 1000 + 250000000,
		  .voluntary = 5, .involuntary = 1 },
		{ .tid = 12, .tgid = 10, .comm = "b", .oncpu_ns = 100 + 500000000, .runq_ns = 10 },
		/* New during the interval: all of it counts. */
		{ .tid = 13, .tgid = 10, .comm = "c", .oncpu_ns = 100000000, .voluntary = 3 },
	};
	double total = 0;
	json_t *arr = thread_cpu_deltas(prev, 2, cur, 3, 1000000000ULL, &total), *t;

	assert_int_equal(json_array_size(arr), 3);
	/* Busiest first. */
	t = json_array_get(arr, 0);
	assert_int_equal(num(t, "tid"), 12);
	assert_true(json_real_value(json_object_get(t, "cpu_percent")) == 50.0);
	assert_true(json_real_value(json_object_get(t, "runq_wait_s")) == 5e-9);
	t = json_array_get(arr, 1);
	assert_int_equal(num(t, "tid"), 11);
	assert_int_equal(num(t, "voluntary_switches"), 3);
	assert_int_equal(num(t, "involuntary_switches"), 0);
	t = json_array_get(arr, 2);
	assert_int_equal(num(t, "tid"), 13);
	assert_int_equal(num(t, "voluntary_switches"), 3);
	assert_true(total > 84.999 && total < 85.001);
	json_decref(arr);

	/* A counter that went backwards (a TID reused): no huge unsigned delta. */
	prev[0].oncpu_ns = UINT64_MAX - 5;
	arr = thread_cpu_deltas(prev, 2, cur, 3, 1000000000ULL, NULL);
	assert_true(json_real_value(json_object_get(json_array_get(arr, 0), "on_cpu_s")) < 1.0);
	json_decref(arr);
	arr = thread_cpu_deltas(NULL, 0, NULL, 0, 1, &total);
	assert_int_equal(json_array_size(arr), 0);
	assert_true(total == 0.0);
	json_decref(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_generate), cmocka_unit_test(test_signal_deliver),
		cmocka_unit_test(test_exit_status),	cmocka_unit_test(test_latency),
		cmocka_unit_test(test_exception),	cmocka_unit_test(test_short_and_unknown),
		cmocka_unit_test(test_names),		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_thread_cpu_delta), cmocka_unit_test(test_thread_cpu_deltas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
