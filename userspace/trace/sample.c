// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace/event_json.h"
#include "trace/sample.h"

static int cmp_tid(const void *a, const void *b)
{
	const struct tracer_thread_cpu *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_busy(const void *a, const void *b)
{
	double x = json_real_value(json_object_get(*(json_t *const *)a, "cpu_percent"));
	double y = json_real_value(json_object_get(*(json_t *const *)b, "cpu_percent"));

	return (x < y) - (x > y);
}

json_t *thread_cpu_deltas(const struct tracer_thread_cpu *prev, size_t nprev,
			  const struct tracer_thread_cpu *cur, size_t ncur, uint64_t interval_ns,
			  double *total_percent)
{
	struct tracer_thread_cpu *sorted = NULL;
	json_t **items = calloc(ncur ? ncur : 1, sizeof(*items));
	json_t *arr = json_array();
	double total = 0;

	if (nprev) {
		sorted = malloc(nprev * sizeof(*sorted));
		if (sorted) {
			memcpy(sorted, prev, nprev * sizeof(*sorted));
			qsort(sorted, nprev, sizeof(*sorted), cmp_tid);
		}
	}
	for (size_t i = 0; items && i < ncur; i++) {
		const struct tracer_thread_cpu *c = &cur[i], *p = NULL;
		struct thread_cpu_delta d = { .pid = c->tgid, .tid = c->tid,
					      .last_cpu = c->last_cpu, .interval_ns = interval_ns };

		if (sorted)
			p = bsearch(c, sorted, nprev, sizeof(*c), cmp_tid);
		memcpy(d.comm, c->comm, sizeof(d.comm));
		d.oncpu_ns = c->oncpu_ns - (p && p->oncpu_ns <= c->oncpu_ns ? p->oncpu_ns : 0);
		d.runq_ns = c->runq_ns - (p && p->runq_ns <= c->runq_ns ? p->runq_ns : 0);
		d.voluntary = c->voluntary - (p && p->voluntary <= c->voluntary ? p->voluntary : 0);
		d.involuntary = c->involuntary -
				(p && p->involuntary <= c->involuntary ? p->involuntary : 0);
		/* A thread first seen during the sample: all it did was in the sample. */
		items[i] = thread_cpu_delta_to_json(&d);
		total += json_real_value(json_object_get(items[i], "cpu_percent"));
	}
	if (items) {
		qsort(items, ncur, sizeof(*items), cmp_busy);
		for (size_t i = 0; i < ncur; i++)
			json_array_append_new(arr, items[i]);
	}
	free(items);
	free(sorted);
	if (total_percent)
		*total_percent = total;
	return arr;
}

int trace_sample_cpu(pid_t pid, uint64_t sample_ns, json_t **out, char *err, size_t errlen)
{
	struct tracer_opts opts = { .classes = TRACER_CPU };
	struct tracer_thread_cpu *before = NULL, *after = NULL;
	size_t nbefore = 0, nafter = 0;
	struct tracer *t = NULL;
	struct timespec ts;
	uint64_t start;
	int ret;

	*out = NULL;
	ret = tracer__open(&opts, &t, err, errlen);
	if (ret)
		return ret;
	ret = tracer__add_pid(t, pid, err, errlen);
	if (ret)
		goto cleanup;
	start = tracer_now_ns();
	ret = tracer__read_thread_cpu(t, pid, &before, &nbefore);
	if (ret)
		goto cleanup;
	ts.tv_sec = sample_ns / 1000000000ULL;
	ts.tv_nsec = sample_ns % 1000000000ULL;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	ret = tracer__read_thread_cpu(t, pid, &after, &nafter);
	if (ret)
		goto cleanup;
	*out = thread_cpu_deltas(before, nbefore, after, nafter, tracer_now_ns() - start, NULL);
cleanup:
	free(before);
	free(after);
	tracer__destroy(t);
	return ret;
}

void trace_merge_sample(json_t *threads, json_t *deltas, uint64_t sample_ns)
{
	size_t i, k;
	json_t *th, *d;

	json_array_foreach(threads, i, th) {
		json_int_t id = json_integer_value(json_object_get(th, "id"));
		json_t *found = NULL;

		json_array_foreach(deltas, k, d)
			if (json_integer_value(json_object_get(d, "tid")) == id)
				found = d;
		if (found) {
			json_object_set_new(th, "sample", json_pack(
				"{s:O, s:O, s:O, s:O, s:O, s:O}",
				"interval_s", json_object_get(found, "interval_s"),
				"on_cpu_s", json_object_get(found, "on_cpu_s"),
				"runq_wait_s", json_object_get(found, "runq_wait_s"),
				"cpu_percent", json_object_get(found, "cpu_percent"),
				"voluntary_switches", json_object_get(found, "voluntary_switches"),
				"involuntary_switches", json_object_get(found, "involuntary_switches")));
		} else {
			json_object_set_new(th, "sample", json_pack(
				"{s:f, s:f, s:f, s:f, s:i, s:i}", "interval_s", sample_ns / 1e9,
				"on_cpu_s", 0.0, "runq_wait_s", 0.0, "cpu_percent", 0.0,
				"voluntary_switches", 0, "involuntary_switches", 0));
		}
	}
}

int trace_sample_threads(pid_t pid, uint64_t sample_ns, json_t *threads, char *err,
			 size_t errlen)
{
	json_t *deltas;
	int ret = trace_sample_cpu(pid, sample_ns, &deltas, err, errlen);

	if (ret)
		return ret;
	trace_merge_sample(threads, deltas, sample_ns);
	json_decref(deltas);
	return 0;
}
