// SPDX-License-Identifier: GPL-2.0-only
/*
 * The file sink. Zero runs become holes (lseek), like the kernel's own cores. The
 * file is an O_TMPFILE in the target folder, linked under its name by finish(): a
 * SIGKILLed tracedump leaves no partial file. Free space is checked in begin().
 */
/* Messages name paths of up to PATH_MAX bytes; a longer one is cut, not an error. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dump/sink_file.h"

struct file_sink {
	struct core_sink sink;
	int fd;
	bool force;
	bool tmpfile;	      /* O_TMPFILE: no name until finish */
	bool linked;	      /* visible under path */
	char path[PATH_MAX];  /* final name */
	char dir[PATH_MAX];   /* its folder */
	char tmp[PATH_MAX];   /* ".NAME.PID.tmp" when O_TMPFILE is not supported */
};

static struct file_sink *to_fs(struct core_sink *s)
{
	return (struct file_sink *)s;
}

const char *sink_file__path(const struct core_sink *s)
{
	return ((const struct file_sink *)s)->path;
}

static void human(uint64_t b, char *out, size_t len)
{
	if (b >= (1ULL << 30))
		snprintf(out, len, "%.1f GiB", b / (double)(1ULL << 30));
	else
		snprintf(out, len, "%.1f MiB", b / (double)(1ULL << 20));
}

static int fs_begin(struct core_sink *s, uint64_t size, uint64_t estimate)
{
	struct file_sink *fs = to_fs(s);
	struct statvfs v;
	uint64_t avail;
	char need[32], have[32];

	if (getenv("TRACEDUMP_SKIP_SPACE_CHECK")) /* test hook: exercise ENOSPC mid-write */
		return 0;
	if (fstatvfs(fs->fd, &v)) {
		int err = -errno;

		snprintf(s->why, sizeof(s->why), "cannot check free space on %s: %s", fs->dir,
			 strerror(-err));
		return err;
	}
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	/* Filesystem metadata (extents of a sparse file) needs a little more. */
	if (estimate + estimate / 64 + (1 << 20) > avail) {
		human(estimate, need, sizeof(need));
		human(avail, have, sizeof(have));
		snprintf(s->why, sizeof(s->why),
			 "not enough space in %s: the core needs about %s, %s free", fs->dir,
			 need, have);
		return -ENOSPC;
	}
	return 0;
}

/* All of @buf at @off, or at the file position when @off is negative. */
static int write_all(struct core_sink *s, const void *buf, size_t len, off_t off)
{
	struct file_sink *fs = to_fs(s);
	const char *p = buf;

	while (len) {
		ssize_t n = off < 0 ? write(fs->fd, p, len) : pwrite(fs->fd, p, len, off);

		if (n < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			snprintf(s->why, sizeof(s->why), "failed to write %s: %s", fs->path,
				 strerror(-err));
			return err;
		}
		p += n;
		len -= n;
		if (off >= 0)
			off += n;
		s->bytes_out += n;
	}
	return 0;
}

static int fs_write(struct core_sink *s, const void *buf, size_t len)
{
	return write_all(s, buf, len, -1);
}

static int fs_zeros(struct core_sink *s, uint64_t len)
{
	struct file_sink *fs = to_fs(s);

	if (lseek(fs->fd, (off_t)len, SEEK_CUR) < 0) {
		int err = -errno;

		snprintf(s->why, sizeof(s->why), "failed to seek in %s: %s", fs->path,
			 strerror(-err));
		return err;
	}
	return 0;
}

