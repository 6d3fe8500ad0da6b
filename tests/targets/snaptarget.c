// SPDX-License-Identifier: GPL-2.0-only
/*
 * The target of the snapshot tests (test_snapshot.py): it checks from the inside that a
 * `dump --snapshot` leaves no trace, and prints what it saw every 20 ms as
 *   stat REAPED WALL_NOW PLAIN SIGCHLD OK BAD
 * REAPED: waitpid(-1, WNOHANG | __WALL) returned a child (it has none of its own);
 * WALL_NOW: the last such call said a child exists (0, not ECHILD);
 * PLAIN: waitpid(-1, WNOHANG) without __WALL said anything but ECHILD;
 * SIGCHLD: SIGCHLD handler runs;
 * OK / BAD: the main thread's blocking syscalls (nanosleep 100 ms, read of a pipe fed
 * every 30 ms, a futex wait timing out after 50 ms) that returned what they must /
 * did not (detail on stderr).
 * A counter thread writes snap_counter.a then snap_counter.b = a forever, 32 MiB apart,
 * so a core read from the live process (not a frozen copy) shows b > a.
 * Two 1 MiB regions are MADV_DONTFORK (0xab bytes) and MADV_WIPEONFORK (0xcd bytes).
 * Usage: snaptarget [MODE]: "normal"; "seccomp" (a filter makes clone/clone3 fail with
 * EPERM); "nproc" (becomes nobody with RLIMIT_NPROC 1, so clone fails with EAGAIN).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAD (32U << 20)

struct counter {
	volatile uint64_t a;
	char pad[PAD];
	volatile uint64_t b;
};
struct counter snap_counter;
unsigned char *dontfork_buf, *wipe_buf;

static volatile unsigned long reaped, wall_now, plain, sigchld, ok, bad;
static int pipefd[2];
static uint32_t futex_word;

static void on_sigchld(int sig)
{
	(void)sig;
	sigchld++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *counter_main(void *arg)
{
	(void)arg;
	for (;;) {
		snap_counter.a++;
		snap_counter.b = snap_counter.a;
		if (!(snap_counter.a & 0xfffff))
			sched_yield();
	}
	return NULL;
}

static void *waiter_main(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, WNOHANG | __WALL);

		if (r > 0) {
			reaped++;
			fprintf(stderr, "waitpid __WALL reaped %d\n", r);
		}
		wall_now = r == 0;
		r = waitpid(-1, &st, WNOHANG);
		if (r >= 0 || errno != ECHILD) {
			plain++;
			fprintf(stderr, "waitpid plain returned %d\n", r);
		}
		usleep(1000);
		if (++n % 20 == 0) {
			printf("stat %lu %lu %lu %lu %lu %lu\n", reaped, wall_now, plain, sigchld,
			       ok, bad);
			fflush(stdout);
		}
	}
	return NULL;
}

static void *feeder_main(void *arg)
{
	uint64_t seq = 0;

	(void)arg;
	for (;;) {
		usleep(30000);
		seq++;
		if (write(pipefd[1], &seq, sizeof(seq)) != sizeof(seq))
			abort();
	}
	return NULL;
}

static void check(int good, const char *what, long ret, int err)
{
	if (good) {
		ok++;
		return;
	}
	bad++;
	fprintf(stderr, "BAD %s: returned %ld errno %d\n", what, ret, err);
}

/* The main thread: always in one of three blocking syscalls. */
static void blocking_loop(void)
{
	uint64_t expect = 1;

	for (unsigned long i = 0;; i++) {
		uint64_t t0 = now_ns(), got = 0;
		long r;

		switch (i % 3) {
		case 0: {
			struct timespec d = { 0, 100 * 1000 * 1000 };

			r = syscall(SYS_nanosleep, &d, NULL);
			check(r == 0 && now_ns() - t0 >= 100000000ULL, "nanosleep", r, errno);
			break;
		}
		case 1:
			r = read(pipefd[0], &got, sizeof(got));
			/* Every number, in order: none lost, none read twice. */
			check(r == sizeof(got) && got == expect, "read", r ? (long)got : r, errno);
			expect = got + 1;
			break;
		default: {
			struct timespec d = { 0, 50 * 1000 * 1000 };

			r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &d, NULL, 0);
			check(r == -1 && errno == ETIMEDOUT && now_ns() - t0 >= 50000000ULL,
			      "futex", r, errno);
		}
		}
	}
}

static int deny_clone(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
			    &prog);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "normal";
	struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART };
	pthread_t t;

	memset(snap_counter.pad, 0x5a, sizeof(snap_counter.pad));
	dontfork_buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	wipe_buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			0);
	if (dontfork_buf == MAP_FAILED || wipe_buf == MAP_FAILED ||
	    madvise(dontfork_buf, 1 << 20, MADV_DONTFORK) ||
	    madvise(wipe_buf, 1 << 20, MADV_WIPEONFORK))
		return 1;
	memset(dontfork_buf, 0xab, 1 << 20);
	memset(wipe_buf, 0xcd, 1 << 20);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	if (pipe(pipefd))
		return 1;
	if (pthread_create(&t, NULL, counter_main, NULL) ||
	    pthread_create(&t, NULL, waiter_main, NULL) ||
	    pthread_create(&t, NULL, feeder_main, NULL))
		return 1;
	if (!strcmp(mode, "seccomp") && deny_clone()) {
		perror("seccomp");
		return 1;
	}
	if (!strcmp(mode, "nproc")) {
		struct rlimit one = { 1, 1 };

		if (setgid(65534) || setuid(65534) || setrlimit(RLIMIT_NPROC, &one)) {
			perror("nproc");
			return 1;
		}
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	blocking_loop();
	return 0;
}
