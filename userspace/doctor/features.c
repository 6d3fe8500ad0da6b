// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "doctor/features.h"
#include "trace/uprobe_multi.h"
#include "probe.h"
#include "probe.skel.h"

const char *const feature_names[FEATURE_MAX] = {
	[FEATURE_BTF] = "btf",
	[FEATURE_RINGBUF] = "ringbuf",
	[FEATURE_TP_BTF] = "tp_btf",
	[FEATURE_TRACEPOINT] = "tracepoint",
	[FEATURE_RAW_TP] = "raw_tracepoint",
	[FEATURE_UPROBE] = "uprobe",
	[FEATURE_KPROBE] = "kprobe",
	[FEATURE_FENTRY] = "fentry",
	[FEATURE_UPROBE_MULTI] = "uprobe_multi",
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static int debug = -1;

	if (debug < 0) {
		const char *env = getenv("TRACEDUMP_DEBUG");

		debug = env && *env && strcmp(env, "0");
	}
	return debug ? vfprintf(stderr, fmt, ap) : 0;
}

void bpf_quiet_logging(void)
{
	libbpf_set_print(libbpf_print);
}

/* The uprobe probe attaches here; noinline and used keep a real symbol for libbpf. */
__attribute__((noinline, used)) int tracedump_uprobe_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

bool features__tracefs_mounted(void)
{
	return access("/sys/kernel/tracing/events", F_OK) == 0;
}

int features__ensure_tracefs(void)
{
	if (features__tracefs_mounted())
		return 0;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return -errno;
	return 0;
}

struct fired {
	unsigned mask;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct fired *fired = ctx;
	const struct probe_event *e = data;

	if (size >= sizeof(*e) && e->kind < PROBE_KIND_MAX)
		fired->mask |= 1u << e->kind;
	return 0;
}

/* Makes each probe program fire for this process. */
static void provoke(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	syscall(SYS_getppid);
	nanosleep(&ts, NULL); /* a context switch, and do_nanosleep */
	tracedump_uprobe_probe_target(1);
}

static struct bpf_program *probe_prog(struct probe_bpf *skel, enum feature feat)
{
	switch (feat) {
	case FEATURE_TP_BTF:
		return skel->progs.probe_tp_btf;
	case FEATURE_TRACEPOINT:
		return skel->progs.probe_tracepoint;
	case FEATURE_RAW_TP:
		return skel->progs.probe_raw_tp;
	case FEATURE_UPROBE:
		return skel->progs.probe_uprobe;
	case FEATURE_KPROBE:
		return skel->progs.probe_kprobe;
	case FEATURE_FENTRY:
		return skel->progs.probe_fentry;
	case FEATURE_UPROBE_MULTI:
		return skel->progs.probe_uprobe_multi;
	default:
		return NULL;
	}
}

static const enum probe_kind probe_kind_of[FEATURE_MAX] = {
	[FEATURE_TP_BTF] = PROBE_TP_BTF,	 [FEATURE_TRACEPOINT] = PROBE_TRACEPOINT,
	[FEATURE_RAW_TP] = PROBE_RAW_TP,	 [FEATURE_UPROBE] = PROBE_UPROBE,
	[FEATURE_KPROBE] = PROBE_KPROBE,	 [FEATURE_FENTRY] = PROBE_FENTRY,
	[FEATURE_UPROBE_MULTI] = PROBE_UPROBE_MULTI,
};

/* Loads only @feat's program, attaches it, provokes it and waits for its event. */
static void probe_one(enum feature feat, struct feature_result *res)
{
	struct probe_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct bpf_link *link = NULL;
	struct bpf_program *prog, *want;
	struct fired fired = { 0 };
	int link_fd = -1;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = features__btf_override());
	int err;

	*res = (struct feature_result){ .step = "open" };
	/* Open BPF application */
	skel = probe_bpf__open_opts(&oo);
	if (!skel) {
		res->err = -errno;
		goto cleanup;
	}
	skel->rodata->targ_tgid = getpid();

	/* Load only the program under test, so one refusal does not hide the others */
	want = probe_prog(skel, feat);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == want);
	if (feat == FEATURE_UPROBE_MULTI)
		bpf_program__set_expected_attach_type(want, TD_BPF_TRACE_UPROBE_MULTI);

	/* Load & verify BPF programs */
	res->step = "load";
	err = probe_bpf__load(skel);
	if (err) {
		res->err = err;
		goto cleanup;
	}

	/* Attach */
	res->step = "attach";
	if (feat == FEATURE_UPROBE || feat == FEATURE_UPROBE_MULTI) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "tracedump_uprobe_probe_target");
		char exe[4096];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		uint64_t off;

		if (n < 0) {
			res->err = -errno;
			goto cleanup;
		}
		exe[n] = '\0';
		if (feat == FEATURE_UPROBE) {
			link = bpf_program__attach_uprobe_opts(want, getpid(), exe, 0, &opts);
		} else {
			err = uprobe_file_function_offset(exe, "tracedump_uprobe_probe_target", &off);
			if (!err) {
				link_fd = uprobe_multi__attach(bpf_program__fd(want), exe, off,
							       false, getpid());
				err = link_fd < 0 ? link_fd : 0;
			}
			if (err) {
				res->err = err;
				goto cleanup;
			}
			link = NULL;
		}
	} else {
		link = bpf_program__attach(want);
	}
	if (!link && link_fd < 0) {
		res->err = -errno;
		goto cleanup;
	}

	res->step = "fire";
	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_event, &fired, NULL);
	if (!rb) {
		res->err = -errno;
		goto cleanup;
	}
	for (int i = 0; i < 5 && !(fired.mask & (1u << probe_kind_of[feat])); i++) {
		provoke();
		ring_buffer__poll(rb, 20);
	}
	if (fired.mask & (1u << probe_kind_of[feat])) {
		res->ok = true;
		res->step = NULL;
	} else {
		res->err = -ETIME;
	}
