// SPDX-License-Identifier: GPL-2.0-only
/*
 * A request server: a thread named "reqworker" calls handle_request() from
 * serve_one() once per DELAY argument (milliseconds of sleep inside the request),
 * after the process gets SIGUSR1. After each request it prints
 * "req <index> <tid> <duration ns>" (measured around the call in serve_one). A delay
 * of 0 means a fast request (no sleep at all).
 * handle_request() also has USDT probes reqserver:request_start and
 * reqserver:request_end (no arguments), written by hand below as <sys/sdt.h> would
 * (systemtap-sdt-dev is not a dependency).
 * Prints "ready <pid> <worker tid>".
 * Usage: reqserver DELAY_MS...
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A USDT probe without arguments: a nop, and a .note.stapsdt entry pointing at it. */
#define USDT(provider, name)                                                        \
	__asm__ __volatile__("990: nop\n"                                            \
			     ".pushsection .note.stapsdt,\"?\",\"note\"\n"              \
			     ".balign 4\n"                                              \
			     ".4byte 992f-991f, 994f-993f, 3\n"                         \
			     "991: .asciz \"stapsdt\"\n"                               \
			     "992: .balign 4\n"                                         \
			     "993: .8byte 990b\n"                                       \
			     ".8byte _.stapsdt.base\n"                                  \
			     ".8byte 0\n"                                               \
			     ".asciz \"" #provider "\"\n"                               \
			     ".asciz \"" #name "\"\n"                                   \
			     ".asciz \"\"\n"                                            \
			     "994: .balign 4\n"                                         \
			     ".popsection\n"                                            \
			     ".ifndef _.stapsdt.base\n"                                 \
			     ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
			     ".weak _.stapsdt.base\n"                                   \
			     ".hidden _.stapsdt.base\n"                                 \
			     "_.stapsdt.base: .space 1\n"                               \
			     ".size _.stapsdt.base, 1\n"                                \
			     ".popsection\n"                                            \
			     ".endif\n")

static int ndelays;
static long *delays;
static pid_t worker_tid;
static pthread_barrier_t ready;
volatile long requests_done;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__attribute__((noinline)) long handle_request(int index, long delay_ms)
{
	USDT(reqserver, request_start);
	if (delay_ms > 0) {
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	USDT(reqserver, request_end);
	return index + delay_ms;
}

__attribute__((noinline)) void serve_one(int index)
{
	unsigned long long start = now_ns(), end;

	handle_request(index, delays[index]);
	end = now_ns();
	requests_done++;
	printf("req %d %d %llu\n", index, worker_tid, end - start);
	fflush(stdout);
}

static void *worker(void *arg)
{
	sigset_t set;
	int sig;

	pthread_setname_np(pthread_self(), "reqworker");
	worker_tid = syscall(SYS_gettid);
	/* Real-time when allowed (root): on a busy machine a preemption between the
	 * caller's clock read and the probe would make the "truth" drift by milliseconds. */
	{
		struct sched_param sp = { .sched_priority = 1 };

		pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_barrier_wait(&ready);
	sigwait(&set, &sig);
	for (int i = 0; i < ndelays; i++)
		serve_one(i);
	printf("all done\n");
	fflush(stdout);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	sigset_t set;
	pthread_t t;

	ndelays = argc - 1;
	delays = calloc(ndelays + 1, sizeof(*delays));
	for (int i = 0; i < ndelays; i++)
		delays[i] = atol(argv[i + 1]);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&t, NULL, worker, NULL);
	pthread_barrier_wait(&ready);
	printf("ready %d %d\n", getpid(), worker_tid);
	fflush(stdout);
	for (;;)
		pause();
}
