/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What this host lets tracedump do, found by loading and attaching real programs
 * (bpf/probe.bpf.c). `doctor` prints it; the tracer checks it before loading.
 */
#ifndef TRACEDUMP_FEATURES_H
#define TRACEDUMP_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum feature {
	FEATURE_BTF,
	FEATURE_RINGBUF,
	FEATURE_TP_BTF,
	FEATURE_TRACEPOINT,
	FEATURE_RAW_TP,
	FEATURE_UPROBE,
	FEATURE_KPROBE,
	FEATURE_FENTRY,
	FEATURE_UPROBE_MULTI, /* a uprobe_multi link (6.6+): the cheaper latency probes */
	FEATURE_MAX,
};

struct feature_result {
	bool ok;
	int err;		/* negative errno of the step that failed */
	const char *step;	/* "open", "load", "attach", "fire"; "btf": not tried, it
				 * needs kernel BTF, which is missing (err: why) */
};

struct features {
	bool probed;
	struct feature_result r[FEATURE_MAX];
};

extern const char *const feature_names[FEATURE_MAX];

/*
 * Where kernel BTF is looked for: /sys/kernel/btf/vmlinux, or $TRACEDUMP_BTF_PATH when
 * set. The variable is a test hook: a path that does not exist makes tracedump behave
 * as on a kernel built without BTF (tp_btf programs are not tried, so cpu, signal, exit
 * and --follow are off). It only simulates the absence: the kernel still has BTF.
 */
const char *features__btf_path(void);

/* $TRACEDUMP_BTF_PATH or NULL: the btf_custom_path of every skeleton, so CO-RE fails
 * against a missing file as it would against missing kernel BTF. */
const char *features__btf_override(void);

/* "needs kernel BTF (PATH: reason)" or the step's error, for messages. */
const char *features__describe(const struct feature_result *r, char *buf, size_t size);

/* Probes every feature; each result says which step failed and why. */
void features__probe(struct features *f);

/* Probes only the features whose bit (1u << enum feature) is in @mask (BTF and ringbuf
 * are always checked, they are cheap); the others are left not ok, step "skipped". */
void features__probe_only(struct features *f, unsigned mask);

/* {"name": {"ok": true} | {"ok": false, "step": "attach", "error": "..."}} */
json_t *features__to_json(const struct features *f);

/* True when tracefs is mounted at /sys/kernel/tracing: classic tracepoints need it
 * (libbpf reads their ids there). */
bool features__tracefs_mounted(void);

/* Mounts tracefs at /sys/kernel/tracing if it is not (needs root); 0 or -errno. */
int features__ensure_tracefs(void);

/* libbpf's own messages go to stderr only with TRACEDUMP_DEBUG=1 set. */
void bpf_quiet_logging(void);

#endif /* TRACEDUMP_FEATURES_H */
