// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pause-less dumps: clone() injected into a frozen thread; see snapshot.h.
 *
 * The injection, on a thread in a PTRACE_INTERRUPT stop (inside get_signal()):
 *  1. save its registers; point RIP at a `syscall` instruction of the target's own text
 *     (the vDSO has some), RAX at clone, ORIG_RAX at -1. ORIG_RAX -1 matters: a thread
 *     interrupted in a blocking syscall (nanosleep, read, futex) stops with RAX
 *     -ERESTART* and the kernel's restart logic (arch_do_signal_or_restart(), after
 *     get_signal() returns) would otherwise rewind RIP by 2 and redo that syscall;
 *  2. PTRACE_SYSCALL to the syscall-entry stop, again through PTRACE_EVENT_CLONE (the
 *     child, auto-attached as PTRACE_O_TRACECLONE asks) to the syscall-exit stop;
 *  3. PTRACE_INTERRUPT + PTRACE_CONT: the thread goes back into get_signal() and stops
 *     there (PTRACE_EVENT_STOP), where its registers are restored. That is where it
 *     was frozen, so on release the restart logic sees the original RAX/ORIG_RAX and the
 *     interrupted syscall goes on as if nothing happened, however the thread is resumed
 *     later. (Restored at the syscall-exit stop, the restart would hinge on the thread
 *     passing through the signal path before user mode, which only the wake-up of a
 *     later PTRACE_DETACH provides.)
 * The child stops at birth and never runs: its RIP is pointed at exit_group and it gets
 * PTRACE_O_EXITKILL, so even if tracedump dies it can only die too.
 * The end: kill the child; freeze the target again; reap the child as its tracer (it
 * becomes the target's zombie, invisible to the frozen target); inject
 * wait4(child, NULL, __WALL | WNOHANG) into the target to reap it; release.
 */
#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/procfs.h"
#include "dump/capture.h"
#include "dump/freeze.h"
#include "dump/snapshot.h"

#ifdef __x86_64__
#include <sys/user.h>

#define SYSCALL_SEARCH_MAX (16U << 20) /* bytes of text searched for a `syscall` */

/* The first `syscall` instruction (0f 05) in [start, end) of @pid, read in 64 KiB
 * pieces, at most *@budget bytes; 0 when none. (No static buffer: serve may dump
 * from several threads at once.) */
static uint64_t search_insn(pid_t pid, uint64_t start, uint64_t end, uint64_t *budget)
{
	const size_t size = 64 << 10;
	unsigned char *buf = malloc(size);
	uint64_t found = 0;

	for (uint64_t at = start; buf && !found && at < end && *budget;) {
		size_t len = end - at < size ? end - at : size;
		struct iovec local, remote;
		ssize_t n;

		if (len > *budget)
			len = *budget;
		local = (struct iovec){ buf, len };
		remote = (struct iovec){ (void *)at, len };
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n < 2)
			break;
		for (ssize_t k = 0; k + 1 < n && !found; k++)
			if (buf[k] == 0x0f && buf[k + 1] == 0x05)
				found = at + k;
		at += n - 1;
		*budget -= n;
	}
	free(buf);
	return found;
}

/* Where a `syscall` instruction is in @cap's executable text: the vDSO first (its
 * address from the auxv's AT_SYSINFO_EHDR, its pages read until one fails), then the
 * executable file mappings of /proc/PID/maps. Executing it from the middle of another
 * instruction is fine: the CPU decodes from RIP. 0 when none. */
