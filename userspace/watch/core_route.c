// SPDX-License-Identifier: GPL-2.0-only
/* The watch's side of the core_pattern route; see core_route.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/elf_info.h"
#include "common/jsonutil.h"
#include "common/procfs.h"
#include "common/signals.h"
#include "dump/freeze.h"
#include "watch/core_pattern.h"
#include "watch/core_route.h"
#include "watch/core_route_state.h"

#define HEAD_MAX (64u << 20) /* headers and notes: 64 MiB is ~20000 threads */
#define COPY_CHUNK (1u << 20)
#define PAGE 4096u
#define FILTER_DEFAULT 0x33ul
#define FILTER_FULL 0x1fful /* every bit the kernel knows (MMF_DUMP_FILTER_BITS 9) */
#define SELF_TEST_NS 5000000000ULL	 /* a loaded machine starts the relay late */
#define SELF_TEST_GRACE_NS 1000000000ULL /* after the test child is gone */

void core_route__plan(uint64_t watched, uint64_t handled, bool bpf_ok, bool core_ok,
		      struct signal_routes *out)
{
	uint64_t h = watched & handled, rest = watched & ~handled;

	memset(out, 0, sizeof(*out));
	out->bpf = bpf_ok ? h : 0;
	out->core = core_ok ? rest & CORE_ROUTE_SIGNALS : 0;
	if (watched & ~out->bpf & ~out->core) {
		out->bpf = out->core = 0;
		out->ptrace = watched;
	}
}

void core_route__init(struct core_route *r)
{
	memset(r, 0, sizeof(*r));
	r->listen_fd = -1;
}

static int listen_socket(char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;

	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot make a unix socket: %s", strerror(-err));
		return err;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", CORE_ROUTE_SOCK);
	unlink(CORE_ROUTE_SOCK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(CORE_ROUTE_SOCK, 0600) ||
	    listen(fd, 64)) {
		err = -errno;
		snprintf(why, why_len, "cannot listen on %s: %s", CORE_ROUTE_SOCK, strerror(-err));
		close(fd);
		unlink(CORE_ROUTE_SOCK);
		return err;
	}
	return fd;
}

/*
 * The route proved with a real crash: a child of ours, with an empty coredump_filter
 * (a core of headers and notes only), dies of SIGSEGV and the relay must bring it.
 * This catches what no check up front can: a kernel that cannot run the relay (the
 * helper runs in the initial namespaces, so a watch in a container names a path the
 * kernel may not see; an LSM refusing it), a socket it cannot reach.
 */
