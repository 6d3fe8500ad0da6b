// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ptrace way to watch signals: a tracer that seizes PID and re-injects every
 * signal-delivery stop, as a ptrace-based signal monitor must. Runs until PID exits.
 * Prints "attached" once it traces.
 * Usage: reinject PID
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	pid_t pid = argc > 1 ? atoi(argv[1]) : 0;
	int status;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0)) {
		perror("PTRACE_SEIZE");
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0)
			return errno == ECHILD ? 0 : 1;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 0;
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);

			/* A group-stop under SEIZE shows as an event stop: do not inject it. */
			if (status >> 16 == PTRACE_EVENT_STOP)
				sig = 0;
			ptrace(PTRACE_CONT, pid, 0, sig);
		}
	}
}
