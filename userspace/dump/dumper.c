// SPDX-License-Identifier: GPL-2.0-only
/* dumper__run: freeze, capture, plan, write, release; see dumper.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/elf_info.h"
#include "common/jsonutil.h"
#include "common/procfs.h"
#include "dump/arch.h"
#include "dump/capture.h"
#include "dump/core.h"
#include "dump/dumper.h"
#include "dump/freeze.h"
#include "dump/memory.h"
#include "dump/notes.h"
#include "dump/precopy.h"
#include "dump/sink_file.h"
#include "dump/snapshot.h"

const char *dumper__type_name(enum dump_type type)
{
	switch (type) {
	case DUMP_TYPE_MINI:
		return "mini";
	case DUMP_TYPE_DEFAULT:
		return "default";
	case DUMP_TYPE_FULL:
		return "full";
	default:
		return "filter";
	}
}

int dumper__parse_type(const char *s, enum dump_type *out)
{
	static const char *const names[][2] = { { "0", "mini" }, { "1", "default" }, { "2", "full" } };

	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i][0]) || !strcmp(s, names[i][1])) {
			*out = (enum dump_type)i;
			return 0;
		}
	return -EINVAL;
}

void dumper__default_name(const char *comm, const char *trigger, pid_t pid, time_t when,
			  char *out, size_t len)
{
	char name[64], stamp[32];
	struct tm tm;
	size_t i;

	for (i = 0; comm[i] && i < sizeof(name) - 1; i++) {
		unsigned char c = (unsigned char)comm[i];

		name[i] = (isalnum(c) || c == '-' || c == '.' || c == '_') ? (char)c : '_';
	}
	name[i] = 0;
	if (!i || name[0] == '.')
		snprintf(name, sizeof(name), "process");
	gmtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
	snprintf(out, len, "%s_%s_%s.%d.core", name, trigger, stamp, pid);
}

/* Checks that @pid can be dumped at all, with a message saying why not. */
static int check_target(pid_t pid, char *why, size_t why_len)
{
	struct proc_status st;
	int err = procfs_read_status(pid, -1, &st);

	if (err == -ENOENT || err == -ESRCH) {
		snprintf(why, why_len, "no process %d", pid);
		return -ESRCH;
	}
	if (err) {
		snprintf(why, why_len, "failed to read /proc/%d/status: %s", pid, strerror(-err));
		return err;
	}
	if (st.tgid != pid) {
		snprintf(why, why_len, "%d is a thread of process %d: dump the process", pid,
			 st.tgid);
		return -EINVAL;
	}
	/* A zombie leader whose threads run on (it called pthread_exit) is dumped from
	 * its live threads, as the kernel would. */
	if (st.state == 'Z' && st.threads > 1)
		return 0;
	if (st.state == 'Z' && !st.has_vm) {
		snprintf(why, why_len, "process %d is a zombie: it has exited (its parent %d has "
			 "not reaped it), there is no memory left to dump", pid, st.ppid);
		return -ESRCH;
	}
	if (!st.has_vm) {
		snprintf(why, why_len, "process %d is a kernel thread: it has no memory to dump",
			 pid);
		return -EINVAL;
	}
	if (pid == getpid()) {
		snprintf(why, why_len, "tracedump cannot dump itself");
		return -EINVAL;
	}
	return 0;
}

static json_t *build_ids(const struct capture *cap)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < cap->map_count && arr; i++) {
		const struct capture_map *m = &cap->maps[i];
		struct elf_info info;
		char hex[2 * ELF_BUILD_ID_MAX + 1], path[96];
		bool seen = false;
		int fd, err;

		if (m->path[0] != '/' || m->offset || !m->elf_magic)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = cap->maps[j].offset == 0 && cap->maps[j].elf_magic &&
			       !strcmp(cap->maps[j].path, m->path);
		if (seen)
			continue;
		/* map_files reaches deleted and other-namespace files; the path is the
		 * fallback once the target is gone. */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", cap->mem_pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			err = elf_info__read_fd(fd, &info);
			close(fd);
		} else {
			err = elf_info__read(m->path, &info);
		}
		if (err)
			continue;
		elf_info__build_id_hex(&info, hex, sizeof(hex));
		json_array_append_new(arr, json_pack("{s:o, s:o, s:s}", "file_name",
						     json_string_cstr(m->path),
						     "base_address", json_hex(m->start),
						     "build_id", hex));
	}
	return arr;
}

static void release_target(void *fz)
{
	freeze__release(fz);
}

static void keep_held(void *fz)
{
	(void)fz; /* the caller holds the threads and resumes them itself */
}

/* Lets the target go, or with a held freeze only notes when it would have been. */
static void release(const struct dump_opts *o, struct freeze *fz)
{
	if (!o->held) {
		freeze__release(fz);
		return;
	}
	if (!fz->released_ns)
		fz->released_ns = monotonic_ns();
	fz->threads = NULL;
	fz->count = fz->cap = 0;
}

