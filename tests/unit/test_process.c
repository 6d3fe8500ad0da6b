// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the parsers behind ps / show / kill: the procfs additions (stat fields,
 * cgroup lines and container ids, namespace links, cmdline, environ) and the helpers
 * of userspace/inspect/process.h, with hostile input.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/procfs.h"
#include "common/signals.h"
#include "inspect/process.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char stat_line[] =
	"1234 (a) b (c) 9 9\n) S 77 1234 1234 0 -1 2129984 100 0 7 0 250 50 0 0 20 -5 3 0 "
	"5000 10485760 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 "
	"0 0 0 0 9";

static void test_stat_field(void **state)
{
	uint64_t v;

	assert_int_equal(procfs_stat_field(stat_line, 3, &v), 0);
	assert_int_equal(v, 'S');
	assert_int_equal(procfs_stat_field(stat_line, 4, &v), 0);
	assert_int_equal(v, 77); /* not fooled by the digits and ')' inside comm */
	assert_int_equal(procfs_stat_field(stat_line, 9, &v), 0);
	assert_int_equal(v, 2129984);
	assert_true(v & PROC_PF_KTHREAD);
	assert_int_equal(procfs_stat_field(stat_line, 19, &v), 0);
	assert_int_equal((int64_t)v, -5);
	assert_int_equal(procfs_stat_field(stat_line, 22, &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(procfs_stat_field(stat_line, 52, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(procfs_stat_field(stat_line, 53, &v), -EINVAL);
	assert_int_equal(procfs_stat_field(stat_line, 2, &v), -EINVAL);
	assert_int_equal(procfs_stat_field(stat_line, -1, &v), -EINVAL);
	assert_int_equal(procfs_stat_field(NULL, 4, &v), -EINVAL);
	assert_int_equal(procfs_stat_field("12 (x", 4, &v), -EINVAL);
	assert_int_equal(procfs_stat_field("12 (x)", 3, &v), -EINVAL);
	assert_int_equal(procfs_stat_field("12 (x) S 1x 2", 4, &v), -EINVAL);
	assert_int_equal(procfs_stat_field("12 (x) S abc 2", 4, &v), -EINVAL);
	assert_int_equal(procfs_stat_field("12 (x) S 99999999999999999999999 2", 4, &v), -EINVAL);
	assert_int_equal(procfs_stat_field("12 (x) S 1\n", 5, &v), -EINVAL);
}

static void test_container_ids(void **state)
{
	char id[PROC_CONTAINER_ID_MAX + 1];
	const char *rt;

	assert_int_equal(procfs_container_id("/system.slice/docker-" ID64 ".scope", id, &rt), 1);
	assert_string_equal(id, ID64);
	assert_string_equal(rt, "docker");
	assert_int_equal(procfs_container_id("/docker/" ID64, id, &rt), 1);
	assert_string_equal(rt, "docker");
	assert_int_equal(procfs_container_id("/kubepods.slice/kubepods-burstable.slice/"
					     "kubepods-burstable-pod1.slice/cri-containerd-" ID64
					     ".scope", id, &rt), 1);
	assert_string_equal(rt, "containerd");
	assert_int_equal(procfs_container_id("/kubepods/besteffort/pod1234/" ID64, id, &rt), 1);
	assert_string_equal(rt, "kubernetes");
	assert_int_equal(procfs_container_id("/machine.slice/libpod-" ID64 ".scope/container",
					     id, &rt), 1);
	assert_string_equal(rt, "podman");
	assert_string_equal(id, ID64);
	assert_int_equal(procfs_container_id("/libpod_parent/" ID64, id, &rt), 1);
	assert_string_equal(rt, "podman");
	assert_int_equal(procfs_container_id("/crio-" ID64 ".scope", id, &rt), 1);
	assert_string_equal(rt, "crio");
	/* Nested: the innermost id wins. */
	assert_int_equal(procfs_container_id("/docker/" ID64 "/docker/"
					     "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
					     id, &rt), 1);
	assert_string_equal(id, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");

	/* Not containers. */
	assert_int_equal(procfs_container_id("/", id, &rt), 0);
	assert_string_equal(id, "");
	assert_null(rt);
	assert_int_equal(procfs_container_id("", id, &rt), 0);
	assert_int_equal(procfs_container_id(NULL, id, &rt), 0);
	assert_int_equal(procfs_container_id("/user.slice/user-1000.slice/session-2.scope", id,
					     &rt), 0);
	assert_int_equal(procfs_container_id("/machine.slice/libpod-conmon-" ID64 ".scope", id,
					     &rt), 0);
	/* A bare id with no container parent, wrong lengths, upper case, junk after. */
	assert_int_equal(procfs_container_id("/" ID64, id, &rt), 0);
	assert_int_equal(procfs_container_id("/docker-0123.scope", id, &rt), 0);
	assert_int_equal(procfs_container_id("/docker-" ID64 "0.scope", id, &rt), 0);
	assert_int_equal(procfs_container_id("/docker/0123456789ABCDEF0123456789abcdef0123456789"
					     "abcdef0123456789abcdef", id, &rt), 0);
	assert_int_equal(procfs_container_id("/docker-" ID64 ".scopex", id, &rt), 0);
	assert_int_equal(procfs_container_id("/docker-" ID64 "\n", id, &rt), 0);
	assert_int_equal(procfs_container_id("docker-////" ID64, id, &rt), 0);
}

static void test_cgroup_lines(void **state)
{
	struct proc_cgroup *cg = malloc(sizeof(*cg));

	/* cgroup v2 only. */
	assert_int_equal(procfs_parse_cgroup("0::/system.slice/docker-" ID64 ".scope\n", cg), 0);
	assert_string_equal(cg->path, "/system.slice/docker-" ID64 ".scope");
	assert_string_equal(cg->container_id, ID64);
	assert_string_equal(cg->runtime, "docker");
	/* Hybrid: the unified line is the path, wherever it is; an id in a v1 line counts. */
	assert_int_equal(procfs_parse_cgroup("12:pids:/docker/" ID64 "\n"
					     "1:name=systemd:/docker/" ID64 "\n0::/\n", cg), 0);
	assert_string_equal(cg->path, "/");
	assert_string_equal(cg->container_id, ID64);
	/* v1 only: the first line's path. */
	assert_int_equal(procfs_parse_cgroup("4:memory:/a/b\n3:cpu,cpuacct:/c\n", cg), 0);
	assert_string_equal(cg->path, "/a/b");
	assert_string_equal(cg->container_id, "");
	assert_null(cg->runtime);
	/* No final newline; a path holding ':'. */
	assert_int_equal(procfs_parse_cgroup("0::/x:y", cg), 0);
	assert_string_equal(cg->path, "/x:y");
	/* Garbage and truncations. */
	assert_int_equal(procfs_parse_cgroup("", cg), -EINVAL);
	assert_int_equal(procfs_parse_cgroup(NULL, cg), -EINVAL);
	assert_int_equal(procfs_parse_cgroup("garbage\n::\n0:\n0::\n:x:/a\n0::relative\n", cg),
			 -EINVAL);
	assert_int_equal(procfs_parse_cgroup("\n\n\n0::/ok\n", cg), 0);
	assert_string_equal(cg->path, "/ok");
	/* A path longer than PATH_MAX is cut, not overflowed. */
	{
		size_t n = PATH_MAX + 100;
		char *big = malloc(n + 8);

		memcpy(big, "0::/", 4);
		memset(big + 4, 'a', n);
		big[n + 4] = '\0';
		assert_int_equal(procfs_parse_cgroup(big, cg), 0);
		assert_int_equal(strlen(cg->path), PATH_MAX - 1);
		free(big);
	}
	free(cg);
}

static void test_ns_link(void **state)
{
	uint64_t ino;

	assert_int_equal(procfs_parse_ns_link("pid:[4026531836]", "pid", &ino), 0);
	assert_int_equal(ino, 4026531836ull);
	assert_int_equal(procfs_parse_ns_link("net:[4026531836]", "pid", &ino), -EINVAL);
	assert_int_equal(procfs_parse_ns_link("pid:[]", "pid", &ino), -EINVAL);
	assert_int_equal(procfs_parse_ns_link("pid:[12", "pid", &ino), -EINVAL);
	assert_int_equal(procfs_parse_ns_link("pid:[12]x", "pid", &ino), -EINVAL);
	assert_int_equal(procfs_parse_ns_link("pid:[-1]", "pid", &ino), -EINVAL);
	assert_int_equal(procfs_parse_ns_link("pid:[99999999999999999999999]", "pid", &ino),
			 -EINVAL);
	assert_int_equal(procfs_parse_ns_link("pi", "pid", &ino), -EINVAL);
	assert_int_equal(procfs_parse_ns_link(NULL, "pid", &ino), -EINVAL);
}

static void test_cmdline_join(void **state)
{
	char a[] = "sleep\0" "30\0";
	char b[] = "one";
	char c[] = "\0\0\0";
	char d[] = "a\0\0b\0";

	assert_int_equal(procfs_cmdline_join(a, sizeof(a) - 1), 8);
	assert_memory_equal(a, "sleep 30", 8);
	/* setproctitle()-style: no NUL at all. */
	assert_int_equal(procfs_cmdline_join(b, 3), 3);
	assert_memory_equal(b, "one", 3);
	assert_int_equal(procfs_cmdline_join(c, 3), 0);
	assert_int_equal(procfs_cmdline_join(c, 0), 0);
	/* An empty argument keeps its place. */
	assert_int_equal(procfs_cmdline_join(d, 5), 4);
	assert_memory_equal(d, "a  b", 4);
}

struct env_seen {
	int count;
	char names[8][32];
	char values[8][32];
};

static int collect_env(const char *name, size_t name_len, const char *value,
		       size_t value_len, void *ctx)
{
	struct env_seen *s = ctx;

	if (s->count >= 8)
		return 1;
	snprintf(s->names[s->count], 32, "%.*s", (int)name_len, name);
	snprintf(s->values[s->count], 32, "%.*s", (int)value_len, value);
	s->count++;
	return 0;
}

static void test_environ_hostile(void **state)
{
	/* No final NUL, empty entries, '=' first, '=' in values, bytes that are not UTF-8. */
	static const char env[] = "A=1\0\0=novar\0B=x=y\0C\0D=caf\xe9\0E=";
	struct env_seen s = { 0 };

	assert_int_equal(procfs_parse_environ(env, sizeof(env) - 1, collect_env, &s), 0);
	assert_int_equal(s.count, 5 + 1);
	assert_string_equal(s.names[0], "A");
	assert_string_equal(s.values[0], "1");
	assert_string_equal(s.names[1], "");
	assert_string_equal(s.values[1], "novar");
	assert_string_equal(s.values[2], "x=y");
	assert_string_equal(s.names[3], "C");
	assert_string_equal(s.values[3], "");
	assert_string_equal(s.values[4], "caf\xe9");
	assert_string_equal(s.names[5], "E");
	assert_string_equal(s.values[5], "");
	/* The callback stops it. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(procfs_parse_environ("A=1\0B=2\0C=3\0D=4\0E=5\0F=6\0G=7\0H=8\0I=9", 35,
					      collect_env, &s), 1);
	/* Nothing but NULs. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(procfs_parse_environ("\0\0\0", 3, collect_env, &s), 0);
	assert_int_equal(s.count, 0);
}

static void test_status_euid(void **state)
{
	uid_t uid = 1;

	assert_int_equal(process_status_euid("Name:\tx\nUid:\t1000\t65534\t1000\t1000\n", &uid), 0);
	assert_int_equal(uid, 65534);
	assert_int_equal(process_status_euid("Uid:\t0\t7\t0\t0\n", &uid), 0);
	assert_int_equal(uid, 7);
	assert_int_equal(process_status_euid("Name:\tUid:\t5 5\n", &uid), -EINVAL);
	assert_int_equal(process_status_euid("Name:\tx\nUid:\t5\n", &uid), -EINVAL);
	assert_int_equal(process_status_euid("Name:\tx\nUid:\t5\t99999999999\n", &uid), -EINVAL);
	assert_int_equal(process_status_euid("", &uid), -EINVAL);
	assert_int_equal(process_status_euid(NULL, &uid), -EINVAL);
}

static void test_name_matches(void **state)
{
	static const char argv0[] = "/usr/sbin/nginx: master";

	assert_true(process_name_matches("nginx", "nginx", NULL, 0));
	assert_true(process_name_matches("node", "MainThread", "/usr/bin/node\0app.js", 13));
	assert_true(process_name_matches("node", "x", "node", 4));
	assert_false(process_name_matches("nod", "x", "/usr/bin/node", 13));
	assert_false(process_name_matches("nginx", "x", argv0, sizeof(argv0) - 1));
	assert_false(process_name_matches("x", "y", "/", 1));
	assert_false(process_name_matches("", "y", "/", 1));
	assert_false(process_name_matches("y", "yy", NULL, 0));
	assert_true(process_name_matches("a b)\nc", "a b)\nc", NULL, 0));
}

static void test_parse_user(void **state)
{
	uid_t uid = 5;

	assert_int_equal(parse_user("root", &uid), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(parse_user("54321", &uid), 0);
	assert_int_equal(uid, 54321);
	assert_int_equal(parse_user("", &uid), -EINVAL);
	assert_int_equal(parse_user(NULL, &uid), -EINVAL);
	assert_int_equal(parse_user("no-such-user-xyz", &uid), -EINVAL);
	assert_int_equal(parse_user("4294967295", &uid), -EINVAL); /* (uid_t)-1 is "none" */
	assert_int_equal(parse_user("99999999999999999999", &uid), -EINVAL);
	assert_int_equal(parse_user("12x", &uid), -EINVAL);
}

static void test_user_cache(void **state)
{
	struct user_cache c = { 0 };

	assert_string_equal(user_cache__name(&c, 0), "root");
	assert_null(user_cache__name(&c, 54321));
	assert_string_equal(user_cache__name(&c, 0), "root");
	assert_int_equal(c.count, 2); /* each uid looked up once */
	for (uid_t u = 100000; u < 100100; u++)
		user_cache__name(&c, u);
	assert_int_equal(c.count, 102);
	user_cache__free(&c);
	assert_int_equal(c.count, 0);
}

static void test_signals(void **state)
{
	char buf[32];
	int sig = 0;

	assert_int_equal(parse_signal("TERM", &sig), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(parse_signal("sigint", &sig), 0);
	assert_int_equal(sig, SIGINT);
	assert_int_equal(parse_signal("SIGKILL", &sig), 0);
	assert_int_equal(sig, SIGKILL);
	assert_int_equal(parse_signal("1", &sig), 0);
	assert_int_equal(sig, SIGHUP);
	assert_int_equal(parse_signal("0", &sig), -EINVAL);
	assert_int_equal(parse_signal("-15", &sig), -EINVAL);
	assert_int_equal(parse_signal("65", &sig), -EINVAL);
	assert_int_equal(parse_signal("SIG", &sig), -EINVAL);
	assert_int_equal(parse_signal("", &sig), -EINVAL);
	assert_int_equal(parse_signal("TERMX", &sig), -EINVAL);
	assert_int_equal(parse_signal("15x", &sig), -EINVAL);
	assert_string_equal(signal_name(SIGTERM, buf, sizeof(buf)), "SIGTERM");
	assert_string_equal(signal_name(SIGKILL, buf, sizeof(buf)), "SIGKILL");
	assert_string_equal(signal_name(SIGRTMIN + 3, buf, sizeof(buf)), "SIGRTMIN+3");
	assert_string_equal(signal_name(200, buf, sizeof(buf)), "SIG200");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_field),
		cmocka_unit_test(test_container_ids),
		cmocka_unit_test(test_cgroup_lines),
		cmocka_unit_test(test_ns_link),
		cmocka_unit_test(test_cmdline_join),
		cmocka_unit_test(test_environ_hostile),
		cmocka_unit_test(test_status_euid),
		cmocka_unit_test(test_name_matches),
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_user_cache),
		cmocka_unit_test(test_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
