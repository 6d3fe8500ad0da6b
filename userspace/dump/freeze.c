// SPDX-License-Identifier: GPL-2.0-only
/* Freezing with PTRACE_SEIZE + PTRACE_INTERRUPT; see freeze.h. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "common/procfs.h"
#include "dump/freeze.h"

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct frozen_thread *find(struct freeze *fz, pid_t tid)
{
	for (size_t i = 0; i < fz->count; i++)
		if (fz->threads[i].tid == tid)
			return &fz->threads[i];
	return NULL;
}

/* The tracer of @pid, named for the message; 0 when none. */
static pid_t tracer_of(pid_t pid, char *name, size_t len)
{
	struct proc_status st;

	name[0] = 0;
	if (procfs_read_status(pid, -1, &st) || !st.tracer_pid)
		return 0;
	{
		struct proc_status t;

		if (!procfs_read_status(st.tracer_pid, -1, &t))
			snprintf(name, len, " (%s)", t.name);
	}
	return st.tracer_pid;
}

/* A thread that is exiting (zombie, dead) or already gone. */
static bool thread_exiting(pid_t pid, pid_t tid)
{
	struct proc_stat st;

	return procfs_read_stat(pid, tid, &st) || st.state == 'Z' || st.state == 'X' ||
	       st.state == 'x';
}

/* Threads other than the leader still run (the leader may have called pthread_exit). */
static bool others_alive(pid_t pid)
{
	struct proc_status st;

	return !procfs_read_status(pid, -1, &st) && st.threads > 1;
}

/* Waits for @t to stop after PTRACE_INTERRUPT. Returns 0, or -ESRCH if it exited. */
static int wait_stopped(struct frozen_thread *t)
{
	int status;

	for (;;) {
		pid_t r = waitpid(t->tid, &status, __WALL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			t->gone = 1;
			return -ESRCH;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->gone = 1;
			return -ESRCH;
		}
		if (!WIFSTOPPED(status))
			continue;
		/* PTRACE_EVENT_STOP: our interrupt, or a group-stop. Anything else is a
		 * signal-delivery-stop: the thread is stopped too; keep the signal to give
		 * it back on detach, as if we had never been there. */
		if ((status >> 16) != PTRACE_EVENT_STOP)
			t->resume_sig = WSTOPSIG(status);
		return 0;
	}
}

static struct frozen_thread *add_entry(struct freeze *fz, pid_t tid)
{
	struct frozen_thread *t;

	if (fz->count == fz->cap) {
		size_t cap = fz->cap ? fz->cap * 2 : 64;
		void *p = realloc(fz->threads, cap * sizeof(*fz->threads));

		if (!p)
			return NULL;
		fz->threads = p;
		fz->cap = cap;
	}
	t = &fz->threads[fz->count++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

/* Seizes and stops @tid: 1 when it was added frozen, 0 when it is listed as gone
 * (exited, or an exiting thread the kernel will not attach to), or -errno. */
static int seize(struct freeze *fz, pid_t tid, char *why, size_t why_len)
{
	struct frozen_thread *t;
	char tname[96];
	pid_t tracer;
	int err;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0)) {
		err = -errno;
		/* A thread that just exited, or is exiting (the kernel refuses to attach);
		 * a leader that called pthread_exit is a zombie while its threads run on. */
		if ((err == -ESRCH && tid != fz->pid) ||
		    (err == -EPERM && thread_exiting(fz->pid, tid) &&
		     (tid != fz->pid || others_alive(fz->pid)))) {
			t = add_entry(fz, tid);
			if (!t)
				return -ENOMEM;
			t->gone = 1;
			return 0;
		}
		if (err == -EPERM) {
			tracer = tracer_of(tid, tname, sizeof(tname));
			if (tracer) {
				snprintf(why, why_len, "process %d is already traced by process %d%s",
					 fz->pid, tracer, tname);
				return -EBUSY;
			}
			snprintf(why, why_len, "not allowed to trace process %d (run as root, or "
				 "check /proc/sys/kernel/yama/ptrace_scope)", fz->pid);
			return -EPERM;
		}
		if (err == -ESRCH)
			snprintf(why, why_len, "process %d exited", fz->pid);
		else
			snprintf(why, why_len, "PTRACE_SEIZE of thread %d failed: %s", tid,
				 strerror(-err));
		return err;
	}
	if (!fz->frozen_ns)
		fz->frozen_ns = monotonic_ns();
	t = add_entry(fz, tid);
	if (!t) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return -ENOMEM;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) || wait_stopped(t)) {
		t->gone = 1;
		if (tid == fz->pid) {
			snprintf(why, why_len, "process %d exited", fz->pid);
			return -ESRCH;
		}
		return 0;
	}
	return 1;
}

