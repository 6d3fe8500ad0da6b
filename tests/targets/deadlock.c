// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two threads in a lock-order deadlock: "locker-ab" holds lock_a and waits for lock_b in
 * take_b_after_a(), "locker-ba" holds lock_b and waits for lock_a in take_a_after_b().
 * Prints "ready <pid>" once both wait on their second lock; the main thread then waits
 * in pthread_join. Built also without
 * debug info (deadlock-nodebug) and stripped (deadlock-stripped) by the Makefile.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

__attribute__((noinline)) void take_b_after_a(void)
{
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_b);
}

__attribute__((noinline)) void take_a_after_b(void)
{
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_a);
}

static void *ab(void *arg)
{
	pthread_setname_np(pthread_self(), "locker-ab");
	take_b_after_a();
	return NULL;
}

static void *ba(void *arg)
{
	pthread_setname_np(pthread_self(), "locker-ba");
	take_a_after_b();
	return NULL;
}

int main(void)
{
	pthread_t t1, t2;

	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&t1, NULL, ab, NULL);
	pthread_create(&t2, NULL, ba, NULL);
	/* Both hold their first lock and wait for the second: glibc marks a mutex with a
	 * waiter 2, then the waiter sleeps in the futex. */
	while (lock_a.__data.__lock != 2 || lock_b.__data.__lock != 2)
		usleep(1000);
	usleep(20 * 1000);
	printf("ready %d\n", getpid());
	fflush(stdout);
	pthread_join(t1, NULL);
	return 0;
}
