/* SPDX-License-Identifier: GPL-2.0-only */
/* Types shared by bpf/latency.bpf.c and userspace/trace: request latency. */
#ifndef TRACEDUMP_LATENCY_H
#define TRACEDUMP_LATENCY_H

#define LATENCY_HIST_SLOTS 64	 /* log2 buckets of nanoseconds */
#define LATENCY_SLOTS 16384	 /* "inflight" array: thread TID sits in slot TID % this */
#define LATENCY_MAX_SHARED 4096	 /* "inflight_shared": threads whose slot is taken */
#define LATENCY_DEPTH 4		 /* nested (recursive) calls timed per thread */
#define LATENCY_STACK_DEPTH 32	 /* user stack frames in an event */

/*
 * A thread's requests in flight: a slot of the mmapable "inflight" array (index TID %
 * LATENCY_SLOTS, held by the first thread that needs it until it exits), or, when
 * another live thread holds that slot, the value of the "inflight_shared" hash keyed
 * by TID. Userspace scans both for requests stuck past the threshold.
 */
struct latency_thread {
	__u64 owner;	/* pid_tgid (tgid << 32 | tid) of the holder; 0: free */
	__u32 depth;	/* calls being timed: start_ns/sp [0, depth) are valid */
	__u32 pad;
	__u64 start_ns[LATENCY_DEPTH]; /* [0]: the outermost call */
	__u64 sp[LATENCY_DEPTH];       /* user stack pointer at the call's entry */
};

/* TRACER_EV_LATENCY: a request that took at least the threshold. */
struct latency_event {
	__u32 type;
	__u32 cpu;
	__u64 ts_ns;
	__u64 start_ns;
	__u64 duration_ns;
	__u32 pid;
	__u32 tid;
	char comm[16];
	__s32 stack_len; /* frames in stack, or negative errno from bpf_get_stack */
	__u32 pad;
	__u64 stack[LATENCY_STACK_DEPTH];
};

#endif /* TRACEDUMP_LATENCY_H */
