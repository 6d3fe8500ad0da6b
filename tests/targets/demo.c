// SPDX-License-Identifier: GPL-2.0-only
/*
 * The demo target: a small multi-threaded process with known thread names, a known
 * global and a known environment. It prints "ready <pid>" once every thread runs,
 * then counts ticks until SIGTERM or SIGINT.
 * Usage: demo [NTHREADS]   (default 3 workers)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile unsigned long demo_ticks;
const char demo_marker[] = "tracedump-demo-marker";

static volatile sig_atomic_t stop;
static pthread_barrier_t ready;

static void on_signal(int sig)
{
	stop = 1;
}

__attribute__((noinline)) void demo_worker_wait(void)
{
	while (!stop)
		usleep(10 * 1000);
}

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "worker-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&ready);
	demo_worker_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 3;
	pthread_t *threads;

	if (n < 0 || n > 10000) {
		fprintf(stderr, "demo: thread count %ld out of range\n", n);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	threads = calloc(n ? n : 1, sizeof(*threads));
	pthread_barrier_init(&ready, NULL, n + 1);
	for (long i = 0; i < n; i++)
		pthread_create(&threads[i], NULL, worker, (void *)(i + 1));
	pthread_barrier_wait(&ready);

	printf("ready %d\n", getpid());
	fflush(stdout);
	while (!stop) {
		demo_ticks++;
		usleep(10 * 1000);
	}
	for (long i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	return 0;
}