/*
 * The pre-copy snapshot (precopy.h) into a file sink: 0 done (sink finished, *@result
 * set), 1 not possible for this target (nothing written, @reason says why: the fork
 * snapshot is next), -errno (the sink aborted by the caller).
 */
static int run_precopy(const struct dump_opts *o, enum plan_mode mode, unsigned long filter,
		       const char *filter_hex, struct core_sink *sink, json_t **result,
		       char *reason, size_t reason_len, char *why, size_t why_len)
{
	uint64_t t0 = monotonic_ns(), t_written;
	struct precopy_opts po = { o->pid, mode, filter, o->cancel, o->progress,
				   o->progress_ctx };
	struct capture cap = {};
	struct precopy pc;
	int err = precopy__dump(&po, sink, &cap, &pc, why, why_len);

	if (err == 1)
		snprintf(reason, reason_len, "%s", pc.reason);
	if (err)
		goto out;
	if (o->progress)
		o->progress(sink->offset, sink->offset, o->progress_ctx);
	t_written = monotonic_ns();
	err = sink->finish(sink);
	if (err) {
		snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
		goto out;
	}
	if (result) {
		uint64_t t_end = monotonic_ns();

		*result = json_pack(
			"{s:i, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:i, s:I, s:f, s:f, s:o, s:o, s:o}",
			"pid", o->pid, "type", dumper__type_name(o->type), "filter",
			filter_hex[0] ? json_string(filter_hex) : json_null(), "bytes_written",
			(json_int_t)(sink->bytes_out - pc.rewritten_bytes), "core_size",
			(json_int_t)pc.core_size, "memory_bytes", (json_int_t)pc.memory_bytes,
			"zero_bytes", (json_int_t)pc.zero_bytes, "unreadable_bytes",
			(json_int_t)pc.unreadable_bytes, "threads", (int)cap.thread_count,
			"segments", (json_int_t)pc.segments, "pause_ms",
			(pc.pause1_ns + pc.pause2_ns) / 1e6, "duration_ms", (t_end - t0) / 1e6,
			"timings_ms",
			json_pack("{s:f, s:f, s:f, s:f, s:f}", "freeze", pc.pause1_ns / 1e6,
				  "capture", (pc.freeze2_capture_ns + pc.freeze2_scan_ns +
					      pc.freeze2_read_ns) / 1e6,
				  "plan", pc.setup_ns / 1e6, "write",
				  (t_written - t0 - pc.pause1_ns - pc.setup_ns - pc.freeze2_capture_ns -
				   pc.freeze2_scan_ns - pc.freeze2_read_ns) / 1e6,
				  "finish", (t_end - t_written) / 1e6),
			"build_ids", build_ids(&cap), "snapshot", precopy__json(&pc));
	}
out:
	capture__free(&cap);
	return err;
}

