/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pre-copy snapshot (issue 7): a core of a running process with two short freezes,
 * the way live migration copies a virtual machine. The fork snapshot (snapshot.h) pays
 * for copying every page-table entry while the target is stopped (~15 ms per GiB of
 * 4 KiB pages here); this one never touches every entry while it is stopped.
 *
 *  1. Freeze #1 (sub-millisecond): userfaultfd(O_CLOEXEC | O_NONBLOCK) is injected into
 *     one frozen thread (snapshot__syscall()), tracedump takes the new fd with
 *     pidfd_getfd() and injects close() of the target's copy, then lets it run. The
 *     userfaultfd belongs to the target's mm but only tracedump holds it.
 *  2. Running: UFFDIO_API with UFFD_FEATURE_WP_ASYNC | WP_UNPOPULATED (Linux 6.7:
 *     write faults are resolved by the kernel itself, no handler, only the PTE's uffd-wp
 *     bit is cleared), UFFDIO_REGISTER_MODE_WP on every mapping, UFFDIO_WRITEPROTECT of
 *     all of them. Then the whole core's memory is read (process_vm_readv) and written
 *     to the file at its place, the target running.
 *  3. Rounds, running: PAGEMAP_SCAN of /proc/PID/pagemap for PAGE_IS_WRITTEN with
 *     PM_SCAN_WP_MATCHING returns the pages written since the last look and
 *     write-protects them again in the same walk (3 ms for 4 GiB); they are read again
 *     and written over their place. Repeated while the written set shrinks and is
 *     above a few MiB, at most PRECOPY_MAX_ROUNDS times.
 *  4. Freeze #2, the instant the core shows: registers and notes of every thread,
 *     /proc/PID/maps (not smaps: smaps walks every page table, 33 ms at 4 GiB), one
 *     PAGEMAP_SCAN of the whole address space for written pages (the kernel's fast
 *     path, 0.3 ms per GiB), one page scanned per mapping to tell whether it is still
 *     registered (PAGE_IS_WPALLOWED), the plan of the core, and a read into
 *     memory of the pages written since the last round and of every range not tracked
 *     (a new mapping, the grown part of one, one that could not be registered: the
 *     vDSO, VM_IO, one another userfaultfd holds). Then the target runs again.
 *  5. The rest is written: those pages (a page dropped with MADV_DONTNEED counts as
 *     written, reads as zeros and becomes a hole), the data of new ranges after the
 *     pre-copied data, then the notes and the program headers
 *     at the end of the file (e_phoff points there; gdb, eu-stack and lldb read them
 *     anywhere). PT_LOAD offsets are not in file order, and a mapping whose data lies
 *     in two places is described by two adjacent PT_LOADs.
 *  6. The userfaultfd is closed: its release unregisters every range and clears the
 *     uffd-wp bits (Linux 6.2+). A tracedump killed at any step closes it the same
 *     way (the kernel detaches the frozen threads too); the target never holds it
 *     except during freeze #1, between two injected syscalls.
 *
 * Limits: pages of a shared mapping written by another process (or through write() to
 * the file) are not seen (the fork snapshot has the same limit); a file-backed private
 * mapping where the target drops its written pages (MADV_DONTNEED) during the dump
 * keeps the dropped contents in the core; a new mapping's MADV_DONTDUMP, made during
 * the dump, is not seen (its flags come from /proc/PID/maps).
 */
#ifndef TRACEDUMP_DUMP_PRECOPY_H
#define TRACEDUMP_DUMP_PRECOPY_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dump/memory.h"

struct capture;
struct core_sink;

#define PRECOPY_MAX_ROUNDS 6

struct precopy_opts {
	pid_t pid;
	enum plan_mode mode;
	unsigned long filter;
	volatile sig_atomic_t *cancel;
	void (*progress)(uint64_t done, uint64_t total, void *ctx);
	void *progress_ctx;
};

struct precopy {
	char reason[256];	  /* why not, when precopy__dump() returned 1 */
	char warning[256];	  /* something the user should know; "" when none */
	uint64_t pause1_ns, pause2_ns; /* the two freezes */
	uint64_t setup_ns;	  /* UFFDIO_API, register and write-protect, target running */
	uint64_t precopy_ns, rounds_ns, write_ns;
	uint64_t freeze2_capture_ns, freeze2_scan_ns, freeze2_read_ns;
	unsigned rounds;
	uint64_t round_bytes[PRECOPY_MAX_ROUNDS]; /* written bytes found by each round */
	uint64_t reread_bytes;	  /* read again in the rounds */
	uint64_t final_bytes;	  /* written pages read at freeze #2 */
	uint64_t untracked_bytes; /* ranges not tracked, read whole at freeze #2 */
	uint64_t punched_bytes;	  /* read again and found zeros: made holes */
	uint64_t precopy_bytes;	  /* bytes read by the pre-copy */
	size_t tracked_maps, untracked_maps;
	/* For the dump's result. */
	uint64_t core_size, memory_bytes, zero_bytes, unreadable_bytes, rewritten_bytes;
	size_t segments;
};

/*
 * 0 when this kernel has what a pre-copy snapshot needs (userfaultfd with
 * UFFD_FEATURE_WP_ASYNC and WP_UNPOPULATED, PAGEMAP_SCAN with PM_SCAN_WP_MATCHING, all
 * Linux 6.7), tried on tracedump itself once; -errno otherwise, @why says what lacks.
 */
int precopy__probe(char *why, size_t why_len);

/*
 * Dumps @o->pid into the file sink @sink (sink_file__is()) as described above; on
 * success the sink is complete but not finished, @cap holds the threads and mappings
 * of freeze #2 and @pc what happened. 1 when a pre-copy is not possible for this target
 * and nothing was written (pc->reason says why; the caller uses the fork snapshot);
 * -errno with @why on failure (-ESRCH the process exited, -ECANCELED, -ENOSPC...), the
 * target running on every path.
 */
int precopy__dump(const struct precopy_opts *o, struct core_sink *sink, struct capture *cap,
		  struct precopy *pc, char *why, size_t why_len);

/* The "snapshot" object of the result for a pre-copy; a new reference. */
json_t *precopy__json(const struct precopy *pc);

#endif /* TRACEDUMP_DUMP_PRECOPY_H */
