/* SPDX-License-Identifier: GPL-2.0-only */
/* Types shared by bpf/signals.bpf.c and userspace/trace: signals and process exits. */
#ifndef TRACEDUMP_SIGNALS_H
#define TRACEDUMP_SIGNALS_H

/* signal_generate's result, as the kernel's enum trace_signal_result. */
enum signals_result {
	SIGNALS_DELIVERED = 0,
	SIGNALS_IGNORED = 1,
	SIGNALS_ALREADY_PENDING = 2,
	SIGNALS_OVERFLOW_FAIL = 3,
	SIGNALS_LOSE_INFO = 4,
};

/* signal_deliver's handler kind */
enum signals_handler {
	SIGNALS_HANDLER_DEFAULT = 0, /* SIG_DFL */
	SIGNALS_HANDLER_IGNORE = 1,  /* SIG_IGN */
	SIGNALS_HANDLER_CUSTOM = 2,
};

/* TRACER_EV_SIGNAL (generated: sent) and TRACER_EV_DELIVER (taken by the target). */
struct signals_event {
	__u32 type;
	__u32 cpu;
	__u64 ts_ns;
	__s32 sig;
	__s32 code;	    /* si_code */
	__u32 sender_pid;   /* current task at signal_generate; 0 for deliver */
	__u32 sender_tid;
	__u32 target_pid;
	__u32 target_tid;
	__s32 result;	    /* enum signals_result (generate only) */
	__u32 group;	    /* sent to the whole process (generate) */
	__u32 blocked;	    /* the target thread blocks this signal (generate) */
	__u32 handler;	    /* enum signals_handler (deliver) */
	__u64 sa_flags;	    /* deliver */
	char sender_comm[16];
	char target_comm[16];
};

/* TRACER_EV_EXIT: the last thread of a watched process exited. */
struct signals_exit_event {
	__u32 type;
	__u32 cpu;
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;	    /* the thread that exited last */
	__s32 exit_code;    /* wait status: (code << 8) | core(0x80) | signal */
	__u32 group_exit;   /* SIGNAL_GROUP_EXIT: exit_group() or a fatal signal */
	__s32 fatal_sig;    /* the fatal signal seen at signal_deliver, 0 if none */
	__u32 fatal_tid;    /* the thread that took it */
	char comm[16];
	char fatal_comm[16];
};

/*
 * What the signal programs keep for one watched process (tgid -> this, in the "procs"
 * map), so that a signal of a storm costs one map lookup:
 * - @stop, bit N: stop the process when signal N is about to run its handler (watch
 *   --signal for handled signals, see signals_deliver).
 * - @keep: the process's last SIGNALS_KEPT signal events are kept here instead of going
 *   through the ring buffer: a storm then costs no copy to userspace and no consumer
 *   work, read only for a dump (watch's flight recorder). Events of signals in @report
 *   (and BPF stops) still go through the ring buffer, where they can fire a trigger.
 *   @head counts every event written; slot head % SIGNALS_KEPT is the next.
 * An entry exists only for a process in "watched" (userspace removes both together).
 */
#define SIGNALS_KEPT 64 /* a power of two */
struct signals_proc {
	__u64 stop;
	__u64 report;
	__u32 keep;
	__u32 pad;
	__u64 head;
	struct signals_event ev[SIGNALS_KEPT];
};

#endif /* TRACEDUMP_SIGNALS_H */
