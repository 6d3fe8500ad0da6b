// SPDX-License-Identifier: GPL-2.0-only
/* Seizing watched processes to catch signals before they act; see sigtrace.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

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
	t->tid = tid;
	t->tgid = tgid;
	t->stopped = false;
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

int sigtrace__next(struct sigtrace *st, struct sigtrace_event *ev)
{
	for (;;) {
		struct sigtrace_thread *t;
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);

		if (tid < 0 && errno == EINTR)
			continue;
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
			ev->kind = SIGTRACE_HIT;
			ev->pid = t->tgid;
			ev->tid = tid;
			ev->sig = WSTOPSIG(status);
			ptrace(PTRACE_GETSIGINFO, tid, 0, &ev->info);
			return 1;
		}
		pass_on(st, tid, status);
	}
}

/* Waits for @tid to stop after PTRACE_INTERRUPT; 0 stopped, -ESRCH gone. A signal met
 * on the way is kept in *@sig to be given back. */
static int wait_stop(struct sigtrace *st, pid_t tid, int *sig)
{
	for (;;) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
			drop(st, tid);
			return -ESRCH;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_CLONE) {
			/* Stopped anyway; the child is seized and will stop on its own. */
			unsigned long child = 0;
			struct sigtrace_thread *t = find(st, tid);

			if (t && !ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) && !find(st, (pid_t)child))
				add(st, (pid_t)child, t->tgid);
			return 0;
		}
		if ((status >> 16) == 0)
			*sig = WSTOPSIG(status);
		return 0;
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

int sigtrace__freeze(struct sigtrace *st, const struct sigtrace_event *ev, struct freeze *fz)
{
	size_t done = 0;
	int err = 0;

	memset(fz, 0, sizeof(*fz));
	fz->pid = ev->pid;
	fz->frozen_ns = monotonic_ns();
	/* Threads may appear while we stop the others (a clone caught mid-way): loop. */
	for (bool more = true; more && !err;) {
		more = false;
		for (size_t i = 0; i < st->count; i++) {
			struct sigtrace_thread *t = &st->threads[i];
			pid_t tid = t->tid;
			int sig = 0;
			bool listed = false;

			if (t->tgid != ev->pid)
				continue;
			for (size_t k = 0; k < fz->count; k++)
				listed |= fz->threads[k].tid == tid;
			if (listed)
				continue;
			more = true;
			if (tid == ev->tid) {
				sig = ev->sig;
			} else if (!t->stopped) {
				ptrace(PTRACE_INTERRUPT, tid, 0, 0);
				if (wait_stop(st, tid, &sig)) {
					err = add_frozen(fz, tid, 0, true);
					break; /* st->threads changed under us */
				}
				t = find(st, tid);
			}
			if (t)
				t->stopped = true;
			err = add_frozen(fz, tid, sig, false);
			done++;
			break;
		}
	}
	if (err)
		return err;
	/* The leader first, as the dumper (and gdb) expect. */
	for (size_t k = 1; k < fz->count; k++)
		if (fz->threads[k].tid == fz->pid) {
			struct frozen_thread tmp = fz->threads[0];

			fz->threads[0] = fz->threads[k];
			fz->threads[k] = tmp;
		}
	return done ? 0 : -ESRCH;
}

void sigtrace__resume(struct sigtrace *st, struct freeze *fz)
{
	for (size_t i = 0; i < fz->count; i++) {
		struct frozen_thread *f = &fz->threads[i];
		struct sigtrace_thread *t = find(st, f->tid);

		if (f->gone || !t)
			continue;
		t->stopped = false;
		ptrace(PTRACE_CONT, f->tid, 0, (void *)(long)f->resume_sig);
	}
	free(fz->threads);
	fz->threads = NULL;
	fz->count = fz->cap = 0;
}

void sigtrace__detach(struct sigtrace *st, pid_t pid)
{
	for (size_t i = 0; i < st->count;) {
		struct sigtrace_thread *t = &st->threads[i];
		pid_t tid = t->tid;
		int sig = 0;

		if (pid && t->tgid != pid) {
			i++;
			continue;
		}
		if (!t->stopped) {
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
			if (wait_stop(st, tid, &sig))
				continue; /* gone and dropped: st->threads[i] is another now */
		}
		ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig);
		drop(st, tid);
	}
}
