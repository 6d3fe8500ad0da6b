// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump dump PID`: an ELF core of a live process, which keeps running. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "common/command.h"
#include "common/output.h"
#include "common/parse.h"
#include "common/procfs.h"
#include "dump/dump_output.h"
#include "dump/dumper.h"
#include "dump/memory.h"
#include "dump/sink_file.h"

enum {
	OPT_FILTER = 0x1000, OPT_FORCE, OPT_BUNDLE, OPT_COMPRESS, OPT_SNAPSHOT,
	OPT_ANALYZE = 0x1100,
};

/* Options of `dump`; --bundle and --compress extend this struct and open_sink(). */
struct dump_args {
	const char *pid_arg;
	const char *output;	/* -o FILE or DIR */
	enum dump_type type;
	unsigned long filter;
	bool type_given, filter_given;
	bool force;
	bool analyze;		/* --analyze: <dump>.analysis.json beside the dump */
	struct dump_output_opts out;	/* --bundle, --compress (dump_output.h) */
	struct dump_output *sink_output;
	char core_name[256];		/* the default name, the core's name in a bundle */
	bool snapshot;
};

static const struct argp_option dump_options[] = {
	{ "output", 'o', "FILE|DIR", 0, "Write the core to FILE, or into DIR under the default "
	  "name (default: the current folder)" },
	{ "type", 't', "TYPE", 0, "0|mini: stacks, registers, module headers; 1|default: what "
	  "the kernel writes (coredump_filter 0x33); 2|full: every readable mapping" },
	{ "filter", OPT_FILTER, "HEX", 0, "A coredump_filter mask instead of --type (bit 0 anon "
	  "private, 1 anon shared, 2 file private, 3 file shared, 4 ELF headers, 5-6 hugetlb)" },
	{ "force", OPT_FORCE, NULL, 0, "Overwrite an existing FILE" },
	{ "analyze", OPT_ANALYZE, NULL, 0, "Then analyze the dump (once the process runs "
	  "again) into NAME.analysis.json beside it: stacks, groups, mappings "
	  "(docs/analyze.md)" },
	{ "bundle", OPT_BUNDLE, "zip|tar", 0, "One archive with the core, the executable, every "
	  "mapped library and metadata.json, to debug on another machine (docs/bundle.md)" },
	{ "compress", OPT_COMPRESS, "zstd", 0, "Compress (multi-threaded): NAME.core.zst, or "
	  "with --bundle tar a .tar.zst; not with zip (docs/bundle.md)" },
	{ "snapshot", OPT_SNAPSHOT, NULL, 0, "Stop the process only for milliseconds, whatever "
	  "its size. Into a file: copy its memory while it runs, tracking the pages it writes "
	  "(userfaultfd, Linux 6.7), and stop it twice briefly (.snapshot.method \"precopy\"); "
	  "into a stream (--compress, --bundle) or without Linux 6.7: dump a copy-on-write fork "
	  "of it (\"fork\"); a plain freeze, saying why in .snapshot.reason, when neither is "
	  "safe (docs/dump.md)" },
	{},
};

static const char dump_doc[] =
	"Write an ELF core of process PID that gdb, lldb and eu-stack open. The process is "
	"stopped with ptrace (never SIGSTOP) only while its memory is copied, then runs on; "
	"if tracedump is killed, the kernel lets it go. The result is JSON on stdout.\v"
	"Examples:\n"
	"  tracedump dump 1234\n"
	"  tracedump dump 1234 -o /var/crash/ --type full\n"
	"  tracedump dump 1234 --type mini -o app.core --force | jq .pause_ms\n"
	"  tracedump dump 1234 --analyze | jq .analysis.groups\n"
	"  tracedump dump 1234 --filter 0x3f | jq -r .path | xargs gdb -batch -ex bt ./app\n"
	"  tracedump dump 1234 --snapshot | jq '{pause_ms, snapshot}'\n"
	"  tracedump dump 1234 --bundle zip -o /var/crash/   # core + exe + libraries\n"
	"  tracedump dump 1234 --bundle tar --compress zstd | jq .bundle\n"
	"  tracedump dump 1234 --compress zstd | jq -r .path   # zstd -d opens it\n"
	"Default name: <name>_manual_<YYYY-MM-DD_HH-MM-SS>.<pid>.core (UTC); .core.zst, "
	".zip, .tar or .tar.zst with --compress and --bundle. A FILE given is kept as is.\n"
	"Exit status: 0 ok, 1 failed (I/O, no space, interrupted, the process exited during "
	"the dump), 2 bad argument, 3 no such process or a zombie, 4 permission denied, "
	"5 unsupported architecture, 6 already traced (the tracer is named) or FILE exists. "
	"docs/dump.md says what each type holds.";

