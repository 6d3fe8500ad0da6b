// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump trace`: the BPF tracer's events as NDJSON (a text line each on a tty). */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

#include "common/command.h"
#include "common/jsonutil.h"
#include "common/output.h"
#include "common/parse.h"
#include "common/procfs.h"
#include "trace/event_json.h"
#include "trace/loader.h"
#include "trace/spec.h"
#include "trace/symbolize.h"
#include "tracer.h"
#include "latency.h"
#include "signals.h"

#define MAX_PIDS 256
#define MAX_STUCK 1024

struct trace_args {
	pid_t pids[MAX_PIDS];
	size_t npids;
	bool all, follow;
	unsigned classes;
	bool classes_given;
	const char *latency_arg;
	struct latency_spec latency;
	uint64_t threshold_ns, duration_ns, interval_ns, stats_interval_ns;
};

enum {
	OPT_ALL = 'a',
	OPT_EVENTS = 'e',
	OPT_LATENCY = 'l',
	OPT_THRESHOLD = 't',
	OPT_DURATION = 'd',
	OPT_INTERVAL = 'i',
	OPT_FOLLOW = 'f',
	OPT_STATS = 0x100,
};

static const struct argp_option trace_options[] = {
	{ "all", OPT_ALL, NULL, 0, "Trace every process instead of PIDs" },
	{ "events", OPT_EVENTS, "LIST", 0,
	  "Event classes, comma-separated: cpu,signal,exit,latency,exception (default: "
	  "cpu,signal,exit, plus latency with --latency)" },
	{ "latency", OPT_LATENCY, "PROBE",
	  0, "Request latency probe: BINARY:SYMBOL, BINARY:0xOFFSET, or USDT "
	     "BINARY:PROVIDER:START:END (BINARY:PROVIDER:NAME means NAME_start/NAME_end)" },
	{ "threshold", OPT_THRESHOLD, "DURATION", 0,
	  "Report requests at least this long, and requests stuck this long (default 200ms)" },
	{ "duration", OPT_DURATION, "DURATION", 0, "Stop after this long (default: until "
						    "SIGINT/SIGTERM or every PID exited)" },
	{ "interval", OPT_INTERVAL, "DURATION", 0, "Per-thread cpu events every DURATION "
						    "(default 1s)" },
	{ "stats-interval", OPT_STATS, "DURATION", 0, "A stats event every DURATION (default 5s)" },
	{ "follow", OPT_FOLLOW, NULL, 0, "Also trace the processes the PIDs fork (every class, "
					  "latency and exceptions too)" },
	{}
};

static const char trace_doc[] =
	"Trace processes PID... (or --all) with BPF: per-thread CPU, signals, exits, slow "
	"and stuck requests, C++ exceptions. NDJSON on stdout, one event a line, flushed; "
	"SIGINT or SIGTERM ends it with a summary event (counts, drops, latency histogram). "
	"docs/trace.md lists every field.\v"
	"Examples:\n"
	"  tracedump trace 1234 --duration 10s | jq -c 'select(.type == \"cpu\")'\n"
	"  tracedump trace 1234 --events signal,exit | jq 'select(.type == \"exit\")'\n"
	"  tracedump trace 1234 --latency /usr/sbin/server:handle_request --threshold 50ms\n"
	"  tracedump trace 1234 --latency server:handle_request | jq 'select(.type == "
	"\"stuck\")'\n"
	"  tracedump trace 1234 --events exception | jq -r .exception_type\n"
	"  tracedump trace --all --events exit | jq 'select(.signal == \"SIGSEGV\")'\n"
	"Cost: a uprobe's cost depends on the probed function's first instruction: a nop5 "
	"(5-byte nop, from -fpatchable-function-entry=5) is optimised into a call (~0.6 us "
	"on 6.18), 'push %rbp' is emulated (~0.9 us), anything else is single-stepped "
	"(~4.3 us); a uprobe + uretprobe pair costs about 1.4 / 1.7 / 5.2 us per call, and "
	"the latency probe's programs add ~0.1-0.13 us to that (two clock reads). The "
	"start event's probe_entry says which first instruction your function has. On "
	"Linux 6.6+ with BTF the probes are uprobe_multi links, ~0.08 us per call "
	"cheaper than perf-event uprobes (probe_attach says which). With --follow the uprobes are "
	"attached for every process mapping the file and filtered in BPF. Signal events are batched "
	"(the reader polls every 100 ms) except fatal ones and exits.\n"
	"Needs root (CAP_BPF, CAP_PERFMON) and kernel BTF for cpu, signal and exit; "
	"'tracedump doctor' says what this host allows.\n"
	"Exit status: 0 ok, 2 bad option, 3 no such process, function or probe, 4 not "
	"root, 5 this kernel lacks what the events need, 1 other failure.";

