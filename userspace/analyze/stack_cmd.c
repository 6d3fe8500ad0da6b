// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump stack PID`: the stacks of a live process, for hang triage without a dump. */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/report.h"
#include "common/command.h"
#include "common/output.h"
#include "common/parse.h"
#include "inspect/thread.h"

struct stack_args {
	const char *pid_arg;
	struct analyze_opts opts;
};

static const char stack_doc[] =
	"Print every thread's symbolized stack of the live process PID, threads with "
	"identical stacks grouped: the first look at a hung process, without writing a dump. "
	"All threads are stopped together (PTRACE_SEIZE + PTRACE_INTERRUPT, no SIGSTOP) only "
	"while their stacks are unwound, and let go before symbols are looked up; pause_ms "
	"says how long. SIGINT and SIGTERM during the pause let the threads go first.\v"
	"Examples:\n"
	"  tracedump stack 1234\n"
	"  tracedump stack 1234 | jq '.groups[] | {count, top_function}'\n"
	"  tracedump stack 1234 | jq -r '.threads[] | select(.name == \"worker\") | .frames[].function'\n"
	"Exit status: 0 ok, 2 bad PID (or a kernel thread), 3 no such process, 4 permission denied (ptrace), "
	"6 already traced (a debugger is attached), 1 other failure or interrupted. "
	"docs/analyze.md lists every field.";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static error_t stack_parse(int key, char *arg, struct argp_state *state)
{
	struct stack_args *a = state->input;

	switch (key) {
	default:
		return argp_one_arg(key, arg, state, &a->pid_arg, "PID");
	}
	return 0;
}

static int do_stack(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { NULL, stack_parse, "PID", stack_doc, children };
	/* No SA_RESTART: a wait for a thread to stop returns EINTR and sees the flag. */
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	struct stack_args args = {};
	char why[512] = "";
	json_t *j = NULL;
	pid_t pid;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (parse_pid(args.pid_arg, &pid, 0))
		return output_error(TD_EXIT_USAGE, "invalid PID '%s': expected a positive decimal",
				    args.pid_arg);
	if (thread_group_check(pid) == -ESRCH)
		return thread_report_no_process(pid);
	if (pid == getpid())
		return output_error(TD_EXIT_USAGE, "tracedump cannot stop itself: give another PID");

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	args.opts.cancel = &interrupted;
	err = analyze__live(pid, &args.opts, &j, why, sizeof(why));
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (err) {
		if (err == -ESRCH)
			return thread_report_no_process(pid);
		return output_error(err == -ECANCELED ? TD_EXIT_FAILURE : exit_code_from_errno(err),
				    "%s", why[0] ? why : strerror(-err));
	}
	if (output.json)
		return output_json(j);
	report__print(stdout, j);
	json_decref(j);
	return output_flush();
}

TD_COMMAND(stack, 41, "Stacks of a live process's threads, grouped (hang triage)", do_stack);
