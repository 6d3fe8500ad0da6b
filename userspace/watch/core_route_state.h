/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the watch (core_route.c) and the relay (core_relay.c) share: where the route's
 * state lives, what the relay sends, and the state file's handling. libc and procfs.c
 * only, for the static relay binary.
 */
#ifndef TRACEDUMP_WATCH_CORE_ROUTE_STATE_H
#define TRACEDUMP_WATCH_CORE_ROUTE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CORE_ROUTE_DIR "/run/tracedump"
#define CORE_ROUTE_SOCK CORE_ROUTE_DIR "/core-relay.sock"
#define CORE_ROUTE_SAVED CORE_ROUTE_DIR "/core_pattern.saved"
#define CORE_ROUTE_LOCK CORE_ROUTE_DIR "/core_pattern.lock"
#define CORE_PATTERN_FILE "/proc/sys/kernel/core_pattern"
/* The relay's arguments after "core-relay", in this order. */
#define CORE_RELAY_ARGS "%P %I %s %c %d %u %g %t %p %i %C %h %e"
#define CORE_RELAY_NARGS 13
/* The relay binary beside tracedump (a static one, quick for the kernel to start);
 * without it the pattern runs "tracedump core-relay". */
#define CORE_RELAY_BINARY "tracedump-core-relay"

/* What the relay sends, with its stdin (the core pipe) as SCM_RIGHTS. */
#define CORE_RELAY_MAGIC 0x74646372u /* "tdcr" */
struct core_relay_msg {
	uint32_t magic;
	int32_t pid, tid, sig; /* %P %I %s */
	int64_t time;	       /* %t */
};
#define CORE_RELAY_TAKEN 'T'
#define CORE_RELAY_DECLINED 'D'

/* Restores a route left by a dead owner. 1 healed, 0 nothing to do, -errno. */
int core_route__heal(void);

/* Whether @pattern is a core-relay pattern of any tracedump. */
bool core_route__is_relay(const char *pattern);

/* Reads the state file: the saved pattern and its owner. 0 or -errno. */
int core_route__read_state(char *saved, size_t len, pid_t *owner, uint64_t *start);

/* Whether process @pid (start time @start) is alive. */
bool core_route__alive(pid_t pid, uint64_t start);

/* The helpers behind them, for core_route.c. */
uint64_t core_state__start_time(pid_t pid);
int core_state__read_text(const char *path, char *buf, size_t len); /* bytes or -errno */
int core_state__read_pattern(char *buf, size_t len);
int core_state__write_pattern(const char *pattern);
int core_state__lock(void);	   /* the locked fd, or -errno */
int core_state__heal_locked(void); /* core_route__heal under the lock */

/* The relay itself (core_relay.c): the kernel's arguments in, an exit code out. */
int core_relay__main(int argc, char **argv);

#endif /* TRACEDUMP_WATCH_CORE_ROUTE_STATE_H */
