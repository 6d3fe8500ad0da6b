// SPDX-License-Identifier: GPL-2.0-only
/*
 * inspect__kill_tree: end a process and all its descendants (Kudu's DELETE
 * /api/processes/ID), first with SIGTERM (or another signal), then SIGKILL for whatever
 * is left after the timeout.
 *
 * Races, and what is done about them:
 * - PID reuse: each member is held by a pidfd (pidfd_open, Linux 5.3+) opened right after
 *   the scan and checked against the start time the scan saw, so a signal can only
 *   reach that very process, never a newcomer that got its number. Without pidfds
 *   (older kernels), the start time is checked again before each kill().
 * - Forks during the kill: after each round of signals /proc is scanned again and any
 *   new child of a live member joins the tree and gets the same signal; rounds repeat
 *   until one finds nothing new. A child whose parent exited before a rescan saw it is
 *   reparented (to init or a subreaper) and can escape; SIGKILL makes that window short.
 * - Nothing is stopped with SIGSTOP first: if tracedump died between stopping and
 *   killing, the tree would be left frozen.
 * Exit is seen through the pidfd (readable once the process has exited, zombie or not),
 * so waiting is poll(2), not a sleep loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/href.h"
#include "common/jsonutil.h"
#include "common/procfs.h"
#include "common/signals.h"
#include "inspect/inspect.h"
#include "inspect/kill_tree.h"
#include "inspect/process.h"
#include "inspect/thread.h"

/* How long SIGKILL may take (a task in uninterruptible sleep ends only when it wakes). */
#define KILL_WAIT_S 5.0
/* How long to wait for zombies of killed parents to be reaped by their new parent. */
#define REAP_WAIT_S 0.5
#define RESCAN_ROUNDS 8

enum outcome {
	OUT_PENDING,
	OUT_ALREADY_GONE, /* exited before any signal reached it */
	OUT_TERMINATED,	  /* ended after the first signal */
	OUT_KILLED,	  /* ended after SIGKILL */
	OUT_SURVIVED,	  /* still there after SIGKILL */
	OUT_DENIED,	  /* the kernel refused the signal (EPERM) */
};

static const char *const outcome_names[] = {
	[OUT_PENDING] = "survived",	  [OUT_ALREADY_GONE] = "already_gone",
	[OUT_TERMINATED] = "terminated", [OUT_KILLED] = "killed",
	[OUT_SURVIVED] = "survived",	  [OUT_DENIED] = "denied",
};

struct member {
	pid_t pid, ppid, sid;
	uint64_t starttime;
	char comm[PROC_COMM_MAX];
	int depth;
	bool by_session; /* joined as a newcomer in a member's session, not by its parent */
	int pidfd; /* -1: no pidfd (old kernel), identity checked by start time */
	int last_signal;
	enum outcome outcome;
	double ended_after; /* seconds from the first signal to when it was seen gone */
};

struct tree {
	struct member *m;
	size_t count, cap;
	double t0; /* CLOCK_MONOTONIC of the first signal */
	uint64_t scan_ticks; /* boot-time clock ticks when the first scan began */
};

/* One process as the scan of /proc saw it. */
struct scanned {
	pid_t pid, ppid, sid;
	uint64_t starttime;
	unsigned flags;
	char comm[PROC_COMM_MAX];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Now in the clock of stat's starttime: ticks since boot, suspend included. */
static uint64_t boot_ticks(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * procfs_clock_ticks() +
	       (uint64_t)ts.tv_nsec * procfs_clock_ticks() / 1000000000u;
}

static int sys_pidfd_open(pid_t pid)
{
	/* Tests (and kernels before 5.3, where the call fails) take the fallback path. */
	if (getenv("TRACEDUMP_NO_PIDFD")) {
		errno = ENOSYS;
		return -1;
	}
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int read_scanned(pid_t pid, struct scanned *s)
{
	struct proc_stat st;
	char *buf = NULL;
	uint64_t flags = 0;
	int err;

	err = procfs_read(pid, -1, "stat", &buf, NULL);
	if (err)
		return err;
	err = *buf ? procfs_parse_stat(buf, &st) : -ESRCH;
	if (!err) {
		procfs_stat_field(buf, 9, &flags);
		s->pid = pid;
		s->ppid = st.ppid;
		s->sid = st.session;
		s->starttime = st.starttime;
		s->flags = (unsigned)flags;
		memcpy(s->comm, st.comm, sizeof(s->comm));
		/* A zombie or dying task counts as gone: signals do nothing to it. */
		if (st.state == 'Z' || st.state == 'X' || st.state == 'x')
			err = -ESRCH;
	}
	free(buf);
	return err;
}

/* Every process in /proc, with parent and start time. */
static int scan(struct scanned **out, size_t *count)
{
	pid_t *pids = NULL;
	size_t n = 0, k = 0;
	struct scanned *s;
	int err;

	*out = NULL;
	*count = 0;
	err = procfs_list_pids(0, false, &pids, &n);
	if (err)
		return err;
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s) {
		free(pids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!read_scanned(pids[i], &s[k]))
			k++;
	free(pids);
	*out = s;
	*count = k;
	return 0;
}

static struct member *tree_find(struct tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->m[i].pid == pid)
			return &t->m[i];
	return NULL;
}

/* Whether member @m has exited (or, without a pidfd, no longer is the process it was). */
static bool member_gone(const struct member *m)
{
	struct scanned s;

	if (m->pidfd >= 0) {
		struct pollfd p = { .fd = m->pidfd, .events = POLLIN };

		return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
	}
	return read_scanned(m->pid, &s) || s.starttime != m->starttime;
}

/* Adds @s to the tree, held by a pidfd; returns the member or NULL (no memory). */
static struct member *tree_add(struct tree *t, const struct scanned *s, int depth)
{
	struct member *m;
	struct scanned again;

	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct member *bigger = realloc(t->m, cap * sizeof(*bigger));

