// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump core-relay`: the relay (core_relay.c) as a hidden tracedump command, for
 * when the static tracedump-core-relay is not installed beside tracedump. */
#include "common/command.h"
#include "common/output.h"
#include "watch/core_route_state.h"

static int do_core_relay(int argc, char **argv)
{
	if (argc != 1 + CORE_RELAY_NARGS)
		return output_error(TD_EXIT_USAGE, "core-relay is run by the kernel as the "
				    "core_pattern that `watch --signal` installs, with the "
				    "arguments %s; not by hand", CORE_RELAY_ARGS);
	return core_relay__main(argc, argv);
}

/* Registered by hand for its dashed name; hidden from `tracedump --help` (no summary):
 * only the kernel runs it. */
static const struct td_command __td_command_core_relay
	__attribute__((used, section("td_commands"), aligned(sizeof(void *)))) = {
		.name = "core-relay", .summary = NULL, .run = do_core_relay, .order = 1000,
	};
