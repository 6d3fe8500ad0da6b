// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/output.h"

struct output_opts output;

enum { OPT_TABLE = 0x1000, OPT_PRETTY };

static const struct argp_option output_options[] = {
	{ "json", 'j', NULL, 0, "JSON output (the default when stdout is not a terminal)", -1 },
	{ "table", OPT_TABLE, NULL, 0, "Readable table even when stdout is not a terminal", -1 },
	{ "pretty", OPT_PRETTY, NULL, 0, "Indented JSON (implies --json)", -1 },
	{},
};

static error_t output_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		output.json = !isatty(STDOUT_FILENO);
		break;
	case 'j':
		output.json = true;
		break;
	case OPT_TABLE:
		output.json = false;
		break;
	case OPT_PRETTY:
		output.json = output.pretty = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp output_argp = { .options = output_options, .parser = output_parse };

error_t argp_one_arg(int key, char *arg, struct argp_state *state, const char **slot,
		     const char *what)
{
	return argp_two_args(key, arg, state, slot, what, NULL, NULL);
}

error_t argp_two_args(int key, char *arg, struct argp_state *state, const char **first,
		      const char *first_what, const char **second, const char *second_what)
{
	switch (key) {
	case ARGP_KEY_ARG:
		if (!*first)
			*first = arg;
		else if (second && !*second)
			*second = arg;
		else
			argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		if (!*first)
			argp_error(state, "missing %s", first_what);
		if (second && !*second)
			argp_error(state, "missing %s", second_what);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int output_flush(void)
{
	return fflush(stdout) ? output_error(TD_EXIT_FAILURE, "failed to write stdout: %m")
			      : TD_EXIT_OK;
}

int output_json(json_t *j)
{
	size_t flags = output.pretty ? JSON_INDENT(2) : JSON_COMPACT;
	int err;

	if (!j)
		return output_error(TD_EXIT_FAILURE, "out of memory building JSON");
	err = json_dumpf(j, stdout, flags | JSON_ENCODE_ANY);
	json_decref(j);
	if (err)
		return output_error(TD_EXIT_FAILURE, "failed to write JSON to stdout");
	fputc('\n', stdout);
	if (fflush(stdout))
		return output_error(TD_EXIT_FAILURE, "failed to write stdout: %m");
	return TD_EXIT_OK;
}

int output_error(int code, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);

	if (output.json) {
		json_t *j = json_pack("{s:s, s:i}", "error", msg ? msg : fmt, "exit_code", code);

		if (j) {
			json_dumpf(j, stderr, JSON_COMPACT);
			json_decref(j);
		}
		fputc('\n', stderr);
	} else {
		fprintf(stderr, "tracedump: %s\n", msg ? msg : fmt);
	}
	free(msg);
	return code;
}

void output_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("tracedump: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int exit_code_from_errno(int err)
{
	switch (-err) {
	case 0:
		return TD_EXIT_OK;
	case ENOENT:
	case ESRCH:
		return TD_EXIT_NOT_FOUND;
	case EPERM:
	case EACCES:
		return TD_EXIT_PERMISSION;
	case EINVAL:
	case ERANGE:
		return TD_EXIT_USAGE;
	case EBUSY:
		return TD_EXIT_CONFLICT;
	case EOPNOTSUPP:
		return TD_EXIT_UNSUPPORTED;
	default:
		return TD_EXIT_FAILURE;
	}
}
