/* SPDX-License-Identifier: GPL-2.0-only */
/* Types shared by bpf/cputime.bpf.c and userspace/trace: per-thread CPU accounting. */
#ifndef TRACEDUMP_CPUTIME_H
#define TRACEDUMP_CPUTIME_H

#define CPUTIME_MAX_THREADS 65536

/* Value of the "threads" hash map, keyed by TID. */
struct cputime_thread {
	__u64 oncpu_ns;	    /* on-CPU time, completed slices */
	__u64 runq_ns;	    /* time runnable but waiting for a CPU */
	__u64 voluntary;    /* switches out while blocking */
	__u64 involuntary;  /* switches out while still runnable (preempted) */
	__u64 switch_in_ns; /* start of the current slice; 0 when off CPU */
	__u64 enqueue_ns;   /* when it became runnable; 0 when not waiting */
	__u32 tgid;
	__u32 last_cpu;
	char comm[16];	    /* at the thread's first event; userspace reads /proc for renames */
};

/*
 * Value of the per-CPU "running" array (one slot): the watched thread on this CPU now.
 * The slice is charged to it at the next switch on this CPU, whatever that switch's
 * prev says: on 6.18 some switches away from a thread name another task as prev
 * (seen with tokio workers), so charging prev would lose slices.
 */
struct cputime_running {
	__u32 tid;  /* 0: no watched thread runs here */
	__u32 pad;
	__u64 since_ns;
};

/* TRACER_EV_FORK */
struct cputime_fork_event {
	__u32 type;
	__u32 cpu;
	__u64 ts_ns;
	__u32 parent_pid;
	__u32 child_pid;
	char parent_comm[16];
};

#endif /* TRACEDUMP_CPUTIME_H */
