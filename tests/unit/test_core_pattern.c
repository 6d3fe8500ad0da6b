// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for userspace/watch/core_pattern.c (the kernel's core_pattern expansion,
 * replayed by core-relay) and core_route__plan (which way each watched signal goes). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/signals.h"
#include "watch/core_pattern.h"
#include "watch/core_route.h"

static struct core_facts facts(void)
{
	struct core_facts f = {
		.pid = 4242, .tid = 4243, .ns_pid = 7, .ns_tid = 8, .sig = 11, .limit = UINT64_MAX,
		.dump_mode = 1, .uid = 1000, .gid = 100, .time = 1700000000, .cpu = 1, .pidfd = -1,
	};

	strcpy(f.host, "web-1");
	strcpy(f.comm, "my worker");
	strcpy(f.exe, "/usr/bin/my app");
	return f;
}

static void test_file_specifiers(void **state)
{
	struct core_facts f = facts();
	char out[256];

	assert_int_equal(core_pattern__expand_file("/var/crash/core.%e.%p.%P.%i.%I.%s.%t.%u.%g.%c"
						   ".%d.%C.%h.%f.%E.%%", &f, false, out,
						   sizeof(out)), 0);
	assert_string_equal(out, "/var/crash/core.my worker.7.4242.8.4243.11.1700000000.1000.100."
				 "18446744073709551615.1.1.web-1.my app.!usr!bin!my app.%");
}

static void test_file_unknown_and_trailing_percent_dropped(void **state)
{
	struct core_facts f = facts();
	char out[64];

	assert_int_equal(core_pattern__expand_file("a%zb%", &f, false, out, sizeof(out)), 0);
	assert_string_equal(out, "ab");
	f.cpu = -1;
	assert_int_equal(core_pattern__expand_file("c%C%F", &f, false, out, sizeof(out)), 0);
	assert_string_equal(out, "c");
}

static void test_file_core_uses_pid(void **state)
{
	struct core_facts f = facts();
	char out[64];

	assert_int_equal(core_pattern__expand_file("core", &f, true, out, sizeof(out)), 0);
	assert_string_equal(out, "core.7");
	/* %p present: nothing appended; %P is not %p. */
	assert_int_equal(core_pattern__expand_file("core.%p", &f, true, out, sizeof(out)), 0);
	assert_string_equal(out, "core.7");
	assert_int_equal(core_pattern__expand_file("core.%P", &f, true, out, sizeof(out)), 0);
	assert_string_equal(out, "core.4242.7");
	assert_int_equal(core_pattern__expand_file("core", &f, false, out, sizeof(out)), 0);
	assert_string_equal(out, "core");
}

static void test_escaping(void **state)
{
	struct core_facts f = facts();
	char out[64];

	/* '/' in a comm or hostname cannot make folders; "." and ".." cannot climb. */
	strcpy(f.comm, "../x/y");
	assert_int_equal(core_pattern__expand_file("c.%e", &f, false, out, sizeof(out)), 0);
	assert_string_equal(out, "c...!x!y");
	strcpy(f.comm, "..");
	assert_int_equal(core_pattern__expand_file("%e", &f, false, out, sizeof(out)), 0);
	assert_string_equal(out, "!.");
	f.comm[0] = 0;
	assert_int_equal(core_pattern__expand_file("%e", &f, false, out, sizeof(out)), 0);
	assert_string_equal(out, "!");
}

static void test_file_too_long(void **state)
{
	struct core_facts f = facts();
	char out[8];

	assert_int_equal(core_pattern__expand_file("core.%t", &f, false, out, sizeof(out)),
			 -ENAMETOOLONG);
}

static void test_pipe_split_before_expansion(void **state)
{
	struct core_facts f = facts();
	char **argv;
	int argc = core_pattern__expand_pipe("|/usr/lib/helper  %P  of=/c/%e.%s %h ", &f, &argv);

	/* Spaces inside %e stay in one argument; runs of spaces are one separator. */
	assert_int_equal(argc, 4);
	assert_string_equal(argv[0], "/usr/lib/helper");
	assert_string_equal(argv[1], "4242");
	assert_string_equal(argv[2], "of=/c/my worker.11"); /* only values are escaped */
	assert_string_equal(argv[3], "web-1");
	assert_null(argv[4]);
	free(argv);
	assert_int_equal(core_pattern__expand_pipe("|   ", &f, &argv), -EINVAL);
	/* %F: the pidfd number the helper inherits. */
	f.pidfd = 5;
	assert_int_equal(core_pattern__expand_pipe("|/bin/h %F", &f, &argv), 2);
	assert_string_equal(argv[1], "5");
	free(argv);
}

static void test_relay_pattern_recognised(void **state)
{
	assert_true(core_route__is_relay("|/usr/bin/tracedump core-relay %P %I"));
	assert_true(core_route__is_relay("|/usr/bin/tracedump-core-relay %P %I"));
	assert_false(core_route__is_relay("|/usr/lib/systemd/systemd-coredump %P %u %g %s"));
	assert_false(core_route__is_relay("core-relay %P"));
}

static void test_core_signals_match_signal7(void **state)
{
	for (int sig = 1; sig < 64; sig++)
		assert_int_equal(!!(CORE_ROUTE_SIGNALS & (1ULL << sig)), signal_dumps_core(sig));
}

static void test_plan(void **state)
{
	struct signal_routes r;
	uint64_t segv = 1ULL << SIGSEGV, abrt = 1ULL << SIGABRT, usr1 = 1ULL << SIGUSR1,
		 term = 1ULL << SIGTERM;

	/* Unhandled SEGV: the core_pattern route, no ptrace. */
	core_route__plan(segv | abrt, 0, true, true, &r);
	assert_true(r.core == (segv | abrt) && !r.bpf && !r.ptrace);
	/* A handled USR1 by BPF beside it. */
	core_route__plan(segv | usr1, usr1, true, true, &r);
	assert_true(r.core == segv && r.bpf == usr1 && !r.ptrace);
	/* A handled SEGV is no crash: BPF stops it before its handler. */
	core_route__plan(segv, segv, true, true, &r);
	assert_true(r.bpf == segv && !r.core && !r.ptrace);
	/* TERM without handler: only ptrace catches it, and then ptrace takes all. */
	core_route__plan(segv | term | usr1, usr1, true, true, &r);
	assert_true(r.ptrace == (segv | term | usr1) && !r.core && !r.bpf);
	/* No route (taken, --type mini, ...): ptrace. */
	core_route__plan(segv, 0, true, false, &r);
	assert_true(r.ptrace == segv && !r.core);
	/* No BPF: a handled signal needs ptrace too. */
	core_route__plan(segv | usr1, usr1, false, true, &r);
	assert_true(r.ptrace == (segv | usr1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_specifiers),
		cmocka_unit_test(test_file_unknown_and_trailing_percent_dropped),
		cmocka_unit_test(test_file_core_uses_pid),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_file_too_long),
		cmocka_unit_test(test_pipe_split_before_expansion),
		cmocka_unit_test(test_relay_pattern_recognised),
		cmocka_unit_test(test_core_signals_match_signal7),
		cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
