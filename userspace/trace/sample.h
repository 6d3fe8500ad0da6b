/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-thread CPU over a sample from the BPF tracer, for `top` and `threads --sample`. */
#ifndef TRACEDUMP_TRACE_SAMPLE_H
#define TRACEDUMP_TRACE_SAMPLE_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "trace/loader.h"

/* Deltas of @cur against @prev (both as from tracer__read_thread_cpu, any order) over
 * @interval_ns: a JSON array of thread_cpu_delta_to_json objects, busiest first.
 * @total_percent (may be NULL) gets the sum of cpu_percent. */
json_t *thread_cpu_deltas(const struct tracer_thread_cpu *prev, size_t nprev,
			  const struct tracer_thread_cpu *cur, size_t ncur, uint64_t interval_ns,
			  double *total_percent);

/*
 * Watches @pid for @sample_ns with the cputime program and adds to each thread object
 * of @threads (an array of thread JSON with "id") a "sample" object: interval_s,
 * on_cpu_s, runq_wait_s, cpu_percent, voluntary_switches, involuntary_switches.
 * Returns 0, or -errno with a message in @err (see tracer__open).
 */
int trace_sample_threads(pid_t pid, uint64_t sample_ns, json_t *threads, char *err,
			 size_t errlen);

/* Like trace_sample_threads but only the measurement: the deltas array (as
 * thread_cpu_deltas) is returned in @out. Threads get read with @pid's list after. */
int trace_sample_cpu(pid_t pid, uint64_t sample_ns, json_t **out, char *err, size_t errlen);

/* Sets "sample" in every thread object of @threads from @deltas (by tid); threads not
 * in @deltas did not run: zeros. */
void trace_merge_sample(json_t *threads, json_t *deltas, uint64_t sample_ns);

#endif /* TRACEDUMP_TRACE_SAMPLE_H */
