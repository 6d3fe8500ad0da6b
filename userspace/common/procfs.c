// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/procfs.h"

int procfs_parse_stat(const char *buf, struct proc_stat *st)
{
	const char *open, *close;
	size_t comm_len;
	int n;

	memset(st, 0, sizeof(*st));
	if (!buf)
		return -EINVAL;
	/* comm may hold spaces, ')' and newlines: it ends at the last ')'. */
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	if (!open || !close || close < open)
		return -EINVAL;
	{
		char *end;
		long pid = strtol(buf, &end, 10);

		if (end == buf)
			return -EINVAL;
		st->pid = (pid_t)pid;
	}
	comm_len = close - open - 1;
	if (comm_len >= sizeof(st->comm))
		comm_len = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, comm_len);
	st->comm[comm_len] = '\0';

	/* Fields 3.. by hand (sscanf costs a tenth of `ps`): a field that is not a number
	 * where one is wanted ends the parse, as sscanf would; n counts the fields stored,
	 * in sscanf's order (state 1 ... rss 14, processor 15 ... delayacct 18). */
	{
		const char *p = close + 1;
		int64_t v[53];
		int field = 3;

		n = 0;
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		st->state = *p++;
		n = 1;
		for (field = 4; field <= 52; field++) {
			char *end;

			while (*p == ' ' || *p == '\n')
				p++;
			if (!*p)
				break;
			errno = 0;
			v[field] = (int64_t)strtoull(p, &end, 10);
			if (end == p || (*end && *end != ' ' && *end != '\n'))
				break; /* not a number: only a skipped field may be one */
			p = end;
		}
		/* The fields read in full are 4 .. field - 1. */
		static const signed char want[] = { 4, 5, 6, 10, 12, 14, 15, 18, 19, 20, 22, 23,
						    24, 39, 40, 41, 42 };
		for (size_t i = 0; i < sizeof(want) && want[i] < field; i++)
			n++;
		if (field > 4) st->ppid = (pid_t)v[4];
		if (field > 5) st->pgrp = (pid_t)v[5];
		if (field > 6) st->session = (pid_t)v[6];
		if (field > 10) st->minflt = (uint64_t)v[10];
		if (field > 12) st->majflt = (uint64_t)v[12];
		if (field > 14) st->utime = (uint64_t)v[14];
		if (field > 15) st->stime = (uint64_t)v[15];
		if (field > 18) st->priority = v[18];
		if (field > 19) st->nice = v[19];
		if (field > 20) st->num_threads = v[20];
		if (field > 22) st->starttime = (uint64_t)v[22];
		if (field > 23) st->vsize = (uint64_t)v[23];
		if (field > 24) st->rss = v[24];
		if (field > 39) st->processor = (int)v[39];
		if (field > 40) st->rt_priority = (unsigned)v[40];
		if (field > 41) st->policy = (unsigned)v[41];
		if (field > 42) st->delayacct_blkio_ticks = (uint64_t)v[42];
	}
	/* Up to rss (field 24) is what every kernel since 2.6 has; the rest is optional. */
	if (n < 14)
		return -EINVAL;
	if (!isalpha((unsigned char)st->state))
		return -EINVAL;
	/* exit_code is the last field (52) on Linux 3.5+. */
	{
		const char *last = strrchr(close, ' ');

		if (last && n >= 18)
			st->exit_code = atoi(last + 1);
	}
	return 0;
}

/* Parses "Key:\tN kB" into bytes. */
static bool status_kb(const char *line, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	unsigned long long v;

	if (strncmp(line, key, klen) || line[klen] != ':')
		return false;
	char *end;

	/* strtoull rather than sscanf: status has ~60 lines, read on every `show`. */
	v = strtoull(line + klen + 1, &end, 10);
	if (end != line + klen + 1)
		*out = (uint64_t)v * 1024;
	return true;
}

static bool status_u64(const char *line, const char *key, uint64_t *out, int base)
{
	size_t klen = strlen(key);

	if (strncmp(line, key, klen) || line[klen] != ':')
		return false;
	*out = strtoull(line + klen + 1, NULL, base);
	return true;
}

/* "N N N N" (Uid:, Gid:) into @v; strtoul rather than sscanf, as in status_kb. */
static void status_ids(const char *p, unsigned *v)
{
	char *end;

	for (int i = 0; i < 4; i++) {
		unsigned long x = strtoul(p, &end, 10);

		if (end == p)
			return;
		v[i] = (unsigned)x;
		p = end;
	}
}

