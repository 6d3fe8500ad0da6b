/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Raw tracer events (the structs of bpf/<name>.h) to JSON objects, as documented in
 * docs/trace.md. No I/O here except through the optional frame callback, so unit tests
 * feed it hand-made events (tests/unit/test_trace_event.c).
 */
#ifndef TRACEDUMP_TRACE_EVENT_JSON_H
#define TRACEDUMP_TRACE_EVENT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "common/signals.h"

struct event_json_ctx {
	/* Seconds to add to a CLOCK_MONOTONIC time for the epoch time ("time"). */
	double mono_to_epoch;
	/* The latency probe as the user named it ("probe" of latency events). */
	const char *probe;
	/* One stack frame as JSON ({"address", "symbol", "offset", "module"}); a return
	 * address is looked up at addr - 1 (a call may be the last instruction); NULL ->
	 * {"address"} only. */
	json_t *(*frame)(void *sym_ctx, pid_t pid, uint64_t addr, bool return_address);
	void *sym_ctx;
};

/* NULL when @size is too small for the event's type or the type is unknown. */
json_t *tracer_event_to_json(const void *data, size_t size, const struct event_json_ctx *c);

/* Demangles a C++ type name as std::type_info holds it ("St13runtime_error" ->
 * "std::runtime_error"; a leading '*' is dropped). __cxa_demangle comes from
 * libstdc++.so.6, loaded with dlopen when first needed, so tracedump does not link
 * libstdc++; without it (or for a name it rejects) the mangled name is copied.
 * Returns 1 when demangled, 0 when copied. */
int demangle_type(const char *mangled, char *out, size_t size);

/* A thread CPU sample as JSON: used by trace's "cpu" events, top and threads --sample. */
struct thread_cpu_delta {
	pid_t pid, tid;
	char comm[16];
	uint64_t oncpu_ns, runq_ns, voluntary, involuntary;
	uint32_t last_cpu;
	uint64_t interval_ns;
};
json_t *thread_cpu_delta_to_json(const struct thread_cpu_delta *d);

#endif /* TRACEDUMP_TRACE_EVENT_JSON_H */
