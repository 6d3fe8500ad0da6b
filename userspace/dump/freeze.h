/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Freezing a process for a dump: PTRACE_SEIZE + PTRACE_INTERRUPT on every thread,
 * never SIGSTOP. If tracedump dies (even SIGKILL) the kernel detaches seized tracees
 * and they run on; freeze__release() resumes them on every other path.
 * Every ptrace call must come from the thread that called freeze__all().
 */
#ifndef TRACEDUMP_DUMP_FREEZE_H
#define TRACEDUMP_DUMP_FREEZE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct frozen_thread {
	pid_t tid;
	int resume_sig;	/* a signal caught in signal-delivery-stop, given back on detach */
	int gone;	/* exited while we held it */
};

struct freeze {
	pid_t pid;
	struct frozen_thread *threads; /* kernel order: /proc/PID/task, leader first */
	size_t count, cap;
	uint64_t frozen_ns;   /* CLOCK_MONOTONIC when the first thread was seized */
	uint64_t released_ns; /* when the last one was let go */
};

/*
 * Seizes and stops every thread of @pid, re-scanning /proc/PID/task until no new
 * thread appears. On error everything seized is released and @why says what failed:
 * -ESRCH gone, -EPERM not allowed, -EBUSY already traced (the tracer is named),
 * -ECANCELED when *@cancel became non-zero.
 */
int freeze__all(pid_t pid, struct freeze *fz, volatile sig_atomic_t *cancel, char *why,
		size_t why_len);

/* Detaches every thread (giving back caught signals) and frees the list. Idempotent. */
void freeze__release(struct freeze *fz);

uint64_t monotonic_ns(void);

#endif /* TRACEDUMP_DUMP_FREEZE_H */
