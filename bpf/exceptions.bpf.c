// SPDX-License-Identifier: GPL-2.0-only
/*
 * C++ throws: a uprobe on libstdc++'s __cxa_throw(void *obj, std::type_info *tinfo,
 * void (*dest)(void *)). The type name is the mangled name the type_info object points
 * to (its second word, after the vtable pointer); userspace demangles it.
 */
/* No CO-RE (pt_regs is UAPI): this object loads on a kernel without BTF too. */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tracer.h"
#include "exceptions.h"
#include "tracer.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Wake the consumer at each throw (a trigger may be waiting for one). */
const volatile bool targ_wake = false;

SEC("uprobe")
int exceptions_throw(struct pt_regs *ctx)
{
	void *tinfo = (void *)PT_REGS_PARM2(ctx);
	__u64 id = bpf_get_current_pid_tgid();
	struct exceptions_event *e;
	const char *name = NULL;
	long err;

	if (!is_watched(id >> 32))
		return 0;
	e = reserve(sizeof(*e), TRACER_EV_EXCEPTION);
	if (!e)
		return 0;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* std::type_info is { vtable pointer, const char *__name }. */
	err = bpf_probe_read_user(&name, sizeof(name), (char *)tinfo + sizeof(void *));
	if (err)
		e->type_len = err;
	else
		e->type_len = bpf_probe_read_user_str(e->type_name, sizeof(e->type_name), name);
	if (e->type_len < 0)
		e->type_name[0] = 0;
	if (bpf_probe_read_user(&e->caller, sizeof(e->caller), (void *)PT_REGS_SP(ctx)))
		e->caller = 0;
	e->stack_len = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
	if (e->stack_len > 0)
		e->stack_len /= sizeof(__u64);
	submit(e, targ_wake);
	return 0;
}
