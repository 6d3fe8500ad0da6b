/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The signals of one watched process for its flight recorder: the tracer's raw
 * signal_generate (sender, code, result) and signal_deliver (handler) events, the last
 * SIGNAL_LOG_MAX kept, oldest dropped. Kept raw and turned into JSON only for a dump,
 * so a signal storm costs a copy per signal, not a JSON object.
 */
#ifndef TRACEDUMP_WATCH_SIGNAL_LOG_H
#define TRACEDUMP_WATCH_SIGNAL_LOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "../../bpf/signals.h"

struct event_json_ctx;

#define SIGNAL_LOG_MAX 64

struct signal_log {
	struct signals_event ev[SIGNAL_LOG_MAX];
	size_t head, count;
	uint64_t dropped; /* older events pushed out */
};

void signal_log__add(struct signal_log *l, const struct signals_event *e);

/* Appends the kept events (oldest first) to @arr as the tracer's JSON objects. */
void signal_log__append_json(const struct signal_log *l, const struct event_json_ctx *c,
			     json_t *arr);

/* Sorts a flight recorder array by each event's mono_ns (stable; none last). */
void flight_sort(json_t *arr);

#endif /* TRACEDUMP_WATCH_SIGNAL_LOG_H */
