/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every tracer program (cputime, signals, latency, exceptions) shares with
 * userspace/trace: the event types, the header every event starts with, the watched-
 * process map's size and the statistics slots. Each program's own event layout is in
 * bpf/<name>.h; every one of those structs begins with the fields of tracer_header.
 */
#ifndef TRACEDUMP_TRACER_H
#define TRACEDUMP_TRACER_H

#define TRACER_MAX_TGIDS 4096	/* watched processes (with their followed children) */

enum tracer_event_type {
	TRACER_EV_FORK = 1,	 /* cputime: a watched process forked, the child is watched */
	TRACER_EV_SIGNAL = 2,	 /* signals: signal_generate */
	TRACER_EV_DELIVER = 3,	 /* signals: signal_deliver */
	TRACER_EV_EXIT = 4,	 /* signals: the last thread of a process exited */
	TRACER_EV_LATENCY = 5,	 /* latency: a request over the threshold returned */
	TRACER_EV_EXCEPTION = 6, /* exceptions: __cxa_throw */
	/* latency: a watched process forked (loader-internal: the uprobe_multi purge) */
	TRACER_EV_LATENCY_FORK = 7,
	TRACER_EV_MAX = 8,
};

/* Slots of each program's per-CPU "stats" array. */
enum tracer_stat_slot {
	TRACER_STAT_EVENTS = 0,	 /* events submitted to the ring buffer */
	TRACER_STAT_DROPS = 1,	 /* events lost: the ring buffer was full */
	TRACER_STAT_MAP_FULL = 2, /* a hash map update failed: the map was full */
	TRACER_STAT_MISSED = 3,	 /* a return without its entry (probe attached mid-call) */
	TRACER_STAT_MAX = 4,
};

struct tracer_header {
	__u32 type;  /* enum tracer_event_type */
	__u32 cpu;
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

#endif /* TRACEDUMP_TRACER_H */