static int fs_finish(struct core_sink *s)
{
	struct file_sink *fs = to_fs(s);
	char proc[64];
	int err;

	/* A trailing hole has no bytes: set the size. */
	if (ftruncate(fs->fd, (off_t)s->offset)) {
		err = -errno;
		snprintf(s->why, sizeof(s->why), "failed to set the size of %s: %s", fs->path,
			 strerror(-err));
		return err;
	}
	if (!fs->tmpfile) {
		err = fs->force ? rename(fs->tmp, fs->path)
				: renameat2(AT_FDCWD, fs->tmp, AT_FDCWD, fs->path, RENAME_NOREPLACE);
		if (err) {
			err = -errno;
			goto fail;
		}
		fs->linked = true;
		return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fs->fd);
	if (!linkat(AT_FDCWD, proc, AT_FDCWD, fs->path, AT_SYMLINK_FOLLOW)) {
		fs->linked = true;
		return 0;
	}
	err = -errno;
	if (err == -EEXIST && fs->force) {
		/* Link under a private name, then rename over the old file atomically. */
		snprintf(fs->tmp, sizeof(fs->tmp), "%s/.%s.%d.tmp", fs->dir, basename(fs->path),
			 getpid());
		if (!linkat(AT_FDCWD, proc, AT_FDCWD, fs->tmp, AT_SYMLINK_FOLLOW)) {
			if (!rename(fs->tmp, fs->path)) {
				fs->linked = true;
				return 0;
			}
			err = -errno;
			unlink(fs->tmp);
		} else {
			err = -errno;
		}
	}
fail:
	if (err == -EEXIST)
		snprintf(s->why, sizeof(s->why), "%s appeared during the dump; not overwritten "
			 "without --force", fs->path);
	else
		snprintf(s->why, sizeof(s->why), "failed to create %s: %s", fs->path,
			 strerror(-err));
	return err;
}

static void fs_abort(struct core_sink *s)
{
	struct file_sink *fs = to_fs(s);

	if (!fs->tmpfile && fs->tmp[0])
		unlink(fs->tmp);
	if (fs->fd >= 0)
		close(fs->fd);
	fs->fd = -1;
}

static void fs_free(struct core_sink *s)
{
	struct file_sink *fs = to_fs(s);

	if (fs->fd >= 0)
		close(fs->fd);
	free(fs);
}

bool sink_file__is(const struct core_sink *s)
{
	return s && s->write == fs_write;
}

int sink_file__pwrite(struct core_sink *s, const void *buf, size_t len, uint64_t off)
{
	int err = write_all(s, buf, len, (off_t)off);

	if (!err && off + len > s->offset)
		s->offset = off + len;
	return err;
}

int sink_file__punch(struct core_sink *s, uint64_t off, uint64_t len)
{
	struct file_sink *fs = to_fs(s);
	static const char zeros[4096];

	if (!len || !fallocate(fs->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len))
		return 0;
	/* A filesystem without hole punching: write the zeros. */
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int err = sink_file__pwrite(s, zeros, n, off);

		if (err)
			return err;
		off += n;
		len -= n;
	}
	return 0;
}

int sink_file__open(const char *path, bool force, struct core_sink **out, char *why,
		    size_t why_len)
{
	struct file_sink *fs;
	char copy[PATH_MAX];
	struct stat st;
	int err;

	*out = NULL;
	if (strlen(path) >= sizeof(fs->path) - 32) {
		snprintf(why, why_len, "output path too long: %s", path);
		return -ENAMETOOLONG;
	}
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(why, why_len, "%s is a folder", path);
			return -EISDIR;
		}
		if (!force) {
			snprintf(why, why_len, "%s exists; use --force to overwrite it", path);
			return -EEXIST;
		}
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	fs->fd = -1;
	fs->force = force;
	snprintf(fs->path, sizeof(fs->path), "%s", path);
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(fs->dir, sizeof(fs->dir), "%s", dirname(copy));

	fs->fd = open(fs->dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fs->fd >= 0) {
		fs->tmpfile = true;
	} else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		snprintf(copy, sizeof(copy), "%s", path);
		snprintf(fs->tmp, sizeof(fs->tmp), "%s/.%s.%d.tmp", fs->dir, basename(copy),
			 getpid());
		fs->fd = open(fs->tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	}
	if (fs->fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot create a file in %s: %s", fs->dir, strerror(-err));
		fs->tmp[0] = 0;
		free(fs);
		return err;
	}
	/* The kernel writes cores 0600: they hold the process's secrets. */
	fchmod(fs->fd, 0600);
	fs->sink.begin = fs_begin;
	fs->sink.write = fs_write;
	fs->sink.zeros = fs_zeros;
	fs->sink.finish = fs_finish;
	fs->sink.abort = fs_abort;
	fs->sink.free = fs_free;
	*out = &fs->sink;
	return 0;
}
