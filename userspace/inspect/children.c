// SPDX-License-Identifier: GPL-2.0-only
/*
 * Children of a process. stat's field 4 (ppid) of every process gives them on any
 * kernel, but that is a read of every /proc/PID/stat: ~100 opens on a quiet host,
 * thousands on a busy one, per question. With CONFIG_PROC_CHILDREN the kernel lists a
 * thread's children itself in /proc/PID/task/TID/children; a child whose parent thread
 * exits is handed to another live thread of the same process (kernel/exit.c,
 * find_new_reaper), so the union over the threads' files is every child. Without those
 * files, one scan builds an index of every (ppid, pid) pair, shared by all callers (the
 * server's request threads) and rebuilt when older than CHILDREN_INDEX_TTL_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/procfs.h"
#include "inspect/children.h"

struct pid_list {
	pid_t *v;
	size_t n, cap;
};

static int pid_list__add(struct pid_list *l, pid_t pid)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		pid_t *bigger = realloc(l->v, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		l->v = bigger;
		l->cap = cap;
	}
	l->v[l->n++] = pid;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Sorts and drops duplicates; hands the array to the caller. */
static void pid_list__finish(struct pid_list *l, pid_t **out, size_t *count)
{
	size_t n = 0;

	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_pid);
	for (size_t i = 0; i < l->n; i++)
		if (!n || l->v[n - 1] != l->v[i])
			l->v[n++] = l->v[i];
	*out = n ? l->v : NULL;
	*count = n;
	if (!n)
		free(l->v);
	memset(l, 0, sizeof(*l));
}

bool children__have_task_files(void)
{
	static int have = -1; /* a property of the kernel: probed once */

	if (have < 0)
		have = access("/proc/thread-self/children", R_OK) == 0;
	return have;
}

int children__of_tasks(int piddir, const pid_t *tids, size_t ntids, pid_t **out,
			size_t *count)
{
	struct pid_list kids = { 0 };
	size_t cap = 0;
	char path[64], *buf = NULL;
	int err = 0;

	*out = NULL;
	*count = 0;
	if (!children__have_task_files())
		return -ENOSYS;
	for (size_t i = 0; i < ntids && !err; i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "task/%d/children", tids[i]);
		n = procfs_read_at(piddir, path, &buf, &cap, true);
		if (n == -ENOENT || n == -ESRCH)
			continue; /* the thread exited: its children went to another one */
		if (n < 0) {
			err = (int)n;
			break;
		}
		for (char *p = buf, *end; *p;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (v > 0)
				err = pid_list__add(&kids, (pid_t)v);
			if (err)
				break;
			p = end;
		}
	}
	free(buf);
	if (err) {
		free(kids.v);
		return err;
	}
	pid_list__finish(&kids, out, count);
	return 0;
}

int children__from_task_files(pid_t pid, pid_t **out, size_t *count)
{
	pid_t *tids = NULL;
	size_t ntids = 0;
	char path[32];
	int err, piddir;

	*out = NULL;
	*count = 0;
	if (!children__have_task_files())
		return -ENOSYS;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	piddir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (piddir < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = procfs_list_pids(pid, true, &tids, &ntids);
	if (err == -ENOENT)
		err = -ESRCH;
	if (!err)
		err = children__of_tasks(piddir, tids, ntids, out, count);
	free(tids);
	close(piddir);
	return err;
}

/* --- the index, for kernels without the children files ------------------------------ */

struct parent_of {
	pid_t ppid, pid;
};

static struct {
	pthread_mutex_t lock;
	struct parent_of *pairs; /* by ppid, then pid */
	size_t count;
	struct timespec built;	 /* CLOCK_MONOTONIC; pairs == NULL: never */
} index_ = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int cmp_pair(const void *a, const void *b)
{
	const struct parent_of *x = a, *y = b;

	if (x->ppid != y->ppid)
		return (x->ppid > y->ppid) - (x->ppid < y->ppid);
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static double age_ms(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

/* One scan of /proc/PID/stat for every process. Caller holds the lock. */
static int index_rebuild(void)
{
	struct parent_of *pairs = NULL;
	pid_t *pids = NULL;
	size_t count = 0, n = 0;
	int procfd, err;

	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	err = procfs_list_pids(0, false, &pids, &count);
	if (err)
		goto cleanup;
	pairs = malloc((count ? count : 1) * sizeof(*pairs));
	if (!pairs) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < count; i++) {
		char rel[32], buf[1024];
		uint64_t ppid;
		ssize_t len;
		int fd;

		snprintf(rel, sizeof(rel), "%d/stat", pids[i]);
		fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone since the listing */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (!procfs_stat_field(buf, 4, &ppid) && ppid > 0)
			pairs[n++] = (struct parent_of){ .ppid = (pid_t)ppid, .pid = pids[i] };
	}
	qsort(pairs, n, sizeof(*pairs), cmp_pair);
	free(index_.pairs);
	index_.pairs = pairs;
	index_.count = n;
	pairs = NULL;
	clock_gettime(CLOCK_MONOTONIC, &index_.built);
cleanup:
	free(pairs);
	free(pids);
	close(procfd);
	return err;
}

int children__from_index(pid_t pid, unsigned max_age_ms, pid_t **out, size_t *count)
{
	struct pid_list kids = { 0 };
	size_t lo = 0, hi;
	int err = 0;

	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&index_.lock);
	if (!index_.pairs || !max_age_ms || age_ms(&index_.built) >= max_age_ms)
		err = index_rebuild();
	if (err)
		goto unlock;
	/* The first pair with this ppid. */
	hi = index_.count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (index_.pairs[mid].ppid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < index_.count && index_.pairs[i].ppid == pid && !err; i++)
		err = pid_list__add(&kids, index_.pairs[i].pid);
unlock:
	pthread_mutex_unlock(&index_.lock);
	if (err) {
		free(kids.v);
		return err;
	}
	pid_list__finish(&kids, out, count);
	return 0;
}

int children__list(pid_t pid, pid_t **out, size_t *count)
{
	if (children__have_task_files())
		return children__from_task_files(pid, out, count);
	return children__from_index(pid, CHILDREN_INDEX_TTL_MS, out, count);
}
