// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump top PID`: per-thread CPU% from the BPF scheduler counters, refreshed. */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/command.h"
#include "common/jsonutil.h"
#include "common/output.h"
#include "common/parse.h"
#include "common/procfs.h"
#include "inspect/thread.h"
#include "trace/loader.h"
#include "trace/sample.h"

struct top_args {
	const char *pid_arg;
	pid_t pid;
	uint64_t interval_ns, duration_ns;
	unsigned long count;
};

static const struct argp_option top_options[] = {
	{ "interval", 'i', "DURATION", 0, "Refresh every DURATION (default 1s)" },
	{ "count", 'n', "N", 0, "Stop after N refreshes" },
	{ "duration", 'd', "DURATION", 0, "Stop after DURATION" },
	{}
};

static const char top_doc[] =
	"Per-thread CPU% of process PID from the kernel's scheduler events (BPF), not "
	"/proc sampling: short bursts between refreshes count, and run-queue wait (time "
	"runnable but not running) is shown. A table refreshed on a terminal; one JSON "
	"object per refresh (NDJSON) when piped. Ends on SIGINT/SIGTERM, after --count or "
	"--duration, or when the process exits.\v"
	"Examples:\n"
	"  tracedump top 1234\n"
	"  tracedump top 1234 --interval 500ms --count 4 | jq -c '.threads[:3]'\n"
	"  tracedump top 1234 --count 1 | jq '.threads[] | select(.cpu_percent > 50) | .name'\n"
	"Exit status: 0 ok, 2 bad option, 3 no such process, 4 not root, 5 this kernel "
	"cannot trace the scheduler (no BTF or tp_btf), 1 other failure.";

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	struct top_args *a = state->input;

	switch (key) {
	case 'i':
	case 'd': {
		uint64_t ns;

		if (parse_duration_ns(arg, &ns) || !ns)
			argp_error(state, "invalid duration '%s': expected e.g. 500ms, 1s", arg);
		if (key == 'i')
			a->interval_ns = ns;
		else
			a->duration_ns = ns;
		break;
	}
	case 'n': {
		uint64_t n;

		if (parse_u64(arg, &n) || !n)
			argp_error(state, "invalid --count '%s': expected a positive number", arg);
		a->count = n;
		break;
	}
	default:
		return argp_one_arg(key, arg, state, &a->pid_arg, "PID");
	}
	return 0;
}

static volatile sig_atomic_t stopped;

static void on_stop(int sig)
{
	stopped = sig;
}

static void print_table(pid_t pid, json_t *j, bool tty)
{
	json_t *t;
	size_t i;

	if (tty)
		printf("\033[H\033[2J");
	printf("process %d  %s  interval %.2fs  total %.1f%% CPU\n", pid,
	       json_string_value(json_object_get(j, "time")),
	       json_real_value(json_object_get(j, "interval_s")),
	       json_real_value(json_object_get(j, "cpu_percent")));
	printf("%-8s %-16s %6s %10s %10s %8s %8s %4s\n", "TID", "NAME", "CPU%", "ONCPU_MS",
	       "RUNQ_MS", "VCSW", "IVCSW", "CPU");
	json_array_foreach(json_object_get(j, "threads"), i, t) {
		char name[17];
		const char *n = json_string_value(json_object_get(t, "name"));
		size_t k;

		snprintf(name, sizeof(name), "%s", n ? n : "?");
		for (k = 0; name[k]; k++)
			if ((unsigned char)name[k] < ' ')
				name[k] = '?';
		printf("%-8lld %-16s %6.1f %10.1f %10.1f %8lld %8lld %4lld\n",
		       json_integer_value(json_object_get(t, "tid")), name,
		       json_real_value(json_object_get(t, "cpu_percent")),
		       json_real_value(json_object_get(t, "on_cpu_s")) * 1e3,
		       json_real_value(json_object_get(t, "runq_wait_s")) * 1e3,
		       json_integer_value(json_object_get(t, "voluntary_switches")),
		       json_integer_value(json_object_get(t, "involuntary_switches")),
		       json_integer_value(json_object_get(t, "last_cpu")));
	}
	fflush(stdout);
}

