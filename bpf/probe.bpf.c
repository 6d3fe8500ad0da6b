// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature probe: one tiny program per attach type tracedump relies on. Each one sends
 * a ring buffer event when it fires for the probing process, so `doctor` knows the
 * program was not only accepted by the verifier but attached and ran.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "probe.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

static __always_inline void report(__u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct probe_event *e;

	if ((id >> 32) != targ_tgid)
		return;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return;
	e->kind = kind;
	e->pid = id >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(probe_tp_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	report(PROBE_TP_BTF);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int probe_tracepoint(void *ctx)
{
	report(PROBE_TRACEPOINT);
	return 0;
}

SEC("raw_tp/sys_enter")
int probe_raw_tp(void *ctx)
{
	report(PROBE_RAW_TP);
	return 0;
}

/* Attached by userspace to a function in tracedump's own binary. */
SEC("uprobe")
int probe_uprobe(void *ctx)
{
	report(PROBE_UPROBE);
	return 0;
}

/* The same through a uprobe_multi link (loaded with that expected attach type). */
SEC("uprobe")
int probe_uprobe_multi(void *ctx)
{
	report(PROBE_UPROBE_MULTI);
	return 0;
}

/* Expected to fail here (no kprobes, fentry EPERM); probed so doctor can say so. */
SEC("kprobe/do_nanosleep")
int probe_kprobe(void *ctx)
{
	report(PROBE_KPROBE);
	return 0;
}

SEC("fentry/do_nanosleep")
int BPF_PROG(probe_fentry)
{
	report(PROBE_FENTRY);
	return 0;
}