static error_t trace_parse(int key, char *arg, struct argp_state *state)
{
	struct trace_args *a = state->input;
	char err[256];
	const char *bad;

	switch (key) {
	case OPT_ALL:
		a->all = true;
		break;
	case OPT_FOLLOW:
		a->follow = true;
		break;
	case OPT_EVENTS:
		if (tracer_classes_parse(arg, &a->classes, &bad))
			argp_error(state, "unknown event class in '%s' at '%s': expected "
				   "cpu, signal, exit, latency, exception", arg, bad ? bad : "");
		a->classes_given = true;
		break;
	case OPT_LATENCY:
		if (latency_spec_parse(arg, &a->latency, err, sizeof(err)))
			argp_error(state, "invalid --latency '%s': %s", arg, err);
		a->latency_arg = arg;
		break;
	case OPT_THRESHOLD:
	case OPT_DURATION:
	case OPT_INTERVAL:
	case OPT_STATS: {
		uint64_t ns;

		if (parse_duration_ns(arg, &ns) || ((key == OPT_INTERVAL || key == OPT_STATS) && !ns))
			argp_error(state, "invalid duration '%s': expected e.g. 250ms, 10s, 1.5s", arg);
		if (key == OPT_THRESHOLD)
			a->threshold_ns = ns;
		else if (key == OPT_DURATION)
			a->duration_ns = ns;
		else if (key == OPT_INTERVAL)
			a->interval_ns = ns;
		else
			a->stats_interval_ns = ns;
		break;
	}
	case ARGP_KEY_ARG:
		if (a->npids == MAX_PIDS)
			argp_error(state, "too many PIDs (at most %d)", MAX_PIDS);
		if (parse_pid(arg, &a->pids[a->npids], 1))
			argp_error(state, "invalid PID '%s': expected a positive decimal", arg);
		a->npids++;
		break;
	case ARGP_KEY_END:
		if (!a->all && !a->npids)
			argp_error(state, "missing PID (or --all)");
		if (a->all && a->npids)
			argp_error(state, "give PIDs or --all, not both");
		if (!a->classes_given)
			a->classes = TRACER_CPU | TRACER_SIGNAL | TRACER_EXIT |
				     (a->latency_arg ? TRACER_LATENCY : 0);
		if ((a->classes & TRACER_LATENCY) && !a->latency_arg)
			argp_error(state, "latency events need --latency BINARY:SYMBOL");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

struct stuck {
	pid_t tid;
	uint64_t start_ns;
};

struct trace_state {
	struct trace_args *args;
	struct tracer *t;
	struct event_json_ctx jctx;
	uint64_t counts[TRACER_EV_MAX + 2]; /* + stuck, cpu */
	struct stuck stuck[MAX_STUCK], stuck_next[MAX_STUCK];
	size_t nstuck, nstuck_next;
	struct tracer_thread_cpu *prev;
	size_t nprev;
	bool pid_exited[MAX_PIDS];
	int out_err;
};

#define COUNT_STUCK TRACER_EV_MAX
#define COUNT_CPU (TRACER_EV_MAX + 1)

static const char *const count_names[TRACER_EV_MAX + 2] = {
	[TRACER_EV_FORK] = "fork",	 [TRACER_EV_SIGNAL] = "signal",
	[TRACER_EV_DELIVER] = "signal_deliver", [TRACER_EV_EXIT] = "exit",
	[TRACER_EV_LATENCY] = "latency", [TRACER_EV_EXCEPTION] = "exception",
	[COUNT_STUCK] = "stuck",	 [COUNT_CPU] = "cpu",
};

/* A text line on a tty: time, type, then the scalar fields; the stack below. */
static void print_text(json_t *j)
{
	const char *time = json_string_value(json_object_get(j, "time"));
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *key;
	json_t *v, *stack;
	size_t i;

	printf("%s %-10s", time ? time + 11 : "", type ? type : "?");
	json_object_foreach(j, key, v) {
		if (!strcmp(key, "time") || !strcmp(key, "type") || !strcmp(key, "mono_ns") ||
		    json_is_array(v) || json_is_null(v))
			continue;
		if (json_is_object(v)) {
			char *s = json_dumps(v, JSON_COMPACT);

			printf(" %s=%s", key, s ? s : "?");
			free(s);
		} else if (json_is_string(v)) {
			printf(" %s=%s", key, json_string_value(v));
		} else if (json_is_real(v)) {
			printf(" %s=%.3f", key, json_real_value(v));
		} else if (json_is_integer(v)) {
			printf(" %s=%lld", key, json_integer_value(v));
		} else {
			printf(" %s=%s", key, json_is_true(v) ? "true" : "false");
		}
	}
	putchar('\n');
	stack = json_object_get(j, "stack");
	json_array_foreach(stack, i, v) {
		const char *sym = json_string_value(json_object_get(v, "symbol"));
		const char *mod = json_string_value(json_object_get(v, "module"));

		printf("    #%-2zu %s %s+%lld (%s)\n", i,
		       json_string_value(json_object_get(v, "address")), sym ? sym : "?",
		       json_integer_value(json_object_get(v, "offset")), mod ? mod : "?");
	}
	fflush(stdout);
}

static void emit(struct trace_state *s, json_t *j)
{
	if (!j)
		return;
	if (output.json) {
		if (output_json(j))
			s->out_err = 1;
		return;
	}
	print_text(j);
	json_decref(j);
}

static int on_event(void *ctx, const void *data, size_t size)
{
	struct trace_state *s = ctx;
	const struct tracer_header *h = data;
	json_t *j;

	if (size < sizeof(*h) || h->type >= TRACER_EV_MAX)
		return 0;
	s->counts[h->type]++;
	if (h->type == TRACER_EV_EXIT && size >= sizeof(struct signals_exit_event)) {
		const struct signals_exit_event *e = data;

		for (size_t i = 0; i < s->args->npids; i++)
			if ((__u32)s->args->pids[i] == e->pid)
				s->pid_exited[i] = true;
	}
	j = tracer_event_to_json(data, size, &s->jctx);
	emit(s, j);
	return 0;
}

static json_t *header(struct trace_state *s, const char *type, uint64_t mono_ns)
{
	return json_pack("{s:s, s:o, s:I}", "type", type, "time",
			 json_time_iso(mono_ns / 1e9 + s->jctx.mono_to_epoch), "mono_ns",
			 (json_int_t)mono_ns);
}

static void on_inflight(void *ctx, pid_t tgid, pid_t tid, uint64_t start_ns, uint64_t running_ns)
{
	struct trace_state *s = ctx;
	struct proc_stat st;
	bool seen = false;
	json_t *j;

	for (size_t i = 0; i < s->nstuck; i++)
		if (s->stuck[i].tid == tid && s->stuck[i].start_ns == start_ns)
			seen = true;
	if (s->nstuck_next < MAX_STUCK)
		s->stuck_next[s->nstuck_next++] = (struct stuck){ tid, start_ns };
	if (seen)
		return;
	s->counts[COUNT_STUCK]++;
	j = header(s, "stuck", start_ns + running_ns);
	json_set(j, "probe", json_string(s->args->latency_arg));
	json_object_set_new(j, "pid", json_integer(tgid));
	json_object_set_new(j, "tid", json_integer(tid));
	if (procfs_read_stat(tgid, tid, &st) == 0) {
		json_object_set_new(j, "comm", json_string_bytes(st.comm, strlen(st.comm)));
		json_object_set_new(j, "state", json_sprintf("%c", st.state));
	}
	json_object_set_new(j, "running_ns", json_integer(running_ns));
	json_object_set_new(j, "running_ms", json_real(running_ns / 1e6));
	json_object_set_new(j, "start", json_time_iso(start_ns / 1e9 + s->jctx.mono_to_epoch));
	emit(s, j);
}

static void scan_stuck(struct trace_state *s)
{
	s->nstuck_next = 0;
	tracer__scan_inflight(s->t, s->args->threshold_ns, on_inflight, s);
	memcpy(s->stuck, s->stuck_next, s->nstuck_next * sizeof(s->stuck[0]));
	s->nstuck = s->nstuck_next;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct tracer_thread_cpu *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* One "cpu" event per thread that ran or switched since the last call. */
static void emit_cpu(struct trace_state *s, uint64_t interval_ns, bool baseline)
{
	struct tracer_thread_cpu *cur;
	uint64_t now = tracer_now_ns();
	size_t n;

	if (tracer__read_thread_cpu(s->t, 0, &cur, &n))
		return;
	qsort(cur, n, sizeof(*cur), cmp_tid);
	for (size_t i = 0; i < n; i++) {
		const struct tracer_thread_cpu *c = &cur[i], *p;
		struct thread_cpu_delta d = { .pid = c->tgid, .tid = c->tid,
					      .last_cpu = c->last_cpu, .interval_ns = interval_ns };
		json_t *j, *body;

		p = bsearch(c, s->prev, s->nprev, sizeof(*c), cmp_tid);
		memcpy(d.comm, c->comm, sizeof(d.comm));
		d.oncpu_ns = c->oncpu_ns - (p && p->oncpu_ns <= c->oncpu_ns ? p->oncpu_ns : 0);
		d.runq_ns = c->runq_ns - (p && p->runq_ns <= c->runq_ns ? p->runq_ns : 0);
		d.voluntary = c->voluntary - (p ? p->voluntary : 0);
		d.involuntary = c->involuntary - (p ? p->involuntary : 0);
		if (baseline || (!d.oncpu_ns && !d.voluntary && !d.involuntary))
			continue;
		s->counts[COUNT_CPU]++;
		j = header(s, "cpu", now);
		body = thread_cpu_delta_to_json(&d);
		json_object_update(j, body);
		json_decref(body);
		json_object_set_new(j, "total_on_cpu_s", json_real(c->oncpu_ns / 1e9));
		json_object_set_new(j, "total_runq_wait_s", json_real(c->runq_ns / 1e9));
		emit(s, j);
	}
	free(s->prev);
	s->prev = cur;
	s->nprev = n;
}

static json_t *stats_json(struct trace_state *s)
{
	struct tracer_stats st;

	tracer__read_stats(s->t, &st);
	return json_pack("{s:I, s:I, s:I, s:I}", "submitted", (json_int_t)st.slot[TRACER_STAT_EVENTS],
			 "drops", (json_int_t)st.slot[TRACER_STAT_DROPS], "map_full",
			 (json_int_t)st.slot[TRACER_STAT_MAP_FULL], "missed_returns",
			 (json_int_t)st.slot[TRACER_STAT_MISSED]);
}

static json_t *counts_json(struct trace_state *s)
{
	json_t *o = json_object();

	for (int i = 0; i < TRACER_EV_MAX + 2; i++)
		if (count_names[i])
			json_object_set_new(o, count_names[i], json_integer(s->counts[i]));
	return o;
}

static void emit_stats(struct trace_state *s)
{
	json_t *j = header(s, "stats", tracer_now_ns());

	json_object_update_new(j, stats_json(s));
	json_object_set_new(j, "events", counts_json(s));
	emit(s, j);
}

static void emit_summary(struct trace_state *s, uint64_t start_ns)
{
	uint64_t now = tracer_now_ns();
	json_t *j = header(s, "summary", now), *classes = json_array();

	for (int i = 0; i < 5; i++)
		if (tracer__classes(s->t) & (1u << i))
			json_array_append_new(classes, json_string(tracer_class_names[i]));
	json_object_set_new(j, "duration_s", json_real((now - start_ns) / 1e9));
	json_object_set_new(j, "classes", classes);
	json_object_set_new(j, "events", counts_json(s));
	json_object_set_new(j, "stats", stats_json(s));
	if (stop_signal) {
		char name[32];

		signal_name(stop_signal, name, sizeof(name));
		json_object_set_new(j, "stopped_by", json_string(name));
	}
	if (tracer__classes(s->t) & TRACER_LATENCY) {
		uint64_t slots[LATENCY_HIST_SLOTS], total = 0;

		tracer__read_histogram(s->t, slots, LATENCY_HIST_SLOTS);
		for (int i = 0; i < LATENCY_HIST_SLOTS; i++)
			total += slots[i];
		json_object_set_new(j, "latency",
				    json_pack("{s:s, s:I, s:I, s:o}", "probe", s->args->latency_arg,
					      "threshold_ns", (json_int_t)s->args->threshold_ns,
					      "requests", (json_int_t)total, "histogram",
					      latency_hist_to_json(slots, LATENCY_HIST_SLOTS)));
		if (!output.json) {
			emit(s, j);
			latency_hist_print(stdout, slots, LATENCY_HIST_SLOTS, 40);
			fflush(stdout);
			return;
		}
	}
	emit(s, j);
}

static bool all_exited(struct trace_state *s)
{
	if (s->args->all || s->args->follow)
		return false;
	for (size_t i = 0; i < s->args->npids; i++)
		if (!s->pid_exited[i] && !(kill(s->args->pids[i], 0) && errno == ESRCH))
			return false;
	return true;
}

static int do_trace(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	static const struct argp argp = { trace_options, trace_parse, "[PID...]", trace_doc,
					  children };
	static struct trace_args args;
	static struct trace_state s;
	struct tracer_opts opts = {};
	struct symbolizer *sym = NULL;
	struct tracer *t = NULL;
	/* SA_RESTART: a write blocked on a full pipe must not fail; epoll_wait still
	 * returns EINTR, which ends the loop. */
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	uint64_t start, next_cpu, next_stats;
	char err[1024] = "";
	int ret, code = TD_EXIT_OK;

	memset(&args, 0, sizeof(args));
	args.threshold_ns = 200000000ULL;
	args.interval_ns = 1000000000ULL;
	args.stats_interval_ns = 5000000000ULL;
	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;

	opts.classes = args.classes;
	opts.all = args.all;
	opts.follow = args.follow;
	opts.latency = args.latency_arg ? &args.latency : NULL;
	opts.threshold_ns = args.threshold_ns;
	/* Signals that usually end a process wake the reader at once. */
	opts.wake_signals = (1ULL << SIGSEGV) | (1ULL << SIGBUS) | (1ULL << SIGILL) |
			    (1ULL << SIGFPE) | (1ULL << SIGABRT) | (1ULL << SIGKILL) |
			    (1ULL << SIGTERM) | (1ULL << SIGQUIT) | (1ULL << SIGSYS);

	for (size_t i = 0; i < args.npids; i++)
		if (kill(args.pids[i], 0) && errno == ESRCH)
			return output_error(TD_EXIT_NOT_FOUND, "no process %d", args.pids[i]);

	ret = tracer__open(&opts, &t, err, sizeof(err));
	if (ret)
		return output_error(ret == -EPERM ? TD_EXIT_PERMISSION :
				    ret == -EOPNOTSUPP ? TD_EXIT_UNSUPPORTED :
				    exit_code_from_errno(ret), "%s", err);
	{
		char *w = strdup(tracer__warnings(t)), *line, *save = NULL;

		for (line = w ? strtok_r(w, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save))
			output_warn("not traced: %s", line);
		free(w);
	}
	for (size_t i = 0; i < args.npids; i++) {
		ret = tracer__add_pid(t, args.pids[i], err, sizeof(err));
		if (ret) {
			code = output_error(ret == -ESRCH || ret == -ENOENT ? TD_EXIT_NOT_FOUND :
					    exit_code_from_errno(ret), "%s", err);
			goto cleanup;
		}
	}

	memset(&s, 0, sizeof(s));
	s.args = &args;
	s.t = t;
	sym = symbolizer__new();
	s.jctx.mono_to_epoch = tracer__mono_to_epoch(t);
	s.jctx.probe = args.latency_arg;
	s.jctx.frame = symbolizer__frame;
	s.jctx.sym_ctx = sym;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	start = tracer_now_ns();
	{
		/* Everything is attached: say so, so a reader knows events are flowing */
		json_t *j = header(&s, "start", start), *pids = json_array(), *cl = json_array();

		for (size_t i = 0; i < args.npids; i++)
			json_array_append_new(pids, json_integer(args.pids[i]));
		for (int i = 0; i < 5; i++)
			if (tracer__classes(t) & (1u << i))
				json_array_append_new(cl, json_string(tracer_class_names[i]));
		json_object_set_new(j, "pids", pids);
		json_object_set_new(j, "all", json_boolean(args.all));
		json_object_set_new(j, "follow", json_boolean(args.follow));
		json_object_set_new(j, "classes", cl);
		if (tracer__classes(t) & TRACER_LATENCY) {
			json_object_set_new(j, "probe", json_string(args.latency_arg));
			json_object_set_new(j, "threshold_ns", json_integer(args.threshold_ns));
			json_set(j, "probe_entry", tracer__latency_entry_cost(t) ?
				 json_string(tracer__latency_entry_cost(t)) : NULL);
			json_set(j, "probe_attach", json_string(tracer__latency_attach(t)));
		}
		emit(&s, j);
	}
	next_cpu = start + args.interval_ns;
	next_stats = start + args.stats_interval_ns;
	if (tracer__classes(t) & TRACER_CPU)
		emit_cpu(&s, 0, true); /* the baseline: threads seen running at the start */
	while (!stop_signal && !s.out_err) {
		uint64_t now;

		ret = tracer__poll(t, 100, on_event, &s);
		if (ret < 0) {
			code = output_error(TD_EXIT_FAILURE, "reading the ring buffers failed: %s",
					    strerror(-ret));
			break;
		}
		now = tracer_now_ns();
		if (tracer__classes(t) & TRACER_LATENCY)
			scan_stuck(&s);
		if ((tracer__classes(t) & TRACER_CPU) && now >= next_cpu) {
			emit_cpu(&s, now - (next_cpu - args.interval_ns), false);
			next_cpu = now + args.interval_ns;
			if (args.all)
				tracer__forget_dead_threads(t);
		}
		if (now >= next_stats) {
			emit_stats(&s);
			next_stats = now + args.stats_interval_ns;
		}
		if (args.duration_ns && now - start >= args.duration_ns)
			break;
		if (all_exited(&s)) {
			tracer__poll(t, 0, on_event, &s);
			break;
		}
	}
	/* What is still in the rings, then the summary */
	tracer__poll(t, 0, on_event, &s);
	if (!s.out_err) {
		if ((tracer__classes(t) & TRACER_CPU) && !all_exited(&s))
			emit_cpu(&s, tracer_now_ns() - (next_cpu - args.interval_ns), false);
		emit_summary(&s, start);
	}
	if (s.out_err && code == TD_EXIT_OK)
		code = TD_EXIT_FAILURE;
cleanup:
	free(s.prev);
	s.prev = NULL;
	symbolizer__free(sym);
	tracer__destroy(t);
	return code;
}

TD_COMMAND(trace, 30, "Trace processes with BPF: CPU, signals, exits, latency, exceptions",
	   do_trace);
