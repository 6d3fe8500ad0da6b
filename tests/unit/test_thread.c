// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the thread helpers (userspace/inspect/thread.c): wchan parsing, names
 * of states and policies, priorities, and the thread list of this very process. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "inspect/inspect.h"
#include "inspect/thread.h"

static void test_wchan_symbol(void **state)
{
	char out[THREAD_WCHAN_MAX];

	assert_int_equal(thread_parse_wchan("do_nanosleep", 12, out, sizeof(out)), 1);
	assert_string_equal(out, "do_nanosleep");
	assert_int_equal(thread_parse_wchan("futex_wait_queue\n", 17, out, sizeof(out)), 1);
	assert_string_equal(out, "futex_wait_queue");
	assert_int_equal(thread_parse_wchan("ep_poll.isra.0", 14, out, sizeof(out)), 1);
	assert_string_equal(out, "ep_poll.isra.0");
	/* Not NUL-terminated: only @len bytes count. */
	assert_int_equal(thread_parse_wchan("pipe_readXXXX", 9, out, sizeof(out)), 1);
	assert_string_equal(out, "pipe_read");
}

static void test_wchan_not_waiting(void **state)
{
	char out[THREAD_WCHAN_MAX] = "junk";

	assert_int_equal(thread_parse_wchan("0", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(thread_parse_wchan("", 0, out, sizeof(out)), 0);
	assert_int_equal(thread_parse_wchan("0\n", 2, out, sizeof(out)), 0);
}

static void test_wchan_hostile(void **state)
{
	char out[THREAD_WCHAN_MAX], small[4], big[THREAD_WCHAN_MAX + 10];

	assert_int_equal(thread_parse_wchan(NULL, 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(thread_parse_wchan("two words", 9, out, sizeof(out)), -EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(thread_parse_wchan("a\nb", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(thread_parse_wchan("\xff\xfe", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(thread_parse_wchan("sym\0bad", 7, out, sizeof(out)), -EINVAL);
	assert_int_equal(thread_parse_wchan("toolong", 7, small, sizeof(small)), -EINVAL);
	assert_int_equal(thread_parse_wchan("abc", 3, small, 0), -EINVAL);
	memset(big, 'a', sizeof(big));
	assert_int_equal(thread_parse_wchan(big, sizeof(big), out, sizeof(out)), -EINVAL);
}

static void test_state_and_policy_names(void **state)
{
	assert_string_equal(thread_state_name('R'), "running");
	assert_string_equal(thread_state_name('S'), "sleeping");
	assert_string_equal(thread_state_name('D'), "disk_sleep");
	assert_string_equal(thread_state_name('Z'), "zombie");
	assert_string_equal(thread_state_name('t'), "tracing_stop");
	assert_string_equal(thread_state_name('I'), "idle");
	assert_string_equal(thread_state_name('?'), "unknown");
	assert_string_equal(thread_state_name('\0'), "unknown");
	assert_string_equal(thread_policy_name(0), "SCHED_OTHER");
	assert_string_equal(thread_policy_name(1), "SCHED_FIFO");
	assert_string_equal(thread_policy_name(6), "SCHED_DEADLINE");
	assert_string_equal(thread_policy_name(99), "unknown");
}

static void test_base_priority(void **state)
{
	struct proc_stat st = { 0 };

	st.nice = -5;
	assert_int_equal(thread_base_priority(&st), 15);
	st.nice = 19;
	st.policy = 3; /* SCHED_BATCH */
	assert_int_equal(thread_base_priority(&st), 39);
	st.policy = 1;
	st.rt_priority = 50;
	assert_int_equal(thread_base_priority(&st), -51);
	st.policy = 2;
	st.rt_priority = 99;
	assert_int_equal(thread_base_priority(&st), -100);
	st.policy = 6;
	assert_int_equal(thread_base_priority(&st), -101);
}

static pthread_barrier_t named_ready, named_done;
static pid_t named_tid;
static const char odd_name[] = "x) y\nz (\xff";
/* How JSON shows it: the byte that is not UTF-8 as the text \xff (docs/json.md). */
static const char odd_name_json[] = "x) y\nz (\\xff";

static void *named_thread(void *arg)
{
	named_tid = gettid();
	pthread_setname_np(pthread_self(), odd_name);
	pthread_barrier_wait(&named_ready);
	pthread_barrier_wait(&named_done);
	return NULL;
}

/* The real thread list of this process holds a thread with a hostile name. */
static void test_list_self_with_odd_name(void **state)
{
	json_t *list = NULL, *t = NULL;
	pthread_t th;
	bool found = false;
	size_t i;
	json_t *e;

	pthread_barrier_init(&named_ready, NULL, 2);
	pthread_barrier_init(&named_done, NULL, 2);
	assert_int_equal(pthread_create(&th, NULL, named_thread, NULL), 0);
	pthread_barrier_wait(&named_ready);

	assert_int_equal(inspect__thread_list(getpid(), &list), 0);
	assert_true(json_array_size(list) >= 2);
	json_array_foreach(list, i, e) {
		if (json_integer_value(json_object_get(e, "id")) != named_tid)
			continue;
		found = true;
		assert_string_equal(json_string_value(json_object_get(e, "name")), odd_name_json);
		assert_false(json_is_true(json_object_get(e, "is_main_thread")));
	}
	assert_true(found);
	/* The first entry is the main thread: ascending ids. */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")),
			 getpid());

	/* The thread goes from one barrier to the next: it sleeps there within moments
	 * (a read may catch it between stat and wchan, so both must agree). */
	for (int tries = 0; tries < 200; tries++) {
		assert_int_equal(inspect__thread_detail(getpid(), named_tid, &t), 0);
		if (!strcmp(json_string_value(json_object_get(t, "state")), "sleeping") &&
		    json_string_value(json_object_get(t, "wait_reason")))
			break;
		json_decref(t);
		t = NULL;
		usleep(10 * 1000);
	}
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "name")), odd_name_json);
	assert_non_null(json_string_value(json_object_get(t, "wait_reason")));
	json_decref(t);

	/* A thread is not a process; a process is not a thread of another. */
	assert_int_equal(thread_group_check(named_tid), -ESRCH);
	assert_int_equal(inspect__thread_list(named_tid, &t), -ESRCH);
	assert_null(t);
	assert_int_equal(inspect__thread_detail(getpid(), 1, &t), -ENOENT);
	assert_int_equal(inspect__thread_detail(getpid(), -3, &t), -EINVAL);
	assert_int_equal(thread_group_check(0), -ESRCH);
	assert_int_equal(thread_group_check(getpid()), 0);

	pthread_barrier_wait(&named_done);
	pthread_join(th, NULL);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wchan_symbol),
		cmocka_unit_test(test_wchan_not_waiting),
		cmocka_unit_test(test_wchan_hostile),
		cmocka_unit_test(test_state_and_policy_names),
		cmocka_unit_test(test_base_priority),
		cmocka_unit_test(test_list_self_with_odd_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
