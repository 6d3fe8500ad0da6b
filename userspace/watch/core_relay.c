// SPDX-License-Identifier: GPL-2.0-only
/*
 * `tracedump core-relay`: run by the kernel as the core_pattern pipe helper while a
 * `watch` holds the core_pattern route (core_route.h), never by hand. Its stdin is the
 * kernel's ELF core of the crashing process. It offers the crash to the watch (the
 * pipe passed with SCM_RIGHTS); the watch takes the crashes of its targets. Anything
 * else (not a watched process, the watch gone, any error) goes to the pattern saved
 * before the watch, as the kernel would have run it:
 *   "|prog args": prog executed with its specifiers expanded and the core on stdin,
 *     the kernel's environment (HOME=/, PATH=...), %F a pidfd of the crashed process;
 *   a file: expanded (core_uses_pid too), created relative to the process's cwd (an
 *     absolute one under its root, RESOLVE_IN_ROOT), O_EXCL after unlinking an old
 *     one (not for a suid dump, mode 2, which also needs an absolute path), mode 0600,
 *     created with the process's fsuid, fsgid and groups (root for mode 2), sparse,
 *     cut at RLIMIT_CORE (%c below one page: nothing).
 * Not replicated: the kernel resolves a file core in the crashing process's mount
 * namespace from its root and cwd; the relay goes through /proc/PID/root and
 * /proc/PID/cwd, so a relative pattern with ".." may climb above a chroot's root
 * (still with the process's own permissions). %C is the CPU the kernel passed.
 * The helper runs without stdout/stderr: problems go to the kernel log (/dev/kmsg).
 * Linked into tracedump (the hidden `core-relay` command, core_relay_cmd.c) and, with
 * libc and procfs.c only, into the static tracedump-core-relay (core_relay_main.c)
 * that the kernel starts several times faster than tracedump and its 31 libraries.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/output.h"
#include "common/procfs.h"
#include "watch/core_pattern.h"
#include "watch/core_route_state.h"

#define ANSWER_TIMEOUT_MS 30000 /* the watch may be busy writing another dump */
#define PAGE 4096u

/* Opened while still root: the file core is created with the process's credentials. */
static int kmsg_fd = -1;

static void klog(const char *fmt, ...)
{
	char msg[768];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "<4>tracedump core-relay[%d]: ", getpid());
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	if (kmsg_fd >= 0)
		(void)!write(kmsg_fd, msg, strlen(msg));
}

static int parse_args(int argc, char **argv, struct core_facts *f)
{
	char *end;
	long long v[CORE_RELAY_NARGS - 2];

	if (argc != 1 + CORE_RELAY_NARGS)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < CORE_RELAY_NARGS - 2; i++) {
		if (i == 10 && !argv[1 + i][0]) { /* %C unknown to an older kernel: empty */
			v[i] = -1;
			continue;
		}
		errno = 0;
		v[i] = (i == 3) ? (long long)strtoull(argv[1 + i], &end, 10) :
				  strtoll(argv[1 + i], &end, 10);
		if (errno || *end || end == argv[1 + i])
			return -EINVAL;
	}
	f->pid = (pid_t)v[0];
	f->tid = (pid_t)v[1];
	f->sig = (int)v[2];
	f->limit = (uint64_t)v[3];
	f->dump_mode = (int)v[4];
	f->uid = (uid_t)v[5];
	f->gid = (gid_t)v[6];
	f->time = v[7];
	f->ns_pid = (pid_t)v[8];
	f->ns_tid = (pid_t)v[9];
	f->cpu = (int)v[10];
	f->pidfd = -1;
	snprintf(f->host, sizeof(f->host), "%s", argv[12]);
	snprintf(f->comm, sizeof(f->comm), "%s", argv[13]);
	return f->pid > 0 ? 0 : -EINVAL;
}

/* 1 the watch took the core, 0 it did not (or is not there). */
static int offer(const struct core_facts *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct core_relay_msg m = { .magic = CORE_RELAY_MAGIC, .pid = f->pid, .tid = f->tid,
				    .sig = f->sig, .time = f->time };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, answer = 0;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct pollfd pfd;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), in = STDIN_FILENO;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", CORE_ROUTE_SOCK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return 0;
	}
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &in, sizeof(int));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != sizeof(m)) {
		close(fd);
		return 0;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, ANSWER_TIMEOUT_MS) != 1 || recv(fd, &answer, 1, 0) != 1)
		answer = 0;
	close(fd);
	if (!answer)
		klog("no answer from the watch for process %d: core handed to the saved pattern",
		     f->pid);
	return answer == CORE_RELAY_TAKEN;
}

