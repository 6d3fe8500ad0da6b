/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What is captured while the target is frozen: every thread's registers and the
 * process facts the notes need, and its mappings. The memory itself is read later,
 * from a PID given separately (the frozen target, or a forked snapshot of it), so a
 * capture can outlive the freeze.
 */
#ifndef TRACEDUMP_DUMP_CAPTURE_H
#define TRACEDUMP_DUMP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "common/procfs.h"
#include "dump/arch.h"

struct freeze;

struct capture_regset {
	unsigned int type;
	const char *note_name;
	void *data;
	size_t len;
};

struct capture_thread {
	pid_t tid;    /* as tracedump sees it */
	pid_t ns_tid; /* in the target's own PID namespace (what the kernel writes) */
	elf_gregset_t regs;
	struct capture_regset regsets[ARCH_MAX_REGSETS];
	size_t regset_count;
	uint64_t utime_us, stime_us;
	uint64_t sigpend, sighold;
};

/* VmFlags of /proc/PID/smaps that decide what a dump holds. */
enum {
	VMF_READ = 1 << 0,
	VMF_WRITE = 1 << 1,
	VMF_EXEC = 1 << 2,
	VMF_SHARED = 1 << 3,
	VMF_IO = 1 << 4,	/* "io": VM_IO, never dumped */
	VMF_DONTDUMP = 1 << 5,	/* "dd": MADV_DONTDUMP */
	VMF_HUGETLB = 1 << 6,	/* "ht" */
	VMF_DONTCOPY = 1 << 7,	/* "dc": MADV_DONTFORK, absent in a fork */
	VMF_WIPEONFORK = 1 << 8, /* "wf": MADV_WIPEONFORK, zero in a fork */
};

struct capture_map {
	uint64_t start, end, offset;
	char perms[5];
	unsigned int dev_major, dev_minor;
	uint64_t inode;
	char *path;	       /* "" anonymous; "[heap]", "[vdso]"... kept */
	bool deleted;
	unsigned int vmflags;  /* VMF_* */
	bool has_vmflags;      /* false: derived from perms (no smaps) */
	uint64_t rss, swap, anonymous; /* bytes, from smaps */
	bool file_unlinked;    /* backing inode has no links (shmem, memfd, deleted) */
	bool file_exec;	       /* backing inode has an x bit */
	bool elf_magic;	       /* the first bytes in memory are \177ELF */
};

struct capture {
	pid_t pid, ns_pid;
	/* Where the memory and mappings are read: the leader, or the first live thread
	 * when the leader has exited (pthread_exit) and its /proc/PID/mem is gone. */
	pid_t mem_pid;
	struct capture_thread *threads; /* the kernel's order, leader first */
	size_t thread_count;
	struct capture_map *maps;
	size_t map_count;
	void *auxv;
	size_t auxv_len;
	/* NT_PRPSINFO */
	char state;
	int nice;
	unsigned long flags;
	uid_t uid;
	gid_t gid;
	pid_t ns_ppid, ns_pgrp, ns_sid;
	char comm[64]; /* as /proc/PID/stat has it; NT_PRPSINFO keeps 15 bytes */
	char psargs[80];
	char exe[4096];
	bool zombie_leader; /* the leader exited (pthread_exit) but threads run on */
	/* A dump taken at a signal (watch --signal): its thread's notes come first (gdb's
	 * current thread), pr_cursig and NT_SIGINFO say which signal, as in a kernel core.
	 * cursig 0: a live dump, no signal. */
	int cursig;
	pid_t cursig_tid;
	siginfo_t cursig_info;
};

/* Fills @cap from /proc and PTRACE_GETREGSET on the threads of @fz (all frozen). */
int capture__take(const struct freeze *fz, struct capture *cap, char *why, size_t why_len);

/* capture__take() but the mappings (cap->maps stays empty): a snapshot reads them from
 * its copy once the target runs again (reading smaps walks every page table). */
int capture__take_threads(const struct freeze *fz, struct capture *cap, char *why,
			  size_t why_len);

/* Only the mappings (smaps), for tests and for callers that need no threads. */
int capture__read_maps(pid_t pid, struct capture *cap);

/* @m (zeroed first) from one /proc/PID/maps line @pm; its path is a copy to free.
 * -ENOMEM. */
int capture__map_from(struct capture_map *m, const struct proc_map *pm);

/* Facts about the file behind mapping @m that the kernel reads from the inode: unlinked,
 * executable, starts with an ELF header (read from the process; @memfd, its
 * /proc/PID/mem or -1, for what process_vm_readv refuses). */
void capture__file_facts(pid_t pid, struct capture_map *m, int memfd);

void capture__free(struct capture *cap);

#endif /* TRACEDUMP_DUMP_CAPTURE_H */
