// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the core note parsers (userspace/analyze/corenotes.c): NT_PRPSINFO,
 * NT_PRSTATUS, NT_SIGINFO, NT_FILE (well-formed and malformed), the signalled thread. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <cmocka.h>

#include "analyze/corenotes.h"

static void test_prpsinfo(void **state)
{
	struct elf_prpsinfo ps = {};
	struct core_facts f = {};

	ps.pr_sname = 'S';
	ps.pr_pid = 4242;
	ps.pr_ppid = 1;
	ps.pr_uid = 1000;
	memcpy(ps.pr_fname, "0123456789abcdef", 16); /* no NUL: all 16 bytes used */
	memcpy(ps.pr_psargs, "/usr/bin/app --flag  ", 21);
	assert_int_equal(corenotes__parse_prpsinfo(&ps, sizeof(ps), &f), 0);
	assert_true(f.has_prpsinfo);
	assert_string_equal(f.name, "0123456789abcdef");
	assert_string_equal(f.args, "/usr/bin/app --flag"); /* trailing spaces dropped */
	assert_int_equal(f.pid, 4242);
	assert_int_equal(f.uid, 1000);
	assert_int_equal(f.state, 'S');
	/* Short descriptor: refused, nothing set. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(corenotes__parse_prpsinfo(&ps, sizeof(ps) - 1, &f), -EINVAL);
	assert_false(f.has_prpsinfo);
}

static void test_prstatus(void **state)
{
	struct elf_prstatus pr = {};
	struct core_thread t = {};

	pr.pr_pid = 77;
	pr.pr_cursig = SIGABRT;
	assert_int_equal(corenotes__parse_prstatus(&pr, sizeof(pr), &t), 0);
	assert_int_equal(t.tid, 77);
	assert_int_equal(t.cursig, SIGABRT);
	assert_int_equal(corenotes__parse_prstatus(&pr, 10, &t), -EINVAL);
}

static void test_siginfo_fault_and_sender(void **state)
{
	struct core_siginfo si;
	siginfo_t s = {};

	s.si_signo = SIGSEGV;
	s.si_code = SEGV_ACCERR;
	s.si_addr = (void *)0xdeadbeef000;
	assert_int_equal(corenotes__parse_siginfo(&s, sizeof(s), &si), 0);
	assert_int_equal(si.signo, SIGSEGV);
	assert_true(si.has_addr);
	assert_true(si.addr == 0xdeadbeef000);
	assert_int_equal(si.sender_pid, 0);

	/* kill(2) of SIGSEGV: si_code SI_USER, the sender's pid, no fault address. */
	memset(&s, 0, sizeof(s));
	s.si_signo = SIGSEGV;
	s.si_code = SI_USER;
	s.si_pid = 999;
	s.si_uid = 5;
	assert_int_equal(corenotes__parse_siginfo(&s, sizeof(s), &si), 0);
	assert_false(si.has_addr);
	assert_int_equal(si.sender_pid, 999);
	assert_int_equal(si.sender_uid, 5);

	assert_int_equal(corenotes__parse_siginfo(&s, sizeof(s) - 1, &si), -EINVAL);
}

/* An NT_FILE descriptor: count, page size, (start, end, page offset) each, names. */
static size_t make_file_note(unsigned char *buf, const char *const *names, size_t n)
{
	uint64_t *w = (uint64_t *)buf;
	size_t off = (2 + 3 * n) * 8;

	w[0] = n;
	w[1] = 4096;
	for (size_t i = 0; i < n; i++) {
		w[2 + 3 * i] = 0x1000 * (i + 1) * 16;
		w[3 + 3 * i] = 0x1000 * (i + 1) * 16 + 0x2000;
		w[4 + 3 * i] = i; /* pages */
		strcpy((char *)buf + off, names[i]);
		off += strlen(names[i]) + 1;
	}
	return off;
}

