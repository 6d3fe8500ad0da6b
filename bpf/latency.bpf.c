// SPDX-License-Identifier: GPL-2.0-only
/*
 * Request latency: a uprobe at the start of a request (function entry or a USDT probe)
 * and a uretprobe (or the end USDT probe) at its end.
 *
 * Cost is the point here (goal: within 1.1x of an empty uprobe + uretprobe pair), so
 * the per-call path does no hash-map operation and no shared atomic: each thread's
 * calls in flight live in a slot of an array map (lookups are inlined by the verifier)
 * at index TID % LATENCY_SLOTS, held by the thread from its first call until it exits;
 * one clock read on each side; the histogram is per CPU. Only a thread whose slot
 * another live thread holds falls back to a hash map ("inflight_shared"). Userspace
 * mmaps the array and scans it (and the hash) for requests stuck past the threshold.
 *
 * Nesting: up to LATENCY_DEPTH calls per thread are timed, each with the user stack
 * pointer at its entry. A return is matched to the level whose entry stack pointer it
 * pops, so recursion times each level, and a call left without its return (longjmp,
 * a C++ exception unwinding through the function) is dropped when a later entry or
 * return shows its frame is gone, instead of looking stuck forever.
 */
/*
 * No CO-RE in this object: vmlinux.h's types are used at their compiled offsets (only
 * pt_regs, whose layout is UAPI), so it loads on a kernel without BTF, where libbpf
 * refuses any object with CO-RE relocations (usdt.bpf.h's helpers included). Only
 * latency_exit, a tp_btf program, is lost there.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "tracer.h"
#include "latency.h"
#include "tracer.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 targ_threshold_ns = 200000000ULL;
/* The uprobes are attached for every process (trace --follow: children are found by
 * the fork program in "watched"), so filter here. Otherwise they are attached per
 * watched PID (or for all) and the kernel filters: no lookup per call. */
const volatile bool targ_filter = false;
/* TID -> slot: LATENCY_SLOTS - 1, lower only with the TRACEDUMP_LATENCY_SLOTS test hook
 * (threads then share slots, so the hash fallback is what gets tested). */
const volatile __u32 targ_slot_mask = LATENCY_SLOTS - 1;
/* task_struct's tgid, from the kernel's BTF by the loader (no CO-RE here, see above);
 * only latency_fork reads it. */
const volatile __u32 targ_task_tgid_off = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, LATENCY_SLOTS);
	__type(key, __u32);
	__type(value, struct latency_thread);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LATENCY_MAX_SHARED);
	__type(key, __u32);
	__type(value, struct latency_thread);
} inflight_shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LATENCY_HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

/* The user stack pointer: pt_regs is the UAPI layout here (bpf_user_pt_regs_t). */
static __always_inline __u64 user_sp(struct pt_regs *ctx)
{
	return PT_REGS_SP(ctx);
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	/* Bounded for the verifier: 6 steps. */
	for (int i = 32; i > 0; i >>= 1) {
		if (v >= (1ULL << i)) {
			v >>= i;
			slot += i;
		}
	}
	return slot;
}

/* This thread's record; with @create, claims its array slot or a hash entry. */
static __always_inline struct latency_thread *thread_of(__u64 id, bool create)
{
	static const struct latency_thread fresh;
	struct latency_thread *t, *shared;
	__u32 tid = (__u32)id, idx = tid & targ_slot_mask;

	t = bpf_map_lookup_elem(&inflight, &idx);
	if (!t)
		return NULL;
	if (t->owner == id)
		return t;
	/* Not in the slot: in the hash, because another live thread held the slot (TIDs
	 * equal modulo LATENCY_SLOTS) when this one started. It stays there even when the
	 * slot frees up, so its calls in flight are not split between the two. */
	shared = bpf_map_lookup_elem(&inflight_shared, &tid);
	if (!shared && create && !t->owner &&
	    __sync_val_compare_and_swap(&t->owner, 0, id) == 0) {
		t->depth = 0;
		return t;
	}
	t = shared;
	if (t && t->owner != id && create) {
		/* Left by a dead thread whose TID was reused (no exit program) */
		t->owner = id;
		t->depth = 0;
	}
	if (t || !create)
		return t;
	if (bpf_map_update_elem(&inflight_shared, &tid, &fresh, BPF_NOEXIST)) {
		stat_inc(TRACER_STAT_MAP_FULL);
		return NULL;
	}
	t = bpf_map_lookup_elem(&inflight_shared, &tid);
	if (t)
		t->owner = id;
	return t;
}

/* The end of a request that started at @start_ns: histogram, and an event if slow. */
static __always_inline void record(struct pt_regs *ctx, __u64 id, __u64 start_ns, __u64 now)
{
	struct latency_event *e;
	__u64 delta = now > start_ns ? now - start_ns : 0, *count;
	__u32 slot = log2_slot(delta);

	if (slot >= LATENCY_HIST_SLOTS)
		slot = LATENCY_HIST_SLOTS - 1;
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1); /* per CPU: atomic only against preemption */

	if (delta < targ_threshold_ns)
		return;
	e = reserve(sizeof(*e), TRACER_EV_LATENCY);
	if (!e)
		return;
	e->start_ns = start_ns;
	e->duration_ns = delta;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* At the return the user stack starts in the caller. */
	e->stack_len = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
	if (e->stack_len > 0)
		e->stack_len /= sizeof(__u64);
	submit(e, true);
}

