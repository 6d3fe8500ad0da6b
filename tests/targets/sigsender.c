// SPDX-License-Identifier: GPL-2.0-only
/*
 * A known sender: sends each SIG (a number) to PID, 20 ms apart, then prints
 * "ready <pid>" and exits. Its comm is "sigsender".
 * Usage: sigsender PID SIG...
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: sigsender PID SIG...\n");
		return 2;
	}
	pid = atoi(argv[1]);
	for (int i = 2; i < argc; i++) {
		if (kill(pid, atoi(argv[i]))) {
			perror("kill");
			return 1;
		}
		usleep(20 * 1000);
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	return 0;
}
