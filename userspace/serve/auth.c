// SPDX-License-Identifier: GPL-2.0-only
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "serve/auth.h"

#define AUTH_CACHE_SLOTS 32
/* Slow hashes at once: a flood of wrong passwords queues here instead of taking every
 * core from the requests that carry good ones (cached, they skip the queue). */
#define AUTH_SLOW_CHECKS 2
#define AUTH_DIGEST_LEN 32

struct auth_user {
	char name[AUTH_USER_MAX + 1];
	char *hash;
};

struct auth_cache_slot {
	unsigned char digest[AUTH_DIGEST_LEN];
	time_t expires; /* 0: empty */
};

struct auth_db {
	struct auth_user *users;
	size_t count;
	char *dummy_hash; /* checked for an unknown user, so that it costs the same */
	unsigned char key[32];
	pthread_mutex_t lock;
	sem_t slow_checks;
	struct auth_cache_slot cache[AUTH_CACHE_SLOTS];
};

bool auth_user_name_is_valid(const char *user)
{
	size_t n;

	if (!user)
		return false;
	n = strlen(user);
	if (!n || n > AUTH_USER_MAX)
		return false;
	for (; *user; user++)
		if (*user == ':' || !isgraph((unsigned char)*user))
			return false;
	return true;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 with padding; returns the decoded length or -EINVAL. */
static ssize_t b64_decode(const char *in, unsigned char *out, size_t out_len)
{
	size_t len = strlen(in), i, o = 0;

	if (!len || len % 4)
		return -EINVAL;
	for (i = 0; i < len; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -EINVAL; /* data after '=' */
			v[k] = b64_value((unsigned char)in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		if (o + 3 - pad > out_len)
			return -EINVAL;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	return (ssize_t)o;
}

int auth_parse_basic(const char *header, char *user, size_t user_len, char *pass,
		     size_t pass_len)
{
	unsigned char buf[AUTH_USER_MAX + AUTH_PASS_MAX + 2];
	const unsigned char *colon;
	ssize_t n;
	size_t ul, pl;

	if (!header || strncasecmp(header, "Basic ", 6))
		return -EINVAL;
	header += 6;
	while (*header == ' ')
		header++;
	n = b64_decode(header, buf, sizeof(buf));
	if (n < 0)
		return -EINVAL;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] < ' ' || buf[i] == 0x7f)
			return -EINVAL;
	colon = memchr(buf, ':', (size_t)n);
	if (!colon)
		return -EINVAL;
	ul = (size_t)(colon - buf);
	pl = (size_t)n - ul - 1;
	if (!ul || ul >= user_len || pl >= pass_len)
		return -EINVAL;
	memcpy(user, buf, ul);
	user[ul] = '\0';
	memcpy(pass, colon + 1, pl);
	pass[pl] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int auth_hash_password(const char *password, char *out, size_t len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], rnd[32];
	struct crypt_data *cd;
	int err = 0;

	if (!password || !*password || strlen(password) > AUTH_PASS_MAX)
		return -EINVAL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -errno ?: -EIO;
	if (!crypt_gensalt_rn("$y$", 0, rnd, sizeof(rnd), salt, sizeof(salt)))
		return -errno ?: -EINVAL;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	if (!crypt_r(password, salt, cd) || cd->output[0] == '*') {
		err = -errno ?: -EINVAL;
		goto cleanup;
	}
	if (strlen(cd->output) >= len) {
		err = -ENOSPC;
		goto cleanup;
	}
	strcpy(out, cd->output);
cleanup:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return err;
}

/* Compares two NUL-terminated strings in time that depends on @len only. */
static bool equal_const_time(const char *a, const char *b, size_t len)
{
	unsigned char diff = 0, ea = 0, eb = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ca = ea ? 0 : (unsigned char)a[i];
		unsigned char cb = eb ? 0 : (unsigned char)b[i];

		ea |= !ca;
		eb |= !cb;
		diff |= ca ^ cb;
	}
	return !diff && ea && eb;
}

int auth_verify_password(const char *password, const char *hash)
{
	struct crypt_data *cd;
	int ret;

	if (!hash || crypt_checksalt(hash) != CRYPT_SALT_OK)
		return -EINVAL;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	if (!crypt_r(password, hash, cd) || cd->output[0] == '*')
		ret = -EINVAL;
	else
		ret = equal_const_time(cd->output, hash, CRYPT_OUTPUT_SIZE);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

static char *trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

void auth_db__free(struct auth_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->count; i++)
		free(db->users[i].hash);
	free(db->users);
	free(db->dummy_hash);
	pthread_mutex_destroy(&db->lock);
	sem_destroy(&db->slow_checks);
	explicit_bzero(db, sizeof(*db));
	free(db);
}

