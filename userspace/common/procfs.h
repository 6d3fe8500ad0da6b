/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc readers and parsers. The parsers take text and fill structs, with no I/O, so
 * unit tests can feed them hostile input (tests/unit/test_procfs.c). The readers
 * return negative errno: -ESRCH/-ENOENT when the process or thread is gone.
 */
#ifndef TRACEDUMP_PROCFS_H
#define TRACEDUMP_PROCFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The kernel's TASK_COMM_LEN is 16; keep room for escaped or future longer names. */
#define PROC_COMM_MAX 64
#define PROC_NS_LEVELS 32

/* /proc/PID/stat and /proc/PID/task/TID/stat; times are in clock ticks. */
struct proc_stat {
	pid_t pid;
	char comm[PROC_COMM_MAX]; /* raw bytes between the first '(' and the last ')' */
	char state;
	pid_t ppid, pgrp, session;
	uint64_t minflt, majflt;
	uint64_t utime, stime; /* ticks */
	int64_t priority, nice;
	int64_t num_threads;
	uint64_t starttime; /* ticks since boot */
	uint64_t vsize;	    /* bytes */
	int64_t rss;	    /* pages */
	int processor;	    /* CPU last run on */
	unsigned rt_priority, policy;
	uint64_t delayacct_blkio_ticks;
	int exit_code; /* 0 unless the fields exist (Linux 3.5+) */
};

/* /proc/PID/status: memory in bytes (the file says kB). */
struct proc_status {
	char name[PROC_COMM_MAX];
	char state;
	pid_t tgid, ppid, tracer_pid;
	uid_t uid[4]; /* real, effective, saved, fs */
	gid_t gid[4];
	uint64_t vm_peak, vm_size, vm_hwm, vm_rss, rss_anon, rss_file, rss_shmem, vm_swap;
	uint64_t vm_data, vm_stk, vm_exe, vm_lib;
	int64_t threads;
	uint64_t voluntary_ctxt_switches, nonvoluntary_ctxt_switches;
	pid_t nspid[PROC_NS_LEVELS]; /* outermost first; nspid[nspid_count - 1] is innermost */
	int nspid_count;
	uint64_t sig_blk, sig_ign, sig_cgt; /* SigBlk, SigIgn, SigCgt masks */
	uint64_t cap_eff;		    /* CapEff mask */
	bool has_vm;			    /* false for kernel threads and zombies */
};

/* One line of /proc/PID/maps. */
struct proc_map {
	uint64_t start, end, offset;
	char perms[5]; /* "r-xp" */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char path[PATH_MAX]; /* "" for anonymous; "[heap]", "[stack]", ... kept */
	bool deleted;	     /* path ended in " (deleted)", which is stripped */
};

/* /proc/PID/io */
struct proc_io {
	uint64_t rchar, wchar, syscr, syscw, read_bytes, write_bytes, cancelled_write_bytes;
};

int procfs_parse_stat(const char *buf, struct proc_stat *st);
int procfs_parse_status(const char *buf, struct proc_status *st);
/* @line without its newline or with it; returns -EINVAL on malformed input. */
int procfs_parse_maps_line(const char *line, struct proc_map *m);
int procfs_parse_io(const char *buf, struct proc_io *io);

/*
 * Calls @fn for each NAME=VALUE entry of a NUL-separated environ block. @name and
 * @value are not NUL-terminated; their lengths are given. An entry without '=' has
 * an empty value. Stops early and returns what @fn returns if it is non-zero.
 */
int procfs_parse_environ(const char *buf, size_t len,
			 int (*fn)(const char *name, size_t name_len, const char *value,
				   size_t value_len, void *ctx),
			 void *ctx);

/*
 * Reads @rel under @dirfd (a /proc/PID descriptor, or AT_FDCWD with a whole path) into
 * *@buf, NUL-terminated, grown as needed and kept across calls (*@buf and *@cap start
 * NULL and 0; the caller frees). Its length, or -errno (ENOENT/ESRCH: gone).
 * @to_eof: read until read() returns 0, for seq_files of one record per line (maps,
 * task/TID/children), where a short read is only the end of the kernel's page. Without,
 * a short read ends it: stat, status, cmdline, environ, io... fill whatever buffer
 * they are given, and skipping the read that would return 0 saves a system call.
 */
