/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch --cpu-total: how many CPUs a process may use, the divisor of its CPU%. The
 * smallest of: the online CPUs; its cgroup's CPU quota (cgroup v2 cpu.max, v1
 * cpu.cfs_quota_us / cpu.cfs_period_us), the tightest one of the cgroup and every
 * ancestor, since each level throttles the ones below it; its cpuset (v2
 * cpuset.cpus.effective, v1 cpuset.effective_cpus, which already account for the
 * ancestors). Both hierarchies are read: on a hybrid host the cpu controller may sit
 * in v1 while v2 holds none.
 */
#ifndef TRACEDUMP_WATCH_CPU_LIMIT_H
#define TRACEDUMP_WATCH_CPU_LIMIT_H

#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

struct cpu_limit {
	double cpus;	     /* the divisor: 100% = this many CPUs busy */
	double online;	     /* online CPUs */
	const char *source;  /* "online_cpus", "cpu.max", "cpu.cfs_quota_us",
				"cpuset.cpus.effective", "cpuset.effective_cpus" */
	char path[PATH_MAX]; /* the file it came from; "" for online_cpus */
};

/* "max 100000" -> 0 (no limit); "50000 100000" -> 0.5 CPUs; -EINVAL otherwise. */
int cpu_max_parse(const char *s, double *cpus);

/* "0-3,6\n" -> 5 CPUs; -EINVAL for a malformed list, 0 for an empty one. */
int cpu_list_count(const char *s);

/*
 * Applies the limits found under @mount (a cgroup v2 mount when @v2, else a v1 mount
 * holding the cpu and/or cpuset controllers) for cgroup @cgpath (as in
 * /proc/PID/cgroup), walking from it up to the mount's root; lowers @l->cpus (and sets
 * its source) when a limit is tighter. Unit-tested against a made-up tree.
 */
void cpu_limit__apply_tree(struct cpu_limit *l, const char *mount, const char *cgpath, int v2);

/* The limit of process @pid now, from /proc/PID/cgroup and /proc/self/mountinfo. */
void cpu_limit__read(pid_t pid, struct cpu_limit *l);

/* {"cpus", "source", "path", "online_cpus"} */
json_t *cpu_limit__json(const struct cpu_limit *l);

#endif /* TRACEDUMP_WATCH_CPU_LIMIT_H */
