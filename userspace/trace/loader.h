/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF tracer as a library: `trace`, `top`, `threads --sample` and the triggers of
 * `watch` use it. One skeleton per program (bpf/cputime, signals, latency, exceptions),
 * each with its own ring buffer; all share one map of watched processes.
 *
 *   struct tracer *t;
 *   tracer__open(&opts, &t, err, sizeof(err));  // probe, load, attach tracepoints
 *   tracer__add_pid(t, pid, err, sizeof(err));  // watch it, attach its uprobes
 *   while (running) tracer__poll(t, 100, on_event, ctx);
 *   tracer__destroy(t);
 */
#ifndef TRACEDUMP_TRACE_LOADER_H
#define TRACEDUMP_TRACE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace/spec.h"

struct tracer;
struct signals_event;

struct tracer_opts {
	unsigned classes;	/* enum tracer_class bits wanted */
	bool all;		/* every process, not only those added */
	bool follow;		/* watch children forked by watched processes */
	const struct latency_spec *latency; /* with TRACER_LATENCY */
	uint64_t threshold_ns;	/* latency events and stuck requests from this duration */
	uint64_t wake_signals;	/* bit N: wake the consumer at once for signal N */
	bool wake_exceptions;	/* wake the consumer at once for each throw */
	/* tracer__set_stop_signals and tracer__keep_signals are used: the signal programs
	 * then look a watched process up in their per-process map first (one lookup for
	 * such a process, two for the others); without, only in "watched". */
	bool signal_controls;
};

/*
 * Probes the features the wanted classes need (doctor's probes), then opens, loads
 * and attaches what this kernel allows. A class the kernel cannot do is dropped with
 * a line in tracer__warnings(); -EOPNOTSUPP when nothing is left, -EPERM without the
 * privileges to load BPF; @err gets the reason.
 */
int tracer__open(const struct tracer_opts *opts, struct tracer **out, char *err, size_t errlen);
void tracer__destroy(struct tracer *t);

/* The classes actually loaded. */
unsigned tracer__classes(const struct tracer *t);

/* What was dropped and why, one "class: reason" per line; "" when nothing. */
const char *tracer__warnings(const struct tracer *t);

/* Seconds to add to a CLOCK_MONOTONIC time (event ts_ns / 1e9) for epoch seconds. */
double tracer__mono_to_epoch(const struct tracer *t);

/*
 * Watches process @pid: filters it in, seeds its running threads' CPU slices, and
 * attaches the latency and exception uprobes to its binaries. -ESRCH when there is no
 * such process; other failures (e.g. no such symbol) -errno with @err.
 */
int tracer__add_pid(struct tracer *t, pid_t pid, char *err, size_t errlen);
int tracer__remove_pid(struct tracer *t, pid_t pid);

/* With TRACER_SIGNAL or TRACER_EXIT: bit N of @mask set, a handled signal N stops process @pid
 * (SIGSTOP from signal_deliver) before its handler runs; the caller dumps and sends
 * SIGCONT. 0 clears. -EOPNOTSUPP without the signals program or signal_controls. */
int tracer__set_stop_signals(struct tracer *t, pid_t pid, uint64_t mask);

/*
 * With TRACER_SIGNAL: process @pid's signal events are kept in a BPF map (its last
 * SIGNALS_KEPT, bpf/signals.h) instead of coming through the ring buffer, except those
 * of the signals in @report (bit N: signal N) and BPF stops. -EOPNOTSUPP without the
 * signals program or signal_controls. Dropped by tracer__remove_pid.
 */
int tracer__keep_signals(struct tracer *t, pid_t pid, uint64_t report);

/* The kept signal events of @pid, oldest first, into @out (SIGNALS_KEPT of them at
 * most); their number, or -errno (-ENOENT: none kept for it). */
int tracer__kept_signals(struct tracer *t, pid_t pid, struct signals_event *out);

/* Called for each event, with the raw struct of bpf/<name>.h (first field: type). */
typedef int (*tracer_event_fn)(void *ctx, const void *event, size_t size);

/* Waits up to @timeout_ms for urgent events, then consumes everything pending.
 * Returns the number of events handled or -errno (-EINTR is not an error: 0). */
int tracer__poll(struct tracer *t, int timeout_ms, tracer_event_fn fn, void *ctx);

/* A descriptor that polls readable when tracer__poll has events to hand out (the ring
 * buffers' epoll fd), so a caller can wait on it beside its own; -1 without one. */
int tracer__wait_fd(const struct tracer *t);

struct tracer_stats {
	uint64_t slot[4]; /* enum tracer_stat_slot, summed over programs and CPUs */
};
int tracer__read_stats(const struct tracer *t, struct tracer_stats *s);

struct tracer_thread_cpu {
	pid_t tid, tgid;
	char comm[16];
	uint64_t oncpu_ns;    /* including the slice running now */
	uint64_t runq_ns;     /* including the wait going on now */
	uint64_t voluntary, involuntary;
	uint32_t last_cpu;
	bool on_cpu;	      /* running at the time of the read */
};

/* The CPU counters of every thread of @tgid (0: all) into a malloc'd array. */
int tracer__read_thread_cpu(const struct tracer *t, pid_t tgid, struct tracer_thread_cpu **out,
			    size_t *count);

/* Forgets the counters of threads that no longer exist (for --all). */
void tracer__forget_dead_threads(struct tracer *t);

/* The latency histogram (LATENCY_HIST_SLOTS log2 slots of ns). */
int tracer__read_histogram(const struct tracer *t, uint64_t *slots, unsigned nslots);

/* Calls @fn for each request running for at least @min_ns now. */
typedef void (*tracer_inflight_fn)(void *ctx, pid_t tgid, pid_t tid, uint64_t start_ns,
				   uint64_t running_ns);
int tracer__scan_inflight(const struct tracer *t, uint64_t min_ns, tracer_inflight_fn fn,
			  void *ctx);

/* What the latency uprobe's first instruction costs (uprobe_entry_cost), once attached;
 * NULL for USDT or when the function's bytes could not be read. */
const char *tracer__latency_entry_cost(const struct tracer *t);

/* How the latency probes are attached: "uprobe_multi" (a BPF link per probe, Linux
 * 6.6+, the cheaper per call) or "perf_event" (USDT, older kernels, or the
 * TRACEDUMP_UPROBE_MULTI=0 test hook); NULL without the latency class. */
const char *tracer__latency_attach(const struct tracer *t);

/* CLOCK_MONOTONIC now, in ns (the clock of bpf_ktime_get_ns). */
uint64_t tracer_now_ns(void);

/* Describes how a uprobe at the function's first instruction costs, from its bytes:
 * "nop5 (optimised into a call)", "push %rbp (emulated)", "single-stepped". */
const char *uprobe_entry_cost(const unsigned char *insn, size_t len);

#endif /* TRACEDUMP_TRACE_LOADER_H */
