/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc/sys/kernel/core_pattern as the kernel reads it (fs/coredump.c, format_corename,
 * 6.x), for `tracedump core-relay`, which must hand a crash it does not take to the
 * pattern that was there before exactly as the kernel would have. Pure: the facts come
 * from the caller. Specifiers: %% %p %P %i %I %u %g %d %s %t %h %e %E %f %c %C %F; an
 * unknown one is dropped with its '%', as is a trailing '%'. %e %h %E %f are escaped as
 * the kernel escapes them ('/' becomes '!', an empty value "!", a leading '.' of "." or
 * ".." '!'). A pipe pattern is split on whitespace BEFORE expansion (kernel 5.12+,
 * commit 315c69261dd3), so a comm with spaces stays one argument.
 */
#ifndef TRACEDUMP_WATCH_CORE_PATTERN_H
#define TRACEDUMP_WATCH_CORE_PATTERN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CORE_PATTERN_MAX 128 /* the sysctl's buffer, NUL included: 127 characters */

/* What the kernel knows at the crash; the relay gets most of it as its arguments. */
struct core_facts {
	pid_t pid, tid;	      /* %P %I: initial PID namespace */
	pid_t ns_pid, ns_tid; /* %p %i: the crashing process's own PID namespace */
	int sig;	      /* %s */
	uint64_t limit;	      /* %c: RLIMIT_CORE soft limit (UINT64_MAX: unlimited) */
	int dump_mode;	      /* %d: 0, 1 or 2 (suid_dumpable) */
	uid_t uid;	      /* %u: real uid */
	gid_t gid;	      /* %g: real gid */
	int64_t time;	      /* %t */
	int cpu;	      /* %C, -1: unknown (expands to nothing) */
	int pidfd;	      /* %F, -1: none (expands to nothing) */
	char host[65];	      /* %h */
	char comm[64];	      /* %e */
	char exe[PATH_MAX];   /* the executable's path: %E (escaped) and %f (its name) */
};

/* A pipe pattern ("|prog args"): true, else a file pattern. */
static inline bool core_pattern__is_pipe(const char *pattern)
{
	return pattern[0] == '|';
}

/*
 * A file pattern expanded into @out (@core_uses_pid: ".PID" appended when the pattern
 * has no %p, as the sysctl core_uses_pid does). 0, or -ENAMETOOLONG.
 */
int core_pattern__expand_file(const char *pattern, const struct core_facts *f,
			      bool core_uses_pid, char *out, size_t len);

/*
 * A pipe pattern ("|prog arg...") split and expanded into a NULL-terminated argv
 * (*@argv and its strings in one malloc'd block, freed with free(*@argv)). Returns
 * argc (>= 1), -EINVAL for no program, -ENOMEM.
 */
int core_pattern__expand_pipe(const char *pattern, const struct core_facts *f, char ***argv);

#endif /* TRACEDUMP_WATCH_CORE_PATTERN_H */
