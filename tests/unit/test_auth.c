// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for serve's authentication (userspace/serve/auth.c): the Basic header,
 * hashing and verifying passwords, and the --auth-file. */
#include <crypt.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "serve/auth.h"

static void test_parse_basic(void **state)
{
	char user[AUTH_USER_MAX + 1], pass[AUTH_PASS_MAX + 1];

	/* alice:s3cret */
	assert_int_equal(auth_parse_basic("Basic YWxpY2U6czNjcmV0", user, sizeof(user), pass,
					  sizeof(pass)), 0);
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "s3cret");
	/* scheme is case-insensitive; a password may hold ':' (bob:a:b) */
	assert_int_equal(auth_parse_basic("basic Ym9iOmE6Yg==", user, sizeof(user), pass,
					  sizeof(pass)), 0);
	assert_string_equal(user, "bob");
	assert_string_equal(pass, "a:b");
	/* empty password (u:) is parsed; the check refuses it later */
	assert_int_equal(auth_parse_basic("Basic dTo=", user, sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(pass, "");
}

static void test_parse_basic_hostile(void **state)
{
	static const char *bad[] = {
		NULL, "", "Basic", "Basic ", "Bearer YWxpY2U6czNjcmV0", "Basic YWxpY2U",
		"Basic YWxpY2U6czNjcmV0=", "Basic YWxp!2U6czNjcmV0", "Basic =YWxpY2U6czNjcmV0",
		"Basic YW=pY2U6czNjcmV0", "Basic bm9jb2xvbg==" /* nocolon */,
		"Basic OnB3" /* :pw, no user */, "Basic dQBzOnB3" /* u\0s:pw */,
		"Basic dQpzOnB3" /* u\ns:pw */, "Basic YWxpY2U6czNjcmV0 junk",
	};
	char user[AUTH_USER_MAX + 1], pass[AUTH_PASS_MAX + 1], small[3];
	char longhdr[1200] = "Basic ";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(auth_parse_basic(bad[i], user, sizeof(user), pass, sizeof(pass)),
				 -EINVAL);
	/* a user longer than the buffer */
	assert_int_equal(auth_parse_basic("Basic YWxpY2U6czNjcmV0", small, sizeof(small), pass,
					  sizeof(pass)), -EINVAL);
	memset(longhdr + 6, 'Q', 1100);
	longhdr[1106] = '\0';
	assert_int_equal(auth_parse_basic(longhdr, user, sizeof(user), pass, sizeof(pass)),
			 -EINVAL);
}

static void test_user_names(void **state)
{
	assert_true(auth_user_name_is_valid("alice"));
	assert_true(auth_user_name_is_valid("svc.webhook-1"));
	assert_false(auth_user_name_is_valid(""));
	assert_false(auth_user_name_is_valid(NULL));
	assert_false(auth_user_name_is_valid("a:b"));
	assert_false(auth_user_name_is_valid("a b"));
	assert_false(auth_user_name_is_valid("a\nb"));
	assert_false(auth_user_name_is_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_hash_and_verify(void **state)
{
	char h1[CRYPT_OUTPUT_SIZE], h2[CRYPT_OUTPUT_SIZE];

	assert_int_equal(auth_hash_password("correct horse", h1, sizeof(h1)), 0);
	assert_int_equal(auth_hash_password("correct horse", h2, sizeof(h2)), 0);
	assert_memory_equal(h1, "$y$", 3);
	/* random salt: the same password hashes differently */
	assert_string_not_equal(h1, h2);
	assert_int_equal(auth_verify_password("correct horse", h1), 1);
	assert_int_equal(auth_verify_password("correct horse", h2), 1);
	assert_int_equal(auth_verify_password("correct hors", h1), 0);
	assert_int_equal(auth_verify_password("correct horse ", h1), 0);
	assert_int_equal(auth_verify_password("", h1), 0);
	/* SHA-512-crypt of "pw" with salt "saltsalt" (made by crypt(3)) is accepted too */
	{
		struct crypt_data cd = { 0 };
		const char *sha = crypt_r("pw", "$6$saltsalt$", &cd);

		assert_non_null(sha);
		assert_int_equal(auth_verify_password("pw", sha), 1);
		assert_int_equal(auth_verify_password("pW", sha), 0);
	}
	assert_int_equal(auth_verify_password("x", "not-a-hash"), -EINVAL);
	assert_int_equal(auth_verify_password("x", NULL), -EINVAL);
	assert_int_equal(auth_hash_password("", h1, sizeof(h1)), -EINVAL);
	assert_int_equal(auth_hash_password("pw", h1, 8), -ENOSPC);
}

static char *write_file(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_auth.%d", getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_auth_file(void **state)
{
	char h[CRYPT_OUTPUT_SIZE], text[1024], why[256];
	struct auth_db *db = NULL;
	char *path;

	assert_int_equal(auth_hash_password("s3cret", h, sizeof(h)), 0);
	snprintf(text, sizeof(text), "# users\n\nalice:%s\n", h);
	path = write_file(text);
	assert_int_equal(auth_db__load(path, &db, why, sizeof(why)), 0);
	assert_true(auth_db__check(db, "alice", "s3cret"));
	/* second time from the cache */
	assert_true(auth_db__check(db, "alice", "s3cret"));
	assert_false(auth_db__check(db, "alice", "wrong"));
	assert_false(auth_db__check(db, "bob", "s3cret"));
	assert_false(auth_db__check(db, "alicе", "s3cret"));
	auth_db__free(db);
	db = NULL;

	/* malformed, duplicate, weak and empty files are refused with the line named */
	snprintf(text, sizeof(text), "alice %s\n", h);
	path = write_file(text);
	assert_int_equal(auth_db__load(path, &db, why, sizeof(why)), -EINVAL);
	assert_null(db);
	assert_non_null(strstr(why, ":1:"));
	snprintf(text, sizeof(text), "alice:%s\nalice:%s\n", h, h);
	path = write_file(text);
	assert_int_equal(auth_db__load(path, &db, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "twice"));
	path = write_file("alice:abJnggxhB/yWI\n"); /* DES crypt */
	assert_int_equal(auth_db__load(path, &db, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "alice"));
	path = write_file("alice:plaintext\n");
	assert_int_equal(auth_db__load(path, &db, why, sizeof(why)), -EINVAL);
	path = write_file("# nobody\n");
	assert_int_equal(auth_db__load(path, &db, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "no user"));
	unlink(path);
	assert_int_equal(auth_db__load(path, &db, why, sizeof(why)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_parse_basic_hostile),
		cmocka_unit_test(test_user_names),
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_auth_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
