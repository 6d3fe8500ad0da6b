// SPDX-License-Identifier: GPL-2.0-only
/*
 * A signal storm for bench/watch/run: SIGUSR1 and SIGUSR2 both have handlers; on each
 * line read from stdin it sends itself N SIGUSR1 and prints "done <ns>" (the time the
 * storm took). Watching SIGUSR2 (handled, never sent) costs what --signal costs a
 * process whose watched signal never fires.
 * Prints "ready <pid>". Usage: storm N
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	long n = argc > 1 ? atol(argv[1]) : 100000;
	char line[64];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	printf("ready %d\n", getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned long long t0 = now_ns();

		for (long i = 0; i < n; i++)
			kill(getpid(), SIGUSR1);
		printf("done %llu\n", now_ns() - t0);
		fflush(stdout);
	}
	return 0;
}