		if (!bigger)
			return NULL;
		t->m = bigger;
		t->cap = cap;
	}
	m = &t->m[t->count++];
	memset(m, 0, sizeof(*m));
	m->pid = s->pid;
	m->ppid = s->ppid;
	m->sid = s->sid;
	m->starttime = s->starttime;
	m->depth = depth;
	memcpy(m->comm, s->comm, sizeof(m->comm));
	m->pidfd = sys_pidfd_open(s->pid);
	if (m->pidfd < 0 && errno == ESRCH) {
		m->outcome = OUT_ALREADY_GONE;
		return m;
	}
	/* The number may have been reused between the scan and pidfd_open. */
	if (read_scanned(s->pid, &again) || again.starttime != s->starttime) {
		m->outcome = OUT_ALREADY_GONE;
		if (m->pidfd >= 0)
			close(m->pidfd);
		m->pidfd = -1;
	}
	return m;
}

/*
 * The session leader among the members that @s belongs to, when @s started after the
 * first scan: a child forked between the scan and the signal whose parent died before
 * a rescan saw it has been reparented away, but it keeps its session, and a session's
 * members all descend from its leader (no process can join another session).
 */
static struct member *session_leader(struct tree *t, const struct scanned *s)
{
	struct member *leader;

	if (!t->scan_ticks || s->starttime + 1 < t->scan_ticks)
		return NULL;
	leader = tree_find(t, s->sid);
	/* The session keeps the leader's number in use, so it cannot be someone else's. */
	if (!leader || leader->sid != leader->pid || s->starttime < leader->starttime)
		return NULL;
	return leader;
}

/*
 * Adds every process of @s whose parent is a live member, repeatedly (children of
 * children), and newcomers of a member's session; returns how many joined, or -ENOMEM.
 */
static int tree_grow(struct tree *t, const struct scanned *s, size_t n)
{
	int added = 0;
	bool more = true;

	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			struct member *parent, *m;
			bool by_session = false;

			if (tree_find(t, s[i].pid) || (s[i].flags & PROC_PF_KTHREAD))
				continue;
			parent = tree_find(t, s[i].ppid);
			/* A dead parent's number may belong to someone else by now. */
			if (parent && (parent->outcome == OUT_ALREADY_GONE ||
				       s[i].starttime < parent->starttime ||
				       (parent->outcome != OUT_PENDING &&
					parent->outcome != OUT_DENIED)))
				parent = NULL;
			if (!parent) {
				parent = session_leader(t, &s[i]);
				by_session = true;
			}
			if (!parent)
				continue;
			m = tree_add(t, &s[i], parent->depth + 1);
			if (!m)
				return -ENOMEM;
			m->by_session = by_session;
			added++;
			more = true;
		}
	}
	return added;
}

