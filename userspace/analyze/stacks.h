/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Threads and their symbolized stacks from an attached Dwfl (a core or a live process),
 * as JSON; grouping of threads whose stacks are identical. docs/analyze.md lists the
 * fields.
 */
#ifndef TRACEDUMP_ANALYZE_STACKS_H
#define TRACEDUMP_ANALYZE_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <elfutils/libdwfl.h>
#include <jansson.h>

#define STACKS_MAX_FRAMES 256 /* a corrupt stack can loop: stop there, say so */

/* Program counters only, for unwinding while a live process is frozen and symbolizing
 * after it runs again. */
struct raw_frame {
	Dwarf_Addr pc;
	bool activation; /* frame 0 or a signal frame: pc is not a return address */
};

struct raw_thread {
	pid_t tid;
	struct raw_frame *frames;
	size_t count, cap;
	bool truncated, nomem;
	char *error; /* why unwinding stopped early, or NULL */
};

struct raw_stacks {
	struct raw_thread *threads;
	size_t count, cap;
	char error[256]; /* -ENODATA: libdwfl's reason */
};

int stacks__unwind_raw(Dwfl *dwfl, size_t max_frames, struct raw_stacks *rs);
int stacks__symbolize(Dwfl *dwfl, const struct raw_stacks *rs, json_t **threads);
void stacks__free_raw(struct raw_stacks *rs);

/*
 * Unwinds every thread of @dwfl (after dwfl_core_file_attach / dwfl_linux_proc_attach)
 * and returns an array of {id, frames[], frames_truncated, unwind_error} in the order
 * libdwfl gives them (the order of the notes, or of /proc/PID/task). 0 or -errno; a
 * thread that cannot be unwound is kept with its error, not dropped.
 */
int stacks__unwind(Dwfl *dwfl, size_t max_frames, json_t **threads);

/* One frame's JSON: pc, function, offset, module, module_offset, build_id, file, line. */
json_t *stacks__frame(Dwfl *dwfl, size_t index, Dwarf_Addr pc, bool activation);

/* Every module libdwfl knows: name, path, range, build-id, symbols (used ones only). */
json_t *stacks__modules(Dwfl *dwfl);

/*
 * Groups the threads of @threads (thread objects with "id" and "frames") whose frames
 * are the same code locations (module and module_offset, or pc when no module). Returns
 * [{count, thread_ids[], top_function, frames[]}], the group holding @first_tid first
 * (the crashing thread, 0 for none), then by count, largest first, then by first thread.
 */
json_t *stacks__group(json_t *threads, pid_t first_tid);

/* A short text of a frame ("pthread_mutex_lock+0x12 (libc.so.6)") for tables. */
void stacks__frame_text(json_t *frame, char *buf, size_t size);

#endif /* TRACEDUMP_ANALYZE_STACKS_H */
