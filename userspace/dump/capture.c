// SPDX-License-Identifier: GPL-2.0-only
/* Capturing threads, process facts and mappings while frozen; see capture.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/procfs.h"
#include "dump/capture.h"
#include "dump/freeze.h"

/* "Key:\t<hex>" of a status file; 0 when absent. */
static uint64_t status_hex(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

/* The innermost value of a "NSpgid:\t1\t2" style line; @fallback when absent. */
static pid_t status_ns_last(const char *buf, const char *key, pid_t fallback)
{
	const char *p = strstr(buf, key);
	pid_t v = fallback;
	char *end;

	if (!p)
		return fallback;
	p += strlen(key);
	for (;;) {
		long x = strtol(p, &end, 10);

		if (end == p)
			break;
		v = (pid_t)x;
		p = end;
		if (*p == '\n' || !*p)
			break;
	}
	return v;
}

static int take_thread(pid_t pid, pid_t tid, struct capture_thread *t)
{
	struct iovec iov = { &t->regs, sizeof(t->regs) };
	long hz = procfs_clock_ticks();
	struct proc_stat st;
	char *status = NULL;

	memset(t, 0, sizeof(*t));
	t->tid = t->ns_tid = tid;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov))
		return -errno;
	for (size_t i = 0; i < arch_regset_count; i++) {
		const struct arch_regset *rs = &arch_regsets[i];
		struct capture_regset *out = &t->regsets[t->regset_count];
		void *buf = calloc(1, rs->max_size);

		if (!buf)
			return -ENOMEM;
		iov.iov_base = buf;
		iov.iov_len = rs->max_size;
		/* A CPU without XSAVE has no NT_X86_XSTATE: the note is left out, as the
		 * kernel does. */
		if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)rs->type, &iov) || !iov.iov_len) {
			free(buf);
			continue;
		}
		out->type = rs->type;
		out->note_name = rs->note_name;
		out->data = buf;
		out->len = iov.iov_len;
		t->regset_count++;
	}
	if (!procfs_read_stat(pid, tid, &st) && hz > 0) {
		t->utime_us = st.utime * 1000000ULL / hz;
		t->stime_us = st.stime * 1000000ULL / hz;
	}
	if (!procfs_read(pid, tid, "status", &status, NULL)) {
		t->sigpend = status_hex(status, "\nSigPnd:");
		t->sighold = status_hex(status, "\nSigBlk:");
		t->ns_tid = status_ns_last(status, "\nNSpid:", tid);
		free(status);
	}
	return 0;
}

static unsigned int parse_vmflags(const char *p)
{
	static const struct {
		char name[3];
		unsigned int flag;
	} names[] = {
		{ "rd", VMF_READ }, { "wr", VMF_WRITE }, { "ex", VMF_EXEC }, { "sh", VMF_SHARED },
		{ "io", VMF_IO }, { "dd", VMF_DONTDUMP }, { "ht", VMF_HUGETLB },
		{ "dc", VMF_DONTCOPY }, { "wf", VMF_WIPEONFORK },
	};
	unsigned int flags = 0;

	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (p[0] == names[i].name[0] && p[1] == names[i].name[1] &&
			    (p[2] == ' ' || p[2] == '\n' || !p[2]))
				flags |= names[i].flag;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	return flags;
}

static unsigned int flags_from_perms(const char *perms)
{
	return (perms[0] == 'r' ? VMF_READ : 0) | (perms[1] == 'w' ? VMF_WRITE : 0) |
	       (perms[2] == 'x' ? VMF_EXEC : 0) | (perms[3] == 's' ? VMF_SHARED : 0);
}

static bool is_header_line(const char *line)
{
	const char *p = line;

	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
		p++;
	return p > line && *p == '-';
}

int capture__map_from(struct capture_map *m, const struct proc_map *pm)
{
	memset(m, 0, sizeof(*m));
	m->start = pm->start;
	m->end = pm->end;
	m->offset = pm->offset;
	memcpy(m->perms, pm->perms, sizeof(m->perms));
	m->dev_major = pm->dev_major;
	m->dev_minor = pm->dev_minor;
	m->inode = pm->inode;
	m->deleted = pm->deleted;
	m->vmflags = flags_from_perms(pm->perms); /* smaps' VmFlags refine it */
	m->path = strdup(pm->path);
	return m->path ? 0 : -ENOMEM;
}

