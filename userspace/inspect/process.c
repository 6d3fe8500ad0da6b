// SPDX-License-Identifier: GPL-2.0-only
/*
 * Processes as JSON: inspect__process_list (`ps`, Kudu's GET /api/processes) and
 * inspect__process_detail (`show`, GET /api/processes/ID). docs/json.md lists every
 * field, where it comes from and when it is null.
 *
 * The list reads as little as it can per process, since a host has thousands: stat
 * (ppid, state, rss, CPU), cmdline, and the owner of the /proc/PID directory (the
 * euid, except for non-dumpable processes, which the kernel shows as root-owned, so
 * only those root-owned directories cost a read of status).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/href.h"
#include "common/jsonutil.h"
#include "common/procfs.h"
#include "inspect/children.h"
#include "inspect/inspect.h"
#include "inspect/module.h"
#include "inspect/process.h"
#include "inspect/thread.h"

/* --- Pure helpers (process.h) --------------------------------------------------------- */

const char *user_cache__name(struct user_cache *c, uid_t uid)
{
	struct passwd pw, *res = NULL;
	struct user_cache_entry *e;
	char buf[1024];

	for (size_t i = 0; i < c->count; i++)
		if (c->entries[i].uid == uid)
			return c->entries[i].name;
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct user_cache_entry *bigger = realloc(c->entries, cap * sizeof(*bigger));

		if (!bigger)
			return NULL;
		c->entries = bigger;
		c->cap = cap;
	}
	e = &c->entries[c->count++];
	e->uid = uid;
	e->name = NULL;
	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res)
		e->name = strdup(res->pw_name);
	return e->name;
}

void user_cache__free(struct user_cache *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->entries[i].name);
	free(c->entries);
	memset(c, 0, sizeof(*c));
}

int parse_user(const char *s, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	unsigned long long v;
	char buf[1024], *end;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)s[0])) {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (!errno && !*end && v < (uid_t)-1) {
			*uid = (uid_t)v;
			return 0;
		}
	}
	if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) || !res)
		return -EINVAL;
	*uid = res->pw_uid;
	return 0;
}

bool process_name_matches(const char *want, const char *comm, const char *argv0,
			  size_t argv0_len)
{
	const char *base = argv0;
	size_t wlen = strlen(want);

	if (!strcmp(want, comm))
		return true;
	if (!argv0)
		return false;
	for (size_t i = 0; i < argv0_len; i++)
		if (argv0[i] == '/')
			base = argv0 + i + 1;
	argv0_len -= base - argv0;
	return argv0_len == wlen && wlen && !memcmp(base, want, wlen);
}

int process_status_euid(const char *buf, uid_t *euid)
{
	const char *p;
	unsigned long r, e;

	if (!buf)
		return -EINVAL;
	p = !strncmp(buf, "Uid:", 4) ? buf : strstr(buf, "\nUid:");
	if (!p)
		return -EINVAL;
	p += *p == '\n' ? 5 : 4;
	if (sscanf(p, "%lu %lu", &r, &e) != 2 || e > (uid_t)-1)
		return -EINVAL;
	*euid = (uid_t)e;
	return 0;
}

/* --- Reading /proc fast -------------------------------------------------------------- */

/*
 * Reads @rel under @dirfd into @buf (NUL-terminated); the byte count or negative errno.
 * A short read ends it: /proc's stat, status and cmdline fill whatever buffer they are
 * given, so a short read is the end of the file, and skipping the read that would
 * return 0 saves a third of the system calls of `ps`.
 */
static ssize_t read_small(int dirfd, const char *rel, char *buf, size_t size)
{
	ssize_t n, used = 0;
	int fd;

	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)used + 1 < size) {
		size_t want = size - used - 1;

		n = read(fd, buf + used, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		used += n;
		if ((size_t)n < want)
			break;
	}
	buf[used] = '\0';
	close(fd);
	return used;
}

static json_t *state_json(char state)
{
	return json_string(thread_state_name(state));
}

static json_t *ticks_seconds(uint64_t ticks, long hz)
{
	return json_real((double)ticks / (double)hz);
}

/* The command line as one string; null when it is empty (kernel threads, zombies). */
static json_t *cmdline_json(char *buf, size_t len)
{
	len = procfs_cmdline_join(buf, len);
	return len ? json_string_bytes(buf, len) : json_null();
}

