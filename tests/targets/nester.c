// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target for the latency probe's hard cases, all through handle_request(depth, delay_ms,
 * jump): it calls itself @depth times, then the innermost call sleeps @delay_ms, or with
 * @jump leaves through longjmp (no return: its uretprobe never fires).
 * After SIGUSR1 it runs MODE and prints what it did, with CLOCK_MONOTONIC times:
 *   recurse  handle_request(3, 150): 4 nested calls of ~150 ms; "recursed <ns>"
 *   deep     handle_request(5, 150) (6 nested calls, deeper than the probe times), then
 *            handle_request(0, 150); "deep <ns of the second>"
 *   jump     a call that longjmps out, "jumped <t>"; 200 ms later "stuck_start <t>",
 *            then a call stuck for 3 s; "unstuck"
 *   exec     prints "exec", then a call that execs sleep 3 (the call never returns)
 *   threads  threads "w1" and "w2" call handle_request(0, 300) and (0, 600) at once;
 *            each prints "req <tid> <ns>" (measured around the call)
 *   fork     forks a child that calls handle_request(0, 150) then (0, 3000): "child <pid>"
 *            first, then "req <tid> <ns>" after each call; the parent calls nothing
 * Prints "ready <pid>". Usage: nester MODE
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static jmp_buf escape;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

__attribute__((noinline)) long handle_request(int depth, long delay_ms, int jump)
{
	if (depth > 0)
		return handle_request(depth - 1, delay_ms, jump) + 1;
	if (jump == 2)
		execl("/bin/sleep", "sleep", "3", (char *)NULL);
	if (jump)
		longjmp(escape, 1);
	if (delay_ms > 0)
		sleep_ms(delay_ms);
	return 0;
}

/* Real-time when allowed (root), so the caller's own clock is close to the probe's. */
static void realtime(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

static void timed_request(long delay_ms)
{
	unsigned long long start = now_ns(), end;

	handle_request(0, delay_ms, 0);
	end = now_ns();
	printf("req %ld %llu\n", (long)syscall(SYS_gettid), end - start);
	fflush(stdout);
}

static void *worker(void *arg)
{
	long delay = (long)arg;

	prctl(PR_SET_NAME, delay == 300 ? "w1" : "w2");
	realtime();
	timed_request(delay);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", getpid());
	fflush(stdout);
	sigwait(&set, &sig);
	realtime();

	if (!strcmp(mode, "recurse")) {
		unsigned long long start = now_ns();

		handle_request(3, 150, 0);
		printf("recursed %llu\n", now_ns() - start);
	} else if (!strcmp(mode, "deep")) {
		unsigned long long start;

		handle_request(5, 150, 0);
		start = now_ns();
		handle_request(0, 150, 0);
		printf("deep %llu\n", now_ns() - start);
	} else if (!strcmp(mode, "jump")) {
		if (!setjmp(escape))
			handle_request(0, 0, 1);
		printf("jumped %llu\n", now_ns());
		fflush(stdout);
		sleep_ms(200);
		printf("stuck_start %llu\n", now_ns());
		fflush(stdout);
		handle_request(0, 3000, 0);
		printf("unstuck\n");
	} else if (!strcmp(mode, "exec")) {
		printf("exec\n");
		fflush(stdout);
		handle_request(0, 0, 2);
	} else if (!strcmp(mode, "threads")) {
		pthread_t a, b;

		pthread_create(&a, NULL, worker, (void *)300L);
		pthread_create(&b, NULL, worker, (void *)600L);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
	} else if (!strcmp(mode, "fork")) {
		pid_t child = fork();

		if (child == 0) {
			printf("child %d\n", getpid());
			fflush(stdout);
			timed_request(150);
			timed_request(3000);
			_exit(0);
		}
		pause();
	} else {
		fprintf(stderr, "nester: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("done\n");
	fflush(stdout);
	pause();
	return 0;
}
