/* SPDX-License-Identifier: GPL-2.0-only */
/* Types shared by bpf/probe.bpf.c and userspace/doctor: the feature probe. */
#ifndef TRACEDUMP_PROBE_H
#define TRACEDUMP_PROBE_H

/* Which probe program produced an event; one bit each in probe_event.kind. */
enum probe_kind {
	PROBE_TP_BTF = 0,
	PROBE_TRACEPOINT = 1,
	PROBE_RAW_TP = 2,
	PROBE_UPROBE = 3,
	PROBE_KPROBE = 4,
	PROBE_FENTRY = 5,
	PROBE_UPROBE_MULTI = 6,
	PROBE_KIND_MAX = 7,
};

struct probe_event {
	__u32 kind;
	__u32 pid;
	__u64 ts_ns;
};

#endif /* TRACEDUMP_PROBE_H */