void capture__file_facts(pid_t pid, struct capture_map *m, int memfd)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (!stat(path, &st)) {
		m->file_unlinked = st.st_nlink == 0;
		m->file_exec = (st.st_mode & 0111) != 0;
	} else {
		m->file_unlinked = m->deleted;
	}
	if (m->offset == 0 && (m->vmflags & VMF_READ)) {
		unsigned char magic[SELFMAG];
		struct iovec local = { magic, SELFMAG }, remote = { (void *)m->start, SELFMAG };

		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == SELFMAG ||
		    (memfd >= 0 && pread(memfd, magic, SELFMAG, (off_t)m->start) == SELFMAG))
			m->elf_magic = !memcmp(magic, ELFMAG, SELFMAG);
	}
}

int capture__read_maps(pid_t pid, struct capture *cap)
{
	char *buf = NULL, *line, *next;
	struct capture_map *m = NULL;
	size_t cap_maps = 0;
	char mempath[64];
	int memfd, err;

	err = procfs_read(pid, -1, "smaps", &buf, NULL);
	if (err)
		return err;
	snprintf(mempath, sizeof(mempath), "/proc/%d/mem", pid);
	memfd = open(mempath, O_RDONLY | O_CLOEXEC);
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (is_header_line(line)) {
			struct proc_map pm;

			if (procfs_parse_maps_line(line, &pm))
				continue;
			if (cap->map_count == cap_maps) {
				size_t n = cap_maps ? cap_maps * 2 : 256;
				void *p = realloc(cap->maps, n * sizeof(*cap->maps));

				if (!p) {
					err = -ENOMEM;
					goto out;
				}
				cap->maps = p;
				cap_maps = n;
			}
			m = &cap->maps[cap->map_count++];
			err = capture__map_from(m, &pm);
			if (err)
				goto out;
			continue;
		}
		if (!m)
			continue;
		if (!strncmp(line, "Rss:", 4))
			m->rss = strtoull(line + 4, NULL, 10) * 1024;
		else if (!strncmp(line, "Swap:", 5))
			m->swap = strtoull(line + 5, NULL, 10) * 1024;
		else if (!strncmp(line, "Anonymous:", 10))
			m->anonymous = strtoull(line + 10, NULL, 10) * 1024;
		else if (!strncmp(line, "VmFlags:", 8)) {
			m->vmflags = parse_vmflags(line + 8);
			m->has_vmflags = true;
		}
	}
	for (size_t i = 0; i < cap->map_count; i++)
		if (cap->maps[i].inode || (cap->maps[i].path[0] == '/'))
			capture__file_facts(pid, &cap->maps[i], memfd);
	err = 0;
out:
	if (memfd >= 0)
		close(memfd);
	free(buf);
	return err;
}

