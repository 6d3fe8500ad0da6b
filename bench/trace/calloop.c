// SPDX-License-Identifier: GPL-2.0-only
/*
 * A call loop: N calls of bench_request(), a function that starts with push %rbp (the
 * common case for code built with frame pointers; its uprobe is emulated, not
 * single-stepped). Prints "ready <pid>", waits for a line on stdin, then prints
 * "result <ns per call>".
 * Usage: calloop N
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void bench_work(long i)
{
	sink += i;
}

/* Not a leaf, so the frame pointer stays and the first instruction is push %rbp. */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) long bench_request(long i)
{
	bench_work(i);
	return sink;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct timespec a, b;
	char line[16];

	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		bench_request(i);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("result %.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