int dumper__run(const struct dump_opts *o, struct core_sink *sink, json_t **result,
		char *why, size_t why_len)
{
	char precopy_reason[256] = "";
	uint64_t t0 = monotonic_ns(), t_frozen = 0, t_captured = 0, t_planned = 0, t_written = 0;
	struct freeze fz = {};
	struct capture cap = {};
	struct dump_plan plan = {};
	struct note_buf notes = {};
	struct core_layout layout;
	struct copy_stats stats = {};
	struct copy_opts copy = { o->cancel, o->progress, o->progress_ctx };
	struct snapshot snap = {};
	/* A held freeze (watch --signal) stays stopped for its caller: no copy to make. */
	bool snapshot = o->snapshot && !o->held;
	pid_t mem_pid;
	enum plan_mode mode;
	unsigned long filter = DUMP_FILTER_DEFAULT;
	char filter_hex[16] = "";
	int err;

	why[0] = 0;
	if (result)
		*result = NULL;
	if (!arch_supported) {
		snprintf(why, why_len, "dumping is not supported on %s yet (x86_64 only)",
			 arch_name);
		err = -EOPNOTSUPP;
		goto fail;
	}
	switch (o->type) {
	case DUMP_TYPE_MINI:
		mode = PLAN_MINI;
		break;
	case DUMP_TYPE_FULL:
		mode = PLAN_FULL;
		break;
	case DUMP_TYPE_FILTER:
		filter = o->filter;
		/* fall through */
	default:
		mode = PLAN_FILTER;
		snprintf(filter_hex, sizeof(filter_hex), "0x%lx", filter);
	}
	err = check_target(o->pid, why, why_len);
	if (err)
		goto fail;

	/* A snapshot into a file: the pre-copy, with the fork as the fallback (streams
	 * cannot be written out of order). */
	if (snapshot && !sink_file__is(sink))
		snprintf(precopy_reason, sizeof(precopy_reason),
			 "the output is a stream, not a file");
	else if (snapshot && !getenv("TRACEDUMP_SNAPSHOT_FORK") &&
		 !precopy__probe(precopy_reason, sizeof(precopy_reason))) {
		err = run_precopy(o, mode, filter, filter_hex, sink, result, precopy_reason,
				  sizeof(precopy_reason), why, why_len);
		if (err <= 0) {
			if (err)
				sink->abort(sink);
			return err;
		}
	} else if (snapshot && !precopy_reason[0]) {
		snprintf(precopy_reason, sizeof(precopy_reason),
			 "TRACEDUMP_SNAPSHOT_FORK is set");
	}

	/* Freeze, capture while frozen. */
	if (o->held) {
		fz = *o->held;
		fz.released_ns = 0;
	} else {
		err = freeze__all(o->pid, &fz, o->cancel, why, why_len);
		if (err)
			goto fail;
	}
	t_frozen = monotonic_ns();
	err = (snapshot ? capture__take_threads : capture__take)(&fz, &cap, why, why_len);
	if (err)
		goto fail;
	cap.cursig = o->signo;
	cap.cursig_tid = o->signal_tid;
	cap.cursig_info = o->siginfo;
	mem_pid = cap.mem_pid;
	if (snapshot) {
		/* The copy made, the target runs on; mappings and memory come from the
		 * copy. Without a copy, the mappings are read now, still frozen. */
		err = snapshot__take(&fz, &cap, &snap);
		if (err) {
			snprintf(why, why_len, err == -ESRCH ? "process %d exited"
				 : "snapshot of process %d failed: out of memory", o->pid);
			goto fail;
		}
		if (snap.used) {
			release(o, &fz);
			mem_pid = snap.child;
			err = snapshot__read_maps(&snap, &cap);
		} else {
			err = capture__read_maps(cap.mem_pid, &cap);
		}
		if (err) {
			snprintf(why, why_len, "failed to read /proc/%d/smaps: %s", mem_pid,
				 strerror(-err));
			goto fail;
		}
	}

	/* Plan the memory and the notes, then write. */
	t_captured = monotonic_ns();
	err = memory__plan(mem_pid, &cap, mode, filter, &plan);
	if (err) {
		snprintf(why, why_len, "failed to plan the core: %s", strerror(-err));
		goto fail;
	}
	err = notes__build(&cap, &notes);
	if (err) {
		snprintf(why, why_len, "out of memory building the notes");
		goto fail;
	}
	err = core__layout(&plan, &notes, &layout);
	if (err) {
		snprintf(why, why_len, "too many mappings (%zu) for an ELF core", plan.seg_count);
		goto fail;
	}
	t_planned = monotonic_ns();
	copy.total = layout.size;
	copy.read_done = o->held ? keep_held : release_target;
	copy.read_done_ctx = &fz;
	copy.no_pin = snap.used;
	err = core__write(&plan, &notes, &layout, mem_pid, sink, &copy, &stats, why, why_len);
	if (err)
		goto fail;
	release(o, &fz);
	snapshot__measure(&snap);
	snapshot__end(&snap, o->pid);
	if (o->progress)
		o->progress(sink->offset, layout.size, o->progress_ctx);

	t_written = monotonic_ns();
	err = sink->finish(sink);
	if (err) {
		snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
		goto fail;
	}
	if (result) {
		uint64_t t_end = monotonic_ns();

		*result = json_pack(
			"{s:i, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:i, s:I, s:f, s:f, s:o, s:o}",
			"pid", o->pid, "type", dumper__type_name(o->type), "filter",
			filter_hex[0] ? json_string(filter_hex) : json_null(), "bytes_written",
			(json_int_t)sink->bytes_out, "core_size", (json_int_t)layout.size,
			"memory_bytes", (json_int_t)plan.data_bytes, "zero_bytes",
			(json_int_t)(plan.data_bytes - plan.read_bytes + stats.zero),
			"unreadable_bytes", (json_int_t)stats.unreadable, "threads",
			(int)cap.thread_count, "segments", (json_int_t)plan.seg_count, "pause_ms",
			(fz.released_ns - fz.frozen_ns + snap.reap_pause_ns) / 1e6, "duration_ms",
			(t_end - t0) / 1e6,
			"timings_ms",
			json_pack("{s:f, s:f, s:f, s:f, s:f}", "freeze", (t_frozen - t0) / 1e6,
				  "capture", (t_captured - t_frozen) / 1e6, "plan",
				  (t_planned - t_captured) / 1e6, "write", (t_written - t_planned) / 1e6,
				  "finish", (t_end - t_written) / 1e6),
			"build_ids", build_ids(&cap));
		if (snapshot && *result) {
			json_t *sj = snapshot__json(&snap);

			json_object_set_new(sj, "method", json_string(snap.used ? "fork" : "freeze"));
			json_object_set_new(sj, "precopy_reason", json_string(precopy_reason));
			json_object_set_new(*result, "snapshot", sj);
		}
	}
	err = 0;
	goto out;
fail:
	release(o, &fz);
	snapshot__end(&snap, o->pid);
	sink->abort(sink);
	if (!why[0])
		snprintf(why, why_len, "%s", strerror(-err));
out:
	notes__free(&notes);
	memory__plan_free(&plan);
	capture__free(&cap);
	snapshot__free(&snap);
	return err;
}
