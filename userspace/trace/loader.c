// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <gelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <libelf.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/procfs.h"
#include "doctor/features.h"
#include "trace/loader.h"
#include "trace/uprobe_multi.h"
#include "tracer.h"
#include "cputime.h"
#include "latency.h"
#include "signals.h"
#include "cputime.skel.h"
#include "signals.skel.h"
#include "latency.skel.h"
#include "exceptions.skel.h"

struct tracer {
	struct tracer_opts opts;
	struct latency_spec latency;
	unsigned classes;
	struct cputime_bpf *cpu;
	struct signals_bpf *sig;
	struct latency_bpf *lat;
	struct exceptions_bpf *exc;
	int watched_fd;
	struct ring_buffer *rb;
	struct bpf_link **links;
	size_t nlinks, links_cap;
	int *link_fds; /* uprobe_multi links (libbpf 1.1 cannot wrap them in a bpf_link) */
	size_t nlink_fds, link_fds_cap;
	bool lat_multi; /* the latency uprobes are uprobe_multi links, not perf events */
	/* Per-PID uprobe_multi attachments, purged from a watched process's new child. */
	struct lat_attached {
		char path[PATH_MAX];
		uint64_t offset;
		pid_t pid;
		bool purged; /* in the last round (on_ring) */
	} *purge;
	size_t npurge;
	char warnings[2048];
	double mono_to_epoch;
	tracer_event_fn fn;
	void *fn_ctx;
	char entry_cost[128]; /* how the latency uprobe's first instruction is handled */
	struct latency_thread *inflight; /* the latency "inflight" array, mmapped */
	struct file_id { dev_t dev; ino_t ino; } wide[16]; /* files with uprobes for all PIDs */
	size_t nwide;
	size_t inflight_len;
	int handled;
};

uint64_t tracer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void warn(struct tracer *t, const char *fmt, ...)
{
	size_t len = strlen(t->warnings);
	va_list ap;

	if (len >= sizeof(t->warnings) - 2)
		return;
	va_start(ap, fmt);
	vsnprintf(t->warnings + len, sizeof(t->warnings) - len - 1, fmt, ap);
	va_end(ap);
	len = strlen(t->warnings);
	t->warnings[len] = '\n';
	t->warnings[len + 1] = '\0';
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int keep_link(struct tracer *t, struct bpf_link *link)
{
	if (t->nlinks == t->links_cap) {
		size_t cap = t->links_cap ? 2 * t->links_cap : 16;
		struct bpf_link **n = realloc(t->links, cap * sizeof(*n));

		if (!n) {
			bpf_link__destroy(link);
			return -ENOMEM;
		}
		t->links = n;
		t->links_cap = cap;
	}
	t->links[t->nlinks++] = link;
	return 0;
}

static int keep_link_fd(struct tracer *t, int fd)
{
	if (t->nlink_fds == t->link_fds_cap) {
		size_t cap = t->link_fds_cap ? 2 * t->link_fds_cap : 16;
		int *n = realloc(t->link_fds, cap * sizeof(*n));

		if (!n) {
			close(fd);
			return -ENOMEM;
		}
		t->link_fds = n;
		t->link_fds_cap = cap;
	}
	t->link_fds[t->nlink_fds++] = fd;
	return 0;
}

/* Attaches a tracepoint program (its SEC names the tracepoint); NULL prog: nothing. */
static int attach_prog(struct tracer *t, struct bpf_program *prog)
{
	struct bpf_link *link;

	if (!bpf_program__autoload(prog))
		return 0;
	link = bpf_program__attach(prog);
	if (!link)
		return -errno;
	return keep_link(t, link);
}

static int on_ring(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct tracer_header *h = data;

	if (size >= sizeof(*h) && h->type == TRACER_EV_LATENCY_FORK) {
		/* Few entries (one per watched PID and binary). One purge of a probe takes
		 * its breakpoint out of every process no link wants, so a probe whose purge
		 * worked is not purged again for another PID; a PID gone meanwhile fails
		 * (ESRCH) and the next one of that probe is tried. A probe left unpurged
		 * costs the child the trap untraced, nothing more. */
		for (size_t i = 0; i < t->npurge; i++) {
			struct lat_attached *a = &t->purge[i];
			bool done = false;

			for (size_t j = 0; j < i && !done; j++)
				done = t->purge[j].purged && t->purge[j].offset == a->offset &&
				       !strcmp(t->purge[j].path, a->path);
			if (!done)
				done = !uprobe_multi__purge(a->path, a->offset, a->pid);
			a->purged = done;
		}
		return 0;
	}
	t->handled++;
	return t->fn ? t->fn(t->fn_ctx, data, size) : 0;
}

static int add_ring(struct tracer *t, struct bpf_map *map)
{
	int fd = bpf_map__fd(map);

	if (!t->rb) {
		t->rb = ring_buffer__new(fd, on_ring, t, NULL);
		return t->rb ? 0 : -errno;
	}
	return ring_buffer__add(t->rb, fd, on_ring, t);
}

/* Before loading a skeleton: share the watched map of the first one loaded. */
static int share_watched(struct tracer *t, struct bpf_map *map)
{
	if (t->watched_fd < 0)
		return 0;
	return bpf_map__reuse_fd(map, t->watched_fd);
}

static void note_watched(struct tracer *t, struct bpf_map *map)
{
	if (t->watched_fd < 0)
		t->watched_fd = bpf_map__fd(map);
}

static const char *load_hint(int err)
{
	return err == -EPERM || err == -EACCES ? " (loading BPF needs root: CAP_BPF and "
						 "CAP_PERFMON)" : "";
}

static int open_cputime(struct tracer *t, bool want_cpu)
{
	struct cputime_bpf *s;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = features__btf_override());
	int err;

	s = cputime_bpf__open_opts(&oo);
	if (!s)
		return -errno;
	t->cpu = s;
	s->rodata->targ_all = t->opts.all;
	s->rodata->targ_follow = t->opts.follow;
	if (!want_cpu) {
		bpf_program__set_autoload(s->progs.cputime_switch, false);
		bpf_program__set_autoload(s->progs.cputime_wakeup, false);
		bpf_program__set_autoload(s->progs.cputime_wakeup_new, false);
	}
	if (!t->opts.follow || t->opts.all)
		bpf_program__set_autoload(s->progs.cputime_fork, false);
	err = share_watched(t, s->maps.watched);
	if (!err)
		err = cputime_bpf__load(s);
	if (err)
		return err;
	note_watched(t, s->maps.watched);
	if ((err = attach_prog(t, s->progs.cputime_switch)) ||
	    (err = attach_prog(t, s->progs.cputime_wakeup)) ||
	    (err = attach_prog(t, s->progs.cputime_wakeup_new)) ||
	    (err = attach_prog(t, s->progs.cputime_fork)))
		return err;
	return add_ring(t, s->maps.rb);
}

