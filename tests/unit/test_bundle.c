// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for bundles (userspace/dump/bundle.c), atomic like
 * their output file, read back with libarchive's reader. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "dump/bundle.h"

/* tmpfs: reading back the holes of a 4 GiB zip costs a memset per page on ext4. */
static char dir[] = "/dev/shm/td-test-bundle-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Eight at a time stay valid: callers nest them. */
static char *path_in_dir(const char *name)
{
	static char ring[8][256];
	static unsigned next;
	char *p = ring[next++ % 8];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

/* Names in the test folder; the folder must hold exactly @expect entries. */
static int count_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void fill_pattern(unsigned char *buf, size_t len, uint64_t from)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((from + i) * 131 >> 3);
}

/* What an archive holds, read back with libarchive. */
struct read_entry {
	char name[512];
	int type; /* AE_IFREG, AE_IFLNK */
	int64_t size;
	mode_t perm;
	char link[512];
	unsigned char *data; /* regular files below 64 MiB */
	bool core_ok;	     /* the "core.core" entry matched the pattern + zeros */
};

struct read_archive {
	struct read_entry e[1024];
	int n;
};

static void read_back(const char *path, struct read_archive *out, uint64_t pattern_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r;

	memset(out, 0, sizeof(*out));
	archive_read_support_format_all(a);
	archive_read_support_filter_all(a);
	assert_int_equal(archive_read_open_filename(a, path, 1 << 20), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		struct read_entry *e = &out->e[out->n++];

		assert_true(out->n < 1024);
		snprintf(e->name, sizeof(e->name), "%s", archive_entry_pathname(ae));
		e->type = archive_entry_filetype(ae);
		e->size = archive_entry_size(ae);
		e->perm = archive_entry_perm(ae);
		if (e->type == AE_IFLNK)
			snprintf(e->link, sizeof(e->link), "%s", archive_entry_symlink(ae));
		if (e->type != AE_IFREG)
			continue;
		if (!strcmp(e->name, "core.core")) {
			/* Streamed check: pattern bytes, then zeros, whatever the size. */
			unsigned char *buf = malloc(1 << 20), *want = malloc(1 << 20);
			uint64_t off = 0;
			la_ssize_t n;

			e->core_ok = true;
			static const unsigned char zero[1 << 20];

			while ((n = archive_read_data(a, buf, 1 << 20)) > 0) {
				if (off >= pattern_len) {
					if (memcmp(buf, zero, n))
						e->core_ok = false;
					off += n;
					continue;
				}
				for (la_ssize_t i = 0; i < n; i++) {
					uint64_t o = off + i;

					if (o < pattern_len) {
						fill_pattern(want, 1, o);
						if (buf[i] != want[0])
							e->core_ok = false;
					} else if (buf[i]) {
						e->core_ok = false;
					}
				}
				off += n;
			}
			assert_int_equal(n, 0); /* CRC / checksum verified at the end */
			assert_int_equal(off, e->size);
			free(buf);
			free(want);
		} else if (e->size < (64 << 20)) {
			e->data = malloc(e->size + 1);
			assert_int_equal(archive_read_data(a, e->data, e->size), e->size);
			e->data[e->size] = 0;
		}
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
}

static void free_read(struct read_archive *ra)
{
	for (int i = 0; i < ra->n; i++)
		free(ra->e[i].data);
}

static const struct read_entry *find(const struct read_archive *ra, const char *name)
{
	for (int i = 0; i < ra->n; i++)
		if (!strcmp(ra->e[i].name, name))
			return &ra->e[i];
	return NULL;
}

/* A bundle with one small file, and a core of @pattern_len pattern bytes then
 * @zeros_len zeros, with the size announced (or not, for zip). */
static void make_bundle(const char *path, const struct bundle_opts *opts, uint64_t pattern_len,
			uint64_t zeros_len, bool announce)
{
	unsigned char *buf = malloc(1 << 20);
	struct core_sink *s;
	struct bundle *b;
	uint64_t off = 0;
	json_t *meta;
	FILE *f;

	f = fopen(path_in_dir("lib.so"), "w");
	assert_non_null(f);
	fputs("not really a library", f);
	fclose(f);

	assert_int_equal(bundle__open(path, opts, &b), 0);
	assert_int_equal(bundle__add_file(b, path_in_dir("lib.so"), "opt/app/lib/lib.so"), 0);
	assert_int_equal(bundle__add_file(b, path_in_dir("lib.so"), "../escape"), -EINVAL);
	assert_int_equal(bundle__core_sink(b, "core.core", &s), 0);
	if (announce)
		s->size_hint = pattern_len + zeros_len;
	while (off < pattern_len) {
		size_t n = pattern_len - off < (1 << 20) ? pattern_len - off : (1 << 20);

		fill_pattern(buf, n, off);
		assert_int_equal(core_sink__write(s, buf, n), 0);
		off += n;
	}
	assert_int_equal(core_sink__zeros(s, zeros_len), 0);
	assert_int_equal(s->finish(s), 0);
	s->free(s);

	/* Not there before the end (the old file stays until then with force). */
	if (!opts->force)
		assert_int_equal(access(path, F_OK), -1);
	meta = json_pack("{s:s, s:{s:i}}", "kind", "test", "dump", "pid", 42);
	assert_int_equal(bundle__finish(b, meta), 0);
	assert_non_null(json_object_get(meta, "bundle"));
	json_decref(meta);
	bundle__free(b);
	free(buf);
}

static void check_common(const struct read_archive *ra, uint64_t core_size)
{
	const struct read_entry *e;
	json_t *meta, *files;
	json_error_t jerr;

	e = find(ra, "core.core");
	assert_non_null(e);
	assert_int_equal(e->size, core_size);
	assert_int_equal(e->perm, 0600);
	assert_true(e->core_ok);

	e = find(ra, "opt/app/lib/lib.so");
	assert_non_null(e);
	assert_string_equal((char *)e->data, "not really a library");

	e = find(ra, "README.txt");
	assert_non_null(e);
	assert_non_null(strstr((char *)e->data, "set sysroot"));
	assert_non_null(strstr((char *)e->data, "core.core"));

	e = find(ra, "metadata.json");
	assert_non_null(e);
	meta = json_loads((char *)e->data, 0, &jerr);
	assert_non_null(meta);
	assert_string_equal(json_string_value(json_object_get(meta, "kind")), "test");
	assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "bundle"),
							      "core")),
			    "core.core");
	files = json_object_get(json_object_get(meta, "bundle"), "files");
	assert_int_equal(json_array_size(files), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0),
							      "archive_path")),
			    "opt/app/lib/lib.so");
	json_decref(meta);
}

