// SPDX-License-Identifier: GPL-2.0-only
/*
 * Threads as JSON: inspect__thread_list / inspect__thread_detail. One object per task of
 * /proc/PID/task, from its stat, status and wchan. docs/threads-modules.md lists the
 * fields.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/href.h"
#include "common/jsonutil.h"
#include "common/output.h"
#include "common/procfs.h"
#include "inspect/inspect.h"
#include "inspect/thread.h"

int thread_parse_wchan(const char *buf, size_t len, char *out, size_t size)
{
	size_t n = 0;

	if (!size)
		return -EINVAL;
	out[0] = '\0';
	if (!buf)
		return -EINVAL;
	/* Some kernels end the text with a newline; nothing else may follow the symbol. */
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
		len--;
	if (len == 0 || (len == 1 && buf[0] == '0'))
		return 0;
	if (len >= size)
		return -EINVAL;
	for (; n < len; n++) {
		unsigned char c = buf[n];

		/* Kernel symbols: C identifiers, plus '.' (".cold", ".isra.0") and '$'. */
		if (!isalnum(c) && c != '_' && c != '.' && c != '$') {
			out[0] = '\0';
			return -EINVAL;
		}
		out[n] = c;
	}
	out[n] = '\0';
	return 1;
}

const char *thread_state_name(char state)
{
	switch (state) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "disk_sleep";
	case 'T':
		return "stopped";
	case 't':
		return "tracing_stop";
	case 'Z':
		return "zombie";
	case 'X':
	case 'x':
		return "dead";
	case 'I':
		return "idle";
	case 'P':
		return "parked";
	case 'K':
		return "wakekill";
	case 'W':
		return "waking";
	default:
		return "unknown";
	}
}

const char *thread_policy_name(unsigned policy)
{
	static const char *const names[] = {
		"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
		"SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE", "SCHED_EXT",
	};

	return policy < sizeof(names) / sizeof(names[0]) ? names[policy] : "unknown";
}

long thread_base_priority(const struct proc_stat *st)
{
	switch (st->policy) {
	case 1: /* SCHED_FIFO */
	case 2: /* SCHED_RR */
		return -1 - (long)st->rt_priority;
	case 6: /* SCHED_DEADLINE: the kernel reports prio -1 - MAX_RT_PRIO */
		return -101;
	default:
		return 20 + (long)st->nice;
	}
}

int thread_group_check(pid_t pid)
{
	struct proc_status status;
	int err;

	if (pid <= 0)
		return -ESRCH;
	err = procfs_read_status(pid, -1, &status);
	if (err == -ENOENT || err == -ESRCH)
		return -ESRCH;
	if (err)
		return err;
	/* /proc/TID exists for every thread, but only a leader is a process. */
	if (status.tgid != pid)
		return -ESRCH;
	return 0;
}

pid_t thread_owner(pid_t tid)
{
	struct proc_status status;

	if (tid <= 0 || procfs_read_status(tid, -1, &status) || status.tgid == tid)
		return 0;
	return status.tgid;
}

int thread_report_no_process(pid_t pid)
{
	pid_t owner = thread_owner(pid);

	if (owner)
		return output_error(TD_EXIT_NOT_FOUND,
				    "%d is a thread of process %d, not a process", pid, owner);
	return output_error(TD_EXIT_NOT_FOUND, "process %d not found", pid);
}

/* Tick counts as seconds (Kudu's *_processor_time). */
static json_t *ticks_seconds(uint64_t ticks, long hz)
{
	return json_real((double)ticks / (double)hz);
}

/*
 * Builds one thread object. -ENOENT when the thread is gone (or never was a thread of
 * @pid): its task directory vanishes with it.
 */