static int open_signals(struct tracer *t, bool want_signals, bool want_exit)
{
	struct signals_bpf *s;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = features__btf_override());
	int err;

	s = signals_bpf__open_opts(&oo);
	if (!s)
		return -errno;
	t->sig = s;
	s->rodata->targ_all = t->opts.all;
	s->rodata->targ_wake_signals = t->opts.wake_signals;
	s->rodata->targ_emit_signals = want_signals;
	s->rodata->targ_controls = t->opts.signal_controls;
	/* signal_generate and signal_deliver stay for exits too: they note the fatal
	 * signal (targ_emit_signals off: no events). */
	if (!want_exit)
		bpf_program__set_autoload(s->progs.signals_exit, false);
	err = share_watched(t, s->maps.watched);
	if (!err)
		err = signals_bpf__load(s);
	if (err)
		return err;
	note_watched(t, s->maps.watched);
	if ((err = attach_prog(t, s->progs.signals_generate)) ||
	    (err = attach_prog(t, s->progs.signals_deliver)) ||
	    (err = attach_prog(t, s->progs.signals_exit)))
		return err;
	return add_ring(t, s->maps.rb);
}

/* Byte offset of task_struct's tgid in the kernel's BTF, 0 when not found. */
static __u32 task_tgid_offset(void)
{
	struct btf *btf = btf__parse(features__btf_path(), NULL);
	__u32 off = 0;
	int id;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	if (id > 0) {
		const struct btf_type *ty = btf__type_by_id(btf, id);
		const struct btf_member *m = btf_members(ty);

		for (int i = 0; i < btf_vlen(ty); i++, m++) {
			const char *name = btf__name_by_offset(btf, m->name_off);

			if (name && !strcmp(name, "tgid")) {
				off = btf_member_bit_offset(ty, i) / 8;
				break;
			}
		}
	}
	btf__free(btf);
	return off;
}

static int open_latency(struct tracer *t, bool have_tp_btf)
{
	struct latency_bpf *s;
	bool usdt = t->latency.kind == LATENCY_USDT;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = features__btf_override());
	__u32 tgid_off = 0;
	int err;

	s = latency_bpf__open_opts(&oo);
	if (!s)
		return -errno;
	t->lat = s;
	s->rodata->targ_all = t->opts.all;
	s->rodata->targ_threshold_ns = t->opts.threshold_ns;
	s->rodata->targ_filter = t->opts.follow && !t->opts.all;
	{
		/* Test hook: fewer slots, so threads share them and use the hash fallback. */
		const char *env = getenv("TRACEDUMP_LATENCY_SLOTS");
		unsigned long n = env ? strtoul(env, NULL, 10) : 0;

		if (n && n <= LATENCY_SLOTS && !(n & (n - 1)))
			s->rodata->targ_slot_mask = n - 1;
	}
	if (t->lat_multi && !t->opts.follow && !t->opts.all &&
	    !(have_tp_btf && (tgid_off = task_tgid_offset())))
		t->lat_multi = false; /* a forked child's breakpoints could not be purged */
	if (t->lat_multi) {
		bpf_program__set_expected_attach_type(s->progs.latency_entry,
						      TD_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(s->progs.latency_return,
						      TD_BPF_TRACE_UPROBE_MULTI);
	}
	/* Only per PID: with --follow or --all a child is traced, not purged. */
	s->rodata->targ_task_tgid_off = t->lat_multi ? tgid_off : 0;
	bpf_program__set_autoload(s->progs.latency_fork, s->rodata->targ_task_tgid_off != 0);
	bpf_program__set_autoload(s->progs.latency_entry, !usdt);
	bpf_program__set_autoload(s->progs.latency_return, !usdt);
	bpf_program__set_autoload(s->progs.latency_usdt_start, usdt);
	bpf_program__set_autoload(s->progs.latency_usdt_end, usdt);
	/* Without tp_btf a thread dying mid-request leaves its slot until the scan sees
	 * /proc/PID/task/TID gone (scan_one). */
	bpf_program__set_autoload(s->progs.latency_exit, have_tp_btf);
	bpf_program__set_autoload(s->progs.latency_exec, have_tp_btf);
	if (!have_tp_btf)
		warn(t, "latency: no tp_btf, so a thread that dies or execs mid-request stays "
			"in the in-flight table until the stuck scan finds it gone");
	err = share_watched(t, s->maps.watched);
	if (!err)
		err = latency_bpf__load(s);
	if (err)
		return err;
	note_watched(t, s->maps.watched);
	/* The stuck scan reads the in-flight slots in place: no syscall per slot. */
	t->inflight_len = bpf_map__max_entries(s->maps.inflight) * sizeof(struct latency_thread);
	t->inflight = mmap(NULL, t->inflight_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			   bpf_map__fd(s->maps.inflight), 0);
	if (t->inflight == MAP_FAILED) {
		t->inflight = NULL;
		return -errno;
	}
	if ((err = attach_prog(t, s->progs.latency_exit)) ||
	    (err = attach_prog(t, s->progs.latency_exec)) ||
	    (err = attach_prog(t, s->progs.latency_fork)))
		return err;
	return add_ring(t, s->maps.rb);
}

