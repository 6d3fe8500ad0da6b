// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the ELF note writer (userspace/dump/notes.c): the kernel's order,
 * 4-byte padding, NT_PRSTATUS and NT_PRPSINFO fields, NT_FILE layout. */
#include <elf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <unistd.h>
#include <cmocka.h>

#include "dump/capture.h"
#include "dump/notes.h"

struct parsed {
	const char *name;
	uint32_t type;
	const unsigned char *desc;
	size_t len;
};

/* Walks @nb as a reader would; fails the test on a bad header or padding. */
static size_t parse(const struct note_buf *nb, struct parsed *out, size_t max)
{
	size_t off = 0, n = 0;

	while (off < nb->len) {
		const Elf64_Nhdr *h = (const Elf64_Nhdr *)(nb->data + off);
		size_t name_pad = (h->n_namesz + 3) & ~3u, desc_pad = (h->n_descsz + 3) & ~3u;

		assert_true(off % 4 == 0);
		assert_true(off + sizeof(*h) + name_pad + desc_pad <= nb->len);
		assert_true(n < max);
		out[n].name = (const char *)(h + 1);
		assert_int_equal(strlen(out[n].name) + 1, h->n_namesz);
		out[n].type = h->n_type;
		out[n].desc = (const unsigned char *)(h + 1) + name_pad;
		out[n].len = h->n_descsz;
		/* Padding bytes are zero. */
		for (size_t i = h->n_descsz; i < desc_pad; i++)
			assert_int_equal(out[n].desc[i], 0);
		off += sizeof(*h) + name_pad + desc_pad;
		n++;
	}
	assert_int_equal(off, nb->len);
	return n;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

/* Two threads (the second with an odd-sized register set), three mappings. */
static void fake_capture(struct capture *cap)
{
	static uint64_t auxv[] = { AT_PAGESZ, 4096, AT_NULL, 0 };

	memset(cap, 0, sizeof(*cap));
	cap->pid = 4242;
	cap->ns_pid = 1;
	cap->ns_ppid = 0;
	cap->ns_pgrp = 1;
	cap->ns_sid = 1;
	cap->uid = 1000;
	cap->gid = 100;
	cap->state = 1;
	snprintf(cap->comm, sizeof(cap->comm), "a-very-long-command-name");
	snprintf(cap->psargs, sizeof(cap->psargs), "/bin/app --flag");
	cap->auxv = malloc(sizeof(auxv));
	memcpy(cap->auxv, auxv, sizeof(auxv));
	cap->auxv_len = sizeof(auxv);

	cap->thread_count = 2;
	cap->threads = calloc(2, sizeof(*cap->threads));
	for (int i = 0; i < 2; i++) {
		struct capture_thread *t = &cap->threads[i];

		t->tid = 4242 + i;
		t->ns_tid = 1 + i;
		for (size_t r = 0; r < sizeof(t->regs) / sizeof(t->regs[0]); r++)
			t->regs[r] = 0x1000 * (i + 1) + r;
		t->utime_us = 1500000;
		t->sigpend = 0x4;
		t->sighold = 0x10000;
		t->regset_count = 1;
		t->regsets[0].type = NT_PRFPREG;
		t->regsets[0].note_name = "CORE";
		t->regsets[0].len = i ? 13 : 512;
		t->regsets[0].data = calloc(1, t->regsets[0].len);
		memset(t->regsets[0].data, 0xab, t->regsets[0].len);
	}
	cap->map_count = 3;
	cap->maps = calloc(3, sizeof(*cap->maps));
	cap->maps[0] = (struct capture_map){ .start = 0x400000, .end = 0x401000, .offset = 0,
					     .path = xstrdup("/bin/app") };
	cap->maps[1] = (struct capture_map){ .start = 0x600000, .end = 0x602000, .path = xstrdup("") };
	cap->maps[2] = (struct capture_map){ .start = 0x7f0000, .end = 0x7f3000, .offset = 0x2000,
					     .path = xstrdup("/tmp/gone.so"), .deleted = true };
}

static void test_order_and_fields(void **state)
{
	struct capture cap;
	struct note_buf nb = {};
	struct parsed n[32];
	const struct elf_prstatus *pr;
	const struct elf_prpsinfo *ps;
	size_t count;

	fake_capture(&cap);
	assert_int_equal(notes__build(&cap, &nb), 0);
	count = parse(&nb, n, 32);
	/* fs/binfmt_elf.c write_note_info(): first thread's PRSTATUS, the process notes,
	 * its other regsets; then each other thread. */
	assert_int_equal(count, 8);
	uint32_t want[] = { NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE, NT_PRFPREG,
			    NT_PRSTATUS, NT_PRFPREG };
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(n[i].type, want[i]);
		assert_string_equal(n[i].name, "CORE");
	}

	assert_int_equal(n[0].len, sizeof(struct elf_prstatus));
	pr = (const struct elf_prstatus *)n[0].desc;
	assert_int_equal(pr->pr_pid, 1); /* the target's namespace view */
	assert_int_equal(pr->pr_pgrp, 1);
	assert_int_equal(pr->pr_cursig, 0); /* a live dump: no signal */
	assert_int_equal(pr->pr_sigpend, 0x4);
	assert_int_equal(pr->pr_sighold, 0x10000);
	assert_int_equal(pr->pr_utime.tv_sec, 1);
	assert_int_equal(pr->pr_utime.tv_usec, 500000);
	assert_memory_equal(pr->pr_reg, cap.threads[0].regs, sizeof(pr->pr_reg));
	assert_int_equal(pr->pr_fpvalid, 1);
	pr = (const struct elf_prstatus *)n[6].desc;
	assert_int_equal(pr->pr_pid, 2);
	assert_int_equal(pr->pr_reg[0], 0x2000);

	ps = (const struct elf_prpsinfo *)n[1].desc;
	assert_int_equal(n[1].len, sizeof(*ps));
	assert_int_equal(ps->pr_pid, 1);
	assert_int_equal(ps->pr_uid, 1000);
	assert_int_equal(ps->pr_sname, 'S');
	assert_int_equal(ps->pr_fname[15], 0); /* cut to 15 bytes and terminated */
	assert_memory_equal(ps->pr_fname, "a-very-long-com", 15);
	assert_string_equal(ps->pr_psargs, "/bin/app --flag");

	assert_int_equal(n[2].len, sizeof(siginfo_t));
	assert_int_equal(n[3].len, cap.auxv_len);
	assert_memory_equal(n[3].desc, cap.auxv, cap.auxv_len);
	assert_int_equal(n[5].len, 512);
	assert_int_equal(n[7].len, 13); /* not a multiple of 4: padded, length kept */
	assert_int_equal(n[7].desc[12], 0xab);

	notes__free(&nb);
	capture__free(&cap);
}

