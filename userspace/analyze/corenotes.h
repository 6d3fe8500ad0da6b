/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a core's notes and program headers say about the process, without unwinding:
 * NT_PRPSINFO (name, pid, command line), each thread's NT_PRSTATUS and NT_SIGINFO, NT_FILE
 * (which file backs which range) and the PT_LOAD segments. Parsers work on buffers so
 * tests/unit/test_corenotes.c can feed them made-up notes. x86_64 layouts (<sys/procfs.h>).
 */
#ifndef TRACEDUMP_ANALYZE_CORENOTES_H
#define TRACEDUMP_ANALYZE_CORENOTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <libelf.h>

struct core_siginfo {
	int signo, code, err;
	pid_t sender_pid;   /* for signals sent by kill()/tgkill(): si_pid */
	uid_t sender_uid;
	bool has_addr;	    /* SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP: si_addr is meaningful */
	uint64_t addr;
};

struct core_thread {
	pid_t tid;
	int cursig;		   /* pr_cursig of NT_PRSTATUS */
	bool has_siginfo;	   /* an NT_SIGINFO followed this thread's NT_PRSTATUS */
	struct core_siginfo si;
};

struct core_file {
	uint64_t start, end, offset; /* offset in bytes into the file */
	char *path;		     /* points into core_facts.file_names */
};

struct core_load {
	uint64_t vaddr, memsz, filesz, offset;
	uint32_t flags; /* PF_R | PF_W | PF_X */
};

struct core_facts {
	bool has_prpsinfo;
	char name[17];	  /* pr_fname, NUL-terminated */
	char args[81];	  /* pr_psargs: the command line, cut at 80 bytes by the writer */
	pid_t pid, ppid;
	uid_t uid;
	gid_t gid;
	char state;	  /* pr_sname: 'R', 'S', ... or 0 */

	struct core_thread *threads; /* in note order: the kernel writes the dumping thread first */
	size_t thread_count;

	struct core_file *files;
	size_t file_count;
	char *file_names;

	struct core_load *loads;
	size_t load_count;
	uint16_t e_machine;
};

/* Parsers of one note's descriptor. 0, or -EINVAL when it is too short or inconsistent. */
int corenotes__parse_prpsinfo(const void *desc, size_t len, struct core_facts *f);
int corenotes__parse_prstatus(const void *desc, size_t len, struct core_thread *t);
int corenotes__parse_siginfo(const void *desc, size_t len, struct core_siginfo *si);
int corenotes__parse_file(const void *desc, size_t len, struct core_facts *f);

/* Reads every note and PT_LOAD of @elf (an ET_CORE). -ENOEXEC when it is not a core,
 * -ENOMEM. */
int corenotes__read(Elf *elf, struct core_facts *f);
void corenotes__free(struct core_facts *f);

/*
 * Index of the thread the core is about: the first with a real signal in its NT_SIGINFO
 * (or, without one, in pr_cursig); SIGSTOP, which gdb and debuggers leave on threads they
 * stopped, does not count. -1 when no thread was signalled (a live dump).
 */
ssize_t corenotes__signalled_thread(const struct core_facts *f);

/* The path NT_FILE gives for @addr, or NULL. */
const struct core_file *corenotes__file_at(const struct core_facts *f, uint64_t addr);

/* "SIGSEGV" for 11, "SIG42" past the named ones, into @buf. */
const char *corenotes__signal_name(int signo, char *buf, size_t size);
/* "SEGV_MAPERR", "SI_USER", ... for a signal and si_code; NULL when unknown. */
const char *corenotes__code_name(int signo, int code);

#endif /* TRACEDUMP_ANALYZE_CORENOTES_H */
