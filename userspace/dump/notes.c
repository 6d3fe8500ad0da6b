// SPDX-License-Identifier: GPL-2.0-only
/* The ELF note writer; see notes.h. */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump/arch.h"
#include "dump/capture.h"
#include "dump/notes.h"

#define ALIGN4(x) (((x) + 3) & ~(size_t)3)

static int reserve(struct note_buf *nb, size_t more)
{
	if (nb->len + more > nb->cap) {
		size_t cap = nb->cap ? nb->cap : 4096;
		void *p;

		while (cap < nb->len + more)
			cap *= 2;
		p = realloc(nb->data, cap);
		if (!p)
			return -ENOMEM;
		nb->data = p;
		nb->cap = cap;
	}
	return 0;
}

int notes__add(struct note_buf *nb, const char *name, uint32_t type, const void *desc,
	       size_t desc_len)
{
	size_t namesz = strlen(name) + 1;
	size_t total = sizeof(Elf64_Nhdr) + ALIGN4(namesz) + ALIGN4(desc_len);
	Elf64_Nhdr h = { .n_namesz = (Elf64_Word)namesz, .n_descsz = (Elf64_Word)desc_len,
			 .n_type = type };
	unsigned char *p;

	if (desc_len > UINT32_MAX || reserve(nb, total))
		return -ENOMEM;
	p = nb->data + nb->len;
	memset(p, 0, total);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), name, namesz);
	if (desc_len)
		memcpy(p + sizeof(h) + ALIGN4(namesz), desc, desc_len);
	nb->len += total;
	return 0;
}

static void set_tv(struct timeval *tv, uint64_t us)
{
	tv->tv_sec = (time_t)(us / 1000000);
	tv->tv_usec = (suseconds_t)(us % 1000000);
}

static int add_prstatus(struct note_buf *nb, const struct capture *cap,
			const struct capture_thread *t)
{
	struct elf_prstatus pr;

	memset(&pr, 0, sizeof(pr));
	/* A live dump: no signal caused it, so pr_cursig is 0 and gdb prints no
	 * "terminated with signal"; a dump at a signal says which, as the kernel does. */
	pr.pr_cursig = (short)cap->cursig;
	pr.pr_sigpend = t->sigpend;
	pr.pr_sighold = t->sighold;
	pr.pr_pid = t->ns_tid;
	pr.pr_ppid = cap->ns_ppid;
	pr.pr_pgrp = cap->ns_pgrp;
	pr.pr_sid = cap->ns_sid;
	set_tv(&pr.pr_utime, t->utime_us);
	set_tv(&pr.pr_stime, t->stime_us);
	memcpy(&pr.pr_reg, &t->regs, sizeof(pr.pr_reg));
	pr.pr_fpvalid = t->regset_count > 0;
	return notes__add(nb, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
}

static int add_prpsinfo(struct note_buf *nb, const struct capture *cap)
{
	struct elf_prpsinfo ps;

	memset(&ps, 0, sizeof(ps));
	ps.pr_state = cap->state;
	ps.pr_sname = (cap->state >= 0 && cap->state <= 4) ? "RSDTZ"[(int)cap->state] : '.';
	ps.pr_zomb = ps.pr_sname == 'Z';
	ps.pr_nice = (char)cap->nice;
	ps.pr_flag = cap->flags;
	ps.pr_uid = cap->uid;
	ps.pr_gid = cap->gid;
	ps.pr_pid = cap->ns_pid;
	ps.pr_ppid = cap->ns_ppid;
	ps.pr_pgrp = cap->ns_pgrp;
	ps.pr_sid = cap->ns_sid;
	/* Both are fixed-size fields: truncated, NUL-terminated when there is room. */
	memcpy(ps.pr_fname, cap->comm, strnlen(cap->comm, sizeof(ps.pr_fname) - 1));
	memcpy(ps.pr_psargs, cap->psargs, strnlen(cap->psargs, sizeof(ps.pr_psargs) - 1));
	return notes__add(nb, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
}

int notes__file_desc(const struct capture *cap, void **desc, size_t *len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t count = 0, names = 0, off;
	unsigned long *words;
	char *p;

	/* Every file-backed mapping, as the kernel's fill_files_note() lists them. */
	for (size_t i = 0; i < cap->map_count; i++) {
		const struct capture_map *m = &cap->maps[i];

		if (m->path[0] != '/')
			continue;
		count++;
		names += strlen(m->path) + 1 + (m->deleted ? 10 : 0);
	}
	off = (2 + 3 * count) * sizeof(unsigned long);
	*len = off + names;
	*desc = calloc(1, *len ? *len : 1);
	if (!*desc)
		return -ENOMEM;
	words = *desc;
	words[0] = count;
	words[1] = (unsigned long)page;
	p = (char *)*desc + off;
	count = 0;
	for (size_t i = 0; i < cap->map_count; i++) {
		const struct capture_map *m = &cap->maps[i];
		size_t n = strlen(m->path);

		if (m->path[0] != '/')
			continue;
		words[2 + 3 * count] = m->start;
		words[3 + 3 * count] = m->end;
		words[4 + 3 * count] = m->offset / page;
		count++;
		memcpy(p, m->path, n);
		p += n;
		if (m->deleted) {
			memcpy(p, " (deleted)", 10);
			p += 10;
		}
		*p++ = 0;
	}
	return 0;
}

int notes__build(const struct capture *cap, struct note_buf *nb)
{
	void *files = NULL;
	size_t files_len = 0;
	siginfo_t si;
	int err;

	memset(&si, 0, sizeof(si));
	if (cap->cursig)
		si = cap->cursig_info;
	for (size_t k = 0; k < cap->thread_count; k++) {
		/* The signalled thread first (gdb's current thread), then the others in order. */
		size_t first = 0, i = k;
		const struct capture_thread *t;

		for (size_t j = 0; cap->cursig && j < cap->thread_count; j++)
			if (cap->threads[j].tid == cap->cursig_tid)
				first = j;
		if (k == 0)
			i = first;
		else if (k <= first)
			i = k - 1;
		t = &cap->threads[i];

		err = add_prstatus(nb, cap, t);
		if (err)
			goto out;
		if (k == 0) {
			err = add_prpsinfo(nb, cap);
			if (!err)
				err = notes__add(nb, "CORE", NT_SIGINFO, &si, sizeof(si));
			if (!err)
				err = notes__add(nb, "CORE", NT_AUXV, cap->auxv, cap->auxv_len);
			if (!err)
				err = notes__file_desc(cap, &files, &files_len);
			if (!err)
				err = notes__add(nb, "CORE", NT_FILE, files, files_len);
			if (err)
				goto out;
		}
		for (size_t j = 0; j < t->regset_count; j++) {
			err = notes__add(nb, t->regsets[j].note_name, t->regsets[j].type,
					 t->regsets[j].data, t->regsets[j].len);
			if (err)
				goto out;
		}
	}
	err = arch__extra_notes(cap, nb);
out:
	free(files);
	return err;
}

void notes__free(struct note_buf *nb)
{
	free(nb->data);
	memset(nb, 0, sizeof(*nb));
}
