// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals sent to and taken by watched processes (signal_generate, signal_deliver), and
 * each watched process's exit with its wait status, the fatal signal and the thread
 * that took it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tracer.h"
#include "signals.h"
#include "tracer.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Bit N set: an event for signal N wakes the consumer at once (triggers). */
const volatile __u64 targ_wake_signals = 0;
/* False when only exits are wanted: signal_deliver then only notes fatal signals. */
const volatile bool targ_emit_signals = true;
/* Userspace keeps entries in procs (watch): look there first. Else (trace) only the
 * watched map is looked at: one lookup a signal either way for a process of interest. */
const volatile bool targ_controls = false;

/* include/linux/sched/signal.h; stable since 2.6. */
#define SIGNAL_GROUP_EXIT 0x00000004
#define SI_USER 0
#define SI_KERNEL 0x80

struct fatal {
	__s32 sig;
	__u32 tid;
	char comm[16];
};

/* tgid -> the fatal signal a thread took (SIG_DFL, default action kills). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACER_MAX_TGIDS);
	__type(key, __u32);
	__type(value, struct fatal);
} fatal SEC(".maps");

/* tgid -> what is kept for a watched process (signals.h): BPF stops and the flight
 * recorder's events; created by userspace only for processes that need either. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACER_MAX_TGIDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct signals_proc);
} procs SEC(".maps");

/* @tgid's entry in procs, or the empty one when it has none; NULL when it is not
 * watched. One lookup for a process with an entry (a storm on a watched process), and
 * for every process when userspace keeps no entries. */
static __always_inline struct signals_proc *proc_of(__u32 tgid)
{
	static struct signals_proc none; /* never written: keep and stop are 0 */
	struct signals_proc *p;

	if (targ_controls && (p = bpf_map_lookup_elem(&procs, &tgid)))
		return p;
	return is_watched(tgid) ? &none : NULL;
}

/*
 * Where the event of signal @sig goes: the process's kept events when it keeps them and
 * the signal is not reported (@report_too: a BPF stop), else a ring buffer reservation
 * (*@in_rb set). NULL: a full ring buffer.
 */
static __always_inline struct signals_event *event_for(struct signals_proc *p, int sig,
						       bool report_too, __u32 type, bool *in_rb)
{
	if (p->keep && !report_too && !(sig > 0 && sig < 64 && (p->report & (1ULL << sig)))) {
		/* Not atomic: two CPUs writing one process's ring at once may share a slot
		 * (best effort, like every flight recorder), not worth a locked add on
		 * every signal of a storm. */
		__u64 i = p->head++ & (SIGNALS_KEPT - 1);
		struct signals_event *e = &p->ev[i];

		*in_rb = false;
		e->type = type;
		e->cpu = bpf_get_smp_processor_id();
		e->ts_ns = bpf_ktime_get_ns();
		return e;
	}
	*in_rb = true;
	return reserve(sizeof(struct signals_event), type);
}

/* A task's comm by two direct loads (a tp_btf program may read task_struct): cheaper
 * than the helpers, on every signal of a storm. */
static __always_inline void copy_comm(char *dst, const char *comm)
{
	((__u64 *)dst)[0] = ((const __u64 *)comm)[0];
	((__u64 *)dst)[1] = ((const __u64 *)comm)[1];
}

static __always_inline bool wakes(int sig)
{
	return sig > 0 && sig < 64 && (targ_wake_signals & (1ULL << sig));
}

/* Signals whose default action ends the process (not ignore, not stop/continue). */
static __always_inline bool kills_by_default(int sig)
{
	switch (sig) {
	case 17: /* SIGCHLD */
	case 18: /* SIGCONT */
	case 19: /* SIGSTOP */
	case 20: /* SIGTSTP */
	case 21: /* SIGTTIN */
	case 22: /* SIGTTOU */
	case 23: /* SIGURG */
	case 28: /* SIGWINCH */
		return false;
	default:
		return sig > 0 && sig < 32;
	}
}

/*
 * Notes the signal that will kill @tgid. A fatal signal sent to a process is turned
 * into SIGKILL for all its threads (complete_signal(), kernel/signal.c), so
 * signal_deliver then sees SIGKILL: the first fatal signal noted wins over SIGKILL.
 */
static __always_inline void note_fatal(__u32 tgid, int sig, __u32 tid, const char *comm)
{
	struct fatal f = { .sig = sig, .tid = tid }, *old;

	old = bpf_map_lookup_elem(&fatal, &tgid);
	if (old && sig == 9 /* SIGKILL */)
		return;
	bpf_probe_read_kernel_str(f.comm, sizeof(f.comm), comm);
	if (bpf_map_update_elem(&fatal, &tgid, &f, BPF_ANY))
		stat_inc(TRACER_STAT_MAP_FULL);
}

/* Signal @sig's handler in @task's sighand, by direct loads (a tp_btf program may read
 * task_struct): this runs on every signal of a storm, and a helper call costs more.
 * The verifier refuses a variable offset into a BTF pointer, so each signal has its
 * own constant offset (a tree of compares). 1 (SIG_IGN) when unknown. */
