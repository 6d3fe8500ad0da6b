// SPDX-License-Identifier: GPL-2.0-only
/* `tracedump doctor`: what this host lets tracedump do, probed for real. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/command.h"
#include "common/jsonutil.h"
#include "common/output.h"
#include "common/procfs.h"
#include "doctor/features.h"
#include "dump/precopy.h"

/* Capability numbers from linux/capability.h. */
static const struct {
	const char *name;
	int bit;
} caps[] = {
	{ "CAP_KILL", 5 },	   { "CAP_SYS_PTRACE", 19 }, { "CAP_SYS_ADMIN", 21 },
	{ "CAP_SYS_RESOURCE", 24 }, { "CAP_PERFMON", 38 },   { "CAP_BPF", 39 },
};

struct doctor_args {
	const char *dir;
};

static const char doctor_doc[] =
	"Report what this host lets tracedump do: root and capabilities, BTF, each BPF "
	"feature (loaded, attached and fired for real), ptrace policy, tracefs, "
	"core_pattern and the free space where dumps would go.\v"
	"Examples:\n"
	"  tracedump doctor\n"
	"  tracedump doctor --dir /var/dumps | jq '.bpf | map_values(.ok)'\n"
	"Exit status is 0 when the probe ran, whatever it found.\n"
	"Test hook: TRACEDUMP_BTF_PATH=FILE looks for kernel BTF at FILE instead of "
	"/sys/kernel/btf/vmlinux; a FILE that does not exist simulates a kernel without "
	"BTF (docs/trace.md).";

static const struct argp_option doctor_options[] = {
	{ "dir", 'd', "DIR", 0, "Folder whose free space to report (default: current)" },
	{},
};

