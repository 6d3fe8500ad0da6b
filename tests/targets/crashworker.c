// SPDX-License-Identifier: GPL-2.0-only
/*
 * A crash on a worker thread: the main thread and two sleepers wait while the thread
 * "crasher" writes through a NULL pointer in crash_here() (SIGSEGV, fault address 0).
 * Prints "ready <pid>" first. Usage: crashworker [DELAY_MS]  (default 0: crash at once;
 * a delay leaves time to attach).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long delay_ms;

__attribute__((noinline)) void crash_here(volatile int *p)
{
	*p = 42;
}

__attribute__((noinline)) void crash_worker_step(volatile int *p)
{
	crash_here(p);
}

static void *crasher(void *arg)
{
	pthread_setname_np(pthread_self(), "crasher");
	usleep(delay_ms * 1000);
	crash_worker_step(NULL);
	return NULL;
}

__attribute__((noinline)) void sleeper_wait(void)
{
	for (;;)
		pause();
}

static void *sleeper(void *arg)
{
	sleeper_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[3];

	delay_ms = argc > 1 ? atol(argv[1]) : 0;
	pthread_create(&t[0], NULL, sleeper, NULL);
	pthread_create(&t[1], NULL, sleeper, NULL);
	printf("ready %d\n", getpid());
	fflush(stdout);
	pthread_create(&t[2], NULL, crasher, NULL);
	pthread_join(t[2], NULL);
	return 0;
}
