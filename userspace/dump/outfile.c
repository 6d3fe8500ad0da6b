// SPDX-License-Identifier: GPL-2.0-only
/* A file written under no name (or a temporary one) and named when complete. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump/outfile.h"

struct outfile {
	struct core_sink sink;
	int fd, dirfd;
	char *base;	/* final name inside dirfd */
	char *tmpname;	/* named temporary file, NULL with O_TMPFILE */
	bool force, done;
};

static struct outfile *to_outfile(struct core_sink *s)
{
	return (struct outfile *)s;
}

static int outfile_write(struct core_sink *s, const void *buf, size_t len)
{
	struct outfile *f = to_outfile(s);
	const char *p = buf;

	while (len) {
		ssize_t n = write(f->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
		s->bytes_out += n;
	}
	return 0;
}

static int outfile_zeros(struct core_sink *s, uint64_t len)
{
	static const char zero[65536];

	while (len) {
		size_t n = len < sizeof(zero) ? len : sizeof(zero);
		int err = outfile_write(s, zero, n);

		if (err)
			return err;
		len -= n;
	}
	return 0;
}

/* A name in the same folder that nobody else uses, for rename(2). */
static int make_tmpname(struct outfile *f, char **out)
{
	static unsigned counter;

	if (asprintf(out, ".%s.%d.%u.part", f->base, (int)getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED)) < 0)
		return -ENOMEM;
	return 0;
}

static int outfile_finish(struct core_sink *s)
{
	struct outfile *f = to_outfile(s);
	char fdpath[64], *tmp = NULL;
	int err = 0;

	if (f->done)
		return -EINVAL;
	if (f->tmpname) {
		if (f->force) {
			if (renameat(f->dirfd, f->tmpname, f->dirfd, f->base))
				err = -errno;
		} else if (renameat2(f->dirfd, f->tmpname, f->dirfd, f->base, RENAME_NOREPLACE)) {
			err = -errno;
		}
		if (err)
			return err; /* abort() removes the temporary file */
		free(f->tmpname);
		f->tmpname = NULL;
	} else {
		/* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc/self/fd
		 * path with AT_SYMLINK_FOLLOW does not. */
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", f->fd);
		if (!linkat(AT_FDCWD, fdpath, f->dirfd, f->base, AT_SYMLINK_FOLLOW))
			goto linked;
		err = -errno;
		if (err != -EEXIST || !f->force)
			return err;
		/* Replacing: link under a temporary name, then rename over. */
		err = make_tmpname(f, &tmp);
		if (err)
			return err;
		if (linkat(AT_FDCWD, fdpath, f->dirfd, tmp, AT_SYMLINK_FOLLOW)) {
			err = -errno;
			free(tmp);
			return err;
		}
		if (renameat(f->dirfd, tmp, f->dirfd, f->base)) {
			err = -errno;
			unlinkat(f->dirfd, tmp, 0);
			free(tmp);
			return err;
		}
		free(tmp);
	}
linked:
	f->done = true;
	if (close(f->fd)) {
		err = -errno;
		f->fd = -1;
		unlinkat(f->dirfd, f->base, 0);
		return err;
	}
	f->fd = -1;
	return 0;
}

static void outfile_abort(struct core_sink *s)
{
	struct outfile *f = to_outfile(s);

	if (f->done)
		return;
	f->done = true;
	if (f->tmpname) {
		unlinkat(f->dirfd, f->tmpname, 0);
		free(f->tmpname);
		f->tmpname = NULL;
	}
	if (f->fd >= 0)
		close(f->fd); /* an O_TMPFILE vanishes with its last fd */
	f->fd = -1;
}

static void outfile_free(struct core_sink *s)
{
	struct outfile *f = to_outfile(s);

	if (!s)
		return;
	outfile_abort(s); /* no-op after finish */
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->base);
	free(f);
}

int outfile__open(const char *path, bool force, struct core_sink **out)
{
	struct outfile *f;
	const char *slash;
	char *dir = NULL;
	struct stat st;
	int err;

	*out = NULL;
	if (!path || !*path || path[strlen(path) - 1] == '/')
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = f->dirfd = -1;
	f->force = force;

	slash = strrchr(path, '/');
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	f->base = strdup(slash ? slash + 1 : path);
	if (!dir || !f->base) {
		err = -ENOMEM;
		goto cleanup;
	}
	f->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (!force && !fstatat(f->dirfd, f->base, &st, AT_SYMLINK_NOFOLLOW)) {
		err = -EEXIST;
		goto cleanup;
	}

	f->fd = openat(f->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		err = -errno;
		/* Filesystems without O_TMPFILE say EOPNOTSUPP, old kernels EISDIR. */
		if (err != -EOPNOTSUPP && err != -EISDIR && err != -EINVAL)
			goto cleanup;
		err = make_tmpname(f, &f->tmpname);
		if (err)
			goto cleanup;
		f->fd = openat(f->dirfd, f->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (f->fd < 0) {
			err = -errno;
			free(f->tmpname);
			f->tmpname = NULL;
			goto cleanup;
		}
	}
	f->sink.write = outfile_write;
	f->sink.zeros = outfile_zeros;
	f->sink.finish = outfile_finish;
	f->sink.abort = outfile_abort;
	f->sink.free = outfile_free;
	free(dir);
	*out = &f->sink;
	return 0;

cleanup:
	free(dir);
	outfile_free(&f->sink);
	return err;
}
