/* SPDX-License-Identifier: GPL-2.0-only */
/* Pure helpers behind `threads` / `thread` (userspace/inspect/thread.c), unit-tested in
 * tests/unit/test_thread.c. No I/O here. */
#ifndef TRACEDUMP_INSPECT_THREAD_H
#define TRACEDUMP_INSPECT_THREAD_H

#include <stddef.h>

#include "common/procfs.h"

/* KSYM_NAME_LEN is 512 in Linux 6.1+. */
#define THREAD_WCHAN_MAX 512

/*
 * The text of /proc/PID/task/TID/wchan (@len bytes, need not be NUL-terminated) into
 * the symbol the thread sleeps in. Returns 0 with "" in @out when the thread is not
 * waiting (the kernel writes "0", or nothing, for a running thread or when it hides the
 * symbol); 1 with the symbol; -EINVAL when the text is not a kernel symbol name (or
 * does not fit in @size).
 */
int thread_parse_wchan(const char *buf, size_t len, char *out, size_t size);

/* "running", "sleeping", "disk_sleep", ... for a state letter of /proc/.../stat. */
const char *thread_state_name(char state);

/* "SCHED_OTHER", "SCHED_FIFO", ... for the policy field of /proc/.../stat. */
const char *thread_policy_name(unsigned policy);

/*
 * The priority the thread has without priority inheritance, on the same scale as the
 * stat "priority" field (0..39 for normal policies: 20 + nice; -2..-100 for real-time:
 * -1 - rt_priority; -101 for SCHED_DEADLINE).
 */
long thread_base_priority(const struct proc_stat *st);

/*
 * 0 when @pid is a live (or zombie) process, that is a thread-group leader; -ESRCH when
 * there is no such process or @pid is a non-leader thread (whose /proc/TID exists but
 * is not a process of its own); other negative errno from reading /proc/PID/status.
 */
int thread_group_check(pid_t pid);

/* For error messages: the process @tid belongs to when it is a non-leader thread, else 0. */
pid_t thread_owner(pid_t tid);

/* Prints the error for -ESRCH on @pid ("not found", or "a thread of process N"). */
int thread_report_no_process(pid_t pid);

#endif /* TRACEDUMP_INSPECT_THREAD_H */
