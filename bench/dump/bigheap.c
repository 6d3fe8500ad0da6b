// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bench target: MIB of touched, non-zero heap and NTHREADS threads (the main one
 * included), then sleeps until killed. Prints "ready <pid>" when set up.
 * WRITE_MIBPS > 0 makes one more thread write one word in every page of the heap, in
 * order and wrapping, at that many MiB of pages a second: the copy-on-write cost of a
 * --snapshot dump shows against it.
 * "thp" as the fourth argument puts the heap in transparent huge pages (2 MiB aligned,
 * MADV_HUGEPAGE): a fork then copies one page-table entry per 2 MiB, not per 4 KiB.
 * Usage: bigheap MIB [NTHREADS] [WRITE_MIBPS] [thp]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

static uint64_t *heap;
static size_t heap_words, write_mibps;

static void *writer(void *arg)
{
	size_t page_words = 4096 / 8, at = 0, per_tick = (write_mibps << 20) / 4096 / 100;

	for (;;) {
		for (size_t i = 0; i < per_tick; i++) {
			heap[at]++;
			at = (at + page_words) % heap_words;
		}
		usleep(10000);
	}
	return arg;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	long threads = argc > 2 ? atol(argv[2]) : 4;
	size_t words = mib << 17;

	write_mibps = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	heap_words = words;
	if (argc > 4 && !strcmp(argv[4], "thp")) {
		heap = aligned_alloc(2 << 20, words * 8);
		if (heap && madvise(heap, words * 8, MADV_HUGEPAGE))
			return 1;
	} else {
		heap = malloc(words * 8);
	}
	if (!heap)
		return 1;
	for (size_t i = 0; i < words; i++)
		heap[i] = 0x9e3779b97f4a7c15ULL * (i + 1);
	for (long i = 1; i < threads; i++) {
		pthread_t t;

		pthread_create(&t, NULL, sleeper, NULL);
	}
	if (write_mibps) {
		pthread_t t;

		pthread_create(&t, NULL, writer, NULL);
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;)
		pause();
}
