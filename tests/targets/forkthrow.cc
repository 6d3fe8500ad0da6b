// SPDX-License-Identifier: GPL-2.0-only
/*
 * C++ throws in a forked child: after SIGUSR1 the process forks; the child throws and
 * catches one app::ChildFailed, prints "thrown <child pid>" and exits. The parent
 * throws nothing and waits.
 * Prints "ready <pid>". Usage: forkthrow
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

namespace app {
struct ChildFailed {
	int code;
};
} // namespace app

__attribute__((noinline)) void throw_in_child(int code)
{
	throw app::ChildFailed{ code };
}

int main()
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, nullptr);
	printf("ready %d\n", getpid());
	fflush(stdout);
	sigwait(&set, &sig);
	pid_t child = fork();
	if (child == 0) {
		try {
			throw_in_child(3);
		} catch (const app::ChildFailed &) {
		}
		printf("thrown %d\n", getpid());
		fflush(stdout);
		_exit(0);
	}
	waitpid(child, nullptr, 0);
	for (;;)
		pause();
}
