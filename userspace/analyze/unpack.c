// SPDX-License-Identifier: GPL-2.0-only
/* Cores, compressed cores and bundles: see unpack.h. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/unpack.h"

int unpack__safe_name(const char *name)
{
	const char *p = name;

	if (!name || !*name || *name == '/')
		return 0;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += n;
		while (*p == '/')
			p++;
	}
	return 1;
}

static int remove_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) ? -1 : 0;
}

int unpack__remove_tree(const char *dir)
{
	if (!dir)
		return 0;
	return nftw(dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

static int make_temp_dir(char **dir)
{
	const char *tmp = getenv("TMPDIR");
	char *d = NULL;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (asprintf(&d, "%s/tracedump-analyze.XXXXXX", tmp) < 0)
		return -ENOMEM;
	if (!mkdtemp(d)) {
		int err = -errno;

		free(d);
		return err;
	}
	/* Extraction refuses symlinks on the way to a member: resolve the folder itself. */
	*dir = realpath(d, NULL);
	if (!*dir) {
		int err = -errno;

		rmdir(d);
		free(d);
		return err;
	}
	free(d);
	return 0;
}

static int is_elf_core(const char *path)
{
	unsigned char h[18];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, h, sizeof(h), 0);
	close(fd);
	/* e_type (ET_CORE = 4) at offset 16, little-endian on the hosts we build for. */
	return n == (ssize_t)sizeof(h) && !memcmp(h, "\177ELF", 4) && h[16] == 4 && h[17] == 0;
}

static int json_path(json_t *meta, const char *a, const char *b, const char **out)
{
	json_t *o = json_object_get(meta, a);

	*out = json_string_value(json_object_get(o, b));
	return *out ? 0 : -ENOENT;
}

/* After extraction: the core, the executable and metadata.json of a bundle. */
static int find_bundle_files(struct unpacked *u, const char *first_top_core, char *why,
			     size_t why_len)
{
	const char *core = NULL, *exe = NULL;
	json_error_t jerr;
	char *meta_path = NULL;

	if (asprintf(&meta_path, "%s/metadata.json", u->dir) < 0)
		return -ENOMEM;
	if (access(meta_path, F_OK) == 0) {
		u->metadata = json_load_file(meta_path, 0, &jerr);
		if (!u->metadata)
			snprintf(why, why_len, "metadata.json is not valid JSON (%s), ignored",
				 jerr.text);
	}
	free(meta_path);
	json_path(u->metadata, "bundle", "core", &core);
	json_path(u->metadata, "bundle", "executable", &exe);
	if (core && !unpack__safe_name(core))
		core = NULL;
	if (!core)
		core = first_top_core;
	if (!core) {
		snprintf(why, why_len, "the archive holds no core (no metadata.json naming one, "
			 "no ELF core at its top)");
		return -ENOEXEC;
	}
	if (asprintf(&u->core, "%s/%s", u->dir, core) < 0)
		return -ENOMEM;
	if (!is_elf_core(u->core)) {
		snprintf(why, why_len, "'%s' in the archive is not an ELF core", core);
		return -ENOEXEC;
	}
	/* tracedump's bundles name the executable by its member name ("usr/bin/app"); its
	 * original path is that file's "path" in bundle.files[]. An absolute path is taken
	 * as the original, found at the same place inside. */
	while (exe && exe[0] == '/')
		exe++;
	if (exe && unpack__safe_name(exe)) {
		json_t *files = json_object_get(json_object_get(u->metadata, "bundle"), "files");
		const char *orig = NULL;
		size_t i;
		json_t *f;

		json_array_foreach(files, i, f) {
			const char *ap = json_string_value(json_object_get(f, "archive_path"));

			if (ap && !strcmp(ap, exe))
				orig = json_string_value(json_object_get(f, "path"));
		}
		if (orig)
			u->exe_orig = strdup(orig);
		else if (asprintf(&u->exe_orig, "/%s", exe) < 0)
			u->exe_orig = NULL;
		if (!u->exe_orig || asprintf(&u->exe, "%s/%s", u->dir, exe) < 0)
			return -ENOMEM;
		if (access(u->exe, R_OK)) {
			free(u->exe);
			u->exe = NULL;
		}
	}
	return 0;
}

