/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Command registry. Each command file declares itself with TD_COMMAND(); the linker
 * gathers the entries into one section, so main.c dispatches without a hand-kept table.
 */
#ifndef TRACEDUMP_COMMAND_H
#define TRACEDUMP_COMMAND_H

struct td_command {
	const char *name;
	const char *summary; /* NULL: an internal command, not listed by --help */
	/* argv[0] is the command name; returns the process exit code (see output.h). */
	int (*run)(int argc, char **argv);
	/* Position in `tracedump --help`: lower first. */
	int order;
};

#define TD_COMMAND(_name, _order, _summary, _run)                                         \
	static const struct td_command __td_command_##_name                              \
		__attribute__((used, section("td_commands"), aligned(sizeof(void *)))) = { \
			.name = #_name, .summary = _summary, .run = _run, .order = _order,   \
		}

extern const struct td_command __start_td_commands[];
extern const struct td_command __stop_td_commands[];

#define for_each_td_command(c) for (c = __start_td_commands; c < __stop_td_commands; c++)

#endif /* TRACEDUMP_COMMAND_H */
