/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's uprobe_multi link (Linux 6.6+), which libbpf 1.1 (Debian 12) has no API
 * for: a bpf(BPF_LINK_CREATE) with our own copy of the UAPI attribute layout.
 *
 * Why: per call it is cheaper than a perf-event uprobe attached per PID (measured on
 * 6.18: ~70-80 ns less per entry + return pair, docs/trace.md), whose every hit takes
 * the perf filter's rwlock on both the entry and the return probe.
 */
#ifndef TRACEDUMP_UPROBE_MULTI_H
#define TRACEDUMP_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* enum bpf_attach_type's BPF_TRACE_UPROBE_MULTI: a program attached this way must be
 * loaded with it (bpf_program__set_expected_attach_type). Not in Debian 12's headers. */
#define TD_BPF_TRACE_UPROBE_MULTI 48

/*
 * Attaches the loaded program @prog_fd at file offset @offset of @path, at the
 * function's return when @ret, for process @pid only (0: every process mapping the
 * file). Returns the link's fd (closing it detaches) or -errno.
 */
int uprobe_multi__attach(int prog_fd, const char *path, uint64_t offset, bool ret, pid_t pid);

/*
 * Removes the breakpoint at @offset of @path from every process no probe wants any more.
 * A uprobe_multi link's per-PID filter keeps a forked child out of the breakpoint's
 * install, but unlike a perf-event uprobe it never asks for the breakpoint's removal
 * when the child hits it, so a child forked after attaching would pay each call's trap
 * untraced. The kernel re-checks every process's filters when a uprobe consumer goes
 * away, so this opens a perf-event uprobe for @pid (a process the links want) and
 * closes it. 0 or -errno.
 */
int uprobe_multi__purge(const char *path, uint64_t offset, pid_t pid);

/* The file offset of function @name in ELF @fd or @path (symtab, then dynsym), where a
 * uprobe on it goes; 0, -ENOENT (no such function) or -errno. */
int uprobe_function_offset(int fd, const char *name, uint64_t *off);
int uprobe_file_function_offset(const char *path, const char *name, uint64_t *off);

#endif /* TRACEDUMP_UPROBE_MULTI_H */