static bool zero_page(const unsigned char *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/*
 * The crashing process's filesystem credentials (fsuid, fsgid, groups): the kernel
 * writes a file core as the process, so the relay, root, must create only what the
 * process itself could, never a file in a folder the process cannot write to. An
 * fsuid other than 0 drops the filesystem capabilities (CAP_DAC_OVERRIDE, ...).
 */
static int become(pid_t pid)
{
	char path[64], *line = NULL;
	gid_t groups[256];
	size_t cap = 0;
	long fsuid = -1, fsgid = -1;
	int ng = 0;
	FILE *st;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	st = fopen(path, "re");
	if (!st)
		return -errno;
	while (getline(&line, &cap, st) > 0) {
		unsigned long a, b, c, d;
		char *p, *end;

		if (sscanf(line, "Uid: %lu %lu %lu %lu", &a, &b, &c, &d) == 4)
			fsuid = (long)d;
		else if (sscanf(line, "Gid: %lu %lu %lu %lu", &a, &b, &c, &d) == 4)
			fsgid = (long)d;
		else if (!strncmp(line, "Groups:", 7))
			for (p = line + 7; ng < 256; p = end) {
				unsigned long g = strtoul(p, &end, 10);

				if (end == p)
					break;
				groups[ng++] = (gid_t)g;
			}
	}
	free(line);
	fclose(st);
	if (fsuid < 0 || fsgid < 0)
		return -ESRCH;
	if (setgroups((size_t)ng, groups))
		return -errno;
	setfsgid((gid_t)fsgid);
	setfsuid((uid_t)fsuid);
	/* setfsuid reports no error: an impossible id returns the current one. */
	if (setfsuid((uid_t)-1) != (int)fsuid || setfsgid((gid_t)-1) != (int)fsgid)
		return -EPERM;
	return 0;
}

/*
 * Creates the core file @name (absolute: under the process's root, @dfd; relative:
 * under its cwd, @dfd) as the kernel does: the old one unlinked first (@unlink_old),
 * then O_EXCL, no symlink as the last component, mode 0600. An absolute path is
 * resolved with RESOLVE_IN_ROOT, so a symlink cannot lead out of the process's root.
 */
static int create_core(int dfd, const char *name, bool unlink_old)
{
	char parent[PATH_MAX];
	const char *rel = name[0] == '/' ? name + 1 : name, *base = strrchr(rel, '/');
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = name[0] == '/' ? RESOLVE_IN_ROOT : 0 };
	int pfd, fd;

	if (base) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(base - rel), rel);
		base++;
	} else {
		snprintf(parent, sizeof(parent), ".");
		base = rel;
	}
	pfd = (int)syscall(SYS_openat2, dfd, parent[0] ? parent : "/", &how, sizeof(how));
	if (pfd < 0)
		return -errno;
	if (unlink_old)
		unlinkat(pfd, base, 0);
	fd = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = -errno;
	close(pfd);
	return fd;
}

