// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target for `ps`, `show` and `kill`: a process tree of three levels with known facts.
 * The root runs 3 threads, holds /dev/zero open as fd 42, optionally renames itself
 * (comm with spaces, ')' and a newline) and forks 2 children, each of which forks 1
 * grandchild. Every process sleeps until a signal ends it. Prints
 * "ready ROOT CHILD1 GRANDCHILD1 CHILD2 GRANDCHILD2" once all run.
 * Usage: proctree [stubborn] [nodump] [comm=NAME]
 *   stubborn: child 1 ignores SIGTERM (only SIGKILL ends it; its grandchild does not)
 *   nodump:   the root makes itself non-dumpable (its /proc directory turns root-owned)
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static pthread_barrier_t ready;

static void *sleeper(void *arg)
{
	pthread_barrier_wait(&ready);
	for (;;)
		pause();
	return NULL;
}

/* Forks a process that runs @fn; the pid, or exits on failure. */
static pid_t spawn(void (*fn)(int wfd, int arg), int wfd, int arg)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("proctree: fork");
		exit(1);
	}
	if (pid == 0) {
		fn(wfd, arg);
		_exit(0);
	}
	return pid;
}

static void grandchild(int wfd, int n)
{
	char name[16];

	snprintf(name, sizeof(name), "pt-grand-%d", n);
	prctl(PR_SET_NAME, name);
	signal(SIGTERM, SIG_DFL);
	for (;;)
		pause();
}

static void child(int wfd, int n)
{
	char name[16];
	pid_t report[3]; /* n, child, grandchild: one write, so reports never interleave */

	snprintf(name, sizeof(name), "pt-child-%d", n);
	prctl(PR_SET_NAME, name);
	report[0] = n;
	report[1] = getpid();
	report[2] = spawn(grandchild, wfd, n);
	if (write(wfd, report, sizeof(report)) != sizeof(report))
		_exit(1);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int stubborn = 0, nodump = 0, fds[2], zero;
	const char *comm = NULL;
	pid_t got[4];
	pthread_t t[2];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "stubborn"))
			stubborn = 1;
		else if (!strcmp(argv[i], "nodump"))
			nodump = 1;
		else if (!strncmp(argv[i], "comm=", 5))
			comm = argv[i] + 5;
	}
	zero = open("/dev/zero", O_RDONLY);
	if (zero < 0 || dup2(zero, 42) < 0) {
		perror("proctree: /dev/zero");
		return 1;
	}
	close(zero);
	if (pipe(fds)) {
		perror("proctree: pipe");
		return 1;
	}
	/* Child 1 inherits an ignored SIGTERM; its grandchild restores the default. */
	if (stubborn)
		signal(SIGTERM, SIG_IGN);
	spawn(child, fds[1], 1);
	signal(SIGTERM, SIG_DFL);
	spawn(child, fds[1], 2);
	close(fds[1]);
	for (int i = 0; i < 2; i++) {
		pid_t report[3];

		if (read(fds[0], report, sizeof(report)) != sizeof(report) || report[0] < 1 ||
		    report[0] > 2) {
			fprintf(stderr, "proctree: a child did not report\n");
			return 1;
		}
		got[2 * (report[0] - 1)] = report[1];
		got[2 * (report[0] - 1) + 1] = report[2];
	}
	close(fds[0]);
	pthread_barrier_init(&ready, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, sleeper, NULL);
	pthread_barrier_wait(&ready);
	if (comm)
		prctl(PR_SET_NAME, comm);
	if (nodump)
		prctl(PR_SET_DUMPABLE, 0);
	printf("ready %d %d %d %d %d\n", getpid(), got[0], got[1], got[2], got[3]);
	fflush(stdout);
	for (;;)
		pause();
}
