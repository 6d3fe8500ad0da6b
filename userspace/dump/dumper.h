/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dumper as a library: `dump`, `watch` and `serve` call dumper__run() with a sink
 * (sink.h) of their choice. The steps, each in its own file:
 *   freeze.c   stop every thread (PTRACE_SEIZE + PTRACE_INTERRUPT), release them
 *   capture.c  registers, process facts and mappings while frozen
 *   memory.c   which memory goes in (coredump_filter rules), the PT_LOAD plan
 *   memory_copy.c  the copy: a reader thread and this thread writing, overlapped
 *   precopy.c  --snapshot into a file: copied while it runs, written pages copied again
 *              (userfaultfd write-protection, PAGEMAP_SCAN), two short freezes;
 *              precopy_layout.c where its pieces lie in the file
 *   snapshot.c --snapshot into a stream: a copy-on-write fork of the frozen target, read
 *              while it runs; also the syscall injection both use
 *   notes.c    the PT_NOTE segment (NT_PRSTATUS, NT_FILE, ...)
 *   core.c     the ELF core itself: header, program headers, notes, memory
 *   arch_*.c   what differs by CPU architecture
 * The thread state (struct capture) and the memory source are separate: memory__plan()
 * and core__write() take the PID to read memory from, so a snapshot (a fork of the
 * frozen target, issue 7) can be read while the target itself is already released.
 */
#ifndef TRACEDUMP_DUMPER_H
#define TRACEDUMP_DUMPER_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "dump/sink.h"

struct freeze;

/* Kudu's dumpType: 0 mini, 1 default (the kernel's coredump_filter 0x33), 2 full. */
enum dump_type {
	DUMP_TYPE_MINI = 0,
	DUMP_TYPE_DEFAULT = 1,
	DUMP_TYPE_FULL = 2,
	DUMP_TYPE_FILTER = 3, /* an explicit coredump_filter mask (--filter) */
};

struct dump_opts {
	pid_t pid;
	enum dump_type type;
	unsigned long filter;		 /* DUMP_TYPE_FILTER only */
	volatile sig_atomic_t *cancel;	 /* non-zero: stop, release the target, abort the sink */
	/* Called from the writing thread now and then; @total is the core's logical size. */
	void (*progress)(uint64_t done, uint64_t total, void *ctx);
	void *progress_ctx;
	/* Copy-on-write snapshot (snapshot.h): the target is frozen only to capture and
	 * fork, the memory is read from the copy; falls back to a plain freeze (the result
	 * says why) when the target cannot fork safely. */
	bool snapshot; /* ignored with @held: the caller keeps the threads stopped */
	/* Caller already holds ptrace (watch --signal): every thread of @pid is seized by
	 * the calling thread and stopped, listed in *held. The dumper then neither seizes
	 * nor releases; the caller resumes the threads afterwards (giving back the signal). */
	struct freeze *held;
	/* The signal the dump is taken at (0: none) and the thread taking it: that
	 * thread comes first in the core, with pr_cursig and NT_SIGINFO set. */
	int signo;
	pid_t signal_tid;
	siginfo_t siginfo;
};

/*
 * Dumps process @o->pid into @sink as an ELF core: freeze, capture, write, release.
 * The target is released on every path. On success the sink is finished and
 * *@result (if not NULL) is the JSON result (type, bytes_written, memory_bytes,
 * threads, pause_ms, duration_ms, build_ids..., and "snapshot" when asked; the caller
 * adds "path"). On error the
 * sink is aborted, @why says what failed, and the return is -errno: -ESRCH no process
 * or it exited, -EPERM not allowed, -EBUSY already traced, -ENOSPC no room,
 * -ECANCELED interrupted, -EOPNOTSUPP unsupported architecture, -EINVAL not dumpable.
 */
int dumper__run(const struct dump_opts *o, struct core_sink *sink, json_t **result,
		char *why, size_t why_len);

/* "<name>_<trigger>_<YYYY-MM-DD_HH-MM-SS>.<pid>.core" (UTC, the name made file-safe). */
void dumper__default_name(const char *comm, const char *trigger, pid_t pid, time_t when,
			  char *out, size_t len);

/* "mini", "default", "full", "filter". */
const char *dumper__type_name(enum dump_type type);

/* Parses "0|1|2|mini|default|full"; -EINVAL otherwise. */
int dumper__parse_type(const char *s, enum dump_type *out);

#endif /* TRACEDUMP_DUMPER_H */
