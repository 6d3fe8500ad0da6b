// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump threads PID` and `tracedump thread PID TID`: a process's threads. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/command.h"
#include "common/output.h"
#include "common/parse.h"
#include "inspect/inspect.h"
#include "inspect/thread.h"
#include "trace/sample.h"

/* Options of `threads`; a later option (e.g. --sample) adds a field and a case here. */
struct threads_args {
	const char *pid_arg;
	const char *tid_arg; /* `thread` only */
	bool want_tid;
	uint64_t sample_ns; /* --sample: on-CPU and run-queue time from BPF */
};

static const struct argp_option threads_options[] = {
	{ "sample", 's', "DURATION", 0, "Also measure each thread's on-CPU and run-queue "
					"time over DURATION with BPF (needs root): a \"sample\" "
					"object per thread" },
	{}
};

static const char threads_doc[] =
	"List the threads of process PID (0: tracedump itself) with their state, wait "
	"channel, priorities, CPU times, last CPU and context switches.\v"
	"Examples:\n"
	"  tracedump threads 1234\n"
	"  tracedump threads 1234 | jq -r '.[] | \"\\(.id) \\(.name) \\(.state)\"'\n"
	"  tracedump threads 1234 | jq 'sort_by(-.total_processor_time) | .[:5]'\n"
	"  tracedump threads 1234 | jq 'map(select(.state == \"disk_sleep\")) | .[].wait_reason'\n"
	"  tracedump threads 1234 --sample 1s | jq 'sort_by(-.sample.cpu_percent) | .[0]'\n"
	"Exit status: 0 ok, 2 bad PID, 3 no such process, 4 permission denied, 5 --sample "
	"on a kernel without BTF/tp_btf, 1 other failure. docs/threads-modules.md lists "
	"every field.";

static const char thread_doc[] =
	"Show one thread TID of process PID (0: tracedump itself).\v"
	"Examples:\n"
	"  tracedump thread 1234 1240\n"
	"  tracedump thread 1234 1240 | jq '{state, wait_reason, context_switches}'\n"
	"Exit status: 0 ok, 2 bad PID or TID, 3 no such process or TID is not a thread of "
	"PID, 4 permission denied, 1 other failure.";

static error_t threads_parse(int key, char *arg, struct argp_state *state)
{
	struct threads_args *a = state->input;

	switch (key) {
	case 's':
		if (a->want_tid || parse_duration_ns(arg, &a->sample_ns) || !a->sample_ns)
			argp_error(state, "invalid --sample '%s': expected a duration such as 1s", arg);
		break;
	default:
		return argp_two_args(key, arg, state, &a->pid_arg, "PID",
				     a->want_tid ? &a->tid_arg : NULL, "TID");
	}
	return 0;
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_table_header(void)
{
	printf("%-8s %-16s %-12s %5s %4s %9s %9s %10s %10s %s\n", "TID", "NAME", "STATE", "PRIO",
	       "CPU", "USER_S", "SYS_S", "VCSW", "IVCSW", "WAIT");
}

static void print_table_row(json_t *t)
{
	json_t *cs = json_object_get(t, "context_switches");
	const char *wait = json_string_value(json_object_get(t, "wait_reason"));
	const char *name = json_string_value(json_object_get(t, "name"));
	char safe[64];
	size_t i;

	/* A name may hold newlines; keep the table one line per thread. */
	snprintf(safe, sizeof(safe), "%s", name ? name : "?");
	for (i = 0; safe[i]; i++)
		if ((unsigned char)safe[i] < ' ')
			safe[i] = '?';
	printf("%-8lld %-16s %-12s %5lld %4lld %9.2f %9.2f %10lld %10lld %s\n",
	       json_integer_value(json_object_get(t, "id")), safe,
	       json_string_value(json_object_get(t, "state")),
	       json_integer_value(json_object_get(t, "current_priority")),
	       json_integer_value(json_object_get(t, "last_cpu")), num(t, "user_processor_time"),
	       num(t, "privileged_processor_time"),
	       json_integer_value(json_object_get(cs, "voluntary")),
	       json_integer_value(json_object_get(cs, "involuntary")), wait ? wait : "-");
	if (json_object_get(t, "sample")) {
		json_t *s = json_object_get(t, "sample");

		printf("    sample %.1f%% CPU, %.1f ms run-queue wait\n", num(s, "cpu_percent"),
		       num(s, "runq_wait_s") * 1e3);
	}
}

static int report_error(int err, pid_t pid, const char *tid_arg)
{
	switch (err) {
	case -ESRCH:
		return thread_report_no_process(pid);
	case -ENOENT:
		return output_error(TD_EXIT_NOT_FOUND, "thread %s is not a thread of process %d",
				    tid_arg ? tid_arg : "?", pid);
	default:
		return output_error(exit_code_from_errno(err),
				    "Failed to read the threads of process %d: %s", pid,
				    strerror(-err));
	}
}

static int run(int argc, char **argv, bool want_tid)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { want_tid ? NULL : threads_options, threads_parse, want_tid ? "PID TID" : "PID",
				   want_tid ? thread_doc : threads_doc, children };
	struct threads_args args = { .want_tid = want_tid };
	pid_t pid, tid = 0;
	json_t *j = NULL, *sample = NULL;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (parse_pid(args.pid_arg, &pid, 1))
		return output_error(TD_EXIT_USAGE, "invalid PID '%s': expected a positive "
				    "decimal, or 0 for tracedump itself", args.pid_arg);
	if (want_tid && parse_pid(args.tid_arg, &tid, 0))
		return output_error(TD_EXIT_USAGE, "invalid TID '%s': expected a positive decimal",
				    args.tid_arg);

	if (args.sample_ns) {
		char msg[1024];

		err = thread_group_check(pid);
		if (err)
			return report_error(err, pid, NULL);
		err = trace_sample_cpu(pid, args.sample_ns, &sample, msg, sizeof(msg));
		if (err)
			return output_error(err == -EPERM ? TD_EXIT_PERMISSION :
					    err == -EOPNOTSUPP ? TD_EXIT_UNSUPPORTED :
					    exit_code_from_errno(err), "--sample: %s", msg);
	}
	err = want_tid ? inspect__thread_detail(pid, tid, &j) : inspect__thread_list(pid, &j);
	if (err) {
		json_decref(sample);
		return report_error(err, pid, args.tid_arg);
	}
	if (sample) {
		trace_merge_sample(j, sample, args.sample_ns);
		json_decref(sample);
	}
	if (output.json)
		return output_json(j);

	print_table_header();
	if (want_tid) {
		print_table_row(j);
	} else {
		size_t i;
		json_t *t;

		json_array_foreach(j, i, t)
			print_table_row(t);
	}
	json_decref(j);
	return output_flush();
}

static int do_threads(int argc, char **argv)
{
	return run(argc, argv, false);
}

static int do_thread(int argc, char **argv)
{
	return run(argc, argv, true);
}

TD_COMMAND(threads, 12, "List the threads of a process", do_threads);
TD_COMMAND(thread, 13, "Show one thread of a process", do_thread);