static error_t doctor_parse(int key, char *arg, struct argp_state *state)
{
	struct doctor_args *a = state->input;

	switch (key) {
	case 'd':
		a->dir = arg;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static json_t *read_trimmed(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return json_null();
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	return json_string_bytes(buf, n);
}

static const char *yama_meaning(long scope)
{
	switch (scope) {
	case 0:
		return "classic: any process of the same user may be traced";
	case 1:
		return "restricted: only descendants, unless CAP_SYS_PTRACE (root is fine)";
	case 2:
		return "admin-only: CAP_SYS_PTRACE required";
	case 3:
		return "no attach: ptrace attach is disabled; dumps are impossible";
	default:
		return "unknown";
	}
}

/* dump --snapshot into a file: userfaultfd WP_ASYNC + PAGEMAP_SCAN, tried on doctor
 * itself; without them the fork snapshot is used. */
static void summarize_precopy(json_t *works, json_t *missing, bool can_ptrace)
{
	char why[160], msg[256];
	bool precopy = !precopy__probe(why, sizeof(why));

	json_object_set_new(works, "snapshot_precopy", json_boolean(precopy && can_ptrace));
	if (precopy)
		return;
	snprintf(msg, sizeof(msg), "pre-copy snapshots: %s; dump --snapshot forks a copy "
		 "instead (a longer pause)", why);
	json_array_append_new(missing, json_string(msg));
}

/* What each capability of tracedump needs, as {"dump": true, ...}. */
static json_t *summarize(const struct features *f, bool can_ptrace, json_t **missing)
{
	const struct feature_result *r = f->r;
	/* The tracer's scheduler, signal and exit programs and --follow are tp_btf only. */
	bool tp_btf = r[FEATURE_BTF].ok && r[FEATURE_TP_BTF].ok && r[FEATURE_RINGBUF].ok;
	bool uprobe = r[FEATURE_UPROBE].ok && r[FEATURE_RINGBUF].ok;
	json_t *works = json_object();

	*missing = json_array();
	json_object_set_new(works, "inspect", json_true());
	json_object_set_new(works, "dump", json_boolean(can_ptrace));
	json_object_set_new(works, "trace_cpu", json_boolean(tp_btf));
	json_object_set_new(works, "trace_signals", json_boolean(tp_btf));
	json_object_set_new(works, "trace_follow", json_boolean(tp_btf));
	json_object_set_new(works, "trace_latency", json_boolean(uprobe));
	json_object_set_new(works, "trace_exceptions", json_boolean(uprobe));

	summarize_precopy(works, *missing, can_ptrace);
	if (!can_ptrace)
		json_array_append_new(*missing, json_string("ptrace: dumps need root or "
							    "CAP_SYS_PTRACE and Yama scope < 3"));
	if (!r[FEATURE_BTF].ok) {
		char msg[512];

		snprintf(msg, sizeof(msg), "BTF: %s: %s; tp_btf programs cannot load, so "
			 "trace's cpu, signal and exit events, top, threads --sample and "
			 "--follow are off; %s ps, dump and the /proc commands work", features__btf_path(),
			 strerror(-r[FEATURE_BTF].err),
			 uprobe ? "latency and exception uprobes," : "");
		json_array_append_new(*missing, json_string(msg));
	}
	if (!r[FEATURE_KPROBE].ok)
		json_array_append_new(*missing, json_string("kprobe: not used by tracedump; "
							    "tracepoints and uprobes cover it"));
	if (!r[FEATURE_FENTRY].ok)
		json_array_append_new(*missing, json_string("fentry/fexit: not used by "
							    "tracedump; tp_btf covers it"));
	if (uprobe && !r[FEATURE_UPROBE_MULTI].ok)
		json_array_append_new(*missing, json_string(
			"uprobe_multi: refused (Linux 6.6+); the latency probes attach as "
			"perf-event uprobes, which cost more per call"));
	if (!r[FEATURE_TRACEPOINT].ok && !features__tracefs_mounted())
		json_array_append_new(*missing, json_string(
			"tracefs: not mounted, so classic tracepoints cannot attach; tracedump "
			"uses tp_btf instead, or: mount -t tracefs nodev /sys/kernel/tracing"));
	for (int i = FEATURE_RINGBUF; i <= FEATURE_UPROBE; i++) {
		char msg[160];

		/* Not tried for want of BTF: the BTF line above says so. */
		if (r[i].ok || (i == FEATURE_TRACEPOINT && !features__tracefs_mounted()) ||
		    (r[i].step && !strcmp(r[i].step, "btf")))
			continue;
		snprintf(msg, sizeof(msg), "%s: refused (%s); the tracer features "
			 "built on it are off", feature_names[i], r[i].step ? r[i].step : "?");
		json_array_append_new(*missing, json_string(msg));
	}
	return works;
}

static void print_table(json_t *j)
{
	const char *key;
	json_t *v;

	printf("%-22s %s\n", "kernel", json_string_value(json_object_get(j, "kernel")));
	printf("%-22s %s\n", "root", json_is_true(json_object_get(j, "root")) ? "yes" : "no");
	printf("%-22s %s\n", "core_pattern",
	       json_string_value(json_object_get(j, "core_pattern")) ?: "?");
	printf("%-22s %s\n", "ptrace",
	       json_string_value(json_object_get(json_object_get(j, "ptrace"), "meaning")));
	printf("\nBPF features (loaded, attached and fired):\n");
	json_object_foreach(json_object_get(j, "bpf"), key, v) {
		json_t *err = json_object_get(v, "error");

		printf("  %-20s %s", key, json_is_true(json_object_get(v, "ok")) ? "ok" : "NO");
		if (err && !strcmp(json_string_value(json_object_get(v, "step")), "btf"))
			printf("  (not tried: %s)", json_string_value(err));
		else if (err)
			printf("  (%s failed: %s)", json_string_value(json_object_get(v, "step")),
			       json_string_value(err));
		printf("\n");
	}
	if (json_is_string(json_object_get(j, "latency_attach")))
		printf("%-22s %s\n", "latency probes attach",
		       json_string_value(json_object_get(j, "latency_attach")));
	printf("\nWhat works:\n");
	json_object_foreach(json_object_get(j, "works"), key, v)
		printf("  %-20s %s\n", key, json_is_true(v) ? "yes" : "no");
	if (json_array_size(json_object_get(j, "missing"))) {
		size_t i;

		printf("\nMissing:\n");
		json_array_foreach(json_object_get(j, "missing"), i, v)
			printf("  - %s\n", json_string_value(v));
	}
	json_t *d = json_object_get(j, "dump_dir");
	printf("\nDump folder %s: %.1f GiB free\n", json_string_value(json_object_get(d, "path")),
	       json_number_value(json_object_get(d, "free_bytes")) / (1024.0 * 1024 * 1024));
}

static int do_doctor(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { doctor_options, doctor_parse, NULL, doctor_doc, children };
	struct doctor_args args = { .dir = "." };
	struct proc_status self;
	struct features feats;
	struct utsname uts;
	struct statvfs vfs;
	json_t *j, *capj, *works, *missing;
	bool can_ptrace;
	long yama = -1;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, &args);
	if (err)
		return TD_EXIT_USAGE;

	j = json_object();
	uname(&uts);
	json_set(j, "kernel", json_string(uts.release));
	json_set(j, "arch", json_string(uts.machine));
	json_set(j, "root", json_boolean(geteuid() == 0));

	capj = json_object();
	err = procfs_read_status(getpid(), -1, &self);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		json_set(capj, caps[i].name,
			 json_boolean(!err && (self.cap_eff >> caps[i].bit) & 1));
	json_set(j, "capabilities", capj);

	{
		FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");

		if (f) {
			if (fscanf(f, "%ld", &yama) != 1)
				yama = -1;
			fclose(f);
		}
	}
	can_ptrace = yama != 3 && (geteuid() == 0 || (!err && (self.cap_eff >> 19) & 1) ||
				   yama <= 0);
	json_set(j, "ptrace", json_pack("{s:o, s:s, s:b}", "yama_scope",
					yama < 0 ? json_null() : json_integer(yama), "meaning",
					yama < 0 ? "no Yama: classic ptrace rules" : yama_meaning(yama),
					"can_attach", can_ptrace));
	json_set(j, "core_pattern", read_trimmed("/proc/sys/kernel/core_pattern"));
	json_set(j, "tracefs", json_pack("{s:s, s:b}", "path", "/sys/kernel/tracing",
					 "mounted", features__tracefs_mounted()));

	/* Probe BPF features by loading real programs */
	features__probe(&feats);
	json_set(j, "bpf", features__to_json(&feats));
	works = summarize(&feats, can_ptrace, &missing);
	json_set(j, "works", works);
	/* How trace's latency probes attach (docs/trace.md): uprobe_multi links, cheaper
	 * per call, need the tp_btf fork program to purge a forked child's breakpoints
	 * when attached per PID; otherwise perf-event uprobes. */
	{
		const struct feature_result *r = feats.r;
		bool tp_btf = r[FEATURE_BTF].ok && r[FEATURE_TP_BTF].ok && r[FEATURE_RINGBUF].ok;

		json_set(j, "latency_attach",
			 !r[FEATURE_UPROBE].ok || !r[FEATURE_RINGBUF].ok ? json_null() :
			 json_string(r[FEATURE_UPROBE_MULTI].ok && tp_btf ? "uprobe_multi"
									  : "perf_event"));
	}
	json_set(j, "missing", missing);

	if (statvfs(args.dir, &vfs) == 0)
		json_set(j, "dump_dir", json_pack("{s:s, s:I}", "path", args.dir, "free_bytes",
						  (json_int_t)vfs.f_bavail * vfs.f_frsize));
	else
		json_set(j, "dump_dir", json_pack("{s:s, s:s}", "path", args.dir, "error",
						  strerror(errno)));

	if (output.json)
		return output_json(j);
	print_table(j);
	json_decref(j);
	return TD_EXIT_OK;
}

TD_COMMAND(doctor, 90, "What this host lets tracedump do (BPF features, ptrace, BTF)",
	   do_doctor);
