// SPDX-License-Identifier: GPL-2.0-only
/*
 * tracedump: inspect, dump and trace Linux processes.
 * This file only dispatches; each command lives in the folder named for what it does
 * (inspect/, dump/, trace/, doctor/, ...) and registers itself with TD_COMMAND().
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"
#include "common/output.h"

#define TRACEDUMP_VERSION "0.1.0"

static int cmp_command(const void *a, const void *b)
{
	const struct td_command *x = *(const struct td_command *const *)a;
	const struct td_command *y = *(const struct td_command *const *)b;

	if (x->order != y->order)
		return x->order - y->order;
	return strcmp(x->name, y->name);
}

static void usage(FILE *f)
{
	const struct td_command *c, *sorted[128];
	size_t n = 0;

	for_each_td_command(c)
		if (c->summary && n < sizeof(sorted) / sizeof(sorted[0]))
			sorted[n++] = c;
	qsort(sorted, n, sizeof(sorted[0]), cmp_command);

	fprintf(f, "Usage: tracedump COMMAND [OPTION...] [ARG...]\n"
		   "Inspect, dump and trace Linux processes (JSON when piped).\n\nCommands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-10s %s\n", sorted[i]->name, sorted[i]->summary);
	fprintf(f, "\n'tracedump COMMAND --help' describes a command.\n"
		   "PID 0 means tracedump itself. Exit codes: 0 ok, 1 failed, 2 bad input,\n"
		   "3 not found, 4 permission denied, 5 unsupported here, 6 target busy.\n"
		   "Examples:\n"
		   "  tracedump ps --name nginx | jq '.[].id'\n"
		   "  tracedump show 1234 | jq .threads\n"
		   "  tracedump doctor\n");
}

static const struct td_command *find_command(const char *name)
{
	const struct td_command *c;

	for_each_td_command(c)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

const char *argp_program_version = "tracedump " TRACEDUMP_VERSION;
const char *argp_program_bug_address = NULL;

int main(int argc, char **argv)
{
	const struct td_command *cmd;

	/* argp's own usage errors (unknown option, missing value) exit like ours. */
	argp_err_exit_status = TD_EXIT_USAGE;

	if (argc < 2) {
		usage(stderr);
		return TD_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return TD_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("tracedump %s\n", TRACEDUMP_VERSION);
		return TD_EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage(stdout);
			return TD_EXIT_OK;
		}
		cmd = find_command(argv[2]);
		if (cmd) {
			char *help_argv[] = { argv[2], "--help", NULL };

			return cmd->run(2, help_argv);
		}
		argv[1] = argv[2];
	}

	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "tracedump: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return TD_EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}
