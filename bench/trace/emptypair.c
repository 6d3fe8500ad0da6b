// SPDX-License-Identifier: GPL-2.0-only
/*
 * An empty uprobe + uretprobe pair (two programs that only return 0) on one function
 * of one process, attached the way tracedump's latency probe can be: "multi" (two
 * uprobe_multi links with the process's PID, Linux 6.6+) or "perf" (two perf-event
 * uprobes opened for that PID). The cost of the attach mechanism alone, to compare
 * tracedump's probe with an empty pair on the same mechanism, since bpftrace 0.17's
 * pair is a perf-event pair attached for every process and filtered in BPF.
 * Prints "attached", then waits for SIGINT or SIGTERM.
 * Usage: emptypair multi|perf PATH FILE_OFFSET PID
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define TRACE_UPROBE_MULTI 48 /* enum bpf_attach_type, Linux 6.6+ (not in 6.1's headers) */

static int load_empty(const char *name, int expected_attach_type)
{
	/* r0 = 0; exit */
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_KPROBE;
	attr.insns = (uint64_t)(unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(unsigned long)"GPL";
	attr.expected_attach_type = expected_attach_type;
	snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", name);
	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

/* link_create for uprobe_multi, as 6.6+ lays it out (userspace/trace/uprobe_multi.c). */
struct link_create_uprobe_multi {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid, pad;
};

static int attach_multi(int prog, const char *path, uint64_t off, int ret, int pid)
{
	struct link_create_uprobe_multi a = {
		.prog_fd = prog, .attach_type = TRACE_UPROBE_MULTI,
		.path = (uint64_t)(unsigned long)path, .offsets = (uint64_t)(unsigned long)&off,
		.cnt = 1, .multi_flags = ret ? 1 : 0, .pid = pid,
	};

	return syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
}

static int attach_perf(int prog, const char *path, uint64_t off, int ret, int pid)
{
	struct perf_event_attr a;
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	int type = -1, fd;

	if (!f || fscanf(f, "%d", &type) != 1)
		return -1;
	fclose(f);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = type;
	a.config = ret ? 1 : 0; /* format/retprobe: config:0 */
	a.config1 = (uint64_t)(unsigned long)path;
	a.config2 = off;
	fd = syscall(__NR_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0))
		return -1;
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	int multi, pid, fds[2];
	uint64_t off;

	if (argc != 5 || (strcmp(argv[1], "multi") && strcmp(argv[1], "perf"))) {
		fprintf(stderr, "usage: emptypair multi|perf PATH FILE_OFFSET PID\n");
		return 2;
	}
	multi = !strcmp(argv[1], "multi");
	off = strtoull(argv[3], NULL, 0);
	pid = atoi(argv[4]);
	for (int ret = 0; ret < 2; ret++) {
		int prog = load_empty(ret ? "empty_return" : "empty_entry",
				      multi ? TRACE_UPROBE_MULTI : 0);

		if (prog < 0) {
			fprintf(stderr, "emptypair: load: %s\n", strerror(errno));
			return 1;
		}
		fds[ret] = multi ? attach_multi(prog, argv[2], off, ret, pid)
				 : attach_perf(prog, argv[2], off, ret, pid);
		if (fds[ret] < 0) {
			fprintf(stderr, "emptypair: attach: %s\n", strerror(errno));
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached\n");
	fflush(stdout);
	pause();
	return 0;
}