static int self_test(struct core_route *r)
{
	uint64_t deadline = monotonic_ns() + SELF_TEST_NS;
	bool brought = false, reaped = false;
	pid_t child;
	int st;

	child = fork();
	if (child < 0) {
		snprintf(r->why, sizeof(r->why), "cannot fork to test the route: %s",
			 strerror(errno));
		return -errno;
	}
	if (child == 0) {
		struct rlimit rl = { 0, 0 }; /* pipes ignore 0; 1 would turn them off */
		sigset_t all;
		int fd = open("/proc/self/coredump_filter", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			(void)!write(fd, "0", 1);
			close(fd);
		}
		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 1);
		signal(SIGSEGV, SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		kill(getpid(), SIGSEGV);
		_exit(127);
	}
	while (!brought && monotonic_ns() < deadline) {
		struct core_crash c;
		struct pollfd pfd = { .fd = r->listen_fd, .events = POLLIN };

		poll(&pfd, 1, 50);
		/* A kernel that cannot start the relay ends the child's dump at once; a
		 * relay that started connects soon after, even if the child is gone. */
		if (!reaped && waitpid(child, &st, WNOHANG) == child) {
			reaped = true;
			if (deadline > monotonic_ns() + SELF_TEST_GRACE_NS)
				deadline = monotonic_ns() + SELF_TEST_GRACE_NS;
		}
		while (!brought && core_route__next(r, &c) == 1) {
			char buf[65536], why[128];

			if (c.pid != child) {
				core_crash__decline(&c); /* not ours: nothing is watched yet */
				continue;
			}
			brought = true;
			if (!core_crash__take(&c, why, sizeof(why)))
				while (read(c.pipe, buf, sizeof(buf)) > 0)
					;
			core_crash__close(&c);
		}
	}
	if (!brought && !reaped)
		kill(child, SIGKILL);
	while (!reaped && waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (!brought) {
		snprintf(r->why, sizeof(r->why), "the kernel did not bring a test crash through "
			 "the core_pattern relay (it runs the relay in the initial namespaces: see "
			 "dmesg)");
		return -EHOSTUNREACH;
	}
	return 0;
}

int core_route__install(struct core_route *r)
{
	char exe[PATH_MAX], cur[256], pattern[512], state[1024], tmp[64];
	pid_t owner;
	uint64_t start;
	int lk, fd, err;
	ssize_t n;

	if (r->tried)
		return r->err;
	r->tried = true;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(r->why, sizeof(r->why), "cannot read /proc/self/exe: %s", strerror(errno));
		return r->err = -EIO;
	}
	exe[n] = 0;
	{
		/* The static relay beside tracedump when there is one (it starts in a
		 * fraction of the time), else tracedump's own hidden command. */
		char relay[PATH_MAX + 32], *slash = strrchr(exe, '/');

		snprintf(relay, sizeof(relay), "%.*s/%s", slash ? (int)(slash - exe) : 1,
			 slash ? exe : ".", CORE_RELAY_BINARY);
		if (slash && !access(relay, X_OK))
			n = snprintf(pattern, sizeof(pattern), "|%s %s", relay, CORE_RELAY_ARGS);
		else
			n = snprintf(pattern, sizeof(pattern), "|%s core-relay %s", exe,
				     CORE_RELAY_ARGS);
	}
	if ((size_t)n >= CORE_PATTERN_MAX || strchr(exe, ' ')) {
		snprintf(r->why, sizeof(r->why), "the core_pattern for %.300s would pass the kernel's "
			 "127 bytes (or the path has a space)", exe);
		return r->err = -ENAMETOOLONG;
	}
	if (access(CORE_PATTERN_FILE, W_OK)) {
		err = -errno;
		snprintf(r->why, sizeof(r->why), "%s is not writable: %s", CORE_PATTERN_FILE,
			 strerror(-err));
		return r->err = err;
	}
	lk = core_state__lock();
	if (lk < 0) {
		snprintf(r->why, sizeof(r->why), "cannot use %s: %s", CORE_ROUTE_DIR, strerror(-lk));
		return r->err = lk;
	}
	core_state__heal_locked();
	if (!core_route__read_state(cur, sizeof(cur), &owner, &start)) {
		snprintf(r->why, sizeof(r->why), "the core_pattern route is held by another watch "
			 "(process %d)", owner);
		err = -EBUSY;
		goto out;
	}
	err = core_state__read_pattern(cur, sizeof(cur));
	if (err) {
		snprintf(r->why, sizeof(r->why), "cannot read %s: %s", CORE_PATTERN_FILE,
			 strerror(-err));
		goto out;
	}
	/* The state first: a crash meanwhile finds the saved pattern to hand on to. */
	snprintf(state, sizeof(state), "owner %d %llu\n%s\n", getpid(),
		 (unsigned long long)core_state__start_time(getpid()), cur);
	snprintf(tmp, sizeof(tmp), "%s.tmp", CORE_ROUTE_SAVED);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, state, strlen(state)) != (ssize_t)strlen(state) || fsync(fd) ||
	    rename(tmp, CORE_ROUTE_SAVED)) {
		err = errno ? -errno : -EIO;
		snprintf(r->why, sizeof(r->why), "cannot write %s: %s", CORE_ROUTE_SAVED,
			 strerror(-err));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	r->listen_fd = listen_socket(r->why, sizeof(r->why));
	if (r->listen_fd < 0) {
		err = r->listen_fd;
		unlink(CORE_ROUTE_SAVED);
		goto out;
	}
	err = core_state__write_pattern(pattern);
	if (err) {
		snprintf(r->why, sizeof(r->why), "cannot write %s: %s", CORE_PATTERN_FILE,
			 strerror(-err));
		close(r->listen_fd);
		r->listen_fd = -1;
		unlink(CORE_ROUTE_SOCK);
		unlink(CORE_ROUTE_SAVED);
		goto out;
	}
	memcpy(r->pattern, pattern, strlen(pattern) + 1); /* < CORE_PATTERN_MAX, checked */
	err = self_test(r);
	if (err) {
		/* Never leave a pattern that loses every crash on the system. */
		core_state__write_pattern(cur);
		close(r->listen_fd);
		r->listen_fd = -1;
		unlink(CORE_ROUTE_SOCK);
		unlink(CORE_ROUTE_SAVED);
	}
out:
	close(lk);
	return r->err = err;
}

