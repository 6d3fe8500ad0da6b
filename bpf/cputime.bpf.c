// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-thread CPU accounting from the scheduler: on-CPU time, run-queue wait, voluntary
 * and involuntary switches, last CPU. Only for watched processes unless targ_all;
 * children are followed through fork when targ_follow. Counters live in the "threads"
 * map that userspace reads; the ring buffer carries only fork events.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tracer.h"
#include "cputime.h"
#include "tracer.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool targ_follow = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CPUTIME_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct cputime_thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cputime_running);
} running SEC(".maps");

static __always_inline struct cputime_thread *thread_of(struct task_struct *t, __u32 tid,
							 __u32 tgid)
{
	struct cputime_thread *ct = bpf_map_lookup_elem(&threads, &tid);
	struct cputime_thread zero = {};

	if (ct)
		return ct;
	zero.tgid = tgid;
	bpf_probe_read_kernel_str(zero.comm, sizeof(zero.comm), t->comm);
	if (bpf_map_update_elem(&threads, &tid, &zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&threads, &tid)) {
		stat_inc(TRACER_STAT_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&threads, &tid);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(cputime_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	struct cputime_running *run;
	struct cputime_thread *ct;
	__u32 tid, tgid, zero = 0;

	/* Charge the slice that ends to the thread that started it on this CPU */
	run = bpf_map_lookup_elem(&running, &zero);
	if (!run)
		return 0;
	if (run->tid) {
		ct = bpf_map_lookup_elem(&threads, &run->tid);
		if (ct) {
			if (now > run->since_ns)
				ct->oncpu_ns += now - run->since_ns;
			ct->switch_in_ns = 0;
		}
		run->tid = 0;
	}

	tid = prev->pid;
	tgid = prev->tgid;
	if (tid && is_watched(tgid)) {
		ct = thread_of(prev, tid, tgid);
		if (ct) {
			ct->switch_in_ns = 0;
			/* As the kernel counts nivcsw: preempted, or switched out runnable. */
			if (preempt || BPF_CORE_READ(prev, __state) == 0) {
				ct->involuntary++;
				ct->enqueue_ns = now;
			} else {
				ct->voluntary++;
			}
		}
	}

	tid = next->pid;
	tgid = next->tgid;
	if (tid && is_watched(tgid)) {
		ct = thread_of(next, tid, tgid);
		if (ct) {
			if (ct->enqueue_ns && now > ct->enqueue_ns)
				ct->runq_ns += now - ct->enqueue_ns;
			ct->enqueue_ns = 0;
			ct->switch_in_ns = now;
			ct->last_cpu = bpf_get_smp_processor_id();
			run->tid = tid;
			run->since_ns = now;
		}
	}
	return 0;
}

static __always_inline void on_wakeup(struct task_struct *p)
{
	struct cputime_thread *ct;
	__u32 tid = p->pid, tgid = p->tgid;

	if (!tid || !is_watched(tgid))
		return;
	ct = thread_of(p, tid, tgid);
	if (ct && !ct->switch_in_ns)
		ct->enqueue_ns = bpf_ktime_get_ns();
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(cputime_wakeup, struct task_struct *p)
{
	on_wakeup(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(cputime_wakeup_new, struct task_struct *p)
{
	on_wakeup(p);
	return 0;
}

/* A new process (not a thread) forked by a watched one is watched too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(cputime_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct cputime_fork_event *e;
	__u8 one = 1;

	if (!targ_follow || targ_all || ptgid == ctgid ||
	    !bpf_map_lookup_elem(&watched, &ptgid))
		return 0;
	if (bpf_map_update_elem(&watched, &ctgid, &one, BPF_ANY))
		stat_inc(TRACER_STAT_MAP_FULL);
	e = reserve(sizeof(*e), TRACER_EV_FORK);
	if (!e)
		return 0;
	e->parent_pid = ptgid;
	e->child_pid = ctgid;
	bpf_probe_read_kernel_str(e->parent_comm, sizeof(e->parent_comm), parent->comm);
	submit(e, false);
	return 0;
}