static uint64_t find_syscall_insn(const struct capture *cap)
{
	const Elf64_auxv_t *av = cap->auxv;
	uint64_t budget = SYSCALL_SEARCH_MAX, insn = 0;
	char *maps = NULL, *line, *next;

	for (size_t i = 0; i < cap->auxv_len / sizeof(*av); i++)
		if (av[i].a_type == AT_SYSINFO_EHDR && av[i].a_un.a_val) {
			uint64_t vdso_budget = 64 << 10;

			insn = search_insn(cap->mem_pid, av[i].a_un.a_val,
					   av[i].a_un.a_val + vdso_budget, &vdso_budget);
		}
	if (insn || procfs_read(cap->mem_pid, -1, "maps", &maps, NULL))
		return insn;
	for (line = maps; line && *line && !insn && budget; line = next) {
		struct proc_map pm;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!procfs_parse_maps_line(line, &pm) && pm.perms[0] == 'r' && pm.perms[2] == 'x')
			insn = search_insn(cap->mem_pid, pm.start, pm.end, &budget);
	}
	free(maps);
	return insn;
}

/* Waits for a ptrace stop of @tid; -ESRCH if it died. */
static int wait_stop(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);

		if (r == tid) {
			if (WIFEXITED(*status) || WIFSIGNALED(*status))
				return -ESRCH;
			if (WIFSTOPPED(*status))
				return 0;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		return -ESRCH;
	}
}

/* A thread in a PTRACE_INTERRUPT stop, not a group-stop (a SIGSTOPped process) nor a
 * signal-delivery stop: PTRACE_GETSIGINFO says SIGTRAP only for the former. */
static bool interrupt_stopped(pid_t tid)
{
	siginfo_t si;

	return !ptrace(PTRACE_GETSIGINFO, tid, 0, &si) && si.si_signo == SIGTRAP;
}

struct injection {
	pid_t tid;
	uint64_t insn;
	long nr;
	uint64_t args[6];
	long ret;	   /* the syscall's return */
	pid_t child;	   /* from PTRACE_EVENT_CLONE */
	int signal;	   /* a signal that arrived before the syscall: injection aborted */
	char why[160];
};

/*
 * Runs one syscall in frozen thread @in->tid and puts it back exactly as it was
 * frozen. 0 (in->ret is the syscall's return), 1 when a signal came first (nothing
 * ran; the thread is left in that signal-delivery stop with its own registers and
 * in->signal must be given back on detach), -errno (-ESRCH: the thread died).
 */
static int inject(struct injection *in)
{
	struct user_regs_struct saved, r;
	bool entered = false, restore = false;
	int status, err;

	if (ptrace(PTRACE_GETREGS, in->tid, 0, &saved)) {
		err = -errno;
		snprintf(in->why, sizeof(in->why), "PTRACE_GETREGS of thread %d: %s", in->tid,
			 strerror(-err));
		return err;
	}
	if (saved.cs != 0x33) { /* __USER_CS: a 32-bit thread has another syscall ABI */
		snprintf(in->why, sizeof(in->why), "thread %d runs 32-bit code", in->tid);
		return -EOPNOTSUPP;
	}
	if (ptrace(PTRACE_SETOPTIONS, in->tid, 0,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE))) {
		err = -errno;
		snprintf(in->why, sizeof(in->why), "PTRACE_SETOPTIONS of thread %d: %s", in->tid,
			 strerror(-err));
		return err;
	}
	r = saved;
	r.rip = in->insn;
	r.rax = (unsigned long long)in->nr;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = in->args[0];
	r.rsi = in->args[1];
	r.rdx = in->args[2];
	r.r10 = in->args[3];
	r.r8 = in->args[4];
	r.r9 = in->args[5];
	if (ptrace(PTRACE_SETREGS, in->tid, 0, &r)) {
		err = -errno;
		snprintf(in->why, sizeof(in->why), "PTRACE_SETREGS of thread %d: %s", in->tid,
			 strerror(-err));
		goto out;
	}
	restore = true;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, in->tid, 0, 0)) {
			err = -errno;
			goto out;
		}
		err = wait_stop(in->tid, &status);
		if (err)
			goto gone;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			if (entered)
				break; /* syscall-exit stop */
			entered = true;
			continue;
		}
		if ((status >> 8) == (SIGTRAP | (PTRACE_EVENT_CLONE << 8))) {
			unsigned long msg = 0;

			if (!ptrace(PTRACE_GETEVENTMSG, in->tid, 0, &msg))
				in->child = (pid_t)msg;
			continue;
		}
		if ((status >> 16) == PTRACE_EVENT_STOP)
			continue;
		/* A signal-delivery stop. Before the syscall entry the thread has not
		 * left get_signal(): no user instruction ran, so its own registers go
		 * back and the signal is handed back on release, as if never seen. */
		if (!entered) {
			in->signal = WSTOPSIG(status);
			err = ptrace(PTRACE_SETREGS, in->tid, 0, &saved) ? -errno : 1;
			restore = false;
			goto out;
		}
		/* Cannot happen between entry and exit stops (signals are handled on the
		 * way to user mode); should it, keep it for the release. */
		in->signal = WSTOPSIG(status);
	}
	in->ret = (long)({
		struct user_regs_struct x;

		ptrace(PTRACE_GETREGS, in->tid, 0, &x) ? (unsigned long long)-EFAULT : x.rax;
	});
	/* Back into get_signal(): interrupt, then let it reach that stop. */
	if (ptrace(PTRACE_INTERRUPT, in->tid, 0, 0) || ptrace(PTRACE_CONT, in->tid, 0, 0)) {
		err = -errno;
		goto out;
	}
	for (;;) {
		err = wait_stop(in->tid, &status);
		if (err)
			goto gone;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			break;
		/* Cannot happen (the trap comes before any signal); never lose one. */
		in->signal = WSTOPSIG(status);
		if (ptrace(PTRACE_INTERRUPT, in->tid, 0, 0) || ptrace(PTRACE_CONT, in->tid, 0, 0)) {
			err = -errno;
			goto out;
		}
	}
	err = 0;
