// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for serve's route parser (userspace/serve/route.c): every route, Kudu's
 * special ids, bad ids (400) against unknown paths (404), methods and read-only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "serve/route.h"

static struct route r;
static char why[128];

static void test_every_route(void **state)
{
	assert_int_equal(route_parse("/", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_PAGE);
	assert_int_equal(route_parse("/api/processes", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_PROCESSES);
	assert_int_equal(route_parse("/api/processes/", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_PROCESSES);
	assert_int_equal(route_parse("/api/processes/42", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_PROCESS);
	assert_int_equal(r.id, 42);
	assert_int_equal(route_parse("/api/processes/42/threads", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_THREADS);
	assert_int_equal(route_parse("/api/processes/42/threads/43", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_THREAD);
	assert_int_equal(r.tid, 43);
	assert_int_equal(route_parse("/api/processes/42/modules", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_MODULES);
	assert_int_equal(route_parse("/api/processes/42/modules/0x7f00deadb000", &r, why,
				     sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_MODULE);
	assert_true(r.base == 0x7f00deadb000ull);
	assert_int_equal(route_parse("/api/processes/42/modules/4096", &r, why, sizeof(why)), 0);
	assert_true(r.base == 4096);
	assert_int_equal(route_parse("/api/processes/42/dump", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_DUMP);
	assert_int_equal(route_parse("/api/events", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, ROUTE_EVENTS);
}

static void test_special_ids(void **state)
{
	assert_int_equal(route_parse("/api/processes/0", &r, why, sizeof(why)), 0);
	assert_int_equal(r.id, ROUTE_ID_SELF);
	assert_int_equal(route_parse("/api/processes/-1/dump", &r, why, sizeof(why)), 0);
	assert_int_equal(r.id, ROUTE_ID_MAIN);
	assert_int_equal(r.kind, ROUTE_DUMP);
}

static void test_bad_ids_are_400(void **state)
{
	static const char *bad[] = {
		"/api/processes/abc", "/api/processes/-2", "/api/processes/+5",
		"/api/processes/007", "/api/processes/1e3", "/api/processes/99999999999",
		"/api/processes/%20", "/api/processes/1/threads/0", "/api/processes/1/threads/x",
		"/api/processes/1/modules/0xZZ", "/api/processes/1/modules/-1",
		"/api/processes/x/threads", "/api/processes/ 1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(route_parse(bad[i], &r, why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "invalid"));
	}
}

static void test_unknown_paths_are_404(void **state)
{
	static const char *none[] = {
		"", "api/processes", "/api", "/api/", "/api/process", "/api/processes/1/dumps",
		"/api/processes/1/threads/2/x", "/api/events/1", "/api//processes",
		"/api/processes//1", "/index.html", "/api/processes/1/dump/2",
		"/api/processes/x/nonsense", "/../etc/passwd",
	};
	char longpath[2048];

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(route_parse(none[i], &r, why, sizeof(why)), -ENOENT);
	assert_int_equal(route_parse(NULL, &r, why, sizeof(why)), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(route_parse(longpath, &r, why, sizeof(why)), -ENOENT);
}

static void test_methods(void **state)
{
	assert_int_equal(route_method_bit("GET"), METHOD_GET);
	assert_int_equal(route_method_bit("HEAD"), METHOD_HEAD);
	assert_int_equal(route_method_bit("DELETE"), METHOD_DELETE);
	assert_int_equal(route_method_bit("PUT"), 0);
	assert_int_equal(route_method_bit(NULL), 0);
	assert_true(route_methods(ROUTE_PROCESS) & METHOD_DELETE);
	assert_false(route_methods(ROUTE_PROCESSES) & METHOD_DELETE);
	assert_true(route_methods(ROUTE_DUMP) & METHOD_POST);
	assert_false(route_methods(ROUTE_THREADS) & METHOD_POST);
	assert_true(route_methods(ROUTE_THREADS) & METHOD_HEAD);
	/* HEAD would dump or load BPF for nothing */
	assert_false(route_methods(ROUTE_DUMP) & METHOD_HEAD);
	assert_false(route_methods(ROUTE_EVENTS) & METHOD_HEAD);
	assert_string_equal(route_allow_header(ROUTE_DUMP), "GET, POST");
	assert_string_equal(route_allow_header(ROUTE_PROCESS), "GET, HEAD, DELETE");
	/* --read-only refuses kills and dumps, nothing else. */
	assert_true(route_is_write(ROUTE_PROCESS, METHOD_DELETE));
	assert_false(route_is_write(ROUTE_PROCESS, METHOD_GET));
	assert_true(route_is_write(ROUTE_DUMP, METHOD_GET));
	assert_true(route_is_write(ROUTE_DUMP, METHOD_POST));
	assert_false(route_is_write(ROUTE_EVENTS, METHOD_GET));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route),
		cmocka_unit_test(test_special_ids),
		cmocka_unit_test(test_bad_ids_are_400),
		cmocka_unit_test(test_unknown_paths_are_404),
		cmocka_unit_test(test_methods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
