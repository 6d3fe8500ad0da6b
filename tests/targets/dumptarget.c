// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dump target: NTHREADS workers, each blocked in a known chain of functions
 * (dump_worker_entry -> dump_worker_level1 -> dump_worker_level2), a known global,
 * and HEAP_MIB of heap filled with a known pattern (word i is HEAP_PATTERN ^ i).
 * The main thread counts ticks in main_tick_loop and prints "tick N" every 50 ms,
 * so a test can see it run on after a dump.
 * Usage: dumptarget [NTHREADS] [HEAP_MIB] [SPARSE_GIB]
 *   SPARSE_GIB: also map that many GiB of untouched memory (one page touched) and
 *   the same of PROT_NONE, to check that a dump stays small and fast.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEAP_PATTERN 0x7ac3d00d00000000ULL

volatile uint64_t dump_marker = 0x5eedf00dcafe1234ULL;
char dump_text[] = "tracedump-dump-marker";
uint64_t *heap_block;
size_t heap_words;
volatile unsigned long ticks;

static pthread_barrier_t ready;

__attribute__((noinline)) void dump_worker_level2(long id)
{
	volatile long depth = id; /* keeps a frame */

	for (;;)
		pause();
	(void)depth;
}

__attribute__((noinline)) void dump_worker_level1(long id)
{
	pthread_barrier_wait(&ready);
	dump_worker_level2(id);
}

static void *dump_worker_entry(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "dworker-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	dump_worker_level1((long)arg);
	return NULL;
}

__attribute__((noinline)) void main_tick_loop(void)
{
	for (;;) {
		usleep(50 * 1000);
		ticks++;
		printf("tick %lu\n", ticks);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 4;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 16;
	size_t sparse_gib = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	pthread_attr_t attr;

	if (n < 0 || n > 10000) {
		fprintf(stderr, "dumptarget: thread count %ld out of range\n", n);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	heap_words = mib * (1 << 20) / 8;
	heap_block = malloc(heap_words * 8 + 8);
	if (!heap_block)
		return 1;
	for (size_t i = 0; i < heap_words; i++)
		heap_block[i] = HEAP_PATTERN ^ i;
	if (sparse_gib) {
		size_t len = sparse_gib << 30;
		char *touched = mmap(NULL, len, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		void *none = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				  -1, 0);

		if (touched == MAP_FAILED || none == MAP_FAILED)
			return 1;
		touched[len / 2] = 1;
	}
	pthread_barrier_init(&ready, NULL, n + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, dump_worker_entry, (void *)(i + 1))) {
			fprintf(stderr, "dumptarget: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&ready);
	printf("ready %d\n", getpid());
	fflush(stdout);
	main_tick_loop();
	return 0;
}