int auth_db__load(const char *path, struct auth_db **out, char *why, size_t why_len)
{
	struct auth_db *db;
	char *line = NULL, *s, *colon, dummy[CRYPT_OUTPUT_SIZE], rnd[24];
	size_t cap = 0, lineno = 0;
	FILE *f = NULL;
	int err = 0;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	pthread_mutex_init(&db->lock, NULL);
	sem_init(&db->slow_checks, 0, AUTH_SLOW_CHECKS);
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		snprintf(why, why_len, "cannot open %s: %s", path, strerror(-err));
		goto cleanup;
	}
	while (getline(&line, &cap, f) >= 0) {
		struct auth_user *u;
		int ok;

		lineno++;
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		colon = strchr(s, ':');
		if (colon)
			*colon = '\0';
		if (!colon || !auth_user_name_is_valid(s)) {
			snprintf(why, why_len, "%s:%zu: expected 'user:hash' (from tracedump passwd "
				 "USER)", path, lineno);
			err = -EINVAL;
			goto cleanup;
		}
		ok = crypt_checksalt(colon + 1);
		if (ok != CRYPT_SALT_OK) {
			snprintf(why, why_len, "%s:%zu: the hash of user '%s' is %s; make one with "
				 "tracedump passwd %s", path, lineno, s,
				 ok == CRYPT_SALT_METHOD_LEGACY ? "a weak legacy kind" :
				 "not a usable crypt(3) hash", s);
			err = -EINVAL;
			goto cleanup;
		}
		for (size_t i = 0; i < db->count; i++)
			if (!strcmp(db->users[i].name, s)) {
				snprintf(why, why_len, "%s:%zu: user '%s' appears twice", path,
					 lineno, s);
				err = -EINVAL;
				goto cleanup;
			}
		u = realloc(db->users, (db->count + 1) * sizeof(*u));
		if (!u) {
			err = -ENOMEM;
			goto cleanup;
		}
		db->users = u;
		u = &db->users[db->count];
		snprintf(u->name, sizeof(u->name), "%s", s);
		u->hash = strdup(colon + 1);
		if (!u->hash) {
			err = -ENOMEM;
			goto cleanup;
		}
		db->count++;
	}
	if (ferror(f)) {
		err = -EIO;
		snprintf(why, why_len, "cannot read %s", path);
		goto cleanup;
	}
	if (!db->count) {
		err = -EINVAL;
		snprintf(why, why_len, "%s holds no user: add lines made by tracedump passwd USER",
			 path);
		goto cleanup;
	}
	if (getrandom(db->key, sizeof(db->key), 0) != (ssize_t)sizeof(db->key) ||
	    getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		err = -errno ?: -EIO;
		snprintf(why, why_len, "getrandom: %s", strerror(-err));
		goto cleanup;
	}
	/* The dummy has the first user's cost parameters, so an unknown name takes as long. */
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (char)('a' + ((unsigned char)rnd[i] % 26));
	rnd[sizeof(rnd) - 1] = '\0';
	{
		struct crypt_data *cd = calloc(1, sizeof(*cd));

		if (!cd || !crypt_r(rnd, db->users[0].hash, cd) || cd->output[0] == '*') {
			free(cd);
			err = -ENOMEM;
			snprintf(why, why_len, "cannot prepare the password check");
			goto cleanup;
		}
		snprintf(dummy, sizeof(dummy), "%s", cd->output);
		free(cd);
	}
	db->dummy_hash = strdup(dummy);
	if (!db->dummy_hash)
		err = -ENOMEM;
cleanup:
	free(line);
	if (f)
		fclose(f);
	if (err)
		auth_db__free(db);
	else
		*out = db;
	return err;
}

static int cache_digest(struct auth_db *db, const char *user, const char *password,
			unsigned char *digest)
{
	char buf[AUTH_USER_MAX + AUTH_PASS_MAX + 2];
	size_t ul = strlen(user), pl = strlen(password);
	int err;

	if (ul > AUTH_USER_MAX || pl > AUTH_PASS_MAX)
		return -EINVAL;
	memcpy(buf, user, ul + 1);
	memcpy(buf + ul + 1, password, pl);
	err = gnutls_hmac_fast(GNUTLS_MAC_SHA256, db->key, sizeof(db->key), buf, ul + 1 + pl,
			       digest);
	explicit_bzero(buf, sizeof(buf));
	return err ? -EIO : 0;
}

bool auth_db__check_cached(struct auth_db *db, const char *user, const char *password)
{
	unsigned char digest[AUTH_DIGEST_LEN];
	time_t now = time(NULL);
	bool hit = false;

	if (cache_digest(db, user, password, digest))
		return false;
	pthread_mutex_lock(&db->lock);
	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
		const struct auth_cache_slot *c = &db->cache[i];

		if (c->expires > now && !gnutls_memcmp(c->digest, digest, sizeof(digest)))
			hit = true;
	}
	pthread_mutex_unlock(&db->lock);
	explicit_bzero(digest, sizeof(digest));
	return hit;
}

bool auth_db__check(struct auth_db *db, const char *user, const char *password)
{
	unsigned char digest[AUTH_DIGEST_LEN];
	const char *hash = db->dummy_hash;
	time_t now = time(NULL);
	bool known = false, hit = false, ok;
	size_t oldest = 0;

	if (!cache_digest(db, user, password, digest)) {
		pthread_mutex_lock(&db->lock);
		for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
			struct auth_cache_slot *c = &db->cache[i];

			if (c->expires > now && !gnutls_memcmp(c->digest, digest, sizeof(digest)))
				hit = true;
			if (c->expires < db->cache[oldest].expires)
				oldest = i;
		}
		pthread_mutex_unlock(&db->lock);
		if (hit)
			return true;
	} else {
		return false;
	}

	for (size_t i = 0; i < db->count; i++)
		if (!strcmp(db->users[i].name, user)) {
			hash = db->users[i].hash;
			known = true;
		}
	while (sem_wait(&db->slow_checks) && errno == EINTR)
		;
	ok = auth_verify_password(password, hash) == 1 && known;
	sem_post(&db->slow_checks);
	if (!ok)
		return false;

	pthread_mutex_lock(&db->lock);
	memcpy(db->cache[oldest].digest, digest, sizeof(digest));
	db->cache[oldest].expires = now + AUTH_CACHE_TTL_S;
	pthread_mutex_unlock(&db->lock);
	return true;
}
