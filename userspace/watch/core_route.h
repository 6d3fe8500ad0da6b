/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch --signal through the kernel's core_pattern pipe: for a signal whose default
 * action dumps core (SEGV, ABRT, BUS, FPE, ILL, QUIT, SYS, TRAP, XCPU, XFSZ) and that
 * the process does not handle, no ptrace is needed. The watch saves the current
 * /proc/sys/kernel/core_pattern (CORE_ROUTE_SAVED, with the owner's pid and start time),
 * installs "|<tracedump> core-relay %P %I ..." and listens on CORE_ROUTE_SOCK. At a
 * crash the kernel runs the relay (core_relay.c) with the ELF core on its stdin; the
 * relay passes that pipe to the watch with SCM_RIGHTS. The watch takes crashes of its
 * targets (the process stays, /proc/PID readable, until the core is read) and writes
 * the kernel's core through its sinks; anything else the relay hands to the saved
 * pattern as the kernel would have. The saved pattern comes back on every exit of the
 * watch; after a SIGKILL the next relay or the next watch puts it back (owner dead).
 */
#ifndef TRACEDUMP_WATCH_CORE_ROUTE_H
#define TRACEDUMP_WATCH_CORE_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dump/dumper.h"
#include "dump/sink.h"
#include "watch/core_route_state.h"


/* Signals whose default action dumps core (signal(7)): bit N is signal N. */
#define CORE_ROUTE_SIGNALS                                                                 \
	((1ULL << 3) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | (1ULL << 7) | (1ULL << 8) | \
	 (1ULL << 11) | (1ULL << 24) | (1ULL << 25) | (1ULL << 31))


/* Which way each watched signal of one process goes. */
struct signal_routes {
	uint64_t bpf;  /* handled: BPF stops the process before its handler */
	uint64_t core; /* default action dumps core: the core_pattern route */
	uint64_t ptrace;
};

/*
 * @watched signals, @handled those with a handler in the process; @bpf_ok the BPF stop
 * is loaded; @core_ok the route can take this process. A process with any signal that
 * only ptrace can catch is ptraced for all (it pays for every signal anyway).
 */
void core_route__plan(uint64_t watched, uint64_t handled, bool bpf_ok, bool core_ok,
		      struct signal_routes *out);

struct core_filter_saved {
	pid_t pid;
	uint64_t start; /* starttime, against PID reuse */
	unsigned long filter;
};

struct core_route {
	int listen_fd; /* -1: not installed */
	bool tried;    /* install tried (once per watch) */
	int err;       /* its result */
	char why[512]; /* why it is not usable */
	char pattern[512];
	struct core_filter_saved *filters;
	size_t nfilters;
};

/* A crash the relay brought. */
struct core_crash {
	int conn, pipe;
	pid_t pid, tid;
	int sig;
	int64_t time;
	uint64_t accepted_ns;
	/* From the core's head (read by core_crash__take). */
	unsigned char *head;
	size_t head_len;
	uint64_t size; /* the core's logical size from its program headers; 0 unknown */
	unsigned long filter; /* the process's coredump_filter at the crash; 0 unknown */
	json_t *build_ids;    /* of the mapped ELF files, as dumper__run's result has them */
	int threads;
	bool has_siginfo;
	int si_code, sender_pid;
	uint64_t fault_addr;
};

void core_route__init(struct core_route *r);

/*
 * Installs the route (once; later calls return the first result): -EBUSY another live
 * watch holds it, -EPERM/-EROFS the sysctl is not writable, -ENAMETOOLONG the pattern
 * would pass 127 bytes. @r->why says.
 */
int core_route__install(struct core_route *r);

/* Puts the saved pattern back (if ours is still there) and closes the socket. */
void core_route__restore(struct core_route *r);

/* Can the kernel's core of @pid come through the route? No when RLIMIT_CORE is 1
 * (the kernel skips pipes then) or the process is not dumpable. @why says. */
bool core_route__dumps(pid_t pid, char *why, size_t why_len);

/* Sets @pid's coredump_filter for @type (0x33 default, 0x1ff full), remembering the
 * old value for core_route__restore. */
int core_route__set_filter(struct core_route *r, pid_t pid, enum dump_type type);

/* A crash waiting on the socket (never blocks): 1 with @c filled, 0 none. */
int core_route__next(struct core_route *r, struct core_crash *c);

/* Not ours: the relay hands the core to the saved pattern. Closes @c. */
void core_crash__decline(struct core_crash *c);

/* Ours: answers the relay and reads the core's head (headers and notes). 0 or -errno. */
int core_crash__take(struct core_crash *c, char *why, size_t why_len);

/* The trigger detail: signal, signo, tid, code, sender_pid, fault_address, by. */
json_t *core_crash__detail(const struct core_crash *c);

/*
 * Streams the rest of the core into @sink (zero pages as holes), finishes it and fills
 * *@result as dumper__run does. On error the sink is aborted, @why set.
 */
int core_crash__copy(struct core_crash *c, struct core_sink *sink, enum dump_type type,
		     json_t **result, char *why, size_t why_len);

void core_crash__close(struct core_crash *c);

#endif /* TRACEDUMP_WATCH_CORE_ROUTE_H */
