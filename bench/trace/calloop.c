// SPDX-License-Identifier: GPL-2.0-only
/*
 * A call loop: N calls of bench_request(), a function that starts with push %rbp (the
 * common case for code built with frame pointers; its uprobe is emulated, not
 * single-stepped), or of bench_request_nop5(), the same body after a 5-byte nop (what
 * 6.18 optimises a uprobe on into a call). Prints "ready <pid>", waits for a line on
 * stdin, then prints "result <ns per call>".
 * Usage: calloop N [bench_request|bench_request_nop5]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The same, written out so that its first instruction is a nop5 (0f 1f 44 00 00). */
long bench_request_nop5(long i);
__asm__(".text\n"
	".globl bench_request_nop5\n"
	".type bench_request_nop5, @function\n"
	"bench_request_nop5:\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	call bench_work\n"
	"	mov sink(%rip), %rax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size bench_request_nop5, .-bench_request_nop5\n");

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long (*fn)(long) = argc > 2 && !strcmp(argv[2], "bench_request_nop5") ? bench_request_nop5
									   : bench_request;
	struct timespec a, b;
	char line[16];

	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		fn(i);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("result %.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
