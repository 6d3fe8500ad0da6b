// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the /proc parsers (userspace/common/procfs.c), with hostile input. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/procfs.h"

static const char stat_line[] =
	"1234 (my (evil) prog\n) S 1 1234 1234 0 -1 4194560 100 0 7 0 250 50 0 0 20 0 3 0 "
	"5000 10485760 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 "
	"0 0 0 0 9";

static void test_stat_comm_with_parens_spaces_newline(void **state)
{
	struct proc_stat st;

	assert_int_equal(procfs_parse_stat(stat_line, &st), 0);
	assert_int_equal(st.pid, 1234);
	assert_string_equal(st.comm, "my (evil) prog\n");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.minflt, 100);
	assert_int_equal(st.majflt, 7);
	assert_int_equal(st.utime, 250);
	assert_int_equal(st.stime, 50);
	assert_int_equal(st.priority, 20);
	assert_int_equal(st.nice, 0);
	assert_int_equal(st.num_threads, 3);
	assert_int_equal(st.starttime, 5000);
	assert_int_equal(st.vsize, 10485760);
	assert_int_equal(st.rss, 300);
	assert_int_equal(st.processor, 1);
	assert_int_equal(st.exit_code, 9);
}

static void test_stat_rejects_garbage(void **state)
{
	struct proc_stat st;

	assert_int_equal(procfs_parse_stat("", &st), -EINVAL);
	assert_int_equal(procfs_parse_stat("12 (x", &st), -EINVAL);
	assert_int_equal(procfs_parse_stat("12 x) S 1", &st), -EINVAL);
	assert_int_equal(procfs_parse_stat("12 (x) S 1 2", &st), -EINVAL);
	assert_int_equal(procfs_parse_stat("12 (x) 9 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 "
					   "18 19 20 21 22", &st), -EINVAL);
	assert_int_equal(procfs_parse_stat(NULL, &st), -EINVAL);
}

static void test_stat_long_comm_truncated(void **state)
{
	char buf[512];
	struct proc_stat st;

	snprintf(buf, sizeof(buf), "7 (%0200d) R 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9 4096 1",
		 0);
	assert_int_equal(procfs_parse_stat(buf, &st), 0);
	assert_int_equal(strlen(st.comm), PROC_COMM_MAX - 1);
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.rss, 1);
}

static void test_status(void **state)
{
	static const char status[] = "Name:\tcat\\nx\nUmask:\t0022\nState:\tS (sleeping)\n"
				     "Tgid:\t42\nNgid:\t0\nPid:\t42\nPPid:\t7\nTracerPid:\t9\n"
				     "Uid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\n"
				     "NSpid:\t42\t3\nVmPeak:\t  2000 kB\nVmSize:\t  1500 kB\n"
				     "VmHWM:\t   300 kB\nVmRSS:\t   200 kB\nRssAnon:\t 100 kB\n"
				     "Threads:\t4\nSigCgt:\t0000000000004002\n"
				     "CapEff:\t000001ffffffffff\n"
				     "voluntary_ctxt_switches:\t11\nnonvoluntary_ctxt_switches:\t3\n";
	struct proc_status st;

	assert_int_equal(procfs_parse_status(status, &st), 0);
	assert_string_equal(st.name, "cat\\nx");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.tgid, 42);
	assert_int_equal(st.ppid, 7);
	assert_int_equal(st.tracer_pid, 9);
	assert_int_equal(st.uid[0], 1000);
	assert_int_equal(st.uid[1], 1001);
	assert_int_equal(st.gid[3], 8);
	assert_int_equal(st.nspid_count, 2);
	assert_int_equal(st.nspid[1], 3);
	assert_int_equal(st.vm_peak, 2000 * 1024);
	assert_int_equal(st.vm_rss, 200 * 1024);
	assert_int_equal(st.rss_anon, 100 * 1024);
	assert_true(st.has_vm);
	assert_int_equal(st.threads, 4);
	assert_int_equal(st.sig_cgt, 0x4002);
	assert_int_equal(st.cap_eff, 0x1ffffffffffULL);
	assert_int_equal(st.voluntary_ctxt_switches, 11);
	assert_int_equal(st.nonvoluntary_ctxt_switches, 3);
}

static void test_status_kernel_thread_and_garbage(void **state)
{
	struct proc_status st;

	assert_int_equal(procfs_parse_status("Name:\tkworker/0:1\nState:\tI (idle)\n", &st), 0);
	assert_false(st.has_vm);
	assert_int_equal(procfs_parse_status("garbage\nmore", &st), -EINVAL);
	assert_int_equal(procfs_parse_status("", &st), -EINVAL);
	/* NSpid with more levels than we keep must not overflow. */
	{
		char buf[1024] = "Name:\tx\nNSpid:";

		for (int i = 0; i < 100; i++)
			strcat(buf, "\t1");
		assert_int_equal(procfs_parse_status(buf, &st), 0);
		assert_int_equal(st.nspid_count, PROC_NS_LEVELS);
	}
}