static int open_exceptions(struct tracer *t)
{
	struct exceptions_bpf *s;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = features__btf_override());
	int err;

	s = exceptions_bpf__open_opts(&oo);
	if (!s)
		return -errno;
	t->exc = s;
	s->rodata->targ_all = t->opts.all;
	s->rodata->targ_wake = t->opts.wake_exceptions;
	err = share_watched(t, s->maps.watched);
	if (!err)
		err = exceptions_bpf__load(s);
	if (err)
		return err;
	note_watched(t, s->maps.watched);
	return add_ring(t, s->maps.rb);
}

static const char *feature_error(const struct features *f, enum feature feat, char *buf,
				 size_t size)
{
	const struct feature_result *r = &f->r[feat];
	char why[256];

	features__describe(r, why, sizeof(why));
	if (r->step && !strcmp(r->step, "btf"))
		snprintf(buf, size, "%s %.200s", feature_names[feat], why);
	else
		snprintf(buf, size, "%s refused at %s: %.200s", feature_names[feat],
			 r->step ? r->step : "?", why);
	return buf;
}

/* Reads the probed function's first bytes to say what its uprobe costs (MEASURED.md:
 * 0.62 / 0.94 / 4.3 us for nop5 / push %rbp / single-stepped on 6.18). */
static void note_entry_cost(struct tracer *t, const char *binary)
{
	unsigned char insn[8];
	uint64_t off = t->latency.offset;
	int fd;

	if (t->entry_cost[0] || t->latency.kind == LATENCY_USDT)
		return;
	fd = open(binary, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if ((t->latency.kind == LATENCY_OFFSET ||
	     uprobe_function_offset(fd, t->latency.symbol, &off) == 0) &&
	    pread(fd, insn, sizeof(insn), off) == (ssize_t)sizeof(insn))
		snprintf(t->entry_cost, sizeof(t->entry_cost), "%s",
			 uprobe_entry_cost(insn, sizeof(insn)));
	close(fd);
}

const char *tracer__latency_entry_cost(const struct tracer *t)
{
	return t->entry_cost[0] ? t->entry_cost : NULL;
}

/* attach_latency with uprobe_multi links: the offset is ours to find (libbpf 1.1 does
 * it only for its own attach). */
static int attach_latency_multi(struct tracer *t, pid_t pid, const char *binary, char *err,
				size_t errlen)
{
	const struct latency_spec *l = &t->latency;
	uint64_t off = l->offset;
	int fd, ret = 0;

	if (l->kind == LATENCY_SYMBOL) {
		ret = uprobe_file_function_offset(binary, l->symbol, &off);
		if (ret) {
			seterr(err, errlen, "cannot attach a uprobe to %s in %s: %s%s", l->symbol,
			       binary, strerror(-ret),
			       ret == -ENOENT ? " (no such function or file)" : "");
			return ret;
		}
	}
	for (int ret_probe = 0; ret_probe < 2; ret_probe++) {
		struct bpf_program *prog = ret_probe ? t->lat->progs.latency_return
						     : t->lat->progs.latency_entry;

		fd = uprobe_multi__attach(bpf_program__fd(prog), binary, off, ret_probe,
					  pid < 0 ? 0 : pid);
		if (fd < 0) {
			ret = fd;
			if (l->kind == LATENCY_SYMBOL)
				seterr(err, errlen, "cannot attach a %s (uprobe_multi) to %s in %s: "
				       "%s", ret_probe ? "uretprobe" : "uprobe", l->symbol, binary,
				       strerror(-ret));
			else
				seterr(err, errlen, "cannot attach a %s (uprobe_multi) at offset "
				       "0x%llx of %s: %s", ret_probe ? "uretprobe" : "uprobe",
				       (unsigned long long)off, binary, strerror(-ret));
			return ret;
		}
		if ((ret = keep_link_fd(t, fd)))
			return ret;
	}
	if (pid > 0 && bpf_program__autoload(t->lat->progs.latency_fork)) {
		struct lat_attached *n = realloc(t->purge, (t->npurge + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->purge = n;
		snprintf(n[t->npurge].path, sizeof(n[t->npurge].path), "%s", binary);
		n[t->npurge].offset = off;
		n[t->npurge].pid = pid;
		t->npurge++;
	}
	return 0;
}

const char *tracer__latency_attach(const struct tracer *t)
{
	if (!t->lat || t->latency.kind == LATENCY_USDT)
		return t->lat ? "perf_event" : NULL;
	return t->lat_multi ? "uprobe_multi" : "perf_event";
}

/* Uprobes on one binary for one process (-1: all) */
static int attach_latency(struct tracer *t, pid_t pid, const char *binary, char *err,
			  size_t errlen)
{
	const struct latency_spec *l = &t->latency;
	struct bpf_link *link;
	int ret;

	if (l->kind == LATENCY_USDT) {
		link = bpf_program__attach_usdt(t->lat->progs.latency_usdt_start, pid, binary,
						l->provider, l->start, NULL);
		if (!link)
			goto fail_start;
		if ((ret = keep_link(t, link)))
			return ret;
		link = bpf_program__attach_usdt(t->lat->progs.latency_usdt_end, pid, binary,
						l->provider, l->end, NULL);
		if (!link) {
			ret = -errno;
			seterr(err, errlen, "cannot attach to USDT probe %s:%s in %s: %s",
			       l->provider, l->end, binary, strerror(-ret));
			return ret;
		}
		return keep_link(t, link);
	}
	if (t->lat_multi)
		return attach_latency_multi(t, pid, binary, err, errlen);
	for (int ret_probe = 0; ret_probe < 2; ret_probe++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret_probe);
		struct bpf_program *prog = ret_probe ? t->lat->progs.latency_return
						     : t->lat->progs.latency_entry;
		size_t off = 0;

		if (l->kind == LATENCY_SYMBOL)
			o.func_name = l->symbol;
		else
			off = l->offset;
		link = bpf_program__attach_uprobe_opts(prog, pid, binary, off, &o);
		if (!link) {
			ret = -errno;
			if (l->kind == LATENCY_SYMBOL)
				seterr(err, errlen, "cannot attach a %s to %s in %s: %s%s",
				       ret_probe ? "uretprobe" : "uprobe", l->symbol, binary,
				       strerror(-ret), ret == -ENOENT ? " (no such function or file)" : "");
			else
				seterr(err, errlen, "cannot attach a %s at offset 0x%llx of %s: %s",
				       ret_probe ? "uretprobe" : "uprobe",
				       (unsigned long long)l->offset, binary, strerror(-ret));
			return ret;
		}
		if ((ret = keep_link(t, link)))
			return ret;
	}
	return 0;
fail_start:
	ret = -errno;
	seterr(err, errlen, "cannot attach to USDT probe %s:%s in %s: %s%s", l->provider, l->start,
	       binary, strerror(-ret), ret == -ENOENT ? " (no such probe or file)" : "");
	return ret;
}

/* Test hook: TRACEDUMP_UPROBE_MULTI=0 takes the perf-event uprobes (the fallback for
 * kernels before 6.6) where uprobe_multi links would be used. */
static bool uprobe_multi_wanted(void)
{
	const char *env = getenv("TRACEDUMP_UPROBE_MULTI");

	return !env || strcmp(env, "0");
}

int tracer__open(const struct tracer_opts *opts, struct tracer **out, char *err, size_t errlen)
{
	struct tracer *t;
	struct features f;
	unsigned want = opts->classes, mask = 0;
	struct timespec rt, mono;
	char why[256];
	int ret = 0;

	*out = NULL;
	if ((want & TRACER_LATENCY) && !opts->latency) {
		seterr(err, errlen, "latency events need a probe (--latency BINARY:SYMBOL)");
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->opts = *opts;
	t->watched_fd = -1;
	if (opts->latency)
		t->latency = *opts->latency;
	t->opts.latency = &t->latency;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	t->mono_to_epoch = (rt.tv_sec - mono.tv_sec) + (rt.tv_nsec - mono.tv_nsec) / 1e9;

	/* Feature-probe first: the programs doctor loads, for what we need only */
	if (want & (TRACER_CPU | TRACER_SIGNAL | TRACER_EXIT | TRACER_LATENCY) || opts->follow)
		mask |= 1u << FEATURE_TP_BTF;
	if (want & (TRACER_LATENCY | TRACER_EXCEPTION))
		mask |= 1u << FEATURE_UPROBE;
	if ((want & TRACER_LATENCY) && opts->latency->kind != LATENCY_USDT &&
	    uprobe_multi_wanted())
		mask |= 1u << FEATURE_UPROBE_MULTI;
	features__probe_only(&f, mask);
	if (!f.r[FEATURE_RINGBUF].ok) {
		ret = f.r[FEATURE_RINGBUF].err ? f.r[FEATURE_RINGBUF].err : -EOPNOTSUPP;
		/* Without CAP_BPF libbpf's probe says "unsupported", not "denied". */
		if (geteuid() != 0) {
			ret = -EPERM;
			seterr(err, errlen, "tracing needs root (CAP_BPF and CAP_PERFMON): BPF "
			       "is refused to this user; nothing of the tracer works (threads, "
			       "modules and the other /proc commands do)");
		} else {
			seterr(err, errlen, "this kernel refuses BPF ring buffers: %s%s; nothing "
			       "of the tracer works (threads, modules and the other /proc "
			       "commands do)", strerror(-ret), load_hint(ret));
		}
		goto cleanup;
	}
	if (!f.r[FEATURE_BTF].ok) {
		if (want & (TRACER_CPU | TRACER_SIGNAL | TRACER_EXIT))
			warn(t, "cpu, signal, exit: need kernel BTF (%s: %s)",
			     features__btf_path(), strerror(-f.r[FEATURE_BTF].err));
		want &= ~(TRACER_CPU | TRACER_SIGNAL | TRACER_EXIT);
		if (opts->follow)
			warn(t, "--follow: needs kernel BTF (tp_btf sched_process_fork); children "
				"are not followed");
		t->opts.follow = false;
	} else if ((mask & (1u << FEATURE_TP_BTF)) && !f.r[FEATURE_TP_BTF].ok) {
		if (want & (TRACER_CPU | TRACER_SIGNAL | TRACER_EXIT))
			warn(t, "cpu, signal, exit: need tp_btf programs: %s",
			     feature_error(&f, FEATURE_TP_BTF, why, sizeof(why)));
		want &= ~(TRACER_CPU | TRACER_SIGNAL | TRACER_EXIT);
		if (opts->follow)
			warn(t, "--follow: needs tp_btf sched_process_fork; children are not "
				"followed");
		t->opts.follow = false;
	}
	if ((mask & (1u << FEATURE_UPROBE)) && !f.r[FEATURE_UPROBE].ok) {
		warn(t, "latency, exception: need uprobes: %s",
		     feature_error(&f, FEATURE_UPROBE, why, sizeof(why)));
		want &= ~(TRACER_LATENCY | TRACER_EXCEPTION);
	}
	if (!want) {
		int e = -EOPNOTSUPP;

		for (int i = FEATURE_TP_BTF; i < FEATURE_MAX; i++)
			if ((mask & (1u << i)) && (f.r[i].err == -EPERM || f.r[i].err == -EACCES))
				e = -EPERM;
		ret = e;
		seterr(err, errlen, "nothing to trace on this host: %s%s%s", t->warnings,
		       load_hint(e), !f.r[FEATURE_BTF].ok && f.r[FEATURE_RINGBUF].ok ?
		       " without BTF only the latency and exception uprobes work (trace "
		       "--events latency,exception)" : "");
		/* One line: the warnings end in '\n'. */
		for (char *p = err; p && *p; p++)
			if (*p == '\n')
				*p = p[1] ? ';' : '\0';
		goto cleanup;
	}

	/* Open, set rodata, disable what is not wanted, load, attach: one skeleton each */
	if (want & TRACER_CPU || t->opts.follow) {
		ret = open_cputime(t, want & TRACER_CPU);
		if (ret) {
			seterr(err, errlen, "cannot load bpf/cputime: %s%s", strerror(-ret),
			       load_hint(ret));
			goto cleanup;
		}
	}
	if (want & (TRACER_SIGNAL | TRACER_EXIT)) {
		ret = open_signals(t, want & TRACER_SIGNAL, want & TRACER_EXIT);
		if (ret) {
			seterr(err, errlen, "cannot load bpf/signals: %s%s", strerror(-ret),
			       load_hint(ret));
			goto cleanup;
		}
	}
	if (want & TRACER_LATENCY) {
		/* uprobe_multi needs a path: libbpf finds a bare library name for --all. */
		t->lat_multi = (mask & (1u << FEATURE_UPROBE_MULTI)) &&
			       f.r[FEATURE_UPROBE_MULTI].ok &&
			       (!opts->all || strchr(t->latency.binary, '/'));
		ret = open_latency(t, f.r[FEATURE_TP_BTF].ok);
		if (ret) {
			seterr(err, errlen, "cannot load bpf/latency: %s%s", strerror(-ret),
			       load_hint(ret));
			goto cleanup;
		}
		if (opts->all) {
			ret = attach_latency(t, -1, t->latency.binary, err, errlen);
			if (ret)
				goto cleanup;
			note_entry_cost(t, t->latency.binary);
		}
	}
	if (want & TRACER_EXCEPTION) {
		ret = open_exceptions(t);
		if (ret) {
			seterr(err, errlen, "cannot load bpf/exceptions: %s%s", strerror(-ret),
			       load_hint(ret));
			goto cleanup;
		}
		if (opts->all) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = "__cxa_throw");
			struct bpf_link *link = bpf_program__attach_uprobe_opts(
				t->exc->progs.exceptions_throw, -1, "libstdc++.so.6", 0, &o);

			if (!link) {
				ret = -errno;
				seterr(err, errlen, "cannot attach a uprobe to __cxa_throw in "
				       "libstdc++.so.6: %s", strerror(-ret));
				goto cleanup;
			}
			if ((ret = keep_link(t, link)))
				goto cleanup;
		}
	}
	t->classes = want;
	*out = t;
	return 0;
cleanup:
	tracer__destroy(t);
	return ret;
}

void tracer__destroy(struct tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	if (t->inflight)
		munmap(t->inflight, t->inflight_len);
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	free(t->links);
	for (size_t i = 0; i < t->nlink_fds; i++)
		close(t->link_fds[i]);
	free(t->link_fds);
	free(t->purge);
	cputime_bpf__destroy(t->cpu);
	signals_bpf__destroy(t->sig);
	latency_bpf__destroy(t->lat);
	exceptions_bpf__destroy(t->exc);
	free(t);
}

unsigned tracer__classes(const struct tracer *t)
{
	return t->classes;
}

const char *tracer__warnings(const struct tracer *t)
{
	return t->warnings;
}

double tracer__mono_to_epoch(const struct tracer *t)
{
	return t->mono_to_epoch;
}

struct mapped_find {
	const char *name;
	size_t name_len;
	char *out;
	size_t size;
};

/* A mapping whose file is @name: the same path, the same base name, or a library
 * whose base name is @name followed by ".so" or "-" (libstdc++ -> libstdc++.so.6). */
static int match_mapping(const struct proc_map *m, void *ctx)
{
	struct mapped_find *mf = ctx;
	const char *base;

	if (m->path[0] != '/' || m->deleted)
		return 0;
	base = strrchr(m->path, '/') + 1;
	if (!strcmp(m->path, mf->name) || !strcmp(base, mf->name) ||
	    (!strncmp(base, mf->name, mf->name_len) &&
	     (!strncmp(base + mf->name_len, ".so", 3) || base[mf->name_len] == '-'))) {
		snprintf(mf->out, mf->size, "%s", m->path);
		return 1;
	}
	return 0;
}

/* The file of @pid's mapping named @name, as /proc/PID/root/PATH so a process in
 * another mount namespace works too; 0, or -ENOENT when it maps no such file. */
static int find_mapped(pid_t pid, const char *name, char *out, size_t size)
{
	char path[PATH_MAX];
	struct mapped_find mf = { name, strlen(name), path, sizeof(path) };
	int ret = procfs_for_each_map(pid, match_mapping, &mf);

	if (ret < 0)
		return ret;
	if (ret == 0)
		return -ENOENT;
	snprintf(out, size, "/proc/%d/root%s", pid, path);
	return 0;
}

/* A thread on a CPU now would have no slice start until its next switch: note it in
 * that CPU's "running" slot, from /proc (state R and the CPU it last ran on). */
static void seed_running_threads(struct tracer *t, pid_t pid)
{
	int ncpu = libbpf_num_possible_cpus();
	int tfd = bpf_map__fd(t->cpu->maps.threads), rfd = bpf_map__fd(t->cpu->maps.running);
	struct cputime_running *run = NULL;
	uint64_t now = tracer_now_ns();
	pid_t *tids = NULL;
	size_t n = 0;
	__u32 zero = 0;
	bool changed = false;

	if (ncpu <= 0 || procfs_list_pids(pid, true, &tids, &n))
		return;
	run = calloc(ncpu, sizeof(*run));
	if (!run || bpf_map_lookup_elem(rfd, &zero, run))
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct cputime_thread ct = { .tgid = pid };
		struct proc_stat st;
		__u32 key = tids[i];

		if (procfs_read_stat(pid, tids[i], &st) || st.state != 'R' ||
		    st.processor < 0 || st.processor >= ncpu || run[st.processor].tid)
			continue;
		ct.switch_in_ns = now;
		ct.last_cpu = st.processor;
		memcpy(ct.comm, st.comm, sizeof(ct.comm) - 1);
		if (bpf_map_update_elem(tfd, &key, &ct, BPF_NOEXIST))
			continue;
		run[st.processor] = (struct cputime_running){ .tid = key, .since_ns = now };
		changed = true;
	}
	/* A switch in between wins: its slot is newer than ours. Racy by a few us. */
	if (changed)
		bpf_map_update_elem(rfd, &zero, run, BPF_ANY);
out:
	free(run);
	free(tids);
}