static void test_file_note(void **state)
{
	static const char *const names[] = { "/usr/bin/app", "/lib/libc.so.6",
					     "/tmp/x (deleted)" };
	unsigned char buf[512];
	struct core_facts f = {};
	size_t len = make_file_note(buf, names, 3);

	assert_int_equal(corenotes__parse_file(buf, len, &f), 0);
	assert_int_equal(f.file_count, 3);
	assert_string_equal(f.files[0].path, "/usr/bin/app");
	assert_string_equal(f.files[2].path, "/tmp/x (deleted)");
	assert_true(f.files[1].offset == 4096);
	assert_true(f.files[1].start == 0x20000 && f.files[1].end == 0x22000);
	assert_ptr_equal(corenotes__file_at(&f, 0x21fff), &f.files[1]);
	assert_null(corenotes__file_at(&f, 0x22000));
	corenotes__free(&f);

	/* A count larger than the note, fewer names than ranges, a short note. */
	((uint64_t *)buf)[0] = 1000;
	assert_int_equal(corenotes__parse_file(buf, len, &f), -EINVAL);
	corenotes__free(&f);
	len = make_file_note(buf, names, 3);
	assert_int_equal(corenotes__parse_file(buf, (2 + 9) * 8 + 5, &f), -EINVAL);
	corenotes__free(&f);
	assert_int_equal(corenotes__parse_file(buf, 8, &f), -EINVAL);
	corenotes__free(&f);
	/* The last name without its NUL stays bounded. */
	assert_int_equal(corenotes__parse_file(buf, len - 1, &f), 0);
	assert_string_equal(f.files[2].path, "/tmp/x (deleted)");
	corenotes__free(&f);
}

static void test_signalled_thread(void **state)
{
	struct core_thread th[3] = {};
	struct core_facts f = { .threads = th, .thread_count = 3 };

	th[0].tid = 10;
	th[1].tid = 11;
	th[2].tid = 12;
	/* A live dump: no signal anywhere. */
	assert_int_equal(corenotes__signalled_thread(&f), -1);
	/* gdb: every thread stopped with SIGSTOP, one with the crash. */
	th[0].has_siginfo = th[1].has_siginfo = th[2].has_siginfo = true;
	th[0].si.signo = SIGSTOP;
	th[1].si.signo = SIGSTOP;
	th[2].si.signo = SIGBUS;
	assert_int_equal(corenotes__signalled_thread(&f), 2);
	/* The kernel: one NT_SIGINFO, after the first thread; pr_cursig set on all. */
	memset(th, 0, sizeof(th));
	th[0].tid = 10;
	th[0].has_siginfo = true;
	th[0].si.signo = SIGABRT;
	th[0].cursig = th[1].cursig = th[2].cursig = SIGABRT;
	assert_int_equal(corenotes__signalled_thread(&f), 0);
	/* No NT_SIGINFO at all: pr_cursig decides. */
	memset(th, 0, sizeof(th));
	th[1].cursig = SIGFPE;
	assert_int_equal(corenotes__signalled_thread(&f), 1);
}

static void test_names(void **state)
{
	char buf[32];

	assert_string_equal(corenotes__signal_name(SIGSEGV, buf, sizeof(buf)), "SIGSEGV");
	assert_string_equal(corenotes__signal_name(75, buf, sizeof(buf)),
			    "SIG75");
	assert_string_equal(corenotes__code_name(SIGSEGV, SEGV_MAPERR), "SEGV_MAPERR");
	assert_string_equal(corenotes__code_name(SIGFPE, FPE_INTDIV), "FPE_INTDIV");
	assert_string_equal(corenotes__code_name(SIGSEGV, SI_USER), "SI_USER");
	assert_null(corenotes__code_name(SIGSEGV, 99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prpsinfo),
		cmocka_unit_test(test_prstatus),
		cmocka_unit_test(test_siginfo_fault_and_sender),
		cmocka_unit_test(test_file_note),
		cmocka_unit_test(test_signalled_thread),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