out:
	if (restore && ptrace(PTRACE_SETREGS, in->tid, 0, &saved) && !err)
		err = -errno;
	ptrace(PTRACE_SETOPTIONS, in->tid, 0, 0);
	if (err < 0 && !in->why[0])
		snprintf(in->why, sizeof(in->why), "injecting a syscall into thread %d: %s",
			 in->tid, strerror(-err));
	return err;
gone:
	snprintf(in->why, sizeof(in->why), "thread %d exited", in->tid);
	return -ESRCH;
}

/* The seccomp mode of thread @tid (Seccomp: in its status): 0 none, 1 strict, 2 filter;
 * -1 when it cannot be told (taken as unsafe). Filters are per thread. */
static int seccomp_mode(pid_t pid, pid_t tid)
{
	char *status = NULL, *p;
	int mode = -1;

	if (procfs_read(pid, tid, "status", &status, NULL))
		return -1;
	p = strstr(status, "\nSeccomp:");
	if (p)
		mode = atoi(p + 9);
	free(status);
	return mode;
}

/*
 * Picks the thread to inject into: the leader first; one that is in a plain
 * PTRACE_INTERRUPT stop, holds no caught signal and runs under no seccomp filter (a
 * filter may kill the whole process on clone(), SECCOMP_RET_KILL_PROCESS, and cannot
 * be read without CAP_SYS_ADMIN games: never risk it). NULL when none; *@seccomp then
 * says whether seccomp was the reason for some thread.
 */
static struct frozen_thread *pick_thread(struct freeze *fz, int *seccomp)
{
	*seccomp = 0;
	for (size_t i = 0; i < fz->count; i++) {
		struct frozen_thread *t = &fz->threads[i];
		int mode;

		if (t->gone || t->resume_sig || !interrupt_stopped(t->tid))
			continue;
		mode = seccomp_mode(fz->pid, t->tid);
		if (!mode)
			return t;
		if (mode > 0)
			*seccomp = mode;
	}
	return NULL;
}

/* The child's first stop: make it harmless whatever happens to tracedump. */
static int tame_child(pid_t child, uint64_t insn)
{
	struct user_regs_struct r;
	int status, err;

	err = wait_stop(child, &status);
	if (err)
		return err;
	if (ptrace(PTRACE_SETOPTIONS, child, 0, (void *)(long)PTRACE_O_EXITKILL) ||
	    ptrace(PTRACE_GETREGS, child, 0, &r))
		return -errno;
	r.rip = insn;
	r.rax = SYS_exit_group;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = 0;
	return ptrace(PTRACE_SETREGS, child, 0, &r) ? -errno : 0;
}