/*
 * With --follow the uprobes are attached by file for every process (pid -1) and BPF
 * filters on "watched", so a child forked later is covered from its first call, with
 * no attach race. True when @path's file already has them (it is added otherwise).
 */
static bool attached_for_all(struct tracer *t, const char *path, bool add)
{
	struct stat st;

	if (stat(path, &st))
		return false;
	for (size_t i = 0; i < t->nwide; i++)
		if (t->wide[i].dev == st.st_dev && t->wide[i].ino == st.st_ino)
			return true;
	if (add && t->nwide < sizeof(t->wide) / sizeof(t->wide[0]))
		t->wide[t->nwide++] = (struct file_id){ st.st_dev, st.st_ino };
	return false;
}

int tracer__add_pid(struct tracer *t, pid_t pid, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	__u32 key = pid;
	__u8 one = 1;
	int ret;

	if (kill(pid, 0) && errno == ESRCH) {
		seterr(err, errlen, "no process %d", pid);
		return -ESRCH;
	}
	if (t->watched_fd >= 0 && bpf_map_update_elem(t->watched_fd, &key, &one, BPF_ANY)) {
		ret = -errno;
		seterr(err, errlen, "cannot watch process %d: %s", pid, strerror(-ret));
		return ret;
	}
	if (t->classes & TRACER_CPU)
		seed_running_threads(t, pid);
	if (t->opts.all)
		return 0;
	if (t->classes & TRACER_LATENCY) {
		const char *bin = t->latency.binary;

		/* A name the process maps ("server", "libfoo") is looked up in its maps. */
		if (access(bin, F_OK) || !strchr(bin, '/')) {
			if (find_mapped(pid, bin, path, sizeof(path)) == 0)
				bin = path;
		}
		if (!t->opts.follow || !attached_for_all(t, bin, false)) {
			ret = attach_latency(t, t->opts.follow ? -1 : pid, bin, err, errlen);
			if (ret)
				return ret;
			if (t->opts.follow)
				attached_for_all(t, bin, true);
		}
		note_entry_cost(t, bin);
	}
	if (t->classes & TRACER_EXCEPTION) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = "__cxa_throw");
		struct bpf_link *link;

		/* libstdc++ as the process maps it; a static C++ binary has its own. */
		if (find_mapped(pid, "libstdc++", path, sizeof(path)))
			snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		/* exceptions_throw filters on "watched" itself. */
		if (t->opts.follow && attached_for_all(t, path, false))
			return 0;
		link = bpf_program__attach_uprobe_opts(t->exc->progs.exceptions_throw,
						       t->opts.follow ? -1 : pid, path, 0, &o);
		if (!link) {
			ret = -errno;
			seterr(err, errlen, "cannot attach a uprobe to __cxa_throw for process %d "
			       "(%s): %s%s", pid, path, strerror(-ret),
			       ret == -ENOENT ? "; is it a C++ program?" : "");
			return ret;
		}
		if ((ret = keep_link(t, link)))
			return ret;
		if (t->opts.follow)
			attached_for_all(t, path, true);
	}
	return 0;
}

