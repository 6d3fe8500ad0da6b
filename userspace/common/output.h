/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Output conventions shared by every command: data to stdout, diagnostics to stderr;
 * JSON when stdout is not a terminal or --json is given, a table otherwise; in JSON
 * mode errors are JSON objects on stderr. Exit codes are documented in docs/cli.md.
 */
#ifndef TRACEDUMP_OUTPUT_H
#define TRACEDUMP_OUTPUT_H

#include <argp.h>
#include <stdbool.h>
#include <jansson.h>

enum td_exit {
	TD_EXIT_OK = 0,
	TD_EXIT_FAILURE = 1,	/* the operation failed (I/O, kernel refused, ...) */
	TD_EXIT_USAGE = 2,	/* bad command line or bad input value */
	TD_EXIT_NOT_FOUND = 3,	/* no such process, thread, module or file */
	TD_EXIT_PERMISSION = 4, /* permission denied (not root, ptrace policy, ...) */
	TD_EXIT_UNSUPPORTED = 5, /* this kernel or host lacks a needed feature */
	TD_EXIT_CONFLICT = 6,	/* target busy: already traced, already being dumped */
};

struct output_opts {
	bool json;   /* JSON (default when stdout is not a terminal) */
	bool pretty; /* indented JSON */
};

extern struct output_opts output;

/* argp child giving every command --json, --table and --pretty. */
extern const struct argp output_argp;

/*
 * For commands that take exactly one positional argument: stores it in *@slot, and
 * fails the parse on a second one ("unexpected argument") or on none ("missing @what").
 * Returns ARGP_ERR_UNKNOWN for every other key, so a parser ends with
 * `default: return argp_one_arg(key, arg, state, &a->pid_arg, "PID");`.
 */
error_t argp_one_arg(int key, char *arg, struct argp_state *state, const char **slot,
		     const char *what);

/*
 * The same for a required first argument and, when @second is not NULL, a required
 * second one (`thread PID TID`, `module PID BASE`); @second NULL means one argument only.
 */
error_t argp_two_args(int key, char *arg, struct argp_state *state, const char **first,
		      const char *first_what, const char **second, const char *second_what);

/* Flushes stdout: TD_EXIT_OK, or the error reported ("failed to write stdout"). */
int output_flush(void);

/* Prints @j (stolen) as one JSON document and a newline on stdout, flushed. */
int output_json(json_t *j);

/* Prints an error on stderr ("tracedump: ..." or {"error": ...}); returns @code. */
int output_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A warning on stderr: something was ignored or degraded, the command goes on. */
void output_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Maps a negative errno to an exit code: -ENOENT/-ESRCH -> NOT_FOUND, -EPERM/-EACCES
 * -> PERMISSION, -EINVAL -> USAGE, -EBUSY -> CONFLICT, -EOPNOTSUPP -> UNSUPPORTED. */
int exit_code_from_errno(int err);

#endif /* TRACEDUMP_OUTPUT_H */