#define HANDLER_CASE(n) case n: return (unsigned long)sh->action[n - 1].sa.sa_handler
static __always_inline unsigned long handler_of(struct task_struct *task, int sig)
{
	struct sighand_struct *sh = task->sighand;

	if (!sh)
		return 1;
	switch (sig) {
	HANDLER_CASE(1); HANDLER_CASE(2); HANDLER_CASE(3); HANDLER_CASE(4);
	HANDLER_CASE(5); HANDLER_CASE(6); HANDLER_CASE(7); HANDLER_CASE(8);
	HANDLER_CASE(9); HANDLER_CASE(10); HANDLER_CASE(11); HANDLER_CASE(12);
	HANDLER_CASE(13); HANDLER_CASE(14); HANDLER_CASE(15); HANDLER_CASE(16);
	HANDLER_CASE(17); HANDLER_CASE(18); HANDLER_CASE(19); HANDLER_CASE(20);
	HANDLER_CASE(21); HANDLER_CASE(22); HANDLER_CASE(23); HANDLER_CASE(24);
	HANDLER_CASE(25); HANDLER_CASE(26); HANDLER_CASE(27); HANDLER_CASE(28);
	HANDLER_CASE(29); HANDLER_CASE(30); HANDLER_CASE(31);
	default:
		return 1;
	}
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signals_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = task->tgid;
	struct signals_proc *p = proc_of(tgid);
	struct signals_event *e;
	bool in_rb = true;
	__u64 blocked;

	if (!p)
		return 0;
	blocked = task->blocked.sig[0];
	if (result == SIGNALS_DELIVERED && kills_by_default(sig) && sig > 0 &&
	    !(blocked & (1ULL << (sig - 1))) && handler_of(task, sig) == 0)
		note_fatal(tgid, sig, task->pid, task->comm);
	if (!targ_emit_signals)
		return 0;
	e = event_for(p, sig, false, TRACER_EV_SIGNAL, &in_rb);
	if (!e)
		return 0;
	e->sig = sig;
	/* SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are not pointers. */
	if ((unsigned long)info == 0)
		e->code = SI_USER;
	else if ((unsigned long)info == 1)
		e->code = SI_KERNEL;
	else
		e->code = info->si_code;
	e->sender_pid = id >> 32;
	e->sender_tid = (__u32)id;
	e->target_pid = tgid;
	e->target_tid = task->pid;
	e->result = result;
	e->group = group;
	e->blocked = sig > 0 && sig <= 64 && (blocked & (1ULL << (sig - 1)));
	e->handler = 0;
	e->sa_flags = 0;
	copy_comm(e->sender_comm, bpf_get_current_task_btf()->comm);
	copy_comm(e->target_comm, task->comm);
	if (in_rb)
		submit(e, wakes(sig));
	return 0;
}



SEC("tp_btf/signal_deliver")
int BPF_PROG(signals_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, handler;
	struct signals_proc *p = proc_of(tgid);
	struct signals_event *e;
	bool stopping = false, in_rb = true;
	unsigned long h;

	if (!p)
		return 0;
	h = (unsigned long)ka->sa.sa_handler;
	handler = h == 0 ? SIGNALS_HANDLER_DEFAULT :
		  h == 1 ? SIGNALS_HANDLER_IGNORE : SIGNALS_HANDLER_CUSTOM;
	if (handler == SIGNALS_HANDLER_DEFAULT && kills_by_default(sig)) {
		struct task_struct *cur = (struct task_struct *)bpf_get_current_task_btf();

		note_fatal(tgid, sig, (__u32)id, cur->comm);
	}
	/* bpf_send_signal_thread(SIGSTOP) from here queues SIGSTOP on the current thread;
	 * it is taken on the way back to user space, after the handler's frame is set up
	 * and before its first instruction, so the group stops with no tracer attached;
	 * userspace dumps, then sends SIGCONT. */
	if (handler == SIGNALS_HANDLER_CUSTOM && sig > 0 && sig < 64 && (p->stop & (1ULL << sig))) {
		bpf_send_signal_thread(19 /* SIGSTOP */);
		stopping = true;
	}
	/* A stop is always reported: watch dumps on it and sends SIGCONT. */
	if (!targ_emit_signals && !stopping)
		return 0;
	e = event_for(p, sig, stopping, TRACER_EV_DELIVER, &in_rb);
	if (!e)
		return 0;
	e->sig = sig;
	e->code = info ? info->si_code : 0;
	e->sender_pid = 0;
	e->sender_tid = 0;
	e->target_pid = tgid;
	e->target_tid = (__u32)id;
	e->result = 0;
	e->group = 0;
	e->blocked = 0;
	e->handler = handler;
	e->sa_flags = ka->sa.sa_flags;
	e->sender_comm[0] = 0;
	copy_comm(e->target_comm, bpf_get_current_task_btf()->comm);
	if (in_rb)
		submit(e, wakes(sig) || stopping ||
			  (handler == SIGNALS_HANDLER_DEFAULT && kills_by_default(sig)));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(signals_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = p->tgid, flags;
	struct signals_exit_event *e;
	struct fatal *f;

	if (!group_dead || !is_watched(tgid))
		return 0;
	e = reserve(sizeof(*e), TRACER_EV_EXIT);
	if (!e) {
		bpf_map_delete_elem(&fatal, &tgid);
		return 0;
	}
	e->pid = tgid;
	e->tid = p->pid;
	flags = BPF_CORE_READ(p, signal, flags);
	e->group_exit = !!(flags & SIGNAL_GROUP_EXIT);
	e->exit_code = e->group_exit ? BPF_CORE_READ(p, signal, group_exit_code) :
				       BPF_CORE_READ(p, exit_code);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	f = bpf_map_lookup_elem(&fatal, &tgid);
	if (f) {
		e->fatal_sig = f->sig;
		e->fatal_tid = f->tid;
		__builtin_memcpy(e->fatal_comm, f->comm, sizeof(e->fatal_comm));
	} else {
		e->fatal_sig = 0;
		e->fatal_tid = 0;
		e->fatal_comm[0] = 0;
	}
	submit(e, true);
	bpf_map_delete_elem(&fatal, &tgid);
	return 0;
}