int tracer__remove_pid(struct tracer *t, pid_t pid)
{
	__u32 key = pid;

	/* First: the signal programs take an entry in procs as "watched". */
	if (t->sig)
		bpf_map__delete_elem(t->sig->maps.procs, &key, sizeof(key), 0);
	if (t->watched_fd < 0)
		return 0;
	return bpf_map_delete_elem(t->watched_fd, &key) ? -errno : 0;
}

/*
 * Reads @pid's entry in the signal programs' procs map into @p (zeroed when it has
 * none), for set_proc(). Returns 1 when the entry exists, 0 when not, or -errno.
 */
static int get_proc(struct tracer *t, pid_t pid, struct signals_proc *p)
{
	__u32 key = pid;
	int err;

	err = bpf_map__lookup_elem(t->sig->maps.procs, &key, sizeof(key), p, sizeof(*p), 0);
	if (err == -ENOENT) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	return err ? err : 1;
}

/*
 * Writes @p back, or deletes the entry when it keeps nothing any more. The programs may
 * write kept events into the entry meanwhile; the update replaces it, so a few events
 * of that moment can be lost (only when the settings change).
 */
static int set_proc(struct tracer *t, pid_t pid, const struct signals_proc *p, bool existed)
{
	__u32 key = pid;
	int err;

	if (!p->keep && !p->stop) {
		err = bpf_map__delete_elem(t->sig->maps.procs, &key, sizeof(key), 0);
		return err == -ENOENT ? 0 : err;
	}
	return bpf_map__update_elem(t->sig->maps.procs, &key, sizeof(key), p, sizeof(*p),
				    existed ? BPF_EXIST : BPF_NOEXIST);
}