static void round_trip(const struct bundle_opts *opts, const char *name, bool announce)
{
	const uint64_t pattern_len = 3 * (1 << 20) + 5, zeros_len = 2 * (1 << 20) + 7;
	struct read_archive ra;
	struct stat st;
	char *path = strdup(path_in_dir(name));

	make_bundle(path, opts, pattern_len, zeros_len, announce);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600); /* a core holds the process's secrets */
	read_back(path, &ra, pattern_len);
	check_common(&ra, pattern_len + zeros_len);
	free_read(&ra);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(path_in_dir("lib.so")), 0);
	assert_int_equal(count_dir(), 0); /* no temporary file left over */
	free(path);
}

static void test_zip(void **state)
{
	struct bundle_opts o = { .format = BUNDLE_ZIP };

	assert_string_equal(bundle_suffix(&o), ".zip");
	round_trip(&o, "b.zip", true);
	round_trip(&o, "b.zip", false); /* zip takes a core of unknown size */
}

static void test_tar(void **state)
{
	struct bundle_opts o = { .format = BUNDLE_TAR };

	assert_string_equal(bundle_suffix(&o), ".tar");
	round_trip(&o, "b.tar", true);
}

static void test_tar_zstd(void **state)
{
	struct bundle_opts o = { .format = BUNDLE_TAR, .zstd = true };
	unsigned char magic[4];
	FILE *f;

	assert_string_equal(bundle_suffix(&o), ".tar.zst");
	make_bundle(path_in_dir("b.tar.zst"), &o, 1000, 10, true);
	f = fopen(path_in_dir("b.tar.zst"), "r");
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 4, f), 4);
	fclose(f);
	/* A zstd frame: 28 b5 2f fd. */
	assert_int_equal(magic[0], 0x28);
	assert_int_equal(magic[3], 0xfd);
	unlink(path_in_dir("b.tar.zst"));
	unlink(path_in_dir("lib.so"));
	round_trip(&o, "b.tar.zst", true);
}

