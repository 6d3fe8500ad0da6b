// SPDX-License-Identifier: GPL-2.0-only
#include <dlfcn.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "common/jsonutil.h"
#include "common/signals.h"
#include "trace/event_json.h"
#include "tracer.h"
#include "cputime.h"
#include "signals.h"
#include "latency.h"
#include "exceptions.h"

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

int demangle_type(const char *mangled, char *out, size_t size)
{
	static cxa_demangle_fn demangle;
	static bool tried;
	char *d;
	int status = -1;

	if (*mangled == '*')
		mangled++;
	if (!tried) {
		void *lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);

		tried = true;
		if (lib)
			demangle = (cxa_demangle_fn)dlsym(lib, "__cxa_demangle");
	}
	if (demangle && *mangled) {
		d = demangle(mangled, NULL, NULL, &status);
		if (d && status == 0) {
			snprintf(out, size, "%s", d);
			free(d);
			return 1;
		}
		free(d);
	}
	snprintf(out, size, "%s", mangled);
	return 0;
}

static json_t *comm_json(const char *comm, size_t size)
{
	return json_string_bytes(comm, strnlen(comm, size));
}

static json_t *header_json(const void *data, const char *type, const struct event_json_ctx *c)
{
	const struct tracer_header *h = data;

	return json_pack("{s:s, s:o, s:I, s:i}", "type", type, "time",
			 json_time_iso(h->ts_ns / 1e9 + c->mono_to_epoch), "mono_ns",
			 (json_int_t)h->ts_ns, "cpu", (int)h->cpu);
}

static json_t *stack_json(const __u64 *stack, int len, int max, pid_t pid,
			  const struct event_json_ctx *c)
{
	json_t *arr = json_array();

	if (len > max)
		len = max;
	for (int i = 0; i < len; i++) {
		json_t *f = c->frame ? c->frame(c->sym_ctx, pid, stack[i], i > 0) : NULL;

		if (!f)
			f = json_pack("{s:o}", "address", json_hex(stack[i]));
		json_array_append_new(arr, f);
	}
	return arr;
}

static json_t *signal_json(const struct signals_event *e, const struct event_json_ctx *c)
{
	static const char *const results[] = { "delivered", "ignored", "already_pending",
					       "overflow_fail", "lose_info" };
	static const char *const handlers[] = { "default", "ignore", "handler" };
	bool gen = e->type == TRACER_EV_SIGNAL;
	json_t *j = header_json(e, gen ? "signal" : "signal_deliver", c);
	const char *code = si_code_name(e->sig, e->code);
	char name[32];

	signal_name(e->sig, name, sizeof(name));
	json_object_set_new(j, "signal", json_string(name));
	json_object_set_new(j, "signo", json_integer(e->sig));
	json_object_set_new(j, "code", json_integer(e->code));
	json_set(j, "code_name", code ? json_string(code) : NULL);
	json_object_set_new(j, "pid", json_integer(e->target_pid));
	json_object_set_new(j, "tid", json_integer(e->target_tid));
	json_object_set_new(j, "comm", comm_json(e->target_comm, sizeof(e->target_comm)));
	if (gen) {
		json_object_set_new(j, "sender", json_pack("{s:i, s:i, s:o}", "pid",
							   (int)e->sender_pid, "tid",
							   (int)e->sender_tid, "comm",
							   comm_json(e->sender_comm,
								     sizeof(e->sender_comm))));
		json_object_set_new(j, "result",
				    json_string(e->result >= 0 && e->result < 5 ? results[e->result]
										 : "unknown"));
		json_object_set_new(j, "group", json_boolean(e->group));
		json_object_set_new(j, "blocked", json_boolean(e->blocked));
	} else {
		json_object_set_new(j, "handler",
				    json_string(e->handler < 3 ? handlers[e->handler] : "unknown"));
		json_object_set_new(j, "sa_flags", json_hex(e->sa_flags));
	}
	return j;
}

static json_t *exit_json(const struct signals_exit_event *e, const struct event_json_ctx *c)
{
	json_t *j = header_json(e, "exit", c);
	int status = e->exit_code, sig = status & 0x7f;
	char name[32];

	json_object_set_new(j, "pid", json_integer(e->pid));
	json_object_set_new(j, "tid", json_integer(e->tid));
	json_object_set_new(j, "comm", comm_json(e->comm, sizeof(e->comm)));
	json_object_set_new(j, "status", json_integer(status));
	if (sig) {
		signal_name(sig, name, sizeof(name));
		json_object_set_new(j, "exit_code", json_null());
		json_object_set_new(j, "signal", json_string(name));
	} else {
		json_object_set_new(j, "exit_code", json_integer((status >> 8) & 0xff));
		json_object_set_new(j, "signal", json_null());
	}
	json_object_set_new(j, "core_requested", json_boolean(sig && signal_dumps_core(sig)));
	json_object_set_new(j, "core_dumped", json_boolean(status & 0x80));
	json_object_set_new(j, "group_exit", json_boolean(e->group_exit));
	if (e->fatal_sig) {
		signal_name(e->fatal_sig, name, sizeof(name));
		json_object_set_new(j, "fatal_signal",
				    json_pack("{s:s, s:i, s:o}", "signal", name, "tid",
					      (int)e->fatal_tid, "comm",
					      comm_json(e->fatal_comm, sizeof(e->fatal_comm))));
	} else {
		json_object_set_new(j, "fatal_signal", json_null());
	}
	return j;
}