static error_t dump_parse(int key, char *arg, struct argp_state *state)
{
	struct dump_args *a = state->input;
	char *end;

	switch (key) {
	case 'o':
		a->output = arg;
		break;
	case 't':
		if (dumper__parse_type(arg, &a->type))
			argp_error(state, "invalid --type '%s': expected 0|1|2|mini|default|full",
				   arg);
		a->type_given = true;
		break;
	case OPT_FILTER:
		errno = 0;
		a->filter = strtoul(arg, &end, 16);
		if (errno || end == arg || *end || a->filter > DUMP_FILTER_MASK)
			argp_error(state, "invalid --filter '%s': expected a hex coredump_filter "
				   "mask up to 0x1ff", arg);
		a->filter_given = true;
		break;
	case OPT_ANALYZE:
		a->analyze = true;
		break;
	case OPT_FORCE:
		a->force = a->out.force = true;
		break;
	case OPT_BUNDLE:
		if (dump_output__parse_bundle(arg, &a->out.bundle))
			argp_error(state, "invalid --bundle '%s': expected zip or tar", arg);
		break;
	case OPT_COMPRESS:
		if (dump_output__parse_compress(arg, &a->out.zstd))
			argp_error(state, "invalid --compress '%s': expected zstd", arg);
		break;
	case OPT_SNAPSHOT:
		a->snapshot = true;
		break;
	case ARGP_KEY_ARG:
		if (a->pid_arg)
			argp_error(state, "unexpected argument '%s'", arg);
		a->pid_arg = arg;
		break;
	case ARGP_KEY_END:
		if (!a->pid_arg)
			argp_error(state, "missing PID");
		if (a->filter_given && a->type_given)
			argp_error(state, "--filter and --type exclude each other");
		if (dump_output__refusal(&a->out))
			argp_error(state, "%s", dump_output__refusal(&a->out));
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t cancel;

static void on_signal(int sig)
{
	cancel = sig;
}

/* The progress bar, on stderr only when it is a terminal. */
static void progress(uint64_t done, uint64_t total, void *ctx)
{
	int width = 30, fill = total ? (int)(done * width / total) : width;

	fprintf(stderr, "\rdump [%.*s%*s] %3d%% %llu/%llu MiB", fill,
		"##############################", width - fill, "",
		total ? (int)(done * 100 / total) : 100, (unsigned long long)(done >> 20),
		(unsigned long long)(total >> 20));
	if (done >= total)
		fputc('\n', stderr);
}

/* Where the core goes: the one place that chooses a sink (file, zstd, bundle). */
static int open_sink(struct dump_args *a, pid_t pid, const char *path, struct core_sink **sink,
		     char *why, size_t why_len)
{
	return dump_output__open(&a->out, pid, path, a->core_name, &a->sink_output, sink, why,
				 why_len);
}

/* -o FILE, -o DIR, or the current folder; DIR gets the default name. The result is
 * absolute, so the JSON path means the same from any folder. */
static int output_path(struct dump_args *a, pid_t pid, char *out, size_t len)
{
	char name[256], dir[PATH_MAX], copy[PATH_MAX];
	const char *base = name, *where = ".";
	struct proc_stat st;
	struct stat sb;

	if (procfs_read_stat(pid, -1, &st))
		snprintf(st.comm, sizeof(st.comm), "process");
	dumper__default_name(st.comm, "manual", pid, time(NULL), name, sizeof(name));
	snprintf(a->core_name, sizeof(a->core_name), "%s", name);
	if (strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".core"))
		snprintf(name + strlen(name) - 5, sizeof(name) - strlen(name) + 5, "%s",
			 dump_output__suffix(&a->out));
	if (a->output) {
		size_t n = strlen(a->output);

		where = a->output;
		if (!(n && a->output[n - 1] == '/') &&
		    (stat(a->output, &sb) || !S_ISDIR(sb.st_mode))) {
			/* FILE: its folder must exist; its name is kept as given. */
			if ((size_t)snprintf(copy, sizeof(copy), "%s", a->output) >= sizeof(copy))
				return -ENAMETOOLONG;
			base = strrchr(a->output, '/') ? strrchr(a->output, '/') + 1 : a->output;
			where = strrchr(copy, '/') ? (strrchr(copy, '/')[0] = 0, copy[0] ? copy : "/")
						   : ".";
		}
	}
	if (!realpath(where, dir))
		return -errno;
	if ((size_t)snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int exit_code(int err)
{
	switch (err) {
	case -EBUSY:
	case -EEXIST:
		return TD_EXIT_CONFLICT;
	case -ENOSPC:
	case -ECANCELED:
	case -E2BIG:
		return TD_EXIT_FAILURE;
	default:
		return exit_code_from_errno(err);
	}
}

static void print_table(json_t *r)
{
	json_t *snap;

	printf("%-14s %s\n", "path", json_string_value(json_object_get(r, "path")));
	printf("%-14s %s\n", "type", json_string_value(json_object_get(r, "type")));
	printf("%-14s %lld\n", "threads", json_integer_value(json_object_get(r, "threads")));
	printf("%-14s %.1f MiB\n", "memory",
	       json_integer_value(json_object_get(r, "memory_bytes")) / 1048576.0);
	printf("%-14s %.1f MiB (core size %.1f MiB)\n", "written",
	       json_integer_value(json_object_get(r, "bytes_written")) / 1048576.0,
	       json_integer_value(json_object_get(r, "core_size")) / 1048576.0);
	printf("%-14s %.1f ms\n", "paused", json_real_value(json_object_get(r, "pause_ms")));
	printf("%-14s %.1f ms\n", "took", json_real_value(json_object_get(r, "duration_ms")));
	snap = json_object_get(r, "snapshot");
	if (json_is_true(json_object_get(snap, "used")) &&
	    json_object_get(snap, "freeze1_ms"))
		printf("%-14s pre-copy: freezes %.1f + %.1f ms, %lld rounds, %.1f MiB read again\n",
		       "snapshot", json_real_value(json_object_get(snap, "freeze1_ms")),
		       json_real_value(json_object_get(snap, "freeze2_ms")),
		       json_integer_value(json_object_get(snap, "rounds")),
		       (json_integer_value(json_object_get(snap, "reread_bytes")) +
			json_integer_value(json_object_get(snap, "final_bytes")) +
			json_integer_value(json_object_get(snap, "untracked_bytes"))) / 1048576.0);
	else if (json_is_true(json_object_get(snap, "used")))
		printf("%-14s fork %.1f ms, %.1f MiB extra memory, %zu mappings absent\n",
		       "snapshot", json_real_value(json_object_get(snap, "fork_ms")),
		       json_integer_value(json_object_get(snap, "extra_bytes")) / 1048576.0,
		       json_array_size(json_object_get(snap, "absent")));
	else if (snap)
		printf("%-14s not used: %s\n", "snapshot",
		       json_string_value(json_object_get(snap, "reason")));
	if (json_object_get(snap, "warning"))
		printf("%-14s %s\n", "warning",
		       json_string_value(json_object_get(snap, "warning")));
	analyze__print_dump_summary(stdout, r);
}

static int do_dump(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { dump_options, dump_parse, "PID", dump_doc, children };
	struct dump_args args = { .type = DUMP_TYPE_DEFAULT };
	struct dump_opts o = { .cancel = &cancel };
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	struct core_sink *sink = NULL;
	char path[PATH_MAX], why[512];
	json_t *result = NULL;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (parse_pid(args.pid_arg, &o.pid, 0))
		return output_error(TD_EXIT_USAGE, "invalid PID '%s': expected a positive decimal",
				    args.pid_arg);
	o.type = args.filter_given ? DUMP_TYPE_FILTER : args.type;
	o.filter = args.filter;
	o.snapshot = args.snapshot;
	if (isatty(STDERR_FILENO))
		o.progress = progress;
	err = output_path(&args, o.pid, path, sizeof(path));
	if (err)
		return output_error(err == -ENAMETOOLONG ? TD_EXIT_USAGE : exit_code(err),
				    "bad output path %s: %s", args.output ? args.output : ".",
				    strerror(-err));

	err = open_sink(&args, o.pid, path, &sink, why, sizeof(why));
	if (err) {
		if (sink)
			sink->free(sink);
		dump_output__free(args.sink_output);
		return output_error(exit_code(err), "%s", why);
	}

	/* SIGINT/SIGTERM end the dump cleanly: the target is released, no file remains. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	err = dumper__run(&o, sink, &result, why, sizeof(why));
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (!err) {
		err = dump_output__finish(args.sink_output, result, why, sizeof(why));
		if (err) {
			json_decref(result);
			result = NULL;
		}
	}
	if (!err)
		json_object_set_new(result, "path", json_string(path));
	sink->free(sink);
	dump_output__free(args.sink_output);
	if (err) {
		if (err == -ECANCELED)
			return output_error(TD_EXIT_FAILURE, "dump of process %d interrupted by %s; "
					    "no file written, the process runs on", o.pid,
					    strsignal(cancel ? cancel : SIGINT));
		return output_error(exit_code(err), "dump of process %d failed: %s%s", o.pid, why,
				    err == -ESRCH || err == -EPERM || err == -EBUSY ||
				    err == -EINVAL || err == -EOPNOTSUPP ? "" : "; no file written");
	}
	/* The process runs again; the dump is complete: analysing it stops nothing. */
	if (args.analyze)
		analyze__dump(json_string_value(json_object_get(result, "path")), result);
	if (output.json)
		return output_json(result);
	print_table(result);
	json_decref(result);
	return output_flush();
}

TD_COMMAND(dump, 20, "Write an ELF core of a running process (gdb, lldb, eu-stack)", do_dump);