static void add_absent(struct snapshot *snap, uint64_t start, uint64_t end, const char *why,
		       const char *path)
{
	char s[32], e[32];

	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)start);
	snprintf(e, sizeof(e), "0x%llx", (unsigned long long)end);
	json_array_append_new(snap->absent, json_pack("{s:s, s:s, s:s, s:s}", "start", s, "end",
						      e, "madvise", why, "path", path));
}

/* The target's mappings, from the cheap /proc/PID/maps (no page walk), while frozen:
 * what the child lacks of them was MADV_DONTFORK. */
static int read_target_maps(pid_t pid, struct snapshot *snap)
{
	char *maps = NULL, *line, *next;
	size_t cap = 0;
	int err = procfs_read(pid, -1, "maps", &maps, NULL);

	for (line = maps; !err && line && *line; line = next) {
		struct proc_map pm;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (procfs_parse_maps_line(line, &pm))
			continue;
		if (snap->target_map_count == cap) {
			size_t n = cap ? cap * 2 : 256;
			void *p = realloc(snap->target_maps, n * sizeof(*snap->target_maps));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			snap->target_maps = p;
			cap = n;
		}
		snap->target_maps[snap->target_map_count].start = pm.start;
		snap->target_maps[snap->target_map_count].end = pm.end;
		snap->target_maps[snap->target_map_count].path = strdup(pm.path);
		if (!snap->target_maps[snap->target_map_count++].path)
			err = -ENOMEM;
	}
	free(maps);
	return err;
}

int snapshot__read_maps(struct snapshot *snap, struct capture *cap)
{
	size_t w = 0;
	int err;

	err = capture__read_maps(snap->child, cap);
	if (err)
		return err;
	/* DONTFORK mappings are not in the child at all. */
	for (size_t i = 0, j = 0; i < snap->target_map_count; i++) {
		const struct snapshot_map *t = &snap->target_maps[i];

		while (j < cap->map_count && cap->maps[j].start < t->start)
			j++;
		if (j == cap->map_count || cap->maps[j].start != t->start)
			add_absent(snap, t->start, t->end, "MADV_DONTFORK", t->path);
	}
	/* The child's memory of WIPEONFORK mappings is zeros: left out of the core, so a
	 * debugger says "Cannot access memory" there rather than showing zeros. */
	for (size_t i = 0; i < cap->map_count; i++) {
		struct capture_map *m = &cap->maps[i];

		if (!(m->vmflags & VMF_WIPEONFORK)) {
			cap->maps[w++] = *m;
			continue;
		}
		add_absent(snap, m->start, m->end, "MADV_WIPEONFORK", m->path);
		free(m->path);
	}
	cap->map_count = w;
	return 0;
}

static void reap_child(struct freeze *fz, struct snapshot *snap);

