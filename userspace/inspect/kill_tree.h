/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers of `kill` (userspace/inspect/kill_tree.c) shared with its CLI (kill.c). */
#ifndef TRACEDUMP_INSPECT_KILL_TREE_H
#define TRACEDUMP_INSPECT_KILL_TREE_H

#include <sys/types.h>

/*
 * Why the tree of @pid must not be killed, or NULL when it may: PID 1, tracedump
 * itself, a process tracedump descends from (its own tree), a kernel thread.
 * inspect__kill_tree returns -EPERM for these.
 */
const char *kill_tree_refusal(pid_t pid);

#endif /* TRACEDUMP_INSPECT_KILL_TREE_H */
