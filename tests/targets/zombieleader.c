// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process whose main thread has called pthread_exit(): the leader is a zombie with no
 * memory map of its own while its worker runs on, waiting in zombie_worker_wait().
 * Prints "ready <pid>" before the main thread exits.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void zombie_worker_wait(void)
{
	for (;;)
		pause();
}

static void *worker(void *arg)
{
	zombie_worker_wait();
	return NULL;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, worker, NULL);
	printf("ready %d\n", getpid());
	fflush(stdout);
	pthread_exit(NULL);
}