static void test_refusals(void **state)
{
	struct bundle_opts zip_zstd = { .format = BUNDLE_ZIP, .zstd = true };
	struct bundle_opts tar = { .format = BUNDLE_TAR };
	struct core_sink *s, *s2;
	struct bundle *b = NULL;
	FILE *f;

	assert_int_equal(bundle__open(path_in_dir("x.zip"), &zip_zstd, &b), -EINVAL);
	assert_null(b);
	assert_int_equal(bundle__open("/nonexistent-dir/x.tar", &tar, &b), -ENOENT);
	assert_non_null(strstr(bundle__error(b), "/nonexistent-dir"));
	bundle__free(b);

	/* An existing file stays untouched without force. */
	f = fopen(path_in_dir("exists.tar"), "w");
	fputs("keep me", f);
	fclose(f);
	assert_int_equal(bundle__open(path_in_dir("exists.tar"), &tar, &b), -EEXIST);
	assert_non_null(strstr(bundle__error(b), "--force"));
	bundle__free(b);
	assert_int_equal(count_dir(), 1);

	/* A tar core needs its size first; one core only; bad names. */
	assert_int_equal(bundle__open(path_in_dir("t.tar"), &tar, &b), 0);
	assert_int_equal(bundle__core_sink(b, "a/b.core", &s), -EINVAL);
	assert_int_equal(bundle__core_sink(b, "c.core", &s), 0);
	assert_int_equal(bundle__core_sink(b, "d.core", &s2), -EINVAL);
	assert_int_equal(core_sink__write(s, "x", 1), -EINVAL);
	assert_non_null(strstr(bundle__error(b), "size"));
	s->abort(s);
	s->free(s);
	bundle__free(b);
	assert_int_equal(count_dir(), 1);

	/* More bytes than announced, then fewer. */
	assert_int_equal(bundle__open(path_in_dir("t.tar"), &tar, &b), 0);
	assert_int_equal(bundle__core_sink(b, "c.core", &s), 0);
	s->size_hint = 4;
	assert_int_equal(core_sink__write(s, "abcd", 4), 0);
	assert_int_equal(core_sink__zeros(s, 1), -EFBIG);
	bundle__abort(b);
	bundle__free(b);
	assert_int_equal(bundle__open(path_in_dir("t.zip"), &(struct bundle_opts){ 0 }, &b), 0);
	assert_int_equal(bundle__core_sink(b, "c.core", &s), 0);
	s->size_hint = 4;
	assert_int_equal(core_sink__write(s, "ab", 2), 0);
	assert_int_equal(s->finish(s), -EIO);
	assert_int_equal(bundle__finish(b, NULL), -EINVAL); /* the core is incomplete */
	bundle__free(b);
	assert_int_equal(count_dir(), 1);
	unlink(path_in_dir("exists.tar"));
}