/* --- ps ------------------------------------------------------------------------------ */

#define PROC_TASK_COMM_LEN 16 /* the kernel's TASK_COMM_LEN, NUL included */

struct ps_ctx {
	const struct ps_filter *filter;
	bool by_user;
	uid_t user;
	int procfd;
	long hz, page_size;
	struct user_cache users;
	char *cmdline;
	size_t cmdline_cap;
};

/* The euid of the process: the /proc/PID owner, or status when that says root. */
static int ps_euid(struct ps_ctx *c, const char *dir, uid_t *euid)
{
	char rel[64], buf[4096];
	struct stat sb;
	ssize_t n;

	if (fstatat(c->procfd, dir, &sb, 0))
		return -errno;
	*euid = sb.st_uid;
	/* A non-dumpable process's directory belongs to root whatever its euid. */
	if (sb.st_uid != 0)
		return 0;
	snprintf(rel, sizeof(rel), "%s/status", dir);
	n = read_small(c->procfd, rel, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return n ? process_status_euid(buf, euid) : -ESRCH;
}

/*
 * Whether the executable's file name is @want, for a comm the kernel cut to 15 bytes that
 * @want starts with: the one case where comm and argv[0] (which a process may rewrite)
 * can both miss. Only then is exe read, since that needs ptrace access.
 */
static bool ps_exe_matches(struct ps_ctx *c, pid_t pid, const char *want, const char *comm)
{
	char rel[32], exe[PATH_MAX];
	const char *base;
	ssize_t n;

	if (strlen(comm) != PROC_TASK_COMM_LEN - 1 || strncmp(want, comm, PROC_TASK_COMM_LEN - 1))
		return false;
	snprintf(rel, sizeof(rel), "%d/exe", pid);
	n = readlinkat(c->procfd, rel, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';
	base = strrchr(exe, '/');
	return !strcmp(base ? base + 1 : exe, want);
}

/* One summary object, or 1 (*out NULL) when the filter leaves it out or it is gone. */
static int ps_one(struct ps_ctx *c, pid_t pid, json_t **out)
{
	char dir[24], rel[48], statbuf[1024];
	struct proc_stat st;
	const char *user_name;
	json_t *j;
	ssize_t n, clen;
	uid_t euid;
	int err;

	*out = NULL;
	snprintf(dir, sizeof(dir), "%d", pid);
	snprintf(rel, sizeof(rel), "%d/stat", pid);
	n = read_small(c->procfd, rel, statbuf, sizeof(statbuf));
	if (n <= 0)
		return 1; /* gone since the listing (or being torn down) */
	if (procfs_parse_stat(statbuf, &st))
		return 1;
	err = ps_euid(c, dir, &euid);
	if (err)
		return 1;
	if (c->by_user && euid != c->user)
		return 1;
	snprintf(rel, sizeof(rel), "%d/cmdline", pid);
	clen = procfs_read_at(c->procfd, rel, &c->cmdline, &c->cmdline_cap, false);
	if (clen == -ENOMEM)
		return -ENOMEM;
	if (clen < 0)
		return 1;
	if (c->filter && c->filter->name) {
		size_t argv0_len = strnlen(c->cmdline, clen);

		if (!process_name_matches(c->filter->name, st.comm, clen ? c->cmdline : NULL,
					  argv0_len) &&
		    !ps_exe_matches(c, pid, c->filter->name, st.comm))
			return 1;
	}
	user_name = user_cache__name(&c->users, euid);

	j = json_object();
	if (!j)
		return -ENOMEM;
	json_set(j, "id", json_integer(pid));
	json_set(j, "name", json_string_bytes(st.comm, strlen(st.comm)));
	json_set(j, "href", href_process(pid));
	json_set(j, "user_name", user_name ? json_string_cstr(user_name) : NULL);
	json_set(j, "user_id", json_integer(euid));
	json_set(j, "ppid", json_integer(st.ppid));
	json_set(j, "state", state_json(st.state));
	json_set(j, "command_line", cmdline_json(c->cmdline, (size_t)clen));
	json_set(j, "working_set", json_integer((json_int_t)st.rss * c->page_size));
	json_set(j, "total_cpu_time", ticks_seconds(st.utime + st.stime, c->hz));
	*out = j;
	return 0;
}

int inspect__process_list(const struct ps_filter *filter, json_t **out)
{
	struct ps_ctx c = { .filter = filter, .procfd = -1 };
	pid_t *pids = NULL;
	size_t count = 0;
	json_t *arr = NULL;
	int err;

	*out = NULL;
	if (filter && filter->user) {
		err = parse_user(filter->user, &c.user);
		if (err)
			return err;
		c.by_user = true;
	}
	c.hz = procfs_clock_ticks();
	c.page_size = sysconf(_SC_PAGESIZE);
	c.procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.procfd < 0)
		return -errno;
	err = procfs_list_pids(0, false, &pids, &count);
	if (err)
		goto cleanup;
	arr = json_array();
	if (!arr) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < count; i++) {
		json_t *p;

		err = ps_one(&c, pids[i], &p);
		if (err < 0)
			goto cleanup;
		err = 0;
		if (p)
			json_array_append_new(arr, p);
	}
	*out = arr;
	arr = NULL;
cleanup:
	json_decref(arr);
	free(pids);
	free(c.cmdline);
	user_cache__free(&c.users);
	close(c.procfd);
	return err;
}

