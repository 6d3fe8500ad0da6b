// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump modules PID` and `tracedump module PID BASE`: a process's mapped files. */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "common/output.h"
#include "common/parse.h"
#include "inspect/inspect.h"
#include "inspect/thread.h"

struct modules_args {
	const char *pid_arg;
	const char *base_arg; /* `module` only */
	bool want_base;
};

static const char modules_doc[] =
	"List the modules of process PID (0: tracedump itself): every mapped file, plus the "
	"vDSO (kind \"vdso\"), with its base address, size, soname, ELF build-id and "
	"mappings. Anonymous memory, [heap] and [stack] are not modules; a kernel thread has "
	"none (an empty list).\v"
	"Examples:\n"
	"  tracedump modules 1234\n"
	"  tracedump modules 1234 | jq -r '.[] | \"\\(.base_address) \\(.build_id) \\(.file_path)\"'\n"
	"  tracedump modules 1234 | jq '.[] | select(.is_deleted)'\n"
	"  tracedump modules 1234 | jq 'map(.module_memory_size) | add'\n"
	"Exit status: 0 ok, 2 bad PID, 3 no such process, 4 permission denied (reading "
	"/proc/PID/maps needs ptrace read access), 1 other failure. "
	"docs/threads-modules.md lists every field.";

static const char module_doc[] =
	"Show the module of process PID (0: tracedump itself) based at BASE (\"0x7f...\" "
	"or decimal), as `modules` lists it.\v"
	"Examples:\n"
	"  tracedump module 1234 0x7f2a1c000000\n"
	"  tracedump module 1234 $(tracedump modules 1234 | jq -r '.[0].base_address')\n"
	"  tracedump module 1234 0x7f2a1c000000 | jq '.mappings[] | select(.permissions | "
	"test(\"x\"))'\n"
	"Exit status: 0 ok, 2 bad PID or BASE, 3 no such process or no module based at BASE, "
	"4 permission denied, 1 other failure.";

static error_t modules_parse(int key, char *arg, struct argp_state *state)
{
	struct modules_args *a = state->input;

	return argp_two_args(key, arg, state, &a->pid_arg, "PID",
			     a->want_base ? &a->base_arg : NULL, "BASE");
}

/* "0x..." is hex, anything else decimal (a leading 0 is not octal here). */
static int parse_base(const char *s, uint64_t *out)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (!isxdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

static void print_module_row(json_t *m)
{
	const char *version = json_string_value(json_object_get(m, "file_version"));
	const char *build_id = json_string_value(json_object_get(m, "build_id"));
	const char *path = json_string_value(json_object_get(m, "file_path"));

	printf("%-18s %10lld %-8s %-40s %s%s\n",
	       json_string_value(json_object_get(m, "base_address")),
	       json_integer_value(json_object_get(m, "module_memory_size")),
	       version ? version : "-", build_id ? build_id : "-", path ? path : "?",
	       json_is_true(json_object_get(m, "is_deleted")) ? " (deleted)" : "");
}

static void print_table(json_t *j, bool detail)
{
	size_t i;
	json_t *m;

	printf("%-18s %10s %-8s %-40s %s\n", "BASE", "SIZE", "VERSION", "BUILD_ID", "PATH");
	if (!detail) {
		json_array_foreach(j, i, m)
			print_module_row(m);
		return;
	}
	print_module_row(j);
	printf("\n%-18s %-18s %10s %10s %s\n", "ADDRESS", "END", "SIZE", "OFFSET", "PERMS");
	json_array_foreach(json_object_get(j, "mappings"), i, m)
		printf("%-18s %-18s %10lld %10llx %s\n",
		       json_string_value(json_object_get(m, "address")),
		       json_string_value(json_object_get(m, "end_address")),
		       json_integer_value(json_object_get(m, "size")),
		       json_integer_value(json_object_get(m, "offset")),
		       json_string_value(json_object_get(m, "permissions")));
}

static int run(int argc, char **argv, bool want_base)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { NULL, modules_parse, want_base ? "PID BASE" : "PID",
				   want_base ? module_doc : modules_doc, children };
	struct modules_args args = { .want_base = want_base };
	uint64_t base = 0;
	json_t *j = NULL;
	pid_t pid;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return TD_EXIT_USAGE;
	if (parse_pid(args.pid_arg, &pid, 1))
		return output_error(TD_EXIT_USAGE, "invalid PID '%s': expected a positive "
				    "decimal, or 0 for tracedump itself", args.pid_arg);
	if (want_base && parse_base(args.base_arg, &base))
		return output_error(TD_EXIT_USAGE, "invalid BASE '%s': expected an address, "
				    "\"0x7f...\" or decimal", args.base_arg);

	err = want_base ? inspect__module_detail(pid, base, &j) : inspect__module_list(pid, &j);
	switch (err) {
	case 0:
		break;
	case -ESRCH:
		return thread_report_no_process(pid);
	case -ENOENT:
		return output_error(TD_EXIT_NOT_FOUND, "process %d has no module based at 0x%" PRIx64,
				    pid, base);
	default:
		return output_error(exit_code_from_errno(err),
				    "Failed to read /proc/%d/maps: %s", pid, strerror(-err));
	}
	if (output.json)
		return output_json(j);
	print_table(j, want_base);
	json_decref(j);
	return output_flush();
}

static int do_modules(int argc, char **argv)
{
	return run(argc, argv, false);
}

static int do_module(int argc, char **argv)
{
	return run(argc, argv, true);
}

TD_COMMAND(modules, 14, "List the mapped files (modules) of a process", do_modules);
TD_COMMAND(module, 15, "Show one module of a process by its base address", do_module);
