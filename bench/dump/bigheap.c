// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bench target: MIB of touched, non-zero heap and NTHREADS threads (the main one
 * included), then sleeps until killed. Prints "ready <pid>" when set up.
 * Usage: bigheap MIB [NTHREADS]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	long threads = argc > 2 ? atol(argv[2]) : 4;
	size_t words = mib << 17;
	uint64_t *heap = malloc(words * 8);

	if (!heap)
		return 1;
	for (size_t i = 0; i < words; i++)
		heap[i] = 0x9e3779b97f4a7c15ULL * (i + 1);
	for (long i = 1; i < threads; i++) {
		pthread_t t;

		pthread_create(&t, NULL, sleeper, NULL);
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;)
		pause();
}
