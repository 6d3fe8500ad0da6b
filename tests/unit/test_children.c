// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for inspect/children.c against real processes: the children files and the
 * index agree, the index is as old as asked, and a child whose parent thread exited is
 * still found (the kernel hands it to another thread of the process).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "inspect/children.h"

static pid_t spawn(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool has(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

static void assert_ascending(const pid_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		assert_true(v[i - 1] < v[i]);
}

static void test_both_ways_agree(void **state)
{
	pid_t a = spawn(), b = spawn(), *files = NULL, *index = NULL;
	size_t nf = 0, ni = 0;

	if (children__have_task_files()) {
		assert_int_equal(children__from_task_files(getpid(), &files, &nf), 0);
		assert_true(has(files, nf, a) && has(files, nf, b));
		assert_ascending(files, nf);
	} else {
		assert_int_equal(children__from_task_files(getpid(), &files, &nf), -ENOSYS);
	}
	assert_int_equal(children__from_index(getpid(), 0, &index, &ni), 0);
	assert_true(has(index, ni, a) && has(index, ni, b));
	assert_ascending(index, ni);
	if (children__have_task_files()) {
		assert_int_equal(nf, ni);
		assert_memory_equal(files, index, nf * sizeof(*files));
	}
	free(files);
	free(index);
	reap(a);
	reap(b);
}

static void test_index_age(void **state)
{
	pid_t a, *kids = NULL;
	size_t n = 0;

	assert_int_equal(children__from_index(getpid(), 0, &kids, &n), 0); /* built now */
	free(kids);
	a = spawn();
	/* An index allowed to be a minute old is the one built above: no a yet. */
	assert_int_equal(children__from_index(getpid(), 60000, &kids, &n), 0);
	assert_false(has(kids, n, a));
	free(kids);
	assert_int_equal(children__from_index(getpid(), 0, &kids, &n), 0);
	assert_true(has(kids, n, a));
	free(kids);
	reap(a);
}

static void *fork_and_exit(void *arg)
{
	*(pid_t *)arg = spawn();
	return NULL;
}

static void test_child_of_exited_thread(void **state)
{
	pid_t child = 0, *kids = NULL;
	size_t n = 0;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, fork_and_exit, &child), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(child > 0);
	assert_int_equal(children__list(getpid(), &kids, &n), 0);
	assert_true(has(kids, n, child));
	free(kids);
	reap(child);
}

static void test_gone(void **state)
{
	pid_t a = spawn(), *kids = (pid_t *)1;
	size_t n = 1;

	reap(a);
	if (children__have_task_files())
		assert_int_equal(children__from_task_files(a, &kids, &n), -ESRCH);
	assert_int_equal(children__from_index(a, 0, &kids, &n), 0);
	assert_null(kids);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_ways_agree),
		cmocka_unit_test(test_index_age),
		cmocka_unit_test(test_child_of_exited_thread),
		cmocka_unit_test(test_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