int procfs_parse_status(const char *buf, struct proc_status *st)
{
	const char *line = buf;
	bool seen_name = false;

	memset(st, 0, sizeof(*st));
	if (!buf)
		return -EINVAL;
	/* By the key's first letter: status has ~60 lines and most are not wanted. */
	while (line && *line) {
		const char *next = strchr(line, '\n');
		uint64_t v;

		switch (line[0]) {
		case 'N':
			if (!strncmp(line, "Name:\t", 6)) {
				/* The kernel escapes '\n' and '\\' in Name; keep it as written. */
				size_t len = next ? (size_t)(next - line - 6) : strlen(line + 6);

				if (len >= sizeof(st->name))
					len = sizeof(st->name) - 1;
				memcpy(st->name, line + 6, len);
				st->name[len] = '\0';
				seen_name = true;
			} else if (!strncmp(line, "NSpid:", 6)) {
				const char *p = line + 6;
				char *end;

				st->nspid_count = 0;
				while (st->nspid_count < PROC_NS_LEVELS) {
					long pid = strtol(p, &end, 10);

					if (end == p)
						break;
					st->nspid[st->nspid_count++] = (pid_t)pid;
					p = end;
				}
			}
			break;
		case 'S':
			if (!strncmp(line, "State:", 6)) {
				const char *p = line + 6;

				while (*p == ' ' || *p == '\t')
					p++;
				st->state = *p;
			} else if (status_u64(line, "SigBlk", &st->sig_blk, 16) ||
				   status_u64(line, "SigIgn", &st->sig_ign, 16) ||
				   status_u64(line, "SigCgt", &st->sig_cgt, 16)) {
				/* stored by status_u64 */
			}
			break;
		case 'T':
			if (!strncmp(line, "Tgid:", 5))
				st->tgid = atoi(line + 5);
			else if (!strncmp(line, "TracerPid:", 10))
				st->tracer_pid = atoi(line + 10);
			else if (status_u64(line, "Threads", &v, 10))
				st->threads = (int64_t)v;
			break;
		case 'P':
			if (!strncmp(line, "PPid:", 5))
				st->ppid = atoi(line + 5);
			break;
		case 'U':
			if (!strncmp(line, "Uid:", 4))
				status_ids(line + 4, st->uid);
			break;
		case 'G':
			if (!strncmp(line, "Gid:", 4))
				status_ids(line + 4, st->gid);
			break;
		case 'V':
		case 'R':
			if (status_kb(line, "VmPeak", &st->vm_peak) ||
			    status_kb(line, "VmSize", &st->vm_size) ||
			    status_kb(line, "VmHWM", &st->vm_hwm) ||
			    status_kb(line, "VmRSS", &st->vm_rss) ||
			    status_kb(line, "RssAnon", &st->rss_anon) ||
			    status_kb(line, "RssFile", &st->rss_file) ||
			    status_kb(line, "RssShmem", &st->rss_shmem) ||
			    status_kb(line, "VmSwap", &st->vm_swap) ||
			    status_kb(line, "VmData", &st->vm_data) ||
			    status_kb(line, "VmStk", &st->vm_stk) ||
			    status_kb(line, "VmExe", &st->vm_exe) ||
			    status_kb(line, "VmLib", &st->vm_lib))
				st->has_vm = true;
			break;
		case 'v':
			if (status_u64(line, "voluntary_ctxt_switches", &v, 10))
				st->voluntary_ctxt_switches = v;
			break;
		case 'n':
			if (status_u64(line, "nonvoluntary_ctxt_switches", &v, 10))
				st->nonvoluntary_ctxt_switches = v;
			break;
		case 'C':
			status_u64(line, "CapEff", &st->cap_eff, 16);
			break;
		default:
			break;
		}
		line = next ? next + 1 : NULL;
	}
	return seen_name ? 0 : -EINVAL;
}