/* --- show ---------------------------------------------------------------------------- */

/*
 * Every file is read through one descriptor of /proc/PID (openat, readlinkat): no path
 * walk per file, and every read is of the same process (a PID reused meanwhile is not
 * this directory: its reads fail with ENOENT). One buffer serves every read, and all
 * but maps and children end at the first short read (procfs_read_at).
 */
struct detail {
	pid_t pid;
	int dfd;	    /* /proc/PID, O_PATH */
	char *buf;	    /* procfs_read_at's, reused */
	size_t cap;
	pid_t *tids;	    /* the threads, ascending, listed once (children and threads) */
	size_t ntids;
	int tids_err;
	json_t *j;
	json_t *unreadable; /* field -> reason */
	bool gone;	    /* a read said the process is gone (ENOENT/ESRCH) */
};

/* @name under /proc/PID into d->buf: its length, or -errno. */
static ssize_t detail_read(struct detail *d, const char *name)
{
	return procfs_read_at(d->dfd, name, &d->buf, &d->cap, false);
}

/*
 * Records a failed field read: a vanished process (ENOENT/ESRCH) is checked for once at
 * the end; anything else (EACCES above all) is named in "unreadable_fields".
 */
static void field_failed(struct detail *d, const char *field, int err)
{
	if (err == -ENOENT || err == -ESRCH) {
		d->gone = true;
		return;
	}
	json_set(d->unreadable, field, json_string(strerror(-err)));
}

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int readlink_proc(int dfd, const char *name, char *buf, size_t size, size_t *len)
{
	ssize_t n;

	n = readlinkat(dfd, name, buf, size);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	*len = (size_t)n;
	return 0;
}

struct env_ctx {
	json_t *obj;
};

static int env_add(const char *name, size_t name_len, const char *value, size_t value_len,
		   void *ctx)
{
	struct env_ctx *e = ctx;
	const unsigned char *u = (const unsigned char *)name;
	size_t i = 0;
	json_t *key;

	/* A plain ASCII name is the key as it is (json_string_bytes would keep it so). */
	while (i < name_len && u[i] - 1u < 0x7f)
		i++;
	if (i == name_len) {
		if (!json_object_getn(e->obj, name, name_len))
			json_object_setn_new_nocheck(e->obj, name, name_len,
						     json_string_bytes(value, value_len));
		return 0;
	}
	key = json_string_bytes(name, name_len);

	if (!key)
		return -ENOMEM;
	/* getenv() returns the first of duplicate names: keep that one. */
	if (!json_object_get(e->obj, json_string_value(key)))
		json_object_set_new(e->obj, json_string_value(key),
				    json_string_bytes(value, value_len));
	json_decref(key);
	return 0;
}

static void detail_environ(struct detail *d, bool has_mm)
{
	struct env_ctx e = { NULL };
	ssize_t n;

	json_set(d->j, "environment_variables", NULL);
	n = detail_read(d, "environ");
	if (n < 0) {
		/* A kernel thread has no environment; that is not a failure. */
		if (has_mm)
			field_failed(d, "environment_variables", (int)n);
		return;
	}
	if (!has_mm && !n)
		return;
	e.obj = json_object();
	if (e.obj && procfs_parse_environ(d->buf, (size_t)n, env_add, &e) == 0)
		json_set(d->j, "environment_variables", e.obj);
	else
		json_decref(e.obj);
}