/* One pass over /proc/PID/task in directory (kernel list) order; @added counts new. */
static int scan(struct freeze *fz, size_t *added, char *why, size_t why_len)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int err = 0;

	*added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", fz->pid);
	d = opendir(path);
	if (!d) {
		err = -errno;
		snprintf(why, why_len, "process %d exited", fz->pid);
		return err == -ENOENT ? -ESRCH : err;
	}
	/* The leader first, as the kernel lists it, even if its directory entry were not. */
	if (!fz->count) {
		err = seize(fz, fz->pid, why, why_len);
		if (err < 0)
			goto out;
		*added += err;
	}
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0 || find(fz, (pid_t)tid))
			continue;
		err = seize(fz, (pid_t)tid, why, why_len);
		if (err < 0)
			goto out;
		*added += err;
	}
	err = 0;
out:
	closedir(d);
	return err;
}

static int freeze_loop(struct freeze *fz, volatile sig_atomic_t *cancel, char *why,
		       size_t why_len);

/*
 * With many busy threads on few CPUs, a tracer at normal priority waits its turn
 * between each PTRACE_INTERRUPT and stop (measured: up to 180 ms for 200 spinning
 * threads on 2 CPUs, 1.6 ms under SCHED_FIFO). Freezing and releasing run at
 * SCHED_FIFO 1 when allowed; the copy in between runs at the caller's policy.
 */
struct sched_saved {
	int policy;
	struct sched_param param;
	bool changed;
};

static void sched_boost(struct sched_saved *s)
{
	struct sched_param fifo = { .sched_priority = 1 };

	s->changed = false;
	s->policy = sched_getscheduler(0);
	if (s->policy < 0 || s->policy == SCHED_FIFO || s->policy == SCHED_RR ||
	    sched_getparam(0, &s->param))
		return;
	s->changed = !sched_setscheduler(0, SCHED_FIFO, &fifo);
}

static void sched_restore(const struct sched_saved *s)
{
	if (s->changed)
		sched_setscheduler(0, s->policy, &s->param);
}

int freeze__all(pid_t pid, struct freeze *fz, volatile sig_atomic_t *cancel, char *why,
		size_t why_len)
{
	struct sched_saved saved;
	int err;

	memset(fz, 0, sizeof(*fz));
	fz->pid = pid;
	sched_boost(&saved);
	err = freeze_loop(fz, cancel, why, why_len);
	sched_restore(&saved);
	return err;
}

static int freeze_loop(struct freeze *fz, volatile sig_atomic_t *cancel, char *why,
		       size_t why_len)
{
	size_t added;
	int err;

	do {
		if (cancel && *cancel) {
			snprintf(why, why_len, "interrupted");
			err = -ECANCELED;
			goto fail;
		}
		err = scan(fz, &added, why, why_len);
		if (err)
			goto fail;
	} while (added);
	return 0;
fail:
	freeze__release(fz);
	return err;
}

void freeze__release(struct freeze *fz)
{
	struct sched_saved saved;

	if (fz->count)
		sched_boost(&saved);
	for (size_t i = 0; i < fz->count; i++) {
		struct frozen_thread *t = &fz->threads[i];
		int status;

		if (!t->gone && !ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->resume_sig))
			continue;
		/* Killed while frozen: collect its exit so the parent can reap it. */
		while (waitpid(t->tid, &status, __WALL | WNOHANG) < 0 && errno == EINTR)
			;
	}
	if (fz->count) {
		fz->released_ns = monotonic_ns();
		sched_restore(&saved);
	}
	free(fz->threads);
	fz->threads = NULL;
	fz->count = fz->cap = 0;
}