static void take_process(pid_t pid, struct capture *cap)
{
	struct proc_status st, parent;
	struct proc_stat ps;
	char *status = NULL, *cmdline = NULL;
	size_t len = 0;
	ssize_t n;

	if (!procfs_read_stat(pid, -1, &ps)) {
		static const char states[] = "RSDTZ";
		const char *s = strchr(states, ps.state == 't' ? 'T' : ps.state);

		cap->state = s ? (char)(s - states) : 0;
		cap->nice = (int)ps.nice;
		snprintf(cap->comm, sizeof(cap->comm), "%s", ps.comm);
		cap->ns_ppid = ps.ppid;
		cap->ns_pgrp = ps.pgrp;
		cap->ns_sid = ps.session;
	}
	if (!procfs_read(pid, -1, "status", &status, NULL)) {
		if (!procfs_parse_status(status, &st)) {
			cap->uid = st.uid[0];
			cap->gid = st.gid[0];
			cap->ns_pid = st.nspid_count ? st.nspid[st.nspid_count - 1] : pid;
			/* The kernel writes IDs as the target's own namespace sees them. */
			if (st.nspid_count > 1) {
				cap->ns_pgrp = status_ns_last(status, "\nNSpgid:", cap->ns_pgrp);
				cap->ns_sid = status_ns_last(status, "\nNSsid:", cap->ns_sid);
				cap->ns_ppid = 0;
				if (!procfs_read_status(st.ppid, -1, &parent) &&
				    parent.nspid_count >= st.nspid_count)
					cap->ns_ppid = parent.nspid[st.nspid_count - 1];
			}
		}
		free(status);
	}
	if (!procfs_read(pid, -1, "cmdline", &cmdline, &len)) {
		if (len >= sizeof(cap->psargs))
			len = sizeof(cap->psargs) - 1;
		for (size_t i = 0; i < len; i++)
			cap->psargs[i] = cmdline[i] ? cmdline[i] : ' ';
		while (len && cap->psargs[len - 1] == ' ')
			len--;
		cap->psargs[len] = 0;
		free(cmdline);
	}
	{
		char link[64];

		snprintf(link, sizeof(link), "/proc/%d/exe", cap->mem_pid);
		n = readlink(link, cap->exe, sizeof(cap->exe) - 1);
		cap->exe[n > 0 ? n : 0] = 0;
	}
}

int capture__take(const struct freeze *fz, struct capture *cap, char *why, size_t why_len)
{
	int err = capture__take_threads(fz, cap, why, why_len);

	if (err)
		return err;
	err = capture__read_maps(cap->mem_pid, cap);
	if (err) {
		if (err == -ENOENT || err == -ESRCH) {
			snprintf(why, why_len, "process %d exited during the dump", fz->pid);
			return -ESRCH;
		}
		snprintf(why, why_len, "failed to read /proc/%d/smaps: %s", fz->pid, strerror(-err));
		return err;
	}
	return 0;
}

int capture__take_threads(const struct freeze *fz, struct capture *cap, char *why,
			  size_t why_len)
{
	int err;

	memset(cap, 0, sizeof(*cap));
	cap->pid = cap->ns_pid = fz->pid;
	cap->threads = calloc(fz->count ? fz->count : 1, sizeof(*cap->threads));
	if (!cap->threads) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < fz->count; i++) {
		if (fz->threads[i].gone) {
			if (fz->threads[i].tid == fz->pid)
				cap->zombie_leader = true;
			continue;
		}
		err = take_thread(fz->pid, fz->threads[i].tid, &cap->threads[cap->thread_count]);
		if (err == -ENOMEM) {
			snprintf(why, why_len, "out of memory");
			return err;
		}
		/* A leader that called pthread_exit is a zombie with no registers: the
		 * kernel leaves it out of a core too. */
		if (err) {
			if (fz->threads[i].tid == fz->pid)
				cap->zombie_leader = true;
			continue;
		}
		cap->thread_count++;
	}
	if (!cap->thread_count) {
		snprintf(why, why_len, "process %d exited", fz->pid);
		return -ESRCH;
	}
	cap->mem_pid = cap->zombie_leader ? cap->threads[0].tid : fz->pid;
	take_process(fz->pid, cap);
	err = procfs_read(cap->mem_pid, -1, "auxv", (char **)&cap->auxv, &cap->auxv_len);
	if (err) {
		if (err == -ENOENT || err == -ESRCH) {
			snprintf(why, why_len, "process %d exited during the dump", fz->pid);
			return -ESRCH;
		}
		snprintf(why, why_len, "failed to read /proc/%d/auxv: %s", fz->pid, strerror(-err));
		return err;
	}
	return 0;
}

void capture__free(struct capture *cap)
{
	for (size_t i = 0; i < cap->thread_count; i++)
		for (size_t j = 0; j < cap->threads[i].regset_count; j++)
			free(cap->threads[i].regsets[j].data);
	free(cap->threads);
	for (size_t i = 0; i < cap->map_count; i++)
		free(cap->maps[i].path);
	free(cap->maps);
	free(cap->auxv);
	memset(cap, 0, sizeof(*cap));
}