static int cmp_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* handle_count and open_file_handles from /proc/PID/fd (needs ptrace read access). The
 * links are read relative to the fd directory itself: one path component each. */
static void detail_fds(struct detail *d)
{
	char name[16], target[PATH_MAX + 1];
	json_t *files = NULL;
	int *fds = NULL, link_err = 0, fdir;
	size_t n = 0, cap = 0, closed = 0;
	bool self = d->pid == getpid();
	struct dirent *de;
	DIR *dir;

	json_set(d->j, "handle_count", NULL);
	json_set(d->j, "open_file_handles", NULL);
	fdir = openat(d->dfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fdir >= 0 ? fdopendir(fdir) : NULL;
	if (!dir) {
		int err = -errno;

		if (fdir >= 0)
			close(fdir);
		field_failed(d, "handle_count", err);
		field_failed(d, "open_file_handles", err);
		return;
	}
	while ((de = readdir(dir))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd < 0)
			continue;
		/* Reading our own fds: the directories being read are not ours to report. */
		if (self && (fd == fdir || fd == d->dfd))
			continue;
		if (n == cap) {
			int *bigger = realloc(fds, (cap = cap ? cap * 2 : 64) * sizeof(*fds));

			if (!bigger)
				goto cleanup;
			fds = bigger;
		}
		fds[n++] = (int)fd;
	}
	if (n)
		qsort(fds, n, sizeof(*fds), cmp_fd);
	files = json_array();
	for (size_t i = 0; i < n; i++) {
		ssize_t len;

		snprintf(name, sizeof(name), "%d", fds[i]);
		len = readlinkat(fdir, name, target, sizeof(target) - 1);
		if (len >= 0) {
			json_array_append_new(files, json_string_bytes(target, (size_t)len));
		} else if (errno == ENOENT) {
			closed++; /* closed since the listing */
		} else if (!link_err) {
			/* The listing can be allowed while the links are not (an LSM, or the
			 * process changed credentials in between). */
			link_err = -errno;
		}
	}
	json_set(d->j, "handle_count", json_integer((json_int_t)(n - closed)));
	if (link_err) {
		field_failed(d, "open_file_handles", link_err);
		json_decref(files);
	} else {
		json_set(d->j, "open_file_handles", files);
	}
cleanup:
	free(fds);
	closedir(dir);
}

static int module_count_add(const struct proc_map *m, void *ctx)
{
	int err = module_set__add(ctx, m);

	return err < 0 ? err : 0;
}

/* As many modules as `modules PID` lists: the same grouping (module.h). */
static void detail_modules(struct detail *d, bool has_mm)
{
	struct module_set set = { 0 };
	struct proc_map m;
	char *line, *next;
	ssize_t n;
	int err = 0;

	json_set(d->j, "module_count", NULL);
	if (!has_mm)
		return;
	n = procfs_read_at(d->dfd, "maps", &d->buf, &d->cap, true); /* one record a line */
	if (n < 0) {
		field_failed(d, "module_count", (int)n);
		return;
	}
	for (line = d->buf; line && *line && !err; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!procfs_parse_maps_line(line, &m))
			err = module_count_add(&m, &set);
	}
	if (err)
		field_failed(d, "module_count", err);
	else
		json_set(d->j, "module_count", json_integer((json_int_t)set.count));
	module_set__free(&set);
}

/* Children, ascending (children.h: exact from the kernel's children files, or from an
 * index of /proc/PID/stat up to CHILDREN_INDEX_TTL_MS old on kernels without them). */
static void detail_children(struct detail *d)
{
	pid_t *kids = NULL;
	size_t count = 0;
	json_t *children;
	int err;

	err = d->tids_err;
	if (!err)
		err = children__of_tasks(d->dfd, d->tids, d->ntids, &kids, &count);
	if (err == -ENOSYS)
		err = children__from_index(d->pid, CHILDREN_INDEX_TTL_MS, &kids, &count);
	if (err) {
		field_failed(d, "children", err);
		json_set(d->j, "children", NULL);
		return;
	}
	children = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(children, href_process(kids[i]));
	json_set(d->j, "children", children);
	free(kids);
}