ssize_t procfs_read_at(int dirfd, const char *rel, char **buf, size_t *cap, bool to_eof);

/*
 * Reads /proc/PID/NAME (tid < 0) or /proc/PID/task/TID/NAME whole into a malloc'd,
 * NUL-terminated buffer. @len (may be NULL) gets the byte count without the NUL.
 */
int procfs_read(pid_t pid, pid_t tid, const char *name, char **buf, size_t *len);

/* Readers that combine procfs_read with the parser. */
int procfs_read_stat(pid_t pid, pid_t tid, struct proc_stat *st);
int procfs_read_status(pid_t pid, pid_t tid, struct proc_status *st);

/*
 * Calls @fn for each mapping in /proc/PID/maps, in address order. Stops and returns
 * what @fn returns when it is non-zero.
 */
int procfs_for_each_map(pid_t pid, int (*fn)(const struct proc_map *m, void *ctx), void *ctx);

/* Lists numeric entries of /proc (tasks = false) or /proc/PID/task (tasks = true),
 * sorted ascending, into a malloc'd array. */
int procfs_list_pids(pid_t pid, bool tasks, pid_t **out, size_t *count);

/* Clock ticks per second and boot time (seconds since the epoch, from /proc/stat). */
long procfs_clock_ticks(void);
int procfs_boot_time(double *boot_epoch);

/* --- Additions for ps / show / kill ------------------------------------------------ */

/* PF_KTHREAD in the flags field (9) of stat: the task is a kernel thread. */
#define PROC_PF_KTHREAD 0x00200000u

/*
 * Field @field (numbered as in proc(5): 3 is state, 4 ppid, 9 flags, 22 starttime) of a
 * stat line, as an unsigned number; fields 1 and 2 (pid, comm) are not numbers here.
 * Parsing starts after the last ')', so comm cannot shift the fields. -EINVAL when the
 * field is missing or not a number (a negative number is read as its two's complement).
 */
int procfs_stat_field(const char *buf, int field, uint64_t *out);

#define PROC_CONTAINER_ID_MAX 64 /* hex digits: docker, containerd, podman and CRI-O ids */

/* /proc/PID/cgroup */
struct proc_cgroup {
	char path[PATH_MAX];	/* the unified (cgroup v2, "0::") path; else the first line's */
	char container_id[PROC_CONTAINER_ID_MAX + 1]; /* "" when no path names one */
	const char *runtime;	/* "docker", "containerd", "podman", "crio", "kubernetes"; or NULL */
};

/* Fills @cg from the text of /proc/PID/cgroup; -EINVAL when no line is well formed. */
int procfs_parse_cgroup(const char *buf, struct proc_cgroup *cg);

/*
 * The container id one cgroup path names, into @id (PROC_CONTAINER_ID_MAX + 1 bytes):
 * the innermost path component that is "<prefix><64 hex>[.scope]" with a known prefix
 * ("docker-", "cri-containerd-", "crio-", "libpod-") or exactly 64 hex digits under a
 * "docker", "kubepods" or "libpod_parent" component. Returns 1 and sets *@runtime when
 * found, 0 otherwise ("libpod-conmon-<id>" is podman's monitor, not the container).
 */
int procfs_container_id(const char *path, char *id, const char **runtime);

/* The inode of a namespace link's text ("pid:[4026531836]" for @type "pid"). */
int procfs_parse_ns_link(const char *link, const char *type, uint64_t *inode);

/*
 * Turns the NUL-separated argv of /proc/PID/cmdline (@len bytes) into one line in place:
 * the NULs between arguments become spaces and trailing NULs are dropped. Returns the
 * new length (0 for a kernel thread or zombie, whose cmdline is empty).
 */
size_t procfs_cmdline_join(char *buf, size_t len);

#endif /* TRACEDUMP_PROCFS_H */
