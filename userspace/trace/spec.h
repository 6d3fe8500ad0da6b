/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pure helpers of the tracer (no I/O, unit-tested in tests/unit/test_trace_spec.c):
 * the --latency probe spec, the --events list, the log2 histogram.
 */
#ifndef TRACEDUMP_TRACE_SPEC_H
#define TRACEDUMP_TRACE_SPEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

/* Event classes, as named by --events. */
enum tracer_class {
	TRACER_CPU = 1 << 0,
	TRACER_SIGNAL = 1 << 1,
	TRACER_EXIT = 1 << 2,
	TRACER_LATENCY = 1 << 3,
	TRACER_EXCEPTION = 1 << 4,
	TRACER_CLASS_ALL = (1 << 5) - 1,
};

extern const char *const tracer_class_names[5]; /* "cpu", "signal", ... by bit */

/* "cpu,signal,exit": a mask of enum tracer_class; -EINVAL on an unknown name (its
 * start goes to @bad, when not NULL). */
int tracer_classes_parse(const char *s, unsigned *mask, const char **bad);

enum latency_kind {
	LATENCY_SYMBOL, /* BINARY:SYMBOL: uprobe at entry, uretprobe at return */
	LATENCY_OFFSET, /* BINARY:0xOFFSET: the same at a file offset */
	LATENCY_USDT,	/* BINARY:PROVIDER:START:END, or BINARY:PROVIDER:NAME for the pair
			 * NAME_start / NAME_end: the request runs from one to the other */
};

struct latency_spec {
	enum latency_kind kind;
	char binary[PATH_MAX];
	char symbol[256];
	uint64_t offset;
	char provider[128];
	char start[128];
	char end[128];
};

/* Parses @s into @out; -EINVAL with a reason in @err when malformed. */
int latency_spec_parse(const char *s, struct latency_spec *out, char *err, size_t errlen);

/* Slot of a duration in the log2 histogram: floor(log2(ns)), slot 0 holds 0 and 1. */
unsigned latency_hist_slot(uint64_t ns);

/* The histogram as JSON: [{"from_ns": a, "to_ns": b, "count": n}, ...] for the
 * non-empty slots only; slot s holds [2^s, 2^(s+1)) ns (slot 0: [0, 2)). */
json_t *latency_hist_to_json(const uint64_t *slots, unsigned nslots);

/* Human form of a slot's lower bound: "0ns", "512ns", "1.0us", "262.1ms", "4.3s". */
void latency_format_ns(uint64_t ns, char *buf, size_t size);

/* One text line per non-empty slot with a bar of '*' up to @width, into @f. */
void latency_hist_print(FILE *f, const uint64_t *slots, unsigned nslots, unsigned width);

#endif /* TRACEDUMP_TRACE_SPEC_H */