static int copy_data(struct archive *in, int fd, const char *name, char *why, size_t why_len)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r;

	/* archive_read_data_block gives sparse tar entries as offsets: holes stay holes. */
	while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
		const char *p = buf;

		while (size) {
			ssize_t n = pwrite(fd, p, size, offset);

			if (n < 0) {
				int err = -errno;

				snprintf(why, why_len, "cannot write %s: %s", name, strerror(errno));
				return err;
			}
			p += n;
			size -= n;
			offset += n;
		}
	}
	if (r != ARCHIVE_EOF) {
		snprintf(why, why_len, "cannot read %s from the archive: %s", name,
			 archive_error_string(in));
		return -EIO;
	}
	return 0;
}

static int extract(const char *path, struct unpacked *u, char *why, size_t why_len)
{
	struct archive *in = archive_read_new();
	struct archive_entry *e;
	char *top_core = NULL, *dest = NULL;
	int err = 0, r, fd = -1;

	if (!in)
		return -ENOMEM;
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	archive_read_support_format_zip(in);
	archive_read_support_format_raw(in); /* a compressed core: one nameless member */
	if (archive_read_open_filename(in, path, 1 << 20) != ARCHIVE_OK) {
		snprintf(why, why_len, "'%s' is neither a core nor a bundle: %s", path,
			 archive_error_string(in));
		err = -ENOEXEC;
		goto cleanup;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		mode_t type = archive_entry_filetype(e);
		bool raw = archive_format(in) == ARCHIVE_FORMAT_RAW;

		if (raw) {
			if (archive_filter_count(in) <= 1) {
				/* Not compressed and not an archive: not ours. */
				snprintf(why, why_len, "'%s' is neither a core nor a bundle "
					 "(zip, tar, tar.zst) nor a compressed core", path);
				err = -ENOEXEC;
				goto cleanup;
			}
			name = "core";
			u->kind = INPUT_COMPRESSED_CORE;
		} else {
			u->kind = INPUT_BUNDLE;
		}
		while (name && name[0] == '.' && name[1] == '/')
			name += 2;
		if (!unpack__safe_name(name)) {
			snprintf(why, why_len, "unsafe member name '%s' in the archive, skipped",
				 name ? name : "");
			continue;
		}
		free(dest);
		if (asprintf(&dest, "%s/%s", u->dir, name) < 0) {
			dest = NULL;
			err = -ENOMEM;
			goto cleanup;
		}
		/* Parent folders: archives need not list them. */
		for (char *s = strchr(dest + strlen(u->dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
			struct stat st;

			*s = '\0';
			if (mkdir(dest, 0700) && errno != EEXIST) {
				err = -errno;
				snprintf(why, why_len, "cannot create %s: %s", dest, strerror(errno));
				goto cleanup;
			}
			/* Never through a link an earlier member made ("x -> /etc", "x/passwd"). */
			if (lstat(dest, &st) || !S_ISDIR(st.st_mode)) {
				snprintf(why, why_len, "member '%s' goes through a link or a file "
					 "in the archive", name);
				err = -ENOEXEC;
				goto cleanup;
			}
			*s = '/';
		}
		if (type == AE_IFDIR) {
			if (mkdir(dest, 0700) && errno != EEXIST) {
				err = -errno;
				snprintf(why, why_len, "cannot create %s: %s", dest, strerror(errno));
				goto cleanup;
			}
		} else if (type == AE_IFLNK) {
			const char *target = archive_entry_symlink(e);

			/* Bundle links are relative; one pointing outside is not followed by us,
			 * and libdwfl checks build-ids of whatever it opens. */
			if (target && symlink(target, dest) && errno != EEXIST) {
				err = -errno;
				snprintf(why, why_len, "cannot create link %s: %s", dest,
					 strerror(errno));
				goto cleanup;
			}
		} else if (type == AE_IFREG || raw) {
			/* O_NOFOLLOW: a member may not write through a link made by another. */
			fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0) {
				err = -errno;
				snprintf(why, why_len, "cannot create %s: %s", dest, strerror(errno));
				goto cleanup;
			}
			err = copy_data(in, fd, name, why, why_len);
			if (!err && ftruncate(fd, archive_entry_size_is_set(e) && !raw
						      ? archive_entry_size(e) : lseek(fd, 0, SEEK_END)))
				err = -errno;
			close(fd);
			fd = -1;
			if (err)
				goto cleanup;
			if (!top_core && !strchr(name, '/') && is_elf_core(dest))
				top_core = strdup(name);
		}
		if (raw)
			break;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_EOF && r != ARCHIVE_WARN) {
		snprintf(why, why_len, "cannot read '%s': %s", path, archive_error_string(in));
		err = -EIO;
		goto cleanup;
	}
	if (u->kind == INPUT_COMPRESSED_CORE) {
		if (asprintf(&u->core, "%s/core", u->dir) < 0) {
			err = -ENOMEM;
			goto cleanup;
		}
		if (!is_elf_core(u->core)) {
			snprintf(why, why_len, "'%s' decompresses to something that is not an "
				 "ELF core", path);
			err = -ENOEXEC;
		}
		goto cleanup;
	}
	/* @why may hold a skipped member's warning; find_bundle_files adds its own. */
	err = find_bundle_files(u, top_core, why, why_len);
cleanup:
	if (fd >= 0)
		close(fd);
	free(dest);
	free(top_core);
	archive_read_free(in);
	return err;
}

/* An extracted bundle: metadata.json and the core in @path, the folder is the sysroot. */
static int open_folder(const char *path, struct unpacked *u, char *why, size_t why_len)
{
	char *top = NULL;
	struct dirent *e;
	DIR *d;
	int err;

	u->kind = INPUT_FOLDER;
	u->keep_dir = true;
	u->dir = realpath(path, NULL);
	if (!u->dir)
		return -errno;
	d = opendir(u->dir);
	if (!d) {
		err = -errno;
		snprintf(why, why_len, "cannot read the folder %s: %s", path, strerror(errno));
		return err;
	}
	/* Without metadata.json: the first ELF core at the top, by name. */
	while ((e = readdir(d))) {
		char *p = NULL;
		struct stat st;

		if (e->d_name[0] == '.' || (top && strcmp(e->d_name, top) >= 0))
			continue;
		if (asprintf(&p, "%s/%s", u->dir, e->d_name) < 0)
			break;
		if (!lstat(p, &st) && S_ISREG(st.st_mode) && is_elf_core(p)) {
			free(top);
			top = strdup(e->d_name);
		}
		free(p);
	}
	closedir(d);
	err = find_bundle_files(u, top, why, why_len);
	if (err == -ENOEXEC && !top)
		snprintf(why, why_len, "the folder %s holds no core (no metadata.json naming one, "
			 "no ELF core at its top)", path);
	free(top);
	return err;
}

int unpack__open(const char *path, struct unpacked *u, char *why, size_t why_len)
{
	struct stat st;
	int fd, err;

	memset(u, 0, sizeof(*u));
	why[0] = '\0';
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		err = open_folder(path, u, why, why_len);
		if (err)
			unpack__free(u);
		return err;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
		return err;
	}
	close(fd);
	if (is_elf_core(path)) {
		u->kind = INPUT_CORE;
		u->core = strdup(path);
		return u->core ? 0 : -ENOMEM;
	}
	err = make_temp_dir(&u->dir);
	if (err) {
		snprintf(why, why_len, "cannot make a temporary folder: %s", strerror(-err));
		return err;
	}
	err = extract(path, u, why, why_len);
	if (err)
		unpack__free(u);
	return err;
}

void unpack__free(struct unpacked *u)
{
	if (u->dir && !u->keep_dir)
		unpack__remove_tree(u->dir);
	free(u->dir);
	free(u->core);
	free(u->exe);
	free(u->exe_orig);
	json_decref(u->metadata);
	memset(u, 0, sizeof(*u));
}