/* threads (hrefs), thread_count and the context switches summed over live threads. */
static void detail_threads(struct detail *d, const struct proc_status *leader)
{
	uint64_t vol = 0, invol = 0;
	json_t *threads, *cs;
	const pid_t *tids = d->tids;
	size_t count = d->ntids;
	char rel[48];

	json_set(d->j, "thread_count", NULL);
	json_set(d->j, "threads", NULL);
	json_set(d->j, "context_switches", NULL);
	if (d->tids_err) {
		field_failed(d, "threads", d->tids_err);
		return;
	}
	threads = json_array();
	for (size_t i = 0; i < count; i++) {
		struct proc_status ts;

		json_array_append_new(threads, href_thread(d->pid, tids[i]));
		/* /proc/PID/status counts the leader's own switches: read already. */
		if (tids[i] == d->pid) {
			vol += leader->voluntary_ctxt_switches;
			invol += leader->nonvoluntary_ctxt_switches;
			continue;
		}
		snprintf(rel, sizeof(rel), "task/%d/status", tids[i]);
		if (detail_read(d, rel) > 0 && !procfs_parse_status(d->buf, &ts)) {
			vol += ts.voluntary_ctxt_switches;
			invol += ts.nonvoluntary_ctxt_switches;
		}
	}
	json_set(d->j, "thread_count", json_integer((json_int_t)count));
	json_set(d->j, "threads", threads);
	cs = json_object();
	json_set(cs, "voluntary", json_integer((json_int_t)vol));
	json_set(cs, "involuntary", json_integer((json_int_t)invol));
	json_set(d->j, "context_switches", cs);
}

/* The threads of the process, ascending, into d->tids (or d->tids_err). */
static void detail_list_tasks(struct detail *d)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

	fd = openat(d->dfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		d->tids_err = errno == ENOENT ? -ESRCH : -errno;
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || v <= 0)
			continue;
		if (d->ntids == cap) {
			pid_t *bigger = realloc(d->tids, (cap = cap ? cap * 2 : 16) * sizeof(pid_t));

			if (!bigger) {
				d->tids_err = -ENOMEM;
				break;
			}
			d->tids = bigger;
		}
		d->tids[d->ntids++] = (pid_t)v;
	}
	closedir(dir);
	if (d->ntids > 1)
		qsort(d->tids, d->ntids, sizeof(pid_t), cmp_fd); /* pid_t is int */
}

static void detail_cgroup(struct detail *d)
{
	struct proc_cgroup *cg = malloc(sizeof(*cg));
	ssize_t n;

	json_set(d->j, "cgroup", NULL);
	json_set(d->j, "container_id", NULL);
	json_set(d->j, "container_runtime", NULL);
	if (!cg)
		return;
	n = detail_read(d, "cgroup");
	if (n < 0) {
		field_failed(d, "cgroup", (int)n);
	} else if (procfs_parse_cgroup(d->buf, cg) == 0) {
		json_set(d->j, "cgroup", json_string_cstr(cg->path));
		if (cg->container_id[0]) {
			json_set(d->j, "container_id", json_string(cg->container_id));
			json_set(d->j, "container_runtime", json_string(cg->runtime));
		}
	}
	free(cg);
}

static void detail_namespace(struct detail *d, const struct proc_status *status)
{
	char link[64];
	uint64_t inode;
	size_t len;
	int err;

	json_set(d->j, "pid_namespace", NULL);
	err = readlink_proc(d->dfd, "ns/pid", link, sizeof(link), &len);
	if (err)
		field_failed(d, "pid_namespace", err);
	else if (!procfs_parse_ns_link(link, "pid", &inode))
		json_set(d->j, "pid_namespace", json_integer((json_int_t)inode));
	json_set(d->j, "pid_in_namespace",
		 status->nspid_count ? json_integer(status->nspid[status->nspid_count - 1])
				     : json_integer(d->pid));
	json_set(d->j, "pid_namespace_level",
		 json_integer(status->nspid_count ? status->nspid_count - 1 : 0));
}