static void restore_filters(struct core_route *r)
{
	for (size_t i = 0; i < r->nfilters; i++) {
		struct core_filter_saved *f = &r->filters[i];
		char path[64], v[32];
		int fd;

		if (!core_route__alive(f->pid, f->start))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/coredump_filter", f->pid);
		snprintf(v, sizeof(v), "0x%lx", f->filter);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			/* The process may be exiting: nothing to restore then. */
			(void)!write(fd, v, strlen(v));
			close(fd);
		}
	}
	free(r->filters);
	r->filters = NULL;
	r->nfilters = 0;
}

void core_route__restore(struct core_route *r)
{
	char saved[CORE_PATTERN_MAX], cur[256];
	pid_t owner;
	uint64_t start;
	int lk;

	restore_filters(r);
	if (r->listen_fd < 0)
		return;
	lk = core_state__lock();
	if (!core_route__read_state(saved, sizeof(saved), &owner, &start) && owner == getpid()) {
		if (!core_state__read_pattern(cur, sizeof(cur)) && !strcmp(cur, r->pattern))
			core_state__write_pattern(saved);
		unlink(CORE_ROUTE_SAVED);
	}
	/* Relays already connected see the socket close and hand on to the saved pattern. */
	close(r->listen_fd);
	r->listen_fd = -1;
	unlink(CORE_ROUTE_SOCK);
	if (lk >= 0)
		close(lk);
}

bool core_route__dumps(pid_t pid, char *why, size_t why_len)
{
	struct rlimit rl;
	struct proc_status ps;
	struct stat sb;
	char path[64];

	if (prlimit(pid, RLIMIT_CORE, NULL, &rl) == 0 && rl.rlim_cur == 1) {
		snprintf(why, why_len, "RLIMIT_CORE is 1, which turns off core_pattern pipes");
		return false;
	}
	/* A process that is not dumpable has its /proc/PID owned by root. */
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (!procfs_read_status(pid, -1, &ps) && !stat(path, &sb) && ps.uid[1] != 0 &&
	    sb.st_uid != ps.uid[1]) {
		snprintf(why, why_len, "the process is not dumpable (setuid or PR_SET_DUMPABLE 0)");
		return false;
	}
	return true;
}

