// SPDX-License-Identifier: GPL-2.0-only
/* The CPUs a process may use, for watch --cpu-total; see cpu_limit.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watch/cpu_limit.h"

int cpu_max_parse(const char *s, double *cpus)
{
	char quota[32];
	unsigned long long q, period;
	int n;

	if (sscanf(s, "%31s %llu%n", quota, &period, &n) != 2 || !period)
		return -EINVAL;
	if (!strcmp(quota, "max")) {
		*cpus = 0;
		return 0;
	}
	{
		char *end;

		errno = 0;
		q = strtoull(quota, &end, 10);
		if (errno || *end || !q || quota[0] == '-')
			return -EINVAL;
	}
	*cpus = (double)q / (double)period;
	return 0;
}

int cpu_list_count(const char *s)
{
	int count = 0;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				return -EINVAL;
			s = end;
		}
		count += (int)(b - a + 1);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return count;
}

/* The first line of @dir/@name into @buf; -errno. */
static int read_line(const char *dir, const char *name, char *buf, size_t len, char *path,
		     size_t path_len)
{
	FILE *f;

	if ((size_t)snprintf(path, path_len, "%s/%s", dir, name) >= path_len)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return 0;
}

static void lower(struct cpu_limit *l, double cpus, const char *source, const char *path)
{
	if (cpus <= 0 || cpus >= l->cpus)
		return;
	l->cpus = cpus;
	l->source = source;
	snprintf(l->path, sizeof(l->path), "%s", path);
}

/* The limits written in one cgroup folder. */
static void apply_dir(struct cpu_limit *l, const char *dir, int v2)
{
	char buf[4096], path[PATH_MAX];
	double cpus;
	int n;

	if (v2) {
		if (!read_line(dir, "cpu.max", buf, sizeof(buf), path, sizeof(path)) &&
		    !cpu_max_parse(buf, &cpus))
			lower(l, cpus, "cpu.max", path);
		if (!read_line(dir, "cpuset.cpus.effective", buf, sizeof(buf), path, sizeof(path)) &&
		    (n = cpu_list_count(buf)) > 0)
			lower(l, n, "cpuset.cpus.effective", path);
		return;
	}
	if (!read_line(dir, "cpu.cfs_quota_us", buf, sizeof(buf), path, sizeof(path))) {
		long long quota = atoll(buf);
		char pbuf[64], ppath[PATH_MAX];

		/* -1: no limit */
		if (quota > 0 &&
		    !read_line(dir, "cpu.cfs_period_us", pbuf, sizeof(pbuf), ppath, sizeof(ppath)) &&
		    atoll(pbuf) > 0)
			lower(l, (double)quota / (double)atoll(pbuf), "cpu.cfs_quota_us", path);
	}
	if (!read_line(dir, "cpuset.effective_cpus", buf, sizeof(buf), path, sizeof(path)) &&
	    (n = cpu_list_count(buf)) > 0)
		lower(l, n, "cpuset.effective_cpus", path);
}

void cpu_limit__apply_tree(struct cpu_limit *l, const char *mount, const char *cgpath, int v2)
{
	char dir[PATH_MAX];
	size_t root_len = strlen(mount);

	if (strstr(cgpath, "/..") ||
	    (size_t)snprintf(dir, sizeof(dir), "%s%s%s", mount, cgpath[0] == '/' ? "" : "/",
			     cgpath) >= sizeof(dir))
		return;
	/* The cgroup itself, then each ancestor up to the mount's root. */
	for (;;) {
		size_t len = strlen(dir);
		char *slash;

		while (len > root_len && dir[len - 1] == '/')
			dir[--len] = 0;
		apply_dir(l, dir, v2);
		if (len <= root_len)
			break;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < root_len)
			break;
		*slash = 0;
	}
}

/* Whether the comma-separated @list holds @word. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == 0 || p[n] == '\n'))
			return 1;
	return 0;
}

/* The path of @pid's cgroup in the hierarchy whose controllers include @ctrl ("" for
 * the v2 one); -ENOENT when none. */
static int cgroup_of(pid_t pid, const char *ctrl, char *out, size_t len)
{
	char path[64], line[PATH_MAX + 128];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = 0;
		if (*ctrl ? !has_word(c1 + 1, ctrl) : (c1[1] != 0 || strncmp(line, "0:", 2)))
			continue;
		c2[1 + strcspn(c2 + 1, "\n")] = 0;
		snprintf(out, len, "%s", c2 + 1);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

void cpu_limit__read(pid_t pid, struct cpu_limit *l)
{
	char line[PATH_MAX * 2];
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f;

	memset(l, 0, sizeof(*l));
	l->online = l->cpus = n > 0 ? (double)n : 1;
	l->source = "online_cpus";
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], fstype[64], super[512], cg[PATH_MAX];
		const char *sep = strstr(line, " - ");
		static const char *const v1_ctrls[] = { "cpu", "cpuset" };

		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%63s %*s %511s", fstype, super) != 2)
			continue;
		if (!strcmp(fstype, "cgroup2")) {
			if (!cgroup_of(pid, "", cg, sizeof(cg)))
				cpu_limit__apply_tree(l, mnt, cg + (strcmp(root, "/") &&
					!strncmp(cg, root, strlen(root)) ? strlen(root) : 0), 1);
			continue;
		}
		if (strcmp(fstype, "cgroup"))
			continue;
		for (size_t i = 0; i < 2; i++) {
			if (!has_word(super, v1_ctrls[i]) || cgroup_of(pid, v1_ctrls[i], cg, sizeof(cg)))
				continue;
			cpu_limit__apply_tree(l, mnt, cg + (strcmp(root, "/") &&
				!strncmp(cg, root, strlen(root)) ? strlen(root) : 0), 0);
			break; /* one walk reads both kinds of file */
		}
	}
	fclose(f);
}

json_t *cpu_limit__json(const struct cpu_limit *l)
{
	return json_pack("{s:f, s:s, s:s*, s:f}", "cpus", l->cpus, "source", l->source, "path",
			 l->path[0] ? l->path : NULL, "online_cpus", l->online);
}