static json_t *read_int_file(struct detail *d, const char *name, const char *field)
{
	json_t *v = NULL;
	long long x;
	ssize_t n;
	char *end;

	n = detail_read(d, name);
	if (n < 0) {
		field_failed(d, field, (int)n);
		return NULL;
	}
	errno = 0;
	x = strtoll(d->buf, &end, 10);
	if (!errno && end != d->buf)
		v = json_integer(x);
	return v;
}

static void detail_io(struct detail *d)
{
	struct proc_io io;
	json_t *o;
	ssize_t n;

	json_set(d->j, "io", NULL);
	n = detail_read(d, "io");
	if (n < 0) {
		field_failed(d, "io", (int)n);
		return;
	}
	if (!procfs_parse_io(d->buf, &io)) {
		o = json_object();
		json_set(o, "read_bytes", json_integer((json_int_t)io.read_bytes));
		json_set(o, "write_bytes", json_integer((json_int_t)io.write_bytes));
		json_set(o, "cancelled_write_bytes",
			 json_integer((json_int_t)io.cancelled_write_bytes));
		json_set(o, "rchar", json_integer((json_int_t)io.rchar));
		json_set(o, "wchar", json_integer((json_int_t)io.wchar));
		json_set(o, "syscr", json_integer((json_int_t)io.syscr));
		json_set(o, "syscw", json_integer((json_int_t)io.syscw));
		json_set(d->j, "io", o);
	}
}

