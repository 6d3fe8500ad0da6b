// SPDX-License-Identifier: GPL-2.0-only
/* Seizing watched processes to catch signals before they act; see sigtrace.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "common/procfs.h"
#include "watch/sigtrace.h"

#define SEIZE_OPTS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC)

static struct sigtrace_thread *find(struct sigtrace *st, pid_t tid)
{
	for (size_t i = 0; i < st->count; i++)
		if (st->threads[i].tid == tid)
			return &st->threads[i];
	return NULL;
}

bool sigtrace__traces(const struct sigtrace *st, pid_t pid)
{
	for (size_t i = 0; i < st->count; i++)
		if (st->threads[i].tgid == pid)
			return true;
	return false;
}

static struct sigtrace_thread *add(struct sigtrace *st, pid_t tid, pid_t tgid)
{
	struct sigtrace_thread *t;

	if (st->count == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		void *p = realloc(st->threads, cap * sizeof(*st->threads));

		if (!p)
			return NULL;
		st->threads = p;
		st->cap = cap;
	}
	t = &st->threads[st->count++];
	/* Every field: realloc'd memory holds whatever was there before. */
	*t = (struct sigtrace_thread){ .tid = tid, .tgid = tgid };
	return t;
}

static void drop(struct sigtrace *st, pid_t tid)
{
	struct sigtrace_thread *t = find(st, tid);

	if (t)
		*t = st->threads[--st->count];
}

int sigtrace__attach(struct sigtrace *st, pid_t pid, char *why, size_t why_len)
{
	char path[64];
	size_t added;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	/* Threads made while we scan are seized by TRACECLONE once their parent is ours;
	 * re-scan until a pass finds none of ours missing. */
	do {
		struct dirent *de;
		DIR *d = opendir(path);

		if (!d) {
			snprintf(why, why_len, "process %d exited", pid);
			return -ESRCH;
		}
		added = 0;
		while ((de = readdir(d))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);

			if (*end || tid <= 0 || find(st, (pid_t)tid))
				continue;
			if (ptrace(PTRACE_SEIZE, (pid_t)tid, 0, (void *)(long)SEIZE_OPTS)) {
				int err = -errno;
				struct proc_status ps;

				if (err == -ESRCH && tid != pid)
					continue; /* a thread that just exited */
				closedir(d);
				if (err == -EPERM && !procfs_read_status(pid, -1, &ps) && ps.tracer_pid) {
					snprintf(why, why_len, "process %d is already traced by process %d",
						 pid, ps.tracer_pid);
					return -EBUSY;
				}
				snprintf(why, why_len, "PTRACE_SEIZE of thread %ld of process %d failed: %s",
					 tid, pid, strerror(-err));
				return err;
			}
			if (!add(st, (pid_t)tid, pid)) {
				closedir(d);
				snprintf(why, why_len, "out of memory");
				return -ENOMEM;
			}
			added++;
		}
		closedir(d);
	} while (added);
	return 0;
}

static bool group_stop_sig(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* A stop of @t that is not ours to report: resume it the way the kernel expects. */
static void pass_on(struct sigtrace *st, pid_t tid, int status)
{
	int event = status >> 16, sig = WSTOPSIG(status);

	if (event == PTRACE_EVENT_CLONE) {
		unsigned long child = 0;
		struct sigtrace_thread *t = find(st, tid);

		/* The new thread is traced already; its first stop resumes it. */
		if (t && !ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) && !find(st, (pid_t)child))
			add(st, (pid_t)child, t->tgid);
		ptrace(PTRACE_CONT, tid, 0, 0);
	} else if (event == PTRACE_EVENT_EXEC) {
		struct sigtrace_thread *t = find(st, tid);
		pid_t tgid = t ? t->tgid : tid;

		/* exec made the caller the leader; the other threads are gone. */
		for (size_t i = 0; i < st->count;)
			if (st->threads[i].tgid == tgid && st->threads[i].tid != tgid)
				st->threads[i] = st->threads[--st->count];
			else
				i++;
		if (!find(st, tgid))
			add(st, tgid, tgid);
		ptrace(PTRACE_CONT, tgid, 0, 0);
	} else if (event == PTRACE_EVENT_STOP) {
		if (group_stop_sig(sig))
			ptrace(PTRACE_LISTEN, tid, 0, 0); /* stay stopped, as without us */
		else
			ptrace(PTRACE_CONT, tid, 0, 0);
	} else if (event) {
		ptrace(PTRACE_CONT, tid, 0, 0);
	} else {
		ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig); /* signal-delivery-stop */
	}
}