static void test_force_replaces(void **state)
{
	struct bundle_opts o = { .format = BUNDLE_TAR, .force = true };
	struct read_archive ra;
	struct stat st;
	FILE *f;

	f = fopen(path_in_dir("r.tar"), "w");
	fputs("old", f);
	fclose(f);
	make_bundle(path_in_dir("r.tar"), &o, 10, 10, true);
	assert_int_equal(stat(path_in_dir("r.tar"), &st), 0);
	assert_true(st.st_size > 3);
	read_back(path_in_dir("r.tar"), &ra, 10);
	check_common(&ra, 20);
	free_read(&ra);
	unlink(path_in_dir("r.tar"));
	unlink(path_in_dir("lib.so"));
	assert_int_equal(count_dir(), 0);
}

/* A write error in the middle (the file size limit stands in for a full disk; the
 * integration tests use a real small tmpfs): the error comes back as -errno and
 * abort leaves nothing. */
static void test_write_error_leaves_nothing(void **state)
{
	struct bundle_opts o = { .format = BUNDLE_TAR };
	struct rlimit old, lim;
	unsigned char *buf = malloc(1 << 20);
	struct core_sink *s;
	struct bundle *b;
	int err = 0;

	fill_pattern(buf, 1 << 20, 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 2 << 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

	assert_int_equal(bundle__open(path_in_dir("full.tar"), &o, &b), 0);
	assert_int_equal(bundle__core_sink(b, "c.core", &s), 0);
	s->size_hint = 8 << 20;
	for (int i = 0; i < 8 && !err; i++)
		err = core_sink__write(s, buf, 1 << 20);
	assert_int_equal(err, -EFBIG);
	assert_non_null(strstr(bundle__error(b), "too large"));
	s->abort(s);
	bundle__free(b);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(count_dir(), 0);
	free(buf);
}

/* The files of a live process: this test program itself. */
static void test_process_files(void **state)
{
	struct bundle_opts o = { .format = BUNDLE_TAR };
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct read_archive ra;
	const struct read_entry *e;
	struct core_sink *s;
	struct bundle *b;
	bool libc = false;
	json_t *meta;
	char *readme;

	assert_true(n > 0);
	exe[n] = 0;
	assert_int_equal(bundle__open(path_in_dir("self.tar"), &o, &b), 0);
	assert_int_equal(bundle__add_process_files(b, getpid()), 0);
	assert_string_equal(bundle__exe_path(b), exe + 1);
	assert_int_equal(bundle__core_sink(b, "core.core", &s), 0);
	s->size_hint = 1;
	assert_int_equal(core_sink__write(s, "\x00", 1), 0);
	assert_int_equal(s->finish(s), 0);
	/* A second pass after the core finds nothing new and skips nothing. */
	assert_int_equal(bundle__add_process_files(b, getpid()), 0);
	meta = json_object();
	assert_int_equal(bundle__finish(b, meta), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(meta, "bundle"),
							 "skipped")),
			 0);
	json_decref(meta);
	bundle__free(b);

	read_back(path_in_dir("self.tar"), &ra, 0);
	for (int i = 0; i < ra.n; i++)
		for (int j = i + 1; j < ra.n; j++)
			assert_string_not_equal(ra.e[i].name, ra.e[j].name);
	e = find(&ra, exe + 1);
	assert_non_null(e);
	assert_int_equal(e->type, AE_IFREG);
	for (int i = 0; i < ra.n; i++) {
		const char *slash = strrchr(ra.e[i].name, '/');

		if (slash && !strcmp(slash, "/libc.so.6") && ra.e[i].type == AE_IFREG)
			libc = true;
		/* Links stay inside the folder they are extracted to. */
		if (ra.e[i].type == AE_IFLNK)
			assert_true(ra.e[i].link[0] != '/');
	}
	assert_true(libc);
	/* Debian's loader is /lib64/ld-linux-x86-64.so.2, through two symlinks. */
	if (!access("/lib64/ld-linux-x86-64.so.2", F_OK)) {
		struct stat st;

		if (!lstat("/lib64", &st) && S_ISLNK(st.st_mode)) {
			e = find(&ra, "lib64");
			assert_non_null(e);
			assert_int_equal(e->type, AE_IFLNK);
		}
	}
	/* A build-id link per ELF file. */
	e = NULL;
	for (int i = 0; i < ra.n && !e; i++)
		if (!strncmp(ra.e[i].name, ".build-id/", 10))
			e = &ra.e[i];
	assert_non_null(e);
	assert_int_equal(strncmp(e->link, "../../", 6), 0);
	readme = (char *)find(&ra, "README.txt")->data;
	assert_non_null(strstr(readme, exe + 1));
	assert_non_null(strstr(readme, "eu-stack"));
	free_read(&ra);
	unlink(path_in_dir("self.tar"));
	assert_int_equal(count_dir(), 0);
}