static int thread_build(pid_t pid, pid_t tid, long hz, double boot, json_t **out)
{
	char *wchan_buf = NULL;
	char wchan[THREAD_WCHAN_MAX];
	struct proc_status status;
	struct proc_stat st;
	size_t wchan_len = 0;
	json_t *j = NULL, *cs;
	int err;

	*out = NULL;
	err = procfs_read_stat(pid, tid, &st);
	if (err)
		goto cleanup;
	err = procfs_read_status(pid, tid, &status);
	if (err)
		goto cleanup;

	j = json_object();
	if (!j) {
		err = -ENOMEM;
		goto cleanup;
	}
	json_set(j, "id", json_integer(tid));
	json_set(j, "href", href_thread(pid, tid));
	json_set(j, "process", href_process(pid));
	json_set(j, "name", json_string_bytes(st.comm, strlen(st.comm)));
	json_set(j, "is_main_thread", json_boolean(tid == pid));
	json_set(j, "state", json_string(thread_state_name(st.state)));
	json_set(j, "state_code", json_stringn(&st.state, 1));

	/* wchan is optional: the kernel hides it without ptrace read access. */
	json_set(j, "wait_reason", json_null());
	if (!procfs_read(pid, tid, "wchan", &wchan_buf, &wchan_len) &&
	    thread_parse_wchan(wchan_buf, wchan_len, wchan, sizeof(wchan)) == 1)
		json_set(j, "wait_reason", json_string(wchan));

	json_set(j, "current_priority", json_integer(st.priority));
	json_set(j, "base_priority", json_integer(thread_base_priority(&st)));
	json_set(j, "nice", json_integer(st.nice));
	json_set(j, "policy", json_string(thread_policy_name(st.policy)));
	json_set(j, "rt_priority", json_integer(st.rt_priority));
	json_set(j, "start_time",
		 boot > 0 ? json_time_iso(boot + (double)st.starttime / (double)hz) : NULL);
	json_set(j, "total_processor_time", ticks_seconds(st.utime + st.stime, hz));
	json_set(j, "user_processor_time", ticks_seconds(st.utime, hz));
	json_set(j, "privileged_processor_time", ticks_seconds(st.stime, hz));
	json_set(j, "last_cpu", json_integer(st.processor));
	cs = json_object();
	json_set(cs, "voluntary", json_integer((json_int_t)status.voluntary_ctxt_switches));
	json_set(cs, "involuntary", json_integer((json_int_t)status.nonvoluntary_ctxt_switches));
	json_set(j, "context_switches", cs);
	json_set(j, "minor_faults", json_integer((json_int_t)st.minflt));
	json_set(j, "major_faults", json_integer((json_int_t)st.majflt));
	*out = j;
	j = NULL;
cleanup:
	/* A task torn down between two reads reports ESRCH on some files. */
	if (err == -ESRCH)
		err = -ENOENT;
	json_decref(j);
	free(wchan_buf);
	return err;
}

static int clock_facts(long *hz, double *boot)
{
	*hz = procfs_clock_ticks();
	if (*hz <= 0)
		*hz = 100;
	if (procfs_boot_time(boot))
		*boot = 0; /* start_time becomes null; everything else still works */
	return 0;
}

int inspect__thread_list(pid_t pid, json_t **out)
{
	pid_t *tids = NULL;
	size_t count = 0;
	json_t *arr = NULL;
	double boot;
	long hz;
	int err;

	*out = NULL;
	err = thread_group_check(pid);
	if (err)
		return err;
	clock_facts(&hz, &boot);
	err = procfs_list_pids(pid, true, &tids, &count);
	if (err) {
		if (err == -ENOENT)
			err = -ESRCH;
		goto cleanup;
	}
	arr = json_array();
	if (!arr) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < count; i++) {
		json_t *t;

		err = thread_build(pid, tids[i], hz, boot, &t);
		if (err == -ENOENT) {
			/* The thread exited since the listing: it is simply not there. */
			err = 0;
			continue;
		}
		if (err)
			goto cleanup;
		json_array_append_new(arr, t);
	}
	/* Every thread vanished: the process exited while we read it. */
	if (json_array_size(arr) == 0) {
		err = -ESRCH;
		goto cleanup;
	}
	*out = arr;
	arr = NULL;
cleanup:
	json_decref(arr);
	free(tids);
	return err;
}

int inspect__thread_detail(pid_t pid, pid_t tid, json_t **out)
{
	double boot;
	long hz;
	int err;

	*out = NULL;
	if (tid <= 0)
		return -EINVAL;
	err = thread_group_check(pid);
	if (err)
		return err;
	clock_facts(&hz, &boot);
	err = thread_build(pid, tid, hz, boot, out);
	if (err == -ENOENT && thread_group_check(pid) == -ESRCH)
		err = -ESRCH; /* the whole process went away, not only the thread */
	return err;
}