int tracer__keep_signals(struct tracer *t, pid_t pid, uint64_t report)
{
	struct signals_proc *p;
	int err;

	if (!t->sig || !(t->classes & TRACER_SIGNAL) || !t->opts.signal_controls)
		return -EOPNOTSUPP;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	err = get_proc(t, pid, p);
	if (err >= 0 && !(p->keep && p->report == report)) {
		bool existed = err;

		p->keep = 1;
		p->report = report;
		err = set_proc(t, pid, p, existed);
	}
	free(p);
	return err < 0 ? err : 0;
}

int tracer__kept_signals(struct tracer *t, pid_t pid, struct signals_event *out)
{
	struct signals_proc *p;
	size_t n;
	int err;

	if (!t->sig)
		return -EOPNOTSUPP;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	err = get_proc(t, pid, p);
	if (err <= 0 || !p->keep) {
		free(p);
		return err < 0 ? err : -ENOENT;
	}
	/* Oldest first: the slot after the newest, when the ring has gone round. */
	n = p->head < SIGNALS_KEPT ? p->head : SIGNALS_KEPT;
	for (size_t i = 0; i < n; i++)
		out[i] = p->ev[(p->head - n + i) % SIGNALS_KEPT];
	free(p);
	return (int)n;
}

int tracer__set_stop_signals(struct tracer *t, pid_t pid, uint64_t mask)
{
	struct signals_proc *p;
	int err;

	if (!t->sig || !t->opts.signal_controls)
		return -EOPNOTSUPP;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	err = get_proc(t, pid, p);
	if (err >= 0 && p->stop != mask) {
		bool existed = err;

		p->stop = mask;
		err = set_proc(t, pid, p, existed);
	}
	free(p);
	return err < 0 ? err : 0;
}