/* A file core, as the kernel writes one: see the top of this file. */
static int chain_file(const char *pattern, struct core_facts *f)
{
	char name[PATH_MAX], dir[64];
	unsigned char *buf = NULL;
	uint64_t off = 0;
	int uses_pid = 0, dfd = -1, fd = -1, err = 0;
	FILE *u = fopen("/proc/sys/kernel/core_uses_pid", "re");

	if (u) {
		if (fscanf(u, "%d", &uses_pid) != 1)
			uses_pid = 0;
		fclose(u);
	}
	if (f->limit < PAGE) /* binfmt_elf's min_coredump */
		return 0;
	if (core_pattern__expand_file(pattern, f, uses_pid, name, sizeof(name))) {
		klog("core file name too long for process %d", f->pid);
		return -ENAMETOOLONG;
	}
	if (f->dump_mode == 2 && name[0] != '/') {
		klog("suid dump of process %d needs an absolute core_pattern: no core", f->pid);
		return -EPERM;
	}
	snprintf(dir, sizeof(dir), "/proc/%d/%s", f->pid, name[0] == '/' ? "root" : "cwd");
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		err = -errno;
		klog("cannot open %s: %s", dir, strerror(-err));
		return err;
	}
	/* A suid dump (mode 2) is written as root by the kernel too. */
	if (f->dump_mode != 2) {
		err = become(f->pid);
		if (err) {
			klog("cannot take the credentials of process %d: %s", f->pid,
			     strerror(-err));
			goto out;
		}
	}
	fd = create_core(dfd, name, f->dump_mode != 2);
	if (fd < 0) {
		err = fd;
		klog("cannot create core %s for process %d: %s", name, f->pid, strerror(-err));
		goto out;
	}
	buf = malloc(PAGE);
	while (buf && off < f->limit) {
		size_t got = 0, want = PAGE;

		if (f->limit - off < want)
			want = (size_t)(f->limit - off);
		while (got < want) {
			ssize_t n = read(STDIN_FILENO, buf + got, want - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (!got)
			break;
		if (zero_page(buf, got)) {
			if (lseek(fd, (off_t)got, SEEK_CUR) < 0)
				break;
		} else if (write(fd, buf, got) != (ssize_t)got) {
			err = -errno;
			break;
		}
		off += got;
		if (got < want)
			break;
	}
	if (ftruncate(fd, (off_t)off) && !err)
		err = -errno;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return err;
}

/* A pipe pattern: becomes its program (the core stays on stdin). Returns on error. */
static int chain_pipe(const char *pattern, struct core_facts *f)
{
	char *envp[] = { "HOME=/", "PATH=/sbin:/bin:/usr/sbin:/usr/bin", NULL };
	char **argv;
	int argc;

	if (strstr(pattern, "%F"))
		f->pidfd = (int)syscall(SYS_pidfd_open, f->pid, 0); /* inherited by prog */
	argc = core_pattern__expand_pipe(pattern, f, &argv);
	if (argc < 0) {
		klog("cannot expand core_pattern '%s': %s", pattern, strerror(-argc));
		return argc;
	}
	execve(argv[0], argv, envp);
	klog("cannot run %s for the core of process %d: %s", argv[0], f->pid, strerror(errno));
	free(argv);
	return -errno;
}

int core_relay__main(int argc, char **argv)
{
	char saved[CORE_PATTERN_MAX] = "", cur[256] = "", exe[64];
	struct core_facts f;
	pid_t owner = 0;
	uint64_t start = 0;
	ssize_t n;
	int fd;

	/* The kernel's helper starts with stdin only: keep 1 and 2 from being reused. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
		;
	if (fd > STDERR_FILENO)
		close(fd);
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (parse_args(argc, argv, &f)) {
		klog("bad arguments (run by the kernel's core_pattern only): no core written");
		return TD_EXIT_USAGE;
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", f.pid);
	n = readlink(exe, f.exe, sizeof(f.exe) - 1);
	f.exe[n > 0 ? n : 0] = 0;
	if (n <= 0)
		snprintf(f.exe, sizeof(f.exe), "%s", f.comm);

	/* The pattern to hand on to: the saved one, or what is there now if the watch
	 * already put it back. */
	if (core_route__read_state(saved, sizeof(saved), &owner, &start)) {
		FILE *p = fopen(CORE_PATTERN_FILE, "re");

		if (p) {
			if (fgets(cur, sizeof(cur), p))
				cur[strcspn(cur, "\n")] = 0;
			fclose(p);
		}
		snprintf(saved, sizeof(saved), "%s", core_route__is_relay(cur) ? "core" : cur);
		owner = 0;
	}
	/* The watch's own crash is never offered to it: it cannot answer. */
	if (owner && owner != f.pid && core_route__alive(owner, start) && offer(&f))
		return TD_EXIT_OK;
	if (!owner || !core_route__alive(owner, start))
		core_route__heal();
	if (!saved[0])
		return TD_EXIT_OK; /* an empty pattern: the kernel writes nothing */
	if (core_pattern__is_pipe(saved)) {
		if (core_route__is_relay(saved))
			return TD_EXIT_FAILURE; /* never to ourselves */
		return chain_pipe(saved, &f) ? TD_EXIT_FAILURE : TD_EXIT_OK;
	}
	return chain_file(saved, &f) ? TD_EXIT_FAILURE : TD_EXIT_OK;
}