/* A hexadecimal or decimal number of a maps line; the end of it, NULL without digits. */
static const char *maps_number(const char *p, int base, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *start = p;

	for (;; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (v > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
			return NULL;
		v = v * (unsigned)base + (unsigned)d;
	}
	if (p == start)
		return NULL;
	*out = v;
	return p;
}

/* Past the blanks between two fields; NULL when there are none. */
static const char *maps_field_start(const char *p)
{
	const char *start = p;

	while (*p == ' ' || *p == '\t')
		p++;
	return p == start ? NULL : p;
}

int procfs_parse_maps_line(const char *line, struct proc_map *m)
{
	unsigned long long start, end, offset, inode;
	int path_at = -1;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (!line)
		return -EINVAL;
	/* By hand, not sscanf: every `show`, `modules` and dump parses every line, and
	 * sscanf was most of the parsing time of GET /api/processes/{id}. */
	{
		const char *p = line;
		unsigned long long major, minor;

		if (!(p = maps_number(p, 16, &start)) || *p++ != '-' ||
		    !(p = maps_number(p, 16, &end)) || !(p = maps_field_start(p)))
			return -EINVAL;
		for (int i = 0; i < 4; i++, p++) {
			if (!*p || isspace((unsigned char)*p))
				return -EINVAL;
			m->perms[i] = *p;
		}
		m->perms[4] = '\0';
		if (!(p = maps_field_start(p)) || !(p = maps_number(p, 16, &offset)) ||
		    !(p = maps_field_start(p)) || !(p = maps_number(p, 16, &major)) ||
		    *p++ != ':' || !(p = maps_number(p, 16, &minor)) ||
		    !(p = maps_field_start(p)) || !(p = maps_number(p, 10, &inode)) ||
		    (*p && !isspace((unsigned char)*p)) || major > UINT_MAX || minor > UINT_MAX)
			return -EINVAL;
		while (*p && isspace((unsigned char)*p))
			p++;
		m->dev_major = (unsigned)major;
		m->dev_minor = (unsigned)minor;
		path_at = (int)(p - line);
	}
	if (end < start)
		return -EINVAL;
	m->start = start;
	m->end = end;
	m->offset = offset;
	m->inode = inode;

	len = strcspn(line + path_at, "\n");
	if (len >= sizeof(m->path))
		len = sizeof(m->path) - 1;
	memcpy(m->path, line + path_at, len);
	m->path[len] = '\0';
	if (len > 10 && !strcmp(m->path + len - 10, " (deleted)")) {
		m->path[len - 10] = '\0';
		m->deleted = true;
	}
	return 0;
}

int procfs_parse_io(const char *buf, struct proc_io *io)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "rchar", offsetof(struct proc_io, rchar) },
		{ "wchar", offsetof(struct proc_io, wchar) },
		{ "syscr", offsetof(struct proc_io, syscr) },
		{ "syscw", offsetof(struct proc_io, syscw) },
		{ "read_bytes", offsetof(struct proc_io, read_bytes) },
		{ "write_bytes", offsetof(struct proc_io, write_bytes) },
		{ "cancelled_write_bytes", offsetof(struct proc_io, cancelled_write_bytes) },
	};
	const char *line = buf;
	int found = 0;

	memset(io, 0, sizeof(*io));
	if (!buf)
		return -EINVAL;
	while (line && *line) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (status_u64(line, keys[i].key, (uint64_t *)((char *)io + keys[i].off), 10))
				found++;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return found ? 0 : -EINVAL;
}

int procfs_parse_environ(const char *buf, size_t len,
			 int (*fn)(const char *name, size_t name_len, const char *value,
				   size_t value_len, void *ctx),
			 void *ctx)
{
	size_t i = 0;

	while (i < len) {
		const char *entry = buf + i;
		const char *nul = memchr(entry, '\0', len - i);
		size_t elen = nul ? (size_t)(nul - entry) : len - i;
		const char *eq = memchr(entry, '=', elen);
		int ret;

		if (elen) {
			if (eq)
				ret = fn(entry, eq - entry, eq + 1, elen - (eq - entry) - 1, ctx);
			else
				ret = fn(entry, elen, entry + elen, 0, ctx);
			if (ret)
				return ret;
		}
		i += elen + 1;
	}
	return 0;
}

static void procfs_path(char *path, size_t size, pid_t pid, pid_t tid, const char *name)
{
	if (tid < 0)
		snprintf(path, size, "/proc/%d/%s", pid, name);
	else
		snprintf(path, size, "/proc/%d/task/%d/%s", pid, tid, name);
}

/* The free space a read is given at least: a seq_file hands out up to a page a read. */
#define READ_ROOM 4096

ssize_t procfs_read_at(int dirfd, const char *rel, char **buf, size_t *cap, bool to_eof)
{
	ssize_t used = 0;
	int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		size_t want;
		ssize_t n;

		if (!*buf || *cap - (size_t)used < READ_ROOM + 1) {
			size_t ncap = *buf && *cap ? *cap * 2 : 2 * READ_ROOM;
			char *bigger = realloc(*buf, ncap);

			if (!bigger) {
				close(fd);
				return -ENOMEM;
			}
			*buf = bigger;
			*cap = ncap;
		}
		want = *cap - used - 1;
		n = read(fd, *buf + used, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* A process that exits while we read reports ESRCH on some files. */
			n = -errno;
			close(fd);
			return n;
		}
		used += n;
		if (n == 0 || (!to_eof && (size_t)n < want))
			break;
	}
	(*buf)[used] = '\0';
	close(fd);
	return used;
}