int tracer__poll(struct tracer *t, int timeout_ms, tracer_event_fn fn, void *ctx)
{
	int ret;

	t->fn = fn;
	t->fn_ctx = ctx;
	t->handled = 0;
	if (!t->rb) {
		struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		return 0;
	}
	/* Most events do not wake us (BPF_RB_NO_WAKEUP): after the wait take them all. */
	ret = ring_buffer__poll(t->rb, timeout_ms);
	if (ret < 0 && ret != -EINTR)
		return ret;
	ret = ring_buffer__consume(t->rb);
	if (ret < 0 && ret != -EINTR)
		return ret;
	return t->handled;
}

int tracer__wait_fd(const struct tracer *t)
{
	return t->rb ? ring_buffer__epoll_fd(t->rb) : -1;
}

static void add_stats(struct bpf_map *map, struct tracer_stats *s)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 slot = 0; slot < TRACER_STAT_MAX; slot++) {
		if (bpf_map_lookup_elem(bpf_map__fd(map), &slot, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			s->slot[slot] += vals[c];
	}
	free(vals);
}

int tracer__read_stats(const struct tracer *t, struct tracer_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (t->cpu)
		add_stats(t->cpu->maps.stats, s);
	if (t->sig)
		add_stats(t->sig->maps.stats, s);
	if (t->lat)
		add_stats(t->lat->maps.stats, s);
	if (t->exc)
		add_stats(t->exc->maps.stats, s);
	return 0;
}

int tracer__read_thread_cpu(const struct tracer *t, pid_t tgid, struct tracer_thread_cpu **out,
			    size_t *count)
{
	struct tracer_thread_cpu *arr = NULL;
	size_t n = 0, cap = 0;
	__u32 key, next, *prev = NULL, zero = 0;
	uint64_t now = tracer_now_ns();
	struct cputime_running *run = NULL;
	int fd, ncpu;

	*out = NULL;
	*count = 0;
	if (!t->cpu || !(t->classes & TRACER_CPU))
		return -EOPNOTSUPP;
	ncpu = libbpf_num_possible_cpus();
	run = ncpu > 0 ? calloc(ncpu, sizeof(*run)) : NULL;
	if (!run || bpf_map_lookup_elem(bpf_map__fd(t->cpu->maps.running), &zero, run))
		ncpu = 0;
	fd = bpf_map__fd(t->cpu->maps.threads);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct cputime_thread ct;
		struct tracer_thread_cpu *c;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &ct))
			continue;
		if (tgid && (pid_t)ct.tgid != tgid)
			continue;
		if (n == cap) {
			struct tracer_thread_cpu *a;

			cap = cap ? 2 * cap : 64;
			a = realloc(arr, cap * sizeof(*a));
			if (!a) {
				free(arr);
				free(run);
				return -ENOMEM;
			}
			arr = a;
		}
		c = &arr[n++];
		memset(c, 0, sizeof(*c));
		c->tid = key;
		c->tgid = ct.tgid;
		memcpy(c->comm, ct.comm, sizeof(c->comm));
		{
			/* The name now (BPF copied it once, before any pthread_setname_np). */
			char *name = NULL;
			size_t len = 0;

			if (procfs_read(ct.tgid, key, "comm", &name, &len) == 0 && len > 0) {
				if (name[len - 1] == '\n')
					len--;
				memset(c->comm, 0, sizeof(c->comm));
				memcpy(c->comm, name, len < sizeof(c->comm) ? len : sizeof(c->comm) - 1);
			}
			free(name);
		}
		c->oncpu_ns = ct.oncpu_ns;
		c->runq_ns = ct.runq_ns;
		c->voluntary = ct.voluntary;
		c->involuntary = ct.involuntary;
		c->last_cpu = ct.last_cpu;
		/* The slice going on now is in the CPU's running slot */
		for (int cpu = 0; cpu < ncpu; cpu++) {
			if (run[cpu].tid != key)
				continue;
			c->on_cpu = true;
			if (now > run[cpu].since_ns)
				c->oncpu_ns += now - run[cpu].since_ns;
		}
		if (!c->on_cpu && ct.enqueue_ns && now > ct.enqueue_ns)
			c->runq_ns += now - ct.enqueue_ns;
	}
	free(run);
	*out = arr;
	*count = n;
	return 0;
}

