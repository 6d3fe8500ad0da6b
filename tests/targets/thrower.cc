// SPDX-License-Identifier: GPL-2.0-only
/*
 * C++ throws: on each SIGUSR1, a thread named "thrower" throws and catches N
 * std::runtime_error from throw_runtime() and one app::RequestFailed from
 * throw_custom(), then prints "thrown <tid> <count>".
 * Prints "ready <pid> <thrower tid>".
 * Usage: thrower [N]   (default 3)
 */
#include <pthread.h>
#include <signal.h>
#include <stdexcept>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace app {
struct RequestFailed {
	int code;
};
} // namespace app

static int n = 3;
static pid_t thrower_tid;
static pthread_barrier_t ready;

__attribute__((noinline)) void throw_runtime(int i)
{
	throw std::runtime_error("boom " + std::to_string(i));
}

__attribute__((noinline)) void throw_custom(int code)
{
	throw app::RequestFailed{ code };
}

static void *thrower(void *)
{
	sigset_t set;
	int sig;

	pthread_setname_np(pthread_self(), "thrower");
	thrower_tid = syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_barrier_wait(&ready);
	for (;;) {
		int count = 0;

		sigwait(&set, &sig);
		for (int i = 0; i < n; i++) {
			try {
				throw_runtime(i);
			} catch (const std::exception &) {
				count++;
			}
		}
		try {
			throw_custom(7);
		} catch (const app::RequestFailed &) {
			count++;
		}
		printf("thrown %d %d\n", thrower_tid, count);
		fflush(stdout);
	}
	return nullptr;
}

int main(int argc, char **argv)
{
	sigset_t set;
	pthread_t t;

	if (argc > 1)
		n = atoi(argv[1]);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);
	pthread_barrier_init(&ready, nullptr, 2);
	pthread_create(&t, nullptr, thrower, nullptr);
	pthread_barrier_wait(&ready);
	printf("ready %d %d\n", getpid(), thrower_tid);
	fflush(stdout);
	for (;;)
		pause();
}