static void test_process_gone(void **state)
{
	struct bundle_opts o = { .format = BUNDLE_ZIP };
	struct bundle *b;
	pid_t pid = fork();

	if (!pid)
		_exit(0);
	assert_true(pid > 0);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	assert_int_equal(bundle__open(path_in_dir("gone.zip"), &o, &b), 0);
	assert_int_equal(bundle__add_process_files(b, pid), -ENOENT);
	bundle__free(b);
	assert_int_equal(count_dir(), 0);
}

/* ZIP64: one entry over 4 GiB, stored: its zeros are holes in the zip file, so it
 * costs no disk. Read back and checked. */
static void test_zip64_over_4gib(void **state)
{
	const uint64_t zeros_len = (4ull << 30) + 4096;
	struct bundle_opts o = { .format = BUNDLE_ZIP };
	struct read_archive ra;
	struct stat st;

	make_bundle(path_in_dir("big.zip"), &o, 1000, zeros_len, true);
	assert_int_equal(stat(path_in_dir("big.zip"), &st), 0);
	assert_true((uint64_t)st.st_size > zeros_len);
	assert_true((uint64_t)st.st_blocks * 512 < (64 << 20));
	read_back(path_in_dir("big.zip"), &ra, 1000);
	check_common(&ra, 1000 + zeros_len);
	free_read(&ra);
	unlink(path_in_dir("big.zip"));
	unlink(path_in_dir("lib.so"));
}

static void check_normalize(const char *in, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	bundle_path_normalize(buf);
	assert_string_equal(buf, want);
}

static void test_path_normalize(void **state)
{
	check_normalize("/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1");
	check_normalize("/usr/lib64/../lib/x86_64-linux-gnu/./ld.so", "/usr/lib/x86_64-linux-gnu/ld.so");
	check_normalize("//a///b/", "/a/b");
	/* A hostile link cannot climb out of the root it is resolved in. */
	check_normalize("/../../../etc/passwd", "/etc/passwd");
	check_normalize("/a/../..", "/");
	check_normalize("/", "/");
	check_normalize("", "/");
	check_normalize("/./.", "/");
	check_normalize("/a/..b/c..", "/a/..b/c..");
}

static void check_relative(const char *link, const char *target, const char *want)
{
	char out[256];

	bundle_path_relative(link, target, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_path_relative(void **state)
{
	check_relative("/lib64", "/usr/lib64", "usr/lib64");
	check_relative("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		       "../../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
	check_relative("/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
		       "../../../usr/lib/x86_64-linux-gnu/libz.so.1.2.13");
	check_relative("/lib", "/", ".");
	check_relative("/a/b", "/", "../");
	/* Too small: cut, never overflowing. */
	{
		char out[8];

		bundle_path_relative("/a/b/c/d", "/xxxxxxxxxxxx", out, sizeof(out));
		assert_true(strlen(out) < sizeof(out));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zip),
		cmocka_unit_test(test_tar),
		cmocka_unit_test(test_tar_zstd),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_force_replaces),
		cmocka_unit_test(test_write_error_leaves_nothing),
		cmocka_unit_test(test_process_files),
		cmocka_unit_test(test_process_gone),
		cmocka_unit_test(test_zip64_over_4gib),
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_path_relative),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
