// SPDX-License-Identifier: GPL-2.0-only
/*
 * A crash on a worker thread: the main thread and two sleepers wait while the thread
 * "crasher" writes through a NULL pointer in crash_here() (SIGSEGV, fault address 0; the
 * store is in store_through(), inlined into crash_here()), as
 * soon as both sleepers sleep in pause(). Prints "ready <pid>" first.
 * Usage: crashworker [DELAY_MS]  (default 0; a delay leaves time to attach).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long delay_ms;
static volatile pid_t sleeper_tids[2];

/* The thread is asleep (state S), which after its start means in pause(). */
static int asleep(pid_t tid)
{
	char path[64], buf[256];
	FILE *f;
	char *p;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		ok = p[2] == 'S';
	if (f)
		fclose(f);
	return ok;
}

/* Inlined even at -O0: the faulting store is in store_through, inside crash_here. */
static inline __attribute__((always_inline)) void store_through(volatile int *p)
{
	*p = 42;
}

__attribute__((noinline)) void crash_here(volatile int *p)
{
	store_through(p);
}

__attribute__((noinline)) void crash_worker_step(volatile int *p)
{
	crash_here(p);
}

static void *crasher(void *arg)
{
	pthread_setname_np(pthread_self(), "crasher");
	while (!sleeper_tids[0] || !sleeper_tids[1] || !asleep(sleeper_tids[0]) ||
	       !asleep(sleeper_tids[1]))
		usleep(1000);
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
	sleeper_tids[(long)arg] = gettid();
	sleeper_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[3];

	delay_ms = argc > 1 ? atol(argv[1]) : 0;
	pthread_create(&t[0], NULL, sleeper, (void *)0L);
	pthread_create(&t[1], NULL, sleeper, (void *)1L);
	printf("ready %d\n", getpid());
	fflush(stdout);
	pthread_create(&t[2], NULL, crasher, NULL);
	pthread_join(t[2], NULL);
	return 0;
}
