/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by `analyze` and `stack`: thread order, groups, and the readable report. */
#ifndef TRACEDUMP_ANALYZE_REPORT_H
#define TRACEDUMP_ANALYZE_REPORT_H

#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>

/* Moves the thread @first_tid (if any) to the front, keeps the others in order, and
 * sets "is_main_thread" (id == @pid; false everywhere when @pid is 0). */
void report__order_threads(json_t *threads, pid_t first_tid, pid_t pid);

json_t *report__thread_by_id(json_t *threads, pid_t tid);

/* Sets "crashing_thread_id", "thread_count", "threads" (stolen), "groups" in @j and
 * "crashed" in each thread. */
void report__add_threads(json_t *j, json_t *threads, pid_t crashed_tid, pid_t first_tid);

/* The terminal report of an analysis (core) or a stack (live) object. */
void report__print(FILE *f, json_t *j);

#endif /* TRACEDUMP_ANALYZE_REPORT_H */
