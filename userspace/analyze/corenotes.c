// SPDX-License-Identifier: GPL-2.0-only
/* Notes and PT_LOADs of a core: see corenotes.h. */
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

#include "analyze/corenotes.h"

int corenotes__parse_prpsinfo(const void *desc, size_t len, struct core_facts *f)
{
	struct elf_prpsinfo ps;

	if (len < sizeof(ps))
		return -EINVAL;
	memcpy(&ps, desc, sizeof(ps));
	f->has_prpsinfo = true;
	memcpy(f->name, ps.pr_fname, sizeof(ps.pr_fname));
	f->name[sizeof(ps.pr_fname)] = '\0';
	memcpy(f->args, ps.pr_psargs, sizeof(ps.pr_psargs));
	f->args[sizeof(ps.pr_psargs)] = '\0';
	/* The kernel ends psargs with a space when the command line was cut. */
	for (size_t n = strlen(f->args); n && f->args[n - 1] == ' '; n--)
		f->args[n - 1] = '\0';
	f->pid = ps.pr_pid;
	f->ppid = ps.pr_ppid;
	f->uid = ps.pr_uid;
	f->gid = ps.pr_gid;
	f->state = (ps.pr_sname >= 'A' && ps.pr_sname <= 'z') ? ps.pr_sname : 0;
	return 0;
}

int corenotes__parse_prstatus(const void *desc, size_t len, struct core_thread *t)
{
	struct elf_prstatus pr;

	if (len < sizeof(pr))
		return -EINVAL;
	memcpy(&pr, desc, sizeof(pr));
	t->tid = pr.pr_pid;
	t->cursig = pr.pr_cursig;
	return 0;
}

static bool signal_has_addr(int signo)
{
	return signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE ||
	       signo == SIGTRAP;
}

int corenotes__parse_siginfo(const void *desc, size_t len, struct core_siginfo *si)
{
	siginfo_t s;

	if (len < sizeof(s))
		return -EINVAL;
	memcpy(&s, desc, sizeof(s));
	memset(si, 0, sizeof(*si));
	si->signo = s.si_signo;
	si->code = s.si_code;
	si->err = s.si_errno;
	/* A fault fills si_addr; a signal sent by a process (si_code <= 0) fills si_pid. */
	if (signal_has_addr(s.si_signo) && s.si_code > 0) {
		si->has_addr = true;
		si->addr = (uint64_t)(uintptr_t)s.si_addr;
	} else if (s.si_code <= 0 || s.si_signo == SIGCHLD) {
		si->sender_pid = s.si_pid;
		si->sender_uid = s.si_uid;
	}
	return 0;
}

/* Word @i of a note: descriptors are 4-byte aligned only. */
static uint64_t word(const void *desc, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)desc + i * sizeof(v), sizeof(v));
	return v;
}

int corenotes__parse_file(const void *desc, size_t len, struct core_facts *f)
{
	uint64_t count, page;
	const char *names, *end;
	size_t header;

	if (len < 2 * sizeof(uint64_t))
		return -EINVAL;
	count = word(desc, 0);
	page = word(desc, 1);
	if (count > (len / sizeof(uint64_t)) / 3)
		return -EINVAL;
	header = (2 + 3 * count) * sizeof(uint64_t);
	if (header > len)
		return -EINVAL;
	free(f->files);
	free(f->file_names);
	f->files = calloc(count ? count : 1, sizeof(*f->files));
	f->file_names = malloc(len - header + 1);
	if (!f->files || !f->file_names)
		return -ENOMEM;
	memcpy(f->file_names, (const char *)desc + header, len - header);
	f->file_names[len - header] = '\0'; /* a last name without its NUL stays bounded */
	names = f->file_names;
	end = f->file_names + (len - header);
	f->file_count = 0;
	for (uint64_t i = 0; i < count; i++) {
		struct core_file *cf = &f->files[i];

		if (names >= end && i < count)
			return -EINVAL; /* fewer names than ranges */
		cf->start = word(desc, 2 + 3 * i);
		cf->end = word(desc, 3 + 3 * i);
		cf->offset = word(desc, 4 + 3 * i) * page;
		cf->path = (char *)names;
		names += strlen(names) + 1;
		f->file_count++;
	}
	return 0;
}