static void test_maps_lines(void **state)
{
	struct proc_map m;

	assert_int_equal(procfs_parse_maps_line("55d0c0a00000-55d0c0a02000 r-xp 00001000 fd:01 "
						"1234                       /usr/bin/my prog (deleted)\n",
						&m),
			 0);
	assert_int_equal(m.start, 0x55d0c0a00000ULL);
	assert_int_equal(m.end, 0x55d0c0a02000ULL);
	assert_string_equal(m.perms, "r-xp");
	assert_int_equal(m.offset, 0x1000);
	assert_int_equal(m.dev_major, 0xfd);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.inode, 1234);
	assert_string_equal(m.path, "/usr/bin/my prog");
	assert_true(m.deleted);

	assert_int_equal(procfs_parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0", &m), 0);
	assert_string_equal(m.path, "");
	assert_false(m.deleted);

	assert_int_equal(procfs_parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0    "
						"      [stack]", &m), 0);
	assert_string_equal(m.path, "[stack]");

	assert_int_equal(procfs_parse_maps_line("", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("zzzz-1 rw-p 0 0:0 0", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("2000-1000 rw-p 0 00:00 0", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("1000-2000 rw 0 00:00 0", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("1000-2000 rw-p 0 00:00", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("1000-2000 rw-p 0 00 0", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("1000-2000 rw-p 0 00:00 0x1 /a", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("1-10000000000000000 rw-p 0 00:00 0", &m), -EINVAL);
	assert_int_equal(procfs_parse_maps_line("1000-2000 rw-p 0 100000000:00 0", &m), -EINVAL);

	/* Upper-case hex, and the largest values. */
	assert_int_equal(procfs_parse_maps_line("7FFD1000-ffffffffffffffff r--s 0000000A "
						"0A:fFfFfFfF 18446744073709551615 /x\n", &m),
			 0);
	assert_int_equal(m.start, 0x7ffd1000ULL);
	assert_int_equal(m.end, 0xffffffffffffffffULL);
	assert_string_equal(m.perms, "r--s");
	assert_int_equal(m.offset, 10);
	assert_int_equal(m.dev_major, 10);
	assert_int_equal(m.dev_minor, 0xffffffffu);
	assert_int_equal(m.inode, 18446744073709551615ULL);
	assert_string_equal(m.path, "/x");
}

struct env_seen {
	int count;
	char last_name[64];
	size_t last_value_len;
};

static int count_env(const char *name, size_t name_len, const char *value, size_t value_len,
		     void *ctx)
{
	struct env_seen *seen = ctx;

	seen->count++;
	memcpy(seen->last_name, name, name_len < 63 ? name_len : 63);
	seen->last_name[name_len < 63 ? name_len : 63] = '\0';
	seen->last_value_len = value_len;
	return 0;
}

static void test_environ(void **state)
{
	static const char env[] = "A=1\0B=x=y\0NOEQ\0\0C=\xff\xfe"; /* unterminated last */
	struct env_seen seen = { 0 };

	assert_int_equal(procfs_parse_environ(env, sizeof(env) - 1, count_env, &seen), 0);
	assert_int_equal(seen.count, 4);
	assert_string_equal(seen.last_name, "C");
	assert_int_equal(seen.last_value_len, 2);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(procfs_parse_environ("", 0, count_env, &seen), 0);
	assert_int_equal(seen.count, 0);
}

static void test_io(void **state)
{
	struct proc_io io;

	assert_int_equal(procfs_parse_io("rchar: 10\nwchar: 20\nread_bytes: 4096\n"
					 "write_bytes: 8192\n", &io), 0);
	assert_int_equal(io.rchar, 10);
	assert_int_equal(io.write_bytes, 8192);
	assert_int_equal(procfs_parse_io("nothing here", &io), -EINVAL);
}

/* Whole files in both modes, the buffer kept and reused across calls, errors. */
static void test_read_at(void **state)
{
	char dir[] = "/tmp/td-procfs-XXXXXX", path[64], *buf = NULL;
	size_t cap = 0, big = 100 * 1024;
	char *data = malloc(big);
	ssize_t n;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/big", dir);
	for (size_t i = 0; i < big; i++)
		data[i] = 'a' + i % 26;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, big), (ssize_t)big);
	close(fd);
	for (int to_eof = 0; to_eof < 2; to_eof++) {
		assert_int_equal(procfs_read_at(AT_FDCWD, path, &buf, &cap, to_eof), (ssize_t)big);
		assert_memory_equal(buf, data, big);
		assert_int_equal(buf[big], '\0');
	}
	/* A shorter file into the same buffer: its own length, NUL-terminated. */
	n = procfs_read_at(AT_FDCWD, "/proc/self/comm", &buf, &cap, false);
	assert_string_equal(buf, "test_procfs\n");
	assert_int_equal(n, (ssize_t)strlen(buf));
	assert_true(cap >= big);
	assert_int_equal(procfs_read_at(AT_FDCWD, "/proc/self/no-such-file", &buf, &cap, true),
			 -ENOENT);
	unlink(path);
	rmdir(dir);
	free(buf);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_comm_with_parens_spaces_newline),
		cmocka_unit_test(test_stat_rejects_garbage),
		cmocka_unit_test(test_stat_long_comm_truncated),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_kernel_thread_and_garbage),
		cmocka_unit_test(test_maps_lines),
		cmocka_unit_test(test_environ),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_read_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