static int enqueue(struct sigtrace *st, pid_t tid, int status)
{
	if (st->qcount == st->qcap) {
		size_t cap = st->qcap ? st->qcap * 2 : 16;
		void *p = realloc(st->queue, cap * sizeof(*st->queue));

		if (!p)
			return -ENOMEM;
		st->queue = p;
		st->qcap = cap;
	}
	st->queue[st->qcount].tid = tid;
	st->queue[st->qcount++].status = status;
	return 0;
}

/* The next wait status: queued ones first, then the kernel's (without blocking). */
static pid_t next_status(struct sigtrace *st, int *status)
{
	pid_t tid;

	if (st->qcount) {
		tid = st->queue[0].tid;
		*status = st->queue[0].status;
		memmove(st->queue, st->queue + 1, --st->qcount * sizeof(*st->queue));
		return tid;
	}
	do
		tid = waitpid(-1, status, __WALL | WNOHANG);
	while (tid < 0 && errno == EINTR);
	return tid;
}

int sigtrace__next(struct sigtrace *st, struct sigtrace_event *ev)
{
	/* A storm of signals it only passes on must not hold the caller's loop. */
	for (int budget = 512; budget > 0; budget--) {
		struct sigtrace_thread *t;
		int status;
		pid_t tid = next_status(st, &status);

		if (tid <= 0)
			return 0;
		memset(ev, 0, sizeof(*ev));
		t = find(st, tid);
		if (!t) {
			/* A thread cloned before we saw its parent's event, or our own child. */
			if (WIFSTOPPED(status)) {
				pass_on(st, tid, status);
				continue;
			}
			ev->kind = SIGTRACE_CHILD;
			ev->pid = ev->tid = tid;
			ev->status = status;
			return 1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			pid_t tgid = t->tgid;

			drop(st, tid);
			if (!sigtrace__traces(st, tgid)) {
				ev->kind = SIGTRACE_EXIT;
				ev->pid = ev->tid = tgid;
				ev->status = status;
				return 1;
			}
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == 0 && WSTOPSIG(status) < 64 &&
		    (st->watched & (1ULL << WSTOPSIG(status)))) {
			t->stopped = true;
			t->hit_pending = false;
			ev->kind = SIGTRACE_HIT;
			ev->pid = t->tgid;
			ev->tid = tid;
			ev->sig = WSTOPSIG(status);
			ptrace(PTRACE_GETSIGINFO, tid, 0, &ev->info);
			return 1;
		}
		pass_on(st, tid, status);
	}
	return -EAGAIN;
}

/* The tgid of a thread we have not seen yet (a clone whose event is still queued). */
static pid_t tgid_of(pid_t tid)
{
	struct proc_status ps;

	return procfs_read_status(tid, -1, &ps) ? 0 : ps.tgid;
}

/*
 * Interrupts every running thread of @pid (0: all) and collects their stops and
 * exits, queueing what belongs to other processes. One waitpid(-1) loop, never a
 * waitpid on one thread: a dying leader is reported only after its other threads
 * are reaped, so waiting for it alone would never end. Gives up after 2 s.
 */
static void stop_all(struct sigtrace *st, pid_t pid)
{
	uint64_t deadline = monotonic_ns() + 2000000000ULL;

	for (size_t i = 0; i < st->count; i++) {
		struct sigtrace_thread *t = &st->threads[i];

		if ((pid && t->tgid != pid) || t->stopped || t->dead)
			continue;
		t->sig = 0;
		t->waiting = !ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) || errno != ESRCH;
		if (!t->waiting)
			t->dead = true;
	}
	for (;;) {
		struct sigtrace_thread *t;
		bool left = false;
		int status;
		pid_t tid;

		for (size_t i = 0; i < st->count; i++)
			left |= st->threads[i].waiting;
		if (!left || monotonic_ns() > deadline)
			break;
		tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			break;
		if (!tid) {
			struct timespec ts = { 0, 200000 };

			nanosleep(&ts, NULL);
			continue;
		}
		t = find(st, tid);
		if (!t && WIFSTOPPED(status) && (!pid || tgid_of(tid) == pid)) {
			/* A new thread of ours, stopped at its start: keep it so. */
			pid_t tgid = pid ? pid : tgid_of(tid);

			t = add(st, tid, tgid ? tgid : tid);
			if (t)
				t->stopped = true;
			continue;
		}
		if (!t || (pid && t->tgid != pid) || (!t->waiting && !t->stopped)) {
			enqueue(st, tid, status);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->waiting = false;
			t->dead = true;
			if (t->tid == t->tgid)
				enqueue(st, tid, status); /* the process's end, for next() */
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_CLONE) {
			unsigned long child = 0;

			if (!ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) && !find(st, (pid_t)child)) {
				pid_t tgid = t->tgid;

				t = add(st, (pid_t)child, tgid); /* its start stop comes later */
				if (t)
					t->waiting = true;
				t = find(st, tid);
			}
		} else if ((status >> 16) == 0) {
			t->sig = WSTOPSIG(status);
			/* A watched signal on another thread while we stop them: it stays
			 * stopped in its signal-delivery-stop and next() reports it as a hit
			 * of its own, after this one (given back at a detach). */
			if (t->sig < 64 && (st->watched & (1ULL << t->sig)) &&
			    !enqueue(st, tid, status))
				t->hit_pending = true;
		}
		t->waiting = false;
		t->stopped = true;
	}
}