int core_route__set_filter(struct core_route *r, pid_t pid, enum dump_type type)
{
	char path[64], buf[32], v[32];
	unsigned long want = type == DUMP_TYPE_FULL ? FILTER_FULL : FILTER_DEFAULT, old;
	void *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/coredump_filter", pid);
	n = core_state__read_text(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	old = strtoul(buf, NULL, 16);
	if (old == want)
		return 0;
	p = realloc(r->filters, (r->nfilters + 1) * sizeof(*r->filters));
	if (!p)
		return -ENOMEM;
	r->filters = p;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(v, sizeof(v), "0x%lx", want);
	if (write(fd, v, strlen(v)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	r->filters[r->nfilters++] = (struct core_filter_saved){ pid, core_state__start_time(pid), old };
	return 0;
}

/* The kernel's core has the class of the executable: only ELFCLASS64 is read here. */
static bool is_64bit(pid_t pid)
{
	struct elf_info info;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return elf_info__read(path, &info) || info.elf_class == ELFCLASS64;
}

int core_route__next(struct core_route *r, struct core_crash *c)
{
	struct core_relay_msg m;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh;
	struct ucred cred;
	socklen_t clen;
	struct pollfd pfd;
	struct cmsghdr *cm;
	ssize_t n;
	int conn;

	if (r->listen_fd < 0)
		return 0;
	for (;;) {
		/* recvmsg changes them: fresh for each relay. */
		iov = (struct iovec){ &m, sizeof(m) };
		mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		clen = sizeof(cred);
		conn = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			return 0;
		memset(c, 0, sizeof(*c));
		c->conn = conn;
		c->pipe = -1;
		c->accepted_ns = monotonic_ns();
		/* Only root (the kernel's helper) may hand us a core. */
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != 0)
			goto bad;
		pfd = (struct pollfd){ .fd = conn, .events = POLLIN };
		if (poll(&pfd, 1, 1000) != 1)
			goto bad;
		n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
		for (cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&c->pipe, CMSG_DATA(cm), sizeof(int));
		if (n != sizeof(m) || m.magic != CORE_RELAY_MAGIC || c->pipe < 0)
			goto bad;
		c->pid = m.pid;
		c->tid = m.tid;
		c->sig = m.sig;
		c->time = m.time;
		if (!is_64bit(c->pid))
			goto bad; /* a 32-bit core: to the saved pattern, not lost here */
		return 1;
bad:
		core_crash__decline(c);
	}
}

void core_crash__close(struct core_crash *c)
{
	if (c->conn >= 0)
		close(c->conn);
	if (c->pipe >= 0)
		close(c->pipe);
	free(c->head);
	c->head = NULL;
	json_decref(c->build_ids);
	c->build_ids = NULL;
	c->conn = c->pipe = -1;
}

void core_crash__decline(struct core_crash *c)
{
	char a = CORE_RELAY_DECLINED;

	if (c->pipe >= 0) {
		close(c->pipe); /* before the answer: the relay's copy must be the last */
		c->pipe = -1;
	}
	/* A relay gone already hands on by itself. */
	if (c->conn >= 0)
		(void)!send(c->conn, &a, 1, MSG_NOSIGNAL);
	core_crash__close(c);
}

/* Reads until @c->head holds @want bytes (or the stream ends). */
static int read_head(struct core_crash *c, size_t want)
{
	if (want > HEAD_MAX)
		return -EFBIG;
	if (want > c->head_len) {
		void *p = realloc(c->head, want);

		if (!p)
			return -ENOMEM;
		c->head = p;
	}
	while (c->head_len < want) {
		ssize_t n = read(c->pipe, c->head + c->head_len, want - c->head_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		c->head_len += (size_t)n;
	}
	return 0;
}

/* NT_PRSTATUS count and the first NT_SIGINFO (the dumping thread's). */
static void parse_notes(struct core_crash *c, const unsigned char *p, size_t len)
{
	size_t off = 0;

	while (off + sizeof(Elf64_Nhdr) <= len) {
		const Elf64_Nhdr *nh = (const void *)(p + off);
		size_t name = (nh->n_namesz + 3) & ~3u, desc = (nh->n_descsz + 3) & ~3u;
		const unsigned char *d = p + off + sizeof(*nh) + name;

		if (off + sizeof(*nh) + name + desc > len)
			break;
		if (nh->n_type == NT_PRSTATUS)
			c->threads++;
		else if (nh->n_type == NT_SIGINFO && !c->has_siginfo &&
			 nh->n_descsz >= sizeof(siginfo_t)) {
			siginfo_t si;

			memcpy(&si, d, sizeof(si));
			c->has_siginfo = true;
			c->si_code = si.si_code;
			c->sender_pid = si.si_code <= 0 ? si.si_pid : 0;
			c->fault_addr = (uint64_t)(uintptr_t)si.si_addr;
		}
		off += sizeof(*nh) + name + desc;
	}
}

struct build_id_ctx {
	pid_t pid;
	json_t *arr;
};

static int add_build_id(const struct proc_map *m, void *ctx)
{
	struct build_id_ctx *b = ctx;
	char path[96], hex[2 * ELF_BUILD_ID_MAX + 1];
	struct elf_info info;
	size_t i;
	json_t *e;
	int fd, err;

	if (m->path[0] != '/' || m->offset)
		return 0;
	json_array_foreach(b->arr, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "file_name")), m->path))
			return 0;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", b->pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	err = elf_info__read_fd(fd, &info);
	close(fd);
	if (err)
		return 0;
	elf_info__build_id_hex(&info, hex, sizeof(hex));
	json_array_append_new(b->arr, json_pack("{s:o, s:o, s:s}", "file_name",
						json_string_cstr(m->path), "base_address",
						json_hex(m->start), "build_id", hex));
	return 0;
}

