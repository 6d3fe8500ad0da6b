// SPDX-License-Identifier: GPL-2.0-only
/*
 * Request latency: a uprobe at the start of a request (function entry or a USDT probe)
 * and a uretprobe (or the end USDT probe) at its end. The start time of each thread's
 * request sits in "inflight" (userspace scans it for requests stuck past the
 * threshold); the end deletes it, adds the duration to a log2 histogram and, over the
 * threshold, sends an event with the user stack. A thread that exits mid-request has
 * its entry deleted at sched_process_exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "tracer.h"
#include "latency.h"
#include "tracer.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 targ_threshold_ns = 200000000ULL;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LATENCY_MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct latency_start);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LATENCY_HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	/* Bounded for the verifier: 64 iterations at most. */
	for (int i = 32; i > 0; i >>= 1) {
		if (v >= (1ULL << i)) {
			v >>= i;
			slot += i;
		}
	}
	return slot;
}

static __always_inline int on_start(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct latency_start s = {};
	__u32 tid = (__u32)id;

	/* No is_watched() here: the uprobes are attached per watched PID (or for all),
	 * so the kernel filters already; a hash lookup less per call. */
	s.start_ns = bpf_ktime_get_ns();
	s.tgid = id >> 32;
	if (bpf_map_update_elem(&inflight, &tid, &s, BPF_ANY))
		stat_inc(TRACER_STAT_MAP_FULL);
	return 0;
}

static __always_inline int on_end(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct latency_start *s;
	struct latency_event *e;
	__u32 tid = (__u32)id, slot;
	__u64 now, start, delta, *count;

	s = bpf_map_lookup_elem(&inflight, &tid);
	if (!s) {
		/* Attached while this request ran. */
		stat_inc(TRACER_STAT_MISSED);
		return 0;
	}
	start = s->start_ns;
	bpf_map_delete_elem(&inflight, &tid);
	now = bpf_ktime_get_ns();
	delta = now > start ? now - start : 0;

	slot = log2_slot(delta);
	if (slot >= LATENCY_HIST_SLOTS)
		slot = LATENCY_HIST_SLOTS - 1;
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);

	if (delta < targ_threshold_ns)
		return 0;
	e = reserve(sizeof(*e), TRACER_EV_LATENCY);
	if (!e)
		return 0;
	e->start_ns = start;
	e->duration_ns = delta;
	e->pid = id >> 32;
	e->tid = tid;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* At the return the user stack starts in the caller. */
	e->stack_len = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
	if (e->stack_len > 0)
		e->stack_len /= sizeof(__u64);
	submit(e, true);
	return 0;
}

SEC("uprobe")
int latency_entry(struct pt_regs *ctx)
{
	return on_start();
}

SEC("uretprobe")
int latency_return(struct pt_regs *ctx)
{
	return on_end(ctx);
}

SEC("usdt")
int latency_usdt_start(struct pt_regs *ctx)
{
	return on_start();
}

SEC("usdt")
int latency_usdt_end(struct pt_regs *ctx)
{
	return on_end(ctx);
}

/* A thread that dies mid-request never returns: forget its start. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(latency_exit, struct task_struct *p, bool group_dead)
{
	__u32 tid = p->pid;

	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}
