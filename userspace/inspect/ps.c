// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump ps` (every process) and `tracedump show PID` (one process in detail). */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "common/output.h"
#include "common/parse.h"
#include "inspect/inspect.h"
#include "inspect/process.h"
#include "inspect/thread.h"

/* Default window for show's cpu_percent: short enough to feel instant. */
#define SHOW_DEFAULT_INTERVAL_NS 100000000ull

enum { OPT_NAME = 0x2000, OPT_USER, OPT_INTERVAL };

/* Prints @s with control characters as '?', so that one value stays on one line. */
static void put_safe(const char *s, int width)
{
	int n = 0;

	for (; s && *s; s++, n++)
		putchar((unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s);
	for (; n < width; n++)
		putchar(' ');
}

/* --- ps ------------------------------------------------------------------------------ */

static const struct argp_option ps_options[] = {
	{ "name", OPT_NAME, "NAME", 0, "Only processes named NAME: their comm, the last "
	  "component of argv[0], or (when comm is cut to 15 bytes) of the executable, "
	  "compared exactly", 0 },
	{ "user", OPT_USER, "USER", 0, "Only processes whose effective user is USER (a name "
	  "or a numeric uid)", 0 },
	{},
};

static const char ps_doc[] =
	"List every process, like Kudu's GET /api/processes: id, name, href, user_name, plus "
	"user_id, ppid, state, command_line, working_set (bytes) and total_cpu_time "
	"(seconds).\v"
	"Examples:\n"
	"  tracedump ps\n"
	"  tracedump ps --name nginx | jq '.[].id'\n"
	"  tracedump ps --user www-data | jq 'map(.working_set) | add'\n"
	"  tracedump ps | jq 'sort_by(-.working_set) | .[:5] | .[] | {id, name, working_set}'\n"
	"  tracedump ps | jq '.[] | select(.state == \"zombie\") | {id, ppid}'\n"
	"Exit status: 0 ok (also when the filter matches nothing: an empty list), 2 bad "
	"option or unknown user, 1 other failure. docs/json.md lists every field.";

static error_t ps_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_filter *f = state->input;

	switch (key) {
	case OPT_NAME:
		f->name = arg;
		break;
	case OPT_USER:
		f->user = arg;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void ps_table(json_t *arr)
{
	size_t i;
	json_t *p;

	printf("%7s %7s %-12s %-10s %10s %9s %-16s %s\n", "PID", "PPID", "USER", "STATE",
	       "RSS_KB", "CPU_S", "NAME", "COMMAND");
	json_array_foreach(arr, i, p) {
		const char *user = json_string_value(json_object_get(p, "user_name"));
		char uid[16];

		if (!user) {
			snprintf(uid, sizeof(uid), "%lld",
				 json_integer_value(json_object_get(p, "user_id")));
			user = uid;
		}
		printf("%7lld %7lld %-12.12s %-10s %10lld %9.2f ",
		       json_integer_value(json_object_get(p, "id")),
		       json_integer_value(json_object_get(p, "ppid")), user,
		       json_string_value(json_object_get(p, "state")),
		       json_integer_value(json_object_get(p, "working_set")) / 1024,
		       json_number_value(json_object_get(p, "total_cpu_time")));
		put_safe(json_string_value(json_object_get(p, "name")), 16);
		putchar(' ');
		put_safe(json_string_value(json_object_get(p, "command_line")), 0);
		putchar('\n');
	}
}

static int do_ps(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { ps_options, ps_parse, NULL, ps_doc, children };
	struct ps_filter filter = { NULL };
	json_t *j = NULL;
	uid_t uid;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &filter))
		return TD_EXIT_USAGE;
	if (filter.name && !*filter.name)
		return output_error(TD_EXIT_USAGE, "invalid --name '': expected a process name");
	if (filter.user && parse_user(filter.user, &uid))
		return output_error(TD_EXIT_USAGE, "invalid --user '%s': no such user (give a "
				    "user name or a numeric uid)", filter.user);
	err = inspect__process_list(&filter, &j);
	if (err)
		return output_error(exit_code_from_errno(err), "Failed to list /proc: %s",
				    strerror(-err));
	if (output.json)
		return output_json(j);
	ps_table(j);
	json_decref(j);
	return output_flush();
}

TD_COMMAND(ps, 10, "List every process", do_ps);

/* --- show ---------------------------------------------------------------------------- */

struct show_args {
	const char *pid_arg;
	const char *interval_arg;
};

static const struct argp_option show_options[] = {
	{ "interval", OPT_INTERVAL, "DURATION", 0, "Window over which cpu_percent is measured "
	  "(default 100ms; 0 skips it and cpu_percent is null)", 0 },
	{},
};

