// SPDX-License-Identifier: GPL-2.0-only
/*
 * tracedump-core-relay: the core_pattern helper of `watch --signal` (core_relay.c) as
 * its own small static program: the kernel starts it for every crash on the system
 * while a watch holds the route, and the crashing process waits until it is running.
 * Not linked into tracedump (the Makefile leaves this file out of it).
 */
#include <stdio.h>

#include "common/output.h"
#include "watch/core_route_state.h"

int main(int argc, char **argv)
{
	if (argc != 1 + CORE_RELAY_NARGS) {
		fprintf(stderr, "tracedump-core-relay: run by the kernel as the core_pattern that "
			"`tracedump watch --signal` installs, with the arguments %s; not by hand\n",
			CORE_RELAY_ARGS);
		return TD_EXIT_USAGE;
	}
	return core_relay__main(argc, argv);
}