int core_crash__take(struct core_crash *c, char *why, size_t why_len)
{
	char a = CORE_RELAY_TAKEN;
	const Elf64_Ehdr *eh;
	size_t need;
	int err;

	if (send(c->conn, &a, 1, MSG_NOSIGNAL) != 1) {
		snprintf(why, why_len, "the core relay went away: %s", strerror(errno));
		return -EPIPE;
	}
	close(c->conn);
	c->conn = -1;
	{
		/* What the kernel's core holds, as the process has it now. */
		char path[64], buf[32];
		int n;

		snprintf(path, sizeof(path), "/proc/%d/coredump_filter", c->pid);
		n = core_state__read_text(path, buf, sizeof(buf));
		c->filter = n > 0 ? strtoul(buf, NULL, 16) : 0;
	}
	{
		/* The mapped files' build ids, as dumper__run gives them: the process
		 * stays in its dump, its mappings readable, until the core is read. */
		struct build_id_ctx b = { c->pid, json_array() };

		procfs_for_each_map(c->pid, add_build_id, &b);
		c->build_ids = b.arr;
	}
	/* Bigger pipe, fewer wake-ups of the kernel's writer (best effort). */
	fcntl(c->pipe, F_SETPIPE_SZ, 1 << 20);
	err = read_head(c, sizeof(Elf64_Ehdr));
	eh = (const void *)c->head;
	if (err || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_type != ET_CORE || eh->e_phentsize != sizeof(Elf64_Phdr)) {
		snprintf(why, why_len, "the kernel's core does not start with a 64-bit ELF core "
			 "header%s%s", err ? ": " : "", err ? strerror(-err) : "");
		return err ? err : -EINVAL;
	}
	need = eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr);
	err = read_head(c, need);
	if (err)
		goto short_read;
	eh = (const void *)c->head;
	/* Extended numbering (PN_XNUM): the real count is in a section header the kernel
	 * writes at the END, so the size is unknown until then. */
	for (unsigned i = 0; i < eh->e_phnum && eh->e_phnum != PN_XNUM; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, c->head + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_offset + ph.p_filesz > c->size)
			c->size = ph.p_offset + ph.p_filesz;
		if (ph.p_type == PT_NOTE && ph.p_offset + ph.p_filesz <= HEAD_MAX) {
			err = read_head(c, ph.p_offset + ph.p_filesz);
			if (err)
				goto short_read;
			eh = (const void *)c->head;
			parse_notes(c, c->head + ph.p_offset, ph.p_filesz);
		}
	}
	if (eh->e_phnum == PN_XNUM)
		c->size = 0;
	return 0;
short_read:
	snprintf(why, why_len, "the kernel's core ended in its headers: %s", strerror(-err));
	return err;
}

