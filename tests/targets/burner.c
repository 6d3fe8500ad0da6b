// SPDX-License-Identifier: GPL-2.0-only
/*
 * A thread named "burner" that burns MS milliseconds of its own CPU time when the
 * process gets SIGUSR1, then prints "burned <tid> <thread cpu ns>" and waits again.
 * A second thread, "idler", only sleeps. Prints "ready <pid> <burner tid> <idler tid>".
 * Usage: burner [MS]   (default 500)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long burn_ms = 500;
static pid_t burner_tid, idler_tid;
static pthread_barrier_t ready;

static unsigned long long thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__attribute__((noinline)) void burn(long ms)
{
	unsigned long long end = thread_cpu_ns() + ms * 1000000ULL;
	volatile unsigned long x = 0;

	while (thread_cpu_ns() < end)
		for (int i = 0; i < 10000; i++)
			x += i;
}

static void *burner(void *arg)
{
	sigset_t set;
	int sig;

	pthread_setname_np(pthread_self(), "burner");
	burner_tid = syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_barrier_wait(&ready);
	for (;;) {
		sigwait(&set, &sig);
		burn(burn_ms);
		printf("burned %d %llu\n", burner_tid, thread_cpu_ns());
		fflush(stdout);
	}
	return NULL;
}

static void *idler(void *arg)
{
	pthread_setname_np(pthread_self(), "idler");
	idler_tid = syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	for (;;)
		usleep(50 * 1000);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t a, b;
	sigset_t set;

	if (argc > 1)
		burn_ms = atol(argv[1]);
	/* SIGUSR1 is taken by the burner's sigwait only. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_barrier_init(&ready, NULL, 3);
	pthread_create(&a, NULL, burner, NULL);
	pthread_create(&b, NULL, idler, NULL);
	pthread_barrier_wait(&ready);
	printf("ready %d %d %d\n", getpid(), burner_tid, idler_tid);
	fflush(stdout);
	for (;;)
		pause();
}
