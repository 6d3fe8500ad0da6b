// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump analyze CORE|BUNDLE`: what a dump shows, without a debugger session. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/report.h"
#include "common/command.h"
#include "common/output.h"

struct analyze_args {
	const char *path;
	struct analyze_opts opts;
};

enum { OPT_EXE = 0x2000, OPT_SYSROOT, OPT_TOP };

static const struct argp_option analyze_options[] = {
	{ "exe", OPT_EXE, "PATH", 0, "The executable, when it is not at the path the core "
	  "names (a core from another machine)" },
	{ "sysroot", OPT_SYSROOT, "DIR", 0, "Look up the executable and libraries under DIR "
	  "first (an unpacked bundle, a container's root)" },
	{ "mappings", OPT_TOP, "N", 0, "How many of the largest mappings to list (10)" },
	{},
};

static const char analyze_doc[] =
	"Analyze a core (ELF, or zstd-compressed .core.zst) or a bundle (.zip, .tar, .tar.zst "
	"from `tracedump dump --bundle`, or the folder it was extracted to): the process, the signal and fault address, every "
	"thread's symbolized stack (the crashing thread first), threads with identical stacks "
	"grouped, the modules with their build-ids, the largest mappings, and the trigger's "
	"<dump>.json when it sits beside the dump. Unwinding is libdwfl's (CFI, then frame "
	"pointers); no debugger is run.\v"
	"Examples:\n"
	"  tracedump analyze app.1234.core\n"
	"  tracedump analyze app.1234.zip | jq '.threads[0].frames[] | \"\\(.function) \\(.file):\\(.line)\"'\n"
	"  tracedump analyze app.1234.core | jq '.groups[] | {count, top_function}'\n"
	"  tracedump analyze core --exe ./build/app --sysroot /srv/rootfs\n"
	"Exit status: 0 ok, 2 not a core nor a bundle, 3 no such file, 4 permission denied, "
	"1 other failure. docs/analyze.md lists every field.";

static error_t analyze_parse(int key, char *arg, struct argp_state *state)
{
	struct analyze_args *a = state->input;
	char *end;

	switch (key) {
	case OPT_EXE:
		a->opts.exe = arg;
		break;
	case OPT_SYSROOT:
		a->opts.sysroot = arg;
		break;
	case OPT_TOP:
		errno = 0;
		a->opts.top_mappings = strtoul(arg, &end, 10);
		if (errno || *end || !*arg || arg[0] == '-' || a->opts.top_mappings == 0 ||
		    a->opts.top_mappings > 100000)
			argp_error(state, "invalid --mappings '%s': expected 1 to 100000", arg);
		break;
	default:
		return argp_one_arg(key, arg, state, &a->path, "CORE or BUNDLE");
	}
	return 0;
}

static int do_analyze(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { analyze_options, analyze_parse, "CORE|BUNDLE", analyze_doc,
				   children };
	struct analyze_args args = {};
	char why[512] = "";
	json_t *j = NULL;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (args.opts.exe && access(args.opts.exe, R_OK))
		return output_error(exit_code_from_errno(-errno), "cannot read --exe %s: %m",
				    args.opts.exe);
	if (args.opts.sysroot && access(args.opts.sysroot, X_OK))
		return output_error(exit_code_from_errno(-errno), "cannot use --sysroot %s: %m",
				    args.opts.sysroot);
	err = analyze__core(args.path, &args.opts, &j, why, sizeof(why));
	if (err) {
		int code = err == -ENOEXEC ? TD_EXIT_USAGE
			   : err == -ENODATA ? TD_EXIT_FAILURE : exit_code_from_errno(err);

		return output_error(code, "%s", why[0] ? why : strerror(-err));
	}
	if (output.json)
		return output_json(j);
	report__print(stdout, j);
	json_decref(j);
	return output_flush();
}

TD_COMMAND(analyze, 40, "Analyze a core or a bundle: signal, stacks, groups, mappings",
	   do_analyze);