int procfs_read(pid_t pid, pid_t tid, const char *name, char **buf, size_t *len)
{
	char path[128];
	size_t cap = 0;
	ssize_t n;

	*buf = NULL;
	procfs_path(path, sizeof(path), pid, tid, name);
	n = procfs_read_at(AT_FDCWD, path, buf, &cap, true);
	if (n < 0) {
		free(*buf);
		*buf = NULL;
		return (int)n;
	}
	if (len)
		*len = (size_t)n;
	return 0;
}

int procfs_read_stat(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char *buf;
	int err;

	err = procfs_read(pid, tid, "stat", &buf, NULL);
	if (err)
		return err;
	/* An empty stat means the task is being torn down. */
	err = *buf ? procfs_parse_stat(buf, st) : -ESRCH;
	free(buf);
	return err;
}

int procfs_read_status(pid_t pid, pid_t tid, struct proc_status *st)
{
	char *buf;
	int err;

	err = procfs_read(pid, tid, "status", &buf, NULL);
	if (err)
		return err;
	err = *buf ? procfs_parse_status(buf, st) : -ESRCH;
	free(buf);
	return err;
}

int procfs_for_each_map(pid_t pid, int (*fn)(const struct proc_map *m, void *ctx), void *ctx)
{
	struct proc_map *m = NULL;
	char *buf = NULL, *line, *next;
	int err;

	err = procfs_read(pid, -1, "maps", &buf, NULL);
	if (err)
		return err;
	m = malloc(sizeof(*m));
	if (!m) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (procfs_parse_maps_line(line, m))
			continue;
		err = fn(m, ctx);
		if (err)
			break;
	}
cleanup:
	free(m);
	free(buf);
	return err;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int procfs_list_pids(pid_t pid, bool tasks, pid_t **out, size_t *count)
{
	size_t n = 0, cap = 256;
	char path[64] = "/proc";
	struct dirent *de;
	pid_t *pids = NULL;
	DIR *dir;
	int err = 0;

	*out = NULL;
	*count = 0;
	if (tasks)
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	pids = malloc(cap * sizeof(*pids));
	if (!pids) {
		err = -ENOMEM;
		goto cleanup;
	}
	while ((de = readdir(dir))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || v <= 0)
			continue;
		if (n == cap) {
			pid_t *bigger = realloc(pids, cap * 2 * sizeof(*pids));

			if (!bigger) {
				err = -ENOMEM;
				goto cleanup;
			}
			pids = bigger;
			cap *= 2;
		}
		pids[n++] = (pid_t)v;
	}
	qsort(pids, n, sizeof(*pids), cmp_pid);
	*out = pids;
	*count = n;
	pids = NULL;
cleanup:
	free(pids);
	closedir(dir);
	return err;
}

long procfs_clock_ticks(void)
{
	static long ticks;

	if (!ticks) {
		ticks = sysconf(_SC_CLK_TCK);
		if (ticks <= 0)
			ticks = 100;
	}
	return ticks;
}

int procfs_boot_time(double *boot_epoch)
{
	static double cached;
	char *buf = NULL, *p;
	int err = 0;

	if (cached) {
		*boot_epoch = cached;
		return 0;
	}
	{
		FILE *f = fopen("/proc/stat", "re");
		size_t cap = 0;
		ssize_t n;

		if (!f)
			return -errno;
		err = -ENOENT;
		while ((n = getline(&buf, &cap, f)) > 0) {
			if (!strncmp(buf, "btime ", 6)) {
				cached = strtod(buf + 6, &p);
				err = 0;
				break;
			}
		}
		fclose(f);
	}
	free(buf);
	if (!err)
		*boot_epoch = cached;
	return err;
}

/* --- Additions for ps / show / kill ------------------------------------------------ */