json_t *tracer_event_to_json(const void *data, size_t size, const struct event_json_ctx *c)
{
	const struct tracer_header *h = data;

	if (size < sizeof(*h))
		return NULL;
	switch (h->type) {
	case TRACER_EV_FORK: {
		const struct cputime_fork_event *e = data;
		json_t *j;

		if (size < sizeof(*e))
			return NULL;
		j = header_json(e, "fork", c);
		json_object_set_new(j, "pid", json_integer(e->parent_pid));
		json_object_set_new(j, "comm", comm_json(e->parent_comm, sizeof(e->parent_comm)));
		json_object_set_new(j, "child_pid", json_integer(e->child_pid));
		return j;
	}
	case TRACER_EV_SIGNAL:
	case TRACER_EV_DELIVER:
		if (size < sizeof(struct signals_event))
			return NULL;
		return signal_json(data, c);
	case TRACER_EV_EXIT:
		if (size < sizeof(struct signals_exit_event))
			return NULL;
		return exit_json(data, c);
	case TRACER_EV_LATENCY: {
		const struct latency_event *e = data;
		json_t *j;

		if (size < sizeof(*e))
			return NULL;
		j = header_json(e, "latency", c);
		json_set(j, "probe", c->probe ? json_string(c->probe) : NULL);
		json_object_set_new(j, "pid", json_integer(e->pid));
		json_object_set_new(j, "tid", json_integer(e->tid));
		json_object_set_new(j, "comm", comm_json(e->comm, sizeof(e->comm)));
		json_object_set_new(j, "duration_ns", json_integer(e->duration_ns));
		json_object_set_new(j, "duration_ms", json_real(e->duration_ns / 1e6));
		json_object_set_new(j, "start", json_time_iso(e->start_ns / 1e9 + c->mono_to_epoch));
		json_object_set_new(j, "stack", stack_json(e->stack, e->stack_len,
							   LATENCY_STACK_DEPTH, e->pid, c));
		if (e->stack_len < 0)
			json_object_set_new(j, "stack_error", json_integer(e->stack_len));
		return j;
	}
	case TRACER_EV_EXCEPTION: {
		const struct exceptions_event *e = data;
		char name[EXCEPTIONS_TYPE_LEN * 4], raw[EXCEPTIONS_TYPE_LEN + 1];
		json_t *j;

		if (size < sizeof(*e))
			return NULL;
		j = header_json(e, "exception", c);
		json_object_set_new(j, "pid", json_integer(e->pid));
		json_object_set_new(j, "tid", json_integer(e->tid));
		json_object_set_new(j, "comm", comm_json(e->comm, sizeof(e->comm)));
		if (e->type_len > 0) {
			memcpy(raw, e->type_name, sizeof(e->type_name));
			raw[EXCEPTIONS_TYPE_LEN] = '\0';
			demangle_type(raw, name, sizeof(name));
			json_object_set_new(j, "exception_type", json_string_cstr(name));
			json_object_set_new(j, "mangled_type",
					    json_string_bytes(raw, strlen(raw)));
		} else {
			json_object_set_new(j, "exception_type", json_null());
			json_object_set_new(j, "mangled_type", json_null());
		}
		{
			/* [__cxa_throw, the thrower (from [sp]), its caller, ...]: the walk
			 * from bp skips the thrower unless the kernel already added it. */
			__u64 stack[EXCEPTIONS_STACK_DEPTH + 1];
			int n = e->stack_len, k = 0;

			for (int i = 0; i < n && i < EXCEPTIONS_STACK_DEPTH; i++) {
				stack[k++] = e->stack[i];
				if (i == 0 && e->caller && (n < 2 || e->stack[1] != e->caller))
					stack[k++] = e->caller;
			}
			json_object_set_new(j, "stack", stack_json(stack, n < 0 ? n : k,
								   EXCEPTIONS_STACK_DEPTH + 1,
								   e->pid, c));
		}
		return j;
	}
	}
	return NULL;
}

json_t *thread_cpu_delta_to_json(const struct thread_cpu_delta *d)
{
	double interval = d->interval_ns / 1e9;

	return json_pack("{s:i, s:i, s:o, s:f, s:f, s:f, s:f, s:I, s:I, s:i}", "pid", (int)d->pid,
			 "tid", (int)d->tid, "name", comm_json(d->comm, sizeof(d->comm)),
			 "cpu_percent", interval > 0 ? 100.0 * d->oncpu_ns / d->interval_ns : 0.0,
			 "on_cpu_s", d->oncpu_ns / 1e9, "runq_wait_s", d->runq_ns / 1e9,
			 "interval_s", interval, "voluntary_switches", (json_int_t)d->voluntary,
			 "involuntary_switches", (json_int_t)d->involuntary, "last_cpu",
			 (int)d->last_cpu);
}
