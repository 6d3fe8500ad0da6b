/* SPDX-License-Identifier: GPL-2.0-only */
/* Types shared by bpf/exceptions.bpf.c and userspace/trace: C++ throws. */
#ifndef TRACEDUMP_EXCEPTIONS_H
#define TRACEDUMP_EXCEPTIONS_H

#define EXCEPTIONS_TYPE_LEN 128
#define EXCEPTIONS_STACK_DEPTH 32

/* TRACER_EV_EXCEPTION: one __cxa_throw call. */
struct exceptions_event {
	__u32 type;
	__u32 cpu;
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	char comm[16];
	__s32 stack_len; /* frames in stack, or negative errno */
	__s32 type_len;	 /* bytes of type_name, or negative errno when unreadable */
	__u64 caller;	 /* return address at entry ([sp]): the throwing function, which a
			  * frame-pointer walk from __cxa_throw's first instruction skips */
	char type_name[EXCEPTIONS_TYPE_LEN]; /* the mangled name from std::type_info, e.g. "St13runtime_error" */
	__u64 stack[EXCEPTIONS_STACK_DEPTH];
};

#endif /* TRACEDUMP_EXCEPTIONS_H */