cleanup:
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	if (link_fd >= 0)
		close(link_fd);
	probe_bpf__destroy(skel);
}

const char *features__btf_override(void)
{
	const char *env = getenv("TRACEDUMP_BTF_PATH");

	return env && *env ? env : NULL;
}

const char *features__btf_path(void)
{
	return features__btf_override() ?: "/sys/kernel/btf/vmlinux";
}

const char *features__describe(const struct feature_result *r, char *buf, size_t size)
{
	if (r->step && !strcmp(r->step, "btf"))
		snprintf(buf, size, "needs kernel BTF (%s: %s)", features__btf_path(),
			 strerror(-r->err));
	else if (r->err == -ETIME)
		snprintf(buf, size, "attached but never fired");
	else
		snprintf(buf, size, "%s", strerror(-r->err));
	return buf;
}

void features__probe(struct features *f)
{
	features__probe_only(f, (1u << FEATURE_MAX) - 1);
}

void features__probe_only(struct features *f, unsigned mask)
{
	memset(f, 0, sizeof(*f));
	bpf_quiet_logging();

	f->r[FEATURE_BTF].ok = access(features__btf_path(), R_OK) == 0;
	if (!f->r[FEATURE_BTF].ok) {
		f->r[FEATURE_BTF].err = -errno;
		f->r[FEATURE_BTF].step = "open";
	}

	{
		int ret = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);

		f->r[FEATURE_RINGBUF].ok = ret == 1;
		if (ret != 1) {
			f->r[FEATURE_RINGBUF].err = ret < 0 ? ret : -EOPNOTSUPP;
			f->r[FEATURE_RINGBUF].step = "load";
		}
	}
	/* Every probe program reports through the ring buffer. */
	for (int feat = FEATURE_TP_BTF; feat < FEATURE_MAX; feat++) {
		if (!(mask & (1u << feat))) {
			f->r[feat] = (struct feature_result){ .err = -ENODATA, .step = "skipped" };
			continue;
		}
		if (!f->r[FEATURE_RINGBUF].ok) {
			f->r[feat] = (struct feature_result){ .err = -EOPNOTSUPP, .step = "load" };
			continue;
		}
		/* Their attach target is a BTF id of the kernel's own BTF: libbpf cannot
		 * even load them without it. */
		if ((feat == FEATURE_TP_BTF || feat == FEATURE_FENTRY) && !f->r[FEATURE_BTF].ok) {
			f->r[feat] = (struct feature_result){ .err = f->r[FEATURE_BTF].err,
							      .step = "btf" };
			continue;
		}
		probe_one(feat, &f->r[feat]);
	}
	f->probed = true;
}

json_t *features__to_json(const struct features *f)
{
	json_t *obj = json_object();

	for (int i = 0; i < FEATURE_MAX; i++) {
		const struct feature_result *r = &f->r[i];
		json_t *v;

		if (r->ok) {
			v = json_pack("{s:b}", "ok", 1);
		} else {
			char msg[256];

			if (r->err == -ETIME || (r->step && !strcmp(r->step, "btf")))
				features__describe(r, msg, sizeof(msg));
			else if (i == FEATURE_TRACEPOINT && !features__tracefs_mounted())
				snprintf(msg, sizeof(msg), "%s: tracefs is not mounted at "
					 "/sys/kernel/tracing", strerror(-r->err));
			else
				snprintf(msg, sizeof(msg), "%s", strerror(-r->err));
			v = json_pack("{s:b, s:s, s:s}", "ok", 0, "step", r->step ? r->step : "?",
				      "error", msg);
		}
		json_object_set_new(obj, feature_names[i], v);
	}
	return obj;
}
