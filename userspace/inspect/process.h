/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers behind `ps`, `show` and `kill` (userspace/inspect/process.c, kill_tree.c),
 * unit-tested in tests/unit/test_process.c.
 */
#ifndef TRACEDUMP_INSPECT_PROCESS_H
#define TRACEDUMP_INSPECT_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* uid -> user name, each uid looked up once (NSS lookups cost far more than /proc). */
struct user_cache {
	struct user_cache_entry {
		uid_t uid;
		char *name; /* NULL: the uid has no passwd entry */
	} *entries;
	size_t count, cap;
};

/* The user name of @uid, or NULL when it has none; valid until user_cache__free. */
const char *user_cache__name(struct user_cache *c, uid_t uid);
void user_cache__free(struct user_cache *c);

/* A --user value: a user name, or a decimal uid (any uid, even without a name).
 * -EINVAL for an empty value or a name that no user has. */
int parse_user(const char *s, uid_t *uid);

/*
 * Whether a process is named @want (`ps --name`): its comm, or the last path component
 * of argv[0] (@argv0, @argv0_len bytes, need not be NUL-terminated), compared exactly.
 */
bool process_name_matches(const char *want, const char *comm, const char *argv0,
			  size_t argv0_len);

/* The euid from the text of /proc/PID/status ("Uid:\tR E S F"); -EINVAL if absent. */
int process_status_euid(const char *buf, uid_t *euid);


#endif /* TRACEDUMP_INSPECT_PROCESS_H */