int snapshot__take(struct freeze *fz, struct capture *cap, struct snapshot *snap)
{
	struct injection in = {};
	struct frozen_thread *t;
	uint64_t t0 = monotonic_ns();
	int mode, err, tamed = 0;

	memset(snap, 0, sizeof(*snap));
	snap->absent = json_array();
	if (!snap->absent)
		return -ENOMEM;
	if (read_target_maps(cap->mem_pid, snap)) {
		snprintf(snap->reason, sizeof(snap->reason), "could not read /proc/%d/maps",
			 cap->mem_pid);
		return 0;
	}
	snap->insn = find_syscall_insn(cap);
	if (!snap->insn) {
		snprintf(snap->reason, sizeof(snap->reason),
			 "no syscall instruction found in the process's executable text");
		return 0;
	}
	/* A signal arriving for the chosen thread aborts the injection before anything
	 * ran (and is given back on release): another thread is then tried. */
	for (int tries = 0;; tries++) {
		t = pick_thread(fz, &mode);
		if (!t && mode) {
			snprintf(snap->reason, sizeof(snap->reason),
				 "the process runs under seccomp (%s mode): a clone() could kill "
				 "it, so it was frozen for the whole dump",
				 mode == 1 ? "strict" : "filter");
			return 0;
		}
		if (!t) {
			snprintf(snap->reason, sizeof(snap->reason),
				 "no thread can run an injected syscall (the process is stopped "
				 "by a signal, or every thread holds a pending signal)");
			return 0;
		}
		/* clone(CLONE_FILES | exit_signal 0, a bad stack, no tids, no tls).
		 * CLONE_FILES: the child shares the fd table instead of holding a
		 * reference to every open file, so a socket or pipe the target closes
		 * during the dump really closes (the peer sees EOF now, not when the copy
		 * dies) and flock()s are released. */
		memset(&in, 0, sizeof(in));
		in.tid = t->tid;
		in.insn = snap->insn;
		in.nr = SYS_clone;
		in.args[0] = CLONE_FILES;
		/* The child's stack pointer in page 0, never mapped: should it ever run
		 * (tracedump killed between its birth and tame_child()), its first stack
		 * access faults and it dies. */
		in.args[1] = 64;
		err = inject(&in);
		if (err != 1)
			break;
		t->resume_sig = in.signal;
		if (tries == 2) {
			snprintf(snap->reason, sizeof(snap->reason),
				 "signals kept arriving while the snapshot was being made");
			return 0;
		}
	}
	snap->thread = in.tid;
	if (in.child > 0) {
		snap->child = in.child;
		tamed = tame_child(in.child, in.insn);
		if (tamed < 0)
			kill(in.child, SIGKILL); /* not held: it must not live on */
	}
	if (in.child > 0 && (err || in.ret != in.child || tamed < 0))
		reap_child(fz, snap); /* made but not usable: gone before anything else */
	if (!err && tamed < 0) {
		snprintf(snap->reason, sizeof(snap->reason), "could not hold the copy: %s",
			 strerror(-tamed));
		return 0;
	}
	if (in.signal)
		t->resume_sig = in.signal;
	if (err == -ESRCH && in.tid == fz->pid)
		return -ESRCH;
	if (err) {
		snprintf(snap->reason, sizeof(snap->reason), "%s", in.why);
		return 0;
	}
	if (in.ret < 0 || in.ret != in.child) {
		if (in.ret < 0)
			snprintf(snap->reason, sizeof(snap->reason),
				 "clone() failed in the process: %s%s", strerror((int)-in.ret),
				 in.ret == -EAGAIN ? " (RLIMIT_NPROC, pids.max or threads-max)"
				 : in.ret == -ENOMEM ? " (overcommit refused a copy of its memory)"
						     : "");
		else
			snprintf(snap->reason, sizeof(snap->reason),
				 "clone() returned %ld, not the child %d", in.ret, in.child);
		return 0;
	}
	snap->used = true;
	snap->fork_ns = monotonic_ns() - t0;
	return 0;
}

/* @insn is still an executable `syscall` in @pid (an exec during the dump would have
 * replaced the whole image): /proc/PID/maps, cheap unlike smaps, and two bytes. */
static bool still_syscall_insn(pid_t pid, uint64_t insn)
{
	unsigned char b[2];
	struct iovec local = { b, 2 }, remote = { (void *)insn, 2 };
	char *maps = NULL, *line, *next;
	bool exec = false;

	if (!insn || process_vm_readv(pid, &local, 1, &remote, 1, 0) != 2 || b[0] != 0x0f ||
	    b[1] != 0x05 || procfs_read(pid, -1, "maps", &maps, NULL))
		return false;
	for (line = maps; line && *line && !exec; line = next) {
		struct proc_map pm;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!procfs_parse_maps_line(line, &pm) && pm.start <= insn && insn + 2 <= pm.end)
			exec = pm.perms[2] == 'x';
	}
	free(maps);
	return exec;
}