/* A dump at a signal (watch --signal): the signalled thread first, pr_cursig set. */
static void test_signal_thread_first(void **state)
{
	struct capture cap;
	struct note_buf nb = {};
	struct parsed n[32];
	const struct elf_prstatus *pr;
	const siginfo_t *si;

	fake_capture(&cap);
	cap.cursig = SIGSEGV;
	cap.cursig_tid = 4243;
	cap.cursig_info.si_signo = SIGSEGV;
	cap.cursig_info.si_code = SEGV_MAPERR;
	assert_int_equal(notes__build(&cap, &nb), 0);
	assert_int_equal(parse(&nb, n, 32), 8);
	assert_int_equal(n[0].type, NT_PRSTATUS);
	pr = (const struct elf_prstatus *)n[0].desc;
	assert_int_equal(pr->pr_pid, 2); /* the second thread took the signal */
	assert_int_equal(pr->pr_cursig, SIGSEGV);
	assert_int_equal(n[2].type, NT_SIGINFO);
	si = (const siginfo_t *)n[2].desc;
	assert_int_equal(si->si_signo, SIGSEGV);
	assert_int_equal(si->si_code, SEGV_MAPERR);
	assert_int_equal(n[5].len, 13); /* its own regset follows its process notes */
	assert_int_equal(n[6].type, NT_PRSTATUS);
	pr = (const struct elf_prstatus *)n[6].desc;
	assert_int_equal(pr->pr_pid, 1);
	notes__free(&nb);
	capture__free(&cap);
}

static void test_nt_file(void **state)
{
	struct capture cap;
	const unsigned long *w;
	const char *names;
	size_t len;
	void *desc;

	fake_capture(&cap);
	assert_int_equal(notes__file_desc(&cap, &desc, &len), 0);
	w = desc;
	/* Only file-backed mappings: count, page size, {start, end, offset in pages}. */
	assert_int_equal(w[0], 2);
	assert_int_equal(w[1], sysconf(_SC_PAGESIZE));
	assert_int_equal(w[2], 0x400000);
	assert_int_equal(w[3], 0x401000);
	assert_int_equal(w[4], 0);
	assert_int_equal(w[5], 0x7f0000);
	assert_int_equal(w[6], 0x7f3000);
	assert_int_equal(w[7], 0x2000 / sysconf(_SC_PAGESIZE));
	names = (const char *)&w[8];
	assert_string_equal(names, "/bin/app");
	assert_string_equal(names + 9, "/tmp/gone.so (deleted)");
	assert_int_equal(len, 8 * sizeof(long) + 9 + 23);
	free(desc);
	capture__free(&cap);
}

static void test_add_padding(void **state)
{
	struct note_buf nb = {};
	struct parsed n[4];

	assert_int_equal(notes__add(&nb, "LINUX", 0x202, "abcde", 5), 0);
	assert_int_equal(notes__add(&nb, "CORE", 6, NULL, 0), 0);
	/* 12-byte header, "LINUX\0" padded to 8, 5 bytes padded to 8. */
	assert_int_equal(nb.len, 12 + 8 + 8 + 12 + 8);
	assert_int_equal(parse(&nb, n, 4), 2);
	assert_string_equal(n[0].name, "LINUX");
	assert_memory_equal(n[0].desc, "abcde", 5);
	assert_int_equal(n[1].len, 0);
	notes__free(&nb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_fields),
		cmocka_unit_test(test_signal_thread_first),
		cmocka_unit_test(test_nt_file),
		cmocka_unit_test(test_add_padding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