void tracer__forget_dead_threads(struct tracer *t)
{
	__u32 key, next, *prev = NULL;
	char path[64];
	int fd;

	if (!t->cpu || !(t->classes & TRACER_CPU))
		return;
	fd = bpf_map__fd(t->cpu->maps.threads);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		snprintf(path, sizeof(path), "/proc/%u", key);
		if (access(path, F_OK) && errno == ENOENT) {
			bpf_map_delete_elem(fd, &key);
			/* The iteration restarts: deleting the current key loses our place. */
			prev = NULL;
			continue;
		}
		prev = &key;
	}
}

int tracer__read_histogram(const struct tracer *t, uint64_t *slots, unsigned nslots)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *percpu;

	memset(slots, 0, nslots * sizeof(*slots));
	if (!t->lat)
		return -EOPNOTSUPP;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 s = 0; s < nslots && s < LATENCY_HIST_SLOTS; s++) {
		if (bpf_map_lookup_elem(bpf_map__fd(t->lat->maps.hist), &s, percpu))
			continue;
		for (int c = 0; c < ncpu; c++)
			slots[s] += percpu[c];
	}
	free(percpu);
	return 0;
}

/* Below this a request is not checked for a dead thread (an access() each). */
#define INFLIGHT_CHECK_NS 50000000ULL

static bool thread_gone(pid_t tgid, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", tgid, tid);
	return access(path, F_OK) && errno == ENOENT;
}

/* Reports @lt when its outermost call runs for @min_ns; true when its thread is gone
 * (it died mid-request without the exit program: no tp_btf, or exec). */
static bool scan_one(const struct latency_thread *lt, uint64_t owner, uint64_t now,
		     uint64_t min_ns, tracer_inflight_fn fn, void *ctx)
{
	pid_t tgid = owner >> 32, tid = (__u32)owner;
	uint64_t start, running;

	if (!__atomic_load_n(&lt->depth, __ATOMIC_ACQUIRE))
		return false;
	start = __atomic_load_n(&lt->start_ns[0], __ATOMIC_RELAXED);
	if (now <= start)
		return false;
	running = now - start;
	if (running < min_ns)
		return false;
	if (running >= INFLIGHT_CHECK_NS && thread_gone(tgid, tid))
		return true;
	fn(ctx, tgid, tid, start, running);
	return false;
}

int tracer__scan_inflight(const struct tracer *t, uint64_t min_ns, tracer_inflight_fn fn,
			  void *ctx)
{
	__u32 key, next, *prev = NULL, dead[64];
	uint64_t now = tracer_now_ns();
	size_t ndead = 0;
	int fd;

	if (!t->lat || !t->inflight)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < LATENCY_SLOTS; i++) {
		struct latency_thread *lt = &t->inflight[i];
		uint64_t owner = __atomic_load_n(&lt->owner, __ATOMIC_ACQUIRE);

		if (!owner || !scan_one(lt, owner, now, min_ns, fn, ctx))
			continue;
		/* Free the dead thread's slot; a claim in between wins (it swapped 0 in). */
		__atomic_store_n(&lt->depth, 0, __ATOMIC_RELAXED);
		__atomic_compare_exchange_n(&lt->owner, &owner, 0, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
	}
	fd = bpf_map__fd(t->lat->maps.inflight_shared);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct latency_thread lt;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &lt) == 0 &&
		    scan_one(&lt, lt.owner, now, min_ns, fn, ctx) && ndead < 64)
			dead[ndead++] = key;
	}
	/* After the walk: deleting the current key would lose our place. */
	for (size_t i = 0; i < ndead; i++)
		bpf_map_delete_elem(fd, &dead[i]);
	return 0;
}

const char *uprobe_entry_cost(const unsigned char *insn, size_t len)
{
	static const unsigned char nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

	if (len >= 5 && !memcmp(insn, nop5, 5))
		return "nop5: optimised into a call (cheapest)";
	if (len >= 1 && insn[0] == 0x55)
		return "push %rbp: emulated (about 1.5x a nop5)";
	return "single-stepped (about 7x a nop5)";
}