int procfs_stat_field(const char *buf, int field, uint64_t *out)
{
	const char *p;
	char *end;

	if (!buf || field < 3)
		return -EINVAL;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int i = 3; i <= field; i++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return -EINVAL;
		if (i == field)
			break;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	if (field == 3) {
		*out = (unsigned char)*p;
		return 0;
	}
	if (*p != '-' && !isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	*out = *p == '-' ? (uint64_t)strtoll(p, &end, 10) : strtoull(p, &end, 10);
	if (errno || (*end && *end != ' ' && *end != '\n'))
		return -EINVAL;
	return 0;
}

static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

int procfs_container_id(const char *path, char *id, const char **runtime)
{
	static const struct {
		const char *prefix, *runtime;
	} prefixes[] = {
		{ "docker-", "docker" },
		{ "cri-containerd-", "containerd" },
		{ "crio-", "crio" },
		{ "libpod-", "podman" },
	};
	const char *found = NULL, *found_rt = NULL, *parent = "", *comp;
	size_t parent_len = 0;

	id[0] = '\0';
	*runtime = NULL;
	if (!path)
		return 0;
	for (comp = path; *comp;) {
		const char *slash = strchr(comp, '/');
		size_t len = slash ? (size_t)(slash - comp) : strlen(comp);
		const char *body = comp;
		size_t blen = len;
		const char *rt = NULL;

		if (blen > 6 && !memcmp(body + blen - 6, ".scope", 6))
			blen -= 6;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			size_t plen = strlen(prefixes[i].prefix);

			if (blen > plen && !memcmp(body, prefixes[i].prefix, plen)) {
				body += plen;
				blen -= plen;
				rt = prefixes[i].runtime;
				break;
			}
		}
		if (!rt && blen == len) {
			/* A bare id: /docker/<id>, /kubepods/.../<id>, /libpod_parent/<id>. */
			if ((parent_len == 6 && !memcmp(parent, "docker", 6)))
				rt = "docker";
			else if (parent_len == 13 && !memcmp(parent, "libpod_parent", 13))
				rt = "podman";
			else if (strstr(path, "kubepods") && strstr(path, "kubepods") < comp)
				rt = "kubernetes";
		}
		if (rt && blen == PROC_CONTAINER_ID_MAX && all_hex(body, blen)) {
			found = body;
			found_rt = rt;
		}
		parent = comp;
		parent_len = len;
		if (!slash)
			break;
		comp = slash + 1;
	}
	if (!found)
		return 0;
	memcpy(id, found, PROC_CONTAINER_ID_MAX);
	id[PROC_CONTAINER_ID_MAX] = '\0';
	*runtime = found_rt;
	return 1;
}

int procfs_parse_cgroup(const char *buf, struct proc_cgroup *cg)
{
	const char *line = buf;
	bool have_path = false, unified = false;
	char *tmp = NULL;

	memset(cg, 0, sizeof(*cg));
	if (!buf)
		return -EINVAL;
	tmp = malloc(PATH_MAX);
	if (!tmp)
		return -ENOMEM;
	/* "hierarchy-ID:controller-list:path", one line per hierarchy; v2 is "0::path". */
	while (line && *line) {
		const char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		const char *c1 = memchr(line, ':', len), *c2 = NULL;
		char id[PROC_CONTAINER_ID_MAX + 1];
		bool is_unified;
		const char *rt;
		size_t plen;

		if (c1)
			c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line));
		if (!c1 || !c2 || c1 == line || (size_t)(c2 + 1 - line) >= len || c2[1] != '/') {
			line = next ? next + 1 : NULL;
			continue;
		}
		plen = len - (size_t)(c2 + 1 - line);
		if (plen >= PATH_MAX)
			plen = PATH_MAX - 1;
		memcpy(tmp, c2 + 1, plen);
		tmp[plen] = '\0';
		is_unified = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
		if (!unified && (is_unified || !have_path)) {
			memcpy(cg->path, tmp, plen + 1);
			have_path = true;
			unified = is_unified;
		}
		if (!cg->container_id[0] && procfs_container_id(tmp, id, &rt)) {
			memcpy(cg->container_id, id, sizeof(id));
			cg->runtime = rt;
		}
		line = next ? next + 1 : NULL;
	}
	free(tmp);
	return have_path ? 0 : -EINVAL;
}

int procfs_parse_ns_link(const char *link, const char *type, uint64_t *inode)
{
	size_t tlen;
	char *end;

	if (!link || !type)
		return -EINVAL;
	tlen = strlen(type);
	if (strncmp(link, type, tlen) || strncmp(link + tlen, ":[", 2) ||
	    !isdigit((unsigned char)link[tlen + 2]))
		return -EINVAL;
	errno = 0;
	*inode = strtoull(link + tlen + 2, &end, 10);
	if (errno || strcmp(end, "]"))
		return -EINVAL;
	return 0;
}

size_t procfs_cmdline_join(char *buf, size_t len)
{
	while (len && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return len;
}