static int add_thread(struct core_facts *f, const struct core_thread *t)
{
	struct core_thread *n = realloc(f->threads, (f->thread_count + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	f->threads = n;
	f->threads[f->thread_count++] = *t;
	return 0;
}

static int read_notes(Elf *elf, const GElf_Phdr *ph, struct core_facts *f)
{
	Elf_Data *data = elf_getdata_rawchunk(elf, ph->p_offset, ph->p_filesz, ELF_T_NHDR);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	int err;

	if (!data)
		return -EINVAL;
	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;
		const void *desc = (const char *)data->d_buf + desc_off;

		/* Register sets are "LINUX" notes; libdwfl reads them itself. */
		if (nh.n_namesz != 5 || memcmp(name, "CORE", 5))
			continue;
		switch (nh.n_type) {
		case NT_PRSTATUS: {
			struct core_thread t = {};

			if (corenotes__parse_prstatus(desc, nh.n_descsz, &t) == 0) {
				err = add_thread(f, &t);
				if (err)
					return err;
			}
			break;
		}
		case NT_PRPSINFO:
			corenotes__parse_prpsinfo(desc, nh.n_descsz, f);
			break;
		case NT_SIGINFO:
			/* The kernel writes one after the dumping thread's NT_PRSTATUS; gdb one
			 * after each thread's. */
			if (f->thread_count) {
				struct core_thread *t = &f->threads[f->thread_count - 1];

				if (corenotes__parse_siginfo(desc, nh.n_descsz, &t->si) == 0)
					t->has_siginfo = true;
			}
			break;
		case NT_FILE:
			err = corenotes__parse_file(desc, nh.n_descsz, f);
			if (err == -ENOMEM)
				return err;
			break;
		}
	}
	return 0;
}

int corenotes__read(Elf *elf, struct core_facts *f)
{
	size_t phnum;
	GElf_Ehdr eh;
	int err;

	memset(f, 0, sizeof(*f));
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || eh.e_type != ET_CORE)
		return -ENOEXEC;
	f->e_machine = eh.e_machine;
	if (elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph))
			continue;
		if (ph.p_type == PT_LOAD) {
			struct core_load *n = realloc(f->loads, (f->load_count + 1) * sizeof(*n));

			if (!n) {
				err = -ENOMEM;
				goto fail;
			}
			f->loads = n;
			f->loads[f->load_count++] = (struct core_load){
				.vaddr = ph.p_vaddr, .memsz = ph.p_memsz, .filesz = ph.p_filesz,
				.offset = ph.p_offset, .flags = ph.p_flags,
			};
		} else if (ph.p_type == PT_NOTE && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
			   eh.e_machine == EM_X86_64) {
			/* The layouts of <sys/procfs.h> are this build's, x86_64. */
			err = read_notes(elf, &ph, f);
			if (err)
				goto fail;
		}
	}
	return 0;
fail:
	corenotes__free(f);
	return err;
}

void corenotes__free(struct core_facts *f)
{
	free(f->threads);
	free(f->files);
	free(f->file_names);
	free(f->loads);
	memset(f, 0, sizeof(*f));
}

static bool real_signal(int signo)
{
	return signo > 0 && signo != SIGSTOP;
}

ssize_t corenotes__signalled_thread(const struct core_facts *f)
{
	for (size_t i = 0; i < f->thread_count; i++)
		if (f->threads[i].has_siginfo && real_signal(f->threads[i].si.signo))
			return (ssize_t)i;
	for (size_t i = 0; i < f->thread_count; i++)
		if (!f->threads[i].has_siginfo && real_signal(f->threads[i].cursig))
			return (ssize_t)i;
	return -1;
}

const struct core_file *corenotes__file_at(const struct core_facts *f, uint64_t addr)
{
	for (size_t i = 0; i < f->file_count; i++)
		if (addr >= f->files[i].start && addr < f->files[i].end)
			return &f->files[i];
	return NULL;
}

const char *corenotes__signal_name(int signo, char *buf, size_t size)
{
	const char *abbrev = signo > 0 ? sigabbrev_np(signo) : NULL;

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "SIG%d", signo);
	return buf;
}

const char *corenotes__code_name(int signo, int code)
{
	switch (code) {
	case SI_USER:
		return "SI_USER";
	case SI_KERNEL:
		return "SI_KERNEL";
	case SI_QUEUE:
		return "SI_QUEUE";
	case SI_TIMER:
		return "SI_TIMER";
	case SI_MESGQ:
		return "SI_MESGQ";
	case SI_ASYNCIO:
		return "SI_ASYNCIO";
	case SI_TKILL:
		return "SI_TKILL";
	}
	switch (signo) {
	case SIGSEGV:
		switch (code) {
		case SEGV_MAPERR: return "SEGV_MAPERR";
		case SEGV_ACCERR: return "SEGV_ACCERR";
		case SEGV_BNDERR: return "SEGV_BNDERR";
		case SEGV_PKUERR: return "SEGV_PKUERR";
		}
		break;
	case SIGBUS:
		switch (code) {
		case BUS_ADRALN: return "BUS_ADRALN";
		case BUS_ADRERR: return "BUS_ADRERR";
		case BUS_OBJERR: return "BUS_OBJERR";
		case BUS_MCEERR_AR: return "BUS_MCEERR_AR";
		case BUS_MCEERR_AO: return "BUS_MCEERR_AO";
		}
		break;
	case SIGILL:
		switch (code) {
		case ILL_ILLOPC: return "ILL_ILLOPC";
		case ILL_ILLOPN: return "ILL_ILLOPN";
		case ILL_ILLADR: return "ILL_ILLADR";
		case ILL_ILLTRP: return "ILL_ILLTRP";
		case ILL_PRVOPC: return "ILL_PRVOPC";
		case ILL_PRVREG: return "ILL_PRVREG";
		case ILL_COPROC: return "ILL_COPROC";
		case ILL_BADSTK: return "ILL_BADSTK";
		}
		break;
	case SIGFPE:
		switch (code) {
		case FPE_INTDIV: return "FPE_INTDIV";
		case FPE_INTOVF: return "FPE_INTOVF";
		case FPE_FLTDIV: return "FPE_FLTDIV";
		case FPE_FLTOVF: return "FPE_FLTOVF";
		case FPE_FLTUND: return "FPE_FLTUND";
		case FPE_FLTRES: return "FPE_FLTRES";
		case FPE_FLTINV: return "FPE_FLTINV";
		case FPE_FLTSUB: return "FPE_FLTSUB";
		}
		break;
	case SIGTRAP:
		switch (code) {
		case TRAP_BRKPT: return "TRAP_BRKPT";
		case TRAP_TRACE: return "TRAP_TRACE";
		}
		break;
	}
	return NULL;
}