static json_t *bytes_or_null(bool has, uint64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

/* Sleeps until @deadline (CLOCK_MONOTONIC seconds). */
static void sleep_until(double deadline)
{
	struct timespec ts;

	ts.tv_sec = (time_t)deadline;
	ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int inspect__process_detail(pid_t pid, const struct show_opts *opts, json_t **out)
{
	struct detail d = { .pid = pid, .dfd = -1 };
	struct proc_status status;
	struct proc_stat st, st2;
	char exe[PATH_MAX], path[32];
	ssize_t n;
	uint64_t flags = 0;
	double boot, t0, t1, now;
	size_t len = 0;
	bool kthread, has_mm;
	long hz = procfs_clock_ticks();
	uid_t euid;
	const char *user;
	struct user_cache users = { 0 };
	int err;

	*out = NULL;
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	d.dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d.dfd < 0) {
		err = -errno;
		goto cleanup;
	}
	/* status once: the thread-group check (thread_group_check()'s), the memory, the
	 * leader's context switches. */
	n = detail_read(&d, "status");
	err = n < 0 ? (int)n : n == 0 ? -ESRCH : procfs_parse_status(d.buf, &status);
	if (err)
		goto cleanup;
	/* /proc/TID exists for every thread, but only a leader is a process. */
	if (status.tgid != pid) {
		err = -ESRCH;
		goto cleanup;
	}
	now = realtime_s();
	t0 = monotonic_s();
	n = detail_read(&d, "stat");
	err = n < 0 ? (int)n : n == 0 ? -ESRCH : procfs_parse_stat(d.buf, &st);
	if (err)
		goto cleanup;
	procfs_stat_field(d.buf, 9, &flags);
	kthread = flags & PROC_PF_KTHREAD;
	/* Kernel threads and zombies have no address space: no exe, env, maps, memory. */
	has_mm = !kthread && status.has_vm;
	euid = status.uid[1];
	if (procfs_boot_time(&boot))
		boot = 0;

	d.j = json_object();
	d.unreadable = json_object();
	if (!d.j || !d.unreadable) {
		err = -ENOMEM;
		goto cleanup;
	}
	json_set(d.j, "id", json_integer(pid));
	json_set(d.j, "name", json_string_bytes(st.comm, strlen(st.comm)));
	json_set(d.j, "href", href_process(pid));
	json_set(d.j, "minidump", href_process_dump(pid));
	json_set(d.j, "parent", st.ppid > 0 ? href_process(st.ppid) : NULL);
	json_set(d.j, "ppid", json_integer(st.ppid));
	detail_list_tasks(&d);
	detail_children(&d);

	json_set(d.j, "file_name", NULL);
	if (!kthread) {
		err = readlink_proc(d.dfd, "exe", exe, sizeof(exe), &len);
		if (!err)
			json_set(d.j, "file_name", json_string_bytes(exe, len));
		else if (has_mm)
			field_failed(&d, "file_name", err);
	}
	n = detail_read(&d, "cmdline");
	err = n < 0 ? (int)n : 0;
	if (!err) {
		json_t *args = json_array();
		char *cmdline = d.buf;

		len = (size_t)n;
		for (size_t i = 0; i < len;) {
			size_t alen = strnlen(cmdline + i, len - i);

			json_array_append_new(args, json_string_bytes(cmdline + i, alen));
			i += alen + 1;
		}
		json_set(d.j, "command_line", cmdline_json(cmdline, len));
		json_set(d.j, "arguments", len ? args : (json_decref(args), json_null()));
	} else {
		json_set(d.j, "command_line", NULL);
		json_set(d.j, "arguments", NULL);
		field_failed(&d, "command_line", err);
	}
	user = user_cache__name(&users, euid);
	json_set(d.j, "user_name", user ? json_string_cstr(user) : NULL);
	json_set(d.j, "user_id", json_integer(euid));
	detail_fds(&d);
	detail_modules(&d, has_mm);
	detail_threads(&d, &status);
	json_set(d.j, "start_time",
		 boot > 0 ? json_time_iso(boot + (double)st.starttime / (double)hz) : NULL);
	json_set(d.j, "total_cpu_time", ticks_seconds(st.utime + st.stime, hz));
	json_set(d.j, "user_cpu_time", ticks_seconds(st.utime, hz));
	json_set(d.j, "privileged_cpu_time", ticks_seconds(st.stime, hz));
	json_set(d.j, "working_set", bytes_or_null(has_mm, status.vm_rss));
	json_set(d.j, "peak_working_set", bytes_or_null(has_mm, status.vm_hwm));
	json_set(d.j, "private_memory", bytes_or_null(has_mm, status.rss_anon + status.vm_swap));
	json_set(d.j, "virtual_memory", bytes_or_null(has_mm, status.vm_size));
	json_set(d.j, "peak_virtual_memory", bytes_or_null(has_mm, status.vm_peak));
	detail_environ(&d, has_mm);
	json_set(d.j, "time_stamp", json_time_iso(now));
	json_set(d.j, "is_self", json_boolean(pid == getpid()));
	json_set(d.j, "is_scm_site", json_boolean(pid == getpid()));

	/* Linux extras. */
	json_set(d.j, "state", state_json(st.state));
	json_set(d.j, "nice", json_integer(st.nice));
	json_set(d.j, "priority", json_integer(st.priority));
	json_set(d.j, "is_kernel_thread", json_boolean(kthread));
	detail_cgroup(&d);
	detail_namespace(&d, &status);
	json_set(d.j, "oom_score", read_int_file(&d, "oom_score", "oom_score"));
	json_set(d.j, "oom_score_adj", read_int_file(&d, "oom_score_adj", "oom_score_adj"));
	detail_io(&d);

	/* cpu_percent over the window that started with the first read of stat. */
	json_set(d.j, "cpu_percent", NULL);
	if (opts && opts->cpu_interval_ns)
		sleep_until(t0 + (double)opts->cpu_interval_ns / 1e9);
	n = detail_read(&d, "stat");
	err = n < 0 ? (int)n : n == 0 ? -ESRCH : procfs_parse_stat(d.buf, &st2);
	/* Gone now, or the PID names another process: what we read is not one process. */
	if (err == -ENOENT || err == -ESRCH || (!err && st2.starttime != st.starttime)) {
		err = -ESRCH;
		goto cleanup;
	}
	if (err)
		goto cleanup;
	/* It died while we read it: some fields are missing for that reason alone. */
	if (d.gone && st2.state == 'Z' && st.state != 'Z') {
		err = -ESRCH;
		goto cleanup;
	}
	t1 = monotonic_s();
	if (opts && opts->cpu_interval_ns && t1 > t0) {
		double used = (double)(st2.utime + st2.stime - st.utime - st.stime) / (double)hz;

		json_set(d.j, "cpu_percent", json_real(100.0 * used / (t1 - t0)));
	}
	json_set(d.j, "unreadable_fields", d.unreadable);
	d.unreadable = NULL;
	*out = d.j;
	d.j = NULL;
cleanup:
	if (err == -ENOENT)
		err = -ESRCH;
	json_decref(d.j);
	json_decref(d.unreadable);
	user_cache__free(&users);
	free(d.buf);
	free(d.tids);
	if (d.dfd >= 0)
		close(d.dfd);
	return err;
}
