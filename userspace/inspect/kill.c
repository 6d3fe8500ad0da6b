// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump kill PID`: end a process and all its descendants (Kudu's DELETE). */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/command.h"
#include "common/output.h"
#include "common/parse.h"
#include "common/signals.h"
#include "inspect/inspect.h"
#include "inspect/kill_tree.h"
#include "inspect/process.h"
#include "inspect/thread.h"

#define KILL_DEFAULT_TIMEOUT_NS 5000000000ull

enum { OPT_TIMEOUT = 0x3000, OPT_SIGNAL_FIRST };

struct kill_args {
	const char *pid_arg;
	const char *timeout_arg;
	const char *signal_arg;
};

static const struct argp_option kill_options[] = {
	{ "timeout", OPT_TIMEOUT, "DURATION", 0, "How long to wait after the first signal "
	  "before SIGKILL (default 5s; 0: SIGKILL right away for whatever did not exit)", 0 },
	{ "signal-first", OPT_SIGNAL_FIRST, "SIGNAL", 0, "The first signal: TERM (default), "
	  "INT, HUP, QUIT, USR1, ... with or without SIG, or a number", 0 },
	{},
};

static const char kill_doc[] =
	"End process PID and all its descendants: the first signal (SIGTERM) to every one of "
	"them, then SIGKILL to whatever is left after --timeout. Children forked meanwhile "
	"are found and signalled too. Prints every process of the tree and how it ended: "
	"\"terminated\" (after the first signal), \"killed\" (needed SIGKILL), "
	"\"already_gone\" (exited before a signal reached it), \"denied\", \"survived\". "
	"Refuses PID 1, tracedump itself (PID 0), a tree tracedump runs in, and kernel "
	"threads.\v"
	"Examples:\n"
	"  tracedump kill 1234\n"
	"  tracedump kill 1234 --timeout 500ms | jq '.processes[] | {id, result}'\n"
	"  tracedump kill 1234 --signal-first INT --timeout 10s\n"
	"  tracedump kill $(tracedump ps --name worker | jq '.[0].id')\n"
	"Exit status: 0 every process is gone, 1 some survived SIGKILL (the report is still "
	"printed), 2 bad PID, timeout or signal, 3 no such process, 4 refused (PID 1, "
	"itself, its own tree, a kernel thread) or not allowed to signal (the report is "
	"printed when some processes were signalled). docs/json.md describes the report.";

static error_t kill_parse(int key, char *arg, struct argp_state *state)
{
	struct kill_args *a = state->input;

	switch (key) {
	case OPT_TIMEOUT:
		a->timeout_arg = arg;
		break;
	case OPT_SIGNAL_FIRST:
		a->signal_arg = arg;
		break;
	default:
		return argp_one_arg(key, arg, state, &a->pid_arg, "PID");
	}
	return 0;
}

static void kill_table(json_t *j)
{
	size_t i;
	json_t *p;

	printf("%7s %7s %5s %-16s %-12s %-8s %9s %s\n", "PID", "PPID", "DEPTH", "NAME",
	       "RESULT", "SIGNAL", "AFTER_S", "STATE");
	json_array_foreach(json_object_get(j, "processes"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *sig = json_string_value(json_object_get(p, "signal"));
		json_t *after = json_object_get(p, "ended_after");
		char safe[17];
		size_t k;

		snprintf(safe, sizeof(safe), "%s", name ? name : "?");
		for (k = 0; safe[k]; k++)
			if ((unsigned char)safe[k] < ' ')
				safe[k] = '?';
		printf("%7lld %7lld %5lld %-16s %-12s %-8s ",
		       json_integer_value(json_object_get(p, "id")),
		       json_integer_value(json_object_get(p, "ppid")),
		       json_integer_value(json_object_get(p, "depth")), safe,
		       json_string_value(json_object_get(p, "result")), sig ? sig : "-");
		if (json_is_number(after))
			printf("%9.3f", json_number_value(after));
		else
			printf("%9s", "-");
		printf(" %s\n", json_string_value(json_object_get(p, "state")));
	}
}

static int do_kill(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { kill_options, kill_parse, "PID", kill_doc, children };
	struct kill_args args = { NULL };
	struct kill_opts opts = { .timeout_ns = KILL_DEFAULT_TIMEOUT_NS, .first_signal = SIGTERM };
	size_t survived = 0, denied = 0, i;
	const char *refusal;
	json_t *j = NULL, *p;
	pid_t pid;
	int err, code;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (parse_pid(args.pid_arg, &pid, 1))
		return output_error(TD_EXIT_USAGE, "invalid PID '%s': expected a positive "
				    "decimal (0, tracedump itself, is refused)", args.pid_arg);
	if (args.timeout_arg && (parse_duration_ns(args.timeout_arg, &opts.timeout_ns) ||
				 opts.timeout_ns > 3600ull * 1000000000ull))
		return output_error(TD_EXIT_USAGE, "invalid --timeout '%s': expected a duration "
				    "such as 500ms, 5s or 0, at most 1h", args.timeout_arg);
	if (args.signal_arg && parse_signal(args.signal_arg, &opts.first_signal))
		return output_error(TD_EXIT_USAGE, "invalid --signal-first '%s': expected a "
				    "signal name (TERM, SIGINT, ...) or number", args.signal_arg);
	refusal = kill_tree_refusal(pid);
	if (refusal)
		return output_error(TD_EXIT_PERMISSION, "refusing to kill process %d: %s", pid,
				    refusal);

	err = inspect__kill_tree(pid, &opts, &j);
	switch (err) {
	case 0:
		break;
	case -ESRCH:
		return thread_report_no_process(pid);
	case -EPERM:
		return output_error(TD_EXIT_PERMISSION, "not allowed to signal process %d: %s",
				    pid, strerror(EPERM));
	default:
		return output_error(exit_code_from_errno(err), "Failed to kill process %d: %s",
				    pid, strerror(-err));
	}
	json_array_foreach(json_object_get(j, "processes"), i, p) {
		const char *r = json_string_value(json_object_get(p, "result"));

		survived += !strcmp(r, "survived");
		denied += !strcmp(r, "denied");
	}
	if (output.json) {
		code = output_json(j);
		if (code)
			return code;
	} else {
		kill_table(j);
		json_decref(j);
		if (fflush(stdout))
			return output_error(TD_EXIT_FAILURE, "failed to write stdout: %m");
	}
	if (denied)
		return output_error(TD_EXIT_PERMISSION, "not allowed to signal %zu process%s of "
				    "the tree of %d", denied, denied == 1 ? "" : "es", pid);
	if (survived)
		return output_error(TD_EXIT_FAILURE, "%zu process%s of the tree of %d survived "
				    "SIGKILL", survived, survived == 1 ? "" : "es", pid);
	return TD_EXIT_OK;
}

TD_COMMAND(kill, 16, "End a process and all its descendants", do_kill);