static int add_frozen(struct freeze *fz, pid_t tid, int sig, bool gone)
{
	if (fz->count == fz->cap) {
		size_t cap = fz->cap ? fz->cap * 2 : 64;
		void *p = realloc(fz->threads, cap * sizeof(*fz->threads));

		if (!p)
			return -ENOMEM;
		fz->threads = p;
		fz->cap = cap;
	}
	fz->threads[fz->count].tid = tid;
	fz->threads[fz->count].resume_sig = sig;
	fz->threads[fz->count].gone = gone;
	fz->count++;
	return 0;
}

/* Stops every thread of @pid not stopped yet and lists them all in @fz, leader first. */
static int hold(struct sigtrace *st, pid_t pid, struct freeze *fz)
{
	int err = 0;

	stop_all(st, pid);
	/* The leader first, as the dumper (and gdb) expect. */
	for (int pass = 0; pass < 2 && !err; pass++)
		for (size_t i = 0; i < st->count && !err; i++) {
			struct sigtrace_thread *t = &st->threads[i];

			if (t->tgid != pid || (pass == 0) != (t->tid == pid))
				continue;
			err = add_frozen(fz, t->tid, t->sig, t->dead || t->waiting);
		}
	if (err) {
		free(fz->threads);
		fz->threads = NULL;
		fz->count = 0;
	}
	return err;
}

int sigtrace__freeze(struct sigtrace *st, const struct sigtrace_event *ev, struct freeze *fz)
{
	struct sigtrace_thread *hit = find(st, ev->tid);

	memset(fz, 0, sizeof(*fz));
	fz->pid = ev->pid;
	fz->frozen_ns = monotonic_ns();
	if (!hit)
		return -ESRCH;
	hit->sig = ev->sig;
	return hold(st, ev->pid, fz);
}

int sigtrace__hold(struct sigtrace *st, pid_t pid, struct freeze *fz)
{
	memset(fz, 0, sizeof(*fz));
	fz->pid = pid;
	fz->frozen_ns = monotonic_ns();
	if (!sigtrace__traces(st, pid))
		return -ESRCH;
	return hold(st, pid, fz);
}

void sigtrace__stop(struct sigtrace *st, pid_t pid)
{
	stop_all(st, pid);
}

void sigtrace__resume(struct sigtrace *st, struct freeze *fz)
{
	for (size_t i = 0; i < fz->count; i++) {
		struct frozen_thread *f = &fz->threads[i];
		struct sigtrace_thread *t = find(st, f->tid);

		if (!t)
			continue;
		if (t->dead) {
			/* A dead leader stays listed until next() reports its queued end. */
			if (t->tid != t->tgid)
				drop(st, f->tid);
			continue;
		}
		if (t->hit_pending)
			continue; /* its hit is queued: it stays in its signal-delivery-stop */
		t->stopped = false;
		t->sig = 0;
		ptrace(PTRACE_CONT, f->tid, 0, (void *)(long)f->resume_sig);
	}
	free(fz->threads);
	fz->threads = NULL;
	fz->count = fz->cap = 0;
}

void sigtrace__detach(struct sigtrace *st, pid_t pid)
{
	stop_all(st, pid);
	for (size_t i = 0; i < st->count;) {
		struct sigtrace_thread *t = &st->threads[i];

		if (pid && t->tgid != pid) {
			i++;
			continue;
		}
		if (!t->dead)
			ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->sig);
		drop(st, t->tid);
	}
}

void sigtrace__free(struct sigtrace *st)
{
	free(st->threads);
	free(st->queue);
	memset(st, 0, sizeof(*st));
}