static const char show_doc[] =
	"Show process PID (0: tracedump itself) in detail, like Kudu's GET "
	"/api/processes/PID: parent and children, executable, command line, user, handles "
	"and open files, module and thread counts, CPU times, memory, environment; and Linux "
	"extras: state, nice, priority, cpu_percent, cgroup and container id, PID namespace, "
	"OOM score, I/O, context switches, thread hrefs. Fields the kernel does not let this "
	"user read (environ, fds, io, maps of another user's process when not root) are null "
	"and named in unreadable_fields, with a warning on stderr; the command still "
	"succeeds.\v"
	"Examples:\n"
	"  tracedump show 1234\n"
	"  tracedump show 0 | jq '{id, file_name, thread_count}'\n"
	"  tracedump show 1234 | jq .environment_variables.PATH\n"
	"  tracedump show 1234 --interval 1s | jq .cpu_percent\n"
	"  tracedump show 1234 | jq -r '.open_file_handles[] | select(startswith(\"socket:\"))'\n"
	"Exit status: 0 ok, 2 bad PID or interval, 3 no such process (or it exited while it "
	"was read, or PID is a thread of another process), 1 other failure. docs/json.md "
	"lists every field.";

static error_t show_parse(int key, char *arg, struct argp_state *state)
{
	struct show_args *a = state->input;

	switch (key) {
	case OPT_INTERVAL:
		a->interval_arg = arg;
		break;
	default:
		return argp_one_arg(key, arg, state, &a->pid_arg, "PID");
	}
	return 0;
}

static void show_value(json_t *v)
{
	char *s;

	switch (json_typeof(v)) {
	case JSON_NULL:
		printf("-");
		break;
	case JSON_STRING:
		put_safe(json_string_value(v), 0);
		break;
	case JSON_INTEGER:
		printf("%lld", json_integer_value(v));
		break;
	case JSON_REAL:
		printf("%.3f", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		printf("%s", json_is_true(v) ? "yes" : "no");
		break;
	default:
		s = json_dumps(v, JSON_COMPACT);
		put_safe(s, 0);
		free(s);
		break;
	}
}

static void show_table(json_t *j)
{
	const char *key;
	json_t *v;

	json_object_foreach(j, key, v) {
		printf("%-22s ", key);
		if (json_is_array(v)) {
			size_t i;
			json_t *e;

			printf("(%zu)\n", json_array_size(v));
			json_array_foreach(v, i, e) {
				printf("%-22s ", "");
				show_value(e);
				putchar('\n');
			}
		} else if (json_is_object(v) && !strcmp(key, "environment_variables")) {
			const char *name;
			json_t *e;

			printf("(%zu)\n", json_object_size(v));
			json_object_foreach(v, name, e) {
				printf("%-22s ", "");
				put_safe(name, 0);
				putchar('=');
				show_value(e);
				putchar('\n');
			}
		} else {
			show_value(v);
			putchar('\n');
		}
	}
}

static int do_show(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { show_options, show_parse, "PID", show_doc, children };
	struct show_args args = { NULL };
	struct show_opts opts = { .cpu_interval_ns = SHOW_DEFAULT_INTERVAL_NS };
	const char *field;
	json_t *j = NULL, *reason;
	pid_t pid;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (parse_pid(args.pid_arg, &pid, 1))
		return output_error(TD_EXIT_USAGE, "invalid PID '%s': expected a positive "
				    "decimal, or 0 for tracedump itself", args.pid_arg);
	if (args.interval_arg && parse_duration_ns(args.interval_arg, &opts.cpu_interval_ns))
		return output_error(TD_EXIT_USAGE, "invalid --interval '%s': expected a duration "
				    "such as 100ms, 1s or 0", args.interval_arg);
	if (opts.cpu_interval_ns > 3600ull * 1000000000ull)
		return output_error(TD_EXIT_USAGE, "invalid --interval '%s': at most 1h",
				    args.interval_arg);

	err = inspect__process_detail(pid, &opts, &j);
	switch (err) {
	case 0:
		break;
	case -ESRCH:
		if (thread_group_check(pid) == 0)
			return output_error(TD_EXIT_NOT_FOUND, "process %d exited while it was "
					    "read", pid);
		return thread_report_no_process(pid);
	default:
		return output_error(exit_code_from_errno(err), "Failed to read process %d: %s",
				    pid, strerror(-err));
	}
	if (json_object_size(json_object_get(j, "unreadable_fields"))) {
		char *list = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&list, &size);

		json_object_foreach(json_object_get(j, "unreadable_fields"), field, reason)
			if (f)
				fprintf(f, "%s%s (%s)", ftell(f) ? ", " : "", field,
					json_string_value(reason));
		if (f)
			fclose(f);
		output_warn("process %d: null where not readable: %s", pid, list ? list : "?");
		free(list);
	}
	if (output.json)
		return output_json(j);
	show_table(j);
	json_decref(j);
	return output_flush();
}

TD_COMMAND(show, 11, "Show one process in detail", do_show);
