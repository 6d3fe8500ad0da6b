// SPDX-License-Identifier: GPL-2.0-only
/*
 * The core_pattern route's shared state (the saved pattern, its owner, the lock,
 * healing), used by the watch and by the relay. libc and procfs.c only: the relay
 * binary (tracedump-core-relay) links it statically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/procfs.h"
#include "watch/core_pattern.h"
#include "watch/core_route_state.h"

bool core_route__is_relay(const char *pattern)
{
	return pattern[0] == '|' &&
	       (strstr(pattern, " core-relay ") || strstr(pattern, "/" CORE_RELAY_BINARY " "));
}

uint64_t core_state__start_time(pid_t pid)
{
	struct proc_stat st;

	return procfs_read_stat(pid, -1, &st) ? 0 : st.starttime;
}

bool core_route__alive(pid_t pid, uint64_t start)
{
	struct proc_stat st;

	return pid > 0 && !procfs_read_stat(pid, -1, &st) && st.state != 'Z' &&
	       st.starttime == start;
}

int core_state__read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		err = -errno;
	close(fd);
	if (err)
		return err;
	buf[n] = 0;
	return (int)n;
}

int core_state__read_pattern(char *buf, size_t len)
{
	int n = core_state__read_text(CORE_PATTERN_FILE, buf, len);

	if (n < 0)
		return n;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int core_state__write_pattern(const char *pattern)
{
	int fd = open(CORE_PATTERN_FILE, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, pattern, strlen(pattern)) != (ssize_t)strlen(pattern))
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* The state folder must be root's alone: the relay, root, runs the pattern saved there. */
static int dir_safe(void)
{
	struct stat sb;

	if (lstat(CORE_ROUTE_DIR, &sb))
		return -errno;
	return S_ISDIR(sb.st_mode) && sb.st_uid == 0 && !(sb.st_mode & 022) ? 0 : -EPERM;
}

int core_route__read_state(char *saved, size_t len, pid_t *owner, uint64_t *start)
{
	char buf[512], *nl;
	long long p;
	unsigned long long s;
	int n = dir_safe();

	if (n)
		return n == -ENOENT ? n : -EPERM;
	n = core_state__read_text(CORE_ROUTE_SAVED, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (sscanf(buf, "owner %lld %llu", &p, &s) != 2 || !(nl = strchr(buf, '\n')))
		return -EINVAL;
	nl++;
	nl[strcspn(nl, "\n")] = 0;
	if (strlen(nl) >= len)
		return -EINVAL;
	strcpy(saved, nl);
	*owner = (pid_t)p;
	*start = s;
	return 0;
}

int core_state__lock(void)
{
	int fd;

	if (mkdir(CORE_ROUTE_DIR, 0700) && errno != EEXIST)
		return -errno;
	if (dir_safe())
		return -EPERM;
	fd = open(CORE_ROUTE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	return fd;
}

/* Under the lock: a route whose owner is gone comes back to its saved pattern. */
int core_state__heal_locked(void)
{
	char saved[CORE_PATTERN_MAX], cur[256];
	pid_t owner;
	uint64_t start;
	int err = core_route__read_state(saved, sizeof(saved), &owner, &start);

	if (err == -ENOENT) {
		/* No state: a relay pattern left without one cannot be undone exactly;
		 * the kernel's default is the honest fallback. */
		if (!core_state__read_pattern(cur, sizeof(cur)) && core_route__is_relay(cur))
			return core_state__write_pattern("core") ? -EIO : 1;
		return 0;
	}
	if (err)
		return err;
	if (core_route__alive(owner, start))
		return 0;
	if (!core_state__read_pattern(cur, sizeof(cur)) && core_route__is_relay(cur)) {
		err = core_state__write_pattern(saved);
		if (err)
			return err;
	}
	unlink(CORE_ROUTE_SAVED);
	unlink(CORE_ROUTE_SOCK);
	return 1;
}

int core_route__heal(void)
{
	int lk = core_state__lock(), ret;

	if (lk < 0)
		return lk;
	ret = core_state__heal_locked();
	close(lk);
	return ret;
}