json_t *core_crash__detail(const struct core_crash *c)
{
	char buf[32];
	json_t *d = json_pack("{s:s, s:i, s:i, s:s}", "signal",
			      signal_name(c->sig, buf, sizeof(buf)), "signo", c->sig, "tid",
			      c->tid, "by", "core_pattern");

	if (c->has_siginfo) {
		const char *code = si_code_name(c->sig, c->si_code);

		json_object_set_new(d, "code", code ? json_string(code) : json_null());
		json_object_set_new(d, "sender_pid", json_integer(c->sender_pid));
		if (c->sig == SIGSEGV || c->sig == SIGBUS || c->sig == SIGFPE || c->sig == SIGILL)
			json_object_set_new(d, "fault_address", json_hex(c->fault_addr));
	}
	return d;
}

static bool zero_page(const unsigned char *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/* @p[0..n) to the sink, runs of zero pages as holes. */
static int put(struct core_sink *s, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = n - i < PAGE ? n - i : PAGE, j = i;
		bool zero = zero_page(p + i, len);
		int err;

		while (j < n) {
			size_t l = n - j < PAGE ? n - j : PAGE;

			if (zero_page(p + j, l) != zero)
				break;
			j += l;
		}
		err = zero ? core_sink__zeros(s, j - i) : core_sink__write(s, p + i, j - i);
		if (err)
			return err;
		i = j;
	}
	return 0;
}

int core_crash__copy(struct core_crash *c, struct core_sink *sink, enum dump_type type,
		     json_t **result, char *why, size_t why_len)
{
	uint64_t t0 = monotonic_ns(), t_end;
	unsigned char *buf = malloc(COPY_CHUNK);
	char filter_hex[24];
	int err;

	if (!buf) {
		snprintf(why, why_len, "out of memory");
		err = -ENOMEM;
		goto fail;
	}
	err = core_sink__begin(sink, c->size, c->size);
	if (!err)
		err = put(sink, c->head, c->head_len);
	while (!err) {
		/* Chunks aligned on the core's pages, so holes fall on whole pages. */
		size_t want = COPY_CHUNK - (size_t)(sink->offset % PAGE), got = 0;

		if (c->size && c->size - sink->offset < want)
			want = (size_t)(c->size - sink->offset);
		while (got < want) {
			ssize_t n = read(c->pipe, buf + got, want - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n < 0)
					err = -errno;
				break;
			}
			got += (size_t)n;
		}
		if (got)
			err = err ? err : put(sink, buf, got);
		if (err || got < want || (c->size && sink->offset >= c->size))
			break;
	}
	if (err) {
		snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
		goto fail;
	}
	if (c->size && sink->offset != c->size) {
		snprintf(why, why_len, "the kernel's core ended at %llu of %llu bytes (the process "
			 "was killed while dumping?)", (unsigned long long)sink->offset,
			 (unsigned long long)c->size);
		err = -EPIPE;
		goto fail;
	}
	err = sink->finish(sink);
	if (err) {
		snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
		goto fail;
	}
	free(buf);
	snprintf(filter_hex, sizeof(filter_hex), "0x%lx", c->filter);
	t_end = monotonic_ns();
	if (result)
		*result = json_pack("{s:i, s:s, s:o, s:I, s:I, s:i, s:f, s:f, s:s, s:o}", "pid", c->pid,
				    "type", dumper__type_name(type), "filter",
				    c->filter ? json_string(filter_hex) : json_null(), "bytes_written",
				    (json_int_t)sink->bytes_out, "core_size",
				    (json_int_t)sink->offset, "threads", c->threads, "pause_ms",
				    (t_end - c->accepted_ns) / 1e6, "duration_ms", (t_end - t0) / 1e6,
				    "source", "kernel", "build_ids",
				    c->build_ids ? json_incref(c->build_ids) : json_array());
	return 0;
fail:
	free(buf);
	sink->abort(sink);
	return err;
}
