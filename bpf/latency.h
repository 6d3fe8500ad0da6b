/* SPDX-License-Identifier: GPL-2.0-only */
/* Types shared by bpf/latency.bpf.c and userspace/trace: request latency. */
#ifndef TRACEDUMP_LATENCY_H
#define TRACEDUMP_LATENCY_H

#define LATENCY_HIST_SLOTS 64	 /* log2 buckets of nanoseconds */
#define LATENCY_MAX_INFLIGHT 16384
#define LATENCY_STACK_DEPTH 32	 /* user stack frames in an event */

/* Value of the "inflight" hash map, keyed by TID: a request still running. */
struct latency_start {
	__u64 start_ns;
	__u32 tgid;
	__u32 pad;
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
