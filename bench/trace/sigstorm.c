// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-signal storm: N SIGUSR1 to itself, each taken by a handler.
 * Prints "ready <pid>", waits for a line on stdin, then prints "result <us per signal>".
 * Usage: sigstorm N
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	handled++;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct timespec a, b;
	char line[16];
	pid_t self = getpid();

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	printf("ready %d\n", self);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		kill(self, SIGUSR1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (handled != n)
		fprintf(stderr, "handled %ld of %ld\n", (long)handled, n);
	printf("result %.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1e3);
	return 0;
}
