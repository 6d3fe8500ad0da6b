// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the Host header check (userspace/serve/host.c): what may become the base
 * of an href, and the hostile values that must not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "serve/host.h"

static void test_valid_hosts(void **state)
{
	static const char *ok[] = {
		"localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:1", "10.0.0.5:65535",
		"host-1.example.com", "my_host.internal:443", "[::1]", "[::1]:8080",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(host_is_valid(ok[i]));
}

static void test_hostile_hosts(void **state)
{
	static const char *bad[] = {
		"", "evil\"", "a/b", "a\\b", "user@host", "host:", "host:0", "host:65536",
		"host:80:80", "host:8o", "host name", "host\r\nX-Injected: 1", "<script>",
		"[::1", "[]", "[::1]x", "[::1]:", "[zz::1]", ".host", "-host", ":8080",
		"host?x=1", "host#f", "[fe80::1%25eth0]", "host:123456", "h\x01st", "\xc3\xa9",
	};
	char longhost[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(host_is_valid(bad[i]));
	assert_false(host_is_valid(NULL));
	memset(longhost, 'a', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	assert_false(host_is_valid(longhost));
}

static void test_base_url(void **state)
{
	char out[300], small[10];

	assert_int_equal(host_base_url("localhost:8080", false, out, sizeof(out)), 0);
	assert_string_equal(out, "http://localhost:8080");
	assert_int_equal(host_base_url("[::1]:8443", true, out, sizeof(out)), 0);
	assert_string_equal(out, "https://[::1]:8443");
	assert_int_equal(host_base_url("a\"b", false, out, sizeof(out)), -EINVAL);
	assert_int_equal(host_base_url("localhost:8080", false, small, sizeof(small)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_hosts),
		cmocka_unit_test(test_hostile_hosts),
		cmocka_unit_test(test_base_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