/* Waits until the killed child is a zombie (its memory freed) without reaping it:
 * its exit costs nothing while the target is frozen again. */
static void wait_dead(pid_t child)
{
	siginfo_t si;

	while (waitid(P_PID, child, &si, WEXITED | WNOWAIT | __WALL) < 0 && errno == EINTR)
		;
}

/* Reaps the killed child as its tracer; it then is the target's zombie. */
static void reap_as_tracer(pid_t child)
{
	int status;

	for (;;) {
		pid_t r = waitpid(child, &status, __WALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return;
	}
}

/*
 * With the target frozen in @fz: kills the child, reaps it as its tracer (it then is
 * the target's zombie, which no frozen thread can wait() for) and has the target reap
 * it with an injected wait4(child, NULL, __WALL | WNOHANG).
 */
static void reap_child(struct freeze *fz, struct snapshot *snap)
{
	struct injection in = {};
	struct frozen_thread *t;
	pid_t child = snap->child;
	int mode, err = 0;

	snap->reaped = true;
	kill(child, SIGKILL);
	reap_as_tracer(child);
	/* A signal arriving for the chosen thread aborts an injection (and is given
	 * back); another thread is then tried. */
	for (int tries = 0; tries < 3; tries++) {
		t = pick_thread(fz, &mode);
		if (!t)
			break;
		memset(&in, 0, sizeof(in));
		in.insn = still_syscall_insn(t->tid, snap->insn) ? snap->insn : 0;
		in.tid = t->tid;
		in.nr = SYS_wait4;
		in.args[0] = (uint64_t)child;
		in.args[2] = __WALL | WNOHANG;
		if (!in.insn)
			break;
		err = inject(&in);
		if (in.signal)
			t->resume_sig = in.signal;
		if (err != 1)
			break;
	}
	if (!t || !in.insn || err || in.ret != child)
		snprintf(snap->reap_note, sizeof(snap->reap_note),
			 "the snapshot %d was left as a zombie of process %d (%s)", child, fz->pid,
			 !t ? "no thread to reap it" : !in.insn ? "no syscall instruction"
			 : err > 0 ? "signals kept arriving" : err ? in.why
			 : "wait4 did not return it");
}

void snapshot__end(struct snapshot *snap, pid_t target)
{
	struct freeze fz = {};
	char why[256];
	int err;

	if (!snap->child || snap->reaped)
		return;
	/* Dead before the target is frozen again: tearing down a large address space
	 * takes milliseconds. A traced zombie is seen by its tracer only. */
	kill(snap->child, SIGKILL);
	wait_dead(snap->child);
	/* Another tracer (a second tracedump, a debugger) may hold the target for a
	 * while: the zombie stays invisible meanwhile, so wait for it, up to 5 s. */
	for (int i = 0;; i++) {
		err = freeze__all(target, &fz, NULL, why, sizeof(why));
		if (err != -EBUSY || i == 500)
			break;
		usleep(10000);
	}
	if (err) {
		snap->reaped = true;
		reap_as_tracer(snap->child);
		/* Gone: its children went to a reaper (init or a subreaper). */
		if (err != -ESRCH)
			snprintf(snap->reap_note, sizeof(snap->reap_note),
				 "could not freeze process %d to reap the snapshot %d: %s", target,
				 snap->child, why);
		return;
	}
	reap_child(&fz, snap);
	freeze__release(&fz);
	snap->reap_pause_ns = fz.released_ns - fz.frozen_ns;
}

uint64_t snapshot__find_insn(const struct capture *cap)
{
	return find_syscall_insn(cap);
}

int snapshot__syscall(struct freeze *fz, uint64_t insn, long nr, const uint64_t args[6],
		      long *ret, char *why, size_t why_len)
{
	struct injection in = {};
	struct frozen_thread *t;
	int mode, err = 1;

	/* A signal arriving for the chosen thread aborts the injection before anything
	 * ran (and is given back on release): another thread is then tried. */
	for (int tries = 0; tries < 3 && err == 1; tries++) {
		t = pick_thread(fz, &mode);
		if (!t) {
			snprintf(why, why_len, mode ? "the process runs under seccomp (%s mode): "
				 "an injected syscall could kill it"
				 : "no thread can run an injected syscall (the process is stopped "
				 "by a signal, or every thread holds a pending signal)",
				 mode == 1 ? "strict" : "filter");
			return -EAGAIN;
		}
		memset(&in, 0, sizeof(in));
		in.tid = t->tid;
		in.insn = insn;
		in.nr = nr;
		memcpy(in.args, args, sizeof(in.args));
		err = inject(&in);
		if (in.signal)
			t->resume_sig = in.signal;
	}
	if (err == 1) {
		snprintf(why, why_len, "signals kept arriving while a syscall was injected");
		return -EAGAIN;
	}
	if (err) {
		snprintf(why, why_len, "%s", in.why);
		return err;
	}
	*ret = in.ret;
	return 0;
}

#else /* !__x86_64__ */

uint64_t snapshot__find_insn(const struct capture *cap)
{
	(void)cap;
	return 0;
}

int snapshot__syscall(struct freeze *fz, uint64_t insn, long nr, const uint64_t args[6],
		      long *ret, char *why, size_t why_len)
{
	(void)fz, (void)insn, (void)nr, (void)args, (void)ret;
	snprintf(why, why_len, "syscall injection is x86_64 only for now");
	return -EOPNOTSUPP;
}

int snapshot__take(struct freeze *fz, struct capture *cap, struct snapshot *snap)
{
	(void)fz;
	(void)cap;
	memset(snap, 0, sizeof(*snap));
	snap->absent = json_array();
	snprintf(snap->reason, sizeof(snap->reason), "snapshots are x86_64 only for now");
	return snap->absent ? 0 : -ENOMEM;
}

void snapshot__end(struct snapshot *snap, pid_t target)
{
	(void)snap;
	(void)target;
}

#endif

/* "Key:   123 kB" of a /proc file, in bytes; 0 when absent. */
static uint64_t kb_field(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoull(p + strlen(key), NULL, 10) * 1024 : 0;
}

void snapshot__measure(struct snapshot *snap)
{
	char *buf = NULL;

	if (!snap->used || snap->reaped)
		return;
	/* Pages the target wrote since the fork were copied for it; the originals are
	 * now mapped by the child alone: its Private_* pages. */
	if (!procfs_read(snap->child, -1, "smaps_rollup", &buf, NULL)) {
		snap->cow_bytes = kb_field(buf, "\nPrivate_Clean:") + kb_field(buf, "\nPrivate_Dirty:");
		free(buf);
		buf = NULL;
	}
	if (!procfs_read(snap->child, -1, "status", &buf, NULL)) {
		snap->page_table_bytes = kb_field(buf, "\nVmPTE:");
		free(buf);
	}
}

json_t *snapshot__json(const struct snapshot *snap)
{
	json_t *o;

	if (!snap->used)
		o = json_pack("{s:b, s:s}", "used", 0, "reason", snap->reason);
	else
		o = json_pack("{s:b, s:i, s:f, s:f, s:I, s:I, s:I, s:O}", "used", 1,
			      "thread", snap->thread, "fork_ms", snap->fork_ns / 1e6,
			      "reap_pause_ms", snap->reap_pause_ns / 1e6, "cow_bytes",
			      (json_int_t)snap->cow_bytes, "page_table_bytes",
			      (json_int_t)snap->page_table_bytes, "extra_bytes",
			      (json_int_t)(snap->cow_bytes + snap->page_table_bytes), "absent",
			      snap->absent);
	if (o && snap->reap_note[0])
		json_object_set_new(o, "warning", json_string(snap->reap_note));
	return o;
}

void snapshot__free(struct snapshot *snap)
{
	for (size_t i = 0; i < snap->target_map_count; i++)
		free(snap->target_maps[i].path);
	free(snap->target_maps);
	json_decref(snap->absent);
	memset(snap, 0, sizeof(*snap));
}
