// SPDX-License-Identifier: GPL-2.0-only
/*
 * Load for bench/ps: NPROC sleeping child processes, THREADS extra threads spread over
 * the first ten of them. Prints "ready" when all run; every child dies with this
 * process (PR_SET_PDEATHSIG), which ends on SIGTERM/SIGINT or when stdin closes.
 * Usage: spawn NPROC THREADS
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

static void child(int threads, int ready_fd)
{
	pthread_attr_t attr;
	char c = 1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, sleeper, NULL)) {
			perror("spawn: pthread_create");
			_exit(1);
		}
	}
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int nproc = argc > 1 ? atoi(argv[1]) : 1000;
	int nthreads = argc > 2 ? atoi(argv[2]) : 1000;
	int fds[2], started = 0;
	pid_t *pids;
	char c;
	sigset_t set;

	if (nproc < 1 || nproc > 100000 || nthreads < 0 || nthreads > 100000) {
		fprintf(stderr, "spawn: NPROC 1..100000, THREADS 0..100000\n");
		return 2;
	}
	pids = calloc(nproc, sizeof(*pids));
	if (!pids || pipe(fds))
		return 1;
	/* Block the ending signals before forking so that children do not inherit handlers. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (int i = 0; i < nproc; i++) {
		int per = i < 10 ? nthreads / 10 + (i < nthreads % 10) : 0;
		pid_t pid = fork();

		if (pid < 0) {
			perror("spawn: fork");
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			child(per, fds[1]);
		}
		pids[started++] = pid;
	}
	close(fds[1]);
	for (int i = 0; i < started; i++)
		if (read(fds[0], &c, 1) != 1)
			break;
	printf("ready %d processes %d threads\n", started, nthreads);
	fflush(stdout);
	/* Wait for a signal or stdin's end; the children die with us (PDEATHSIG). */
	sigprocmask(SIG_BLOCK, &set, NULL);
	{
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		siginfo_t info;

		for (;;) {
			if (sigtimedwait(&set, &info, &ts) > 0)
				break;
			/* stdin closed: the bench script died. */
			if (!isatty(STDIN_FILENO)) {
				char buf[1];
				fd_set rd;
				struct timeval tv = { 0, 0 };

				FD_ZERO(&rd);
				FD_SET(STDIN_FILENO, &rd);
				if (select(1, &rd, NULL, NULL, &tv) > 0 && read(0, buf, 1) <= 0)
					break;
			}
		}
	}
	for (int i = 0; i < started; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < started; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
	return 0;
}
