// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pipe ping-pong between two processes: every round trip is two context switches.
 * Prints "ready <pid> <child pid>", waits for a line on stdin, then does N round trips
 * and prints "result <us per round trip>".
 * Usage: pingpong N
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int ping[2], pong[2];
	char c = 'x', line[16];
	struct timespec a, b;
	pid_t child;

	if (pipe(ping) || pipe(pong))
		return 1;
	child = fork();
	if (child == 0) {
		/* Only the parent's write end may stay open, or EOF never comes. */
		close(ping[1]);
		close(pong[0]);
		for (;;) {
			if (read(ping[0], &c, 1) != 1)
				_exit(0);
			if (write(pong[1], &c, 1) != 1)
				_exit(1);
		}
	}
	close(ping[0]);
	close(pong[1]);
	printf("ready %d %d\n", getpid(), child);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(ping[1]);
	waitpid(child, NULL, 0);
	printf("result %.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1e3);
	return 0;
}
