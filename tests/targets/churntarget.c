// SPDX-License-Identifier: GPL-2.0-only
/*
 * The target of the pre-copy snapshot tests (test_snapshot.py): it changes its mappings
 * while a dump copies it. BIG_MIB of touched heap make the pre-copy long; on each
 * SIGUSR1 the main thread, in that order:
 *   grows grow_buf in place with mremap (2 MiB -> 4 MiB, the new half 0x55, byte 0
 *   becomes 0x66), unmaps old_buf, maps new_buf (1 MiB of 0x22), drops drop_buf
 *   (MADV_DONTNEED: 4 MiB of 0x33 become zeros), makes the middle page of split_buf
 *   read-only (one mapping becomes three) and writes 0x78 at split_buf[0];
 * then prints "done" (or "failed <what>"). A counter thread writes churn_counter.a then
 * churn_counter.b = a forever, 32 MiB apart, as snaptarget does.
 * Usage: churntarget BIG_MIB
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1UL << 20)

struct counter {
	volatile uint64_t a;
	char pad[32 << 20];
	volatile uint64_t b;
};
struct counter churn_counter;
unsigned char *grow_buf, *old_buf, *new_buf, *drop_buf, *split_buf, *big_buf;
volatile int churned;

static void *counter_main(void *arg)
{
	for (;;) {
		churn_counter.a++;
		churn_counter.b = churn_counter.a;
	}
	return arg;
}

static unsigned char *map(size_t len, int fill)
{
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(p, fill, len);
	return p;
}

static const char *churn(void)
{
	void *p = mremap(grow_buf, 2 * MIB, 4 * MIB, 0);

	if (p == MAP_FAILED)
		return "mremap";
	memset(grow_buf + 2 * MIB, 0x55, 2 * MIB);
	grow_buf[0] = 0x66;
	if (munmap(old_buf, MIB))
		return "munmap";
	new_buf = map(MIB, 0x22);
	if (madvise(drop_buf, 4 * MIB, MADV_DONTNEED))
		return "madvise";
	if (mprotect(split_buf + 4096, 4096, PROT_READ))
		return "mprotect";
	split_buf[0] = 0x78;
	churned = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	size_t big = (argc > 1 ? strtoul(argv[1], NULL, 10) : 256) * MIB;
	pthread_t t;
	sigset_t set;
	int sig;

	big_buf = map(big, 0x5a);
	for (size_t i = 0; i < big; i += 4096)
		big_buf[i] = (unsigned char)(i >> 12);
	old_buf = map(MIB, 0x11);
	drop_buf = map(4 * MIB, 0x33);
	split_buf = map(3 * 4096, 0x77);
	/* 2 MiB with 2 MiB free above it, so mremap can grow it in place. */
	grow_buf = map(4 * MIB, 0x44);
	munmap(grow_buf + 2 * MIB, 2 * MIB);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&t, NULL, counter_main, NULL);
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;) {
		const char *failed;

		if (sigwait(&set, &sig))
			continue;
		failed = churn();
		if (failed)
			printf("failed %s\n", failed);
		else
			printf("done\n");
		fflush(stdout);
	}
}