static int do_top(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	static const struct argp argp = { top_options, top_parse, "PID", top_doc, children };
	struct top_args args = { .interval_ns = 1000000000ULL };
	struct tracer_opts opts = { .classes = TRACER_CPU };
	struct tracer_thread_cpu *prev = NULL, *cur = NULL;
	size_t nprev = 0, ncur = 0;
	/* SA_RESTART: a write blocked on a full pipe must not fail; epoll_wait still
	 * returns EINTR, which ends the loop. */
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	struct tracer *t = NULL;
	uint64_t start, last;
	unsigned long shown = 0;
	char err[1024];
	bool tty = isatty(STDOUT_FILENO);
	int ret, code = TD_EXIT_OK;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (parse_pid(args.pid_arg, &args.pid, 1))
		return output_error(TD_EXIT_USAGE, "invalid PID '%s': expected a positive decimal",
				    args.pid_arg);
	ret = thread_group_check(args.pid);
	if (ret == -ESRCH)
		return thread_report_no_process(args.pid);

	ret = tracer__open(&opts, &t, err, sizeof(err));
	if (ret)
		return output_error(ret == -EPERM ? TD_EXIT_PERMISSION :
				    ret == -EOPNOTSUPP ? TD_EXIT_UNSUPPORTED :
				    exit_code_from_errno(ret), "%s", err);
	ret = tracer__add_pid(t, args.pid, err, sizeof(err));
	if (ret) {
		code = output_error(ret == -ESRCH ? TD_EXIT_NOT_FOUND : exit_code_from_errno(ret),
				    "%s", err);
		goto cleanup;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	start = last = tracer_now_ns();
	ret = tracer__read_thread_cpu(t, args.pid, &prev, &nprev);
	if (ret) {
		code = output_error(exit_code_from_errno(ret), "reading the thread counters "
				    "failed: %s", strerror(-ret));
		goto cleanup;
	}
	while (!stopped) {
		uint64_t now, wait_ns = args.interval_ns;
		double total;
		json_t *j, *threads;

		if (args.duration_ns && last + wait_ns > start + args.duration_ns)
			wait_ns = start + args.duration_ns - last;
		/* Sleeps in the poll; the cputime ring only carries fork events. */
		while (!stopped && tracer_now_ns() < last + wait_ns) {
			uint64_t left = last + wait_ns - tracer_now_ns();

			tracer__poll(t, left > 100000000ULL ? 100 : (int)(left / 1000000) + 1, NULL,
				     NULL);
		}
		now = tracer_now_ns();
		ret = tracer__read_thread_cpu(t, args.pid, &cur, &ncur);
		if (ret) {
			code = output_error(TD_EXIT_FAILURE, "reading the thread counters failed: %s",
					    strerror(-ret));
			break;
		}
		threads = thread_cpu_deltas(prev, nprev, cur, ncur, now - last, &total);
		j = json_pack("{s:s, s:o, s:i, s:f, s:f, s:o}", "type", "top", "time",
			      json_time_iso(now / 1e9 + tracer__mono_to_epoch(t)), "pid",
			      (int)args.pid, "interval_s", (now - last) / 1e9, "cpu_percent", total,
			      "threads", threads);
		if (output.json) {
			if (output_json(j)) {
				code = TD_EXIT_FAILURE;
				break;
			}
		} else {
			print_table(args.pid, j, tty);
			json_decref(j);
		}
		free(prev);
		prev = cur;
		nprev = ncur;
		cur = NULL;
		last = now;
		shown++;
		if (args.count && shown >= args.count)
			break;
		if (args.duration_ns && now - start >= args.duration_ns)
			break;
		if (kill(args.pid, 0) && errno == ESRCH)
			break;
	}
cleanup:
	free(prev);
	free(cur);
	tracer__destroy(t);
	return code;
}

TD_COMMAND(top, 31, "Per-thread CPU% of a process from BPF, refreshed", do_top);
