// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dump target: NTHREADS workers, each blocked in a known chain of functions
 * (dump_worker_entry -> dump_worker_level1 -> dump_worker_level2), a known global,
 * and HEAP_MIB of heap filled with a known pattern (word i is HEAP_PATTERN ^ i).
 * The main thread counts ticks in main_tick_loop and prints "tick N" every 50 ms,
 * so a test can see it run on after a dump.
 * Usage: dumptarget [NTHREADS] [HEAP_MIB] [SPARSE_GIB] [MODE]
 *   SPARSE_GIB: also map that many GiB of untouched memory (one page touched) and
 *   the same of PROT_NONE, to check that a dump stays small and fast.
 *   MODE: "pause" (default: workers sleep in pause()), "spin" (workers spin in
 *   dump_worker_spin, always runnable), "churn" (a thread keeps creating short-lived
 *   threads, so threads appear and vanish while a dump freezes the process),
 *   "leaderexit" (a "ticker" thread counts ticks and the main thread calls
 *   pthread_exit: the leader is a zombie while the process runs on).
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
unsigned char *zero_block; /* ZERO_MIB of pages written, then zeroed: present but zero */
#define ZERO_MIB 16
size_t heap_words;
volatile unsigned long ticks;

static pthread_barrier_t ready;
static int spin_mode;
volatile unsigned long spins;

__attribute__((noinline)) void dump_worker_spin(long id)
{
	for (;;)
		spins++;
}

__attribute__((noinline)) void dump_worker_level2(long id)
{
	volatile long depth = id; /* keeps a frame */

	if (spin_mode)
		dump_worker_spin(id);
	for (;;)
		pause();
	(void)depth;
}

static void *churn_child(void *arg)
{
	return arg;
}

/* Creates and joins threads forever. */
static void *churn_main(void *arg)
{
	pthread_setname_np(pthread_self(), "churner");
	for (;;) {
		pthread_t t;

		if (!pthread_create(&t, NULL, churn_child, NULL))
			pthread_join(t, NULL);
	}
	return NULL;
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

static void *ticker_main(void *arg)
{
	pthread_setname_np(pthread_self(), "ticker");
	main_tick_loop();
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 4;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 16;
	size_t sparse_gib = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	const char *mode = argc > 4 ? argv[4] : "pause";
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
	zero_block = mmap(NULL, ZERO_MIB << 20, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zero_block == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < (ZERO_MIB << 20); i += 4096) {
		zero_block[i] = 1;
		zero_block[i] = 0;
	}
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
	spin_mode = !strcmp(mode, "spin");
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
	if (!strcmp(mode, "churn")) {
		pthread_t t;

		pthread_create(&t, NULL, churn_main, NULL);
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!strcmp(mode, "leaderexit")) {
		pthread_t t;

		pthread_create(&t, NULL, ticker_main, NULL);
		pthread_exit(NULL);
	}
	main_tick_loop();
	return 0;
}