/* Sends @sig to every member still pending that has not had it yet. */
static void tree_signal(struct tree *t, int sig)
{
	for (size_t i = 0; i < t->count; i++) {
		struct member *m = &t->m[i];
		struct scanned s;
		int ret;

		if (m->outcome != OUT_PENDING || m->last_signal == sig)
			continue;
		if (m->pidfd >= 0) {
			ret = sys_pidfd_send_signal(m->pidfd, sig);
		} else if (read_scanned(m->pid, &s) || s.starttime != m->starttime) {
			ret = -1;
			errno = ESRCH;
		} else {
			ret = kill(m->pid, sig);
		}
		if (ret == 0) {
			m->last_signal = sig;
		} else if (errno == ESRCH) {
			if (!m->last_signal)
				m->outcome = OUT_ALREADY_GONE;
			else
				m->ended_after = now_s() - t->t0;
		} else if (errno == EPERM) {
			m->outcome = OUT_DENIED;
		}
	}
}

/* Signals, then rescans for children forked meanwhile and signals them, until none. */
static int tree_signal_all(struct tree *t, int sig)
{
	struct scanned *s = NULL;
	size_t n;
	int err = 0;

	tree_signal(t, sig);
	for (int round = 0; round < RESCAN_ROUNDS; round++) {
		err = scan(&s, &n);
		if (err)
			return err;
		err = tree_grow(t, s, n);
		free(s);
		if (err <= 0)
			return err;
		tree_signal(t, sig);
	}
	return 0;
}

/* Marks members that exited; returns how many are still pending. */
static size_t tree_reap_outcomes(struct tree *t, enum outcome done)
{
	size_t pending = 0;

	for (size_t i = 0; i < t->count; i++) {
		struct member *m = &t->m[i];

		if (m->outcome != OUT_PENDING)
			continue;
		if (member_gone(m)) {
			m->outcome = m->last_signal ? done : OUT_ALREADY_GONE;
			if (m->last_signal)
				m->ended_after = now_s() - t->t0;
		} else {
			pending++;
		}
	}
	return pending;
}

/* Waits until every pending member exited or @deadline passed. */
static void tree_wait(struct tree *t, double deadline, enum outcome done)
{
	struct pollfd *fds = calloc(t->count ? t->count : 1, sizeof(*fds));

	while (tree_reap_outcomes(t, done)) {
		double left = deadline - now_s();
		bool fallback = false;
		size_t n = 0;

		if (left <= 0)
			break;
		for (size_t i = 0; fds && i < t->count; i++) {
			if (t->m[i].outcome != OUT_PENDING)
				continue;
			if (t->m[i].pidfd < 0)
				fallback = true;
			else
				fds[n++] = (struct pollfd){ .fd = t->m[i].pidfd, .events = POLLIN };
		}
		/* Without pidfds (or memory for them), look again every 10 ms. */
		if (fallback || !fds)
			left = left > 0.01 ? 0.01 : left;
		poll(fds, fds ? n : 0, (int)(left * 1000) + 1);
	}
	free(fds);
}

/* "reaped" (its /proc entry is gone), "zombie" (exited, its parent has not waited for
 * it), or "running". */
static const char *member_state(const struct member *m)
{
	struct proc_stat st;

	if (procfs_read_stat(m->pid, -1, &st) || st.starttime != m->starttime)
		return "reaped";
	return st.state == 'Z' || st.state == 'X' ? "zombie" : "running";
}

static bool orphan_zombies(const struct tree *t)
{
	for (size_t i = 1; i < t->count; i++)
		if (!strcmp(member_state(&t->m[i]), "zombie"))
			return true;
	return false;
}

const char *kill_tree_refusal(pid_t pid)
{
	struct scanned s;
	pid_t self = getpid(), p = self;

	if (pid == 1)
		return "PID 1 (init) is never killed";
	if (pid == self)
		return "tracedump does not kill itself";
	if (read_scanned(pid, &s))
		return NULL; /* not found is not a refusal */
	if (s.flags & PROC_PF_KTHREAD)
		return "it is a kernel thread";
	/* Killing an ancestor's tree would kill tracedump midway. */
	for (int i = 0; i < 4096 && p > 1; i++) {
		struct scanned a;

		if (read_scanned(p, &a))
			break;
		if (a.ppid == pid)
			return "tracedump itself runs in that process tree";
		p = a.ppid;
	}
	return NULL;
}

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth - y->depth;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static json_t *member_json(const struct member *m)
{
	char name[32];
	json_t *j = json_object();

	json_set(j, "id", json_integer(m->pid));
	json_set(j, "href", href_process(m->pid));
	json_set(j, "name", json_string_bytes(m->comm, strlen(m->comm)));
	json_set(j, "ppid", json_integer(m->ppid));
	json_set(j, "depth", json_integer(m->depth));
	json_set(j, "joined_by", json_string(!m->depth ? "root" : m->by_session ? "session"
									 : "parent"));
	json_set(j, "result", json_string(outcome_names[m->outcome]));
	json_set(j, "signal", m->last_signal ? json_string(signal_name(m->last_signal, name,
									 sizeof(name)))
					     : NULL);
	json_set(j, "ended_after",
		 m->outcome == OUT_TERMINATED || m->outcome == OUT_KILLED
			 ? json_real(m->ended_after) : NULL);
	json_set(j, "state", json_string(member_state(m)));
	return j;
}

