/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HTTP Basic authentication for `serve`: the Authorization header, the --auth-file of
 * "user:hash" lines that `tracedump passwd` prints, and the check of one request.
 *
 * Hashes are crypt(3) strings from libxcrypt: yescrypt ("$y$") by default, SHA-512-crypt
 * ("$6$") and bcrypt ("$2b$") accepted; legacy DES/MD5 hashes are refused at load.
 * A slow hash costs tens of milliseconds, too much for every request of a script that
 * polls, so a successful check is remembered for AUTH_CACHE_TTL_S as an HMAC-SHA-256 of
 * "user\0password" under a key drawn at start: the password itself is never kept, and a
 * wrong password always pays the full hash.
 */
#ifndef TRACEDUMP_SERVE_AUTH_H
#define TRACEDUMP_SERVE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_USER_MAX 64
#define AUTH_PASS_MAX 256
#define AUTH_CACHE_TTL_S 300

/* A user name: 1-64 printable ASCII bytes, no ':' (the separator of both the file and
 * the Basic credentials), no spaces. */
bool auth_user_name_is_valid(const char *user);

/*
 * Parses "Basic <base64(user:password)>" (scheme case-insensitive). 0, or -EINVAL for
 * another scheme, bad base64, no ':', a NUL or control byte, or a part too long for
 * @user_len/@pass_len.
 */
int auth_parse_basic(const char *header, char *user, size_t user_len, char *pass,
		     size_t pass_len);

/* A new yescrypt hash of @password with a random salt (getrandom); 0 or -errno. */
int auth_hash_password(const char *password, char *out, size_t len);

/* 1 when @password matches @hash (compared in constant time), 0 when not, -EINVAL for a
 * hash crypt(3) cannot use. */
int auth_verify_password(const char *password, const char *hash);

struct auth_db;

/* Loads @path: "user:hash" lines, '#' comments and blank lines. Refuses (with @why naming
 * the line) a malformed line, a duplicate user, an unusable hash, and an empty file. */
int auth_db__load(const char *path, struct auth_db **out, char *why, size_t why_len);

/* Whether @user/@password is a known pair; the same work is done for an unknown user. */
bool auth_db__check(struct auth_db *db, const char *user, const char *password);

/* Whether @user/@password was verified recently (the cache: an HMAC, no yescrypt); false
 * means "not known yet", for auth_db__check to decide. */
bool auth_db__check_cached(struct auth_db *db, const char *user, const char *password);

void auth_db__free(struct auth_db *db);

#endif /* TRACEDUMP_SERVE_AUTH_H */
