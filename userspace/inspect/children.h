/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A process's children, for `show` (and GET /api/processes/ID): the children files of
 * its threads when the kernel has them, otherwise a shared index of every process's
 * parent from one scan of /proc/PID/stat, reused for CHILDREN_INDEX_TTL_MS.
 */
#ifndef TRACEDUMP_INSPECT_CHILDREN_H
#define TRACEDUMP_INSPECT_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How old the fallback index may be before it is rebuilt (docs/json.md, `children`). */
#define CHILDREN_INDEX_TTL_MS 500

/*
 * The PIDs whose parent is @pid, ascending, into a malloc'd array (NULL when none).
 * From /proc/PID/task/ * /children (exact, read now) when the kernel has
 * CONFIG_PROC_CHILDREN, else from the shared index (up to CHILDREN_INDEX_TTL_MS old).
 * -ESRCH when @pid is gone, -errno on other failures.
 */
int children__list(pid_t pid, pid_t **out, size_t *count);

/* The two ways, for the tests: the children files (-ENOSYS without them), and the
 * index (@max_age_ms 0 rebuilds it now). */
int children__from_task_files(pid_t pid, pid_t **out, size_t *count);
int children__from_index(pid_t pid, unsigned max_age_ms, pid_t **out, size_t *count);

/* The children files of threads @tids, under @piddir (an fd of /proc/PID, O_PATH will
 * do), for a caller that has listed the threads already; -ENOSYS without the files. */
int children__of_tasks(int piddir, const pid_t *tids, size_t ntids, pid_t **out,
		       size_t *count);

/* Whether this kernel has /proc/PID/task/TID/children. */
bool children__have_task_files(void);

#endif /* TRACEDUMP_INSPECT_CHILDREN_H */
