// SPDX-License-Identifier: GPL-2.0-only
/*
 * The raw limit of a dump: copy every private writable anonymous mapping of PID with
 * process_vm_readv in 1 MiB batches to OUT (/dev/null or a file), nothing else: no
 * freeze, no ELF, no zero detection. Prints "<bytes> <seconds>".
 * Usage: rawread PID OUT
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char path[64], line[4096], perms[8];
	unsigned long long start, end, total = 0;
	char *buf = malloc(CHUNK);
	int pid, fd;
	double t0;
	FILE *maps;

	if (argc != 3 || !buf)
		return 2;
	pid = atoi(argv[1]);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "r");
	if (fd < 0 || !maps) {
		perror("rawread");
		return 1;
	}
	t0 = now();
	while (fgets(line, sizeof(line), maps)) {
		int name_at = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &start, &end, perms, &name_at) < 3)
			continue;
		if (strcmp(perms, "rw-p") || (line[name_at] && line[name_at] != '\n' && strncmp(line + name_at, "[heap]", 6)))
			continue;
		for (unsigned long long a = start; a < end; a += CHUNK) {
			size_t len = end - a < CHUNK ? end - a : CHUNK;
			struct iovec l = { buf, len }, r = { (void *)a, len };
			ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

			if (n <= 0)
				break;
			if (write(fd, buf, n) != n) {
				perror("rawread: write");
				return 1;
			}
			total += n;
		}
	}
	printf("%llu %.4f\n", total, now() - t0);
	return 0;
}