int inspect__kill_tree(pid_t pid, const struct kill_opts *opts, json_t **out)
{
	int first = opts && opts->first_signal ? opts->first_signal : SIGTERM;
	double timeout = opts ? (double)opts->timeout_ns / 1e9 : 5.0;
	struct tree t = { 0 };
	struct scanned *s = NULL, root;
	size_t n = 0, gone = 0;
	json_t *j = NULL, *arr;
	char name[32];
	int err;

	*out = NULL;
	if (pid <= 0 || first <= 0 || first > SIGRTMAX)
		return -EINVAL;
	if (kill_tree_refusal(pid))
		return -EPERM;
	err = thread_group_check(pid);
	if (err)
		return err;

	/* Collect the tree, each member held by a pidfd, before the first signal. */
	memset(&root, 0, sizeof(root));
	err = read_scanned(pid, &root);
	/* A zombie has exited already (and has no children left): nothing to signal. */
	if (err == -ESRCH && root.pid == pid) {
		if (!tree_add(&t, &root, 0)) {
			err = -ENOMEM;
			goto cleanup;
		}
		t.m[0].outcome = OUT_ALREADY_GONE;
		t.t0 = now_s();
		goto report;
	}
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	if (!tree_add(&t, &root, 0)) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (t.m[0].outcome == OUT_ALREADY_GONE) {
		err = -ESRCH;
		goto cleanup;
	}
	t.scan_ticks = boot_ticks();
	err = scan(&s, &n);
	if (err)
		goto cleanup;
	err = tree_grow(&t, s, n);
	if (err < 0)
		goto cleanup;

	t.t0 = now_s();
	err = tree_signal_all(&t, first);
	if (err)
		goto cleanup;
	/* Nothing at all was allowed: that is an error, not a report. */
	if (t.m[0].outcome == OUT_DENIED) {
		bool any = false;

		for (size_t i = 0; i < t.count; i++)
			any |= t.m[i].last_signal != 0;
		if (!any) {
			err = -EPERM;
			goto cleanup;
		}
	}
	if (first != SIGKILL)
		tree_wait(&t, t.t0 + timeout, OUT_TERMINATED);
	if (tree_reap_outcomes(&t, OUT_TERMINATED)) {
		err = tree_signal_all(&t, SIGKILL);
		if (err)
			goto cleanup;
		tree_wait(&t, now_s() + KILL_WAIT_S,
			  first == SIGKILL ? OUT_TERMINATED : OUT_KILLED);
	}
	for (size_t i = 0; i < t.count; i++)
		if (t.m[i].outcome == OUT_PENDING)
			t.m[i].outcome = OUT_SURVIVED;

	/* Killed parents' zombies go to a new parent that reaps them; give it a moment. */
	for (double until = now_s() + REAP_WAIT_S; orphan_zombies(&t) && now_s() < until;)
		usleep(10000);

report:
	j = json_object();
	arr = json_array();
	if (!j || !arr) {
		json_decref(arr);
		err = -ENOMEM;
		goto cleanup;
	}
	/* Listed by depth, then pid: the root first, then its children, ... */
	qsort(t.m, t.count, sizeof(*t.m), cmp_member);
	for (size_t i = 0; i < t.count; i++) {
		json_array_append_new(arr, member_json(&t.m[i]));
		if (t.m[i].outcome != OUT_SURVIVED && t.m[i].outcome != OUT_DENIED)
			gone++;
	}
	json_set(j, "id", json_integer(pid));
	json_set(j, "href", href_process(pid));
	json_set(j, "signal_first", json_string(signal_name(first, name, sizeof(name))));
	json_set(j, "timeout", json_real(timeout));
	json_set(j, "elapsed", json_real(now_s() - t.t0));
	json_set(j, "all_gone", json_boolean(gone == t.count));
	json_set(j, "processes", arr);
	*out = j;
	j = NULL;
	err = 0;
cleanup:
	for (size_t i = 0; i < t.count; i++)
		if (t.m[i].pidfd >= 0)
			close(t.m[i].pidfd);
	free(t.m);
	free(s);
	json_decref(j);
	return err;
}
