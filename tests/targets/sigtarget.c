// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals with known dispositions: SIGUSR1 handled (a handler counts it), SIGUSR2
 * ignored (SIG_IGN), SIGRTMIN+1 blocked in every thread. A thread named "crashy" waits
 * for SIGRTMIN+2 (sigwait) and then writes through a NULL pointer: SIGSEGV on a worker
 * thread. SIGRTMIN+3 starts a self-signal storm of N SIGUSR1 (argument, default 0),
 * after which it prints "storm done <handled>".
 * Prints "ready <pid> <crashy tid>".
 * Usage: sigtarget [STORM_N]
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static pid_t crashy_tid;
static pthread_barrier_t ready;

static void on_usr1(int sig)
{
	handled++;
}

__attribute__((noinline)) void crash_now(void)
{
	*(volatile int *)0 = 42;
}

static void *crashy(void *arg)
{
	sigset_t set;
	int sig;

	pthread_setname_np(pthread_self(), "crashy");
	crashy_tid = syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	pthread_barrier_wait(&ready);
	sigwait(&set, &sig);
	crash_now();
	return NULL;
}

int main(int argc, char **argv)
{
	long storm = argc > 1 ? atol(argv[1]) : 0;
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t set;
	pthread_t t;
	int sig;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGUSR2, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigaddset(&set, SIGRTMIN + 2);
	sigaddset(&set, SIGRTMIN + 3);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&t, NULL, crashy, NULL);
	pthread_barrier_wait(&ready);
	printf("ready %d %d\n", getpid(), crashy_tid);
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	for (;;) {
		sigwait(&set, &sig);
		for (long i = 0; i < storm; i++)
			kill(getpid(), SIGUSR1);
		printf("storm done %ld\n", (long)handled);
		fflush(stdout);
	}
}
