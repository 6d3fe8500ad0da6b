// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bench target with memory that compresses like a real process's: MIB of heap filled
 * with the bytes of the shared libraries in /usr/lib/x86_64-linux-gnu (code, tables,
 * strings), cycled, plus NTHREADS threads. Prints "ready <pid>", then sleeps.
 * Usage: libheap MIB [NTHREADS]
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	long threads = argc > 2 ? atol(argv[2]) : 4;
	size_t len = mib << 20, off = 0;
	const char *libdir = "/usr/lib/x86_64-linux-gnu";
	char *heap = malloc(len);
	struct dirent *e;
	DIR *d;

	if (!heap)
		return 1;
	while (off < len) {
		size_t before = off;

		d = opendir(libdir);
		if (!d)
			return 1;
		while (off < len && (e = readdir(d))) {
			char path[512];
			ssize_t n;
			int fd;

			if (!strstr(e->d_name, ".so"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", libdir, e->d_name);
			fd = open(path, O_RDONLY);
			if (fd < 0)
				continue;
			while (off < len && (n = read(fd, heap + off, len - off)) > 0)
				off += n;
			close(fd);
		}
		closedir(d);
		if (off == before)
			return 1; /* no libraries to read */
	}
	for (long i = 1; i < threads; i++) {
		pthread_t t;

		pthread_create(&t, NULL, sleeper, NULL);
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;)
		pause();
}
