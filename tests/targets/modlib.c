// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target for `modules` and `threads`: linked against libm (uses it), dlopen()s libz at
 * run time, and names a thread with the characters /proc parsers trip on (a space, ')',
 * '(' and a newline). Prints "ready <pid> <zlib version>" once set up.
 * Usage: modlib [churn|twice]
 *   churn: also create and join short-lived threads nonstop
 *   twice: also map its own executable twice more at offset 0 (two more instances of
 *          the file) and print their addresses after the zlib version
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

/* 15 bytes, the most a thread name holds. */
const char modlib_odd_name[] = "odd) (na\nme x";

static volatile sig_atomic_t stop;
static pthread_barrier_t ready;
volatile double modlib_sink;

static void on_signal(int sig)
{
	stop = 1;
}

static void *odd_thread(void *arg)
{
	pthread_setname_np(pthread_self(), modlib_odd_name);
	pthread_barrier_wait(&ready);
	while (!stop)
		usleep(10 * 1000);
	return NULL;
}

static void *short_lived(void *arg)
{
	usleep(100);
	return NULL;
}

static void *churn_thread(void *arg)
{
	pthread_setname_np(pthread_self(), "churner");
	while (!stop) {
		pthread_t t[8];
		int n = 0;

		for (int i = 0; i < 8; i++)
			if (!pthread_create(&t[n], NULL, short_lived, NULL))
				n++;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *(*zlib_version)(void);
	volatile double x = 0.5;
	pthread_t odd, churn;
	int churning = argc > 1 && !strcmp(argv[1], "churn");
	int twice = argc > 1 && !strcmp(argv[1], "twice");
	void *extra[2] = { NULL, NULL };
	void *z;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	modlib_sink = cos(x); /* keeps libm a real dependency */
	z = dlopen("libz.so.1", RTLD_NOW);
	if (!z) {
		fprintf(stderr, "modlib: dlopen libz.so.1: %s\n", dlerror());
		return 1;
	}
	zlib_version = (const char *(*)(void))dlsym(z, "zlibVersion");
	if (!zlib_version) {
		fprintf(stderr, "modlib: no zlibVersion in libz\n");
		return 1;
	}
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&odd, NULL, odd_thread, NULL);
	pthread_barrier_wait(&ready);
	if (churning)
		pthread_create(&churn, NULL, churn_thread, NULL);

	if (twice) {
		int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

		for (int i = 0; fd >= 0 && i < 2; i++) {
			extra[i] = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
			if (extra[i] == MAP_FAILED) {
				perror("modlib: mmap");
				return 1;
			}
		}
		if (fd < 0) {
			perror("modlib: open /proc/self/exe");
			return 1;
		}
		close(fd);
		printf("ready %d %s %p %p\n", getpid(), zlib_version(), extra[0], extra[1]);
	} else {
		printf("ready %d %s\n", getpid(), zlib_version());
	}
	fflush(stdout);
	while (!stop)
		usleep(10 * 1000);
	pthread_join(odd, NULL);
	if (churning)
		pthread_join(churn, NULL);
	return 0;
}
