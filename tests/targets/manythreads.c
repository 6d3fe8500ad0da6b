// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many identical threads: N (default 200) workers all blocked in pthread_cond_wait() on
 * one condition from idle_worker_wait(), the "500 threads waiting on one lock" picture.
 * Prints "ready <pid>" when all are waiting. Usage: manythreads [N] [MIB]: MIB of heap
 * touched (default 0), for bigger cores.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static long waiting;

__attribute__((noinline)) void idle_worker_wait(void)
{
	pthread_mutex_lock(&lock);
	waiting++;
	for (;;)
		pthread_cond_wait(&never, &lock);
}

/* Every thread but the caller is asleep (state S): in the futex of pthread_cond_wait,
 * not on the way to it. */
static int all_asleep(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int ok = 1;

	while (ok && d && (e = readdir(d))) {
		char path[300], buf[256], *p;
		FILE *f;

		if (e->d_name[0] == '.' || atoi(e->d_name) == gettid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
			ok = p[2] == 'S';
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return ok;
}

static void *worker(void *arg)
{
	idle_worker_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200;
	long mib = argc > 2 ? atol(argv[2]) : 0;
	pthread_attr_t attr;
	char *heap;

	if (n < 1 || n > 10000 || mib < 0) {
		fprintf(stderr, "manythreads: bad arguments\n");
		return 2;
	}
	if (mib) {
		heap = malloc(mib << 20);
		if (!heap)
			return 1;
		memset(heap, 0x5a, mib << 20);
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, worker, NULL)) {
			fprintf(stderr, "manythreads: pthread_create failed\n");
			return 1;
		}
	}
	for (;;) {
		pthread_mutex_lock(&lock);
		if (waiting == n) {
			pthread_mutex_unlock(&lock);
			break;
		}
		pthread_mutex_unlock(&lock);
		usleep(1000);
	}
	while (!all_asleep())
		usleep(1000);
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;)
		pause();
}
