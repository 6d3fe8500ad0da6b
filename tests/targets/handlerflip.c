// SPDX-License-Identifier: GPL-2.0-only
/*
 * A target that installs and removes its SIGUSR1 handler (or SIGNO's) on command,
 * for watch's route switching (test_watch_signal_routes.py). SIGRTMIN+4 always has a handler
 * that counts (the traffic of the race test). Commands are signals, taken by the
 * main thread's sigwait (blocked in every thread):
 *   SIGRTMIN+5  install the SIGUSR1 handler, print "installed"
 *   SIGRTMIN+6  SIGUSR1 back to SIG_DFL (it would kill), print "removed"
 *   SIGRTMIN+7  print "count <SIGRTMIN+4 handled> <SIGUSR1 handled>"
 *   SIGRTMIN+8  start a thread that flips the SIGUSR1 handler on and off every
 *               250-400 ms; print "flipping"
 *   SIGRTMIN+9  stop flipping with the handler installed; print "stopped <flips>"
 *   SIGRTMIN+10 SIGUSR1 to SIG_DFL and raise it at once (dies of SIGUSR1)
 * A second thread, "worker", sleeps. Prints "ready <pid>".
 * Usage: handlerflip [handled|default [SIGNO]]   (handled: the SIGUSR1 handler is
 * installed at start; SIGNO: the signal that stands for SIGUSR1 in all the above)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t rt_count, usr1_count, flipping;
static long flips;
static int flip_sig = SIGUSR1;

static void on_rt(int sig)
{
	rt_count++;
}

static void on_usr1(int sig)
{
	usr1_count++;
}

static void set_usr1(int install)
{
	struct sigaction sa = { .sa_handler = install ? on_usr1 : SIG_DFL };

	sigemptyset(&sa.sa_mask);
	sigaction(flip_sig, &sa, NULL);
}

static void *worker(void *arg)
{
	pthread_setname_np(pthread_self(), "worker");
	for (;;)
		usleep(100 * 1000);
	return NULL;
}

static void *flipper(void *arg)
{
	unsigned seed = (unsigned)getpid();
	int on = 0;

	while (flipping) {
		struct timespec ts = { 0, (250 + rand_r(&seed) % 150) * 1000000L };

		set_usr1(on);
		on = !on;
		flips++;
		nanosleep(&ts, NULL);
	}
	set_usr1(1);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_rt, .sa_flags = SA_RESTART };
	pthread_t w, f;
	sigset_t cmds;
	int sig;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN + 4, &sa, NULL);
	if (argc > 2)
		flip_sig = atoi(argv[2]);
	set_usr1(argc > 1 && !strcmp(argv[1], "handled"));
	sigemptyset(&cmds);
	for (int s = 5; s <= 10; s++)
		sigaddset(&cmds, SIGRTMIN + s);
	pthread_sigmask(SIG_BLOCK, &cmds, NULL);
	pthread_create(&w, NULL, worker, NULL);
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;) {
		sigwait(&cmds, &sig);
		sig -= SIGRTMIN;
		if (sig == 5) {
			set_usr1(1);
			printf("installed\n");
		} else if (sig == 6) {
			set_usr1(0);
			printf("removed\n");
		} else if (sig == 7) {
			printf("count %d %d\n", (int)rt_count, (int)usr1_count);
		} else if (sig == 8 && !flipping) {
			flipping = 1;
			pthread_create(&f, NULL, flipper, NULL);
			printf("flipping\n");
		} else if (sig == 9 && flipping) {
			flipping = 0;
			pthread_join(f, NULL);
			printf("stopped %ld\n", flips);
		} else if (sig == 10) {
			set_usr1(0);
			raise(flip_sig);
		}
		fflush(stdout);
	}
}
