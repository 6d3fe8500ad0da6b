/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pause-less dumps (issue 7): a copy-on-write copy of a frozen target, made by
 * injecting clone() into one of its frozen threads through ptrace. The copy (the
 * "child") is born traced and stopped and never runs an instruction; the core's memory
 * is read from it while the target runs on, then it is killed and the target itself is
 * made to reap it (a second, short freeze), so no zombie and no wait() of the target
 * ever sees it.
 *
 * Clone flags: CLONE_FILES and exit_signal 0. CLONE_FILES shares the fd table, so the
 * child keeps no file open behind the target's back. Not CLONE_PARENT (the child would
 * report to the target's parent with the target's exit signal, SIGCHLD). exit_signal 0 sends no
 * SIGCHLD and hides the child from every wait() without __WALL/__WCLONE
 * (kernel/exit.c eligible_child()); while we trace it, even __WALL waiters cannot reap
 * it ("a zombie ptracee is only visible to its ptracer", wait_consider_task()). They
 * do see that a child exists: waitpid(-1, WNOHANG|__WALL) returns 0, not ECHILD, during
 * the dump.
 */
#ifndef TRACEDUMP_DUMP_SNAPSHOT_H
#define TRACEDUMP_DUMP_SNAPSHOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct capture;
struct freeze;

struct snapshot_map {
	uint64_t start, end;
	char *path;
};

struct snapshot {
	bool used;	     /* the child exists; read memory from it */
	char reason[256];    /* why not, when !used */
	pid_t child;	     /* 0 when none */
	pid_t thread;	     /* the target thread clone() ran in */
	uint64_t insn;	     /* the `syscall` instruction used, reused for the reap */
	uint64_t fork_ns;    /* the injection, clone() included */
	uint64_t reap_pause_ns; /* the second freeze, to reap the child */
	uint64_t private_start; /* the child's Private_* bytes right after the fork */
	uint64_t cow_bytes;  /* pages copied because the target wrote them meanwhile */
	uint64_t page_table_bytes; /* the child's page tables */
	bool reaped;
	char reap_note[512]; /* set when the reap went wrong */
	json_t *absent;	     /* [{start, end, madvise, path}]: DONTFORK / WIPEONFORK */
	struct snapshot_map *target_maps; /* the target's, when frozen (/proc/PID/maps) */
	size_t target_map_count;
};

/*
 * Makes the copy of the target frozen in @fz (as captured by capture__take_threads()
 * in @cap). Returns 0 with snap->used true, or 0 with snap->used false and
 * snap->reason set when a snapshot is not possible or not safe here (the caller then
 * reads the mappings and dumps the frozen target); -ESRCH when the target died,
 * -ENOMEM. The target's registers are as they were on every path; a signal caught
 * while injecting is put in @fz, so freeze__release() gives it back.
 * Must run on the thread that froze the target.
 */
int snapshot__take(struct freeze *fz, struct capture *cap, struct snapshot *snap);

/*
 * Fills @cap's mappings from the child (the target may run meanwhile). Mappings the
 * child lacks (MADV_DONTFORK) or holds zeroed (MADV_WIPEONFORK) are not in @cap (the
 * core has no segment for them) and are listed in snap->absent. 0 or -errno.
 */
int snapshot__read_maps(struct snapshot *snap, struct capture *cap);

/* Reads the child's memory counters: the copy-on-write cost so far. Best effort. */
void snapshot__measure(struct snapshot *snap);

/*
 * Kills the child and has the target reap it (freezing it again briefly). Idempotent;
 * safe when there is no child. Same thread as snapshot__take().
 */
void snapshot__end(struct snapshot *snap, pid_t target);

/*
 * The address of a `syscall` instruction in the executable text of @cap->mem_pid (only
 * mem_pid, auxv and auxv_len of @cap are used); 0 when none.
 */
uint64_t snapshot__find_insn(const struct capture *cap);

/*
 * Runs syscall @nr(@args) in one thread of the target frozen in @fz (one in a plain
 * PTRACE_INTERRUPT stop, under no seccomp filter), at the `syscall` instruction @insn,
 * and puts the thread back exactly as it was frozen. 0 with *@ret the syscall's return
 * (-errno for a failed syscall); -EAGAIN when no thread could run it, -ESRCH, -errno;
 * @why says why. Same thread as freeze__all().
 */
int snapshot__syscall(struct freeze *fz, uint64_t insn, long nr, const uint64_t args[6],
		      long *ret, char *why, size_t why_len);

/* {"used": ..., "reason"|"fork_ms", ...}; a new reference. */
json_t *snapshot__json(const struct snapshot *snap);

void snapshot__free(struct snapshot *snap);

#endif /* TRACEDUMP_DUMP_SNAPSHOT_H */
