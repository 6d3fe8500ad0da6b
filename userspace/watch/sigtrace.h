/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch --signal: every thread of a watched process is seized (PTRACE_SEIZE with
 * PTRACE_O_TRACECLONE) up front, because a fatal signal is acted on in the same
 * get_signal() call that delivers it: only a tracer sees it before the process dies.
 * A watched signal leaves its thread in signal-delivery-stop; the caller stops the
 * others (sigtrace__freeze), dumps with the dumper's "held" mode, then resumes all
 * with the signal given back (sigtrace__resume), so it acts exactly as it would have.
 * Every other signal is given back at once. All calls from one thread.
 */
#ifndef TRACEDUMP_WATCH_SIGTRACE_H
#define TRACEDUMP_WATCH_SIGTRACE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dump/freeze.h"

struct sigtrace_thread {
	pid_t tid, tgid;
	bool stopped; /* held in a stop by us (a hit being dumped) */
	bool waiting; /* interrupted, its stop not seen yet */
	bool dead;    /* exited while we held its process */
	int sig;      /* a signal met while stopping it, to give back */
	bool hit_pending; /* that signal is a watched one: kept stopped, reported by next() */
};

/* A wait status that belongs to another process than the one being stopped. */
struct sigtrace_pending {
	pid_t tid;
	int status;
};

struct sigtrace {
	uint64_t watched;		 /* bit N: signal N is a trigger */
	struct sigtrace_thread *threads;
	size_t count, cap;
	struct sigtrace_pending *queue;
	size_t qcount, qcap;
};

enum sigtrace_kind {
	SIGTRACE_HIT = 1,  /* a watched signal is about to be delivered; @tid stopped */
	SIGTRACE_EXIT = 2, /* the last traced thread of @pid is gone; @status as wait() */
	SIGTRACE_CHILD = 3, /* not a tracee: a child of ours (e.g. --on-dump) ended */
};

struct sigtrace_event {
	enum sigtrace_kind kind;
	pid_t pid, tid;
	int sig;
	siginfo_t info;
	int status;
};

/* Seizes every thread of @pid. -EBUSY already traced, -EPERM, -ESRCH; @why says. */
int sigtrace__attach(struct sigtrace *st, pid_t pid, char *why, size_t why_len);

/* Handles pending stops without blocking; returns 1 with *@ev filled for the first
 * event worth reporting (others are resumed at once), 0 when nothing is pending,
 * -EAGAIN after passing on 512 stops (a storm: call again soon, after other work). */
int sigtrace__next(struct sigtrace *st, struct sigtrace_event *ev);

/* Stops every other thread of @ev->pid (the hit thread is stopped already) and lists
 * them all in @fz, leader first, the hit thread's resume_sig = @ev->sig. */
int sigtrace__freeze(struct sigtrace *st, const struct sigtrace_event *ev, struct freeze *fz);

/* For a dump of a traced process at another trigger than a signal: stops its threads
 * (a signal met meanwhile is kept to give back) and lists them in @fz, leader first;
 * sigtrace__resume() lets them go. -ESRCH when @pid is not traced. */
int sigtrace__hold(struct sigtrace *st, pid_t pid, struct freeze *fz);

/* Stops every thread of @pid and keeps it stopped (for a hand-over to another route:
 * once this returns, no thread of @pid takes a signal until sigtrace__detach()). */
void sigtrace__stop(struct sigtrace *st, pid_t pid);

/* Resumes every thread of @fz, each with its resume_sig; frees the list. */
void sigtrace__resume(struct sigtrace *st, struct freeze *fz);

/* Lets @pid (0: every process) go: stop, detach with any caught signal given back. */
void sigtrace__detach(struct sigtrace *st, pid_t pid);

bool sigtrace__traces(const struct sigtrace *st, pid_t pid);

void sigtrace__free(struct sigtrace *st);

#endif /* TRACEDUMP_WATCH_SIGTRACE_H */