/* Level @n - 1 (1 <= n <= LATENCY_DEPTH); the mask is for the verifier. */
#define LEVEL(n) (((n) - 1) & (LATENCY_DEPTH - 1))

SEC("uprobe")
int latency_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), sp = user_sp(ctx), n;
	__u32 idx = (__u32)id & targ_slot_mask;
	struct latency_thread *t = bpf_map_lookup_elem(&inflight, &idx);

	/* A thread holding its slot passed the filter when it took it (and frees it when
	 * it exits or execs), so only the others pay the watched-set lookup. */
	if (!t || t->owner != id) {
		if (targ_filter && !is_watched(id >> 32))
			return 0;
		t = thread_of(id, true);
		if (!t)
			return 0;
	}
	n = t->depth;
	if (n > LATENCY_DEPTH)
		n = LATENCY_DEPTH;
	/* A level entered at our frame or above ours never returned: its frame is gone. */
	for (int i = 0; i < LATENCY_DEPTH && n > 0; i++) {
		if (t->sp[LEVEL(n)] > sp)
			break;
		n--;
	}
	if (n >= LATENCY_DEPTH) {
		/* Deeper than we time: its return finds no level and counts as missed. */
		t->depth = n;
		return 0;
	}
	t->sp[LEVEL(n + 1)] = sp;
	t->start_ns[LEVEL(n + 1)] = bpf_ktime_get_ns();
	/* After the level's fields: userspace reads depth, then start_ns. */
	*(volatile __u32 *)&t->depth = n + 1;
	return 0;
}

SEC("uretprobe")
int latency_return(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid(), n, start;
	/* The return popped the return address the entry's stack pointer pointed at. */
	__u64 frame = user_sp(ctx) - 8;
	struct latency_thread *t = thread_of(id, false);

	if (!t) {
		if (!targ_filter || is_watched(id >> 32))
			stat_inc(TRACER_STAT_MISSED); /* attached while this call ran */
		return 0;
	}
	n = t->depth;
	if (n > LATENCY_DEPTH)
		n = LATENCY_DEPTH;
	/* Levels entered below our frame never returned (unwound past). */
	for (int i = 0; i < LATENCY_DEPTH && n > 0; i++) {
		if (t->sp[LEVEL(n)] >= frame)
			break;
		n--;
	}
	if (n == 0 || t->sp[LEVEL(n)] != frame) {
		/* Not timed: entered before the probe was attached, or too deep. */
		t->depth = n;
		stat_inc(TRACER_STAT_MISSED);
		return 0;
	}
	start = t->start_ns[LEVEL(n)];
	t->depth = n - 1;
	record(ctx, id, start, now);
	return 0;
}

/* USDT pairs may start and end in different functions, so the stack pointer says
 * nothing: one request per thread at a time, a new start replaces an unfinished one. */
SEC("usdt")
int latency_usdt_start(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct latency_thread *t;

	if (targ_filter && !is_watched(id >> 32))
		return 0;
	t = thread_of(id, true);
	if (!t)
		return 0;
	t->start_ns[0] = bpf_ktime_get_ns();
	*(volatile __u32 *)&t->depth = 1;
	return 0;
}

SEC("usdt")
int latency_usdt_end(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();
	struct latency_thread *t = thread_of(id, false);

	__u64 start;

	if (!t || t->depth == 0) {
		if (!targ_filter || is_watched(id >> 32))
			stat_inc(TRACER_STAT_MISSED);
		return 0;
	}
	start = t->start_ns[0];
	t->depth = 0;
	record(ctx, id, start, now);
	return 0;
}

/* Frees the current thread's slot and hash entry, and so forgets its requests. */
static __always_inline void forget_current(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, idx = tid & targ_slot_mask;
	struct latency_thread *t = bpf_map_lookup_elem(&inflight, &idx);

	if (t && t->owner == id) {
		*(volatile __u32 *)&t->depth = 0;
		*(volatile __u64 *)&t->owner = 0;
	}
	bpf_map_delete_elem(&inflight_shared, &tid);
}

/* A thread that exits frees its slot (and forgets a request it died in). Both run in
 * the task itself: no task_struct read, so no CO-RE. */
SEC("tp_btf/sched_process_exit")
int latency_exit(void *ctx)
{
	forget_current();
	return 0;
}

/*
 * Loaded with the uprobe_multi links attached per PID only: tells the loader that a
 * watched process forked, so it can take the inherited breakpoints out of the child
 * (uprobe_multi__purge). A new thread shares the breakpoints and is ignored. Runs in
 * the parent.
 */
SEC("tp_btf/sched_process_fork")
int latency_fork(__u64 *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, child_tgid = 0;
	struct tracer_header *e;

	if (!is_watched(tgid))
		return 0;
	if (bpf_probe_read_kernel(&child_tgid, sizeof(child_tgid),
				  (void *)(long)ctx[1] + targ_task_tgid_off) ||
	    child_tgid == tgid)
		return 0;
	e = reserve(sizeof(*e), TRACER_EV_LATENCY_FORK);
	if (e)
		submit(e, true);
	return 0;
}

/* exec replaces the stack: calls in flight there never return. */
SEC("tp_btf/sched_process_exec")
int latency_exec(void *ctx)
{
	forget_current();
	return 0;
}
