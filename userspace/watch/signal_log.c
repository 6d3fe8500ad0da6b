// SPDX-License-Identifier: GPL-2.0-only
/* A bounded log of a process's signals for watch's flight recorder; see signal_log.h. */
#include <stdlib.h>
#include <string.h>

#include "trace/event_json.h"
#include "watch/signal_log.h"

void signal_log__add(struct signal_log *l, const struct signals_event *e)
{
	if (l->count == SIGNAL_LOG_MAX)
		l->dropped++;
	else
		l->count++;
	l->ev[l->head] = *e;
	l->head = (l->head + 1) % SIGNAL_LOG_MAX;
}

void signal_log__append_json(const struct signal_log *l, const struct event_json_ctx *c,
			     json_t *arr)
{
	for (size_t i = 0; i < l->count; i++) {
		const struct signals_event *e =
			&l->ev[(l->head + SIGNAL_LOG_MAX - l->count + i) % SIGNAL_LOG_MAX];
		json_t *j = tracer_event_to_json(e, sizeof(*e), c);

		if (j)
			json_array_append_new(arr, j);
	}
}

struct keyed {
	json_t *ev;
	uint64_t ns;
	size_t order;
};

static int by_time(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void flight_sort(json_t *arr)
{
	size_t n = json_array_size(arr);
	struct keyed *k = n ? calloc(n, sizeof(*k)) : NULL;

	if (!k)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *ns = json_object_get(json_array_get(arr, i), "mono_ns");

		k[i].ev = json_incref(json_array_get(arr, i));
		k[i].ns = json_is_integer(ns) ? (uint64_t)json_integer_value(ns) : UINT64_MAX;
		k[i].order = i;
	}
	qsort(k, n, sizeof(*k), by_time);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, k[i].ev);
	free(k);
}
